"""The return's pages: the province edits, prints and submits; the department lists and reviews.

Every page needs a staff login, and every return is looked up through
``ProvincialReturn.objects.for_user``: another province's return is 404, never 403. Each write
calls one service of verification/services.py, which decides who may do what in which state;
the views only turn its refusals into messages or status codes.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.security import log_hidden_object
from config.uploads import limit_upload_size
from licensing.scoping import user_province_id, user_sees_all_provinces
from verification import layout
from verification.forms import (
    AdministratorForm,
    AttachmentForm,
    AttestForm,
    RemindForm,
    ReopenForm,
    ReturnForm,
    ReviewForm,
    add_service_errors,
    comment_field_name,
)
from verification.models import (
    ADMINISTRATOR_KEY,
    ANSWER_FIELDS,
    ATTACHMENTS_KEY,
    Campaign,
    ProvincialReturn,
    ReturnAttachment,
    ReturnStatus,
    SystemAdministrator,
    commentable_label,
)
from verification.selectors import (
    campaign_entries,
    comment_threads,
    finding_page,
    register_is_empty,
    register_sizes,
    return_findings,
)
from verification.services import (
    ConcurrentChange,
    WorkflowError,
    attachment_max_bytes,
    last_send_back,
    may_edit,
    may_reopen,
    may_review,
    may_submit,
    return_accept,
    return_attachment_add,
    return_attachment_remove,
    return_changes_since_previous_submission,
    return_reopen,
    return_save_draft,
    return_send_back,
    return_start,
    return_submission_problems,
    return_submit,
    system_administrator_add,
)
from verification.services import campaign_remind as remind_units

VIEW_RETURN = "verification.view_provincialreturn"


def page_context(request, title, **extra) -> dict:
    """The admin's own context (header, user links, theme), so the pages share its look."""
    return {
        **admin.site.each_context(request),
        # The pages are wide (findings beside the questions): no app sidebar.
        "is_nav_sidebar_enabled": False,
        "title": title,
        "layout": layout,
        **extra,
    }


def _require_view(user):
    if not user.has_perm(VIEW_RETURN):
        raise PermissionDenied


def _is_reviewer(user) -> bool:
    return user_sees_all_provinces(user) and user.has_perm(VIEW_RETURN)


def _visible_return(request, pk) -> ProvincialReturn:
    """The return if the user may see it; 404 for another province's (and for no such return)."""
    _require_view(request.user)
    try:
        return get_object_or_404(
            ProvincialReturn.objects.for_user(request.user).select_related(
                "campaign", "province", "attested_by"
            ),
            pk=pk,
        )
    except Http404:
        log_hidden_object(request, ProvincialReturn, pk)  # the security log
        raise


def _return_url(provincial_return, anchor: str = "") -> str:
    url = reverse("verification:return_detail", args=[provincial_return.pk])
    return f"{url}#{anchor}" if anchor else url


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _register_empty(size, findings) -> bool:
    """Whether the province's register holds nothing: then its pages say "no register data"
    rather than count zero findings. Without a RegisterCount row (registers written before the
    counts were kept), the findings' own figures decide."""
    facts = findings.facts
    return register_is_empty(size) and not facts.findings and not facts.licence_levels


def _refusal(form, message: str, name: str | None = None) -> dict:
    """A refused action as the page shows it: `message` at the top, in an ARIA alert region,
    with a link to the field concerned (`name`, else the first with an error), which also
    takes the focus when the page loads."""
    if name is None:
        name = next((field for field in form.fields if form.errors.get(field)), None)
    field_id = ""
    if name is not None and name in form.fields:
        form.fields[name].widget.attrs["autofocus"] = True
        bound = form[name]
        field_id = bound.id_for_label or bound.auto_id or ""
    return {"message": message, "field_id": field_id}


# --- the verification page ---------------------------------------------------------------


@require_safe
@staff_member_required
def index(request):
    """Every campaign, with the user's province's return (or, for reviewers, the counts)."""
    _require_view(request.user)
    campaigns = Campaign.objects.order_by("-is_open", "-issued_on", "notice_number")
    entries = campaign_entries(user=request.user, campaigns=campaigns)
    return TemplateResponse(
        request,
        "verification/index.html",
        page_context(
            request,
            gettext("Special verification"),
            entries=entries,
            is_reviewer=_is_reviewer(request.user),
            is_provincial=user_province_id(request.user) is not None,
            may_start=request.user.has_perm("verification.add_provincialreturn"),
        ),
    )


