"""Issue 10, the return: nothing typed is lost, and what is submitted is what is judged.

Answers survive filing Attachment 2 and uploading the scan; submission needs the stamped scan;
the review and print pages show each submission as it was, beside the register now; earlier
comments stay visible; refusals say what and where and move the focus there; a reviewer can
reopen an accepted return and remind units that have not started or are late.
"""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import REVIEWER
from licensing.factories import make_licence, make_manufacturer
from licensing.models import IssuingLevel, RegisterCount
from licensing.statistics import register_counts_refresh
from tests.conftest import make_user
from tests.htmlforms import post_form
from tests.verification.conftest import ON_TIME, bring_to
from tests.verification.test_views import out_of_scope_licence  # noqa: F401  (a fixture)
from verification.factories import SCAN_PDF, attach_scan, complete_answers, make_administrator
from verification.models import (
    ProvincialReturn,
    ReturnEvent,
    ReturnEventAction,
    ReturnStatus,
)
from verification.selectors import register_facts
from verification.services import (
    ConcurrentChange,
    InvalidTransition,
    WorkflowError,
    campaign_remind,
    return_reopen,
    return_save_draft,
    return_send_back,
    return_start,
    return_submission_problems,
    return_submit,
)


def detail_url(provincial_return):
    return reverse("verification:return_detail", args=[provincial_return.pk])


def review_url(provincial_return):
    return reverse("verification:return_review", args=[provincial_return.pk])


def html(response) -> str:
    return response.content.decode()


