"""Findings: what a province's register itself says about its licensing work in a campaign.

The province sees them before it answers Attachment 1's yes/no questions, and the department
reads them beside the answers. Each finding names its rule, the licences (and, where the rule is
about them, the type approvals or announcements) it concerns, and how many.

Some rules report what could not be checked rather than a fault (no acceptance date, a date
outside the official holiday calendar, a type-approval certificate that is not registered, no
type-evaluation institution recorded): the system never guesses, and it never passes a licence
silently either. Those rules are listed in UNCHECKED_RULES; consistency warnings ignore them.

The rules are written twice, and tests/verification/test_findings_counted.py holds the two to
the same results on every case of tests/verification/test_findings.py:

- compute_findings() judges rows in Python and gives every finding with the ids of what it
  concerns and a note per licence: the specification, and what a finding's page notes its
  licences with (for one page of them at a time, finding_notes()).
- count_register() lets the database count them: one aggregate over the licences, one over the
  type approvals, whatever the register's size, with no ids leaving the database;
  finding_licences() and finding_type_approvals() are the same rules as querysets, for a
  finding's page. Working days are counted with the official calendar as a table (CalendarDay).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from licensing.models import (
    Announcement,
    AnnouncementKind,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    TypeApproval,
    TypeEvaluationInstitution,
)
from verification.models import CalendarDay
from verification.workdays import CalendarNotCovered, working_days_between

# 行政许可法 Art. 42: 20 working days from acceptance to decision, 10 more with the head's approval.
STATUTORY_WORKING_DAYS = 20
EXTENDED_WORKING_DAYS = 30
DEFAULT_ANNOUNCEMENT_MAX_DELAY_DAYS = 20


class Rule(models.TextChoices):
    """The stable codes of the findings, in the order a return shows them."""

    OUT_OF_SCOPE = "out_of_scope", _("Out-of-scope licensing")
    TYPE_APPROVAL_UNVERIFIED = "type_approval_unverified", _("Type approval not in the register")
    OVERDUE = "overdue", _("Processing beyond the statutory time limit")
    ACCEPTED_DATE_MISSING = "accepted_date_missing", _("Acceptance date missing")
    CALENDAR_NOT_COVERED = "calendar_not_covered", _("Dates outside the holiday calendar")
    UNAUTHORISED_INSTITUTION = (
        "unauthorised_institution",
        _("Type-evaluation institution not uniformly authorised"),
    )
    INSTITUTION_MISSING = "institution_missing", _("Type-evaluation institution not recorded")
    NOT_ANNOUNCED = "not_announced", _("Decision not announced")
    ANNOUNCED_LATE = "announced_late", _("Announced late")
    NOT_FILED = "not_filed", _("Announcement not filed")


# Rules that report what the register does not let the system check, not a fault found.
UNCHECKED_RULES = frozenset(
    {
        Rule.TYPE_APPROVAL_UNVERIFIED,
        Rule.ACCEPTED_DATE_MISSING,
        Rule.CALENDAR_NOT_COVERED,
        Rule.INSTITUTION_MISSING,
    }
)
RULE_ORDER = {rule: index for index, rule in enumerate(Rule)}


# --- what each finding says ------------------------------------------------------------------

BELOW_LEVEL = _(
    "Licences for key-managed measuring instruments are issued by the provincial bureau. "
    "A licence issued by a municipal or county bureau exceeds its powers and is to be "
    "revoked (notice 质检量函〔2016〕27号, part III (2))."
)
TYPE_APPROVAL_RULE = _(
    "A measuring instrument may be licensed for manufacture only after its model has been "
    "type-approved: each licensed product must cite a type approval of the same category "
    "issued to the same manufacturer."
)
PROCESSING_TIME = _(
    "The Administrative Licensing Law (Art. 42, 45) allows 20 working days from accepting "
    "an application to the decision, 30 when the head of the authority approves an "
    "extension; days spent on testing, type evaluation, expert review and assessment are "
    "not counted. Working days follow the official holiday calendar, adjusted working "
    "weekends included."
)
INSTITUTIONS = _(
    "Key-managed measuring instruments may be type-evaluated only by institutions that the "
    "national authority has uniformly authorised for that category (notice "
    "质检量函〔2016〕27号, part II (2)). Give the reason in the return's remarks."
)
ANNOUNCE = _(
    "Licensing decisions (approvals, changes, cancellations and revocations) are made public "
    "(Administrative Licensing Law Art. 40) and filed with the national authority through "
    "the licence management system (notice 质检量函〔2016〕27号, part III (3))."
)


@dataclass(frozen=True)
class FindingKind:
    """One finding code: its rule, its counted title, why it matters, and what it counts."""

    rule: str
    title: Callable[[int, Mapping], str]  # (count, the title's other figures) -> title
    explanation: Promise
    counts: str = "licences"  # "licences", "type_approvals" or "announcements"


# Every finding code, in the order a return shows them (by rule, then as listed).
FINDING_KINDS: dict[str, FindingKind] = {
    "out_of_scope.municipal_level": FindingKind(
        Rule.OUT_OF_SCOPE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence issued at municipal level, beyond the issuing level for "
                "key-managed instruments",
                "%(count)d licences issued at municipal level, beyond the issuing level for "
                "key-managed instruments",
                n,
            )
            % {"count": n}
        ),
        BELOW_LEVEL,
    ),
    "out_of_scope.county_level": FindingKind(
        Rule.OUT_OF_SCOPE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence issued at county level, beyond the issuing level for "
                "key-managed instruments",
                "%(count)d licences issued at county level, beyond the issuing level for "
                "key-managed instruments",
                n,
            )
            % {"count": n}
        ),
        BELOW_LEVEL,
    ),
    "out_of_scope.no_type_approval": FindingKind(
        Rule.OUT_OF_SCOPE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence lists a product without a type approval",
                "%(count)d licences list products without a type approval",
                n,
            )
            % {"count": n}
        ),
        TYPE_APPROVAL_RULE,
    ),
    "out_of_scope.type_approval_other_category": FindingKind(
        Rule.OUT_OF_SCOPE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence lists a product whose type approval is for another category",
                "%(count)d licences list products whose type approval is for another category",
                n,
            )
            % {"count": n}
        ),
        TYPE_APPROVAL_RULE,
    ),
    "out_of_scope.type_approval_other_manufacturer": FindingKind(
        Rule.OUT_OF_SCOPE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence lists a product whose type approval belongs to another "
                "manufacturer",
                "%(count)d licences list products whose type approval belongs to another "
                "manufacturer",
                n,
            )
            % {"count": n}
        ),
        TYPE_APPROVAL_RULE,
    ),
    "type_approval_unverified": FindingKind(
        Rule.TYPE_APPROVAL_UNVERIFIED,
        lambda n, figures: (
            ngettext(
                "%(count)d licence lists a product whose type-approval certificate is not in "
                "the register",
                "%(count)d licences list products whose type-approval certificate is not in "
                "the register",
                n,
            )
            % {"count": n}
        ),
        _(
            "The product cites a type-approval certificate number that is not registered, so "
            "whether the approval is of the same category and manufacturer cannot be "
            "checked. Register the type approval and link it to the product."
        ),
    ),
    "overdue.statutory": FindingKind(
        Rule.OVERDUE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence took longer than the statutory time limit "
                "(%(days)d working days > %(limit)d)",
                "%(count)d licences took longer than the statutory time limit "
                "(up to %(days)d working days > %(limit)d)",
                n,
            )
            % {"count": n, "days": figures["days"], "limit": STATUTORY_WORKING_DAYS}
        ),
        PROCESSING_TIME,
    ),
    "overdue.extended": FindingKind(
        Rule.OVERDUE,
        lambda n, figures: (
            ngettext(
                "%(count)d licence took longer than the statutory time limit "
                "(%(days)d working days > %(limit)d)",
                "%(count)d licences took longer than the statutory time limit "
                "(up to %(days)d working days > %(limit)d)",
                n,
            )
            % {"count": n, "days": figures["days"], "limit": EXTENDED_WORKING_DAYS}
        ),
        PROCESSING_TIME,
    ),
    "accepted_date_missing": FindingKind(
        Rule.ACCEPTED_DATE_MISSING,
        lambda n, figures: (
            ngettext(
                "The processing time of %(count)d licence cannot be checked: no acceptance "
                "date is recorded",
                "The processing time of %(count)d licences cannot be checked: no acceptance "
                "date is recorded",
                n,
            )
            % {"count": n}
        ),
        _(
            "Without the date the application was accepted, the working days to the "
            "decision cannot be counted. Record the acceptance date on the licence."
        ),
    ),
    "calendar_not_covered": FindingKind(
        Rule.CALENDAR_NOT_COVERED,
        lambda n, figures: (
            ngettext(
                "The processing time of %(count)d licence cannot be checked: its dates are "
                "outside the official holiday calendar",
                "The processing time of %(count)d licences cannot be checked: their dates "
                "are outside the official holiday calendar",
                n,
            )
            % {"count": n}
        ),
        _(
            "Working days can be counted only for the years whose official holiday "
            "calendar the system knows. For other dates the processing time is not "
            "checked rather than guessed; check the dates, or check these licences "
            "by hand."
        ),
    ),
    "unauthorised_institution.not_uniformly_authorised": FindingKind(
        Rule.UNAUTHORISED_INSTITUTION,
        lambda n, figures: (
            ngettext(
                "%(count)d type approval was evaluated by an institution not uniformly "
                "authorised by the national authority (%(institutions)s)",
                "%(count)d type approvals were evaluated by institutions not uniformly "
                "authorised by the national authority (%(institutions)s)",
                n,
            )
            % {"count": n, "institutions": figures["institutions"]}
        ),
        INSTITUTIONS,
        counts="type_approvals",
    ),
    "unauthorised_institution.not_authorised_for_category": FindingKind(
        Rule.UNAUTHORISED_INSTITUTION,
        lambda n, figures: (
            ngettext(
                "%(count)d type approval was evaluated by an institution not authorised for "
                "its category (%(institutions)s)",
                "%(count)d type approvals were evaluated by institutions not authorised for "
                "their categories (%(institutions)s)",
                n,
            )
            % {"count": n, "institutions": figures["institutions"]}
        ),
        INSTITUTIONS,
        counts="type_approvals",
    ),
    "institution_missing": FindingKind(
        Rule.INSTITUTION_MISSING,
        lambda n, figures: (
            ngettext(
                "%(count)d type approval has no type-evaluation institution recorded",
                "%(count)d type approvals have no type-evaluation institution recorded",
                n,
            )
            % {"count": n}
        ),
        _(
            "Without the institution that carried out the type evaluation, whether it was "
            "uniformly authorised cannot be checked. Record the institution on the type "
            "approval."
        ),
        counts="type_approvals",
    ),
    "not_announced.approval": FindingKind(
        Rule.NOT_ANNOUNCED,
        lambda n, figures: (
            ngettext(
                "%(count)d licence approval not announced",
                "%(count)d licence approvals not announced",
                n,
            )
            % {"count": n}
        ),
        ANNOUNCE,
    ),
    "not_announced.change": FindingKind(
        Rule.NOT_ANNOUNCED,
        lambda n, figures: (
            ngettext(
                "%(count)d licence change not announced",
                "%(count)d licence changes not announced",
                n,
            )
            % {"count": n}
        ),
        ANNOUNCE,
    ),
    "not_announced.cancellation": FindingKind(
        Rule.NOT_ANNOUNCED,
        lambda n, figures: (
            ngettext(
                "%(count)d cancellation or revocation not announced",
                "%(count)d cancellations or revocations not announced",
                n,
            )
            % {"count": n}
        ),
        ANNOUNCE,
    ),
    "announced_late.approval": FindingKind(
        Rule.ANNOUNCED_LATE,
        lambda n, figures: (
            ngettext(
                "%(count)d approval announced more than %(days)d days after the decision",
                "%(count)d approvals announced more than %(days)d days after the decision",
                n,
            )
            % {"count": n, "days": figures["days"]}
        ),
        _(
            "An approval is late when its first announcement was published more than the "
            "configured number of days after the licence was issued. Changes and "
            "cancellations are not checked for lateness: the register records no date "
            "for those decisions."
        ),
    ),
    "not_filed": FindingKind(
        Rule.NOT_FILED,
        lambda n, figures: (
            ngettext(
                "%(count)d announcement not filed with the national authority",
                "%(count)d announcements not filed with the national authority",
                n,
            )
            % {"count": n}
        ),
        ANNOUNCE,
        counts="announcements",
    ),
}
INSTITUTION_CODES = (
    "unauthorised_institution.not_uniformly_authorised",
    "unauthorised_institution.not_authorised_for_category",
    "institution_missing",
)


def _title(code: str, count: int, **figures) -> str:
    return FINDING_KINDS[code].title(count, figures)


@dataclass(frozen=True)
class Finding:
    """One kind of problem found in the register, with what it concerns."""

    rule: str  # a Rule value
    code: str  # stable and finer than the rule, e.g. "out_of_scope.county_level"
    title: str  # counted, e.g. "3 licences issued at county level, …"
    explanation: str  # why it matters, the same for every province
    count: int  # what the title counts: licences, type approvals or announcements
    licences: tuple[int, ...]  # ids of the licences concerned, in licence-number order
    type_approvals: tuple[int, ...] = ()
    announcements: tuple[int, ...] = ()
    # Licence id -> short details, e.g. ("24 working days, limit 20",).
    notes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_problem(self) -> bool:
        return self.rule not in UNCHECKED_RULES


def count_by_rule(findings: Iterable) -> dict[str, int]:
    """Every rule with the total its findings count (0 when the register gave none).

    `findings` are Finding or FindingSummary objects.
    """
    counts = dict.fromkeys(Rule.values, 0)
    for finding in findings:
        counts[finding.rule] += finding.count
    return counts


def announcement_max_delay_days() -> int:
    return getattr(settings, "ANNOUNCEMENT_MAX_DELAY_DAYS", DEFAULT_ANNOUNCEMENT_MAX_DELAY_DAYS)


# --- the rules judged in Python: every finding with its ids and notes ---------------------------


def compute_findings(*, province, campaign) -> list[Finding]:
    """The findings of one province's register, within the categories the campaign covers.

    `campaign` is a Campaign (its `categories`), or anything with a `categories` attribute, or
    an iterable of InstrumentCategory objects or ids, or campaign_categories()' result.
    The queries are a fixed handful however many licences the province has: rows are fetched
    with values() and judged in Python (working days are cached per date in
    verification.workdays). The pages use count_register() instead, which fetches no rows.
    """
    return _examine(province, campaign_categories(campaign))


def finding_notes(*, province, campaign, code: str, licence_ids) -> dict[int, tuple[str, ...]]:
    """The notes of a finding on these licences (one page of them), e.g. the working days.

    A licence's notes depend on its own rows only, so judging just these licences gives the
    notes compute_findings() gives them: a fixed handful of queries, however big the register.
    """
    licence_ids = list(licence_ids)
    if not licence_ids:
        return {}
    for finding in _examine(province, campaign_categories(campaign), licence_ids=licence_ids):
        if finding.code == code:
            return dict(finding.notes)
    return {}


def _examine(province, categories, licence_ids=None) -> list[Finding]:
    """compute_findings(), or with `licence_ids` the same rules on those licences only."""
    if not categories:
        return []
    category_ids = list(categories)
    key_managed_ids = {pk for pk, (key_managed, _name) in categories.items() if key_managed}

    in_campaign = LicensedProduct.objects.filter(
        licence=OuterRef("pk"), category_id__in=category_ids
    )
    licences = Licence.objects.in_province(province).filter(Exists(in_campaign))
    products = LicensedProduct.objects.in_province(province).filter(category_id__in=category_ids)
    announcements = Announcement.objects.in_province(province)
    type_approvals = TypeApproval.objects.in_province(province).filter(
        category_id__in=key_managed_ids
    )
    if licence_ids is not None:
        licences = licences.filter(pk__in=licence_ids)
        products = products.filter(licence_id__in=licence_ids)
        announcements = announcements.filter(licence_id__in=licence_ids)
        type_approvals = type_approvals.filter(pk__in=Subquery(products.values("type_approval_id")))
    licences = {
        row["id"]: row
        for row in licences.order_by("number").values(
            "id",
            "number",
            "manufacturer_id",
            "issuing_level",
            "accepted_on",
            "issued_on",
            "excluded_days",
            "extension_approved",
            "status",
        )
    }
    products = [
        row
        for row in products.order_by("pk").values(
            "id",
            "licence_id",
            "category_id",
            "category__name",
            "product_name",
            "model_spec",
            "type_approval_id",
            "type_approval_number",
            "type_approval__certificate_number",
            "type_approval__category_id",
            "type_approval__category__name",
            "type_approval__manufacturer_id",
        )
        # A licence written between the two queries is judged next time, not half now.
        if row["licence_id"] in licences
    ]
    announcements = [
        row
        for row in announcements.order_by("published_on", "pk").values(
            "id", "licence_id", "kind", "published_on", "filed_on"
        )
        if row["licence_id"] in licences
    ]
    authorised_for_category = TypeEvaluationInstitution.categories.through.objects.filter(
        typeevaluationinstitution_id=OuterRef("institution_id"),
        instrumentcategory_id=OuterRef("category_id"),
    )
    doubtful_type_approvals = list(
        type_approvals.annotate(authorised_for_category=Exists(authorised_for_category))
        .filter(
            models.Q(institution__isnull=True)
            | models.Q(institution__uniformly_authorised=False)
            | models.Q(authorised_for_category=False)
        )
        .order_by("certificate_number")
        .values(
            "id",
            "certificate_number",
            "institution_id",
            "institution__name",
            "institution__uniformly_authorised",
            "authorised_for_category",
        )
    )

    order = {licence_id: index for index, licence_id in enumerate(licences)}
    findings = [
        *_out_of_scope(licences, products, key_managed_ids, order),
        *_processing_time(licences, order),
        *_institutions(doubtful_type_approvals, products, order),
        *_announcements(licences, announcements, order),
    ]
    findings.sort(key=lambda finding: RULE_ORDER[finding.rule])  # stable: codes keep their order
    return findings


def campaign_categories(campaign) -> dict[int, tuple[bool, str]]:
    """Category id -> (key-managed, name) for the categories the campaign covers."""
    if isinstance(campaign, dict):  # this function's own result, passed on
        return campaign
    categories = getattr(campaign, "categories", campaign)
    if hasattr(categories, "all"):  # a related manager
        categories = categories.all()
    if isinstance(categories, models.QuerySet):
        rows = categories.values_list("pk", "key_managed", "name")
        return {pk: (key_managed, name) for pk, key_managed, name in rows}
    result, ids = {}, []
    for category in categories:
        if isinstance(category, InstrumentCategory):
            result[category.pk] = (category.key_managed, category.name)
        else:
            ids.append(category)
    if ids:
        rows = InstrumentCategory.objects.filter(pk__in=ids).values_list(
            "pk", "key_managed", "name"
        )
        result.update({pk: (key_managed, name) for pk, key_managed, name in rows})
    return result


class _Collected:
    """Licences (with notes) and other objects gathered for one finding code."""

    def __init__(self):
        self.notes: dict[int, list[str]] = defaultdict(list)
        self.others: dict[int, None] = {}  # type approval or announcement ids, ordered
        self.names: dict[str, None] = {}  # institution names for the title, ordered

    def add(self, licence_id: int | None, note: str = "", other: int | None = None):
        if licence_id is not None:
            notes = self.notes[licence_id]
            if note and note not in notes:
                notes.append(note)
        if other is not None:
            self.others[other] = None

    def licences(self, order: Mapping[int, int]) -> tuple[int, ...]:
        return tuple(sorted(self.notes, key=order.__getitem__))

    def finding(self, code, order, *, others=None, count_others=False, **figures):
        """`others` names the field the other ids go to; `figures` are the title's own."""
        kind = FINDING_KINDS[code]
        licences = self.licences(order)
        count = len(self.others) if count_others else len(licences)
        return Finding(
            rule=kind.rule,
            code=code,
            title=kind.title(count, figures),
            explanation=str(kind.explanation),
            count=count,
            licences=licences,
            notes={pk: tuple(self.notes[pk]) for pk in licences if self.notes[pk]},
            **({others: tuple(self.others)} if others else {}),
        )