@require_POST
@staff_member_required
def campaign_start(request, campaign_pk: int):
    """Open the user's province's return for a campaign, creating the draft the first time."""
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    try:
        provincial_return = return_start(campaign=campaign, by=request.user)
    except WorkflowError as error:
        messages.error(request, _error_text(error))
        return redirect("verification:index")
    return redirect(provincial_return)


# --- the province's page -----------------------------------------------------------------


def _comments_by_field(provincial_return) -> tuple[object, dict]:
    """The reviewer's last send-back and its comments, while the return is back with the province."""
    if provincial_return.status != ReturnStatus.RETURNED:
        return None, {}
    event = last_send_back(provincial_return)
    return event, (event.field_comments if event else {})


def _questions(
    provincial_return,
    *,
    findings,
    form=None,
    comments=None,
    changes=(),
    review=None,
    threads=None,
):
    """Attachment 1's columns and the summary's parts as the pages show them, section by section.

    `threads`: every round's comments per field (comment_threads), for the reviewer's page.
    """
    comments = comments or {}
    threads = threads or {}

    def question(column):
        return {
            "column": column,
            "anchor": f"q-{column.key}",
            "fields": [form[name] for name in column.fields] if form is not None else [],
            "display": layout.column_display(column, provincial_return),
            "findings": findings.by_question.get(column.key, []),
            "warnings": findings.warnings_by_question.get(column.key, []),
            "comments": [comments[name] for name in column.fields if name in comments],
            "changes": [change for change in changes if change.field in column.fields],
            "comment_field": review.comment_field(column.key) if review is not None else None,
            "thread": sorted(
                (entry for name in column.fields for entry in threads.get(name, [])),
                key=lambda entry: (entry.at, entry.round),
            ),
        }

    return [
        {"heading": group.heading, "questions": [question(column) for column in group.columns]}
        for group in layout.ATTACHMENT1_GROUPS
    ] + [
        {"heading": None, "questions": [question(layout.REMARKS)]},
        {
            "heading": gettext("Written summary"),
            "questions": [question(column) for column in layout.SUMMARY_COLUMNS],
            "summary": True,
        },
    ]


def _checklist(provincial_return) -> list[dict]:
    problems = return_submission_problems(provincial_return)
    items = []
    for name, errors in problems.items():
        if name == NON_FIELD_ERRORS:
            label, anchor = commentable_label(ADMINISTRATOR_KEY), "administrator"
        elif name == ATTACHMENTS_KEY:
            label, anchor = commentable_label(ATTACHMENTS_KEY), "attachments"
        else:
            question = next(
                (
                    column.key
                    for column in (*layout.ATTACHMENT1_COLUMNS, *layout.SUMMARY_COLUMNS)
                    if name in column.fields
                ),
                name,
            )
            label, anchor = commentable_label(name), f"q-{question}"
        for error in errors:
            items.append({"label": label, "anchor": anchor, "message": " ".join(error.messages)})
    return items


def _submitted_snapshot(provincial_return):
    return provincial_return.snapshots.order_by("-number").first()


def _administrator_on_return(provincial_return, snapshot):
    """Attachment 2 as the return carries it: as submitted once locked, else the current one."""
    if not provincial_return.is_editable and snapshot is not None:
        data = snapshot.data.get(ADMINISTRATOR_KEY)
        return data, True
    current = provincial_return.current_administrator()
    if current is None:
        return None, False
    return {name: getattr(current, name) for name in layout.ATTACHMENT2_FIELDS}, False


def _administrator_rows(data) -> list[str]:
    return [data.get(name, "") for name in layout.ATTACHMENT2_FIELDS] if data else []


