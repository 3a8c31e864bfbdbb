"""The department's downloads: Attachments 1 and 2, the status list and the statistics, as .xlsx.

A department reviewer gets the national tables; a provincial user gets its own unit's copy (the
status list is the department's alone; the statistics follow the statistics page's rule). The
rows come through ``for_user`` querysets; the list of reporting units is reference data, and
holds nothing a unit may not see.
"""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from licensing.models import Province
from licensing.scoping import user_province_id
from reports import exports
from reports.selectors import register_table, status_rows
from verification.models import Campaign, ProvincialReturn, SystemAdministrator
from verification.views import VIEW_RETURN, require_reviewer

VIEW_ADMINISTRATOR = "verification.view_systemadministrator"
VIEW_LICENCE = "licensing.view_licence"


def _units(user, permission: str) -> tuple[list[Province], Province | None]:
    """The units the user's file covers, and the user's own unit (None: the national table).

    National staff must be department reviewers; a provincial user needs ``permission``.
    """
    province_id = user_province_id(user)
    if province_id is None:
        require_reviewer(user)
        return list(Province.objects.order_by("code")), None
    if not user.has_perm(permission):
        raise PermissionDenied
    province = Province.objects.get(pk=province_id)
    return [province], province


def _download(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response


@require_safe
@staff_member_required
def attachment1_xlsx(request, campaign_pk: int):
    """Attachment 1 of a campaign: every unit's row as last submitted, or the user's own."""
    units, own = _units(request.user, VIEW_RETURN)
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    rows = exports.attachment1_rows(
        campaign=campaign,
        returns=ProvincialReturn.objects.for_user(request.user),
        provinces=units,
    )
    content = exports.attachment1_xlsx(
        rows=rows, campaign=campaign, reporting_unit=own.name if own else ""
    )
    name = exports.file_name(
        gettext("Attachment 1"), exports.attachment1_title(), own.name if own else ""
    )
    return _download(content, name)


@require_safe
@staff_member_required
def attachment2_xlsx(request, campaign_pk: int):
    """Attachment 2: every unit's current system administrator, or the user's own unit's."""
    _units_covered, own = _units(request.user, VIEW_ADMINISTRATOR)
    # Attachment 2 is filed once per unit, not per campaign; the campaign only has to exist.
    get_object_or_404(Campaign, pk=campaign_pk)
    rows = exports.attachment2_rows(
        administrators=SystemAdministrator.objects.for_user(request.user)
    )
    name = exports.file_name(
        gettext("Attachment 2"), exports.attachment2_title(), own.name if own else ""
    )
    return _download(exports.attachment2_xlsx(rows=rows), name)


@require_safe
@staff_member_required
def status_list_xlsx(request, campaign_pk: int):
    """The status of all reporting units of a campaign: department reviewers only."""
    require_reviewer(request.user)
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    rows = status_rows(campaign=campaign, user=request.user)
    content = exports.status_list_xlsx(campaign=campaign, rows=rows)
    return _download(content, exports.file_name(exports.status_list_title(campaign)))


@require_safe
@staff_member_required
def statistics_xlsx(request):
    """The register's province × category table: all units, or the user's own."""
    # The statistics page's rule (reports.views.statistics): the counts are the register's, so
    # whoever may view licences gets them, scoped by RegisterCount.objects.for_user.
    if not request.user.has_perm(VIEW_LICENCE):
        raise PermissionDenied
    province_id = user_province_id(request.user)
    own = Province.objects.get(pk=province_id) if province_id else None
    content = exports.register_table_xlsx(table=register_table(user=request.user))
    name = exports.file_name(exports.register_table_title(), own.name if own else "")
    return _download(content, name)
