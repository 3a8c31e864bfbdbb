"""The return's workflow: who may do what in which state, submissions, lateness, review, diffs."""

import threading
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import translation
from django.utils.text import capfirst

from tests.verification.conftest import ON_TIME, beijing, bring_to
from verification.factories import attach_scan, complete_answers, make_administrator
from verification.models import (
    ProvincialReturn,
    ReturnEvent,
    ReturnSnapshot,
    ReturnStatus,
)
from verification.services import (
    ConcurrentChange,
    InvalidTransition,
    ReturnLocked,
    last_send_back,
    may_edit,
    may_review,
    may_submit,
    return_accept,
    return_changes_since_previous_submission,
    return_save_draft,
    return_send_back,
    return_start,
    return_submission_problems,
    return_submit,
    snapshot_diff,
    system_administrator_add,
)

# --- the matrix: persona × action × state ------------------------------------------------

# Written out from DESIGN.md §2 and issue 4, not derived from the code. The return is 山东's.
# ok: done · locked: ReturnLocked · invalid: InvalidTransition · denied: PermissionDenied ·
# 404: ProvincialReturn.DoesNotExist (the user cannot see the return at all).
MATRIX = """
persona         action     draft    submitted  returned  accepted
shandong_admin  edit       ok       locked     ok        locked
shandong_admin  submit     ok       invalid    ok        invalid
shandong_admin  send_back  denied   denied     denied    denied
shandong_admin  accept     denied   denied     denied    denied
shandong_clerk  edit       ok       locked     ok        locked
shandong_clerk  submit     denied   denied     denied    denied
shandong_clerk  send_back  denied   denied     denied    denied
shandong_clerk  accept     denied   denied     denied    denied
zhejiang_clerk  edit       404      404        404       404
zhejiang_clerk  submit     404      404        404       404
zhejiang_clerk  send_back  404      404        404       404
zhejiang_clerk  accept     404      404        404       404
reviewer        edit       denied   denied     denied    denied
reviewer        submit     denied   denied     denied    denied
reviewer        send_back  invalid  ok         invalid   invalid
reviewer        accept     invalid  ok         invalid   invalid
"""


def _matrix_cases():
    header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
    states = header[2:]
    return [
        (persona, action, state, outcome)
        for persona, action, *outcomes in rows
        for state, outcome in zip(states, outcomes, strict=True)
    ]


ERRORS = {
    "locked": ReturnLocked,
    "invalid": InvalidTransition,
    "denied": PermissionDenied,
    "404": ProvincialReturn.DoesNotExist,
}
RESULT_STATUS = {
    "edit": None,  # unchanged
    "submit": ReturnStatus.SUBMITTED,
    "send_back": ReturnStatus.RETURNED,
    "accept": ReturnStatus.ACCEPTED,
}
PREDICATE = {"edit": may_edit, "submit": may_submit, "send_back": may_review, "accept": may_review}


def _act(action, provincial_return, user):
    if action == "edit":
        return return_save_draft(
            provincial_return=provincial_return, by=user, data={"remarks": "补充说明。"}
        )
    if action == "submit":
        return return_submit(provincial_return=provincial_return, by=user, attest=True)
    if action == "send_back":
        return return_send_back(provincial_return=provincial_return, by=user, comment="请修改。")
    return return_accept(provincial_return=provincial_return, by=user)


@pytest.mark.parametrize(("persona", "action", "state", "outcome"), _matrix_cases())
def test_who_may_do_what_in_which_state(
    request, complete_return, shandong_admin, shandong_clerk, zhejiang_clerk, reviewer,
    persona, action, state, outcome,
):  # fmt: skip
    provincial_return = bring_to(complete_return, state, admin=shandong_admin, reviewer=reviewer)
    user = request.getfixturevalue(persona)
    version, events = provincial_return.version, provincial_return.events.count()

    assert PREDICATE[action](user, provincial_return) is (outcome == "ok")
    if outcome == "ok":
        _act(action, provincial_return, user)
        provincial_return.refresh_from_db()
        assert provincial_return.status == (RESULT_STATUS[action] or state)
        assert provincial_return.version == version + 1
        assert provincial_return.events.count() == events + 1
        assert provincial_return.events.latest().by == user
        return
    with pytest.raises(ERRORS[outcome]):
        _act(action, provincial_return, user)
    provincial_return.refresh_from_db()
    assert provincial_return.status == state
    assert provincial_return.version == version
    assert provincial_return.events.count() == events