def _return_page(
    request,
    provincial_return,
    *,
    form=None,
    attest_form=None,
    administrator_form=None,
    attachment_form=None,
    refusal=None,
    status=200,
):
    user = request.user
    editable = may_edit(user, provincial_return)
    findings = return_findings(provincial_return=provincial_return, user=user)
    if form is None and editable:
        form = ReturnForm(instance=provincial_return)
    if not editable and not (form is not None and form.is_bound):
        form = None  # read-only, unless the user's own entries must be shown again
    submittable = may_submit(user, provincial_return)
    if attest_form is None and submittable:
        attest_form = AttestForm()
    send_back, comments = _comments_by_field(provincial_return)
    snapshot = _submitted_snapshot(provincial_return)
    administrator, as_submitted = _administrator_on_return(provincial_return, snapshot)
    own_province = user_province_id(user) == provincial_return.province_id
    may_file_administrator = own_province and user.has_perm("verification.add_systemadministrator")
    if administrator_form is None and may_file_administrator:
        administrator_form = AdministratorForm()
    may_attach = editable and user.has_perm("verification.add_returnattachment")
    if attachment_form is None and may_attach:
        attachment_form = AttachmentForm()
    # While the answers are being edited, filing Attachment 2 and uploading a file submit the
    # answers' form (to their own URLs), which saves the answers first: nothing typed is lost.
    with_answers = editable and form is not None
    if with_answers:
        for other in (administrator_form, attachment_form):
            for field in other.fields.values() if other is not None else ():
                field.widget.attrs["form"] = "return-form"
    size = register_sizes([provincial_return.province_id]).get(provincial_return.province_id)
    context = page_context(
        request,
        gettext("Return of %(province)s") % {"province": provincial_return.province.name},
        provincial_return=provincial_return,
        campaign=provincial_return.campaign,
        findings=findings,
        sections=_questions(provincial_return, findings=findings, form=form, comments=comments),
        form=form,
        editing=form is not None,
        editable=editable,
        submittable=submittable,
        attest_form=attest_form,
        checklist=_checklist(provincial_return) if editable else [],
        send_back=send_back,
        administrator_comment=comments.get(ADMINISTRATOR_KEY),
        attachments_comment=comments.get(ATTACHMENTS_KEY),
        administrator=administrator,
        administrator_row=_administrator_rows(administrator),
        administrator_as_submitted=as_submitted,
        administrator_headings=layout.attachment2_headings(),
        administrators=SystemAdministrator.objects.for_user(user)
        .in_province(provincial_return.province)
        .select_related("created_by"),
        administrator_form=administrator_form,
        attachments=provincial_return.attachments.current().select_related("uploaded_by"),
        may_attach=may_attach,
        may_remove_attachments=editable and user.has_perm("verification.delete_returnattachment"),
        attachment_form=attachment_form,
        with_answers=with_answers,
        register_empty=_register_empty(size, findings),
        refusal=refusal,
        events=provincial_return.events.select_related("by"),
    )
    return TemplateResponse(request, "verification/return_detail.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_member_required
def return_detail(request, pk: int):
    """The province's page of its return: edit and submit while it may, read it otherwise."""
    provincial_return = _visible_return(request, pk)
    if request.method == "POST":
        return _save(request, provincial_return)
    if user_province_id(request.user) is None:
        # National staff review; their link to a return (e-mails, the admin) lands here.
        return redirect("verification:return_review", pk=provincial_return.pk)
    return _return_page(request, provincial_return)


def _detached(provincial_return) -> ProvincialReturn:
    """An unsaved copy of the return for a form to validate onto.

    A ModelForm writes the user's entries onto its instance while validating; on this copy they
    stay out of the page's findings, warnings and checklist, which are about what is saved.
    """
    return ProvincialReturn(
        **{
            field.attname: getattr(provincial_return, field.attname)
            for field in ProvincialReturn._meta.concrete_fields
        }
    )


def _concurrent(request, provincial_return, attest_form=None):
    """Show the user's entries again, at the current version, beside what the other person saved."""
    current = ProvincialReturn.objects.select_related("campaign", "province", "attested_by").get(
        pk=provincial_return.pk
    )
    data = request.POST.copy()
    data["expected_version"] = str(current.version)
    form = ReturnForm(data, instance=_detached(current))
    form.is_valid()
    differing = [
        str(layout.field_label(name))
        for name in ANSWER_FIELDS
        if name in form.cleaned_data
        and ProvincialReturn._meta.get_field(name).to_python(form.cleaned_data[name])
        != getattr(current, name)
    ]
    message = gettext(
        "Someone else changed this return while you were working on it; nothing of yours was "
        "saved. Your entries are shown below."
    )
    if may_edit(request.user, current):
        message += " " + gettext(
            "Where they differ from what is now saved (%(fields)s), saving again replaces the "
            "other change with yours."
        ) % {"fields": "、".join(differing) or "—"}
    messages.error(request, message)
    return _return_page(request, current, form=form, attest_form=attest_form, status=409)


def _save(request, provincial_return):
    user = request.user
    submitting = "_submit" in request.POST
    if not may_edit(user, provincial_return):
        if user_province_id(user) == provincial_return.province_id and user.has_perm(
            "verification.change_provincialreturn"
        ):
            messages.error(
                request,
                gettext("The return is %(status)s and can no longer be changed here.")
                % {"status": provincial_return.get_status_display()},
            )
            return redirect(provincial_return)
        raise PermissionDenied
    if submitting and not may_submit(user, provincial_return):
        raise PermissionDenied
    form = ReturnForm(request.POST, instance=_detached(provincial_return))
    attest_form = AttestForm(request.POST) if submitting else None
    if not form.is_valid() or (attest_form is not None and not attest_form.is_valid()):
        return _return_page(
            request,
            provincial_return,
            form=form,
            attest_form=attest_form,
            refusal=_refusal(form, gettext("The return was not saved: correct the errors below.")),
        )
    try:
        saved = return_save_draft(
            provincial_return=provincial_return,
            by=user,
            data=form.answers(),
            expected_version=form.cleaned_data["expected_version"],
        )
    except ConcurrentChange:
        return _concurrent(request, provincial_return, attest_form)
    except WorkflowError as error:
        messages.error(request, _error_text(error))
        return redirect(provincial_return)
    except ValidationError as error:
        add_service_errors(form, error)
        return _return_page(
            request,
            provincial_return,
            form=form,
            attest_form=attest_form,
            refusal=_refusal(form, gettext("The return was not saved: correct the errors below.")),
        )

    if not submitting:
        messages.success(request, gettext("The return was saved."))
        return redirect(provincial_return)
    try:
        return_submit(
            provincial_return=saved,
            by=user,
            attest=attest_form.cleaned_data["attest"],
            expected_version=saved.version,
        )
    except ConcurrentChange:
        return _concurrent(request, provincial_return, attest_form)
    except WorkflowError as error:
        messages.error(request, _error_text(error))
        return redirect(provincial_return)
    except ValidationError as error:
        messages.error(
            request,
            " ".join(
                [gettext("The return was saved but not submitted:"), *error.messages],
            ),
        )
        return redirect(_return_url(provincial_return, "submission"))
    messages.success(
        request,
        gettext("The return was submitted to the Metrology Department."),
    )
    return redirect(provincial_return)


@require_POST
@staff_member_required
def administrator_add(request, pk: int):
    """File a new Attachment 2 for the return's province; the earlier ones stay as history."""
    provincial_return = _visible_return(request, pk)
    _require_own_province(request.user, provincial_return, "verification.add_systemadministrator")
    form = AdministratorForm(request.POST)
    provincial_return, response = _answers_first(
        request, provincial_return, administrator_form=form
    )
    if response is not None:
        return response
    not_filed = gettext("The system administrator was not filed: correct the errors below.")
    if not form.is_valid():
        return _return_page(
            request,
            provincial_return,
            administrator_form=form,
            refusal=_refusal(form, not_filed),
        )
    try:
        system_administrator_add(
            province=provincial_return.province, by=request.user, data=form.administrator_data()
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _return_page(
            request,
            provincial_return,
            administrator_form=form,
            refusal=_refusal(form, not_filed),
        )
    messages.success(request, gettext("The system administrator (Attachment 2) was filed."))
    return HttpResponseRedirect(_return_url(provincial_return, "administrator"))


def _answers_first(request, provincial_return, **forms):
    """Save the answers posted with an action of the return's page, before the action.

    While the province edits its answers, filing Attachment 2 and uploading a file submit the
    answers' form to their own URLs. Returns (the return, None) to go on with the action, or
    (None, a response) when the answers could not be saved: then nothing else is done either.
    """
    if "expected_version" not in request.POST or not may_edit(request.user, provincial_return):
        return provincial_return, None
    form = ReturnForm(request.POST, instance=_detached(provincial_return))
    message = gettext(
        "Your entries were not saved and nothing else was done: correct the errors below."
    )
    if form.is_valid():
        try:
            saved = return_save_draft(
                provincial_return=provincial_return,
                by=request.user,
                data=form.answers(),
                expected_version=form.cleaned_data["expected_version"],
            )
        except ConcurrentChange:
            return None, _concurrent(request, provincial_return)
        except WorkflowError as error:
            messages.error(request, _error_text(error))
            return None, redirect(provincial_return)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return saved, None
    return None, _return_page(
        request, provincial_return, form=form, refusal=_refusal(form, message), **forms
    )


def _require_own_province(user, provincial_return, permission: str):
    # Checked before the form, so that nobody else gets a form's errors back; the service
    # checks again, with the return's state, when it writes.
    if user_province_id(user) != provincial_return.province_id or not user.has_perm(permission):
        raise PermissionDenied


@limit_upload_size(attachment_max_bytes)
@require_POST
@staff_member_required
def attachment_upload(request, pk: int):
    provincial_return = _visible_return(request, pk)
    _require_own_province(request.user, provincial_return, "verification.add_returnattachment")
    form = AttachmentForm(request.POST, request.FILES, dropped=request.upload_limit.exceeded)
    # A file cannot be shown again: on a refusal of the answers the upload field starts empty.
    provincial_return, response = _answers_first(request, provincial_return)
    if response is not None:
        return response
    if form.is_valid():
        try:
            attachment = return_attachment_add(
                provincial_return=provincial_return, by=request.user, file=form.cleaned_data["file"]
            )
        except WorkflowError as error:
            messages.error(request, _error_text(error))
            return redirect(provincial_return)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                gettext("“%(name)s” was attached.") % {"name": attachment.download_name},
            )
            return HttpResponseRedirect(_return_url(provincial_return, "attachments"))
    return _return_page(
        request,
        provincial_return,
        attachment_form=form,
        refusal=_refusal(form, gettext("The file was not attached: see the attachments below.")),
    )


@require_POST
@staff_member_required
def attachment_remove(request, pk: int, attachment_pk: int):
    provincial_return = _visible_return(request, pk)
    _require_own_province(request.user, provincial_return, "verification.delete_returnattachment")
    attachment = get_object_or_404(provincial_return.attachments.current(), pk=attachment_pk)
    try:
        return_attachment_remove(attachment=attachment, by=request.user)
    except WorkflowError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request, gettext("“%(name)s” was removed.") % {"name": attachment.download_name}
        )
    return HttpResponseRedirect(_return_url(provincial_return, "attachments"))


