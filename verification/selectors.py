"""Reads the verification screens share: findings beside the questions, the status of all units.

Everything here reads through ``for_user`` or starts from a return the caller already looked up
that way; nothing filters by province on its own.
"""

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from urllib.parse import urlencode

import chinese_calendar
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Max
from django.urls import reverse

from licensing.models import (
    Licence,
    Province,
    RegisterCount,
    TypeApproval,
    TypeEvaluationInstitution,
)
from licensing.scoping import user_province_id, user_sees_all_provinces
from verification.findings import (
    FINDING_KINDS,
    RULE_ORDER,
    UNCHECKED_RULES,
    FindingSummary,
    RegisterFacts,
    Rule,
    announcement_max_delay_days,
    campaign_categories,
    consistency_warnings,
    count_register,
    finding_licences,
    finding_notes,
    finding_type_approvals,
)
from verification.models import (
    Campaign,
    ProvincialReturn,
    ReturnEvent,
    ReturnEventAction,
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
# A finding's page lists this many licences (and type approvals) at a time.
FINDING_PAGE_SIZE = 50


@dataclass
class FindingView:
    """A finding with the link a page shows for it: its own page, which lists what it concerns."""

    finding: FindingSummary
    anchor: str
    url: str  # the finding's page: names the rule, never the ids

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
    facts: RegisterFacts

    @property
    def problem_total(self) -> int:
        return sum(row.count for row in self.rule_counts if row.is_problem)


def finding_url(provincial_return, code: str) -> str:
    """The page of one finding of a return: its URL names the rule, never the ids."""
    url = reverse("verification:return_findings", args=[provincial_return.pk])
    return f"{url}?{urlencode({'finding': code})}"


# --- findings counted from the register as it is now, kept until it changes ---------------
# Counting a unit's findings passes over its whole register (about a second for the largest),
# so the count is kept in the cache, keyed by when the unit's register last changed
# (RegisterCount, stamped by every write of the register: imports, the admin, seed_demo) and by
# everything else the rules read: the campaign's categories, the announcement delay, the
# institutions' authorisations and the holiday calendar. The return and review pages, the
# findings' pages and submission share it; the department's board reads the counts per rule
# (live_findings), which `manage.py count_findings` also fills in, e.g. after a bulk import.
# A register row edited outside those write paths (a shell, a bulk UPDATE) is seen at the
# unit's next register change; so is an edit of another unit's type approval that this unit's
# licences cite.

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


def remember_live_findings(*, campaign, province, counts: dict[str, int], changed_at=None) -> None:
    """Keep a unit's counts per rule for the board (`changed_at`: when its register changed,
    read if not given)."""
    if changed_at is None:
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


# The size of a register with no RegisterCount row: nothing has been loaded.
EMPTY_REGISTER = {
    "licences": 0,
    "valid_licences": 0,
    "manufacturers": 0,
    "products": 0,
    "changed_at": None,
}


def register_sizes(province_ids) -> dict[int, dict]:
    """Each province's register size (RegisterCount's totals) by province id: one query.

    A province without a row has no register yet; callers use EMPTY_REGISTER for it.
    """
    rows = RegisterCount.objects.filter(province_id__in=list(province_ids), category=None).values(
        "province_id", "licences", "valid_licences", "manufacturers", "products", "changed_at"
    )
    return {
        row.pop("province_id"): {
            **row,
            "changed_at": row["changed_at"].isoformat() if row["changed_at"] else None,
        }
        for row in rows
    }


def register_is_empty(size: dict | None) -> bool:
    return not size or not size.get("licences")


@dataclass
class CommentEntry:
    """One comment of a reviewer on one item, in one round of sending back."""

    text: str
    by: str  # the reviewer's real name, else the user name
    at: datetime
    round: int  # 1 for the first send-back


def comment_threads(provincial_return: ProvincialReturn) -> dict[str, list[CommentEntry]]:
    """Every round's comments on each item (field name, "administrator", "attachments"),
    oldest first: one query."""
    threads = defaultdict(list)
    events = (
        provincial_return.events.filter(action=ReturnEventAction.RETURNED)
        .select_related("by")
        .order_by("at", "pk")
    )
    for number, event in enumerate(events, start=1):
        by = event.by.get_full_name() or event.by.get_username()
        for name, text in (event.field_comments or {}).items():
            threads[name].append(CommentEntry(text=text, by=by, at=event.at, round=number))
    return dict(threads)


def last_reminders(*, campaign, province_ids=None) -> dict[int, datetime]:
    """When each unit was last reminded in `campaign`, by province id: one query."""
    rows = ReturnEvent.objects.filter(campaign=campaign, action=ReturnEventAction.REMINDED)
    if province_ids is not None:
        rows = rows.filter(province_id__in=list(province_ids))
    return dict(
        rows.order_by()
        .values("province_id")
        .annotate(last=Max("at"))
        .values_list("province_id", "last")
    )


def register_facts(*, provincial_return: ProvincialReturn) -> RegisterFacts:
    """count_register() of the return's province and campaign, counted once per state of the
    register and kept in the cache; the board's counts per rule are kept beside them."""
    province, campaign = provincial_return.province, provincial_return.campaign
    categories = campaign_categories(campaign)
    changed_at = register_changed_at([province.pk]).get(province.pk)
    if changed_at is None:  # nothing to key the count by: no register yet, or a bare test one
        return count_register(province=province, campaign=categories)
    # The institutions and what they are authorised for: a small national table, one query.
    institutions = TypeEvaluationInstitution.objects.order_by().values_list(
        "pk", "name", "uniformly_authorised", "categories"
    )
    inputs = repr(
        (
            sorted(categories.items()),
            announcement_max_delay_days(),
            sorted(institutions, key=lambda row: (row[0], row[3] or 0)),
            chinese_calendar.__version__,
        )
    )
    key = (
        # "v1": the shape of RegisterFacts, pickled into the cache.
        f"register-facts-v1:{campaign.pk}:{province.pk}:{changed_at.timestamp()}:"
        + hashlib.sha256(inputs.encode()).hexdigest()[:32]
    )
    facts = cache.get(key)
    if facts is None:
        facts = count_register(province=province, campaign=categories)
        cache.set(key, facts, LIVE_FINDINGS_SECONDS)
    remember_live_findings(
        campaign=campaign, province=province, counts=facts.counts(), changed_at=changed_at
    )
    return facts


def return_findings(*, provincial_return: ProvincialReturn, user) -> ReturnFindings:
    """The findings and consistency warnings of a return, each linked to its own page.

    A fixed number of queries, none of which fetches the register's rows: three when the count
    is kept (register_facts), two more when it is made.
    """
    facts = register_facts(provincial_return=provincial_return)
    summaries = facts.summaries()
    warnings = consistency_warnings(
        provincial_return=provincial_return, findings=summaries, facts=facts
    )
    views, by_question = [], defaultdict(list)
    for index, summary in enumerate(summaries):
        view = FindingView(
            finding=summary,
            anchor=f"finding-{index + 1}",
            url=finding_url(provincial_return, summary.code),
        )
        views.append(view)
        by_question[RULE_QUESTION[summary.rule]].append(view)

    counts = facts.counts()
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
        facts=facts,
    )