def _out_of_scope(licences, products, key_managed_ids, order) -> list[Finding]:
    key_managed_licences = {
        row["licence_id"] for row in products if row["category_id"] in key_managed_ids
    }
    levels = {IssuingLevel.MUNICIPAL: _Collected(), IssuingLevel.COUNTY: _Collected()}
    for licence_id, licence in licences.items():
        if licence_id in key_managed_licences and licence["issuing_level"] in levels:
            levels[licence["issuing_level"]].add(licence_id)

    missing, other_category, other_manufacturer, unverified = (_Collected() for _i in range(4))
    for row in products:
        licence = licences[row["licence_id"]]
        product = f"{row['product_name']} {row['model_spec']}"
        if row["type_approval_id"] is None:
            if row["type_approval_number"]:
                unverified.add(
                    row["licence_id"],
                    gettext("%(product)s: certificate %(number)s is not registered")
                    % {"product": product, "number": row["type_approval_number"]},
                )
            else:
                missing.add(row["licence_id"], product)
            continue
        certificate = row["type_approval__certificate_number"]
        if row["type_approval__category_id"] != row["category_id"]:
            other_category.add(
                row["licence_id"],
                gettext("%(product)s (%(category)s): %(number)s is a type approval for %(other)s")
                % {
                    "product": product,
                    "category": row["category__name"],
                    "number": certificate,
                    "other": row["type_approval__category__name"],
                },
                other=row["type_approval_id"],
            )
        if row["type_approval__manufacturer_id"] != licence["manufacturer_id"]:
            other_manufacturer.add(
                row["licence_id"],
                gettext("%(product)s: %(number)s was issued to another manufacturer")
                % {"product": product, "number": certificate},
                other=row["type_approval_id"],
            )

    candidates = [
        (levels[IssuingLevel.MUNICIPAL], "out_of_scope.municipal_level"),
        (levels[IssuingLevel.COUNTY], "out_of_scope.county_level"),
        (missing, "out_of_scope.no_type_approval"),
        (other_category, "out_of_scope.type_approval_other_category"),
        (other_manufacturer, "out_of_scope.type_approval_other_manufacturer"),
        (unverified, "type_approval_unverified"),
    ]
    return [
        collected.finding(code, order, others="type_approvals")
        for collected, code in candidates
        if collected.notes
    ]