# --- the findings' own pages ---------------------------------------------------------------


@require_safe
@staff_member_required
def findings(request, pk: int):
    """The register's findings of a return; with ?finding=<code>, what one finding concerns.

    The return and review pages show each finding counted, with a link here that names its
    rule: the licences concerned are listed a page at a time with their notes (and, for the
    institution rules, the type approvals), read through ``for_user`` like the return.
    """
    provincial_return = _visible_return(request, pk)
    back_url = (
        reverse("verification:return_review", args=[provincial_return.pk])
        if _is_reviewer(request.user)
        else _return_url(provincial_return)
    )
    code = request.GET.get("finding", "")
    context = {
        "provincial_return": provincial_return,
        "campaign": provincial_return.campaign,
        "back_url": back_url,
    }
    if not code:
        found = return_findings(provincial_return=provincial_return, user=request.user)
        return TemplateResponse(
            request,
            "verification/findings.html",
            page_context(
                request,
                gettext("Findings: return of %(province)s")
                % {"province": provincial_return.province.name},
                findings=found,
                **context,
            ),
        )
    try:
        page = finding_page(
            provincial_return=provincial_return,
            user=request.user,
            code=code,
            page=request.GET.get("page"),
            type_approval_page=request.GET.get("type_approvals_page"),
        )
    except KeyError:
        raise Http404 from None
    return TemplateResponse(
        request,
        "verification/finding.html",
        page_context(
            request,
            page.finding.title if page.finding else page.rule_label,
            page=page,
            findings_url=reverse("verification:return_findings", args=[provincial_return.pk]),
            **context,
        ),
    )


