"""The return's pages: the province's edit page, the print view, the reviewer's list and review page.

Pages are requested in English (the ``english`` fixture), so assertions read the source
messages and never depend on the Chinese catalogue; most assert on ids and structure.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.roles import REVIEWER
from licensing.factories import make_licence, make_manufacturer
from licensing.models import IssuingLevel, Province
from tests.conftest import make_user
from tests.verification.conftest import ON_TIME, bring_to
from verification import layout
from verification.factories import complete_answers, make_administrator
from verification.findings import Rule
from verification.models import (
    ANSWER_FIELDS,
    ProvincialReturn,
    ReturnEvent,
    ReturnEventAction,
    ReturnSnapshot,
    ReturnStatus,
    SystemAdministrator,
)
from verification.services import (
    return_accept,
    return_attachment_add,
    return_save_draft,
    return_send_back,
    return_submit,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def english(settings):
    """Serve the pages in English, the messages' source language."""
    settings.LANGUAGE_CODE = "en"
    settings.LANGUAGES = [("en", "English")]
    yield
    # The locale middleware leaves the last request's language active in this thread.
    translation.deactivate()


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def detail_url(provincial_return):
    return reverse("verification:return_detail", args=[provincial_return.pk])


def review_url(provincial_return):
    return reverse("verification:return_review", args=[provincial_return.pk])


def form_data(provincial_return, **answers) -> dict:
    """What the edit page's form posts for `answers` (all of them), at the return's version."""
    data = {"expected_version": provincial_return.version}
    for name, value in answers.items():
        if value is None:
            continue
        if isinstance(value, bool):
            data[name] = str(value)
        else:
            data[name] = value
    return data


def complete_form(provincial_return, **overrides) -> dict:
    return form_data(provincial_return, **complete_answers(provincial_return.province, **overrides))


def text(response) -> str:
    return response.content.decode()


def question(page: str, key: str) -> str:
    """The markup of one question of the page (up to the next question or section)."""
    rest = page.split(f'id="q-{key}"', 1)[1]
    return re.split(r'<div class="(?:vr-question|module)', rest, maxsplit=1)[0]


def element(response, element_id: str) -> str:
    """The opening tag of the element with `element_id` (for presence and attributes)."""
    match = re.search(rf"<[^>]*\bid=\"{re.escape(element_id)}\"[^>]*>", text(response))
    return match.group(0) if match else ""


@pytest.fixture
def out_of_scope_licence(shandong):
    """A 山东 licence issued by a county bureau: the register shows out-of-scope licensing."""
    manufacturer = make_manufacturer(shandong, 3001)
    return make_licence(manufacturer, 3001, issuing_level=IssuingLevel.COUNTY)


# --- the province's page ------------------------------------------------------------------


def test_the_return_page_asks_every_question_beside_the_findings(
    client, shandong_admin, shandong_return, shandong_administrator, out_of_scope_licence
):
    client.force_login(shandong_admin)
    response = client.get(detail_url(shandong_return))

    assert response.status_code == 200
    page = text(response)
    for name in ANSWER_FIELDS:
        assert f'name="{name}"' in page, name
    # Yes/no questions are radios; the tick-one-or-more questions are checkboxes.
    assert 'type="radio" name="out_of_scope" value="True"' in page
    assert 'type="checkbox" name="reform_measures" value="on_site_licensing"' in page
    assert f'name="expected_version" value="{shandong_return.version}"' in page
    # The out-of-scope finding sits in the out-of-scope question, counted, with a link to the
    # finding's page that names its rule (the licences are listed there).
    markup = question(page, "out_of_scope")
    assert 'data-rule="out_of_scope"' in markup
    findings_url = reverse("verification:return_findings", args=[shandong_return.pk])
    assert f"{findings_url}?finding=out_of_scope.county_level#licences" in markup
    assert "List the 1 licence concerned" in markup
    # Counts per rule, every rule listed.
    counts = page.split('id="finding-counts"')[1].split("</table>")[0]
    for rule in Rule:
        assert f'data-rule="{rule.value}"' in counts
    # The administrator attests and submits from the page.
    assert element(response, "submit-button")
    assert 'name="attest"' in page
    assert 'id="checklist"' in page


