"""What the Metrology Department reads: the status of all 32 units, the register's size.

Everything here reads through ``for_user`` (or, for the reference list of units, reads no
province's data); nothing filters by province on its own. Dependencies run one way:
reports → verification → licensing.
"""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.models import InstrumentCategory, Licence, Province, RegisterCount
from verification.findings import RULE_ORDER, UNCHECKED_RULES, Rule
from verification.models import Campaign, ProvincialReturn, ReturnSnapshot
from verification.selectors import live_findings
from verification.services import DEADLINE_ZONE

# --- the status of all reporting units ----------------------------------------------------

NOT_STARTED = "not_started"


class Lateness:
    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"  # not submitted, and the deadline has passed


LATENESS_LABELS = {
    Lateness.ON_TIME: _("On time"),
    Lateness.LATE: _("Late"),
    Lateness.OVERDUE: _("Not submitted by the deadline"),
}


@dataclass
class StatusRow:
    province: Province
    provincial_return: ProvincialReturn | None
    status: str  # a ReturnStatus value or NOT_STARTED
    status_label: str
    lateness: str  # a Lateness value, or "" when neither applies yet
    lateness_label: str
    submissions: int
    findings_total: int | None  # problems counted at the last submission; None if never submitted
    findings_counts: dict[str, int] | None
    # Filled in by the status list (verification.selectors.register_sizes, last_reminders).
    register: dict | None = None  # the unit's register size now; None: no register data
    reminded_at: datetime | None = None  # the last reminder sent to the unit

    @property
    def remindable(self) -> bool:
        """Not started, or not submitted by the deadline (verification.services.campaign_remind)."""
        return self.status == NOT_STARTED or self.lateness == Lateness.OVERDUE