# --- print -------------------------------------------------------------------------------


@require_safe
@staff_member_required
def return_print(request, pk: int):
    """The return as the notice's Attachment 1 row, Attachment 2 table and the written summary.

    Once submitted, what was submitted (the last snapshot); while the province edits, its draft.
    """
    provincial_return = _visible_return(request, pk)
    snapshot = _submitted_snapshot(provincial_return)
    national = user_province_id(request.user) is None
    as_submitted = snapshot is not None and (national or not provincial_return.is_editable)
    if as_submitted:
        shown = _as_submitted(provincial_return, snapshot)
        administrator = snapshot.data.get(ADMINISTRATOR_KEY)
        size = register_sizes([provincial_return.province_id]).get(provincial_return.province_id)
        findings = return_findings(provincial_return=provincial_return, user=request.user)
        since = _since_submission(snapshot, findings, size)
    else:
        shown = provincial_return
        administrator, _shown_as_submitted = _administrator_on_return(provincial_return, snapshot)
        since = None
    context = page_context(
        request,
        gettext("Return of %(province)s: print") % {"province": provincial_return.province.name},
        provincial_return=provincial_return,
        campaign=provincial_return.campaign,
        snapshot=snapshot if as_submitted else None,
        since=since,
        groups=layout.ATTACHMENT1_GROUPS,
        cells=[layout.column_display(column, shown) for column in layout.ATTACHMENT1_COLUMNS],
        administrator_headings=layout.attachment2_headings(),
        administrator_row=_administrator_rows(administrator),
        summary=[(column.heading, getattr(shown, column.key)) for column in layout.SUMMARY_COLUMNS],
        back_url=(
            reverse("verification:return_review", args=[provincial_return.pk])
            if national
            else _return_url(provincial_return)
        ),
    )
    return TemplateResponse(request, "verification/return_print.html", context)


