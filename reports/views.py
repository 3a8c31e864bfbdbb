"""The Metrology Department's pages: the campaign board, the status list, statistics, exports.

Every page needs a staff login; what a user sees comes through ``for_user`` (selectors.py).
The pages share the verification pages' look (page_context, verification/base.html).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from licensing.imports import PROVINCE_SUFFIX
from licensing.scoping import user_province_id
from reports.charts import bar_chart
from reports.selectors import (
    LATENESS_LABELS,
    NOT_STARTED,
    TILE_GRID,
    StatusRow,
    expiring_by_month,
    findings_table,
    register_table,
    status_rows,
    status_totals,
)
from verification.models import Campaign, ReturnStatus
from verification.selectors import last_reminders, register_sizes
from verification.services import DEADLINE_ZONE
from verification.views import page_context, require_reviewer

STATUS_FILTERS = [NOT_STARTED, *ReturnStatus.values]
LATENESS_FILTERS = list(LATENESS_LABELS)


@require_safe
@staff_member_required
def status_list(request, campaign_pk: int):
    """All 32 reporting units of a campaign: status, submission times, lateness, findings."""
    require_reviewer(request.user)
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    rows = status_rows(campaign=campaign, user=request.user)
    # Each unit's register size (one query) and last reminder (one query).
    sizes = register_sizes(row.province.pk for row in rows)
    reminders = last_reminders(campaign=campaign)
    for row in rows:
        row.register = sizes.get(row.province.pk)
        row.reminded_at = reminders.get(row.province.pk)
    totals = status_totals(rows)
    status = request.GET.get("status", "")
    lateness = request.GET.get("lateness", "")
    if status in STATUS_FILTERS:
        rows = [row for row in rows if row.status == status]
    else:
        status = ""
    if lateness in LATENESS_FILTERS:
        rows = [row for row in rows if row.lateness == lateness]
    else:
        lateness = ""
    status_labels = {NOT_STARTED: gettext("Not started"), **dict(ReturnStatus.choices)}

    def query(**changes):
        params = {"status": status, "lateness": lateness, **changes}
        encoded = "&".join(f"{key}={value}" for key, value in params.items() if value)
        return f"?{encoded}" if encoded else "?"

    context = page_context(
        request,
        gettext("Returns for %(notice)s") % {"notice": campaign.notice_number},
        campaign=campaign,
        rows=rows,
        total_units=sum(totals.values()),
        totals=[(key, status_labels[key], totals.get(key, 0)) for key in STATUS_FILTERS],
        status_filter=[{"label": gettext("All"), "url": query(status=""), "selected": not status}]
        + [
            {"label": status_labels[key], "url": query(status=key), "selected": status == key}
            for key in STATUS_FILTERS
        ],
        lateness_filter=[
            {"label": gettext("All"), "url": query(lateness=""), "selected": not lateness}
        ]
        + [
            {"label": label, "url": query(lateness=key), "selected": lateness == key}
            for key, label in LATENESS_LABELS.items()
        ],
        filtered=bool(status or lateness),
        remindable=[row for row in rows if row.remindable],
    )
    return TemplateResponse(request, "reports/status_list.html", context)


# --- the register's size: the province × category table -----------------------------------

MEASURES = {
    "valid_licences": _("Valid licences"),
    "manufacturers": _("Licensed manufacturers"),
    "products": _("Licensed products"),
}
DEFAULT_MEASURE = "valid_licences"


def _list_url(measure: str, province=None, category=None) -> str:
    """The register list a number of the table counts (the admin's changelist, filtered)."""
    if measure == "valid_licences":
        url, params = reverse("admin:licensing_licence_changelist"), {"status__exact": "valid"}
        if province is not None:
            params["province__id__exact"] = province.pk
        if category is not None:
            params["products__category__id__exact"] = category.pk
    elif measure == "products":
        url = reverse("admin:licensing_licensedproduct_changelist")
        params = {"licence__status__exact": "valid"}
        if province is not None:
            params["licence__province__id__exact"] = province.pk
        if category is not None:
            params["category__id__exact"] = category.pk
    else:
        url = reverse("admin:licensing_manufacturer_changelist")
        params = {"licensed_in": category.code if category is not None else "any"}
        if province is not None:
            params["province__id__exact"] = province.pk
    return f"{url}?{urlencode(params)}"


@dataclass
class Number:
    value: int
    url: str


@dataclass
class TableRow:
    province: object
    empty: bool
    cells: list[Number]
    total: Number


def _table_view(table, measure: str) -> dict:
    """The table for one measure, every number with the link to what it counts."""
    rows = [
        TableRow(
            province=row.province,
            empty=row.empty,
            cells=[
                Number(getattr(size, measure), _list_url(measure, row.province, category))
                for size, category in zip(row.cells, table.categories, strict=True)
            ],
            total=Number(getattr(row.total, measure), _list_url(measure, row.province)),
        )
        for row in table.rows
    ]
    return {
        "measure": measure,
        "measure_label": MEASURES[measure],
        "measures": [
            {"key": key, "label": label, "selected": key == measure}
            for key, label in MEASURES.items()
        ],
        "categories": table.categories,
        "rows": rows,
        "column_totals": [
            Number(getattr(size, measure), _list_url(measure, None, category))
            for size, category in zip(table.column_totals, table.categories, strict=True)
        ],
        "total": Number(getattr(table.total, measure), _list_url(measure)),
        "show_totals": len(rows) > 1,
    }


def _measure(request) -> str:
    measure = request.GET.get("measure", DEFAULT_MEASURE)
    return measure if measure in MEASURES else DEFAULT_MEASURE


def _category_chart(table, title, *, nonce: str) -> str:
    return bar_chart(
        title=title,
        nonce=nonce,
        labels=[category.name for category in table.categories],
        values=[size.valid_licences for size in table.column_totals],
        horizontal=True,
    )


def _expiry_chart(*, user, start: date, title: str, nonce: str) -> str:
    months = expiring_by_month(user=user, start=start)
    return bar_chart(
        title=title,
        nonce=nonce,
        labels=[f"{month:%Y-%m}" for month, _count in months],
        values=[count for _month, count in months],
    )


def _require_statistics(user):
    """Reviewers see every unit; a provincial user its own; anyone else nothing."""
    if not user.has_perm("licensing.view_licence"):
        raise PermissionDenied


@require_safe
@staff_member_required
def statistics(request):
    """The register's size per unit and category (a provincial user: its own unit), with charts."""
    _require_statistics(request.user)
    table = register_table(user=request.user)
    today = timezone.localdate()
    own = user_province_id(request.user) is not None
    context = page_context(
        request,
        gettext("Register statistics of %(province)s") % {"province": request.user.province.name}
        if own
        else gettext("Register statistics"),
        table=_table_view(table, _measure(request)),
        category_chart=_category_chart(
            table, gettext("Valid licences per category"), nonce=request.csp_nonce
        ),
        expiry_chart=_expiry_chart(
            user=request.user,
            start=today,
            title=gettext("Valid licences expiring per month, from %(month)s")
            % {"month": f"{today:%Y-%m}"},
            nonce=request.csp_nonce,
        ),
        is_reviewer=not own,
    )
    return TemplateResponse(request, "reports/statistics.html", context)


# --- the campaign board -------------------------------------------------------------------------


@dataclass
class Tile:
    row: StatusRow
    register: object  # the unit's RegisterRow
    grid_row: int
    grid_column: int
    short_name: str


def _short_name(province) -> str:
    """北京 for 北京市, 内蒙古 for 内蒙古自治区, 兵团 for 新疆生产建设兵团."""
    if province.code == "66":
        return "兵团"
    return PROVINCE_SUFFIX.sub("", province.name)


def _countdown(campaign) -> dict:
    today = timezone.now().astimezone(DEADLINE_ZONE).date()
    days = (campaign.return_deadline - today).days
    if days > 0:
        text = ngettext(
            "%(days)d day left until the deadline",
            "%(days)d days left until the deadline",
            days,
        ) % {"days": days}
    elif days == 0:
        text = gettext("The deadline is today")
    else:
        text = ngettext(
            "The deadline passed %(days)d day ago",
            "The deadline passed %(days)d days ago",
            -days,
        ) % {"days": -days}
    return {"days": days, "text": text, "passed": days < 0}


@require_safe
@staff_member_required
def board(request, campaign_pk: int):
    """The department's view of a campaign: every unit's status, register and findings."""
    require_reviewer(request.user)
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    rows = status_rows(campaign=campaign, user=request.user)
    table = register_table(user=request.user)
    registers = {row.province.pk: row for row in table.rows}
    tiles = [
        Tile(
            row=row,
            register=registers.get(row.province.pk),
            grid_row=TILE_GRID[row.province.code][0] + 1,
            grid_column=TILE_GRID[row.province.code][1] + 1,
            short_name=_short_name(row.province),
        )
        for row in rows
        if row.province.code in TILE_GRID
    ]
    totals = status_totals(rows)
    status_labels = {NOT_STARTED: gettext("Not started"), **dict(ReturnStatus.choices)}
    status_counts = [
        {
            "key": key,
            "label": status_labels[key],
            "count": totals.get(key, 0),
            "url": reverse("reports:status_list", args=[campaign.pk]) + f"?status={key}",
        }
        for key in STATUS_FILTERS
    ]
    lateness = Counter(row.lateness for row in rows)
    rules, findings = findings_table(campaign=campaign, rows=rows, register=table)
    context = page_context(
        request,
        gettext("Board of %(notice)s") % {"notice": campaign.notice_number},
        campaign=campaign,
        countdown=_countdown(campaign),
        tiles=tiles,
        status_counts=status_counts,
        lateness=[
            {
                "key": key,
                "label": LATENESS_LABELS[key],
                "count": lateness.get(key, 0),
                "url": reverse("reports:status_list", args=[campaign.pk]) + f"?lateness={key}",
            }
            for key in ("late", "overdue")
        ],
        table=_table_view(table, _measure(request)),
        rules=rules,
        findings=findings,
        status_chart=bar_chart(
            title=gettext("Returns by status"),
            nonce=request.csp_nonce,
            labels=[str(item["label"]) for item in status_counts],
            values=[item["count"] for item in status_counts],
            horizontal=True,
        ),
        category_chart=_category_chart(
            table, gettext("Valid licences per category"), nonce=request.csp_nonce
        ),
        expiry_chart=_expiry_chart(
            user=request.user,
            start=campaign.return_deadline,
            title=gettext("Valid licences expiring per month, from the return deadline's month"),
            nonce=request.csp_nonce,
        ),
    )
    return TemplateResponse(request, "reports/board.html", context)