def by_id(page: str, element_id: str) -> str:
    """The opening tag of the element with this id ("" when there is none)."""
    found = re.search(rf'<[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    return found.group(0) if found else ""


def return_form_data(client, provincial_return) -> dict:
    page = client.get(detail_url(provincial_return))
    return post_form(page.content, form_id="return-form").data()


# --- nothing typed is lost -------------------------------------------------------------------


def test_uploading_the_scan_saves_the_answers_typed_first(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    data = return_form_data(client, shandong_return)
    data["remarks"] = ["上传前键入的备注"]
    data["file"] = SimpleUploadedFile("盖章件.pdf", SCAN_PDF, content_type="application/pdf")

    response = client.post(
        reverse("verification:attachment_upload", args=[shandong_return.pk]), data
    )

    assert response.status_code == 302
    shandong_return.refresh_from_db()
    assert shandong_return.remarks == "上传前键入的备注"
    assert [a.original_name for a in shandong_return.attachments.current()] == ["盖章件.pdf"]


def test_filing_attachment_2_saves_the_answers_typed_first(client, shandong_admin, shandong_return):
    client.force_login(shandong_admin)
    data = return_form_data(client, shandong_return)
    data["summary_basic"] = ["先写的基本情况"]
    data.update(
        name=["李新"],
        organisation=["山东省质量技术监督局计量处"],
        title=["科长"],
        office_phone=["0531-82345679"],
        mobile=["13905315678"],
        email=["lixin@example.gov.cn"],
    )

    response = client.post(
        reverse("verification:administrator_add", args=[shandong_return.pk]), data
    )

    assert response.status_code == 302
    shandong_return.refresh_from_db()
    assert shandong_return.summary_basic == "先写的基本情况"
    assert shandong_return.current_administrator().name == "李新"


def test_a_bad_mobile_number_keeps_the_answers_saved_and_focuses_the_field(
    client, shandong_admin, shandong_return
):
    client.force_login(shandong_admin)
    data = return_form_data(client, shandong_return)
    data["remarks"] = ["仍然保存"]
    data.update(
        name=["李新"],
        organisation=["计量处"],
        title=["科长"],
        office_phone=["0531-82345679"],
        mobile=["1390531"],
        email=["lixin@example.gov.cn"],
    )

    response = client.post(
        reverse("verification:administrator_add", args=[shandong_return.pk]), data
    )

    assert response.status_code == 200
    page = html(response)
    shandong_return.refresh_from_db()
    assert shandong_return.remarks == "仍然保存"
    assert shandong_return.current_administrator() is None
    alert = page.split('id="refusal"', 1)[1].split("</div>", 1)[0]
    assert 'role="alert"' in by_id(page, "refusal")
    assert 'href="#id_mobile"' in alert
    assert "autofocus" in by_id(page, "id_mobile")
    # The page's administrator fields post with the answers' form.
    assert 'form="return-form"' in by_id(page, "id_mobile")


def test_invalid_answers_stop_the_upload_and_are_shown_again(
    client, shandong_admin, shandong_return
):
    client.force_login(shandong_admin)
    data = return_form_data(client, shandong_return)
    data["institutions_authorised"] = ["False"]  # needs a reason in the remarks
    data["remarks"] = [""]
    data["summary_problems"] = ["键入的问题"]
    data["file"] = SimpleUploadedFile("盖章件.pdf", SCAN_PDF, content_type="application/pdf")

    response = client.post(
        reverse("verification:attachment_upload", args=[shandong_return.pk]), data
    )

    assert response.status_code == 200
    page = html(response)
    assert "键入的问题" in page
    assert 'href="#id_remarks"' in page
    assert not shandong_return.attachments.exists()
    shandong_return.refresh_from_db()
    assert shandong_return.summary_problems == ""


def test_leaving_with_unsaved_entries_is_asked_by_the_projects_own_script(
    client, shandong_admin, shandong_return, reviewer, complete_return
):
    client.force_login(shandong_admin)
    page = html(client.get(detail_url(shandong_return)))
    assert "data-warn-unsaved" in by_id(page, "return-form")
    assert re.search(r'<script src="[^"]*/static/verification/return\.js"', page)
    assert not re.search(r"<script>(?!\s*</script>)", page.split("<body", 1)[1])
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    page = html(client.get(review_url(complete_return)))
    assert "data-warn-unsaved" in by_id(page, "review-form")
    assert "verification/return.js" in page


# --- the stamped scan ------------------------------------------------------------------------


def test_submission_needs_the_stamped_scan(shandong_return, shandong_admin, shandong_administrator):
    return_save_draft(
        provincial_return=shandong_return,
        by=shandong_admin,
        data=complete_answers(shandong_return.province),
    )
    problems = return_submission_problems(shandong_return)
    assert [error.code for error in problems["attachments"]] == ["scan_missing"]
    with pytest.raises(ValidationError) as caught:
        return_submit(provincial_return=shandong_return, by=shandong_admin, attest=True)
    assert set(caught.value.error_dict) == {"attachments"}

    attach_scan(shandong_return, by=shandong_admin)
    assert return_submission_problems(shandong_return) == {}


def test_the_checklist_lists_the_scan_with_a_link_to_the_attachments(
    client, shandong_admin, shandong_return
):
    client.force_login(shandong_admin)
    checklist = html(client.get(detail_url(shandong_return))).split('id="checklist"')[1]
    assert '<a href="#attachments">' in checklist.split("</ul>")[0]


def test_an_accepted_return_shows_its_submitted_files_for_review(
    client, shandong_admin, reviewer, complete_return
):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    page = html(client.get(review_url(complete_return)))
    assert 'id="no-attachments"' not in page
    section = page.split('id="attachments"')[1].split("</table>")[0]
    assert "盖章扫描件.pdf" in section


# --- what is submitted is what is judged -----------------------------------------------------


def test_submitting_counts_the_findings_itself(
    complete_return,
    shandong_admin,
    out_of_scope_licence,  # noqa: F811
):
    snapshot = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    counts = register_facts(provincial_return=complete_return).counts()
    assert snapshot.data["findings"] == counts
    assert counts["out_of_scope"] > 0
    assert snapshot.data["register"]["licences"] == 0  # no RegisterCount yet


def test_the_review_shows_the_submission_and_says_when_the_register_changed(
    client,
    shandong,
    shandong_admin,
    reviewer,
    complete_return,
    out_of_scope_licence,  # noqa: F811
):
    register_counts_refresh(province_ids=[shandong.pk])
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    page = html(client.get(review_url(complete_return)))
    assert 'id="register-unchanged"' in page and 'id="register-changed"' not in page

    # Reopened and revised: the reviewer still reads what was submitted, not the draft.
    return_reopen(provincial_return=complete_return, by=reviewer, reason="需补充说明。")
    return_save_draft(
        provincial_return=complete_return, by=shandong_admin, data={"remarks": "草稿中的新备注"}
    )
    # The register changes: a second out-of-scope licence.
    make_licence(make_manufacturer(shandong, 3002), 3002, issuing_level=IssuingLevel.COUNTY)
    register_counts_refresh(province_ids=[shandong.pk], at=timezone.now() + timedelta(seconds=1))

    page = html(client.get(review_url(complete_return)))
    assert "草稿中的新备注" not in page
    assert 'id="register-changed"' in page
    row = page.split('id="since-submission"')[1].split('data-rule="out_of_scope"')[1]
    row = row.split("</tr>")[0]
    submitted = int(re.search(r'vr-submitted">(\d+)<', row).group(1))
    now = int(re.search(r'vr-now">(\d+)<', row).group(1))
    assert now > submitted > 0

    printed = html(client.get(reverse("verification:return_print", args=[complete_return.pk])))
    assert "草稿中的新备注" not in printed
    assert 'id="register-changed"' in printed


def test_an_empty_register_says_so_instead_of_counting_nothing(
    client, shandong_admin, shandong_return
):
    client.force_login(shandong_admin)
    page = html(client.get(detail_url(shandong_return)))
    assert 'id="no-register-data"' in page


def test_the_status_list_shows_each_units_register_size(client, reviewer, campaign, shandong):
    RegisterCount.objects.update_or_create(
        province=shandong,
        category=None,
        defaults={"licences": 12, "valid_licences": 10, "changed_at": timezone.now()},
    )
    client.force_login(reviewer)
    page = html(client.get(reverse("reports:status_list", args=[campaign.pk])))
    row = page.split('data-province="37"')[1].split("</tr>")[0]
    size = row.split('vr-register-size">')[1].split("</td>")[0]
    assert "12" in size
    other = page.split('data-province="33"')[1].split("</tr>")[0]
    assert "rp-no-data" in other.split('vr-register-size">')[1].split("</td>")[0]


# --- earlier comments stay visible -----------------------------------------------------------


def test_the_review_shows_every_rounds_comments_per_question_with_who_and_when(
    client, shandong_admin, reviewer, complete_return
):
    reviewer.first_name, reviewer.last_name = "明", "王"
    reviewer.save()
    plain = make_user("reviewer2", role=REVIEWER)
    first = bring_to(complete_return, "returned", admin=shandong_admin, reviewer=reviewer)
    ReturnEvent.objects.filter(action=ReturnEventAction.RETURNED).delete()  # bring_to's own
    return_submit(provincial_return=first, by=shandong_admin, attest=True)
    return_send_back(
        provincial_return=first,
        by=reviewer,
        comment="",
        field_comments={"remarks": "第一轮：请说明理由。"},
        at=ON_TIME,
    )
    return_submit(provincial_return=first, by=shandong_admin, attest=True)
    return_send_back(
        provincial_return=first,
        by=plain,
        comment="",
        field_comments={"remarks": "第二轮：仍不清楚。"},
        at=ON_TIME + timedelta(days=1),
    )
    return_submit(provincial_return=first, by=shandong_admin, attest=True)
    client.force_login(reviewer)
    page = html(client.get(review_url(first)))
    thread = page.split('id="thread-remarks"')[1].split("</ol>")[0]
    assert thread.index("第一轮") < thread.index("第二轮")
    assert reviewer.get_full_name() in thread
    assert "reviewer2" in thread  # no real name: the user name
    assert "2016-10-20 10:00" in thread  # Beijing time
    assert "2016-10-21 10:00" in thread


# --- refusals say what and where -------------------------------------------------------------


def test_sending_back_without_a_comment_alerts_and_focuses_the_comment(
    client, shandong_admin, reviewer, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("verification:review_send_back", args=[complete_return.pk]),
        {"expected_version": complete_return.version, "comment": ""},
    )
    assert response.status_code == 200
    page = html(response)
    assert 'role="alert"' in by_id(page, "refusal")
    assert 'href="#id_comment"' in page.split('id="refusal"')[1].split("</div>")[0]
    assert "autofocus" in by_id(page, "id_comment")
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED


def test_accepting_with_comments_on_items_focuses_the_first_of_them(
    client, shandong_admin, reviewer, complete_return
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("verification:review_accept", args=[complete_return.pk]),
        {"expected_version": complete_return.version, "comment__remarks": "请补充。"},
    )
    assert response.status_code == 200
    page = html(response)
    alert = page.split('id="refusal"')[1].split("</div>")[0]
    assert "errornote" in alert
    assert 'href="#id_comment__remarks"' in alert
    assert "autofocus" in by_id(page, "id_comment__remarks")
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED


# --- reopening ------------------------------------------------------------------------------


def test_a_reviewer_reopens_an_accepted_return_with_a_reason(
    client, shandong_admin, reviewer, complete_return, shandong_administrator
):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    mail.outbox.clear()
    client.force_login(reviewer)
    page = html(client.get(review_url(complete_return)))
    form = post_form(page.encode(), form_id="reopen-form")
    data = form.data(reason="发现数据有误，请重新核对。")

    response = client.post(reverse("verification:review_reopen", args=[complete_return.pk]), data)

    assert response.status_code == 302
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.RETURNED
    event = complete_return.events.latest()
    assert (event.action, event.from_status, event.to_status, event.comment) == (
        ReturnEventAction.REOPENED,
        ReturnStatus.ACCEPTED,
        ReturnStatus.RETURNED,
        "发现数据有误，请重新核对。",
    )
    # The province can edit and resubmit it, and reads why it was reopened.
    client.force_login(shandong_admin)
    page = html(client.get(detail_url(complete_return)))
    assert by_id(page, "return-form")
    assert "发现数据有误，请重新核对。" in page.split('id="send-back"')[1].split("</div>")[0]
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)


def test_reopening_needs_a_reason_and_focuses_it(client, shandong_admin, reviewer, complete_return):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("verification:review_reopen", args=[complete_return.pk]),
        {"expected_version": complete_return.version, "reason": "  "},
    )
    assert response.status_code == 200
    page = html(response)
    assert 'href="#id_reason"' in page.split('id="refusal"')[1].split("</div>")[0]
    assert "autofocus" in by_id(page, "id_reason")
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED


