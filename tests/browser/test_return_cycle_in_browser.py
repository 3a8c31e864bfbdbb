"""The 2016 return's whole cycle in a real browser, on the seeded demo data.

山东's system administrator answers Attachment 1 beside the register's findings, attaches the
stamped scan (the answers typed meanwhile are saved with it), attests and submits; the reviewer
tries to send it back without a comment (refused, the focus moves to the comment), then sends it
back with a comment on one question; 山东 fixes that answer and resubmits; the reviewer sees
exactly what changed and the earlier comment, accepts, and then reopens it with a reason, which
puts it back in 山东's hands. Screenshots of each step are saved under test-artifacts/. Selectors are ids and data attributes, so the test
does not depend on the Chinese catalogue.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from verification.models import ProvincialReturn, ReturnEventAction, ReturnStatus

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data. The flush after a transactional test empties
    # every table, so restore the data migrations' provinces, categories and groups first.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The demo logins of seed_demo.
SHANDONG_ADMIN = ("shandong_admin", "demo-shandong-2016")
REVIEWER = ("reviewer", "demo-reviewer-2016")
SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FIELD_COMMENT = "登记数据显示存在县级、市级发证，请如实填写。"


@pytest.fixture
def demo(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("seed_demo", "--force", stdout=StringIO())
    return ProvincialReturn.objects.get(province__code="37")


def log_in(page, username: str, password: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def log_out(page) -> None:
    page.click("#logout-form button")
    expect(page.locator("#user-tools")).to_have_count(0)


def status_is(page, status: str) -> None:
    expect(page.locator("#return-status")).to_have_attribute("data-status", status)


def answer(page, field: str, value: str) -> None:
    page.check(f'input[name="{field}"][value="{value}"]')


def open_review_page(page, province_code: str) -> None:
    """From the admin's header, through the list of all returns, to one province's review."""
    page.click("#verification-link")
    page.locator(".review-list-link").first.click()
    expect(page.locator("#result_list")).to_be_visible()
    page.click(f'tr[data-province="{province_code}"] a.vr-review-link')
    expect(page.locator("#return-info")).to_be_visible()


def test_shandong_submits_the_reviewer_returns_shandong_resubmits_the_reviewer_accepts(
    page, screenshot, demo
):
    # 山东's administrator finds the return from the admin's index.
    log_in(page, *SHANDONG_ADMIN)
    screenshot("shandong-admin-index")
    page.click("#verification-module a.return-link")
    status_is(page, ReturnStatus.DRAFT)
    expect(
        page.locator('#q-out_of_scope .vr-finding[data-rule="out_of_scope"]').first
    ).to_be_visible()
    expect(page.locator("#checklist")).to_be_visible()
    screenshot("shandong-draft-with-findings")

    # Answers Attachment 1 and the summary; 否 to 超范围许可 contradicts the register.
    answer(page, "out_of_scope", "False")
    answer(page, "institutions_authorised", "True")
    page.check('input[name="announcement_methods"][value="website"]')
    answer(page, "list_filed", "True")
    answer(page, "online_approval", "True")
    page.check('input[name="type_approval_levels"][value="provincial"]')
    page.check('input[name="licence_levels"][value="provincial"]')
    page.check('input[name="reform_measures"][value="online_approval"]')
    page.fill("#id_reform_text", "制造计量器具许可实行网上受理。")
    page.fill("#id_summary_experience", "建立许可信息专人管理制度。")
    page.fill("#id_summary_problems", "个别许可证由县级发证，已责令整改。")
    page.fill("#id_summary_suggestions", "建议统一许可数据接口。")
    page.click("#save-button")
    expect(page.locator(".messagelist .success")).to_be_visible()
    warning = page.locator(
        '#q-out_of_scope .vr-warning[data-code="out_of_scope_contradicts_findings"]'
    )
    expect(warning).to_be_visible()
    # Only the stamped scan is still missing.
    expect(page.locator("#checklist li")).to_have_count(1)
    expect(page.locator('#checklist a[href="#attachments"]')).to_be_visible()
    screenshot("shandong-saved-with-a-consistency-warning")

    # Types a remark and, without saving, attaches the stamped scan: the remark is kept.
    page.fill("#id_remarks", "上传扫描件前键入的备注。")
    page.set_input_files(
        "#attachment-form input[type=file]",
        files=[
            {"name": "山东省核查总结（盖章）.pdf", "mimeType": "application/pdf", "buffer": SCAN}
        ],
    )
    page.click("#attachment-submit")
    expect(page.locator("#attachment-list")).to_contain_text("山东省核查总结（盖章）.pdf")
    expect(page.locator("#id_remarks")).to_have_value("上传扫描件前键入的备注。")
    expect(page.locator("#checklist-complete")).to_be_visible()
    screenshot("shandong-scan-attached-and-the-typed-remark-kept")

    # Attests and submits.
    page.check("#id_attest")
    page.click("#submit-button")
    status_is(page, ReturnStatus.SUBMITTED)
    expect(page.locator("#read-only-note")).to_be_visible()
    expect(page.locator("#return-form")).to_have_count(0)
    screenshot("shandong-submitted-read-only")
    log_out(page)

    # The reviewer finds it in the list and sends it back with a comment on 超范围许可.
    log_in(page, *REVIEWER)
    page.click("#verification-link")
    page.locator(".review-list-link").first.click()
    row = page.locator('tr[data-province="37"]')
    expect(row).to_have_attribute("data-status", ReturnStatus.SUBMITTED)
    screenshot("reviewer-list-of-all-units")
    row.locator("a.vr-review-link").click()
    expect(page.locator("#first-submission")).to_be_visible()
    expect(page.locator("#no-attachments")).to_have_count(0)
    # Sending back without any comment is refused at the top, and the focus goes to the comment.
    page.click("#send-back-button")
    expect(page.locator('#refusal[role="alert"] .errornote')).to_be_visible()
    expect(page.locator("#id_comment")).to_be_focused()
    status_is(page, ReturnStatus.SUBMITTED)
    screenshot("reviewer-refused-without-a-comment")
    page.click("#q-out_of_scope details.vr-comment-box summary")
    page.fill('textarea[name="comment__out_of_scope"]', FIELD_COMMENT)
    page.fill("#id_comment", "请核实超范围许可情况后重新报送。")
    screenshot("reviewer-writes-a-comment-on-a-question")
    page.click("#send-back-button")
    status_is(page, ReturnStatus.RETURNED)
    screenshot("reviewer-sent-it-back")
    log_out(page)

    # 山东 sees the comment beside the question, fixes the answer and resubmits.
    log_in(page, *SHANDONG_ADMIN)
    page.click("#verification-module a.return-link")
    status_is(page, ReturnStatus.RETURNED)
    expect(page.locator("#send-back")).to_be_visible()
    expect(page.locator("#q-out_of_scope .vr-reviewer-comment")).to_contain_text(FIELD_COMMENT)
    screenshot("shandong-sees-the-comment-beside-the-question")
    answer(page, "out_of_scope", "True")
    page.click("#save-button")
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(warning).to_have_count(0)
    page.check("#id_attest")
    page.click("#submit-button")
    status_is(page, ReturnStatus.SUBMITTED)
    screenshot("shandong-resubmitted")
    log_out(page)

    # The reviewer sees exactly what changed and accepts.
    log_in(page, *REVIEWER)
    open_review_page(page, "37")
    changes = page.locator("#change-list tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_have_attribute("data-field", "out_of_scope")
    expect(page.locator("#q-out_of_scope")).to_have_class(re.compile(r"\bvr-changed\b"))
    # The earlier round's comment stays beside the question.
    expect(page.locator("#thread-out_of_scope")).to_contain_text(FIELD_COMMENT)
    screenshot("reviewer-sees-what-changed")
    page.click("#accept-button")
    status_is(page, ReturnStatus.ACCEPTED)
    expect(page.locator("#accept-button")).to_have_count(0)
    screenshot("reviewer-accepted")

    # The accepted return on paper.
    page.click("#print-link")
    expect(page.locator("#attachment-1-table")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("#header")).to_be_hidden()
    screenshot("print-view-as-printed")
    page.emulate_media(media="screen")

    # The reviewer reopens the accepted return, with the reason.
    open_review_page(page, "37")
    page.fill("#id_reason", "发现登记数据有误，请重新核对后报送。")
    screenshot("reviewer-reopens-with-a-reason")
    page.click("#reopen-button")
    status_is(page, ReturnStatus.RETURNED)
    expect(page.locator("#reopen-button")).to_have_count(0)
    screenshot("reviewer-reopened")
    log_out(page)

    # 山东 can edit it again.
    log_in(page, *SHANDONG_ADMIN)
    page.click("#verification-module a.return-link")
    status_is(page, ReturnStatus.RETURNED)
    expect(page.locator("#return-form")).to_be_visible()
    screenshot("shandong-can-revise-the-reopened-return")

    demo.refresh_from_db()
    assert demo.status == ReturnStatus.RETURNED
    assert demo.out_of_scope is True
    assert demo.remarks == "上传扫描件前键入的备注。"
    assert demo.snapshots.count() == 2
    assert list(
        demo.events.exclude(
            action__in=[ReturnEventAction.SAVED, ReturnEventAction.ATTACHMENT_ADDED]
        ).values_list("action", flat=True)
    ) == [
        ReturnEventAction.CREATED,
        ReturnEventAction.SUBMITTED,
        ReturnEventAction.RETURNED,
        ReturnEventAction.SUBMITTED,
        ReturnEventAction.ACCEPTED,
        ReturnEventAction.REOPENED,
    ]
    returned = demo.events.get(action=ReturnEventAction.RETURNED)
    assert returned.field_comments == {"out_of_scope": FIELD_COMMENT}


def test_the_return_pages_work_at_common_and_narrow_widths(page, screenshot, demo):
    log_in(page, *SHANDONG_ADMIN)
    for width in (1920, 1024, 400):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(demo.get_absolute_url())
        status_is(page, ReturnStatus.DRAFT)
        # Nothing wider than the window: the layout folds into one column when narrow.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, width
        screenshot(f"shandong-return-{width}px")
    log_out(page)
    log_in(page, *REVIEWER)
    for width in (1920, 1024, 400):
        page.set_viewport_size({"width": width, "height": 900})
        open_review_page(page, "33")
        screenshot(f"reviewer-review-{width}px")


def test_leaving_with_unsaved_answers_asks_first(page, screenshot, demo):
    log_in(page, *SHANDONG_ADMIN)
    page.goto(demo.get_absolute_url())
    asked = []

    def dismiss(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    # Nothing typed: leaving does not ask.
    page.click("#print-link")
    expect(page.locator("#attachment-1-table")).to_be_visible()
    assert asked == []
    page.go_back()
    page.locator("#id_remarks").press_sequentially("尚未保存的备注")
    with page.expect_event("dialog"):
        page.click("#print-link", no_wait_after=True)
    # Asked, and staying (the dialog dismissed) keeps the page and the entry.
    expect(page.locator("#id_remarks")).to_have_value("尚未保存的备注")
    assert asked == ["beforeunload"]
    screenshot("shandong-asked-before-leaving-unsaved-answers")
    # Saving is not leaving.
    page.click("#save-button")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert asked == ["beforeunload"]
