"""The Metrology Department's pages: the campaign board, the status list, statistics, exports.

Every page needs a staff login; what a user sees comes through ``for_user`` (selectors.py).
The pages share the verification pages' look (page_context, verification/base.html).
"""

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from reports.selectors import (
    LATENESS_LABELS,
    NOT_STARTED,
    status_rows,
    status_totals,
)
from verification.models import Campaign, ReturnStatus
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
    )
    return TemplateResponse(request, "reports/status_list.html", context)