def test_a_data_entry_user_saves_but_cannot_submit(
    client, shandong_clerk, complete_return, shandong_admin
):
    client.force_login(shandong_clerk)
    response = client.get(detail_url(complete_return))
    assert response.status_code == 200
    assert element(response, "save-button")
    assert not element(response, "submit-button")
    assert element(response, "submit-not-allowed")

    data = complete_form(complete_return, remarks="录入员补充。")
    assert client.post(detail_url(complete_return), data).status_code == 302
    complete_return.refresh_from_db()
    assert complete_return.remarks == "录入员补充。"

    data = complete_form(complete_return, remarks="再次修改。") | {"attest": "on", "_submit": "1"}
    assert client.post(detail_url(complete_return), data).status_code == 403
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.DRAFT
    assert complete_return.remarks == "录入员补充。"


def test_saving_writes_the_answers_through_the_service(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    data = form_data(
        shandong_return,
        out_of_scope=False,
        announcement_methods=["website", "newspaper"],
        licence_department="山东省质量技术监督局计量处",
        licence_levels=["provincial"],
    )

    response = client.post(detail_url(shandong_return), data)

    assert response.status_code == 302
    assert response["Location"] == detail_url(shandong_return)
    shandong_return.refresh_from_db()
    assert shandong_return.out_of_scope is False
    assert shandong_return.announcement_methods == ["newspaper", "website"]  # the choices' order
    assert shandong_return.licence_levels == ["provincial"]
    assert shandong_return.version == 2
    event = shandong_return.events.get(action=ReturnEventAction.SAVED)
    assert event.by == shandong_clerk
    assert set(event.changed_fields) >= {"out_of_scope", "announcement_methods"}


def test_an_invalid_answer_is_shown_and_the_entries_kept(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    data = form_data(
        shandong_return, institutions_authorised=False, summary_basic="尚未保存的基本情况。"
    )

    response = client.post(detail_url(shandong_return), data)

    assert response.status_code == 200
    page = text(response)
    remarks = question(page, "remarks")
    assert "give the reason in the remarks" in remarks
    assert "尚未保存的基本情况。" in page
    shandong_return.refresh_from_db()
    assert shandong_return.version == 1
    assert shandong_return.summary_basic == ""


def test_a_stale_form_is_refused_and_the_users_entries_kept(
    client, shandong_admin, shandong_clerk, shandong_return
):
    stale_version = shandong_return.version
    return_save_draft(
        provincial_return=shandong_return, by=shandong_clerk, data={"remarks": "录入员先保存。"}
    )
    client.force_login(shandong_admin)
    data = form_data(shandong_return, remarks="管理员的修改。") | {
        "expected_version": stale_version
    }

    response = client.post(detail_url(shandong_return), data)

    assert response.status_code == 409
    page = text(response)
    assert "Someone else changed this return" in page
    assert "管理员的修改。" in page  # nothing the user typed is lost
    assert "differ from what is now saved (Remarks)" in page
    shandong_return.refresh_from_db()
    assert shandong_return.remarks == "录入员先保存。"
    # Saving again from the page now goes through at the current version.
    assert f'name="expected_version" value="{shandong_return.version}"' in page
    data["expected_version"] = shandong_return.version
    assert client.post(detail_url(shandong_return), data).status_code == 302
    shandong_return.refresh_from_db()
    assert shandong_return.remarks == "管理员的修改。"


def test_submitting_with_the_attestation_submits_and_locks_the_page(
    client, shandong_admin, complete_return, out_of_scope_licence
):
    client.force_login(shandong_admin)
    data = complete_form(complete_return, out_of_scope=True) | {"attest": "on", "_submit": "1"}

    response = client.post(detail_url(complete_return), data)

    assert response.status_code == 302
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED
    assert complete_return.out_of_scope is True  # saved before submitting
    assert complete_return.attested_by == shandong_admin
    snapshot = complete_return.snapshots.get()
    assert snapshot.data["findings"][Rule.OUT_OF_SCOPE] >= 1

    page = client.get(detail_url(complete_return))
    assert element(page, "read-only-note")
    assert not element(page, "return-form")
    assert not element(page, "save-button")
    assert not element(page, "attachment-form")
    assert 'name="out_of_scope"' not in text(page)


def test_submitting_without_the_attestation_saves_and_says_why_not(
    client, shandong_admin, complete_return
):
    client.force_login(shandong_admin)
    data = complete_form(complete_return, remarks="已保存。") | {"_submit": "1"}

    response = client.post(detail_url(complete_return), data, follow=True)

    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.DRAFT
    assert complete_return.remarks == "已保存。"
    assert "saved but not submitted" in text(response)
    assert "Confirm that the return is true and complete" in text(response)


def test_an_incomplete_return_lists_what_is_missing(
    client, shandong_admin, shandong_return, shandong_administrator
):
    client.force_login(shandong_admin)
    response = client.get(detail_url(shandong_return))
    checklist = text(response).split('id="checklist"')[1].split("</ul>")[0]
    assert 'href="#q-out_of_scope"' in checklist
    assert 'href="#q-summary_basic"' in checklist
    assert 'href="#q-reform_measures"' in checklist

    data = form_data(shandong_return, out_of_scope=True) | {"attest": "on", "_submit": "1"}
    followed = client.post(detail_url(shandong_return), data, follow=True)
    shandong_return.refresh_from_db()
    assert shandong_return.status == ReturnStatus.DRAFT
    assert shandong_return.out_of_scope is True
    assert "This answer is required before submitting." in text(followed)


def test_a_missing_attachment_2_is_on_the_checklist(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    response = client.get(detail_url(shandong_return))
    checklist = text(response).split('id="checklist"')[1].split("</ul>")[0]
    assert 'href="#administrator"' in checklist
    # With no Attachment 2 on file, its form is open.
    assert 'id="administrator-form"' in text(response)


def test_a_complete_return_says_so(client, shandong_admin, complete_return):
    client.force_login(shandong_admin)
    response = client.get(detail_url(complete_return))
    assert element(response, "checklist-complete")
    assert not element(response, "checklist")


@pytest.mark.parametrize("status", ["submitted", "accepted"])
def test_a_locked_return_refuses_a_save(client, shandong_admin, reviewer, complete_return, status):
    bring_to(complete_return, status, admin=shandong_admin, reviewer=reviewer)
    client.force_login(shandong_admin)
    data = complete_form(complete_return, remarks="提交后再改。")

    response = client.post(detail_url(complete_return), data, follow=True)

    assert response.status_code == 200
    assert "can no longer be changed" in text(response)
    complete_return.refresh_from_db()
    assert complete_return.remarks == ""
    assert complete_return.status == status


def test_a_consistency_warning_is_shown_at_its_question(
    client, shandong_admin, complete_return, out_of_scope_licence
):
    client.force_login(shandong_admin)
    response = client.get(detail_url(complete_return))  # answered 否 to 超范围许可
    markup = question(text(response), "out_of_scope")
    assert 'data-code="out_of_scope_contradicts_findings"' in markup


def test_the_reviewers_comments_are_shown_beside_the_fields_when_returned(
    client, shandong_admin, reviewer, complete_return
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    return_send_back(
        provincial_return=complete_return,
        by=reviewer,
        comment="请全面核实。",
        field_comments={"list_filed": "备案情况与系统不符。", "attachments": "请上传盖章扫描件。"},
    )
    client.force_login(shandong_admin)

    response = client.get(detail_url(complete_return))

    page = text(response)
    assert "请全面核实。" in page.split('id="send-back"')[1].split("</div>")[0]
    markup = question(page, "list_filed")
    assert "备案情况与系统不符。" in markup
    assert "请上传盖章扫描件。" in page.split('id="attachments"')[1]
    # Returned: editable again.
    assert element(response, "save-button")


def test_a_reviewer_opening_the_return_lands_on_the_review_page(client, reviewer, shandong_return):
    client.force_login(reviewer)
    response = client.get(detail_url(shandong_return))
    assert response.status_code == 302
    assert response["Location"] == review_url(shandong_return)
    assert shandong_return.get_absolute_url() == detail_url(shandong_return)


def test_another_provinces_return_is_not_found(client, zhejiang_clerk, shandong_return):
    client.force_login(zhejiang_clerk)
    for name in ("return_detail", "return_print", "return_review"):
        url = reverse(f"verification:{name}", args=[shandong_return.pk])
        assert client.get(url).status_code == 404, name
    assert client.post(detail_url(shandong_return), {}).status_code == 404


# --- Attachment 2 and the attachments -----------------------------------------------------


def test_filing_a_new_administrator_keeps_the_earlier_one_as_history(
    client, shandong_clerk, shandong_return, shandong_administrator
):
    client.force_login(shandong_clerk)
    url = reverse("verification:administrator_add", args=[shandong_return.pk])
    data = {
        "name": "李新",
        "organisation": "山东省质量技术监督局计量处",
        "title": "副处长",
        "office_phone": "０５３１－８２３４５６７９",  # full-width, as pasted
        "mobile": "139 0531 5678",
        "email": "lixin@example.gov.cn",
        "effective_from": "2016-09-01",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"].endswith("#administrator")
    current = shandong_return.current_administrator()
    assert current.name == "李新"
    assert current.office_phone == "0531-82345679"
    assert SystemAdministrator.objects.in_province(shandong_return.province).count() == 2
    page = text(client.get(detail_url(shandong_return)))
    assert "李新" in page.split('id="administrator-on-return"')[1].split("</table>")[0]
    history = page.split('id="administrator-history"')[1].split("</table>")[0]
    assert "李新" in history
    assert shandong_administrator.name in history


def test_an_invalid_administrator_is_shown_with_its_errors(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    url = reverse("verification:administrator_add", args=[shandong_return.pk])
    data = {
        "name": "李新",
        "organisation": "山东省质量技术监督局计量处",
        "title": "副处长",
        "office_phone": "82345679",
        "mobile": "12345",
        "email": "not-an-address",
    }

    response = client.post(url, data)

    assert response.status_code == 200
    form = text(response).split('id="administrator-form"')[1].split("</form>")[0]
    assert "is not an office telephone number" in form
    assert "is not a mobile number" in form
    assert not SystemAdministrator.objects.exists()


def test_attachments_are_uploaded_listed_and_removed(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    upload_url = reverse("verification:attachment_upload", args=[shandong_return.pk])
    scan = SimpleUploadedFile("山东省核查总结.pdf", PDF, content_type="application/pdf")

    response = client.post(upload_url, {"file": scan})

    assert response.status_code == 302
    attachment = shandong_return.attachments.current().get()
    page = text(client.get(detail_url(shandong_return)))
    listed = page.split('id="attachment-list"')[1].split("</table>")[0]
    assert attachment.get_absolute_url() in listed
    assert "山东省核查总结.pdf" in listed

    remove_url = reverse("verification:attachment_remove", args=[shandong_return.pk, attachment.pk])
    assert client.post(remove_url).status_code == 302
    assert not shandong_return.attachments.current().exists()


def test_a_file_that_is_not_a_scan_is_refused_on_the_page(client, shandong_clerk, shandong_return):
    client.force_login(shandong_clerk)
    url = reverse("verification:attachment_upload", args=[shandong_return.pk])
    fake = SimpleUploadedFile("scan.pdf", b"<html></html>", content_type="application/pdf")

    response = client.post(url, {"file": fake})

    assert response.status_code == 200
    form = text(response).split('id="attachment-form"')[1].split("</form>")[0]
    assert "is not a PDF, JPEG or PNG file" in form
    assert not shandong_return.attachments.exists()


def test_a_submitted_return_offers_no_upload_and_refuses_one(
    client, shandong_admin, reviewer, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(shandong_admin)
    assert not element(client.get(detail_url(complete_return)), "attachment-form")
    url = reverse("verification:attachment_upload", args=[complete_return.pk])
    scan = SimpleUploadedFile("late.pdf", PDF, content_type="application/pdf")

    before = list(complete_return.attachments.values_list("pk", flat=True))

    response = client.post(url, {"file": scan}, follow=True)

    assert "can no longer be changed" in text(response)
    assert list(complete_return.attachments.values_list("pk", flat=True)) == before


# --- print --------------------------------------------------------------------------------


def test_the_print_view_draws_attachment_1_with_its_two_group_headings_and_notes(
    client, shandong_admin, complete_return
):
    return_save_draft(
        provincial_return=complete_return,
        by=shandong_admin,
        data={
            "announcement_methods_other": "政务微博",
            "licence_levels": ["provincial", "municipal"],
        },
    )
    client.force_login(shandong_admin)

    response = client.get(reverse("verification:return_print", args=[complete_return.pk]))

    assert response.status_code == 200
    page = text(response)
    table = page.split('id="attachment-1-table"')[1].split("</table>")[0]
    head, body = table.split("<tbody>")
    rows = head.split("<tr>")[1:]
    assert len(rows) == 2
    assert rows[0].count('rowspan="2"') == 2  # 省份 and 备注
    assert rows[0].count('colspan="4"') == 2
    assert str(layout.LICENSING_WORK.heading) in rows[0]
    assert str(layout.REFORM.heading) in rows[0]
    assert rows[1].count("<th") == 8
    cells = body.split("<td>")[1:]
    assert len(cells) == 9
    assert cells[0].startswith("No")  # 是否超范围许可
    assert "Government website" in cells[2] and "政务微博" in cells[2]
    assert "质量技术监督局计量处 (Provincial、Municipal)" in cells[6]
    notes = page.split('id="attachment-1-notes"')[1].split("</div>")[0]
    assert notes.count("<li>") == 3
    assert str(layout.REPORTING_UNIT_LABEL) in page
    assert complete_return.province.name in page.split('class="vr-reporting-unit"')[1]
    attachment2 = page.split('id="attachment-2-table"')[1].split("</table>")[0]
    assert "0531-82345678" in attachment2
    summary = page.split('id="summary"')[1]
    for name in ("summary_basic", "summary_problems"):
        assert getattr(complete_return, name) in summary


def test_the_print_view_is_a_separate_sheet_per_attachment_and_landscape_for_attachment_1(
    client, reviewer, complete_return
):
    client.force_login(reviewer)
    page = text(client.get(reverse("verification:return_print", args=[complete_return.pk])))
    assert 'class="vr-sheet vr-sheet-landscape" id="attachment-1"' in page
    assert 'class="vr-sheet" id="attachment-2"' in page
    css = Path(finders.find("verification/verification.css")).read_text(encoding="utf-8")
    assert "@page landscape" in css and "size: A4 landscape" in css
    assert "page: landscape" in css
    assert "@media print" in css


# --- the reviewer's list ------------------------------------------------------------------


def test_the_list_shows_every_reporting_unit_with_status_and_lateness(
    client, reviewer, shandong_admin, complete_return, zhejiang_return, campaign
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    client.force_login(reviewer)

    response = client.get(reverse("reports:status_list", args=[campaign.pk]))

    assert response.status_code == 200
    page = text(response)
    rows = re.findall(r'<tr class="vr-row"[^>]*>', page)
    assert len(rows) == Province.objects.count() == 32
    assert 'data-province="37" data-status="submitted" data-lateness="on_time"' in page
    assert 'data-province="33" data-status="draft"' in page
    assert 'data-province="11" data-status="not_started"' in page
    assert review_url(complete_return) in page


@pytest.mark.parametrize(
    ("query", "provinces"),
    [
        ("status=submitted", {"37"}),
        ("status=draft", {"33"}),
        ("lateness=on_time", {"37"}),
    ],
)
def test_the_list_filters_by_status_and_lateness(
    client, reviewer, shandong_admin, complete_return, zhejiang_return, campaign, query, provinces
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    client.force_login(reviewer)
    response = client.get(reverse("reports:status_list", args=[campaign.pk]) + "?" + query)
    assert set(re.findall(r'data-province="(\d+)"', text(response))) == provinces


def test_the_list_of_units_not_started_has_the_others(client, reviewer, zhejiang_return, campaign):
    client.force_login(reviewer)
    url = reverse("reports:status_list", args=[campaign.pk]) + "?status=not_started"
    shown = set(re.findall(r'data-province="(\d+)"', text(client.get(url))))
    assert len(shown) == 31 and "33" not in shown


def _returns_for(campaign, provinces, user):
    """Submitted returns with a snapshot each, written directly: only the list is under test."""
    returns = ProvincialReturn.objects.bulk_create(
        ProvincialReturn(
            campaign=campaign,
            province=province,
            status=ReturnStatus.SUBMITTED,
            first_submitted_at=ON_TIME,
            submitted_at=ON_TIME,
        )
        for province in provinces
    )
    ReturnSnapshot.objects.bulk_create(
        ReturnSnapshot(
            provincial_return=provincial_return,
            number=1,
            taken_at=ON_TIME,
            taken_by=user,
            data={"findings": {Rule.OUT_OF_SCOPE: 2, Rule.ACCEPTED_DATE_MISSING: 5}},
        )
        for provincial_return in returns
    )


def _list_queries(client, campaign) -> tuple[int, str]:
    url = reverse("reports:status_list", args=[campaign.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), text(response)


def test_the_list_makes_as_many_queries_for_5_returns_as_for_32(
    client, reviewer, campaign, django_assert_max_num_queries
):
    client.force_login(reviewer)
    provinces = list(Province.objects.order_by("code"))
    _returns_for(campaign, provinces[:5], reviewer)
    few, page = _list_queries(client, campaign)
    # Problems only: the unchecked rule's 5 are not counted.
    assert '<td class="vr-number">2</td>' in page

    _returns_for(campaign, provinces[5:], reviewer)
    many, page = _list_queries(client, campaign)

    assert len(re.findall(r'<tr class="vr-row"[^>]*data-status="submitted"', page)) == 32
    assert many == few
    # With the units' register sizes and their last reminders: one query each.
    with django_assert_max_num_queries(9):
        client.get(reverse("reports:status_list", args=[campaign.pk]))


@pytest.mark.parametrize("persona", ["shandong_admin", "shandong_clerk", "zhejiang_clerk"])
def test_provincial_users_do_not_get_the_list(client, request, campaign, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("reports:status_list", args=[campaign.pk])).status_code == 403


# --- the review page ----------------------------------------------------------------------


def test_the_review_page_shows_the_return_read_only_with_findings_and_warnings(
    client, reviewer, shandong_admin, complete_return, out_of_scope_licence
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    client.force_login(reviewer)

    response = client.get(review_url(complete_return))

    assert response.status_code == 200
    page = text(response)
    assert 'name="out_of_scope"' not in page  # read-only
    markup = question(page, "out_of_scope")
    assert 'data-rule="out_of_scope"' in markup
    assert 'data-code="out_of_scope_contradicts_findings"' in markup
    assert 'name="comment__out_of_scope"' in markup
    assert element(response, "first-submission")
    assert element(response, "send-back-button")
    assert element(response, "accept-button")


def test_the_review_page_highlights_what_changed_since_the_previous_submission(
    client, reviewer, shandong_admin, complete_return
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    return_send_back(
        provincial_return=complete_return, by=reviewer, comment="", field_comments={"remarks": "?"}
    )
    return_save_draft(
        provincial_return=complete_return, by=shandong_admin, data={"remarks": "补充说明。"}
    )
    make_administrator(
        complete_return.province, by=shandong_admin, effective_from=date(2016, 10, 1), name="李新"
    )
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    client.force_login(reviewer)

    response = client.get(review_url(complete_return))

    page = text(response)
    changes = page.split('id="change-list"')[1].split("</table>")[0]
    assert 'data-field="remarks"' in changes
    assert "补充说明。" in changes
    assert 'data-field="administrator.name"' in changes
    assert 'class="vr-question vr-changed' in page.split('id="q-remarks"')[0][-200:]
    untouched = page.split('id="q-out_of_scope"')[0][-200:]
    assert "vr-changed" not in untouched
    assert 'class="module vr-section vr-changed" id="administrator"' in page


def test_sending_back_with_a_comment_on_a_field(client, reviewer, shandong_admin, complete_return):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    url = reverse("verification:review_send_back", args=[complete_return.pk])
    data = {
        "expected_version": complete_return.version,
        "comment": "请修改。",
        "comment__out_of_scope": "与登记数据不符。",
        "comment__attachments": "缺少盖章扫描件。",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.RETURNED
    event = complete_return.events.get(action=ReturnEventAction.RETURNED)
    assert event.by == reviewer
    assert event.comment == "请修改。"
    assert event.field_comments == {
        "out_of_scope": "与登记数据不符。",
        "attachments": "缺少盖章扫描件。",
    }


def test_sending_back_without_any_comment_is_refused_on_the_page(
    client, reviewer, shandong_admin, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    url = reverse("verification:review_send_back", args=[complete_return.pk])

    response = client.post(url, {"expected_version": complete_return.version, "comment": " "})

    assert response.status_code == 200
    assert "Say what the province should revise." in text(response)
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED


def test_accepting(client, reviewer, shandong_admin, complete_return):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    url = reverse("verification:review_accept", args=[complete_return.pk])

    response = client.post(url, {"expected_version": complete_return.version, "comment": "同意。"})

    assert response.status_code == 302
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED
    page = client.get(review_url(complete_return))
    assert not element(page, "accept-button")
    assert not element(page, "review-form")


def test_accepting_with_comments_on_fields_is_refused(
    client, reviewer, shandong_admin, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    url = reverse("verification:review_accept", args=[complete_return.pk])
    data = {"expected_version": complete_return.version, "comment__remarks": "请补充。"}

    response = client.post(url, data)

    assert response.status_code == 200
    assert "You wrote comments on fields" in text(response)
    assert "请补充。" in text(response)  # kept for a send-back
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED


def test_a_decision_on_a_stale_page_is_refused_and_the_comments_kept(
    client, reviewer, shandong_admin, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    stale = complete_return.version
    other = make_user("reviewer2", role=REVIEWER)
    return_accept(provincial_return=complete_return, by=other)
    client.force_login(reviewer)
    url = reverse("verification:review_send_back", args=[complete_return.pk])

    response = client.post(url, {"expected_version": stale, "comment": "我的意见。"})

    assert response.status_code == 409
    assert "Someone else changed this return" in text(response)
    assert "我的意见。" in text(response)
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED
    assert not ReturnEvent.objects.filter(action=ReturnEventAction.RETURNED).exists()


def test_a_draft_can_be_read_but_not_decided(client, reviewer, shandong_return):
    client.force_login(reviewer)
    response = client.get(review_url(shandong_return))
    assert response.status_code == 200
    assert not element(response, "send-back-button")
    url = reverse("verification:review_accept", args=[shandong_return.pk])
    followed = client.post(url, {"expected_version": shandong_return.version}, follow=True)
    assert "only a submitted return can be reviewed" in text(followed)
    shandong_return.refresh_from_db()
    assert shandong_return.status == ReturnStatus.DRAFT


# --- how users get there ------------------------------------------------------------------


def test_the_admin_index_leads_a_province_to_its_return(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    response = client.get(reverse("admin:index"))
    module = text(response).split('id="verification-module"')[1].split("</table>")[0]
    assert detail_url(shandong_return) in module
    assert element(response, "verification-link")  # in the header


def test_the_admin_index_offers_to_start_the_return(client, shandong_clerk, campaign):
    client.force_login(shandong_clerk)
    page = text(client.get(reverse("admin:index")))
    start = reverse("verification:campaign_start", args=[campaign.pk])
    assert start in page.split('id="verification-module"')[1]

    response = client.post(start)

    created = ProvincialReturn.objects.get(campaign=campaign, province=shandong_clerk.province)
    assert response.status_code == 302
    assert response["Location"] == detail_url(created)
    assert client.post(start)["Location"] == detail_url(created)  # the same one again
    assert ProvincialReturn.objects.count() == 1


def test_the_admin_index_leads_a_reviewer_to_the_list(client, reviewer, campaign):
    client.force_login(reviewer)
    response = client.get(reverse("admin:index"))
    module = text(response).split('id="verification-module"')[1].split("</table>")[0]
    assert reverse("reports:status_list", args=[campaign.pk]) in module
    assert element(response, "verification-link")


def test_a_user_without_verification_rights_sees_no_link(client, shandong):
    client.force_login(make_user("sd_nobody", province=shandong))
    response = client.get(reverse("admin:index"))
    assert not element(response, "verification-module")
    assert not element(response, "verification-link")
    assert client.get(reverse("verification:index")).status_code == 403


def test_the_verification_page_lists_the_campaigns(
    client, shandong_admin, reviewer, shandong_return, campaign
):
    client.force_login(shandong_admin)
    page = text(client.get(reverse("verification:index")))
    assert detail_url(shandong_return) in page.split('id="campaigns"')[1]

    client.force_login(reviewer)
    page = text(client.get(reverse("verification:index")))
    assert reverse("reports:status_list", args=[campaign.pk]) in page


def test_the_return_admin_links_to_the_return_page(client, reviewer, shandong_return):
    client.force_login(reviewer)
    response = client.get(
        reverse("admin:verification_provincialreturn_change", args=[shandong_return.pk])
    )
    assert response.status_code == 200
    assert 'class="viewsitelink"' in text(response)


def test_a_scanned_attachment_is_listed_on_the_review_page(
    client, reviewer, shandong_admin, complete_return
):
    attachment = return_attachment_add(
        provincial_return=complete_return,
        by=shandong_admin,
        file=SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
    )
    client.force_login(reviewer)
    page = text(client.get(review_url(complete_return)))
    assert attachment.get_absolute_url() in page.split('id="attachments"')[1]
