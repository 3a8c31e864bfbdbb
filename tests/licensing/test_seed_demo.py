"""`manage.py seed_demo`: a realistic, valid, idempotent demo register and three demo logins."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER
from licensing.models import (
    Announcement,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
    TypeEvaluationInstitution,
)
from licensing.validators import normalize_text, validate_credit_code
from tests.accounts.signin import sign_in
from verification.findings import Rule, compute_findings
from verification.models import (
    Campaign,
    ProvincialReturn,
    ReturnEvent,
    ReturnEventAction,
    ReturnSnapshot,
    ReturnStatus,
    SystemAdministrator,
)
from verification.services import (
    DEADLINE_ZONE,
    may_submit,
    return_changes_since_previous_submission,
    return_submission_problems,
)

DEMO_LOGINS = [
    ("shandong_admin", "demo-shandong-2016", PROVINCIAL_ADMIN, "37"),
    ("zhejiang_admin", "demo-zhejiang-admin-2016", PROVINCIAL_ADMIN, "33"),
    ("zhejiang_clerk", "demo-zhejiang-2016", DATA_ENTRY, "33"),
    ("reviewer", "demo-reviewer-2016", REVIEWER, None),
]
REGISTER_MODELS = [
    TypeEvaluationInstitution,
    Manufacturer,
    TypeApproval,
    Licence,
    LicensedProduct,
    Announcement,
]
HISTORY_MODELS = [Manufacturer, TypeApproval, Licence, LicensedProduct, Announcement]
VERIFICATION_MODELS = [ProvincialReturn, ReturnEvent, ReturnSnapshot, SystemAdministrator]


def seed_demo(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def database_state():
    """Every register row, every history record and the demo users, as plain values."""
    return {
        **{
            model.__name__: list(model.objects.order_by("pk").values()) for model in REGISTER_MODELS
        },
        **{
            f"{model.__name__} history": list(model.history.order_by("pk").values())
            for model in HISTORY_MODELS
        },
        **{
            model.__name__: list(model.objects.order_by("pk").values())
            for model in VERIFICATION_MODELS
        },
        "users": list(User.objects.order_by("pk").values()),
        "user groups": list(User.groups.through.objects.order_by("pk").values()),
    }


@pytest.fixture
def seeded(db):
    return seed_demo("--force")


def test_refuses_to_run_with_debug_off_and_writes_nothing(db, settings):
    settings.DEBUG = False
    before = database_state()

    with pytest.raises(CommandError, match="--force"):
        seed_demo()

    assert database_state() == before
    assert not Licence.objects.exists()
    assert not User.objects.filter(username__in=[login[0] for login in DEMO_LOGINS]).exists()


def test_runs_without_force_when_debug_is_on(db, settings):
    settings.DEBUG = True

    seed_demo()

    assert Licence.objects.filter(province__code="37").count() >= 100


def test_both_provinces_get_a_register_across_all_nine_categories(seeded):
    all_categories = set(InstrumentCategory.objects.values_list("code", flat=True))
    assert len(all_categories) == 9
    for code in ("37", "33"):
        licences = Licence.objects.filter(province__code=code)
        assert licences.count() >= 100
        assert Manufacturer.objects.filter(province__code=code).count() >= 50
        used = set(
            LicensedProduct.objects.filter(licence__province__code=code).values_list(
                "category__code", flat=True
            )
        )
        assert used == all_categories
        statuses = list(licences.values_list("status", flat=True))
        assert statuses.count(LicenceStatus.VALID) > len(statuses) / 2
        assert {LicenceStatus.CHANGED, LicenceStatus.CANCELLED, LicenceStatus.EXPIRED} < set(
            statuses
        )
    levels = list(Licence.objects.values_list("issuing_level", flat=True))
    assert levels.count(IssuingLevel.PROVINCIAL) > len(levels) / 2
    assert {IssuingLevel.MUNICIPAL, IssuingLevel.COUNTY} < set(levels)


def test_type_approvals_institutions_and_announcements_are_seeded(seeded):
    assert LicensedProduct.objects.filter(type_approval__isnull=False).exists()
    assert set(
        TypeEvaluationInstitution.objects.values_list("uniformly_authorised", flat=True)
    ) == {
        True,
        False,
    }
    assert not TypeEvaluationInstitution.objects.filter(categories=None).exists()
    assert Announcement.objects.filter(filed_on__isnull=True).exists()
    assert Announcement.objects.filter(filed_on__isnull=False).exists()


def test_every_seeded_object_is_valid(seeded):
    for manufacturer in Manufacturer.objects.all():
        validate_credit_code(manufacturer.credit_code)
        manufacturer.full_clean()
        # Import compares NFKC-normalised text: an exported demo must re-import unchanged.
        assert normalize_text(manufacturer.name) == manufacturer.name
        assert normalize_text(manufacturer.address) == manufacturer.address
    for licence in Licence.objects.select_related("manufacturer", "province"):
        licence.full_clean()
        assert date(2009, 1, 1) <= licence.issued_on <= date(2016, 12, 31)
        assert (licence.expires_on - licence.issued_on).days in (1095, 1096)  # three years
        assert 1 <= licence.products.count() <= 3
    for model in (TypeApproval, LicensedProduct, Announcement):
        for obj in model.objects.all():
            obj.full_clean()
    for product in LicensedProduct.objects.select_related("type_approval"):
        for value in (product.product_name, product.model_spec, product.measuring_range):
            assert normalize_text(value) == value
        if product.type_approval:
            assert product.type_approval.model_spec == product.model_spec
            assert product.type_approval.approved_on <= product.licence.issued_on


def test_every_seeded_object_has_a_creation_history_record(seeded):
    for model in HISTORY_MODELS:
        created = set(model.history.filter(history_type="+").values_list("id", flat=True))
        assert created == set(model.objects.values_list("pk", flat=True)), model.__name__


def test_running_twice_creates_and_changes_nothing(seeded):
    before = database_state()

    seed_demo("--force")

    assert database_state() == before


def test_demo_users_log_in_with_their_roles_and_provinces(seeded, client):
    for username, password, role, province_code in DEMO_LOGINS:
        assert sign_in(client, username, password), username
        user = User.objects.get(username=username)
        assert user.is_staff
        assert not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert (user.province.code if user.province else None) == province_code
        client.logout()


def test_rerunning_resets_a_changed_demo_login(seeded, client):
    user = User.objects.get(username="shandong_admin")
    user.set_password("something-else")
    user.province = None
    user.save()
    user.groups.clear()

    seed_demo("--force")

    assert sign_in(client, "shandong_admin", "demo-shandong-2016")
    user.refresh_from_db()
    assert user.province.code == "37"
    assert list(user.groups.values_list("name", flat=True)) == [PROVINCIAL_ADMIN]


def test_output_lists_the_demo_logins(seeded):
    for username, password, role, _province in DEMO_LOGINS:
        line = next(line for line in seeded.splitlines() if f"{username} " in line)
        assert password in line
        assert role in line
        user = User.objects.get(username=username)
        assert user.email in line
        assert user.first_name in line.split()


def test_each_demo_province_has_an_administrator_login_who_may_submit(seeded):
    logins = {login[0]: login for login in DEMO_LOGINS}
    provinces = {code for *_rest, code in DEMO_LOGINS if code}
    for code in provinces:
        administrators = [
            name
            for name, (_n, _p, role, province) in logins.items()
            if role == PROVINCIAL_ADMIN and province == code
        ]
        assert administrators, code
        user = User.objects.get(username=administrators[0])
        assert user.has_perm("verification.submit_provincialreturn")
    assert not User.objects.get(username="zhejiang_clerk").has_perm(
        "verification.submit_provincialreturn"
    )


def test_demo_logins_have_names_and_e_mail_addresses(seeded):
    for username, *_rest in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert user.email.endswith("@example.com")
        assert user.get_full_name()


def test_demo_register_gives_every_finding_of_the_2016_campaign(seeded):
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    for code in ("37", "33"):
        findings = compute_findings(province=Province.objects.get(code=code), campaign=campaign)

        # The demo's dates (2009–2016) all lie inside the official holiday calendar.
        assert {finding.rule for finding in findings} == set(Rule) - {Rule.CALENDAR_NOT_COVERED}
        assert {
            "out_of_scope.county_level",
            "out_of_scope.municipal_level",
            "out_of_scope.no_type_approval",
            "unauthorised_institution.not_uniformly_authorised",
            "unauthorised_institution.not_authorised_for_category",
            "not_announced.approval",
            "not_announced.change",
            "not_announced.cancellation",
        } <= {finding.code for finding in findings}
        # A handful of each, as in a province that mostly keeps the rules: not noise.
        assert all(finding.count <= 5 for finding in findings), [
            (finding.code, finding.count) for finding in findings
        ]


def test_demo_register_records_extensions_and_days_not_counted(seeded):
    assert Licence.objects.filter(extension_approved=True).exists()
    assert Licence.objects.filter(excluded_days__gt=0).exists()
    assert LicensedProduct.objects.filter(
        type_approval__isnull=True, type_approval_number__gt=""
    ).exists()


# --- the 2016 campaign's returns ----------------------------------------------------------


def returns_2016():
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    return ProvincialReturn.objects.in_campaign(campaign).select_related("province")


def test_shandongs_return_is_a_draft_ready_for_the_demo_cycle(seeded):
    shandong_return = returns_2016().get(province__code="37")
    admin = User.objects.get(username="shandong_admin")

    assert shandong_return.status == ReturnStatus.DRAFT
    assert shandong_return.current_administrator() is not None
    assert may_submit(admin, shandong_return)
    # Only Attachment 1's questions and the rest of the summary are left to the demo.
    problems = return_submission_problems(shandong_return)
    assert "out_of_scope" in problems
    assert "__all__" not in problems  # Attachment 2 is filed
    assert not shandong_return.snapshots.exists()


def test_other_provinces_returns_stand_in_every_workflow_state(seeded):
    others = returns_2016().exclude(province__code="37")

    assert set(others.values_list("status", flat=True)) == set(ReturnStatus.values)
    submitted = others.filter(first_submitted_at__isnull=False)
    assert {True, False} == set(submitted.values_list("is_late", flat=True))
    # Late and on time both among those awaiting review and among the accepted.
    for status in (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED):
        assert {True, False} == set(
            submitted.filter(status=status).values_list("is_late", flat=True)
        ), status
    resubmitted = [r for r in others if r.snapshots.count() > 1]
    assert any(r.status == ReturnStatus.SUBMITTED for r in resubmitted)
    assert any(r.status == ReturnStatus.ACCEPTED for r in resubmitted)
    returned = others.get(status=ReturnStatus.RETURNED)
    comments = returned.events.filter(action=ReturnEventAction.RETURNED).latest()
    assert comments.comment and comments.field_comments
    # Not every unit has started: the reviewer's list has "not started" rows too.
    assert returns_2016().count() < Province.objects.count()


def test_resubmitted_returns_show_what_changed(seeded):
    resubmitted = ReturnSnapshot.objects.filter(number=2)
    assert resubmitted.exists()
    for snapshot in resubmitted:
        assert return_changes_since_previous_submission(snapshot)


def test_returns_carry_plausible_2016_timestamps(seeded):
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    start, end = campaign.issued_on, date(2016, 12, 31)

    def day(moment):
        return moment.astimezone(DEADLINE_ZONE).date()

    for provincial_return in returns_2016():
        assert start <= day(provincial_return.created_at) <= end
        assert start <= day(provincial_return.updated_at) <= end
        events = list(provincial_return.events.order_by("pk"))
        assert events[0].action == ReturnEventAction.CREATED
        assert [event.at for event in events] == sorted(event.at for event in events)
        assert all(start <= day(event.at) <= end for event in events)
        if provincial_return.first_submitted_at:
            late = day(provincial_return.first_submitted_at) > campaign.return_deadline
            assert provincial_return.is_late is late
    for administrator in SystemAdministrator.objects.all():
        assert start <= administrator.effective_from <= end
        assert day(administrator.created_at) == administrator.effective_from
    for snapshot in ReturnSnapshot.objects.all():
        assert start <= day(snapshot.taken_at) <= end
        assert snapshot.data["findings"] is not None


def test_snapshots_keep_the_findings_of_the_register(seeded):
    zhejiang = ReturnSnapshot.objects.filter(provincial_return__province__code="33").latest()
    assert zhejiang.data["findings"][Rule.OUT_OF_SCOPE] > 0


def test_the_demo_accounts_of_other_provinces_cannot_log_in(seeded):
    for user in User.objects.filter(username__startswith="demo_admin_"):
        assert not user.has_usable_password()
        assert not user.is_staff
        assert user.province is not None


def test_output_counts_the_returns(seeded):
    assert any(
        str(ProvincialReturn._meta.verbose_name_plural) in line for line in seeded.splitlines()
    )