# --- the department's pages --------------------------------------------------------------


def require_reviewer(user):
    """Department reviewers only: national staff who may view returns."""
    if not _is_reviewer(user):
        raise PermissionDenied


def _as_submitted(provincial_return, snapshot):
    """An unsaved copy of the return holding the answers of `snapshot`, for display."""
    if snapshot is None:
        return provincial_return
    shown = _detached(provincial_return)
    for name, value in (snapshot.data.get("answers") or {}).items():
        if name in ANSWER_FIELDS:
            setattr(shown, name, value)
    return shown


def _submitted_attachments(provincial_return, snapshot) -> list:
    """The files submitted with `snapshot` (kept even if removed since), in its order."""
    if snapshot is None:
        return list(provincial_return.attachments.current().select_related("uploaded_by"))
    ids = [item["id"] for item in snapshot.data.get(ATTACHMENTS_KEY) or []]
    found = ReturnAttachment.objects.filter(provincial_return=provincial_return, pk__in=ids)
    by_id = {attachment.pk: attachment for attachment in found.select_related("uploaded_by")}
    return [by_id[pk] for pk in ids if pk in by_id]


def _since_submission(snapshot, findings, size) -> dict | None:
    """The findings and register size kept with `snapshot` beside those of the register now."""
    if snapshot is None or snapshot.data.get("findings") is None:
        return None
    submitted = snapshot.data["findings"]
    register = snapshot.data.get("register")
    rows = [
        {
            "rule": row.rule,
            "label": row.label,
            "is_problem": row.is_problem,
            "anchor": row.anchor,
            "submitted": submitted.get(row.rule, 0),
            "now": row.count,
        }
        for row in findings.rule_counts
    ]
    size = size or {}
    register_changed = register is not None and register.get("changed_at") != size.get("changed_at")
    return {
        "number": snapshot.number,
        "taken_at": snapshot.taken_at,
        "rows": rows,
        "changed": register_changed or any(row["submitted"] != row["now"] for row in rows),
        "register_then": register,
        "register_now": size,
        "empty_then": register is not None
        and register_is_empty(register)
        and not any(submitted.values()),
        "empty_now": _register_empty(size, findings),
    }


