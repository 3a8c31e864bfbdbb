"""The licence-list import on the licence changelist: upload → preview → confirm.

The admin screens only call the service (import_preview, import_confirm). The upload is kept in
its ImportBatch, in the database, so any app server can serve the confirm; the confirm form
carries a signed token naming the batch, the file's SHA-256 and the user who uploaded it.
"""

from pathlib import Path

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.security import security_event
from config.uploads import limit_upload_size, megabytes
from licensing.importing.columns import locate_header
from licensing.importing.errors import UnreadableFile
from licensing.importing.forms import LicenceListUploadForm
from licensing.importing.readers import default_max_upload_bytes, read_rows
from licensing.importing.report import error_report_xlsx
from licensing.importing.service import (
    IMPORT_PERMISSION,
    ImportRefused,
    ImportResult,
    Problem,
    import_confirm,
    import_preview,
)
from licensing.importing.template import licence_template_xlsx
from licensing.models import (
    ImportBatch,
    ImportBatchStatus,
    Licence,
    LicensedProduct,
    Manufacturer,
)
from licensing.scoping import user_province_id

CONFIRM_SALT = "licensing.importing.confirm"
CONFIRM_MAX_AGE = 24 * 60 * 60  # seconds: a preview left overnight is confirmed the next day
SHOWN = 500  # errors, warnings and changes listed on the preview; the error report has them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- The confirm token --------------------------------------------------------------------


def confirm_token(batch: ImportBatch) -> str:
    """Signed: which batch, which file (SHA-256) and which user. Tampering breaks the signature."""
    return signing.dumps(
        {"batch": batch.pk, "sha256": batch.sha256, "user": batch.created_by_id},
        salt=CONFIRM_SALT,
    )


def read_confirm_token(token: str) -> dict:
    """The token's claims; BadSignature (or its SignatureExpired) when it is not one of ours."""
    claims = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    if not isinstance(claims, dict) or not {"batch", "sha256", "user"} <= claims.keys():
        raise signing.BadSignature("incomplete token")
    return claims


# --- What the screens show ----------------------------------------------------------------

# The keys of ImportResult.counts_dict() and the models they count.
COUNTED = (("manufacturers", Manufacturer), ("licences", Licence), ("products", LicensedProduct))


def counts_summary(counts: dict) -> str:
    """One line for a batch's counts, e.g. "licences: 3 created, 1 updated, 0 unchanged; …"."""
    parts = []
    for key, model in COUNTED:
        numbers = counts.get(key) or {}
        parts.append(
            _("%(objects)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged")
            % {
                "objects": model._meta.verbose_name_plural,
                "created": numbers.get("created", 0),
                "updated": numbers.get("updated", 0),
                "unchanged": numbers.get("unchanged", 0),
            }
        )
    return "; ".join(parts)


def counts_rows(counts: dict) -> list[tuple[str, dict]]:
    """(objects, {created, updated, unchanged}) for the counts table."""
    return [(model._meta.verbose_name_plural, counts.get(key) or {}) for key, model in COUNTED]


def stored_problems(problems: list[dict]) -> list[Problem]:
    return [
        Problem(problem.get("row"), problem.get("column"), problem.get("message", ""))
        for problem in problems
    ]


def upload_rows_and_headers(content: bytes) -> tuple[list[tuple], list[str]]:
    """The uploaded rows below the header row, and the header row's texts, for the error report.

    Without a recognisable header row, the first row stands in for it: the report still
    shows every row, and the file-level errors say what is missing.
    """
    rows = read_rows(content)
    header, _below = locate_header(rows)
    header_row = header.row if header.row is not None else (rows[0].number if rows else 0)
    headers = next((row.values for row in rows if row.number == header_row), [])
    return (
        [(row.number, row.values) for row in rows if row.number > header_row],
        ["" if value is None else str(value) for value in headers],
    )


def _xlsx_response(data: bytes, file_name: str) -> HttpResponse:
    return HttpResponse(
        data,
        content_type=XLSX,
        headers={"Content-Disposition": content_disposition_header(True, file_name)},
    )


