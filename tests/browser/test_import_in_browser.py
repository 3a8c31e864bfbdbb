"""A 山东 clerk imports a licence list in a real browser: errors, error report, fix, confirm.

Runs Debian's chromium through Playwright against the live server; see conftest.py for when
it is skipped. Screenshots of each step are saved under test-artifacts/.
"""

import re

import openpyxl
import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from accounts.roles import DATA_ENTRY
from licensing.models import ImportBatch, ImportBatchStatus, Licence
from tests.conftest import PASSWORD, make_user
from tests.licensing.import_files import (
    licence_rows,
    with_expiry_before_issue,
    with_wrong_check_character,
    write_xlsx,
)

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data. The flush after a transactional test empties
    # every table, so restore the data migrations' provinces, categories and groups first.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_shandong_clerk_fixes_two_bad_rows_and_imports_the_list(
    page, screenshot, shandong, tmp_path
):
    clerk = make_user("sd_import_clerk", province=shandong, role=DATA_ENTRY)
    good = licence_rows(4, products_per_licence=1)  # Excel rows 2–5, one licence each
    bad = list(good)
    bad[1] = with_wrong_check_character(good[1])  # Excel row 3
    bad[3] = with_expiry_before_issue(good[3])  # Excel row 5
    bad_file = write_xlsx(tmp_path / "山东许可证名单.xlsx", bad)
    fixed_file = write_xlsx(tmp_path / "山东许可证名单-修正.xlsx", good)
    numbers = [row["许可证编号"] for row in good]

    # Log in and open the import from the licence list.
    page.goto("/admin/login/?next=/admin/licensing/licence/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/$"))
    screenshot("licence-list-with-import-button")
    page.click("a.import-licence-list")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/import/$"))
    expect(page.locator("a.licence-import-template").first).to_be_visible()
    screenshot("upload-page")

    # Upload the file with two bad rows: both errors, with row and column, and no confirm.
    page.set_input_files("#id_file", str(bad_file))
    page.click("#licence-import-form input[type=submit]")
    errors = page.locator("#import-errors tr.import-error")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("3")
    expect(errors.nth(0)).to_contain_text("统一社会信用代码")
    expect(errors.nth(1)).to_contain_text("5")
    expect(errors.nth(1)).to_contain_text("有效期至")
    expect(page.locator("#licence-import-confirm")).to_have_count(0)
    screenshot("preview-with-two-errors")

    # Download the error report: the rows again, with an error-description column.
    with page.expect_download() as download_info:
        page.click("#error-report")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    report_path = tmp_path / "report.xlsx"
    download.save_as(str(report_path))
    sheet = openpyxl.load_workbook(report_path).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    with translation.override(settings.LANGUAGE_CODE):
        assert header[-1] == translation.gettext("Error description")  # 错误说明
    described = {row[0].value: row[-1].value for row in sheet.iter_rows(min_row=2)}
    assert described[2] is None and described[4] is None
    assert "统一社会信用代码" in described[3]
    assert "有效期至" in described[5]
    assert not Licence.objects.exists()

    # Upload the fixed file: counts, no errors, confirm.
    page.click("#upload-again")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/import/$"))
    page.set_input_files("#id_file", str(fixed_file))
    page.click("#licence-import-form input[type=submit]")
    expect(page.locator("#import-counts")).to_be_visible()
    expect(page.locator("#import-errors")).to_have_count(0)
    counts = page.locator("#import-counts tbody tr")
    expect(counts).to_have_count(3)
    for row in range(3):
        expect(counts.nth(row).locator("td").first).to_have_text("4")
    screenshot("preview-of-the-fixed-file")
    page.click("#licence-import-confirm input[type=submit]")

    # Back on the licence list: a success message and the four licences.
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/$"))
    expect(page.locator(".messagelist .success")).to_be_visible()
    for number in numbers:
        expect(page.locator("#result_list")).to_contain_text(number)
    screenshot("licences-listed-after-import")

    batch = ImportBatch.objects.get(status=ImportBatchStatus.COMMITTED)
    assert batch.created_by == clerk
    assert set(Licence.objects.values_list("number", flat=True)) == set(numbers)
    assert set(Licence.objects.values_list("import_batch", flat=True)) == {batch.pk}
