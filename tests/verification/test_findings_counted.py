"""The findings counted by the database give what compute_findings() gives, case by case.

Every test of tests/verification/test_findings.py (the specification) runs here again, with
compute_findings() checked against count_register() (counts, titles, explanations), against
finding_licences() and finding_type_approvals() (exactly its ids, in its order) and against
finding_notes(); and consistency_warnings() checked to warn alike from the counted facts.
"""

from datetime import date, timedelta

import pytest

from licensing.factories import make_manufacturer
from licensing.models import (
    Announcement,
    AnnouncementKind,
    IssuingLevel,
    Licence,
    LicensedProduct,
    TypeApproval,
)
from tests.verification import test_findings as spec
from tests.verification.test_findings import *  # noqa: F403 (the specification, run again)
from tests.verification.test_findings import (
    ACCEPTED,
    announce,
    build_troubled_register,
    category,
    make_clean_licence,
    make_institution,
    make_type_approval,
)
from verification import findings as module
from verification.findings import (
    INSTITUTION_CODES,
    compute_findings,
    count_register,
    finding_licences,
    finding_notes,
    finding_type_approvals,
)
from verification.models import CalendarDay
from verification.workdays import official_calendar

# These two count the queries of the Python rules alone; the checks below add their own.
del test_findings_take_the_same_few_queries_for_5_and_for_100_licences  # noqa: F821
del test_unanswered_return_needs_no_register_queries  # noqa: F821


def assert_counted_alike(findings, *, province, campaign):
    facts = count_register(province=province, campaign=campaign)
    assert [
        (summary.rule, summary.code, summary.title, summary.explanation, summary.count)
        for summary in facts.summaries()
    ] == [
        (finding.rule, finding.code, finding.title, finding.explanation, finding.count)
        for finding in findings
    ]
    assert [summary.licences for summary in facts.summaries()] == [
        len(finding.licences) for finding in findings
    ]
    # Whole numbers, not the database's decimals: they are pluralised and frozen as JSON.
    assert all(
        type(number) is int
        for summary in facts.summaries()
        for number in (summary.count, summary.licences)
    )
    assert facts.counts() == module.count_by_rule(findings)
    for finding in findings:
        listed = finding_licences(
            licences=Licence.objects.all(), province=province, campaign=campaign, code=finding.code
        )
        assert tuple(listed.values_list("pk", flat=True)) == finding.licences, finding.code
        if finding.code in INSTITUTION_CODES:
            type_approvals = finding_type_approvals(
                type_approvals=TypeApproval.objects.all(),
                province=province,
                campaign=campaign,
                code=finding.code,
            )
            assert tuple(type_approvals.values_list("pk", flat=True)) == finding.type_approvals
        notes = finding_notes(
            province=province, campaign=campaign, code=finding.code, licence_ids=finding.licences
        )
        assert notes == finding.notes, finding.code


@pytest.fixture(autouse=True)
def counted_alike(monkeypatch):
    """Check every compute_findings() and consistency_warnings() of the specification."""

    def checked_findings(*, province, campaign):
        findings = compute_findings(province=province, campaign=campaign)
        assert_counted_alike(findings, province=province, campaign=campaign)
        return findings

    def checked_warnings(*, provincial_return, findings):
        warnings = module.consistency_warnings(
            provincial_return=provincial_return, findings=findings
        )
        facts = count_register(
            province=provincial_return.province, campaign=provincial_return.campaign
        )
        assert (
            module.consistency_warnings(
                provincial_return=provincial_return, findings=facts.summaries(), facts=facts
            )
            == warnings
        )
        return warnings

    monkeypatch.setattr(spec, "compute_findings", checked_findings)
    monkeypatch.setattr(spec, "consistency_warnings", checked_warnings)


def check(province, campaign):
    findings = compute_findings(province=province, campaign=campaign)
    assert_counted_alike(findings, province=province, campaign=campaign)
    return findings


# Cases the specification has no need for, where counting in SQL could go its own way.


def test_a_troubled_register_is_counted_alike(shandong, zhejiang, campaign, institution):
    local = make_institution(shandong, "淄博市计量技术研究院（测试）", uniform=False)
    build_troubled_register(shandong, institution, local, 60)
    build_troubled_register(zhejiang, institution, local, 7)
    Announcement.objects.filter(pk__in=Announcement.objects.order_by("pk")[:9]).update(
        published_on=date(2017, 6, 1)
    )

    assert len({finding.code for finding in check(shandong, campaign)}) >= 8
    check(zhejiang, campaign)


@pytest.mark.parametrize(
    ("accepted_on", "issued_on"),
    [
        (date(2003, 12, 31), date(2004, 2, 27)),  # the day before the calendar is never looked at
        (date(2003, 12, 30), date(2004, 2, 27)),
        (date(2026, 12, 1), date(2026, 12, 31)),
        (date(2027, 3, 1), date(2027, 3, 1)),  # the same day: no working day to look at
        (date(2002, 1, 4), date(2002, 1, 4)),
    ],
)
def test_the_calendar_edges_are_counted_alike(
    shandong, campaign, institution, accepted_on, issued_on
):
    make_clean_licence(
        shandong,
        1,
        institution=institution,
        accepted_on=accepted_on,
        issued_on=issued_on,
        expires_on=issued_on + timedelta(days=1095),
    )

    check(shandong, campaign)


def test_excluded_days_and_extensions_are_counted_alike(shandong, campaign, institution):
    for seed, (days, excluded, extended) in enumerate(
        [
            (25, 5, False),
            (26, 5, False),
            (31, 0, True),
            (45, 20, True),
            (60, 0, True),
            (40, 0, False),
        ],
        start=1,
    ):
        make_clean_licence(
            shandong,
            seed,
            institution=institution,
            issued_on=spec.add_working_days(ACCEPTED, days),
            excluded_days=excluded,
            extension_approved=extended,
        )

    codes = {finding.code for finding in check(shandong, campaign)}
    assert codes == {"overdue.statutory", "overdue.extended"}


def test_a_type_approval_of_another_province_is_counted_alike(
    shandong, zhejiang, campaign, institution
):
    licence = make_clean_licence(shandong, 1, institution=institution)
    foreign = make_type_approval(make_manufacturer(zhejiang, 2), "water-meter", 7, institution=None)
    LicensedProduct.objects.filter(licence=licence).update(type_approval=foreign)

    check(shandong, campaign)
    check(zhejiang, campaign)


def test_a_licence_with_products_outside_the_campaign_is_counted_alike(shandong, institution):
    water_campaign = spec.Campaign.objects.create(
        notice_number="测试〔2017〕2号",
        title="水表专项核查（测试）",
        issued_on=date(2017, 3, 1),
        data_deadline=date(2017, 6, 30),
        return_deadline=date(2017, 6, 30),
    )
    water_campaign.categories.set([category("water-meter")])
    licence = make_clean_licence(
        shandong,
        1,
        institution=make_institution(shandong, "某所", uniform=False),
        categories=("water-meter", "gas-meter"),
        issuing_level=IssuingLevel.COUNTY,
    )
    licence.products.filter(category__code="gas-meter").update(type_approval=None)
    announce(licence, AnnouncementKind.CHANGE, date(2017, 1, 5), filed=False)

    assert check(shandong, water_campaign)


def test_the_stored_calendar_is_the_installed_package_s(db):
    """Upgrading chinesecalendar needs a migration that reloads verification's CalendarDay."""
    stored = list(CalendarDay.objects.order_by("day").values_list("day", "working_day_number"))
    assert stored == official_calendar()
