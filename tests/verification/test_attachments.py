"""Attachments: checked by content, kept privately, handed out only to who may see the return."""

from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import make_user
from tests.verification.conftest import bring_to
from verification.models import ProvincialReturn, ReturnAttachment, attachment_name
from verification.services import (
    ReturnLocked,
    attachment_too_large,
    return_attachment_add,
    return_attachment_remove,
    return_changes_since_previous_submission,
    return_send_back,
    return_submit,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
HTML = b"<html><script>alert(1)</script></html>"


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def scan(shandong_return, shandong_clerk):
    return return_attachment_add(
        provincial_return=shandong_return,
        by=shandong_clerk,
        file=upload("山东省核查总结（盖章）.pdf", PDF, "application/pdf"),
    )


# --- upload -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type", "stored_name"),
    [
        ("scan.pdf", PDF, "application/pdf", "scan.pdf"),
        ("scan.jpg", JPEG, "image/jpeg", "scan.jpg"),
        ("scan.png", PNG, "image/png", "scan.png"),
        # The content decides, not the name nor what the browser claimed.
        ("scan.png", PDF, "application/pdf", "scan.pdf"),
        ("scan", JPEG, "image/jpeg", "scan.jpg"),
    ],
)
def test_pdf_jpeg_and_png_are_accepted_by_their_content(
    shandong_return, shandong_clerk, private_root, name, content, content_type, stored_name
):
    attachment = return_attachment_add(
        provincial_return=shandong_return,
        by=shandong_clerk,
        file=upload(name, content, "text/html"),
    )
    assert attachment.content_type == content_type
    assert attachment.original_name == stored_name
    assert attachment.size == len(content)
    stored = Path(attachment.file.path)
    assert stored.is_relative_to(private_root)
    assert stored.read_bytes() == content
    assert name not in stored.name  # never the uploader's name on disk
    assert attachment.file.name.startswith(f"returns/{shandong_return.campaign_id}/37/")
    assert shandong_return.events.latest().action == "attachment_added"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("scan.pdf", HTML, "file_type"),
        ("scan.pdf", b"GIF89a" + b"\x00" * 20, "file_type"),
        ("scan.pdf", b"", "file_empty"),
    ],
)
def test_other_content_is_refused(shandong_return, shandong_clerk, name, content, code):
    with pytest.raises(ValidationError) as caught:
        return_attachment_add(
            provincial_return=shandong_return,
            by=shandong_clerk,
            file=upload(name, content, "application/pdf"),
        )
    assert caught.value.error_dict["file"][0].code == code
    assert not ReturnAttachment.objects.exists()


def test_files_over_the_size_cap_are_refused(settings, shandong_return, shandong_clerk):
    settings.RETURN_ATTACHMENT_MAX_BYTES = 1024
    return_attachment_add(
        provincial_return=shandong_return, by=shandong_clerk, file=upload("a.pdf", PDF.ljust(1024))
    )
    with pytest.raises(ValidationError) as caught:
        return_attachment_add(
            provincial_return=shandong_return,
            by=shandong_clerk,
            file=upload("b.pdf", PDF.ljust(1025)),
        )
    [refusal] = caught.value.error_dict["file"]
    assert refusal.code == "file_too_large"
    # The same words and limit as the upload form's refusal of a file dropped while received.
    expected = attachment_too_large(1024)
    assert (refusal.message, refusal.params) == (expected.message, expected.params)


def test_the_default_size_cap_is_ten_megabytes():
    from django.conf import settings as django_settings

    assert django_settings.RETURN_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("evil.html", "application/pdf", "evil.pdf"),
        ("scan", "image/jpeg", "scan.jpg"),
        ("scan.png", "image/jpeg", "scan.jpg"),
        ("scan.pdf", "image/png", "scan.png"),
        # An extension already right for the content stays, whatever its case or spelling.
        ("a.PDF", "application/pdf", "a.PDF"),
        ("b.jpeg", "image/jpeg", "b.jpeg"),
        ("b.JPG", "image/jpeg", "b.JPG"),
        ("c.png", "image/png", "c.png"),
        # Dots inside a name (a date) are no extension; nor is a bare extension a name.
        ("核查总结2016.10.20", "image/jpeg", "核查总结2016.10.20.jpg"),
        ("总结.v2.html", "application/pdf", "总结.v2.pdf"),
        (".html", "application/pdf", "attachment.pdf"),
        (".pdf", "application/pdf", "attachment.pdf"),
        ("scan.", "application/pdf", "scan.pdf"),
    ],
)
def test_the_name_takes_the_extension_of_the_content(name, content_type, expected):
    assert attachment_name(name, content_type) == expected


