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

    # The import batches: the preview with errors stands apart from the imported file.
    page.goto("/admin/licensing/importbatch/")
    expect(page.locator("#result_list .import-status-errors")).to_have_count(1)
    expect(page.locator("#result_list .import-status-committed")).to_have_count(1)
    expect(
        page.locator("#result_list tr", has=page.locator(".import-status-errors"))
    ).to_contain_text(bad_file.name)
    screenshot("import-batches-with-the-preview-with-errors")


BUSY_CHECK = """(selector) => {
    // Keep the page: the form is checked while "sent", then really sent below.
    const form = document.querySelector(selector);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.requestSubmit();
}"""


def sent_once_with_progress(page, selector: str, screenshot=None, name="") -> None:
    """Submitting the form disables its button and shows the progress indicator; then the
    form is really sent (form.submit(), which fires no submit event)."""
    page.wait_for_load_state("domcontentloaded")  # the deferred script has run
    page.evaluate(BUSY_CHECK, selector)
    expect(page.locator(f"{selector} input[type=submit]")).to_be_disabled()
    expect(page.locator(f"{selector} .busy-indicator progress")).to_be_visible()
    if screenshot is not None:
        screenshot(name)
    page.evaluate("(selector) => document.querySelector(selector).submit()", selector)


def test_a_clerks_day_import_edit_and_read_the_history(page, screenshot, shandong, tmp_path):
    """Import a list, edit one of its licences and a product, and read what the history says."""
    page.set_viewport_size({"width": 1366, "height": 768})
    clerk = make_user("sd_day_clerk", province=shandong, role=DATA_ENTRY)
    rows = licence_rows(4, products_per_licence=2)  # two licences, two products each
    list_file = write_xlsx(tmp_path / "山东许可证名单.xlsx", rows)
    numbers = [rows[0]["许可证编号"], rows[2]["许可证编号"]]

    page.goto("/admin/login/?next=/admin/licensing/licence/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/$"))

    # Import: upload (the button is disabled while it runs), read the licences to be created.
    page.click("a.import-licence-list")
    page.set_input_files("#id_file", str(list_file))
    sent_once_with_progress(page, "#licence-import-form", screenshot, "upload-in-progress")
    new_licences = page.locator("#import-new-licences tr.new-licence")
    expect(new_licences).to_have_count(2)
    for index, number in enumerate(numbers):
        expect(new_licences.nth(index)).to_contain_text(number)
        expect(new_licences.nth(index)).to_contain_text(rows[index * 2]["企业名称"])
        expect(new_licences.nth(index)).to_contain_text(rows[index * 2]["型号规格"])
        expect(new_licences.nth(index)).to_contain_text(rows[index * 2 + 1]["型号规格"])
    screenshot("preview-lists-the-licences-to-be-created")
    sent_once_with_progress(page, "#licence-import-confirm", screenshot, "confirm-in-progress")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/$"))
    expect(page.locator(".messagelist .success")).to_be_visible()
    screenshot("licence-list-after-the-import")
    assert set(Licence.objects.values_list("number", flat=True)) == set(numbers)

    # Edit the first licence and one of its products.
    licence = Licence.objects.get(number=numbers[0])
    page.locator("#result_list a", has_text=numbers[0]).click()
    expect(page).to_have_url(re.compile(rf"/admin/licensing/licence/{licence.pk}/change/$"))
    page.fill("#id_issuing_authority", "山东省市场监督管理局")
    product_row = page.locator("tr.has_original", has_text=rows[0]["型号规格"])
    product_row.locator("input[name$=accuracy_class]").fill("0.2S级")
    screenshot("licence-edited")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    licence.refresh_from_db()
    assert licence.issuing_authority == "山东省市场监督管理局"
    assert licence.products.get(model_spec=rows[0]["型号规格"]).accuracy_class == "0.2S级"

    # The history: the licence's change and its product's, who and when, no "None".
    page.click("a.historylink")
    expect(page).to_have_url(re.compile(rf"/admin/licensing/licence/{licence.pk}/history/$"))
    expect(page.locator("#change-history tbody tr")).to_have_count(2)  # imported, edited
    changed = page.locator("#products-history tr.product-change[data-history-type='~']")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text(rows[0]["型号规格"])
    expect(changed).to_contain_text("0.2S级")
    expect(changed).to_contain_text(clerk.username)
    expect(
        page.locator("#products-history tr.product-change[data-history-type='+']")
    ).to_have_count(2)
    for cell in page.locator("td.change-reason").all_inner_texts():
        assert cell.strip() != "None"
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    screenshot("history-with-the-products-changes")

    # The product's version reads as a record: no form field to change.
    changed.locator("a").click()
    expect(page).to_have_url(re.compile(r"/admin/licensing/licensedproduct/\d+/history/\d+/$"))
    expect(
        page.locator("#content-main input, #content-main select, #content-main textarea")
    ).to_have_count(0)
    expect(page.locator("#content-main")).to_contain_text("0.2S级")
    screenshot("product-version-as-a-record")