def _review_page(
    request, provincial_return, *, form=None, reopen_form=None, refusal=None, status=200
):
    user = request.user
    reviewable = may_review(user, provincial_return)
    if form is None and reviewable:
        form = ReviewForm(initial={"expected_version": provincial_return.version})
    reopenable = may_reopen(user, provincial_return)
    if reopen_form is None and reopenable:
        reopen_form = ReopenForm(initial={"expected_version": provincial_return.version})
    findings = return_findings(provincial_return=provincial_return, user=user)
    snapshot = _submitted_snapshot(provincial_return)
    changes = []
    if snapshot is not None and snapshot.number > 1:
        changes = return_changes_since_previous_submission(snapshot)
    # What the reviewer judges is what was submitted: the last snapshot, once there is one.
    shown = _as_submitted(provincial_return, snapshot)
    if snapshot is not None:
        administrator, as_submitted = snapshot.data.get(ADMINISTRATOR_KEY), True
    else:
        administrator, as_submitted = _administrator_on_return(provincial_return, snapshot)
    threads = comment_threads(provincial_return)
    size = register_sizes([provincial_return.province_id]).get(provincial_return.province_id)

    def changed(prefix):
        return [change for change in changes if change.field.split(".")[0] == prefix]

    context = page_context(
        request,
        gettext("Review: return of %(province)s") % {"province": provincial_return.province.name},
        provincial_return=provincial_return,
        campaign=provincial_return.campaign,
        findings=findings,
        sections=_questions(
            shown, findings=findings, changes=changes, review=form, threads=threads
        ),
        form=form,
        reviewable=reviewable,
        reopen_form=reopen_form,
        reopenable=reopenable,
        snapshot=snapshot,
        since=_since_submission(snapshot, findings, size),
        register_empty=_register_empty(size, findings),
        changes=changes,
        administrator=administrator,
        administrator_row=_administrator_rows(administrator),
        administrator_as_submitted=as_submitted,
        administrator_headings=layout.attachment2_headings(),
        administrator_changes=changed(ADMINISTRATOR_KEY),
        administrator_comment_field=form.comment_field(ADMINISTRATOR_KEY) if form else None,
        administrator_thread=threads.get(ADMINISTRATOR_KEY, []),
        attachments=_submitted_attachments(provincial_return, snapshot),
        attachments_as_submitted=snapshot is not None,
        attachments_changes=changed(ATTACHMENTS_KEY),
        attachments_comment_field=form.comment_field(ATTACHMENTS_KEY) if form else None,
        attachments_thread=threads.get(ATTACHMENTS_KEY, []),
        refusal=refusal,
        events=provincial_return.events.select_related("by"),
    )
    return TemplateResponse(request, "verification/review.html", context, status=status)


@require_safe
@staff_member_required
def return_review(request, pk: int):
    """The reviewer's page: the return read-only, its findings, what changed, the decision."""
    provincial_return = _visible_return(request, pk)
    require_reviewer(request.user)
    return _review_page(request, provincial_return)


def _decide(request, pk: int, decide):
    provincial_return = _visible_return(request, pk)
    require_reviewer(request.user)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _review_page(
            request,
            provincial_return,
            form=form,
            refusal=_refusal(form, gettext("Nothing was decided: correct the errors below.")),
        )
    try:
        decide(provincial_return, form)
    except ConcurrentChange as error:
        current = ProvincialReturn.objects.select_related("campaign", "province").get(
            pk=provincial_return.pk
        )
        data = request.POST.copy()
        data["expected_version"] = str(current.version)
        messages.error(
            request,
            _error_text(error)
            + " "
            + gettext("Your comments are kept below; the return is now %(status)s.")
            % {"status": current.get_status_display()},
        )
        return _review_page(request, current, form=ReviewForm(data), status=409)
    except WorkflowError as error:
        messages.error(request, _error_text(error))
        return redirect("verification:return_review", pk=provincial_return.pk)
    except ValidationError as error:
        add_service_errors(form, error)
        name = None
        if getattr(error, "code", None) == "field_comments_on_accept":
            name = comment_field_name(next(iter(form.field_comments())))
        return _review_page(
            request,
            provincial_return,
            form=form,
            refusal=_refusal(form, _error_text(error), name),
        )
    return redirect("verification:return_review", pk=provincial_return.pk)