def deadline_passed(campaign: Campaign, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return now.astimezone(DEADLINE_ZONE).date() > campaign.return_deadline


def status_rows(*, campaign: Campaign, user) -> list[StatusRow]:
    """One row per reporting unit (all 32), with its return if `user` may see it: two queries.

    The findings' counts are those frozen in the last submission's snapshot, so the list never
    examines 32 registers.
    """
    last_snapshot = ReturnSnapshot.objects.filter(provincial_return=OuterRef("pk")).order_by(
        "-number"
    )
    returns = {
        provincial_return.province_id: provincial_return
        for provincial_return in ProvincialReturn.objects.for_user(user)
        .in_campaign(campaign)
        .annotate(
            submissions=Coalesce(Subquery(last_snapshot.values("number")[:1]), 0),
            last_findings=Subquery(last_snapshot.values("data__findings")[:1]),
        )
    }
    overdue = deadline_passed(campaign)
    rows = []
    # The reporting units are reference data; what is scoped is their returns.
    for province in Province.objects.order_by("code"):
        provincial_return = returns.get(province.pk)
        if provincial_return is None:
            status, label, submissions, counts = NOT_STARTED, gettext("Not started"), 0, None
        else:
            status = provincial_return.status
            label = provincial_return.get_status_display()
            submissions = provincial_return.submissions
            counts = json_object(provincial_return.last_findings)
        if provincial_return is not None and provincial_return.first_submitted_at:
            lateness = Lateness.LATE if provincial_return.is_late else Lateness.ON_TIME
        else:
            lateness = Lateness.OVERDUE if overdue else ""
        rows.append(
            StatusRow(
                province=province,
                provincial_return=provincial_return,
                status=status,
                status_label=str(label),
                lateness=lateness,
                lateness_label=str(LATENESS_LABELS.get(lateness, "")),
                submissions=submissions,
                findings_total=(
                    None
                    if counts is None
                    else sum(n for rule, n in counts.items() if rule not in UNCHECKED_RULES)
                ),
                findings_counts=counts,
            )
        )
    return rows


def json_object(value) -> dict | None:
    """A JSON object from a subquery: decoded already on PostgreSQL, text on SQLite."""
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def status_totals(rows: list[StatusRow]) -> Counter:
    return Counter(row.status for row in rows)


# --- the register's size per unit and category ----------------------------------------------


@dataclass(frozen=True)
class Size:
    """Licensed manufacturers, valid licences and licensed products (of valid licences)."""

    manufacturers: int = 0
    valid_licences: int = 0
    products: int = 0

    def __add__(self, other: "Size") -> "Size":
        return Size(
            self.manufacturers + other.manufacturers,
            self.valid_licences + other.valid_licences,
            self.products + other.products,
        )


@dataclass
class RegisterRow:
    province: Province
    cells: list[Size]  # one per category of the table, in its order
    total: Size  # the province's whole register: licences counted once, however many categories
    licences: int  # of any status: 0 means the unit has put nothing in the register
    changed_at: datetime | None

    @property
    def empty(self) -> bool:
        return self.licences == 0


@dataclass
class RegisterTable:
    categories: list
    rows: list[RegisterRow]
    column_totals: list[Size]  # per category; provinces do not share licences, so sums are exact
    total: Size


def register_table(*, user) -> RegisterTable:
    """The province × category table of the units ``user`` may see: two queries, whatever the
    register's size (the counts are kept by licensing.statistics)."""
    categories = list(InstrumentCategory.objects.order_by("sort_order", "code"))
    position = {category.pk: index for index, category in enumerate(categories)}
    counts = RegisterCount.objects.for_user(user).select_related("province")
    rows: dict[int, RegisterRow] = {}
    cells: dict[int, list[Size]] = {}
    for count in sorted(counts, key=lambda count: (count.province.code, count.category_id or 0)):
        size = Size(count.manufacturers, count.valid_licences, count.products)
        if count.category_id is None:
            rows[count.province_id] = RegisterRow(
                province=count.province,
                cells=cells.setdefault(count.province_id, [Size()] * len(categories)),
                total=size,
                licences=count.licences,
                changed_at=count.changed_at,
            )
        elif count.category_id in position:
            cells.setdefault(count.province_id, [Size()] * len(categories))[
                position[count.category_id]
            ] = size
    ordered = [rows[key] for key in sorted(rows, key=lambda key: rows[key].province.code)]
    column_totals = [
        sum((row.cells[index] for row in ordered), Size()) for index in range(len(categories))
    ]
    return RegisterTable(
        categories=categories,
        rows=ordered,
        column_totals=column_totals,
        total=sum((row.total for row in ordered), Size()),
    )


# --- the campaign board -----------------------------------------------------------------------

# The 32 units on a grid that follows China's geography roughly (row, column): a tile grid, not
# a map (published maps need the map-review approval a tile grid does not), 兵团 beside 新疆.
TILE_GRID = {
    "23": (0, 8), "15": (1, 4), "11": (1, 6), "22": (1, 8),
    "65": (2, 0), "66": (2, 1), "62": (2, 3), "64": (2, 4), "14": (2, 5), "13": (2, 6),
    "12": (2, 7), "21": (2, 8),
    "63": (3, 2), "61": (3, 3), "41": (3, 4), "37": (3, 5),
    "54": (4, 1), "51": (4, 2), "50": (4, 3), "42": (4, 4), "34": (4, 5), "32": (4, 6),
    "31": (4, 7),
    "53": (5, 2), "52": (5, 3), "43": (5, 4), "36": (5, 5), "33": (5, 6),
    "45": (6, 3), "44": (6, 4), "35": (6, 5),
    "46": (7, 4),
}  # fmt: skip


def expiring_by_month(*, user, start: date, months: int = 12) -> list[tuple[date, int]]:
    """Valid licences of the units ``user`` may see expiring in each month from ``start``'s."""
    first = start.replace(day=1)
    bounds = [first]
    for _month in range(months):
        previous = bounds[-1]
        bounds.append(date(previous.year + previous.month // 12, previous.month % 12 + 1, 1))
    counts = dict(
        Licence.objects.for_user(user)
        .valid()
        .filter(expires_on__gte=bounds[0], expires_on__lt=bounds[-1])
        .annotate(month=TruncMonth("expires_on"))
        .order_by()
        .values_list("month")
        .annotate(count=Count("pk"))
    )
    counts = {
        (key.date() if isinstance(key, datetime) else key): value for key, value in counts.items()
    }
    return [(month, counts.get(month, 0)) for month in bounds[:-1]]


def changed_since_submission(row: StatusRow, register_row) -> bool:
    """The unit submitted, and its register has changed since its last submission."""
    submitted_at = row.provincial_return.submitted_at if row.provincial_return else None
    return (
        register_row is not None
        and not register_row.empty
        and submitted_at is not None
        and register_row.changed_at is not None
        and register_row.changed_at > submitted_at
    )


@dataclass
class FindingsCell:
    submitted: int | None  # counted at the last submission; None if never submitted
    live: int | None  # counted now, where the register changed since the last submission


@dataclass
class FindingsRow:
    province: Province
    provincial_return: ProvincialReturn | None
    empty: bool  # the unit has put nothing in the register: no findings can be counted
    changed_since_submission: bool
    cells: list[FindingsCell]


def findings_table(
    *, campaign: Campaign, rows: list[StatusRow], register: "RegisterTable"
) -> tuple[list, list[FindingsRow]]:
    """Findings per rule per unit: what each unit submitted, and, where the unit's register has
    changed since, the count of the register as it is now if it has been made (the return and
    review pages and `manage.py count_findings` make it; the board never examines a register).
    """
    rules = sorted(RULE_ORDER, key=RULE_ORDER.__getitem__)
    registers = {row.province.pk: row for row in register.rows}
    stale = {
        row.province.pk: registers[row.province.pk].changed_at
        for row in rows
        if changed_since_submission(row, registers.get(row.province.pk))
    }
    live = live_findings(campaign=campaign, changed_at=stale)
    table = []
    for row in rows:
        register_row = registers.get(row.province.pk)
        counts = row.findings_counts or {}
        now = live.get(row.province.pk)
        table.append(
            FindingsRow(
                province=row.province,
                provincial_return=row.provincial_return,
                empty=register_row is None or register_row.empty,
                changed_since_submission=row.province.pk in stale,
                cells=[
                    FindingsCell(
                        submitted=None if row.findings_counts is None else counts.get(rule, 0),
                        live=None if now is None else now.get(rule, 0),
                    )
                    for rule in rules
                ],
            )
        )
    return [(rule, Rule(rule).label, rule not in UNCHECKED_RULES) for rule in rules], table