# --- The admin views ----------------------------------------------------------------------


class LicenceListImportMixin:
    """Adds the licence-list import to the licence admin (DESIGN.md §4)."""

    import_upload_template = "admin/licensing/licence/import_upload.html"
    import_preview_template = "admin/licensing/licence/import_preview.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "import/",
                self._limit_upload_size(self.import_upload_view),
                name=f"{prefix}_import_upload",
            ),
            path(
                "import/confirm/",
                view(self.import_confirm_view),
                name=f"{prefix}_import_confirm",
            ),
            path(
                "import/template/",
                view(self.import_template_view),
                name=f"{prefix}_import_template",
            ),
            path(
                "import/<int:batch_id>/errors/",
                view(self.import_error_report_view),
                name=f"{prefix}_import_errors",
            ),
            *super().get_urls(),
        ]

    def _limit_upload_size(self, view):
        """The admin view, with the size limit applied while the upload is received."""
        return limit_upload_size(default_max_upload_bytes)(self.admin_site.admin_view(view))

    def has_import_licence_permission(self, request) -> bool:
        return request.user.has_perm(IMPORT_PERMISSION)

    def _require_import_permission(self, request) -> None:
        if not self.has_import_licence_permission(request):
            raise PermissionDenied

    def _own_batches(self, request):
        """Batches the user uploaded, within the user's province scope."""
        return ImportBatch.objects.for_user(request.user).filter(created_by=request.user)

    def _import_context(self, request, title, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "import_upload_url": reverse("admin:licensing_licence_import_upload"),
            "import_template_url": reverse("admin:licensing_licence_import_template"),
            **context,
        }

    def import_upload_view(self, request):
        """GET: the upload form. POST: check the file and show the preview; nothing is written."""
        self._require_import_permission(request)
        max_bytes = default_max_upload_bytes()
        if request.method == "POST":
            limit = getattr(request, "upload_limit", None)
            form = LicenceListUploadForm(
                request.POST,
                request.FILES,
                max_bytes=max_bytes,
                dropped=limit is not None and limit.exceeded,
            )
            if form.is_valid():
                upload = form.cleaned_data["file"]
                result, batch = import_preview(
                    data=upload.read(), file_name=upload.name, by=request.user
                )
                if not result.unreadable:
                    if result.errors:
                        security_event(
                            "import_rejected",
                            request=request,
                            batch=batch.pk,
                            file=upload.name,
                            errors=len(result.errors),
                        )
                    return self.render_import_preview(request, result, batch)
                security_event(
                    "import_refused",
                    request=request,
                    file=upload.name,
                    reason="; ".join(str(problem.message) for problem in result.errors),
                )
                form.add_error("file", [str(problem.message) for problem in result.errors])
            else:
                # Refused by the form's defences: too large, wrong type, no file.
                security_event(
                    "import_refused",
                    request=request,
                    file=getattr(request.FILES.get("file"), "name", "-"),
                    reason=",".join(
                        error.code or "invalid"
                        for errors in form.errors.as_data().values()
                        for error in errors
                    ),
                )
        else:
            form = LicenceListUploadForm(max_bytes=max_bytes)
        context = self._import_context(
            request,
            _("Import licence list"),
            form=form,
            max_megabytes=megabytes(max_bytes),
            province=request.user.province if user_province_id(request.user) else None,
        )
        return TemplateResponse(request, self.import_upload_template, context)

    def render_import_preview(self, request, result: ImportResult, batch: ImportBatch):
        changes = [
            (change, [(name, old, new) for name, (old, new) in change.fields.items()])
            for change in result.changes[:SHOWN]
        ]
        report_url = None
        if result.errors and batch.content is not None:
            report_url = reverse("admin:licensing_licence_import_errors", args=[batch.pk])
        context = self._import_context(
            request,
            _("Preview of the import of %(file)s") % {"file": batch.file_name},
            batch=batch,
            result=result,
            counts=counts_rows(result.counts_dict()),
            has_writes=any(
                counts.created or counts.updated
                for counts in (result.manufacturers, result.licences, result.products)
            ),
            errors=result.errors[:SHOWN],
            errors_not_shown=max(0, len(result.errors) - SHOWN),
            warnings=result.warnings[:SHOWN],
            warnings_not_shown=max(0, len(result.warnings) - SHOWN),
            changes=changes,
            changes_not_shown=max(0, len(result.changes) - SHOWN),
            new_licences=result.new_licences,
            new_licences_total=result.licences.created,
            shown=SHOWN,
            report_url=report_url,
            token=confirm_token(batch) if result.ok else None,
            confirm_url=reverse("admin:licensing_licence_import_confirm"),
            changelist_url=reverse("admin:licensing_licence_changelist"),
        )
        return TemplateResponse(request, self.import_preview_template, context)

    def import_confirm_view(self, request):
        """Write a previewed batch: only with an intact token of this user and an unchanged file."""
        self._require_import_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        upload_url = reverse("admin:licensing_licence_import_upload")
        try:
            claims = read_confirm_token(request.POST.get("token", ""))
        except signing.SignatureExpired:
            messages.error(
                request,
                _("This preview has expired. Upload the file again to import it."),
            )
            return HttpResponseRedirect(upload_url)
        except signing.BadSignature:
            security_event("import_refused", request=request, reason="bad_confirmation")
            messages.error(
                request,
                _(
                    "The confirmation is not valid: it was altered or is not from this system. "
                    "Nothing was written. Upload the file again."
                ),
            )
            return HttpResponseRedirect(upload_url)
        if claims["user"] != request.user.pk:
            security_event(
                "import_refused",
                request=request,
                batch=claims.get("batch"),
                reason="another_users_confirmation",
            )
            messages.error(
                request,
                _(
                    "This confirmation belongs to another user's upload, and only the user who "
                    "uploaded a file can confirm its import. Nothing was written."
                ),
            )
            return HttpResponseRedirect(upload_url)
        # The token names a batch of this user; one outside the user's scope (the user has
        # moved province since) is treated like any object of another province.
        batch = get_object_or_404(self._own_batches(request), pk=claims["batch"])
        try:
            result = import_confirm(batch=batch, by=request.user, sha256=claims["sha256"])
        except ImportRefused as refusal:
            security_event("import_refused", request=request, batch=batch.pk, reason=str(refusal))
            messages.error(request, _("Nothing was written: %(reason)s") % {"reason": refusal})
            return HttpResponseRedirect(upload_url)
        if not result.ok:
            # The register changed since the preview: show what stands in the way now.
            messages.error(
                request,
                _(
                    "Nothing was written: the register has changed since the preview, and the "
                    "file now has the errors below."
                ),
            )
            batch.refresh_from_db()
            return self.render_import_preview(request, result, batch)
        messages.success(
            request,
            _("Imported %(file)s (import batch %(batch)s): %(counts)s.")
            % {
                "file": batch.file_name,
                "batch": batch.pk,
                "counts": counts_summary(result.counts_dict()),
            },
        )
        return HttpResponseRedirect(reverse("admin:licensing_licence_changelist"))

    def import_template_view(self, request):
        self._require_import_permission(request)
        return _xlsx_response(licence_template_xlsx(), _("Licence list template") + ".xlsx")

    def import_error_report_view(self, request, batch_id):
        """The uploaded rows with each faulty cell marked and an error column (report.py)."""
        self._require_import_permission(request)
        batch = get_object_or_404(
            self._own_batches(request).filter(
                status__in=[ImportBatchStatus.PREVIEWED, ImportBatchStatus.HAS_ERRORS],
                content__isnull=False,
            ),
            pk=batch_id,
        )
        if not batch.errors:
            raise Http404
        try:
            rows, headers = upload_rows_and_headers(bytes(batch.content))
        except UnreadableFile:  # stored only after it was read once; a limit may have changed
            raise Http404 from None
        data = error_report_xlsx(rows, headers, stored_problems(batch.errors))
        suffix = _("error report")
        name = f"{Path(batch.file_name).stem or batch.pk}-{suffix}.xlsx"
        return _xlsx_response(data, name)