def test_a_provincial_user_cannot_start_another_provinces_return_nor_a_reviewer_any(
    campaign, zhejiang_clerk, reviewer
):
    provincial_return = return_start(campaign=campaign, by=zhejiang_clerk)
    assert provincial_return.province == zhejiang_clerk.province
    with pytest.raises(PermissionDenied):
        return_start(campaign=campaign, by=reviewer)


def test_starting_twice_gives_the_same_return(campaign, shandong_admin, shandong_clerk):
    first = return_start(campaign=campaign, by=shandong_admin)
    assert return_start(campaign=campaign, by=shandong_clerk) == first
    assert first.events.get().action == "created"


def test_a_closed_campaign_refuses_edits_and_submissions(complete_return, shandong_admin):
    campaign = complete_return.campaign
    campaign.is_open = False
    campaign.save()
    complete_return.refresh_from_db()
    assert not may_edit(shandong_admin, complete_return)
    with pytest.raises(ReturnLocked) as caught:
        return_save_draft(
            provincial_return=complete_return, by=shandong_admin, data={"remarks": "x"}
        )
    assert caught.value.code == "campaign_closed"
    with pytest.raises(ReturnLocked):
        return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)


def test_edits_of_a_submitted_return_are_refused_with_a_clear_message(
    complete_return, shandong_clerk, shandong_admin
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    with pytest.raises(ReturnLocked) as caught:
        return_save_draft(
            provincial_return=complete_return, by=shandong_clerk, data={"remarks": "x"}
        )
    assert caught.value.code == "return_locked"
    with translation.override("en"):
        assert "can no longer be changed by the province" in caught.value.messages[0]


# --- editing ------------------------------------------------------------------------------


def test_saving_a_draft_records_who_changed_which_fields(shandong_return, shandong_clerk):
    return_save_draft(
        provincial_return=shandong_return,
        by=shandong_clerk,
        data={"out_of_scope": False, "remarks": "无", "summary_basic": ""},
    )
    shandong_return.refresh_from_db()
    assert shandong_return.out_of_scope is False
    event = shandong_return.events.latest()
    assert (event.action, event.by, event.changed_fields) == (
        "saved",
        shandong_clerk,
        ["out_of_scope", "remarks"],
    )


def test_saving_nothing_new_changes_no_version(shandong_return, shandong_clerk):
    return_save_draft(provincial_return=shandong_return, by=shandong_clerk, data={"remarks": ""})
    assert shandong_return.version == 1
    assert shandong_return.events.count() == 1  # created


def test_an_invalid_answer_is_refused_with_the_fields_message(shandong_return, shandong_clerk):
    with pytest.raises(ValidationError) as caught:
        return_save_draft(
            provincial_return=shandong_return,
            by=shandong_clerk,
            data={"online_approval": True, "licence_levels": ["township"]},
        )
    assert set(caught.value.error_dict) == {"licence_levels"}
    with pytest.raises(ValidationError) as caught:
        return_save_draft(
            provincial_return=shandong_return,
            by=shandong_clerk,
            data={"institutions_authorised": False},
        )
    assert caught.value.error_dict["remarks"][0].code == "institutions_reason_required"
    shandong_return.refresh_from_db()
    assert shandong_return.institutions_authorised is None


def test_only_answer_fields_can_be_saved(shandong_return, shandong_clerk):
    with pytest.raises(ValueError, match="status"):
        return_save_draft(
            provincial_return=shandong_return, by=shandong_clerk, data={"status": "accepted"}
        )


# --- submitting ---------------------------------------------------------------------------


def test_an_empty_return_lists_everything_missing(shandong_return, shandong_admin):
    with pytest.raises(ValidationError) as caught:
        return_submit(provincial_return=shandong_return, by=shandong_admin, attest=False)
    assert set(caught.value.error_dict) == {
        "attachments",
        "out_of_scope",
        "institutions_authorised",
        "announcement_methods",
        "list_filed",
        "online_approval",
        "type_approval_department",
        "type_approval_levels",
        "licence_department",
        "licence_levels",
        "reform_measures",
        "summary_basic",
        "summary_experience",
        "summary_problems",
        "summary_suggestions",
        NON_FIELD_ERRORS,
        "attest",
    }
    assert caught.value.error_dict[NON_FIELD_ERRORS][0].code == "administrator_missing"
    assert caught.value.error_dict["attest"][0].code == "attestation_required"
    shandong_return.refresh_from_db()
    assert shandong_return.status == ReturnStatus.DRAFT
    assert not ReturnSnapshot.objects.exists()


def test_a_complete_return_has_no_problems(complete_return):
    assert return_submission_problems(complete_return) == {}


def test_submitting_without_attestation_is_refused(complete_return, shandong_admin):
    with pytest.raises(ValidationError) as caught:
        return_submit(provincial_return=complete_return, by=shandong_admin, attest=False)
    assert set(caught.value.error_dict) == {"attest"}


def test_submitting_without_attachment_2_is_refused(
    complete_return, shandong_admin, shandong_administrator
):
    shandong_administrator.delete()
    with pytest.raises(ValidationError) as caught:
        return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    assert set(caught.value.error_dict) == {NON_FIELD_ERRORS}


def test_institutions_not_authorised_needs_the_reason_before_submitting(
    complete_return, shandong_admin
):
    # Answers written around the services (an import, say) are checked again on submission.
    ProvincialReturn.objects.filter(pk=complete_return.pk).update(institutions_authorised=False)
    complete_return.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    assert caught.value.error_dict["remarks"][0].code == "institutions_reason_required"


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"announcement_methods": [], "announcement_methods_other": "微信公众号"}, None),
        ({"announcement_methods": [], "announcement_methods_other": " "}, "announcement_methods"),
        ({"reform_measures": [], "reform_text": "推行告知承诺制。"}, None),
        ({"reform_measures": [], "reform_text": ""}, "reform_measures"),
        ({"summary_problems": "  "}, "summary_problems"),
        ({"licence_levels": []}, "licence_levels"),
    ],
)
def test_either_a_tick_or_a_description_answers_the_open_questions(
    complete_return, shandong_admin, changes, missing
):
    return_save_draft(provincial_return=complete_return, by=shandong_admin, data=changes)
    problems = return_submission_problems(complete_return)
    assert set(problems) == ({missing} if missing else set())