def _processing_time(licences, order) -> list[Finding]:
    overdue = {False: _Collected(), True: _Collected()}  # by extension_approved
    longest = {False: 0, True: 0}
    no_acceptance, not_covered = _Collected(), _Collected()
    for licence_id, licence in licences.items():
        if licence["accepted_on"] is None:
            no_acceptance.add(licence_id)
            continue
        try:
            elapsed = working_days_between(licence["accepted_on"], licence["issued_on"])
        except CalendarNotCovered as error:
            not_covered.add(
                licence_id,
                gettext("No official holiday calendar for %(date)s") % {"date": _day(error.day)},
            )
            continue
        extended = licence["extension_approved"]
        limit = EXTENDED_WORKING_DAYS if extended else STATUTORY_WORKING_DAYS
        counted = elapsed - licence["excluded_days"]
        if counted > limit:
            overdue[extended].add(
                licence_id,
                gettext("%(days)d working days (limit %(limit)d)")
                % {"days": counted, "limit": limit},
            )
            longest[extended] = max(longest[extended], counted)

    findings = []
    for extended, code in ((False, "overdue.statutory"), (True, "overdue.extended")):
        if overdue[extended].notes:
            findings.append(overdue[extended].finding(code, order, days=longest[extended]))
    if no_acceptance.notes:
        findings.append(no_acceptance.finding("accepted_date_missing", order))
    if not_covered.notes:
        findings.append(not_covered.finding("calendar_not_covered", order))
    return findings