def test_only_an_accepted_return_is_reopened(shandong_admin, reviewer, complete_return):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    with pytest.raises(InvalidTransition):
        return_reopen(provincial_return=complete_return, by=reviewer, reason="x")


def test_a_provincial_user_cannot_reopen(client, shandong_admin, reviewer, complete_return):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    with pytest.raises(PermissionDenied):
        return_reopen(provincial_return=complete_return, by=shandong_admin, reason="x")
    client.force_login(shandong_admin)
    response = client.post(
        reverse("verification:review_reopen", args=[complete_return.pk]),
        {"expected_version": complete_return.version, "reason": "x"},
    )
    assert response.status_code == 403
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED


def test_two_reviewers_reopening_at_once_do_not_both_succeed(
    client, shandong_admin, reviewer, complete_return
):
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    other = make_user("reviewer2", role=REVIEWER)
    loaded = complete_return.version
    return_reopen(
        provincial_return=complete_return, by=reviewer, reason="第一位", expected_version=loaded
    )
    stale = ProvincialReturn.objects.get(pk=complete_return.pk)
    with pytest.raises(ConcurrentChange):
        return_reopen(provincial_return=stale, by=other, reason="第二位", expected_version=loaded)
    # Through the page: the second is told, and nothing more is recorded.
    client.force_login(other)
    response = client.post(
        reverse("verification:review_reopen", args=[complete_return.pk]),
        {"expected_version": loaded, "reason": "第二位"},
        follow=True,
    )
    assert 'class="error"' in html(response).split('class="messagelist"')[1].split("</ul>")[0]
    assert complete_return.events.filter(action=ReturnEventAction.REOPENED).count() == 1


