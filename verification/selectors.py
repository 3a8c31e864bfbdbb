"""Reads the verification screens share: findings beside the questions, the status of all units.

Everything here reads through ``for_user`` or starts from a return the caller already looked up
that way; nothing filters by province on its own.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.urls import reverse

from licensing.models import Licence, Province, RegisterCount
from licensing.scoping import user_province_id, user_sees_all_provinces
from verification.findings import (
    RULE_ORDER,
    UNCHECKED_RULES,
    Finding,
    Rule,
    compute_findings,
    consistency_warnings,
    count_by_rule,
)
from verification.models import (
    Campaign,
    ProvincialReturn,
    ReturnStatus,
)

# Which question of Attachment 1 (or of the summary) a rule's findings are shown beside.
# Attachment 1 asks nothing about processing time; overdue licences are the province's problems
# to report in the summary, so they are shown beside 存在的问题.
RULE_QUESTION = {
    Rule.OUT_OF_SCOPE: "out_of_scope",
    Rule.TYPE_APPROVAL_UNVERIFIED: "out_of_scope",
    Rule.OVERDUE: "summary_problems",
    Rule.ACCEPTED_DATE_MISSING: "summary_problems",
    Rule.CALENDAR_NOT_COVERED: "summary_problems",
    Rule.UNAUTHORISED_INSTITUTION: "institutions_authorised",
    Rule.INSTITUTION_MISSING: "institutions_authorised",
    Rule.NOT_ANNOUNCED: "announcement_methods",
    Rule.ANNOUNCED_LATE: "announcement_methods",
    Rule.NOT_FILED: "list_filed",
}
# Consistency warnings name the field they are about; a question may have two fields.
FIELD_QUESTION = {
    "type_approval_levels": "type_approval_department",
    "licence_levels": "licence_department",
    "announcement_methods_other": "announcement_methods",
    "reform_text": "reform_measures",
}
# A finding lists at most this many licences by number; the rest are a click away in the register.
LICENCES_LISTED = 20


@dataclass
class LicenceLink:
    number: str
    url: str
    notes: tuple[str, ...]


@dataclass
class FindingView:
    """A finding with the links a page shows for it."""

    finding: Finding
    anchor: str
    licences: list[LicenceLink] = field(default_factory=list)
    more_licences: int = 0
    licences_url: str = ""  # the register's licence list filtered to every licence concerned
    type_approvals_url: str = ""
    announcements_url: str = ""

    @property
    def rule_label(self) -> str:
        return Rule(self.finding.rule).label


@dataclass
class RuleCount:
    rule: str
    label: str
    count: int
    is_problem: bool
    anchor: str  # the first finding of the rule, "" when there is none


@dataclass
class ReturnFindings:
    """Everything the register says about a return, arranged by question."""

    findings: list[FindingView]
    counts: dict[str, int]
    rule_counts: list[RuleCount]
    warnings: list
    by_question: dict[str, list[FindingView]]
    warnings_by_question: dict[str, list]

    @property
    def problem_total(self) -> int:
        return sum(row.count for row in self.rule_counts if row.is_problem)


def _filtered_changelist(model: str, ids) -> str:
    if not ids:
        return ""
    base = reverse(f"admin:licensing_{model}_changelist")
    return f"{base}?id__in={','.join(str(pk) for pk in ids)}"


# --- findings counted from the register as it is now, kept for the department's board ------
# Counting a unit's findings examines its whole register (seconds for a large one), so the
# board never does it: the return and review pages, which compute them anyway, keep the counts
# here, keyed by when the unit's register last changed (RegisterCount), and `manage.py
# count_findings` fills in the rest, e.g. after a bulk import.

LIVE_FINDINGS_SECONDS = 30 * 24 * 60 * 60


def _live_findings_key(campaign_id: int, province_id: int, changed_at) -> str:
    return f"live-findings:{campaign_id}:{province_id}:{changed_at.timestamp()}"


def register_changed_at(province_ids) -> dict[int, datetime]:
    """When each province's register last changed (its RegisterCount), by province id."""
    return dict(
        RegisterCount.objects.filter(province_id__in=province_ids, category=None).values_list(
            "province_id", "changed_at"
        )
    )


def remember_live_findings(*, campaign, province, counts: dict[str, int]) -> None:
    changed_at = register_changed_at([province.pk]).get(province.pk)
    if changed_at is not None:
        key = _live_findings_key(campaign.pk, province.pk, changed_at)
        cache.set(key, counts, LIVE_FINDINGS_SECONDS)