def test_submission_freezes_answers_administrator_and_findings(
    complete_return, shandong_admin, shandong_administrator
):
    snapshot = return_submit(
        provincial_return=complete_return,
        by=shandong_admin,
        attest=True,
        findings_counts={"out_of_scope": 3, "overdue": 2},
        at=ON_TIME,
    )
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.SUBMITTED
    assert (complete_return.attested_by, complete_return.attested_at) == (shandong_admin, ON_TIME)
    assert complete_return.submitted_at == complete_return.first_submitted_at == ON_TIME
    assert (snapshot.number, snapshot.taken_by, snapshot.is_late) == (1, shandong_admin, False)
    assert snapshot.data["answers"] == complete_answers(complete_return.province)
    assert snapshot.data["administrator"]["name"] == shandong_administrator.name
    assert snapshot.data["administrator"]["effective_from"] == "2016-08-01"
    assert snapshot.data["findings"] == {"out_of_scope": 3, "overdue": 2}
    assert [item["name"] for item in snapshot.data["attachments"]] == ["盖章扫描件.pdf"]

    # Later changes of Attachment 2 do not reach what was submitted.
    make_administrator(complete_return.province, by=shandong_admin, name="李华")
    snapshot.refresh_from_db()
    assert snapshot.data["administrator"]["name"] == shandong_administrator.name