def _institutions(type_approvals, products, order) -> list[Finding]:
    licences_by_approval = defaultdict(list)
    for row in products:
        if row["type_approval_id"] is not None:
            licences_by_approval[row["type_approval_id"]].append(row["licence_id"])

    collected = {code: _Collected() for code in INSTITUTION_CODES}
    not_uniform, not_for_category, missing = collected.values()
    for row in type_approvals:
        if row["institution_id"] is None:
            into = missing
        else:
            into = not_for_category if row["institution__uniformly_authorised"] else not_uniform
            into.names[row["institution__name"]] = None
        into.add(None, other=row["id"])
        for licence_id in licences_by_approval[row["id"]]:
            into.add(licence_id, row["certificate_number"])

    return [
        into.finding(
            code,
            order,
            others="type_approvals",
            count_others=True,
            # Institution names are Chinese, and so is their list separator.
            institutions="、".join(into.names),
        )
        for code, into in collected.items()
        if into.others
    ]


def _announcements(licences, announcements, order) -> list[Finding]:
    first_published = {}  # (licence id, kind) -> the earliest publication
    unfiled = _Collected()
    for row in announcements:  # ordered by publication date
        first_published.setdefault((row["licence_id"], row["kind"]), row)
        if row["filed_on"] is None:
            unfiled.add(
                row["licence_id"],
                gettext("%(kind)s announced %(date)s")
                % {
                    "kind": AnnouncementKind(row["kind"]).label,
                    "date": _day(row["published_on"]),
                },
                other=row["id"],
            )

    max_delay = announcement_max_delay_days()
    missing = {kind: _Collected() for kind in AnnouncementKind}
    late = _Collected()
    for licence_id, licence in licences.items():
        # Every licence was approved once; a changed, cancelled or revoked one also needs that
        # decision announced.
        for kind in (AnnouncementKind.APPROVAL, ANNOUNCEMENT_REQUIRED.get(licence["status"])):
            if kind and (licence_id, kind) not in first_published:
                missing[kind].add(licence_id)
        # Only approvals are checked for lateness: the register has their decision date
        # (issued_on) but no date for a change or cancellation decision, and updated_at or the
        # history would date the data entry, not the decision.
        approval = first_published.get((licence_id, AnnouncementKind.APPROVAL))
        if approval and (approval["published_on"] - licence["issued_on"]).days > max_delay:
            late.add(
                licence_id,
                gettext("published %(published)s, %(days)d days after issue on %(issued)s")
                % {
                    "published": _day(approval["published_on"]),
                    "days": (approval["published_on"] - licence["issued_on"]).days,
                    "issued": _day(licence["issued_on"]),
                },
                other=approval["id"],
            )

    findings = [
        missing[kind].finding(f"not_announced.{kind}", order)
        for kind in AnnouncementKind
        if missing[kind].notes
    ]
    if late.notes:
        findings.append(
            late.finding("announced_late.approval", order, others="announcements", days=max_delay)
        )
    if unfiled.others:
        findings.append(
            unfiled.finding("not_filed", order, others="announcements", count_others=True)
        )
    return findings