@pytest.mark.parametrize(
    ("name", "content", "stored_name"),
    [
        ("evil.html", PDF, "evil.pdf"),
        ("scan", JPEG, "scan.jpg"),
        ("a.PDF", PDF, "a.PDF"),
        ("照片.jpeg", JPEG, "照片.jpeg"),
        ("截图.pdf", PNG, "截图.png"),
    ],
)
def test_the_stored_name_and_the_event_carry_the_extension_of_the_content(
    shandong_return, shandong_clerk, name, content, stored_name
):
    attachment = return_attachment_add(
        provincial_return=shandong_return, by=shandong_clerk, file=upload(name, content)
    )
    assert attachment.original_name == stored_name
    assert attachment.download_name == stored_name
    assert str(attachment) == stored_name
    assert shandong_return.events.latest().comment == stored_name


def test_a_long_name_keeps_the_extension_of_the_content(shandong_return, shandong_clerk):
    attachment = return_attachment_add(
        provincial_return=shandong_return, by=shandong_clerk, file=upload("扫" * 254 + ".h", PDF)
    )
    assert len(attachment.original_name) == 255
    assert attachment.original_name == "扫" * 251 + ".pdf"


def test_a_path_in_the_file_name_is_dropped(shandong_return, shandong_clerk):
    attachment = return_attachment_add(
        provincial_return=shandong_return,
        by=shandong_clerk,
        file=upload("..\\..\\etc/passwd\x00.pdf", PDF),
    )
    assert attachment.original_name == "passwd.pdf"


def test_attachments_only_while_the_return_is_editable(
    complete_return, shandong_admin, shandong_clerk, reviewer
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    with pytest.raises(ReturnLocked):
        return_attachment_add(
            provincial_return=complete_return, by=shandong_clerk, file=upload("a.pdf", PDF)
        )
    return_send_back(provincial_return=complete_return, by=reviewer, comment="请上传盖章扫描件。")
    return_attachment_add(
        provincial_return=complete_return, by=shandong_clerk, file=upload("a.pdf", PDF)
    )


def test_only_the_province_attaches(shandong_return, zhejiang_clerk, reviewer):
    with pytest.raises(PermissionDenied):
        return_attachment_add(
            provincial_return=shandong_return, by=reviewer, file=upload("a.pdf", PDF)
        )
    with pytest.raises(ProvincialReturn.DoesNotExist):
        return_attachment_add(
            provincial_return=shandong_return, by=zhejiang_clerk, file=upload("a.pdf", PDF)
        )


# --- removal ------------------------------------------------------------------------------


def test_removing_keeps_the_file_for_earlier_submissions(scan, shandong_admin):
    return_attachment_remove(attachment=scan, by=shandong_admin)
    scan.refresh_from_db()
    assert scan.removed_by == shandong_admin
    assert Path(scan.file.path).exists()
    assert not ReturnAttachment.objects.current().exists()
    assert scan.provincial_return.events.latest().action == "attachment_removed"


def test_a_submitted_returns_attachments_cannot_be_removed(
    complete_return, scan, shandong_admin, reviewer
):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    with pytest.raises(ReturnLocked):
        return_attachment_remove(attachment=scan, by=shandong_admin)
    with pytest.raises(PermissionDenied):
        return_attachment_remove(attachment=scan, by=reviewer)


def test_another_province_cannot_remove_an_attachment(scan, zhejiang_clerk):
    with pytest.raises(ProvincialReturn.DoesNotExist):
        return_attachment_remove(attachment=scan, by=zhejiang_clerk)


def test_the_snapshot_lists_the_attachments_and_the_diff_shows_their_change(
    complete_return, scan, shandong_admin, shandong_clerk, reviewer
):
    # complete_return carries the fixtures' own scan first; `scan` is this test's.
    kept = complete_return.attachments.current().first()
    first = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    assert [item["name"] for item in first.data["attachments"]] == [
        kept.original_name,
        scan.original_name,
    ]
    return_send_back(provincial_return=complete_return, by=reviewer, comment="扫描件不清晰。")
    return_attachment_remove(attachment=kept, by=shandong_clerk)
    return_attachment_remove(attachment=scan, by=shandong_clerk)
    return_attachment_add(
        provincial_return=complete_return, by=shandong_clerk, file=upload("清晰版.png", PNG)
    )
    second = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    changes = return_changes_since_previous_submission(second)
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("attachments", f"{kept.original_name}、{scan.original_name}", "清晰版.png")
    ]


# --- download -----------------------------------------------------------------------------


def _download_url(attachment, return_pk=None):
    return reverse(
        "verification:attachment_download",
        args=[return_pk or attachment.provincial_return_id, attachment.pk],
    )


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 302),
        ("shandong_admin", 200),
        ("shandong_clerk", 200),
        ("zhejiang_clerk", 404),
        ("reviewer", 200),
    ],
)
def test_who_may_download_an_attachment(client, request, scan, persona, expected):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    response = client.get(_download_url(scan))
    assert response.status_code == expected, persona
    if expected == 302:
        assert "/admin/login/" in response["Location"]
    if expected == 200:
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=utf-8''" in disposition  # the Chinese name, RFC 5987-encoded
        assert "no-store" in response["Cache-Control"]


