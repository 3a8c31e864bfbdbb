"""The admin's and the return's scripts work under the Content-Security-Policy, with no violation.

Every browser test fails on a violation (tests/browser/conftest.py); these drive the scripts
the policy could break: the admin's autocomplete (select2 and its requests), inline rows, the
calendar, the two-list selector of the user page, the export page's "select all" box
(static/licensing/export.js), the return page's script (static/verification/
return.js) and the print view's button (static/verification/print.js).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from accounts.roles import PROVINCIAL_ADMIN
from licensing.factories import make_licence, make_manufacturer
from tests.conftest import PASSWORD, make_user
from verification.models import Campaign
from verification.services import return_start

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page, username: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_a_refused_inline_script_or_style_is_reported(page, live_server, csp_violations):
    """The listener the browser tests rely on sees what the policy refuses."""
    page.goto("/admin/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true;";
            document.body.append(script);
            document.body.setAttribute("style", "background: red");
        }"""
    )
    for _ in range(100):  # the reports reach Python while Playwright waits
        if len(csp_violations) >= 2:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.injected") is None  # the inline script did not run
    directives = " ".join(csp_violations)
    assert "script-src" in directives
    assert "style-src" in directives
    csp_violations.clear()  # expected here; any other violation fails the test


def test_the_admins_scripts_run_without_violations(page, live_server, screenshot, shandong):
    manufacturer = make_manufacturer(shandong, 31)
    licence = make_licence(manufacturer, 31, products=1)
    other = make_manufacturer(shandong, 32)
    User.objects.create_superuser("csp_super", password=PASSWORD, email="")
    clerk = make_user("csp_clerk", province=shandong)
    log_in(page, "csp_super")

    # The licence: autocomplete (select2, its search request), an inline row, the calendar.
    page.goto(f"/admin/licensing/licence/{licence.pk}/change/")
    page.locator("#id_manufacturer + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(other.name[:6])
    page.locator(".select2-results__option", has_text=other.name).click()
    expect(page.locator("#id_manufacturer")).to_have_value(str(other.pk))
    rows = page.locator(".dynamic-products")
    count = rows.count()
    page.locator(".add-row a").first.click()
    expect(rows).to_have_count(count + 1)
    page.locator("#id_accepted_on + .datetimeshortcuts a").last.click()  # its calendar
    expect(page.locator(".calendarbox:visible")).to_have_count(1)
    screenshot("licence-change-page-scripts")

    # The user page's two-list selector of single permissions.
    page.goto(f"/admin/accounts/user/{clerk.pk}/change/")
    page.fill("#id_user_permissions_input", "licence")
    page.locator("#id_user_permissions_from option").first.click()
    page.click("#id_user_permissions_add")
    expect(page.locator("#id_user_permissions_to option")).to_have_count(1)
    screenshot("user-change-page-two-list-selector")

    # The export page's "select all" box (static/licensing/export.js, not an onchange).
    page.goto("/admin/licensing/licence/export/")
    fields = page.locator('.selectable-field-export-row input[type="checkbox"]:visible')
    expect(fields.first).to_be_checked()
    page.locator(".select-toggle:visible").first.uncheck()
    for index in range(fields.count()):
        expect(fields.nth(index)).not_to_be_checked()
    screenshot("export-page-select-all")


def test_the_return_pages_scripts_run_without_violations(page, live_server, screenshot, shandong):
    admin = make_user("csp_sd_admin", province=shandong, role=PROVINCIAL_ADMIN)
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    provincial_return = return_start(campaign=campaign, by=admin)
    log_in(page, admin.username)

    page.goto(provincial_return.get_absolute_url())
    page.locator("#id_remarks").press_sequentially("尚未保存")
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        # Stay the first time; leave (without saving) afterwards.
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    with page.expect_event("dialog"):
        page.click("#print-link", no_wait_after=True)
    assert asked == ["beforeunload"]  # return.js ran
    screenshot("return-page")

    page.goto(f"/verification/returns/{provincial_return.pk}/print/")
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.click("#print-button")
    assert page.evaluate("window.printed") is True  # print.js, not an onclick attribute
    screenshot("return-print-view")