# The announcement a licence's status needs besides its approval's.
ANNOUNCEMENT_REQUIRED = {
    LicenceStatus.CHANGED: AnnouncementKind.CHANGE,
    LicenceStatus.CANCELLED: AnnouncementKind.CANCELLATION,
    LicenceStatus.REVOKED: AnnouncementKind.CANCELLATION,
}


def _day(day: date) -> str:
    return day.isoformat()  # the project's date format, 2016-10-31, in every language


# --- the same rules counted by the database ------------------------------------------------------


@dataclass(frozen=True)
class FindingCount:
    """A finding as the database counts it: how many, never which."""

    count: int  # what the title counts: licences, type approvals or announcements
    licences: int  # the licences it concerns
    figures: Mapping = field(default_factory=dict)  # the title's other figures


@dataclass(frozen=True)
class FindingSummary:
    """A finding as a page shows it: its title, and how many licences a click away."""

    rule: str
    code: str
    title: str
    explanation: str
    count: int
    licences: int
    counts: str  # what `count` counts: "licences", "type_approvals" or "announcements"

    @property
    def is_problem(self) -> bool:
        return self.rule not in UNCHECKED_RULES


@dataclass(frozen=True)
class RegisterFacts:
    """What the database counted in one province's register for a campaign: its findings, and
    the figures the consistency warnings compare the answers with. Plain values, to be cached.
    """

    findings: Mapping[str, FindingCount]  # by code, only the codes with something to report
    licence_levels: Mapping[str, int]  # licences in force per issuing level
    type_approval_levels: Mapping[str, int]
    has_announcements: bool  # any announcement of a licence in the campaign

    def summaries(self) -> list[FindingSummary]:
        """The findings in the order a return shows them, titled in the active language."""
        return [
            FindingSummary(
                rule=FINDING_KINDS[code].rule,
                code=code,
                title=FINDING_KINDS[code].title(counted.count, counted.figures),
                explanation=str(FINDING_KINDS[code].explanation),
                count=counted.count,
                licences=counted.licences,
                counts=FINDING_KINDS[code].counts,
            )
            for code, counted in sorted(self.findings.items(), key=lambda item: CODE_ORDER[item[0]])
        ]

    def counts(self) -> dict[str, int]:
        """Every rule with the total its findings count, as count_by_rule() gives it."""
        return count_by_rule(
            FindingSummary(FINDING_KINDS[code].rule, code, "", "", counted.count, 0, "")
            for code, counted in self.findings.items()
        )


CODE_ORDER = {code: index for index, code in enumerate(FINDING_KINDS)}
NO_FACTS = RegisterFacts(
    findings={}, licence_levels={}, type_approval_levels={}, has_announcements=False
)
IN_FORCE_STATUSES = (LicenceStatus.VALID, LicenceStatus.CHANGED)


def count_register(*, province, campaign) -> RegisterFacts:
    """The findings of one province's register counted by the database: two queries (three
    with the campaign's categories), whatever the register's size, and no ids fetched."""
    categories = campaign_categories(campaign)
    if not categories:
        return NO_FACTS
    rules = _SqlRules(province, categories)
    row = rules.count()

    # The type approvals: their levels, and per institution rule how many and whose.
    type_approval_levels, doubtful = defaultdict(int), defaultdict(int)
    institutions = defaultdict(dict)
    type_approval_rows = (
        rules.type_approvals()
        .order_by()
        .values("issuing_level", "doubt", "institution__name")
        .annotate(n=Count("pk"), first=Min("certificate_number"))
        # Named in the order of their first certificate, as compute_findings() names them.
        .order_by("first")
    )
    for type_approval in type_approval_rows:
        type_approval_levels[type_approval["issuing_level"]] += type_approval["n"]
        if type_approval["doubt"]:
            doubtful[type_approval["doubt"]] += type_approval["n"]
            if type_approval["institution__name"] is not None:
                institutions[type_approval["doubt"]][type_approval["institution__name"]] = None

    findings = {}
    for code in FINDING_KINDS:
        licences = row[code]
        if code in INSTITUTION_CODES:
            if doubtful[code]:
                figures = {"institutions": "、".join(institutions[code])}
                findings[code] = FindingCount(doubtful[code], licences, figures)
        elif code == "not_filed":
            if row["unfiled"]:
                findings[code] = FindingCount(row["unfiled"], licences)
        elif licences:
            figures = {}
            if code in ("overdue.statutory", "overdue.extended"):
                figures = {"days": row[f"longest {code}"]}
            elif code == "announced_late.approval":
                figures = {"days": rules.max_delay}
            findings[code] = FindingCount(licences, licences, figures)
    return RegisterFacts(
        findings=findings,
        licence_levels={
            level.value: row[f"in force {level}"]
            for level in IssuingLevel
            if row[f"in force {level}"]
        },
        type_approval_levels=dict(type_approval_levels),
        has_announcements=bool(row["announced"]),
    )


