"""The 山东 administrator enters a manufacturer and a licence in a real browser; the licence
list and change page fit a 1366 px screen for a clerk and a reviewer.

Runs Debian's chromium through Playwright against the live server; see conftest.py for when
it is skipped. Screenshots of each step are saved under test-artifacts/.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER
from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.models import InstrumentCategory, Licence, Manufacturer, TypeApproval
from tests.conftest import PASSWORD, make_user

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data. The flush after a transactional test empties
    # every table, so restore the data migrations' provinces, categories and groups first.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MANUFACTURER_NAME = "济南浏览器测试衡器有限公司"
LICENCE_NUMBER = "鲁制24000123号"
PRODUCTS = [
    ("衡器", "电子计价秤", "ACS-15"),
    ("加油机", "燃油加油机", "JYJ-2 双枪"),
]


def choose_autocomplete(page, field: str, search: str, choice: str) -> None:
    """Pick ``choice`` in the admin's select2 autocomplete widget of ``field``."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(search)
    page.locator(".select2-results__option", has_text=choice).click()


def test_shandong_admin_enters_a_licence_and_cannot_open_zhejiang(
    page, screenshot, live_server, shandong, zhejiang_licence
):
    admin_user = make_user("sd_browser_admin", province=shandong, role=PROVINCIAL_ADMIN)
    code = credit_code(240123, region="370100")

    # Log in.
    page.goto("/admin/login/?next=/admin/")
    expect(page.locator("#id_username")).to_be_visible()
    screenshot("login-page")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text(admin_user.username)
    screenshot("admin-index-after-login")

    # Add a manufacturer.
    page.goto("/admin/licensing/manufacturer/add/")
    page.fill("#id_name", MANUFACTURER_NAME)
    page.fill("#id_credit_code", code)
    page.select_option("#id_province", value=str(shandong.pk))
    page.fill("#id_address", "山东省济南市历下区测试路1号")
    screenshot("manufacturer-form-filled")
    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/licensing/manufacturer/$"))
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator("#result_list")).to_contain_text(MANUFACTURER_NAME)
    expect(page.locator("#result_list")).to_contain_text(code)
    screenshot("manufacturer-listed")
    manufacturer = Manufacturer.objects.get(credit_code=code)
    assert manufacturer.province == shandong

    # Add a licence listing two products.
    page.goto("/admin/licensing/licence/add/")
    page.fill("#id_number", LICENCE_NUMBER)
    choose_autocomplete(page, "manufacturer", "浏览器测试", MANUFACTURER_NAME)
    expect(page.locator("#id_manufacturer")).to_have_value(str(manufacturer.pk))
    page.select_option("#id_province", value=str(shandong.pk))
    page.fill("#id_issuing_authority", "山东省质量技术监督局")
    page.fill("#id_accepted_on", "2024-02-20")
    page.fill("#id_issued_on", "2024-03-01")
    page.fill("#id_expires_on", "2027-02-28")
    # The inline starts with one empty row; the add-row link adds the second.
    add_row = page.locator("#products-group .add-row a")
    expect(add_row).to_contain_text("添加另一个")
    add_row.click()
    expect(page.locator("#id_products-1-product_name")).to_be_visible()
    for index, (category, product_name, model_spec) in enumerate(PRODUCTS):
        page.select_option(f"#id_products-{index}-category", label=category)
        page.fill(f"#id_products-{index}-product_name", product_name)
        page.fill(f"#id_products-{index}-model_spec", model_spec)
    screenshot("licence-form-filled")
    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/admin/licensing/licence/$"))
    expect(page.locator(".messagelist .success")).to_be_visible()
    results = page.locator("#result_list")
    expect(results).to_contain_text(LICENCE_NUMBER)
    expect(results).to_contain_text(MANUFACTURER_NAME)
    expect(results).not_to_contain_text(zhejiang_licence.number)
    screenshot("licence-listed")

    licence = Licence.objects.get(number=LICENCE_NUMBER)
    assert licence.province == shandong
    assert licence.manufacturer == manufacturer
    assert sorted(
        licence.products.values_list("category__name", "product_name", "model_spec")
    ) == sorted(PRODUCTS)
    assert InstrumentCategory.objects.filter(name__in=[p[0] for p in PRODUCTS]).count() == 2

    # Another province's licence is not found, not forbidden.
    response = page.goto(f"/admin/licensing/licence/{zhejiang_licence.pk}/change/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(zhejiang_licence.number)
    screenshot("zhejiang-licence-404")


# --- The licence list and a licence's change page fit a 1366 px screen (issue 10) ----------

# A long name, as real ones are, so that columns have to share the width.
LONG_NAME = "浙江省杭州市西湖区某某精密计量仪器仪表制造股份有限公司第二分公司"


def log_in(page, user):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def hidden_columns(page) -> list[str]:
    """Boxes that scroll sideways inside the page (the admin wraps its tables in such boxes,
    so a page that fits can still hide columns): their ids or classes."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                '#changelist .results, .inline-group, .inline-group .tabular, #content-main, fieldset'
            )].filter((box) => box.scrollWidth > box.clientWidth + 1)
             .map((box) => `${box.tagName}#${box.id}.${box.className}`)"""
    )


def single_line(page, selector: str) -> bool:
    """Whether every element of ``selector`` is one line high."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].every((element) => {
            const lineHeight = parseFloat(getComputedStyle(element).lineHeight) || 20;
            const range = document.createRange();
            range.selectNodeContents(element);
            return range.getClientRects().length <= 1
                || range.getBoundingClientRect().height < lineHeight * 1.5;
        })""",
        selector,
    )


@pytest.mark.parametrize("role", ["clerk", "reviewer"])
def test_the_licence_list_and_change_page_fit_1366_pixels(page, screenshot, zhejiang, role):
    page.set_viewport_size({"width": 1366, "height": 768})
    manufacturer = make_manufacturer(zhejiang, 3301, name=LONG_NAME)
    licence = make_licence(manufacturer, 3301, products=3)
    for seed in range(3302, 3312):
        make_licence(make_manufacturer(zhejiang, seed, name=f"{LONG_NAME}{seed}"), seed)
    product = licence.products.first()
    product.type_approval = TypeApproval.objects.create(
        certificate_number="2016F123-33",
        province=zhejiang,
        manufacturer=manufacturer,
        category=product.category,
        product_name=product.product_name,
        model_spec=product.model_spec,
        approved_on=licence.issued_on,
        issuing_department="浙江省质量技术监督局计量处",
    )
    product.accuracy_class = "0.5S级"
    product.measuring_range = "Imax 60A，3×220/380V"
    product.save()
    if role == "clerk":
        user = make_user("zj_layout_clerk", province=zhejiang, role=DATA_ENTRY)
    else:
        user = make_user("layout_reviewer", role=REVIEWER)
    log_in(page, user)

    page.goto("/admin/licensing/licence/")
    expect(page.locator("#result_list")).to_be_visible()
    screenshot(f"licence-list-1366-{role}")
    assert overflow(page) <= 0
    assert hidden_columns(page) == []
    assert single_line(page, "#result_list td.field-number, #result_list th.field-number a")

    page.goto(f"/admin/licensing/licence/{licence.pk}/change/")
    expect(page.locator("#licence_form")).to_be_visible()
    screenshot(f"licence-change-1366-{role}")
    assert overflow(page) <= 0
    assert hidden_columns(page) == []
