"""Findings: what a province's register itself says about its licensing work in a campaign.

The province sees them before it answers Attachment 1's yes/no questions, and the department
reads them beside the answers. Each finding names its rule, the licences (and, where the rule is
about them, the type approvals or announcements) it concerns, and how many.

Some rules report what could not be checked rather than a fault (no acceptance date, a date
outside the official holiday calendar, a type-approval certificate that is not registered, no
type-evaluation institution recorded): the system never guesses, and it never passes a licence
silently either. Those rules are listed in UNCHECKED_RULES; consistency warnings ignore them.

The queries are a fixed handful per province, however many licences it has: rows are fetched
with values() and judged in Python (working days are cached per date in verification.workdays).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
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


def count_by_rule(findings: Iterable[Finding]) -> dict[str, int]:
    """Every rule with the total its findings count (0 when the register gave none)."""
    counts = dict.fromkeys(Rule.values, 0)
    for finding in findings:
        counts[finding.rule] += finding.count
    return counts


def announcement_max_delay_days() -> int:
    return getattr(settings, "ANNOUNCEMENT_MAX_DELAY_DAYS", DEFAULT_ANNOUNCEMENT_MAX_DELAY_DAYS)


def compute_findings(*, province, campaign) -> list[Finding]:
    """The findings of one province's register, within the categories the campaign covers.

    `campaign` is a Campaign (its `categories`), or anything with a `categories` attribute, or
    an iterable of InstrumentCategory objects or ids.
    """
    categories = campaign_categories(campaign)
    if not categories:
        return []
    category_ids = list(categories)
    key_managed_ids = {pk for pk, (key_managed, _name) in categories.items() if key_managed}

    in_campaign = LicensedProduct.objects.filter(
        licence=OuterRef("pk"), category_id__in=category_ids
    )
    licences = {
        row["id"]: row
        for row in Licence.objects.in_province(province)
        .filter(Exists(in_campaign))
        .order_by("number")
        .values(
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
        for row in LicensedProduct.objects.in_province(province)
        .filter(category_id__in=category_ids)
        .order_by("pk")
        .values(
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
        for row in Announcement.objects.in_province(province)
        .order_by("published_on", "pk")
        .values("id", "licence_id", "kind", "published_on", "filed_on")
        if row["licence_id"] in licences
    ]
    authorised_for_category = TypeEvaluationInstitution.categories.through.objects.filter(
        typeevaluationinstitution_id=OuterRef("institution_id"),
        instrumentcategory_id=OuterRef("category_id"),
    )
    doubtful_type_approvals = list(
        TypeApproval.objects.in_province(province)
        .filter(category_id__in=key_managed_ids)
        .annotate(authorised_for_category=Exists(authorised_for_category))
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

    def finding(self, rule, code, title, explanation, order, *, others=None, count_others=False):
        """`title` is called with the count; `others` names the field the other ids go to."""
        licences = self.licences(order)
        count = len(self.others) if count_others else len(licences)
        return Finding(
            rule=rule,
            code=code,
            title=title(count),
            explanation=str(explanation),
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

    below_level = _(
        "Licences for key-managed measuring instruments are issued by the provincial bureau. "
        "A licence issued by a municipal or county bureau exceeds its powers and is to be "
        "revoked (notice 质检量函〔2016〕27号, part III (2))."
    )
    type_approval_rule = _(
        "A measuring instrument may be licensed for manufacture only after its model has been "
        "type-approved: each licensed product must cite a type approval of the same category "
        "issued to the same manufacturer."
    )
    candidates = [
        (
            levels[IssuingLevel.MUNICIPAL],
            Rule.OUT_OF_SCOPE,
            "out_of_scope.municipal_level",
            lambda n: (
                ngettext(
                    "%(count)d licence issued at municipal level, beyond the issuing level for "
                    "key-managed instruments",
                    "%(count)d licences issued at municipal level, beyond the issuing level for "
                    "key-managed instruments",
                    n,
                )
                % {"count": n}
            ),
            below_level,
        ),
        (
            levels[IssuingLevel.COUNTY],
            Rule.OUT_OF_SCOPE,
            "out_of_scope.county_level",
            lambda n: (
                ngettext(
                    "%(count)d licence issued at county level, beyond the issuing level for "
                    "key-managed instruments",
                    "%(count)d licences issued at county level, beyond the issuing level for "
                    "key-managed instruments",
                    n,
                )
                % {"count": n}
            ),
            below_level,
        ),
        (
            missing,
            Rule.OUT_OF_SCOPE,
            "out_of_scope.no_type_approval",
            lambda n: (
                ngettext(
                    "%(count)d licence lists a product without a type approval",
                    "%(count)d licences list products without a type approval",
                    n,
                )
                % {"count": n}
            ),
            type_approval_rule,
        ),
        (
            other_category,
            Rule.OUT_OF_SCOPE,
            "out_of_scope.type_approval_other_category",
            lambda n: (
                ngettext(
                    "%(count)d licence lists a product whose type approval is for another category",
                    "%(count)d licences list products whose type approval is for another category",
                    n,
                )
                % {"count": n}
            ),
            type_approval_rule,
        ),
        (
            other_manufacturer,
            Rule.OUT_OF_SCOPE,
            "out_of_scope.type_approval_other_manufacturer",
            lambda n: (
                ngettext(
                    "%(count)d licence lists a product whose type approval belongs to another "
                    "manufacturer",
                    "%(count)d licences list products whose type approval belongs to another "
                    "manufacturer",
                    n,
                )
                % {"count": n}
            ),
            type_approval_rule,
        ),
        (
            unverified,
            Rule.TYPE_APPROVAL_UNVERIFIED,
            "type_approval_unverified",
            lambda n: (
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
    ]
    return [
        collected.finding(rule, code, title, explanation, order, others="type_approvals")
        for collected, rule, code, title, explanation in candidates
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

    explanation = _(
        "The Administrative Licensing Law (Art. 42, 45) allows 20 working days from accepting "
        "an application to the decision, 30 when the head of the authority approves an "
        "extension; days spent on testing, type evaluation, expert review and assessment are "
        "not counted. Working days follow the official holiday calendar, adjusted working "
        "weekends included."
    )
    findings = []
    for extended, code in ((False, "overdue.statutory"), (True, "overdue.extended")):
        if overdue[extended].notes:
            limit = EXTENDED_WORKING_DAYS if extended else STATUTORY_WORKING_DAYS
            findings.append(
                overdue[extended].finding(
                    Rule.OVERDUE,
                    code,
                    lambda n, limit=limit, days=longest[extended]: (
                        ngettext(
                            "%(count)d licence took longer than the statutory time limit "
                            "(%(days)d working days > %(limit)d)",
                            "%(count)d licences took longer than the statutory time limit "
                            "(up to %(days)d working days > %(limit)d)",
                            n,
                        )
                        % {"count": n, "days": days, "limit": limit}
                    ),
                    explanation,
                    order,
                )
            )
    if no_acceptance.notes:
        findings.append(
            no_acceptance.finding(
                Rule.ACCEPTED_DATE_MISSING,
                "accepted_date_missing",
                lambda n: (
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
                order,
            )
        )
    if not_covered.notes:
        findings.append(
            not_covered.finding(
                Rule.CALENDAR_NOT_COVERED,
                "calendar_not_covered",
                lambda n: (
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
                order,
            )
        )
    return findings


def _institutions(type_approvals, products, order) -> list[Finding]:
    licences_by_approval = defaultdict(list)
    for row in products:
        if row["type_approval_id"] is not None:
            licences_by_approval[row["type_approval_id"]].append(row["licence_id"])

    not_uniform, not_for_category, missing = _Collected(), _Collected(), _Collected()
    for row in type_approvals:
        if row["institution_id"] is None:
            collected = missing
        else:
            collected = (
                not_for_category if row["institution__uniformly_authorised"] else not_uniform
            )
            collected.names[row["institution__name"]] = None
        collected.add(None, other=row["id"])
        for licence_id in licences_by_approval[row["id"]]:
            collected.add(licence_id, row["certificate_number"])

    explanation = _(
        "Key-managed measuring instruments may be type-evaluated only by institutions that the "
        "national authority has uniformly authorised for that category (notice "
        "质检量函〔2016〕27号, part II (2)). Give the reason in the return's remarks."
    )
    candidates = [
        (
            not_uniform,
            Rule.UNAUTHORISED_INSTITUTION,
            "unauthorised_institution.not_uniformly_authorised",
            lambda n, names: (
                ngettext(
                    "%(count)d type approval was evaluated by an institution not uniformly "
                    "authorised by the national authority (%(institutions)s)",
                    "%(count)d type approvals were evaluated by institutions not uniformly "
                    "authorised by the national authority (%(institutions)s)",
                    n,
                )
                % {"count": n, "institutions": names}
            ),
            explanation,
        ),
        (
            not_for_category,
            Rule.UNAUTHORISED_INSTITUTION,
            "unauthorised_institution.not_authorised_for_category",
            lambda n, names: (
                ngettext(
                    "%(count)d type approval was evaluated by an institution not authorised for "
                    "its category (%(institutions)s)",
                    "%(count)d type approvals were evaluated by institutions not authorised for "
                    "their categories (%(institutions)s)",
                    n,
                )
                % {"count": n, "institutions": names}
            ),
            explanation,
        ),
        (
            missing,
            Rule.INSTITUTION_MISSING,
            "institution_missing",
            lambda n, names: (
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
        ),
    ]
    findings = []
    for collected, rule, code, title, explanation in candidates:
        if not collected.others:
            continue
        # Institution names are Chinese, and so is their list separator.
        listed = "、".join(collected.names)
        findings.append(
            collected.finding(
                rule,
                code,
                lambda n, title=title, listed=listed: title(n, listed),
                explanation,
                order,
                others="type_approvals",
                count_others=True,
            )
        )
    return findings


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
    required = {
        LicenceStatus.CHANGED: AnnouncementKind.CHANGE,
        LicenceStatus.CANCELLED: AnnouncementKind.CANCELLATION,
        LicenceStatus.REVOKED: AnnouncementKind.CANCELLATION,
    }
    missing = {kind: _Collected() for kind in AnnouncementKind}
    late = _Collected()
    for licence_id, licence in licences.items():
        # Every licence was approved once; a changed, cancelled or revoked one also needs that
        # decision announced.
        for kind in (AnnouncementKind.APPROVAL, required.get(licence["status"])):
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

    announce = _(
        "Licensing decisions (approvals, changes, cancellations and revocations) are made public "
        "(Administrative Licensing Law Art. 40) and filed with the national authority through "
        "the licence management system (notice 质检量函〔2016〕27号, part III (3))."
    )
    findings = []
    titles = {
        AnnouncementKind.APPROVAL: lambda n: (
            ngettext(
                "%(count)d licence approval not announced",
                "%(count)d licence approvals not announced",
                n,
            )
            % {"count": n}
        ),
        AnnouncementKind.CHANGE: lambda n: (
            ngettext(
                "%(count)d licence change not announced",
                "%(count)d licence changes not announced",
                n,
            )
            % {"count": n}
        ),
        AnnouncementKind.CANCELLATION: lambda n: (
            ngettext(
                "%(count)d cancellation or revocation not announced",
                "%(count)d cancellations or revocations not announced",
                n,
            )
            % {"count": n}
        ),
    }
    for kind in AnnouncementKind:
        if missing[kind].notes:
            findings.append(
                missing[kind].finding(
                    Rule.NOT_ANNOUNCED, f"not_announced.{kind}", titles[kind], announce, order
                )
            )
    if late.notes:
        findings.append(
            late.finding(
                Rule.ANNOUNCED_LATE,
                "announced_late.approval",
                lambda n: (
                    ngettext(
                        "%(count)d approval announced more than %(days)d days after the decision",
                        "%(count)d approvals announced more than %(days)d days after the decision",
                        n,
                    )
                    % {"count": n, "days": max_delay}
                ),
                _(
                    "An approval is late when its first announcement was published more than the "
                    "configured number of days after the licence was issued. Changes and "
                    "cancellations are not checked for lateness: the register records no date "
                    "for those decisions."
                ),
                order,
                others="announcements",
            )
        )
    if unfiled.others:
        findings.append(
            unfiled.finding(
                Rule.NOT_FILED,
                "not_filed",
                lambda n: (
                    ngettext(
                        "%(count)d announcement not filed with the national authority",
                        "%(count)d announcements not filed with the national authority",
                        n,
                    )
                    % {"count": n}
                ),
                announce,
                order,
                others="announcements",
                count_others=True,
            )
        )
    return findings


def _day(day: date) -> str:
    return day.isoformat()  # the project's date format, 2016-10-31, in every language


# Consistency warnings: where an answer of Attachment 1 contradicts the register. They are shown
# to the province before it submits and to the reviewer; they never block anything.

IN_FORCE_STATUSES = (LicenceStatus.VALID, LicenceStatus.CHANGED)


@dataclass(frozen=True)
class ConsistencyWarning:
    code: str  # stable, e.g. "out_of_scope_contradicts_findings"
    message: str
    field: str  # the ProvincialReturn field the answer is in


def consistency_warnings(
    *, provincial_return, findings: Iterable[Finding]
) -> list[ConsistencyWarning]:
    """Answers of the return that the register (and its findings) contradict.

    `findings` are compute_findings() of the return's province and campaign. A question not
    answered yet (None, or no level ticked) gives no warning: completeness is the workflow's
    business.
    """
    counts = count_by_rule(findings)
    province, campaign = provincial_return.province, provincial_return.campaign
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
    category_ids = list(campaign_categories(campaign))
    if provincial_return.list_filed is False or provincial_return.licence_levels:
        in_campaign = Licence.objects.in_province(province).filter(
            Exists(
                LicensedProduct.objects.filter(licence=OuterRef("pk"), category_id__in=category_ids)
            )
        )
        if (
            provincial_return.list_filed is False
            and not counts[Rule.NOT_FILED]
            and Announcement.objects.filter(licence__in=in_campaign).exists()
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
            in_force = in_campaign.filter(status__in=IN_FORCE_STATUSES)
            warnings += _level_warnings(
                answered=provincial_return.licence_levels,
                register=_count_by_level(in_force),
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
        type_approvals = TypeApproval.objects.in_province(province).filter(
            category_id__in=category_ids
        )
        warnings += _level_warnings(
            answered=provincial_return.type_approval_levels,
            register=_count_by_level(type_approvals),
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


def _count_by_level(queryset) -> dict[str, int]:
    rows = queryset.order_by().values("issuing_level").annotate(n=models.Count("pk"))
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