def finding_licences(*, licences, province, campaign, code: str) -> models.QuerySet:
    """The licences a finding concerns, in licence-number order.

    `licences` is where to look, e.g. Licence.objects.for_user(user): the rule narrows it to the
    province's register and the campaign's categories.
    """
    categories = campaign_categories(campaign)
    if not categories or code not in FINDING_KINDS:
        return licences.none()
    rules = _SqlRules(province, categories)
    return rules.licences(licences).filter(rules.filters[code]).order_by("number")


def finding_type_approvals(*, type_approvals, province, campaign, code: str) -> models.QuerySet:
    """The type approvals an institution finding counts, in certificate-number order."""
    categories = campaign_categories(campaign)
    if not categories or code not in INSTITUTION_CODES:
        return type_approvals.none()
    rules = _SqlRules(province, categories)
    return rules.type_approvals(type_approvals).filter(doubt=code).order_by("certificate_number")


class _SqlRules:
    """The findings' rules over one province's register, in the two forms the database runs
    fast: counted in one pass, or as a filter that finds a page of licences.

    A licence's facts are what its products and announcements say: whether one product is of a
    key-managed category, one has no type approval, …, whether an approval was announced. The
    conditions on one product or announcement are written once, below; counting takes the
    maximum of each over a licence's rows (one join, grouped by licence), a finding's page asks
    whether such a row exists (EXISTS). Working days come from the official calendar's table.
    """

    def __init__(self, province, categories):
        self.province = province
        self.category_ids = list(categories)
        self.key_managed_ids = [
            pk for pk, (key_managed, _name) in categories.items() if key_managed
        ]
        self.max_delay = announcement_max_delay_days()

    # Conditions on one licensed product (of the campaign's categories) of the licence.
    def product_conditions(self) -> dict[str, Q]:
        return {
            # A condition that can never hold when the campaign has no key-managed category.
            "f_key_managed": Q(category_id__in=self.key_managed_ids or [0]),
            "f_no_type_approval": Q(type_approval__isnull=True, type_approval_number=""),
            "f_unverified": Q(type_approval__isnull=True) & ~Q(type_approval_number=""),
            "f_other_category": Q(type_approval__isnull=False)
            & ~Q(type_approval__category_id=F("category_id")),
            "f_other_manufacturer": Q(type_approval__isnull=False)
            & ~Q(type_approval__manufacturer_id=F("licence__manufacturer_id")),
            **{
                f"f_institution_{index}": Q(
                    type_approval__in=self.type_approvals().filter(doubt=code).values("pk")
                )
                for index, code in enumerate(INSTITUTION_CODES)
            },
        }

    # Conditions on one announcement of the licence, reached by `path` from where it is asked.
    def announcement_conditions(self, path: str = "") -> dict[str, Q]:
        in_time = ExpressionWrapper(
            F("licence__issued_on") + timedelta(days=self.max_delay),
            output_field=models.DateField(),
        )
        return {
            "f_approval": Q(**{f"{path}kind": AnnouncementKind.APPROVAL}),
            "f_approved_in_time": Q(
                **{f"{path}kind": AnnouncementKind.APPROVAL, f"{path}published_on__lte": in_time}
            ),
            "f_change": Q(**{f"{path}kind": AnnouncementKind.CHANGE}),
            "f_cancellation": Q(**{f"{path}kind": AnnouncementKind.CANCELLATION}),
        }

    @property
    def filters(self) -> dict[str, Q]:
        """Each finding code as a condition on a licence's facts (see licences())."""
        institution_facts = {
            code: f"f_institution_{index}" for index, code in enumerate(INSTITUTION_CODES)
        }
        return {
            "out_of_scope.municipal_level": Q(
                f_key_managed=True, issuing_level=IssuingLevel.MUNICIPAL
            ),
            "out_of_scope.county_level": Q(f_key_managed=True, issuing_level=IssuingLevel.COUNTY),
            "out_of_scope.no_type_approval": Q(f_no_type_approval=True),
            "out_of_scope.type_approval_other_category": Q(f_other_category=True),
            "out_of_scope.type_approval_other_manufacturer": Q(f_other_manufacturer=True),
            "type_approval_unverified": Q(f_unverified=True),
            "overdue.statutory": Q(
                extension_approved=False, f_working_days__gt=STATUTORY_WORKING_DAYS
            ),
            "overdue.extended": Q(
                extension_approved=True, f_working_days__gt=EXTENDED_WORKING_DAYS
            ),
            "accepted_date_missing": Q(accepted_on__isnull=True),
            # working_days_between() looks at the days after acceptance up to the decision:
            # none when both are the same day.
            "calendar_not_covered": Q(
                accepted_on__isnull=False, issued_on__gt=F("accepted_on"), f_working_days=None
            ),
            **{code: Q(**{fact: True}) for code, fact in institution_facts.items()},
            "not_announced.approval": Q(f_approval=False),
            "not_announced.change": Q(status=LicenceStatus.CHANGED, f_change=False),
            "not_announced.cancellation": Q(
                status__in=[LicenceStatus.CANCELLED, LicenceStatus.REVOKED], f_cancellation=False
            ),
            "announced_late.approval": Q(f_approval=True, f_approved_in_time=False),
            "not_filed": Q(f_unfiled=True),
        }

    def licences(self, base) -> models.QuerySet:
        """`base` narrowed to the province's licences in the campaign, with their facts as
        aliases (EXISTS subqueries) for `filters` to filter on."""
        products = LicensedProduct.objects.filter(
            licence=OuterRef("pk"), category_id__in=self.category_ids
        )
        announcements = Announcement.objects.filter(licence=OuterRef("pk"))
        facts = {
            **{
                fact: Exists(products.filter(condition))
                for fact, condition in self.product_conditions().items()
            },
            **{
                fact: Exists(announcements.filter(condition))
                for fact, condition in self.announcement_conditions().items()
            },
            "f_unfiled": Exists(announcements.filter(filed_on__isnull=True)),
            "f_working_days": ExpressionWrapper(
                self._calendar("issued_on") - self._calendar("accepted_on") - F("excluded_days"),
                output_field=models.IntegerField(),
            ),
        }
        return base.in_province(self.province).filter(Exists(products)).alias(**facts)

    @staticmethod
    def _calendar(day: str):
        """A day's number in the official calendar (null outside it)."""
        return Subquery(CalendarDay.objects.filter(day=OuterRef(day)).values("working_day_number"))

    def count(self) -> dict:
        """How many licences each finding code concerns, and the other figures: one query.

        The facts of every licence in the campaign come from one pass over its products (joined
        to their type approvals, the licence and its announcements), grouped by licence; the
        query around it joins the calendar on the two dates and counts each code. That outer
        query is SQL of its own: the ORM cannot join a table it has no relation to.
        """
        per_licence = (
            LicensedProduct.objects.filter(
                licence__province=self.province, category_id__in=self.category_ids
            )
            .order_by()
            .values(f_licence=F("licence_id"))
            .annotate(
                **{
                    fact: Max(Case(When(condition, then=1), default=0))
                    for fact, condition in (
                        *self.product_conditions().items(),
                        *self.announcement_conditions("licence__announcements__").items(),
                    )
                },
                f_announced=Max(
                    Case(When(licence__announcements__isnull=False, then=1), default=0)
                ),
                f_unfiled=Count(
                    "licence__announcements",
                    distinct=True,
                    filter=Q(licence__announcements__filed_on__isnull=True),
                ),
            )
        )
        inner, inner_params = per_licence.query.sql_with_params()
        working_days = (
            "(issued.working_day_number - accepted.working_day_number - licence.excluded_days)"
        )
        # Name -> (condition on a licence, its parameters): the rules of `filters`, on the
        # columns of `per_licence`, the licence and its two calendar days.
        cancelled = [LicenceStatus.CANCELLED, LicenceStatus.REVOKED]
        overdue = {
            "overdue.statutory": (
                f"licence.extension_approved = %s AND {working_days} > %s",
                [False, STATUTORY_WORKING_DAYS],
            ),
            "overdue.extended": (
                f"licence.extension_approved = %s AND {working_days} > %s",
                [True, EXTENDED_WORKING_DAYS],
            ),
        }
        counted = {
            "out_of_scope.municipal_level": (
                "f_key_managed = 1 AND licence.issuing_level = %s",
                [IssuingLevel.MUNICIPAL],
            ),
            "out_of_scope.county_level": (
                "f_key_managed = 1 AND licence.issuing_level = %s",
                [IssuingLevel.COUNTY],
            ),
            "out_of_scope.no_type_approval": ("f_no_type_approval = 1", []),
            "out_of_scope.type_approval_other_category": ("f_other_category = 1", []),
            "out_of_scope.type_approval_other_manufacturer": ("f_other_manufacturer = 1", []),
            "type_approval_unverified": ("f_unverified = 1", []),
            **overdue,
            "accepted_date_missing": ("licence.accepted_on IS NULL", []),
            "calendar_not_covered": (
                "licence.accepted_on IS NOT NULL AND licence.issued_on > licence.accepted_on"
                " AND (accepted.day IS NULL OR issued.day IS NULL)",
                [],
            ),
            **{
                code: (f"f_institution_{index} = 1", [])
                for index, code in enumerate(INSTITUTION_CODES)
            },
            "not_announced.approval": ("f_approval = 0", []),
            "not_announced.change": (
                "licence.status = %s AND f_change = 0",
                [LicenceStatus.CHANGED],
            ),
            "not_announced.cancellation": (
                "licence.status IN (%s, %s) AND f_cancellation = 0",
                cancelled,
            ),
            "announced_late.approval": ("f_approval = 1 AND f_approved_in_time = 0", []),
            "not_filed": ("f_unfiled > 0", []),
            "announced": ("f_announced = 1", []),
            **{
                f"in force {level}": (
                    "licence.status IN (%s, %s) AND licence.issuing_level = %s",
                    [*IN_FORCE_STATUSES, level],
                )
                for level in IssuingLevel
            },
        }
        assert counted.keys() >= self.filters.keys()
        columns, params = [], []
        for condition, condition_params in counted.values():
            columns.append(f"COUNT(*) FILTER (WHERE {condition})")
            params += condition_params
        for condition, condition_params in overdue.values():
            columns.append(f"MAX({working_days}) FILTER (WHERE {condition})")
            params += condition_params
        columns.append("SUM(f_unfiled)")
        licence = connection.ops.quote_name(Licence._meta.db_table)
        calendar = connection.ops.quote_name(CalendarDay._meta.db_table)
        # Only the ORM's SQL, names and placeholders go into the text; values are parameters.
        sql = (
            f"SELECT {', '.join(columns)} FROM ({inner}) per_licence"  # noqa: S608
            f" JOIN {licence} licence ON licence.id = per_licence.f_licence"
            f" LEFT JOIN {calendar} accepted ON accepted.day = licence.accepted_on"
            f" LEFT JOIN {calendar} issued ON issued.day = licence.issued_on"
            # Implied by the inner query, but said here too: PostgreSQL then joins the
            # province's licences, not all of them by primary key (100 ms for 浙江).
            " WHERE licence.province_id = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *inner_params, self.province.pk])
            values = cursor.fetchone()
        names = [*counted, *(f"longest {code}" for code in overdue), "unfiled"]
        # Whole numbers, or None for the maximum of nothing (PostgreSQL's SUM is a decimal).
        return {
            name: None if value is None else int(value)
            for name, value in zip(names, values, strict=True)
        }

    def type_approvals(self, base=None) -> models.QuerySet:
        """The province's type approvals in the campaign, each with the institution rule it
        breaks (`doubt`, a code of INSTITUTION_CODES; "" for none, or not key-managed)."""
        base = TypeApproval.objects.all() if base is None else base
        type_approvals = base.in_province(self.province).filter(category_id__in=self.category_ids)
        if not self.key_managed_ids:
            return type_approvals.annotate(doubt=Value(""))
        authorised = TypeEvaluationInstitution.categories.through.objects.filter(
            typeevaluationinstitution_id=OuterRef("institution_id"),
            instrumentcategory_id=OuterRef("category_id"),
        )
        not_uniform, not_for_category, missing = INSTITUTION_CODES
        return type_approvals.annotate(
            doubt=Case(
                When(~Q(category_id__in=self.key_managed_ids), then=Value("")),
                When(institution__isnull=True, then=Value(missing)),
                When(institution__uniformly_authorised=False, then=Value(not_uniform)),
                When(~Exists(authorised), then=Value(not_for_category)),
                default=Value(""),
                output_field=models.CharField(),
            )
        )


# Consistency warnings: where an answer of Attachment 1 contradicts the register. They are shown
# to the province before it submits and to the reviewer; they never block anything.


@dataclass(frozen=True)
class ConsistencyWarning:
    code: str  # stable, e.g. "out_of_scope_contradicts_findings"
    message: str
    field: str  # the ProvincialReturn field the answer is in


def consistency_warnings(
    *, provincial_return, findings: Iterable, facts: RegisterFacts | None = None
) -> list[ConsistencyWarning]:
    """Answers of the return that the register (and its findings) contradict.

    `findings` are compute_findings() of the return's province and campaign, or the summaries
    of `facts`, its count_register(): with `facts` the register is not read again. A question
    not answered yet (None, or no level ticked) gives no warning: completeness is the
    workflow's business.
    """
    counts = count_by_rule(findings)
    warnings = []

    if provincial_return.out_of_scope is False and counts[Rule.OUT_OF_SCOPE]:
        warnings.append(
            ConsistencyWarning(
                "out_of_scope_contradicts_findings",
                ngettext(
                    "Answered “No”, but the register shows %(count)d case of out-of-scope "
                    "licensing.",
                    "Answered “No”, but the register shows %(count)d cases of out-of-scope "
                    "licensing.",
                    counts[Rule.OUT_OF_SCOPE],
                )
                % {"count": counts[Rule.OUT_OF_SCOPE]},
                "out_of_scope",
            )
        )

    if provincial_return.institutions_authorised and counts[Rule.UNAUTHORISED_INSTITUTION]:
        warnings.append(
            ConsistencyWarning(
                "institutions_contradict_findings",
                ngettext(
                    "Answered “Yes”, but %(count)d type approval in the register was evaluated "
                    "by an institution not uniformly authorised for its category.",
                    "Answered “Yes”, but %(count)d type approvals in the register were evaluated "
                    "by institutions not uniformly authorised for their categories.",
                    counts[Rule.UNAUTHORISED_INSTITUTION],
                )
                % {"count": counts[Rule.UNAUTHORISED_INSTITUTION]},
                "institutions_authorised",
            )
        )

    if provincial_return.list_filed and counts[Rule.NOT_FILED]:
        warnings.append(
            ConsistencyWarning(
                "list_filed_contradicts_unfiled_announcements",
                ngettext(
                    "Answered “Yes”, but %(count)d announcement in the register has not been "
                    "filed with the national authority.",
                    "Answered “Yes”, but %(count)d announcements in the register have not been "
                    "filed with the national authority.",
                    counts[Rule.NOT_FILED],
                )
                % {"count": counts[Rule.NOT_FILED]},
                "list_filed",
            )
        )

    if not (
        provincial_return.list_filed is False
        or provincial_return.licence_levels
        or provincial_return.type_approval_levels
    ):
        return warnings  # the rest needs the register itself
    if facts is None:
        facts = _level_facts(
            provincial_return,
            announcements=provincial_return.list_filed is False and not counts[Rule.NOT_FILED],
        )
    if (
        provincial_return.list_filed is False
        and not counts[Rule.NOT_FILED]
        and facts.has_announcements
    ):
        warnings.append(
            ConsistencyWarning(
                "list_not_filed_contradicts_announcements",
                gettext(
                    "Answered “No”, but every announcement in the register has been filed "
                    "with the national authority."
                ),
                "list_filed",
            )
        )
    if provincial_return.licence_levels:
        warnings += _level_warnings(
            answered=provincial_return.licence_levels,
            register=facts.licence_levels,
            field="licence_levels",
            missing_message=lambda n: ngettext(
                "“%(level)s” is not ticked, but the register has %(count)d licence in force "
                "issued at that level.",
                "“%(level)s” is not ticked, but the register has %(count)d licences in force "
                "issued at that level.",
                n,
            ),
            unused_message=gettext(
                "“%(level)s” is ticked, but the register has no licence in force issued at "
                "that level."
            ),
        )
    if provincial_return.type_approval_levels:
        warnings += _level_warnings(
            answered=provincial_return.type_approval_levels,
            register=facts.type_approval_levels,
            field="type_approval_levels",
            missing_message=lambda n: ngettext(
                "“%(level)s” is not ticked, but the register has %(count)d type approval issued "
                "at that level.",
                "“%(level)s” is not ticked, but the register has %(count)d type approvals issued "
                "at that level.",
                n,
            ),
            unused_message=gettext(
                "“%(level)s” is ticked, but the register has no type approval issued at that level."
            ),
        )
    return warnings


def _level_facts(provincial_return, *, announcements: bool) -> RegisterFacts:
    """What the remaining warnings need from the register, read only for what was answered
    (`announcements`: whether any announcement exists matters)."""
    province, campaign = provincial_return.province, provincial_return.campaign
    category_ids = list(campaign_categories(campaign))
    has_announcements, licence_levels, type_approval_levels = False, {}, {}
    if announcements or provincial_return.licence_levels:
        in_campaign = Licence.objects.in_province(province).filter(
            Exists(
                LicensedProduct.objects.filter(licence=OuterRef("pk"), category_id__in=category_ids)
            )
        )
        if announcements:
            has_announcements = Announcement.objects.filter(licence__in=in_campaign).exists()
        if provincial_return.licence_levels:
            licence_levels = _count_by_level(in_campaign.filter(status__in=IN_FORCE_STATUSES))
    if provincial_return.type_approval_levels:
        type_approval_levels = _count_by_level(
            TypeApproval.objects.in_province(province).filter(category_id__in=category_ids)
        )
    return RegisterFacts(
        findings={},
        licence_levels=licence_levels,
        type_approval_levels=type_approval_levels,
        has_announcements=has_announcements,
    )


def _count_by_level(queryset) -> dict[str, int]:
    rows = queryset.order_by().values("issuing_level").annotate(n=Count("pk"))
    return {row["issuing_level"]: row["n"] for row in rows}


def _level_warnings(*, answered, register, field, missing_message, unused_message):
    warnings = []
    for level in IssuingLevel:
        label = str(level.label)
        if level in register and level not in answered:
            warnings.append(
                ConsistencyWarning(
                    f"{field}_missing_{level}",
                    missing_message(register[level]) % {"level": label, "count": register[level]},
                    field,
                )
            )
        elif level in answered and level not in register:
            warnings.append(
                ConsistencyWarning(
                    f"{field}_unused_{level}", unused_message % {"level": label}, field
                )
            )
    return warnings