@pytest.mark.parametrize(
    ("moment", "late"),
    [
        (beijing(2016, 10, 31, 23, 59, 59), False),
        (beijing(2016, 11, 1, 0, 0, 1), True),
        (beijing(2017, 3, 1, 9, 0), True),
    ],
)
def test_lateness_is_judged_by_the_end_of_the_deadline_day_in_beijing(
    complete_return, shandong_admin, moment, late
):
    snapshot = return_submit(
        provincial_return=complete_return, by=shandong_admin, attest=True, at=moment
    )
    complete_return.refresh_from_db()
    assert complete_return.is_late is late
    assert snapshot.is_late is late


def test_the_deadline_day_ends_at_midnight_beijing_not_utc(complete_return, shandong_admin):
    # 2016-10-31 17:00 UTC is 2016-11-01 01:00 in Beijing: late, though still the 31st in UTC.
    from datetime import UTC, datetime

    return_submit(
        provincial_return=complete_return,
        by=shandong_admin,
        attest=True,
        at=datetime(2016, 10, 31, 17, 0, tzinfo=UTC),
    )
    complete_return.refresh_from_db()
    assert complete_return.is_late


def test_a_late_resubmission_of_an_on_time_return_keeps_it_on_time(
    complete_return, shandong_admin, reviewer
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True, at=ON_TIME)
    return_send_back(provincial_return=complete_return, by=reviewer, comment="请补充。")
    second = return_submit(
        provincial_return=complete_return,
        by=shandong_admin,
        attest=True,
        at=beijing(2016, 11, 10, 9, 0),
    )
    complete_return.refresh_from_db()
    assert not complete_return.is_late
    assert complete_return.first_submitted_at == ON_TIME
    assert complete_return.submitted_at == beijing(2016, 11, 10, 9, 0)
    assert (second.number, second.is_late) == (2, True)


# --- review -------------------------------------------------------------------------------


def test_sending_back_keeps_the_comments_on_fields(complete_return, shandong_admin, reviewer):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    event = return_send_back(
        provincial_return=complete_return,
        by=reviewer,
        comment="请按意见修改后重新报送。",
        field_comments={
            "licence_levels": "与登记的发证层级不一致。",
            "remarks": " ",
            "administrator": "请更新手机号。",
        },
    )
    assert event.field_comments == {
        "licence_levels": "与登记的发证层级不一致。",
        "administrator": "请更新手机号。",
    }
    assert last_send_back(complete_return) == event
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.RETURNED
    assert may_edit(shandong_admin, complete_return)


def test_sending_back_needs_a_comment(complete_return, shandong_admin, reviewer):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    with pytest.raises(ValidationError) as caught:
        return_send_back(provincial_return=complete_return, by=reviewer, comment=" ")
    assert caught.value.error_dict["comment"][0].code == "comment_required"
    # A comment on one field is enough.
    return_send_back(
        provincial_return=complete_return,
        by=reviewer,
        comment="",
        field_comments={"summary_problems": "请具体说明。"},
    )


def test_comments_only_on_fields_of_the_return(complete_return, shandong_admin, reviewer):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    with pytest.raises(ValidationError) as caught:
        return_send_back(
            provincial_return=complete_return,
            by=reviewer,
            comment="x",
            field_comments={"status": "?"},
        )
    assert caught.value.error_dict["field_comments"][0].code == "unknown_field"