def test_reopening_is_mailed_to_the_provinces_administrators(
    shandong, shandong_admin, reviewer, complete_return, django_capture_on_commit_callbacks
):
    shandong_admin.email = "sd-admin@example.gov.cn"
    shandong_admin.save()
    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        return_reopen(provincial_return=complete_return, by=reviewer, reason="数据有误。")
    assert [message.to for message in mail.outbox] == [["sd-admin@example.gov.cn"]]
    assert "数据有误。" in mail.outbox[0].body


# --- reminders -------------------------------------------------------------------------------


@pytest.fixture
def after_deadline():
    return ON_TIME.replace(year=2016, month=11, day=15)


def test_a_reminder_goes_to_units_not_started_or_late_and_is_recorded(
    campaign,
    shandong,
    zhejiang,
    shandong_admin,
    shandong_return,
    reviewer,
    after_deadline,
    django_capture_on_commit_callbacks,
):
    shandong_admin.email = "sd-admin@example.gov.cn"
    shandong_admin.save()
    make_administrator(shandong, by=shandong_admin, email="fujian2@example.gov.cn")
    with django_capture_on_commit_callbacks(execute=True):
        events = campaign_remind(
            campaign=campaign,
            by=reviewer,
            province_ids=[shandong.pk, zhejiang.pk],
            at=after_deadline,
        )
    assert {(event.province_id, event.provincial_return_id) for event in events} == {
        (shandong.pk, shandong_return.pk),  # started, not submitted by the deadline: late
        (zhejiang.pk, None),  # not started
    }
    assert all(event.action == ReturnEventAction.REMINDED for event in events)
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["fujian2@example.gov.cn", "sd-admin@example.gov.cn"]


