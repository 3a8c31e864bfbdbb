"""What the Metrology Department reads: the status of all 32 units, the register's size.

Everything here reads through ``for_user`` (or, for the reference list of units, reads no
province's data); nothing filters by province on its own. Dependencies run one way:
reports → verification → licensing.
"""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.models import InstrumentCategory, Province, RegisterCount
from verification.findings import UNCHECKED_RULES
from verification.models import Campaign, ProvincialReturn, ReturnSnapshot
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
            counts = _decoded(provincial_return.last_findings)
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


def _decoded(value):
    """A JSON value from a subquery: decoded already on PostgreSQL, text on SQLite."""
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