@dataclass
class FindingPage:
    """One finding of a return with a page of what it concerns: licences, and for the
    institution rules the type approvals too."""

    finding: FindingSummary | None  # None when the register has nothing to report for the code
    code: str
    rule_label: str
    explanation: str
    licences: Page
    rows: list[tuple[Licence, tuple[str, ...]]]  # the page's licences with their notes
    type_approvals: Page | None


class _KnownCountPaginator(Paginator):
    """A paginator told how many rows there are: the count the finding's title already gives,
    made by the same rule, instead of a second pass over the register to count them again."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def finding_page(
    *, provincial_return: ProvincialReturn, user, code: str, page=None, type_approval_page=None
) -> FindingPage:
    """A page of the licences one finding concerns, with their notes: a fixed number of queries.

    Raises KeyError for a code that names no finding. Licences and type approvals are read
    through `for_user`; the return was looked up the same way.
    """
    kind = FINDING_KINDS[code]
    province, campaign = provincial_return.province, provincial_return.campaign
    facts = register_facts(provincial_return=provincial_return)
    summary = next((item for item in facts.summaries() if item.code == code), None)
    categories = campaign_categories(campaign)
    licences = finding_licences(
        licences=Licence.objects.for_user(user).select_related("manufacturer"),
        province=province,
        campaign=categories,
        code=code,
    )
    licences_page = _KnownCountPaginator(
        licences, FINDING_PAGE_SIZE, count=summary.licences if summary else 0
    ).get_page(page)
    notes = finding_notes(
        province=province,
        campaign=categories,
        code=code,
        licence_ids=[licence.pk for licence in licences_page],
    )
    type_approvals_page = None
    if kind.counts == "type_approvals":
        type_approvals = finding_type_approvals(
            type_approvals=TypeApproval.objects.for_user(user).select_related(
                "institution", "category", "manufacturer"
            ),
            province=province,
            campaign=categories,
            code=code,
        )
        type_approvals_page = _KnownCountPaginator(
            type_approvals, FINDING_PAGE_SIZE, count=summary.count if summary else 0
        ).get_page(type_approval_page)
    return FindingPage(
        finding=summary,
        code=code,
        rule_label=str(Rule(kind.rule).label),
        explanation=str(kind.explanation),
        licences=licences_page,
        rows=[(licence, notes.get(licence.pk, ())) for licence in licences_page],
        type_approvals=type_approvals_page,
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