def test_a_unit_that_submitted_is_not_reminded(
    campaign, shandong, shandong_admin, reviewer, complete_return, after_deadline
):
    bring_to(complete_return, "submitted", admin=shandong_admin, reviewer=reviewer)
    with pytest.raises(ValidationError) as caught:
        campaign_remind(
            campaign=campaign, by=reviewer, province_ids=[shandong.pk], at=after_deadline
        )
    assert caught.value.error_dict["provinces"][0].code == "not_remindable"
    assert not ReturnEvent.objects.filter(action=ReturnEventAction.REMINDED).exists()


def test_a_draft_before_the_deadline_is_not_reminded(campaign, shandong, reviewer, shandong_return):
    with pytest.raises(ValidationError):
        campaign_remind(campaign=campaign, by=reviewer, province_ids=[shandong.pk], at=ON_TIME)


def test_the_status_list_sends_reminders_and_shows_them(
    client, campaign, reviewer, zhejiang, shandong_admin
):
    client.force_login(reviewer)
    page = html(client.get(reverse("reports:status_list", args=[campaign.pk])))
    form = post_form(page.encode(), form_id="remind-form")
    data = form.data(province=[str(zhejiang.pk)])
    response = client.post(reverse("verification:campaign_remind", args=[campaign.pk]), data)
    assert response.status_code == 302
    assert ReturnEvent.objects.filter(province=zhejiang, action="reminded").count() == 1
    page = html(client.get(reverse("reports:status_list", args=[campaign.pk])))
    row = page.split('data-province="33"')[1].split("</tr>")[0]
    assert "vr-reminded-at" in row
    # A provincial user is refused, and nothing is recorded.
    client.force_login(shandong_admin)
    response = client.post(
        reverse("verification:campaign_remind", args=[campaign.pk]), {"province": zhejiang.pk}
    )
    assert response.status_code == 403
    assert ReturnEvent.objects.filter(action="reminded").count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent connections: runs on PostgreSQL (CI)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_two_reviewers_reopening_at_once_have_one_winner(
    campaign, shandong, shandong_admin, reviewer
):
    from tests.verification.test_workflow import _in_thread

    other_reviewer = make_user("reviewer2", role=REVIEWER)
    make_administrator(shandong, by=shandong_admin)
    provincial_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=provincial_return, by=shandong_admin, data=complete_answers(shandong)
    )
    bring_to(provincial_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    loaded_version = provincial_return.version
    start = threading.Barrier(2, timeout=10)

    def reopen(by):
        def run():
            start.wait()
            loaded = ProvincialReturn.objects.get(pk=provincial_return.pk)
            return return_reopen(
                provincial_return=loaded,
                by=by,
                reason="重新审核。",
                expected_version=loaded_version,
            )

        return run

    threads = [_in_thread(reopen(reviewer)), _in_thread(reopen(other_reviewer))]
    for thread, _outcome in threads:
        thread.join(timeout=10)
    outcomes = [outcome for _thread, outcome in threads]
    winners = [outcome for outcome in outcomes if "result" in outcome]
    losers = [outcome for outcome in outcomes if isinstance(outcome.get("error"), WorkflowError)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    provincial_return.refresh_from_db()
    assert provincial_return.status == ReturnStatus.RETURNED
    assert provincial_return.events.filter(action=ReturnEventAction.REOPENED).count() == 1


@pytest.mark.parametrize("name", ["review_reopen", "campaign_remind"])
def test_reopening_and_reminding_need_the_csrf_token(
    name, shandong_admin, reviewer, complete_return, campaign
):
    from django.test import Client

    bring_to(complete_return, "accepted", admin=shandong_admin, reviewer=reviewer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    args = [complete_return.pk] if name == "review_reopen" else [campaign.pk]
    data = {
        "expected_version": complete_return.version,
        "reason": "x",
        "province": complete_return.province_id,
    }
    response = client.post(reverse(f"verification:{name}", args=args), data)
    assert response.status_code == 403
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED
    assert not ReturnEvent.objects.filter(action__in=["reopened", "reminded"]).exists()