def test_the_whole_cycle_is_logged_with_who_and_when(
    complete_return, shandong_admin, shandong_clerk, reviewer
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    return_send_back(provincial_return=complete_return, by=reviewer, comment="请补充。")
    return_save_draft(
        provincial_return=complete_return, by=shandong_clerk, data={"remarks": "已补充"}
    )
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    return_accept(provincial_return=complete_return, by=reviewer, comment="同意。")
    log = [
        (event.action, event.from_status, event.to_status, event.by.username)
        for event in complete_return.events.order_by("at", "pk")
    ]
    assert log == [
        ("created", "", "draft", "sd_admin"),
        ("attachment_added", "draft", "draft", "sd_admin"),
        ("saved", "draft", "draft", "sd_admin"),
        ("submitted", "draft", "submitted", "sd_admin"),
        ("returned", "submitted", "returned", "reviewer"),
        ("saved", "returned", "returned", "sd_clerk"),
        ("submitted", "returned", "submitted", "sd_admin"),
        ("accepted", "submitted", "accepted", "reviewer"),
    ]
    assert all(event.at for event in ReturnEvent.objects.all())
    assert complete_return.snapshots.count() == 2


# --- what changed -------------------------------------------------------------------------


def test_the_reviewer_sees_exactly_what_changed_since_the_last_submission(
    complete_return, shandong_admin, shandong_clerk, reviewer
):
    first = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    return_send_back(provincial_return=complete_return, by=reviewer, comment="请修改。")
    return_save_draft(
        provincial_return=complete_return,
        by=shandong_clerk,
        data={
            "out_of_scope": True,
            "licence_levels": ["provincial", "municipal"],
            "remarks": "3 张许可证由县级发证，已撤销。",
        },
    )
    make_administrator(
        complete_return.province,
        by=shandong_admin,
        mobile="13900001111",
        effective_from=date(2016, 9, 1),
    )
    second = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)

    with translation.override("en"):
        changes = return_changes_since_previous_submission(second)
        assert [(c.field, c.label, c.old, c.new) for c in changes] == [
            ("out_of_scope", "Out-of-scope licensing", "No", "Yes"),
            ("licence_levels", "Licence issuing levels", "Provincial", "Provincial、Municipal"),
            ("remarks", "Remarks", "", "3 张许可证由县级发证，已撤销。"),
            ("administrator.mobile", "System administrator: mobile", "13812345678", "13900001111"),
            (
                "administrator.effective_from",
                "System administrator: effective from",
                "2016-08-01",
                "2016-09-01",
            ),
        ]
    with translation.override("zh-hans"):
        label = snapshot_diff(first, second)[0].label
        assert label == capfirst(ProvincialReturn._meta.get_field("out_of_scope").verbose_name)
    assert snapshot_diff(second, second) == []


def test_a_first_submission_is_compared_with_nothing(complete_return, shandong_admin):
    snapshot = return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    changes = snapshot_diff(None, snapshot)
    assert changes == return_changes_since_previous_submission(snapshot)
    fields = [change.field for change in changes]
    assert fields[:2] == ["out_of_scope", "institutions_authorised"]
    assert "remarks" not in fields  # left empty
    assert all(change.old == "" for change in changes)


# --- Attachment 2 through the service ----------------------------------------------------


def test_provincial_users_file_their_own_provinces_administrator(
    shandong, zhejiang, shandong_clerk, reviewer
):
    data = {
        "name": "赵敏",
        "organisation": "山东省质量技术监督局",
        "title": "主任科员",
        "office_phone": "0531-8234 5678",
        "mobile": "13712345678",
        "email": "zhaom@example.gov.cn",
    }
    administrator = system_administrator_add(province=shandong, by=shandong_clerk, data=data)
    assert administrator.office_phone == "0531-82345678"
    assert administrator.created_by == shandong_clerk
    with pytest.raises(PermissionDenied):
        system_administrator_add(province=zhejiang, by=shandong_clerk, data=data)
    with pytest.raises(PermissionDenied):
        system_administrator_add(province=shandong, by=reviewer, data=data)
    with pytest.raises(ValidationError) as caught:
        system_administrator_add(
            province=shandong, by=shandong_clerk, data={**data, "mobile": "123"}
        )
    assert "mobile" in caught.value.error_dict


# --- notifications ------------------------------------------------------------------------


@pytest.fixture
def with_addresses(shandong_admin, shandong_clerk, reviewer, zhejiang):
    from tests.conftest import make_user

    for user, address in [
        (shandong_admin, "sd-admin@example.gov.cn"),
        (shandong_clerk, "sd-clerk@example.gov.cn"),
        (reviewer, "reviewer@example.gov.cn"),
    ]:
        user.email = address
        user.save()
    from accounts.roles import PROVINCIAL_ADMIN, REVIEWER

    make_user("reviewer2", role=REVIEWER, email="reviewer2@example.gov.cn")
    make_user("reviewer_gone", role=REVIEWER, email="gone@example.gov.cn", is_active=False)
    make_user("reviewer_no_mail", role=REVIEWER)
    make_user("zj_admin", province=zhejiang, role=PROVINCIAL_ADMIN, email="zj@example.gov.cn")


