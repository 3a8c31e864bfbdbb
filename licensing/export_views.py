"""The register's exports in the admin: django-import-export's page and action, streamed.

The library's page (format, columns) and its action stay; what they lead to changes:

- the file is written from ``StreamedResource.export_rows`` (one query, fetched in chunks): a
  .csv streams as it is written, an .xlsx is written to a temporary file, then sent;
- the rows are the list's (its filters, search and order, in the user's scope) read without
  the list's per-row counts, whose grouped query the export has no use for;
- "select all" across the pages leads to the export page with the list's query string, never
  with the ids (thousands of them would exceed Django's field limit: HTTP 400); a selection on
  one page still posts its ids, checked against the user's scope (another province's id is
  refused, not dropped);
- more than EXPORT_BACKGROUND_ROWS rows make a background job (licensing/export_jobs.py),
  whose page shows its progress and then the file, to its owner only.
"""

import tempfile

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.db.models.expressions import OrderBy
from django.http import (
    FileResponse,
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from import_export.forms import SelectableFieldsExportForm
from import_export.signals import post_export

from licensing.export_jobs import JobRefused, export_job_start, is_stalled
from licensing.exports import SafeCSV, csv_pieces
from licensing.models import ExportJob, ExportJobStatus

SAFE_METHODS = ["GET", "HEAD"]
RECENT_JOBS = 5


class ExportForm(SelectableFieldsExportForm):
    """The library's export form, each column's check box labelled with the file's heading.

    The library labels them with the field's English name and the heading in brackets,
    "Number (许可证编号)".
    """

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field else field_name


class StreamedExportMixin(ExportActionMixin):
    """django-import-export's export page and action, writing the file as a stream."""

    export_template_name = "admin/licensing/export.html"
    export_form_class = ExportForm
    export_job_template_name = "admin/licensing/export_job.html"
    # The file's name before the date; the list's name when not given.
    export_file_title = None

    def get_export_filename(self, request, queryset, file_format):
        """E.g. 许可证名单-2016-10-31.xlsx: a Chinese name and the local date (Asia/Shanghai).

        The responses send it as RFC 6266/5987 says for a name that is not ASCII
        (``filename*=utf-8''…``, with an ASCII fallback), through content_disposition_header.
        """
        title = self.export_file_title or capfirst(self.opts.verbose_name_plural)
        return f"{title}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "export/jobs/<int:pk>/",
                self.admin_site.admin_view(self.export_job_view),
                name="{}_{}_export_job".format(*info),
            ),
            path(
                "export/jobs/<int:pk>/download/",
                self.admin_site.admin_view(self.export_job_download),
                name="{}_{}_export_job_download".format(*info),
            ),
        ]
        return urls + super().get_urls()

    # --- Which rows ---------------------------------------------------------------------------

    def get_export_queryset(self, request):
        """The list's rows in its order: its filters and search on the user's scope.

        The list's own queryset adds per-row counts (a grouped query); the export starts from
        ``for_user`` instead. A sort by such a count is left out: the rows then follow the
        list's remaining order.
        """
        model_admin = self
        counted = set(self.get_queryset(request).query.annotations)
        changelist_class = self.get_changelist(request)

        class ExportChangeList(changelist_class):
            def get_filters_params(self, params=None):
                result = super().get_filters_params(params)
                result.pop("_changelist_filters", None)
                return result

            def get_queryset(self, request, exclude_parameters=None):
                self.root_queryset = model_admin.model.objects.for_user(request.user)
                return super().get_queryset(request, exclude_parameters)

            def get_ordering(self, request, queryset):
                ordering = super().get_ordering(request, queryset)
                return [order for order in ordering if not _sorts_by(order, counted)]

            def get_results(self, request):
                pass  # no page, no count

        list_display = self.get_list_display(request)
        list_display_links = self.get_list_display_links(request, list_display)
        if self.get_actions(request):
            # As on the list: its sort parameter counts the checkbox column.
            list_display = ["action_checkbox", *list_display]
        changelist = ExportChangeList(
            request=request,
            model=self.model,
            list_display=list_display,
            list_display_links=list_display_links,
            list_filter=self.get_list_filter(request),
            date_hierarchy=self.date_hierarchy,
            search_fields=self.get_search_fields(request),
            list_select_related=(),  # values_list reads what it needs
            list_per_page=self.list_per_page,
            list_max_show_all=self.list_max_show_all,
            list_editable=(),
            model_admin=self,
            sortable_by=self.sortable_by,
            search_help_text=self.search_help_text,
        )
        queryset = changelist.queryset
        if queryset.query.distinct:
            # A filter or search through products: the list is made distinct; the export
            # joins every product of each licence, not only those that matched.
            ordering = queryset.query.order_by
            queryset = self.model.objects.filter(pk__in=queryset.order_by().values("pk"))
            queryset = queryset.order_by(*ordering)
        return queryset

    # --- The page and the action ----------------------------------------------------------

    def _export_form(self, request, **kwargs):
        form = self.get_export_form_class()(
            self.get_export_formats(), self.get_export_resource_classes(request), **kwargs
        )
        # Checked against the user's scope in one query (the library lists every id of the
        # scope as a choice): another province's id makes the form invalid.
        form.fields["export_items"] = forms.ModelMultipleChoiceField(
            queryset=self.model.objects.for_user(request.user),
            widget=forms.MultipleHiddenInput,
            required=False,
        )
        return form

    def export_action(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        form = self._export_form(request, data=request.POST or None)
        if form.is_valid():
            file_format = self.get_export_formats()[int(form.cleaned_data["format"])]()
            resource_class = self.choose_export_resource_class(form, request)
            fields = self.get_export_resource_fields_from_form(form)
            queryset = self.get_export_queryset(request)
            if "export_items" in request.POST:
                queryset = queryset.filter(
                    pk__in=[obj.pk for obj in form.cleaned_data["export_items"]]
                )
            else:
                total = queryset.count()
                if total > settings.EXPORT_BACKGROUND_ROWS:
                    job = export_job_start(
                        model_name=self.opts.model_name,
                        resource=resource_class.__name__,
                        fields=list(fields or []),
                        query_string=request.GET.urlencode(),
                        file_format=file_format.get_extension(),
                        file_name=self.get_export_filename(request, queryset, file_format),
                        rows_total=total,
                        by=request.user,
                    )
                    return HttpResponseRedirect(self._job_url("export_job", job))
            return self._export_response(request, file_format, resource_class, fields, queryset)
        return self._export_page(request, form)

    @property
    def _export_url(self):
        return reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_export"
        )

    # The library's description, so its translation.
    @admin.action(description=_("Export selected %(verbose_name_plural)s"))
    def export_admin_action(self, request, queryset):
        """The action: "select all" goes to the export page with the list's filters, no ids."""
        if request.POST.get("select_across") == "1":
            query = request.GET.urlencode()
            return HttpResponseRedirect(
                f"{self._export_url}?{query}" if query else self._export_url
            )
        # A page's worth of ids (list_per_page, or list_max_show_all at most).
        export_items = list(queryset.values_list("pk", flat=True))
        form = self._export_form(request, initial={"export_items": export_items})
        export_url = self._export_url
        if request.GET:
            export_url += "?" + request.GET.urlencode()
        return self._export_page(request, form, export_url=export_url)

    def _export_page(self, request, form, export_url=None):
        context = self.init_request_context_data(request, form)
        if export_url is not None:
            context["export_url"] = export_url
        if not form.initial.get("export_items") and "export_items" not in form.data:
            total = self.get_export_queryset(request).count()
            context["export_total"] = total
            context["export_in_background"] = total > settings.EXPORT_BACKGROUND_ROWS
        jobs = ExportJob.objects.owned_by(request.user).filter(model=self.opts.model_name)
        context["export_jobs"] = [
            (job, self._job_url("export_job", job), is_stalled(job)) for job in jobs[:RECENT_JOBS]
        ]
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.export_template_name], context)

    # --- Writing the file -----------------------------------------------------------------

    def _export_parts(self, request, resource_class, fields, queryset):
        resource = resource_class(**self.get_export_resource_kwargs(request))
        headers = resource.get_export_headers(selected_fields=fields)
        return headers, resource.export_rows(queryset, selected_fields=fields)

    def _export_response(self, request, file_format, resource_class, fields, queryset):
        headers, rows = self._export_parts(request, resource_class, fields, queryset)
        filename = self.get_export_filename(request, queryset, file_format)
        content_type = file_format.get_content_type()
        if isinstance(file_format, SafeCSV):
            response = StreamingHttpResponse(csv_pieces(headers, rows), content_type=content_type)
            response["Content-Disposition"] = content_disposition_header(True, filename)
        else:
            # A zip is written whole before it is read: to a temporary file, not to memory;
            # it is deleted when the response closes it.
            target = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it)
            try:
                file_format.write_rows(target, headers, rows)
            except BaseException:
                target.close()
                raise
            target.seek(0)
            response = FileResponse(
                target, as_attachment=True, filename=filename, content_type=content_type
            )
        post_export.send(sender=None, model=self.model)
        return response

    def export_job_parts(self, request, job):
        """What a background job writes: the format, the headers and the rows (a generator)."""
        if not self.has_export_permission(request):
            raise JobRefused(f"{request.user} may not export {self.opts.verbose_name_plural}.")
        formats = {fmt().get_extension(): fmt for fmt in self.get_export_formats()}
        resources = {cls.__name__: cls for cls in self.get_export_resource_classes(request)}
        if job.file_format not in formats or job.resource not in resources:
            raise JobRefused(f"Unknown format {job.file_format!r} or columns {job.resource!r}.")
        queryset = self.get_export_queryset(request)
        headers, rows = self._export_parts(
            request, resources[job.resource], job.fields or None, queryset
        )
        return formats[job.file_format](), headers, rows

    # --- The job's page and file ------------------------------------------------------------

    def _job_url(self, kind, job):
        info = self.admin_site.name, self.opts.app_label, self.opts.model_name, kind
        return reverse("{}:{}_{}_{}".format(*info), args=[job.pk])

    def _own_job(self, request, pk):
        """The user's own job of this list: 404 for anyone else's, as for an unknown id."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        jobs = ExportJob.objects.owned_by(request.user).filter(model=self.opts.model_name)
        return get_object_or_404(jobs, pk=pk)

    def export_job_view(self, request, pk):
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        job = self._own_job(request, pk)
        stalled = is_stalled(job)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export"),
            "opts": self.opts,
            "job": job,
            "stalled": stalled,
            "running": job.status in (ExportJobStatus.PENDING, ExportJobStatus.RUNNING)
            and not stalled,
            "percent": int(100 * job.rows_done / job.rows_total) if job.rows_total else 0,
            "download_url": self._job_url("export_job_download", job),
            "export_url": self._export_url + (f"?{job.query_string}" if job.query_string else ""),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.export_job_template_name], context)

    def export_job_download(self, request, pk):
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        job = self._own_job(request, pk)
        if job.status != ExportJobStatus.DONE or not job.file:
            raise Http404
        try:
            handle = job.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        formats = {fmt().get_extension(): fmt() for fmt in self.get_export_formats()}
        file_format = formats.get(job.file_format)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=job.file_name,
            content_type=file_format.get_content_type() if file_format else None,
        )
        response["X-Content-Type-Options"] = "nosniff"
        patch_cache_control(response, private=True, no_store=True)
        return response


def _sorts_by(order, names) -> bool:
    """Whether an ordering term sorts by one of ``names`` (annotations of the list)."""
    if isinstance(order, str):
        return order.lstrip("-") in names
    if isinstance(order, OrderBy) and isinstance(order.expression, F):
        return order.expression.name in names
    return False