def _disposition(response) -> str:
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]
    return response["Content-Disposition"]


def _upload_on_the_page(client, provincial_return, name, content):
    url = reverse("verification:attachment_upload", args=[provincial_return.pk])
    response = client.post(url, {"file": upload(name, content, "text/html")})
    assert response.status_code == 302
    return provincial_return.attachments.get(original_name__startswith=Path(name).stem)


def test_html_named_pdf_content_is_stored_and_downloaded_as_pdf(
    client, shandong_return, shandong_clerk
):
    client.force_login(shandong_clerk)
    attachment = _upload_on_the_page(client, shandong_return, "evil.html", PDF)
    assert attachment.original_name == "evil.pdf"

    response = client.get(_download_url(attachment))

    assert _disposition(response) == 'attachment; filename="evil.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    page = client.get(reverse("verification:return_detail", args=[shandong_return.pk]))
    listed = page.content.decode().split('id="attachment-list"')[1].split("</table>")[0]
    assert "evil.pdf" in listed
    assert "evil.html" not in page.content.decode()


def test_a_chinese_name_is_sent_rfc_5987_encoded_with_the_extension_of_the_content(
    client, shandong_return, shandong_clerk
):
    client.force_login(shandong_clerk)
    attachment = _upload_on_the_page(client, shandong_return, "山东扫描件.html", PDF)

    disposition = _disposition(client.get(_download_url(attachment)))

    assert disposition == "attachment; filename*=utf-8''" + quote("山东扫描件.pdf")
    assert ".html" not in disposition


def test_a_jpeg_named_png_downloads_as_jpg(client, shandong_return, shandong_clerk):
    client.force_login(shandong_clerk)
    attachment = _upload_on_the_page(client, shandong_return, "scan.png", JPEG)

    response = client.get(_download_url(attachment))

    assert _disposition(response) == 'attachment; filename="scan.jpg"'
    assert response["Content-Type"] == "image/jpeg"


def test_a_row_stored_with_a_wrong_name_still_downloads_with_the_right_extension(
    client, scan, reviewer
):
    # As stored before names were corrected on upload.
    ReturnAttachment.objects.filter(pk=scan.pk).update(original_name="evil.html")
    scan.refresh_from_db()
    assert scan.download_name == "evil.pdf"
    client.force_login(reviewer)

    response = client.get(_download_url(scan))

    assert _disposition(response) == 'attachment; filename="evil.pdf"'
    assert response["Content-Type"] == "application/pdf"


def test_a_row_stored_with_a_wrong_name_is_listed_and_removed_under_the_right_one(
    client, scan, shandong_clerk
):
    ReturnAttachment.objects.filter(pk=scan.pk).update(original_name="清单.html")
    client.force_login(shandong_clerk)
    page = client.get(reverse("verification:return_detail", args=[scan.provincial_return_id]))
    assert "清单.pdf" in page.content.decode()
    assert "清单.html" not in page.content.decode()
    scan.refresh_from_db()
    return_attachment_remove(attachment=scan, by=shandong_clerk)
    assert scan.provincial_return.events.latest().comment == "清单.pdf"


def test_an_attachment_under_another_return_is_404(
    client, scan, zhejiang_return, shandong_admin, reviewer
):
    client.force_login(reviewer)
    assert client.get(_download_url(scan, return_pk=zhejiang_return.pk)).status_code == 404
    missing = reverse("verification:attachment_download", args=[scan.provincial_return_id, 999])
    assert client.get(missing).status_code == 404


def test_a_provincial_user_without_the_role_may_not_download(client, scan, shandong):
    client.force_login(make_user("sd_nobody", province=shandong))
    assert client.get(_download_url(scan)).status_code == 403


def test_a_removed_attachment_stays_downloadable_for_review(client, scan, shandong_admin, reviewer):
    return_attachment_remove(attachment=scan, by=shandong_admin)
    client.force_login(reviewer)
    assert client.get(_download_url(scan)).status_code == 200


def test_downloads_are_read_only(client, scan, shandong_admin):
    client.force_login(shandong_admin)
    assert client.post(_download_url(scan)).status_code == 405


def test_the_stored_file_has_no_public_url(client, scan, reviewer):
    client.force_login(reviewer)
    for prefix in ("/", "/media/", "/static/", "/private-media/"):
        assert client.get(prefix + scan.file.name).status_code == 404, prefix
    with pytest.raises(ValueError):
        scan.file.url  # noqa: B018


def test_the_read_only_return_admin_links_the_attachments(client, scan, reviewer):
    client.force_login(reviewer)
    response = client.get(
        reverse("admin:verification_provincialreturn_change", args=[scan.provincial_return_id])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert _download_url(scan) in page
    assert 'name="_save"' not in page  # nothing to save: returns change through the workflow
