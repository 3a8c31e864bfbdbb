"""The import preview lists the licences it would create, a preview with errors is recorded
as such, and the import screens send their forms once, with a progress indicator (issue 10)."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from licensing.importing.service import NEW_LICENCES_SHOWN, import_preview, licence_import
from licensing.models import ImportBatch, ImportBatchStatus
from tests.licensing.import_files import licence_rows, xlsx
from tests.licensing.test_import_admin import (
    CONFIRM,
    ERRORS,
    UPLOAD,
    confirm,
    token_of,
    two_bad_rows,
    upload,
)

BATCHES = "admin:licensing_importbatch_changelist"


def new_licence_rows(html: str) -> list[list[str]]:
    table = html.split('id="import-new-licences"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="new-licence">(.*?)</tr>', table, re.S)
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]
        for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows)
    ]


def test_the_preview_lists_the_licences_to_be_created_with_manufacturer_and_products(
    client, shandong_clerk
):
    rows = licence_rows(6)  # 3 licences of 2 products each
    client.force_login(shandong_clerk)

    response = upload(client, xlsx(rows))

    listed = new_licence_rows(response.content.decode())
    assert [row[:3] for row in listed] == [
        ["2", rows[0]["许可证编号"], rows[0]["企业名称"]],
        ["4", rows[2]["许可证编号"], rows[2]["企业名称"]],
        ["6", rows[4]["许可证编号"], rows[4]["企业名称"]],
    ]
    for listed_row, first in zip(listed, (0, 2, 4), strict=True):
        for row in rows[first : first + 2]:
            assert f"{row['计量器具类别']} {row['产品名称']} {row['型号规格']}" in listed_row[3]
    assert 'id="new-licences-not-shown"' not in response.content.decode()


def test_only_the_first_licences_are_listed_and_the_count_says_how_many_more(
    client, shandong_clerk
):
    total = NEW_LICENCES_SHOWN + 5
    client.force_login(shandong_clerk)

    response = upload(client, xlsx(licence_rows(total, products_per_licence=1)))

    html = response.content.decode()
    assert len(new_licence_rows(html)) == NEW_LICENCES_SHOWN
    assert 'id="new-licences-not-shown"' in html
    assert str(total) in html.split('id="new-licences-not-shown"', 1)[1].split("</p>", 1)[0]


def test_licences_already_in_the_register_are_not_listed_as_new(client, shandong_clerk):
    rows = licence_rows(4)
    licence_import(data=xlsx(rows[:2]), file_name="first.xlsx", by=shandong_clerk)
    client.force_login(shandong_clerk)

    listed = new_licence_rows(upload(client, xlsx(rows)).content.decode())

    assert [row[1] for row in listed] == [rows[2]["许可证编号"]]


def test_a_preview_with_errors_is_recorded_as_such_and_a_good_one_as_previewed(shandong_clerk):
    _result, bad = import_preview(
        data=xlsx(two_bad_rows()), file_name="bad.xlsx", by=shandong_clerk
    )
    _result, good = import_preview(
        data=xlsx(licence_rows(2)), file_name="ok.xlsx", by=shandong_clerk
    )

    assert bad.status == ImportBatchStatus.HAS_ERRORS
    assert bad.counts["errors"] == 2
    assert good.status == ImportBatchStatus.PREVIEWED
    assert "errors" not in good.counts


def test_the_batch_list_tells_a_preview_with_errors_from_a_good_one(client, shandong_clerk):
    client.force_login(shandong_clerk)
    upload(client, xlsx(two_bad_rows()), name="bad.xlsx")
    upload(client, xlsx(licence_rows(2)), name="ok.xlsx")

    html = client.get(reverse(BATCHES)).content.decode()

    rows = {
        name: row
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
        for name in ("bad.xlsx", "ok.xlsx")
        if name in row
    }
    assert 'class="import-status import-status-errors"' in rows["bad.xlsx"]
    assert 'class="import-status import-status-previewed"' in rows["ok.xlsx"]
    # The filter offers the new status, and the stylesheet marks it.
    assert "?status__exact=errors" in html
    assert "/static/licensing/register.css" in html


def test_the_error_report_of_a_preview_with_errors_is_served(client, shandong_clerk):
    client.force_login(shandong_clerk)
    upload(client, xlsx(two_bad_rows()))
    batch = ImportBatch.objects.get()

    response = client.get(reverse(ERRORS, args=[batch.pk]))

    assert response.status_code == 200


def test_a_confirm_that_finds_new_errors_records_the_batch_as_having_errors(
    client, shandong_clerk, shandong
):
    from licensing.factories import make_licence, make_manufacturer

    rows = licence_rows(2, products_per_licence=2)
    client.force_login(shandong_clerk)
    token = token_of(upload(client, xlsx(rows)))
    make_licence(make_manufacturer(shandong, 4343), 1, number=rows[0]["许可证编号"])

    confirm(client, token)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatchStatus.HAS_ERRORS
    assert batch.counts["errors"] == len(batch.errors) > 0


def test_the_import_forms_disable_their_button_with_the_projects_own_script(client, shandong_clerk):
    client.force_login(shandong_clerk)
    pages = [
        client.get(reverse(UPLOAD)).content.decode(),
        upload(client, xlsx(licence_rows(2))).content.decode(),
    ]
    for html in pages:
        assert re.search(r'<script src="[^"]*/static/licensing/busy\.js" defer></script>', html)
        assert "busy-form" in html
        # No inline script and nothing from another site.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r'<script[^>]+src="(https?:)?//', html)
    assert reverse(CONFIRM) in pages[1]
    script = (Path(settings.BASE_DIR) / "static/licensing/busy.js").read_text()
    assert "disabled" in script and "progress" in script


def test_no_import_or_admin_help_text_names_a_command_line_option():
    from django.apps import apps

    from licensing.importing.forms import LicenceListUploadForm

    texts = [
        str(field.help_text)
        for model in apps.get_app_config("licensing").get_models()
        for field in model._meta.get_fields()
        if getattr(field, "help_text", "")
    ]
    texts.append(str(LicenceListUploadForm(max_bytes=1).fields["file"].help_text))
    offending = [text for text in texts if re.search(r"(^|\s)--[a-z]", text)]
    assert offending == []


def test_the_migration_marks_earlier_previews_with_errors(shandong_clerk):
    """Migration 0012: batches previewed before it, with errors, become "has errors"."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("licensing.migrations.0012_import_batch_has_errors")
    bad = ImportBatch.objects.create(
        created_by=shandong_clerk,
        status=ImportBatchStatus.PREVIEWED,
        errors=[{"row": 3, "column": "状态", "message": "x"}] * 2,
        counts={"licences": {"created": 0}},
    )
    good = ImportBatch.objects.create(created_by=shandong_clerk, status=ImportBatchStatus.PREVIEWED)

    migration.mark_previews_with_errors(apps, None)

    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == ImportBatchStatus.HAS_ERRORS
    assert bad.counts == {"licences": {"created": 0}, "errors": 2}
    assert good.status == ImportBatchStatus.PREVIEWED
