"""The department's board and the public list in a real browser.

A reviewer opens the campaign board from the verification page, reads a unit's tile and the
register table, follows a number to the list it counts and downloads Attachment 1; a visitor
without an account searches the public list and opens a licence. Screenshots of each step are
saved under test-artifacts/.
"""

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.roles import REVIEWER
from licensing.factories import make_licence, make_manufacturer
from licensing.statistics import register_counts_refresh
from tests.conftest import PASSWORD, make_user
from verification.models import Campaign

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data; see test_register_in_browser.py.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def register(shandong, zhejiang):
    licences = [
        make_licence(make_manufacturer(shandong, 301 + seed), 301 + seed, products=3)
        for seed in range(3)
    ]
    licences.append(make_licence(make_manufacturer(zhejiang, 401), 401, products=2))
    register_counts_refresh()
    return licences


def test_a_reviewer_reads_the_board_and_downloads_attachment_1(page, screenshot, register):
    reviewer = make_user("board_reviewer", role=REVIEWER)
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")

    page.goto("/admin/login/?next=/verification/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/verification/$"))
    page.click(f"[data-campaign='{campaign.pk}'] .board-link")
    expect(page).to_have_url(re.compile(rf"/reports/campaigns/{campaign.pk}/$"))
    expect(page.locator("h1")).to_contain_text("核查看板")
    screenshot("board")

    # 山东's tile: not started, late (the 2016 deadline has passed), with its register's size.
    tile = page.locator(".rp-tile[data-province='37']")
    expect(tile).to_contain_text("山东")
    expect(tile).to_contain_text("3")
    expect(page.locator(".rp-tile[data-province='11']")).to_contain_text("无登记数据")
    expect(page.locator("#status-chart svg")).to_be_visible()
    expect(page.locator("#category-chart svg")).to_contain_text("水表")

    # The table by products; a number opens the list it counts.
    page.click("text=许可产品")
    expect(page.locator("#register-table")).to_have_attribute("data-measure", "products")
    total = page.locator("#register-table tr[data-province='37'] td.rp-total a")
    expect(total).to_have_text("9")
    screenshot("register-by-products")
    total.click()
    expect(page).to_have_url(re.compile(r"/admin/licensing/licensedproduct/\?"))
    expect(page.locator("#result_list tbody tr")).to_have_count(9)
    screenshot("the-products-counted")

    # Attachment 1, all units, as .xlsx.
    page.go_back()
    with page.expect_download() as download_info:
        page.click("#download-attachment1")
    download = download_info.value
    assert download.suggested_filename.startswith("附件1")
    with open(download.path(), "rb") as handle:  # the download's temporary name has no suffix
        sheet = load_workbook(BytesIO(handle.read())).active
    texts = {str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value}
    assert "许可工作情况" in texts and "行政审批制度改革情况" in texts
    assert "山东省" in texts and "新疆生产建设兵团" in texts


def test_a_visitor_searches_the_public_list_and_opens_a_licence(page, screenshot, register):
    licence = register[0]
    page.goto("/public/")
    expect(page.locator("h1")).to_contain_text("获证单位名单")
    screenshot("public-list")
    page.fill("#id_q", licence.manufacturer.name)
    page.click("form button[type=submit]")
    rows = page.locator("table.licences tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(licence.number)
    screenshot("public-search")
    page.select_option("#id_province", label="浙江省")
    page.fill("#id_q", "")
    page.click("form button[type=submit]")
    expect(page.locator("table.licences tbody tr")).to_have_count(1)
    expect(page.locator("table.licences")).to_contain_text(register[3].number)
    screenshot("public-filtered-by-province")
    page.select_option("#id_province", index=0)
    page.fill("#id_q", licence.number)
    page.click("form button[type=submit]")
    page.click(f"text={licence.number}")
    expect(page).to_have_url(re.compile(rf"/public/licences/{licence.pk}/$"))
    expect(page.locator("body")).to_contain_text(licence.issuing_authority)
    expect(page.locator("body")).to_contain_text(licence.products.first().model_spec)
    expect(page.locator("body")).not_to_contain_text(licence.manufacturer.contact_phone or "—none—")
    screenshot("public-licence")