def live_findings(*, campaign, changed_at: dict[int, datetime]) -> dict[int, dict[str, int]]:
    """The kept counts of the registers as they are now, by province id; one cache read."""
    keys = {
        _live_findings_key(campaign.pk, province_id, at): province_id
        for province_id, at in changed_at.items()
    }
    found = cache.get_many(list(keys)) if keys else {}
    return {keys[key]: counts for key, counts in found.items()}


def return_findings(*, provincial_return: ProvincialReturn, user) -> ReturnFindings:
    """The findings and consistency warnings of a return, with links to what they concern.

    A fixed number of queries: compute_findings' handful, the warnings' few, one for the
    licence numbers.
    """
    findings = compute_findings(
        province=provincial_return.province, campaign=provincial_return.campaign
    )
    warnings = consistency_warnings(provincial_return=provincial_return, findings=findings)
    listed = {pk for finding in findings for pk in finding.licences[:LICENCES_LISTED]}
    numbers = dict(
        Licence.objects.for_user(user).filter(pk__in=listed).values_list("pk", "number")
        if listed
        else ()
    )
    views, by_question = [], defaultdict(list)
    for index, finding in enumerate(findings):
        view = FindingView(
            finding=finding,
            anchor=f"finding-{index + 1}",
            licences=[
                LicenceLink(
                    number=numbers[pk],
                    url=reverse("admin:licensing_licence_change", args=[pk]),
                    notes=finding.notes.get(pk, ()),
                )
                for pk in finding.licences[:LICENCES_LISTED]
                if pk in numbers
            ],
            more_licences=max(0, len(finding.licences) - LICENCES_LISTED),
            licences_url=_filtered_changelist("licence", finding.licences),
            type_approvals_url=_filtered_changelist("typeapproval", finding.type_approvals),
            announcements_url=_filtered_changelist("announcement", finding.announcements),
        )
        views.append(view)
        by_question[RULE_QUESTION[finding.rule]].append(view)

    counts = count_by_rule(findings)
    remember_live_findings(
        campaign=provincial_return.campaign, province=provincial_return.province, counts=counts
    )
    first_anchor = {}
    for view in views:
        first_anchor.setdefault(view.finding.rule, view.anchor)
    rule_counts = [
        RuleCount(
            rule=rule,
            label=Rule(rule).label,
            count=counts[rule],
            is_problem=rule not in UNCHECKED_RULES,
            anchor=first_anchor.get(rule, ""),
        )
        for rule in sorted(counts, key=RULE_ORDER.__getitem__)
    ]
    warnings_by_question = defaultdict(list)
    for warning in warnings:
        warnings_by_question[FIELD_QUESTION.get(warning.field, warning.field)].append(warning)
    return ReturnFindings(
        findings=views,
        counts=counts,
        rule_counts=rule_counts,
        warnings=warnings,
        by_question=dict(by_question),
        warnings_by_question=dict(warnings_by_question),
    )


# --- what the admin index and the verification page offer each user ----------------------


@dataclass
class CampaignEntry:
    campaign: Campaign
    provincial_return: ProvincialReturn | None = None  # the user's province's, if any
    # Reviewers: (status, label, number of returns) for every status, and the units not started.
    totals: list[tuple[str, str, int]] = field(default_factory=list)
    not_started: int = 0

    @property
    def awaiting_review(self) -> int:
        return sum(count for status, _label, count in self.totals if status == "submitted")


def campaign_entries(*, user, campaigns) -> list[CampaignEntry]:
    """For provincial users their province's return per campaign; for reviewers, counts."""
    campaigns = list(campaigns)
    entries = [CampaignEntry(campaign=campaign) for campaign in campaigns]
    if not campaigns:
        return entries
    scoped = ProvincialReturn.objects.for_user(user).filter(campaign__in=campaigns)
    if user_province_id(user):
        mine = {row.campaign_id: row for row in scoped}
        for entry in entries:
            entry.provincial_return = mine.get(entry.campaign.pk)
    elif user_sees_all_provinces(user):
        totals = defaultdict(Counter)
        rows = scoped.order_by().values_list("campaign_id", "status")
        for campaign_id, status in rows:
            totals[campaign_id][status] += 1
        units = Province.objects.count()
        for entry in entries:
            counted = totals[entry.campaign.pk]
            entry.totals = [
                (status, str(label), counted.get(status, 0))
                for status, label in ReturnStatus.choices
            ]
            entry.not_started = units - sum(counted.values())
    return entries