@require_POST
@staff_member_required
def review_send_back(request, pk: int):
    """Send the return back to the province with a general comment and comments on fields."""

    def send_back(provincial_return, form):
        return_send_back(
            provincial_return=provincial_return,
            by=request.user,
            comment=form.cleaned_data["comment"],
            field_comments=form.field_comments(),
            expected_version=form.cleaned_data["expected_version"],
        )
        messages.success(
            request,
            gettext("The return was sent back to %(province)s for revision.")
            % {"province": provincial_return.province.name},
        )

    return _decide(request, pk, send_back)


@require_POST
@staff_member_required
def review_accept(request, pk: int):
    """Accept the return. Comments on fields belong to a send-back, so they stop an acceptance."""

    def accept(provincial_return, form):
        if form.field_comments():
            raise ValidationError(
                gettext(
                    "You wrote comments on fields. Send the return back for revision, or clear "
                    "those comments to accept it."
                ),
                code="field_comments_on_accept",
            )
        return_accept(
            provincial_return=provincial_return,
            by=request.user,
            comment=form.cleaned_data["comment"],
            expected_version=form.cleaned_data["expected_version"],
        )
        messages.success(
            request,
            gettext("The return of %(province)s was accepted.")
            % {"province": provincial_return.province.name},
        )

    return _decide(request, pk, accept)


@require_POST
@staff_member_required
def review_reopen(request, pk: int):
    """Reopen an accepted return, with the reason: it goes back to the province for revision."""
    provincial_return = _visible_return(request, pk)
    require_reviewer(request.user)
    form = ReopenForm(request.POST)
    not_reopened = gettext("The return was not reopened: correct the errors below.")
    if not form.is_valid():
        return _review_page(
            request, provincial_return, reopen_form=form, refusal=_refusal(form, not_reopened)
        )
    try:
        return_reopen(
            provincial_return=provincial_return,
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["expected_version"],
        )
    except WorkflowError as error:
        # Another reviewer reopened it (or changed it) first: say so, change nothing.
        messages.error(request, _error_text(error))
        return redirect("verification:return_review", pk=provincial_return.pk)
    except ValidationError as error:
        add_service_errors(form, error)
        return _review_page(
            request, provincial_return, reopen_form=form, refusal=_refusal(form, not_reopened)
        )
    messages.success(
        request,
        gettext("The return of %(province)s was reopened and sent back for revision.")
        % {"province": provincial_return.province.name},
    )
    return redirect("verification:return_review", pk=provincial_return.pk)


@require_POST
@staff_member_required
def campaign_remind(request, campaign_pk: int):
    """E-mail a reminder to the units ticked on the status list (not started, or late)."""
    require_reviewer(request.user)
    campaign = get_object_or_404(Campaign, pk=campaign_pk)
    form = RemindForm(request.POST)
    back = reverse("reports:status_list", args=[campaign.pk])
    if not form.is_valid():
        messages.error(request, _error_text(ValidationError(list(form.errors.values()))))
        return HttpResponseRedirect(back)
    try:
        events = remind_units(
            campaign=campaign, by=request.user, province_ids=form.cleaned_data["province"]
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return HttpResponseRedirect(back)
    messages.success(
        request,
        ngettext(
            "A reminder was sent to %(count)d reporting unit.",
            "A reminder was sent to %(count)d reporting units.",
            len(events),
        )
        % {"count": len(events)},
    )
    return HttpResponseRedirect(back)


# --- attachments -------------------------------------------------------------------------


@require_safe
@login_required
def attachment_download(request, return_pk: int, pk: int):
    """Stream an attachment to a user who may see its return; 404 for anyone else."""
    provincial_return = get_object_or_404(
        ProvincialReturn.objects.for_user(request.user), pk=return_pk
    )
    attachment = get_object_or_404(provincial_return.attachments, pk=pk)
    if not request.user.has_perm("verification.view_returnattachment"):
        raise PermissionDenied
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.download_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, private=True, no_store=True)
    return response