def _recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_submission_is_mailed_to_every_active_reviewer(
    complete_return, shandong_admin, with_addresses, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        return_submit(
            provincial_return=complete_return,
            by=shandong_admin,
            attest=True,
            at=beijing(2016, 11, 2, 9, 0),
        )
    assert _recipients() == ["reviewer2@example.gov.cn", "reviewer@example.gov.cn"]
    message = mail.outbox[0]
    with translation.override("zh-hans"):
        assert "山东省" in message.subject
        assert "质检量函〔2016〕27号" in message.subject
    assert complete_return.get_absolute_url() in message.body
    assert "2016-10-31" in message.body  # late: the deadline is named


def test_the_link_in_an_e_mail_is_a_whole_address(
    complete_return, shandong_admin, with_addresses, django_capture_on_commit_callbacks, settings
):
    # A mail client cannot follow a path alone.
    settings.SITE_URL = "https://licences.example.gov.cn"
    with django_capture_on_commit_callbacks(execute=True):
        return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    link = "https://licences.example.gov.cn" + complete_return.get_absolute_url()
    assert all(link in message.body for message in mail.outbox)


def test_sending_back_is_mailed_to_the_provinces_administrators_with_the_comments(
    complete_return, shandong_admin, reviewer, with_addresses, django_capture_on_commit_callbacks
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    with django_capture_on_commit_callbacks(execute=True):
        return_send_back(
            provincial_return=complete_return,
            by=reviewer,
            comment="请按意见修改。",
            field_comments={"licence_levels": "与登记不一致。"},
        )
    assert _recipients() == ["sd-admin@example.gov.cn"]
    body = mail.outbox[0].body
    assert "请按意见修改。" in body
    assert "与登记不一致。" in body
    with translation.override("zh-hans"):  # e-mails go out in the interface language
        label = str(ProvincialReturn._meta.get_field("licence_levels").verbose_name)
    assert label in body
    assert complete_return.get_absolute_url() in body


def test_acceptance_is_mailed_to_the_provinces_administrators(
    complete_return, shandong_admin, reviewer, with_addresses, django_capture_on_commit_callbacks
):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    with django_capture_on_commit_callbacks(execute=True):
        return_accept(provincial_return=complete_return, by=reviewer)
    assert _recipients() == ["sd-admin@example.gov.cn"]
    assert "质检量函〔2016〕27号" in mail.outbox[0].subject


def test_nothing_is_mailed_when_the_action_fails(
    complete_return, shandong_clerk, with_addresses, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        return_submit(provincial_return=complete_return, by=shandong_clerk, attest=True)
    assert mail.outbox == []


# --- two people at once -------------------------------------------------------------------


def test_a_stale_edit_is_refused(complete_return, shandong_admin, shandong_clerk):
    # Two people loaded the same version; the second to save loses, on any database.
    mine = ProvincialReturn.objects.get(pk=complete_return.pk)
    theirs = ProvincialReturn.objects.get(pk=complete_return.pk)
    return_save_draft(provincial_return=mine, by=shandong_clerk, data={"remarks": "甲"})
    with pytest.raises(ConcurrentChange) as caught:
        return_save_draft(provincial_return=theirs, by=shandong_admin, data={"remarks": "乙"})
    assert caught.value.code == "concurrent_change"
    with pytest.raises(ConcurrentChange):
        return_submit(provincial_return=theirs, by=shandong_admin, attest=True)
    complete_return.refresh_from_db()
    assert complete_return.remarks == "甲"
    assert complete_return.status == ReturnStatus.DRAFT


def test_the_version_a_form_was_loaded_at_decides(complete_return, shandong_clerk, reviewer):
    loaded_at = complete_return.version
    return_save_draft(provincial_return=complete_return, by=shandong_clerk, data={"remarks": "甲"})
    fresh = ProvincialReturn.objects.get(pk=complete_return.pk)
    with pytest.raises(ConcurrentChange):
        return_save_draft(
            provincial_return=fresh,
            by=shandong_clerk,
            data={"remarks": "乙"},
            expected_version=loaded_at,
        )


def test_two_reviewers_deciding_at_once_cannot_both_win(complete_return, shandong_admin, reviewer):
    return_submit(provincial_return=complete_return, by=shandong_admin, attest=True)
    first = ProvincialReturn.objects.get(pk=complete_return.pk)
    second = ProvincialReturn.objects.get(pk=complete_return.pk)
    return_accept(provincial_return=first, by=reviewer)
    with pytest.raises(ConcurrentChange):
        return_send_back(provincial_return=second, by=reviewer, comment="请修改。")
    complete_return.refresh_from_db()
    assert complete_return.status == ReturnStatus.ACCEPTED


def _in_thread(target):
    """Run `target` in a thread with its own database connection; return (thread, outcome)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test inspects
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent connections: runs on PostgreSQL (CI)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_an_edit_waits_for_a_submission_and_then_loses(
    campaign, shandong, shandong_admin, shandong_clerk
):
    make_administrator(shandong, by=shandong_admin)
    provincial_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=provincial_return, by=shandong_admin, data=complete_answers(shandong)
    )
    attach_scan(provincial_return, by=shandong_admin)
    loaded_version = provincial_return.version
    submitted, release = threading.Event(), threading.Event()

    def submit_and_hold_the_lock():
        with transaction.atomic():
            snapshot = return_submit(
                provincial_return=ProvincialReturn.objects.get(pk=provincial_return.pk),
                by=shandong_admin,
                attest=True,
            )
            submitted.set()
            release.wait(timeout=10)
        return snapshot

    def edit_the_version_loaded_before():
        submitted.wait(timeout=10)
        return return_save_draft(
            provincial_return=ProvincialReturn.objects.get(pk=provincial_return.pk),
            by=shandong_clerk,
            data={"remarks": "后来的修改"},
            expected_version=loaded_version,
        )

    submitter, submit_outcome = _in_thread(submit_and_hold_the_lock)
    editor, edit_outcome = _in_thread(edit_the_version_loaded_before)
    assert submitted.wait(timeout=10)
    # The editor is blocked on the submission's row lock, not racing past it.
    editor.join(timeout=0.5)
    assert editor.is_alive()
    release.set()
    submitter.join(timeout=10)
    editor.join(timeout=10)

    assert "error" not in submit_outcome, submit_outcome
    assert isinstance(edit_outcome.get("error"), ConcurrentChange), edit_outcome
    provincial_return.refresh_from_db()
    assert provincial_return.status == ReturnStatus.SUBMITTED
    assert provincial_return.remarks == ""


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent connections: runs on PostgreSQL (CI)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_two_simultaneous_decisions_have_one_winner(
    campaign, shandong, shandong_admin, reviewer
):
    from accounts.roles import REVIEWER
    from tests.conftest import make_user

    other_reviewer = make_user("reviewer2", role=REVIEWER)
    make_administrator(shandong, by=shandong_admin)
    provincial_return = return_start(campaign=campaign, by=shandong_admin)
    return_save_draft(
        provincial_return=provincial_return, by=shandong_admin, data=complete_answers(shandong)
    )
    attach_scan(provincial_return, by=shandong_admin)
    return_submit(provincial_return=provincial_return, by=shandong_admin, attest=True)
    loaded_version = provincial_return.version
    start = threading.Barrier(2, timeout=10)

    def decide(action):
        def run():
            start.wait()
            loaded = ProvincialReturn.objects.get(pk=provincial_return.pk)
            if action == "accept":
                return return_accept(
                    provincial_return=loaded, by=reviewer, expected_version=loaded_version
                )
            return return_send_back(
                provincial_return=loaded,
                by=other_reviewer,
                comment="请修改。",
                expected_version=loaded_version,
            )

        return run

    threads = [_in_thread(decide("accept")), _in_thread(decide("send_back"))]
    for thread, _outcome in threads:
        thread.join(timeout=10)
    outcomes = [outcome for _thread, outcome in threads]
    winners = [outcome for outcome in outcomes if "result" in outcome]
    losers = [outcome for outcome in outcomes if isinstance(outcome.get("error"), ConcurrentChange)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    provincial_return.refresh_from_db()
    assert provincial_return.version == loaded_version + 1
    assert provincial_return.events.filter(action__in=["accepted", "returned"]).count() == 1
