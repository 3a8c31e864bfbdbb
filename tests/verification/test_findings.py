"""Findings computed from the register, and warnings where a return's answers contradict them."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.factories import licence_number, make_manufacturer
from licensing.models import (
    Announcement,
    AnnouncementKind,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    PublicationMethod,
    TypeApproval,
    TypeEvaluationInstitution,
)
from verification.findings import (
    Rule,
    compute_findings,
    consistency_warnings,
    count_by_rule,
)
from verification.models import Campaign, ProvincialReturn
from verification.workdays import add_working_days

ACCEPTED = date(2016, 9, 26)
TWENTIETH_WORKING_DAY = date(2016, 10, 27)  # Saturday 2016-10-08 was a working day


@pytest.fixture
def campaign(db):
    campaign = Campaign.objects.create(
        notice_number="测试〔2016〕1号",
        title="重点管理计量器具专项核查（测试）",
        issued_on=date(2016, 7, 27),
        data_deadline=date(2016, 10, 31),
        return_deadline=date(2016, 10, 31),
    )
    campaign.categories.set(InstrumentCategory.objects.all())
    return campaign


@pytest.fixture
def institution(shandong):
    """A provincial institute uniformly authorised for every category."""
    return make_institution(shandong, "山东省计量科学研究院（测试）")


def make_institution(province, name, *, uniform=True, categories=None):
    institution = TypeEvaluationInstitution.objects.create(
        name=name, province=province, uniformly_authorised=uniform
    )
    institution.categories.set(
        categories if categories is not None else InstrumentCategory.objects.all()
    )
    return institution


def category(code):
    return InstrumentCategory.objects.get(code=code)


def make_type_approval(manufacturer, category_code, seed, *, institution, **fields):
    defaults = {
        "certificate_number": f"2016F{seed:04d}-{manufacturer.province.code}",
        "province": manufacturer.province,
        "manufacturer": manufacturer,
        "category": category(category_code),
        "product_name": category(category_code).name,
        "model_spec": f"M-{seed}",
        "approved_on": date(2016, 3, 1),
        "issuing_department": f"{manufacturer.province.name}质量技术监督局",
        "institution": institution,
    }
    defaults.update(fields)
    return TypeApproval.objects.create(**defaults)


def make_clean_licence(province, seed, *, institution, categories=("water-meter",), **fields):
    """A licence the findings have nothing to say about; tests then spoil one thing."""
    manufacturer = make_manufacturer(province, seed)
    defaults = {
        "number": licence_number(province, seed),
        "manufacturer": manufacturer,
        "province": province,
        "issuing_authority": f"{province.name}质量技术监督局",
        "accepted_on": ACCEPTED,
        "issued_on": TWENTIETH_WORKING_DAY,
        "expires_on": date(2019, 10, 26),
    }
    defaults.update(fields)
    licence = Licence.objects.create(**defaults)
    for index, code in enumerate(categories):
        type_approval = make_type_approval(
            manufacturer, code, seed * 10 + index, institution=institution
        )
        LicensedProduct.objects.create(
            licence=licence,
            category=category(code),
            product_name=type_approval.product_name,
            model_spec=type_approval.model_spec,
            type_approval=type_approval,
        )
    announce(licence, AnnouncementKind.APPROVAL, licence.issued_on + timedelta(days=5))
    return licence


def announce(licence, kind, published_on, *, filed=True):
    return Announcement.objects.create(
        licence=licence,
        kind=kind,
        method=PublicationMethod.WEBSITE,
        published_on=published_on,
        filed_on=published_on + timedelta(days=3) if filed else None,
    )


def findings_of(province, campaign, rule=None):
    findings = compute_findings(province=province, campaign=campaign)
    return [finding for finding in findings if rule is None or finding.rule == rule]


def only(findings):
    assert len(findings) == 1, [finding.code for finding in findings]
    return findings[0]


def test_a_clean_register_gives_no_findings(shandong, campaign, institution):
    make_clean_licence(
        shandong, 1, institution=institution, categories=("water-meter", "heat-meter")
    )
    make_clean_licence(shandong, 2, institution=institution, extension_approved=True)

    assert compute_findings(province=shandong, campaign=campaign) == []


# 超范围许可


@pytest.mark.parametrize(
    ("level", "code", "words"),
    [
        (IssuingLevel.COUNTY, "out_of_scope.county_level", "county level"),
        (IssuingLevel.MUNICIPAL, "out_of_scope.municipal_level", "municipal level"),
    ],
)
def test_key_managed_licence_issued_below_provincial_level_is_out_of_scope(
    shandong, campaign, institution, level, code, words
):
    below = [
        make_clean_licence(shandong, seed, institution=institution, issuing_level=level)
        for seed in (1, 2, 3)
    ]
    make_clean_licence(shandong, 4, institution=institution)  # provincial

    finding = only(findings_of(shandong, campaign, Rule.OUT_OF_SCOPE))

    assert finding.code == code
    assert finding.count == 3
    assert finding.licences == tuple(licence.pk for licence in below)
    assert finding.title.startswith("3 licences issued at ")
    assert words in finding.title
    assert finding.is_problem


def test_licence_below_provincial_level_of_a_category_not_key_managed_is_in_scope(
    shandong, campaign, institution
):
    local = InstrumentCategory.objects.create(
        code="pressure-gauge", name="压力表（测试）", key_managed=False
    )
    campaign.categories.add(local)
    licence = make_clean_licence(
        shandong, 1, institution=institution, issuing_level=IssuingLevel.COUNTY
    )
    licence.products.update(category=local)
    TypeApproval.objects.update(category=local)

    assert findings_of(shandong, campaign) == []


def test_product_without_type_approval_is_out_of_scope(shandong, campaign, institution):
    licence = make_clean_licence(
        shandong, 1, institution=institution, categories=("water-meter", "heat-meter")
    )
    make_clean_licence(shandong, 2, institution=institution)
    product = licence.products.get(category__code="heat-meter")
    product.type_approval = None
    product.save()

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "out_of_scope.no_type_approval"
    assert finding.licences == (licence.pk,)
    assert finding.notes == {licence.pk: (f"{product.product_name} {product.model_spec}",)}


def test_type_approval_of_another_category_is_out_of_scope(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    type_approval = licence.products.get().type_approval
    type_approval.category = category("heat-meter")
    type_approval.save()

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "out_of_scope.type_approval_other_category"
    assert finding.licences == (licence.pk,)
    assert finding.type_approvals == (type_approval.pk,)


def test_type_approval_of_another_manufacturer_is_out_of_scope(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    other = make_clean_licence(shandong, 2, institution=institution)
    product = licence.products.get()
    product.type_approval = other.products.get().type_approval
    product.save()

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "out_of_scope.type_approval_other_manufacturer"
    assert finding.licences == (licence.pk,)
    assert finding.type_approvals == (product.type_approval_id,)


def test_unregistered_type_approval_number_is_reported_as_unchecked_not_out_of_scope(
    shandong, campaign, institution
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    licence.products.update(type_approval=None, type_approval_number="2015L123-37")

    finding = only(findings_of(shandong, campaign))

    assert finding.rule == Rule.TYPE_APPROVAL_UNVERIFIED
    assert not finding.is_problem
    assert "2015L123-37" in finding.notes[licence.pk][0]
    assert count_by_rule([finding])[Rule.OUT_OF_SCOPE] == 0


# 办理超期


@pytest.mark.parametrize(
    ("issued_on", "excluded_days", "extension", "overdue_days"),
    [
        (TWENTIETH_WORKING_DAY, 0, False, None),  # exactly 20 working days
        (date(2016, 10, 28), 0, False, 21),
        (date(2016, 10, 28), 1, False, None),  # one day of type evaluation not counted
        (date(2016, 10, 28), 0, True, None),  # the head approved 30 days
        (add_working_days(ACCEPTED, 30), 0, True, None),
        (add_working_days(ACCEPTED, 31), 0, True, 31),
        (add_working_days(ACCEPTED, 35), 5, True, None),
    ],
)
def test_processing_time_counts_working_days_of_the_official_calendar(
    shandong, campaign, institution, issued_on, excluded_days, extension, overdue_days
):
    licence = make_clean_licence(
        shandong,
        1,
        institution=institution,
        issued_on=issued_on,
        excluded_days=excluded_days,
        extension_approved=extension,
    )

    findings = findings_of(shandong, campaign, Rule.OVERDUE)

    if overdue_days is None:
        assert findings == []
    else:
        finding = only(findings)
        limit = 30 if extension else 20
        assert finding.licences == (licence.pk,)
        assert f"({overdue_days} working days > {limit})" in finding.title
        assert finding.notes == {licence.pk: (f"{overdue_days} working days (limit {limit})",)}


def test_overdue_title_gives_the_longest_processing_time(shandong, campaign, institution):
    for seed, days in ((1, 24), (2, 22), (3, 20)):
        make_clean_licence(
            shandong, seed, institution=institution, issued_on=add_working_days(ACCEPTED, days)
        )

    finding = only(findings_of(shandong, campaign))

    assert finding.count == 2
    assert finding.title == (
        "2 licences took longer than the statutory time limit (up to 24 working days > 20)"
    )


def test_licence_without_acceptance_date_cannot_be_checked(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution, accepted_on=None)

    finding = only(findings_of(shandong, campaign))

    assert finding.rule == Rule.ACCEPTED_DATE_MISSING
    assert finding.licences == (licence.pk,)
    assert not finding.is_problem


@pytest.mark.parametrize(
    ("accepted_on", "issued_on", "uncovered"),
    [
        (date(2003, 12, 15), date(2004, 1, 12), date(2003, 12, 16)),
        (date(2026, 12, 21), date(2027, 1, 20), date(2027, 1, 1)),
    ],
)
def test_dates_outside_the_holiday_calendar_give_a_finding_not_a_guess(
    shandong, campaign, institution, accepted_on, issued_on, uncovered
):
    licence = make_clean_licence(
        shandong,
        1,
        institution=institution,
        accepted_on=accepted_on,
        issued_on=issued_on,
        expires_on=issued_on + timedelta(days=1095),
    )

    finding = only(findings_of(shandong, campaign))

    assert finding.rule == Rule.CALENDAR_NOT_COVERED
    assert finding.licences == (licence.pk,)
    assert finding.notes == {
        licence.pk: (f"No official holiday calendar for {uncovered.isoformat()}",)
    }
    assert "cannot be checked" in finding.title


# 型式评价机构非总局统一授权


def test_type_approval_evaluated_by_an_institution_not_uniformly_authorised(
    shandong, campaign, institution
):
    local = make_institution(shandong, "青岛市计量技术研究院（测试）", uniform=False)
    licence = make_clean_licence(shandong, 1, institution=institution)
    make_clean_licence(shandong, 2, institution=institution)
    type_approval = licence.products.get().type_approval
    type_approval.institution = local
    type_approval.save()
    unused = make_type_approval(licence.manufacturer, "water-meter", 99, institution=local)

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "unauthorised_institution.not_uniformly_authorised"
    assert finding.count == 2  # type approvals, used on a licence or not
    assert finding.type_approvals == (type_approval.pk, unused.pk)
    assert finding.licences == (licence.pk,)
    assert "青岛市计量技术研究院（测试）" in finding.title


def test_uniformly_authorised_institution_outside_its_categories(shandong, campaign):
    institution = make_institution(
        shandong, "山东省计量科学研究院（测试）", categories=[category("water-meter")]
    )
    licence = make_clean_licence(
        shandong, 1, institution=institution, categories=("water-meter", "methane-detector")
    )

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "unauthorised_institution.not_authorised_for_category"
    assert finding.licences == (licence.pk,)
    assert finding.type_approvals == (
        licence.products.get(category__code="methane-detector").type_approval_id,
    )


def test_type_approval_without_institution_cannot_be_checked(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    TypeApproval.objects.update(institution=None)

    finding = only(findings_of(shandong, campaign))

    assert finding.rule == Rule.INSTITUTION_MISSING
    assert finding.licences == (licence.pk,)
    assert not finding.is_problem


def test_institution_rule_applies_only_to_key_managed_categories(shandong, campaign):
    local = InstrumentCategory.objects.create(
        code="pressure-gauge", name="压力表（测试）", key_managed=False
    )
    campaign.categories.add(local)
    manufacturer = make_manufacturer(shandong, 1)
    make_type_approval(
        manufacturer,
        "pressure-gauge",
        1,
        institution=make_institution(shandong, "某所", uniform=False),
    )

    assert findings_of(shandong, campaign) == []


# 未公告 / 未备案


def test_approval_not_announced(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    licence.announcements.all().delete()

    finding = only(findings_of(shandong, campaign))

    assert finding.code == "not_announced.approval"
    assert finding.licences == (licence.pk,)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (LicenceStatus.CHANGED, AnnouncementKind.CHANGE),
        (LicenceStatus.CANCELLED, AnnouncementKind.CANCELLATION),
        (LicenceStatus.REVOKED, AnnouncementKind.CANCELLATION),
    ],
)
def test_change_cancellation_and_revocation_need_their_announcement(
    shandong, campaign, institution, status, kind
):
    unannounced = make_clean_licence(shandong, 1, institution=institution, status=status)
    announced = make_clean_licence(shandong, 2, institution=institution, status=status)
    announce(announced, kind, date(2017, 3, 1))

    finding = only(findings_of(shandong, campaign))

    assert finding.code == f"not_announced.{kind}"
    assert finding.licences == (unannounced.pk,)
    assert finding.title.startswith("1 ")


def test_expired_licence_needs_no_announcement_but_its_approval(shandong, campaign, institution):
    make_clean_licence(shandong, 1, institution=institution, status=LicenceStatus.EXPIRED)

    assert findings_of(shandong, campaign) == []


def test_announcement_never_filed(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    make_clean_licence(shandong, 2, institution=institution)
    unfiled = announce(licence, AnnouncementKind.CHANGE, date(2017, 1, 5), filed=False)

    finding = only(findings_of(shandong, campaign))

    assert finding.rule == Rule.NOT_FILED
    assert finding.announcements == (unfiled.pk,)
    assert finding.licences == (licence.pk,)
    assert finding.count == 1


@pytest.mark.parametrize(("delay", "late"), [(20, False), (21, True)])
def test_approval_announced_later_than_the_configured_days_is_late(
    shandong, campaign, institution, delay, late
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    approval = licence.announcements.get()
    approval.published_on = licence.issued_on + timedelta(days=delay)
    approval.save()

    findings = findings_of(shandong, campaign, Rule.ANNOUNCED_LATE)

    if late:
        finding = only(findings)
        assert finding.licences == (licence.pk,)
        assert finding.announcements == (approval.pk,)
        assert "more than 20 days" in finding.title
    else:
        assert findings == []


def test_announcement_delay_is_a_setting(shandong, campaign, institution, settings):
    licence = make_clean_licence(shandong, 1, institution=institution)
    licence.announcements.update(published_on=licence.issued_on + timedelta(days=25))

    settings.ANNOUNCEMENT_MAX_DELAY_DAYS = 30
    assert findings_of(shandong, campaign) == []
    settings.ANNOUNCEMENT_MAX_DELAY_DAYS = 10
    assert only(findings_of(shandong, campaign)).title.endswith(
        "more than 10 days after the decision"
    )


def test_an_approval_announced_in_time_once_is_not_late(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution)
    announce(licence, AnnouncementKind.APPROVAL, licence.issued_on + timedelta(days=90))

    assert findings_of(shandong, campaign) == []


def test_changes_and_cancellations_are_not_checked_for_lateness(shandong, campaign, institution):
    licence = make_clean_licence(
        shandong, 1, institution=institution, status=LicenceStatus.CANCELLED
    )
    announce(licence, AnnouncementKind.CANCELLATION, licence.issued_on + timedelta(days=700))

    assert findings_of(shandong, campaign) == []


# Scope: province and campaign


def test_findings_of_one_province_never_concern_another(shandong, zhejiang, campaign, institution):
    make_clean_licence(shandong, 1, institution=institution)
    local = make_institution(zhejiang, "宁波市计量测试研究院（测试）", uniform=False)
    zhejiang_licences = [
        make_clean_licence(
            zhejiang,
            seed,
            institution=local,
            issuing_level=IssuingLevel.COUNTY,
            issued_on=date(2016, 11, 30),
            status=LicenceStatus.CANCELLED,
        )
        for seed in (2, 3)
    ]
    LicensedProduct.objects.filter(licence=zhejiang_licences[0]).update(type_approval=None)
    Announcement.objects.filter(licence__province=zhejiang).update(filed_on=None)

    assert compute_findings(province=shandong, campaign=campaign) == []
    zhejiang_findings = compute_findings(province=zhejiang, campaign=campaign)
    assert len({finding.rule for finding in zhejiang_findings}) >= 5
    concerned = {pk for finding in zhejiang_findings for pk in finding.licences}
    assert concerned == {licence.pk for licence in zhejiang_licences}


def test_only_licences_of_the_campaign_categories_are_examined(shandong, institution):
    campaign = Campaign.objects.create(
        notice_number="测试〔2017〕1号",
        title="水表专项核查（测试）",
        issued_on=date(2017, 3, 1),
        data_deadline=date(2017, 6, 30),
        return_deadline=date(2017, 6, 30),
    )
    campaign.categories.set([category("water-meter")])
    make_clean_licence(
        shandong, 1, institution=institution, categories=("electricity-meter",), accepted_on=None
    )
    water = make_clean_licence(shandong, 2, institution=institution, accepted_on=None)

    assert only(findings_of(shandong, campaign)).licences == (water.pk,)


def test_a_campaign_may_be_given_as_its_categories(shandong, campaign, institution):
    make_clean_licence(shandong, 1, institution=institution, issuing_level=IssuingLevel.COUNTY)
    expected = compute_findings(province=shandong, campaign=campaign)

    categories = list(InstrumentCategory.objects.all())
    assert compute_findings(province=shandong, campaign=categories) == expected
    assert compute_findings(province=shandong, campaign=[c.pk for c in categories]) == expected
    assert compute_findings(province=shandong, campaign=[]) == []


def test_count_by_rule_gives_every_rule(shandong, campaign, institution):
    for seed in (1, 2):
        make_clean_licence(shandong, seed, institution=institution, issuing_level="county")
    Announcement.objects.update(filed_on=None)

    counts = count_by_rule(compute_findings(province=shandong, campaign=campaign))

    assert counts == {**dict.fromkeys(Rule.values, 0), Rule.OUT_OF_SCOPE: 2, Rule.NOT_FILED: 2}


def build_troubled_register(province, institution, local, size):
    """`size` licences with every kind of trouble spread over them."""
    for seed in range(1, size + 1):
        licence = make_clean_licence(
            province,
            seed,
            institution=local if seed % 5 == 0 else institution,
            categories=("water-meter", "heat-meter") if seed % 2 else ("gas-meter",),
            issuing_level=(IssuingLevel.PROVINCIAL, IssuingLevel.COUNTY)[seed % 7 == 1],
            issued_on=add_working_days(ACCEPTED, 18 + seed % 9),
            accepted_on=None if seed % 11 == 3 else ACCEPTED,
            status=(LicenceStatus.VALID, LicenceStatus.CANCELLED)[seed % 4 == 2],
        )
        if seed % 3 == 0:
            licence.products.update(type_approval=None)
        if seed % 6 == 1:
            licence.announcements.update(filed_on=None)


def test_findings_take_the_same_few_queries_for_5_and_for_100_licences(
    shandong, zhejiang, campaign, institution
):
    local = make_institution(shandong, "淄博市计量技术研究院（测试）", uniform=False)
    build_troubled_register(shandong, institution, local, 5)
    build_troubled_register(zhejiang, institution, local, 100)
    assert Licence.objects.filter(province=zhejiang).count() == 100

    def queries_for(province):
        fresh = Campaign.objects.get(pk=campaign.pk)  # its categories not cached
        with CaptureQueriesContext(connection) as queries:
            findings = compute_findings(province=province, campaign=fresh)
        assert len({finding.rule for finding in findings}) >= 6
        return [query["sql"] for query in queries]

    few, many = queries_for(shandong), queries_for(zhejiang)
    # The campaign's categories, licences, products, announcements, type approvals.
    assert len(few) == len(many) == 5, many


# Consistency warnings


def answers(province, campaign, **fields):
    return ProvincialReturn(province=province, campaign=campaign, **fields)


def warnings_for(provincial_return):
    findings = compute_findings(
        province=provincial_return.province, campaign=provincial_return.campaign
    )
    return consistency_warnings(provincial_return=provincial_return, findings=findings)


def codes(warnings):
    return [warning.code for warning in warnings]


@pytest.mark.parametrize(
    ("answer", "county_licence", "warned"),
    [
        (False, True, True),
        (True, True, False),
        (None, True, False),  # not answered yet
        (False, False, False),
    ],
)
def test_answering_no_out_of_scope_licensing_against_findings_is_warned(
    shandong, campaign, institution, answer, county_licence, warned
):
    level = IssuingLevel.COUNTY if county_licence else IssuingLevel.PROVINCIAL
    make_clean_licence(shandong, 1, institution=institution, issuing_level=level)

    warnings = warnings_for(answers(shandong, campaign, out_of_scope=answer))

    if warned:
        warning = only(warnings)
        assert (warning.code, warning.field) == (
            "out_of_scope_contradicts_findings",
            "out_of_scope",
        )
        assert "1 case of out-of-scope licensing" in warning.message
    else:
        assert warnings == []


def test_unchecked_findings_do_not_contradict_a_no(shandong, campaign, institution):
    licence = make_clean_licence(shandong, 1, institution=institution, accepted_on=None)
    licence.products.update(type_approval=None, type_approval_number="2015L123-37")

    assert warnings_for(answers(shandong, campaign, out_of_scope=False)) == []


@pytest.mark.parametrize(("uniform", "warned"), [(False, True), (True, False)])
def test_answering_yes_to_authorised_institutions_against_findings_is_warned(
    shandong, campaign, uniform, warned
):
    make_clean_licence(
        shandong, 1, institution=make_institution(shandong, "某研究院", uniform=uniform)
    )

    warnings = warnings_for(answers(shandong, campaign, institutions_authorised=True))
    assert codes(warnings) == (["institutions_contradict_findings"] if warned else [])
    assert warnings_for(answers(shandong, campaign, institutions_authorised=False)) == []


def test_answering_no_to_filing_while_every_announcement_is_filed_is_warned(
    shandong, campaign, institution
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    filed_no = answers(shandong, campaign, list_filed=False)

    warning = only(warnings_for(filed_no))
    assert (warning.code, warning.field) == (
        "list_not_filed_contradicts_announcements",
        "list_filed",
    )

    licence.announcements.update(filed_on=None)
    assert warnings_for(filed_no) == []


def test_answering_no_to_filing_with_no_announcements_is_not_warned(
    shandong, campaign, institution
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    licence.announcements.all().delete()

    assert warnings_for(answers(shandong, campaign, list_filed=False)) == []


def test_answering_yes_to_filing_while_announcements_are_unfiled_is_warned(
    shandong, campaign, institution
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    filed_yes = answers(shandong, campaign, list_filed=True)
    assert warnings_for(filed_yes) == []

    licence.announcements.update(filed_on=None)
    warning = only(warnings_for(filed_yes))
    assert warning.code == "list_filed_contradicts_unfiled_announcements"
    assert "1 announcement" in warning.message


def test_licence_levels_that_contradict_the_register_are_warned(shandong, campaign, institution):
    make_clean_licence(shandong, 1, institution=institution)
    make_clean_licence(shandong, 2, institution=institution, issuing_level=IssuingLevel.MUNICIPAL)
    # An expired county licence says nothing about today's issuing levels.
    make_clean_licence(
        shandong,
        3,
        institution=institution,
        issuing_level=IssuingLevel.COUNTY,
        status=LicenceStatus.EXPIRED,
    )

    matching = answers(shandong, campaign, licence_levels=["provincial", "municipal"])
    assert warnings_for(matching) == []

    only_provincial = only(warnings_for(answers(shandong, campaign, licence_levels=["provincial"])))
    assert only_provincial.code == "licence_levels_missing_municipal"
    assert only_provincial.field == "licence_levels"
    assert "1 licence in force" in only_provincial.message

    with_county = answers(shandong, campaign, licence_levels=["provincial", "municipal", "county"])
    assert codes(warnings_for(with_county)) == ["licence_levels_unused_county"]


def test_type_approval_levels_that_contradict_the_register_are_warned(
    shandong, campaign, institution
):
    make_clean_licence(shandong, 1, institution=institution)

    assert warnings_for(answers(shandong, campaign, type_approval_levels=["provincial"])) == []
    assert codes(warnings_for(answers(shandong, campaign, type_approval_levels=["county"]))) == [
        "type_approval_levels_missing_provincial",
        "type_approval_levels_unused_county",
    ]


def test_unanswered_return_needs_no_register_queries(shandong, campaign, institution):
    make_clean_licence(shandong, 1, institution=institution, issuing_level=IssuingLevel.COUNTY)
    findings = compute_findings(province=shandong, campaign=campaign)

    with CaptureQueriesContext(connection) as queries:
        warnings = consistency_warnings(
            provincial_return=answers(shandong, campaign), findings=findings
        )

    assert warnings == []
    assert len(queries) == 0
