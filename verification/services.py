"""Every write to a provincial return: start, edit, attach, submit, send back, accept.

Each function is keyword-only, runs in one transaction, takes the acting user, and records
what it did in ReturnEvent. Who may act is decided here, from the user's province and
permissions (accounts/migrations/0005_verification_roles.py) and the return's status:

- provincial users of the return's province with ``change_provincialreturn`` edit it while it
  is a draft or returned for revision, and while the campaign is open;
- only those with ``submit_provincialreturn`` (the provincial system administrator) submit;
- national staff with ``review_provincialreturn`` accept or send back a submitted return.

The return is always looked up again through ``ProvincialReturn.objects.for_user(by)``, so a
user of another province gets ``ProvincialReturn.DoesNotExist`` (a view's 404), never a hint.
Two people acting at once cannot both win: the row is locked (``select_for_update``) and the
caller's expected ``version`` must still be the row's version, else ``ConcurrentChange``.
"""

import hashlib
import os
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.uploads import megabytes
from licensing.models import Province
from licensing.scoping import user_province_id, user_sees_all_provinces
from verification import notifications
from verification.fields import ChoiceListField
from verification.models import (
    ADMINISTRATOR_KEY,
    ANSWER_FIELDS,
    ATTACHMENTS_KEY,
    COMMENTABLE_FIELDS,
    EDITABLE_STATUSES,
    SUMMARY_FIELDS,
    Campaign,
    ProvincialReturn,
    ReturnAttachment,
    ReturnEvent,
    ReturnEventAction,
    ReturnSnapshot,
    ReturnStatus,
    SystemAdministrator,
    attachment_name,
)
from verification.selectors import EMPTY_REGISTER, register_facts, register_sizes

# Deadlines are days in China: "by 2016-10-31" ends at midnight Beijing time.
DEADLINE_ZONE = ZoneInfo("Asia/Shanghai")

# Attachment 1 answers that must be given before submitting. The "other" text, the reform
# description and the remarks are optional on their own (see return_submission_problems).
REQUIRED_ANSWERS = (
    "out_of_scope",
    "institutions_authorised",
    "list_filed",
    "online_approval",
    "type_approval_department",
    "type_approval_levels",
    "licence_department",
    "licence_levels",
    *SUMMARY_FIELDS,
)

ADMINISTRATOR_FIELDS = (
    "name",
    "organisation",
    "title",
    "office_phone",
    "mobile",
    "email",
    "effective_from",
)

# Magic bytes of the accepted attachment types: the content decides, never the file name.
FILE_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class WorkflowError(ValidationError):
    """A workflow action was refused; the message says why, the code is stable."""


class ReturnLocked(WorkflowError):
    """The province tried to change a return that is submitted or accepted."""


class InvalidTransition(WorkflowError):
    """The action does not apply to the return's current status."""


class ConcurrentChange(WorkflowError):
    """Someone else changed the return since the caller loaded it."""


# --- who may do what ----------------------------------------------------------------------


def _of_province(user, provincial_return) -> bool:
    return (
        user.is_active
        and user_province_id(user) is not None
        and user_province_id(user) == provincial_return.province_id
    )


def may_edit(user, provincial_return) -> bool:
    """Whether `user` may change the answers and attachments now."""
    return (
        _of_province(user, provincial_return)
        and user.has_perm("verification.change_provincialreturn")
        and provincial_return.status in EDITABLE_STATUSES
        and provincial_return.campaign.is_open
    )


def may_submit(user, provincial_return) -> bool:
    """Whether `user` may submit now (completeness is checked on submission)."""
    return (
        _of_province(user, provincial_return)
        and user.has_perm("verification.submit_provincialreturn")
        and provincial_return.status in EDITABLE_STATUSES
        and provincial_return.campaign.is_open
    )


def may_review(user, provincial_return) -> bool:
    """Whether `user` may accept or send back the return now."""
    return (
        user_sees_all_provinces(user)
        and user.has_perm("verification.review_provincialreturn")
        and provincial_return.status == ReturnStatus.SUBMITTED
    )


def _require_province_role(user, provincial_return, permission: str):
    if not (_of_province(user, provincial_return) and user.has_perm(permission)):
        raise PermissionDenied(gettext("You may not do this to the return."))


def _require_editable(provincial_return):
    if provincial_return.status not in EDITABLE_STATUSES:
        raise ReturnLocked(
            _(
                "The return is %(status)s and can no longer be changed by the province; it "
                "can be changed only while it is a draft or returned for revision."
            ),
            code="return_locked",
            params={"status": provincial_return.get_status_display()},
        )
    if not provincial_return.campaign.is_open:
        raise ReturnLocked(
            _("The campaign %(campaign)s is closed; its returns can no longer be changed."),
            code="campaign_closed",
            params={"campaign": provincial_return.campaign.notice_number},
        )


# --- locking ------------------------------------------------------------------------------


def _concurrent_change() -> ConcurrentChange:
    return ConcurrentChange(
        _(
            "Someone else changed this return while you were working on it. Reload it and "
            "make your change again."
        ),
        code="concurrent_change",
    )


def _lock(provincial_return, by, expected_version: int | None):
    """The return's row, locked for this transaction, as `by` may see it, at the expected version."""
    locked = ProvincialReturn.objects.for_user(by).select_for_update().get(pk=provincial_return.pk)
    if expected_version is not None and locked.version != expected_version:
        raise _concurrent_change()
    return locked


def _write(locked, fields, *, expected_version: int, at: datetime, caller=None):
    """Save `fields` and a new version, provided the row is still at `expected_version`.

    The lock already serialises writers on PostgreSQL; the conditional UPDATE also holds where
    row locks do not exist (SQLite) or a caller skipped the lock.
    """
    locked.version = expected_version + 1
    locked.updated_at = at
    values = {name: getattr(locked, name) for name in fields}
    updated = ProvincialReturn.objects.filter(pk=locked.pk, version=expected_version).update(
        version=locked.version, updated_at=at, **values
    )
    if updated != 1:
        raise _concurrent_change()
    if caller is not None and caller is not locked:
        # The caller's instance follows, so it can go on to its next action.
        for name in (*fields, "version", "updated_at"):
            setattr(caller, name, getattr(locked, name))


def _expected(provincial_return, expected_version: int | None) -> int:
    return provincial_return.version if expected_version is None else expected_version


def _event(provincial_return, *, action, by, at, from_status="", **fields) -> ReturnEvent:
    return ReturnEvent.objects.create(
        provincial_return=provincial_return,
        campaign_id=provincial_return.campaign_id,
        province_id=provincial_return.province_id,
        action=action,
        from_status=from_status,
        to_status=provincial_return.status,
        by=by,
        at=at,
        **fields,
    )


# --- starting and editing -----------------------------------------------------------------


@transaction.atomic
def return_start(*, campaign: Campaign, by, at: datetime | None = None) -> ProvincialReturn:
    """The user's province's return for `campaign`, created as a draft the first time."""
    province_id = user_province_id(by)
    if not (province_id and by.is_active and by.has_perm("verification.add_provincialreturn")):
        raise PermissionDenied(gettext("Only provincial users start their province's return."))
    existing = ProvincialReturn.objects.filter(campaign=campaign, province_id=province_id).first()
    if existing:
        return existing
    if not campaign.is_open:
        raise ReturnLocked(
            _("The campaign %(campaign)s is closed; its returns can no longer be changed."),
            code="campaign_closed",
            params={"campaign": campaign.notice_number},
        )
    at = at or timezone.now()
    provincial_return, created = ProvincialReturn.objects.get_or_create(
        campaign=campaign, province_id=province_id
    )
    if created:
        _event(provincial_return, action=ReturnEventAction.CREATED, by=by, at=at)
    return provincial_return


@transaction.atomic
def return_save_draft(
    *,
    provincial_return: ProvincialReturn,
    by,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ProvincialReturn:
    """Change answers (any of ANSWER_FIELDS) of a draft or returned return.

    `expected_version` is the version the user's form was loaded at (default: the instance's).
    Raises ValidationError with the fields' messages when an answer is invalid.
    """
    unknown = set(data) - set(ANSWER_FIELDS)
    if unknown:
        raise ValueError(f"not answer fields of a return: {sorted(unknown)}")
    expected = _expected(provincial_return, expected_version)
    locked = _lock(provincial_return, by, expected)
    _require_province_role(by, locked, "verification.change_provincialreturn")
    _require_editable(locked)

    before = {name: getattr(locked, name) for name in data}
    for name, value in data.items():
        setattr(locked, name, value)
    exclude = [field.name for field in locked._meta.fields if field.name not in data]
    # Cleans values (e.g. ticked codes in the choices' order) and checks the remarks rule.
    locked.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    changed = [name for name in data if getattr(locked, name) != before[name]]
    if not changed:
        return locked
    at = at or timezone.now()
    _write(locked, changed, expected_version=expected, at=at, caller=provincial_return)
    _event(
        locked,
        action=ReturnEventAction.SAVED,
        by=by,
        at=at,
        from_status=locked.status,
        changed_fields=changed,
    )
    return locked


# --- attachments --------------------------------------------------------------------------


def _detect_content_type(upload) -> str | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in FILE_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _clean_file_name(name: str, content_type: str | None = None) -> str:
    """The uploader's name without a path or control characters, at most 255 characters.

    Given the content type, with the extension the content calls for (attachment_name).
    """
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    if content_type is not None:
        name = attachment_name(name, content_type)
    if len(name) > 255:
        stem, extension = os.path.splitext(name)
        name = stem[: 255 - len(extension)] + extension
    return name or "attachment"


def _sha256(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def attachment_max_bytes() -> int:
    """The size limit of an attachment: stated by the form, enforced while receiving and here."""
    return settings.RETURN_ATTACHMENT_MAX_BYTES


def attachment_too_large(max_bytes: int) -> ValidationError:
    # One wording for the form's refusal of a dropped upload and for the service's own check.
    return ValidationError(
        _(
            "The file is larger than %(limit)s MB, the most an attachment may be. Scan it at a "
            "lower resolution or split it into several files."
        ),
        code="file_too_large",
        params={"limit": megabytes(max_bytes)},
    )


def validate_attachment(upload: UploadedFile) -> str:
    """The upload's content type if it is an acceptable attachment; ValidationError otherwise."""
    if not upload.size:
        raise ValidationError({"file": ValidationError(_("The file is empty."), code="file_empty")})
    # The upload view drops a larger file while receiving it; this holds for any other caller.
    max_bytes = attachment_max_bytes()
    if upload.size > max_bytes:
        raise ValidationError({"file": attachment_too_large(max_bytes)})
    content_type = _detect_content_type(upload)
    if content_type is None:
        raise ValidationError(
            {
                "file": ValidationError(
                    _(
                        "“%(name)s” is not a PDF, JPEG or PNG file. Upload the scan as PDF, "
                        "JPEG or PNG."
                    ),
                    code="file_type",
                    params={"name": _clean_file_name(upload.name)},
                )
            }
        )
    return content_type


@transaction.atomic
def return_attachment_add(
    *,
    provincial_return: ProvincialReturn,
    by,
    file: UploadedFile,
    at: datetime | None = None,
) -> ReturnAttachment:
    """Attach an uploaded PDF, JPEG or PNG (checked by its content) to an editable return."""
    # Locked so that an upload cannot slip in beside a submission; no version check, since an
    # upload does not conflict with someone else's edit of the answers.
    locked = _lock(provincial_return, by, None)
    _require_province_role(by, locked, "verification.add_returnattachment")
    _require_editable(locked)
    content_type = validate_attachment(file)
    at = at or timezone.now()
    attachment = ReturnAttachment(
        provincial_return=locked,
        original_name=_clean_file_name(file.name, content_type),
        content_type=content_type,
        size=file.size,
        sha256=_sha256(file),
        uploaded_by=by,
        uploaded_at=at,
    )
    attachment.file.save(attachment.original_name, file, save=False)
    attachment.save()
    _event(
        locked,
        action=ReturnEventAction.ATTACHMENT_ADDED,
        by=by,
        at=at,
        from_status=locked.status,
        comment=attachment.original_name,
    )
    return attachment


@transaction.atomic
def return_attachment_remove(
    *, attachment: ReturnAttachment, by, at: datetime | None = None
) -> ReturnAttachment:
    """Take an attachment off an editable return. The file is kept for earlier submissions."""
    locked = _lock(attachment.provincial_return, by, None)
    _require_province_role(by, locked, "verification.delete_returnattachment")
    _require_editable(locked)
    attachment = ReturnAttachment.objects.select_for_update().get(
        pk=attachment.pk, provincial_return=locked
    )
    if attachment.removed_at is not None:
        return attachment
    attachment.removed_at = at or timezone.now()
    attachment.removed_by = by
    attachment.save(update_fields=["removed_at", "removed_by"])
    _event(
        locked,
        action=ReturnEventAction.ATTACHMENT_REMOVED,
        by=by,
        at=attachment.removed_at,
        from_status=locked.status,
        comment=attachment.download_name,
    )
    return attachment


# --- Attachment 2 -------------------------------------------------------------------------


@transaction.atomic
def system_administrator_add(
    *, province: Province, by, data: Mapping[str, Any]
) -> SystemAdministrator:
    """File a (new) Attachment 2 for `province`; earlier rows stay as its history.

    `data` holds name, organisation, title, office_phone, mobile, email and optionally
    effective_from (default: today).
    """
    own = user_province_id(by) == province.pk
    national = user_province_id(by) is None and user_sees_all_provinces(by)
    if not (
        by.is_active and (own or national) and by.has_perm("verification.add_systemadministrator")
    ):
        raise PermissionDenied(
            gettext("You may not file the system administrator of this province.")
        )
    unknown = set(data) - set(ADMINISTRATOR_FIELDS)
    if unknown:
        raise ValueError(f"not fields of a system administrator: {sorted(unknown)}")
    administrator = SystemAdministrator(province=province, created_by=by, **data)
    if administrator.effective_from is None:
        administrator.effective_from = timezone.localdate()
    administrator.full_clean()
    administrator.save()
    return administrator


# --- submission ---------------------------------------------------------------------------


def return_submission_problems(provincial_return: ProvincialReturn) -> dict[str, list]:
    """What is still missing before the return can be submitted, by field name.

    Empty when complete. NON_FIELD_ERRORS carries the missing Attachment 2. Screens can show
    this as a checklist; return_submit raises it as a ValidationError.
    """
    problems: dict[str, list] = {}

    def add(name, message, code):
        problems.setdefault(name, []).append(ValidationError(message, code=code))

    for name in REQUIRED_ANSWERS:
        value = getattr(provincial_return, name)
        if value is None or value == [] or (isinstance(value, str) and not value.strip()):
            add(name, _("This answer is required before submitting."), "required")
    if not provincial_return.announcement_methods and not (
        provincial_return.announcement_methods_other.strip()
    ):
        add(
            "announcement_methods",
            _("Tick at least one announcement method or describe the other method."),
            "required",
        )
    if not provincial_return.reform_measures and not provincial_return.reform_text.strip():
        add(
            "reform_measures",
            _("Tick at least one reform measure or describe the reform."),
            "required",
        )
    try:
        provincial_return.clean()
    except ValidationError as error:
        for name, errors in error.error_dict.items():
            problems.setdefault(name, []).extend(errors)
    if not provincial_return.attachments.current().exists():
        # The notice asks for the return with the bureau's official seal (加盖公章).
        add(
            ATTACHMENTS_KEY,
            _(
                "Attach the scan of the return bearing the bureau's official seal (PDF, JPEG "
                "or PNG) before submitting."
            ),
            "scan_missing",
        )
    if provincial_return.current_administrator() is None:
        add(
            NON_FIELD_ERRORS,
            _(
                "The province has not filed its system administrator (Attachment 2); file it "
                "before submitting."
            ),
            "administrator_missing",
        )
    return problems


def is_late(campaign: Campaign, at: datetime) -> bool:
    """Whether a submission at `at` comes after the end of the return deadline, Beijing time."""
    return at.astimezone(DEADLINE_ZONE).date() > campaign.return_deadline


def _administrator_data(administrator) -> dict | None:
    if administrator is None:
        return None
    data = {name: getattr(administrator, name) for name in ADMINISTRATOR_FIELDS}
    data["effective_from"] = administrator.effective_from.isoformat()
    data["id"] = administrator.pk
    return data


def snapshot_data(
    provincial_return: ProvincialReturn,
    *,
    findings_counts: Mapping[str, int] | None = None,
    register: Mapping[str, Any] | None = None,
) -> dict:
    """The return as submitted: answers, Attachment 2, current attachments, findings' counts,
    and the size of the register they were counted in."""
    attachments = provincial_return.attachments.current().order_by("uploaded_at", "pk")
    return {
        "answers": {name: getattr(provincial_return, name) for name in ANSWER_FIELDS},
        ADMINISTRATOR_KEY: _administrator_data(provincial_return.current_administrator()),
        ATTACHMENTS_KEY: [
            {
                "id": attachment.pk,
                "name": attachment.download_name,
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
            for attachment in attachments
        ],
        "findings": dict(findings_counts) if findings_counts is not None else None,
        "register": dict(register) if register is not None else None,
    }


@transaction.atomic
def return_submit(
    *,
    provincial_return: ProvincialReturn,
    by,
    attest: bool,
    expected_version: int | None = None,
    findings_counts: Mapping[str, int] | None = None,
    at: datetime | None = None,
) -> ReturnSnapshot:
    """Submit (or resubmit) the return and freeze what was submitted in a ReturnSnapshot.

    Only the province's system administrator submits, attesting the content. The snapshot keeps
    the answers, Attachment 2, the attachments, and the register's findings counted per rule
    here (register_facts) with the register's size; `findings_counts` is for bulk loaders that
    have counted them already (the demo, the benchmarks).
    Raises ValidationError listing everything still missing (see return_submission_problems).
    """
    expected = _expected(provincial_return, expected_version)
    locked = _lock(provincial_return, by, expected)
    _require_province_role(by, locked, "verification.submit_provincialreturn")
    if locked.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            _("The return is %(status)s; only a draft or a returned return can be submitted."),
            code="not_submittable",
            params={"status": locked.get_status_display()},
        )
    _require_editable(locked)
    problems = return_submission_problems(locked)
    if not attest:
        problems.setdefault("attest", []).append(
            ValidationError(
                _("Confirm that the return is true and complete before submitting."),
                code="attestation_required",
            )
        )
    if problems:
        raise ValidationError(problems)

    if findings_counts is None:
        findings_counts = register_facts(provincial_return=locked).counts()
    register = register_sizes([locked.province_id]).get(locked.province_id)
    at = at or timezone.now()
    late = is_late(locked.campaign, at)
    previous_status = locked.status
    locked.status = ReturnStatus.SUBMITTED
    locked.submitted_at = at
    if locked.first_submitted_at is None:
        # Lateness is the province's first submission's: a return sent back after the
        # deadline and resubmitted was still reported on time.
        locked.first_submitted_at = at
        locked.is_late = late
    locked.attested_by = by
    locked.attested_at = at
    _write(
        locked,
        ["status", "submitted_at", "first_submitted_at", "is_late", "attested_by", "attested_at"],
        expected_version=expected,
        at=at,
        caller=provincial_return,
    )
    snapshot = ReturnSnapshot.objects.create(
        provincial_return=locked,
        number=locked.snapshots.count() + 1,
        taken_at=at,
        taken_by=by,
        is_late=late,
        data=snapshot_data(
            locked, findings_counts=findings_counts, register=register or EMPTY_REGISTER
        ),
    )
    _event(
        locked,
        action=ReturnEventAction.SUBMITTED,
        by=by,
        at=at,
        from_status=previous_status,
    )
    transaction.on_commit(lambda: notifications.notify_submitted(locked, late=late))
    return snapshot


# --- review -------------------------------------------------------------------------------


def _lock_for_review(provincial_return, by, expected_version):
    locked = _lock(provincial_return, by, expected_version)
    if not (user_sees_all_provinces(by) and by.has_perm("verification.review_provincialreturn")):
        raise PermissionDenied(gettext("Only department reviewers review returns."))
    if locked.status != ReturnStatus.SUBMITTED:
        raise InvalidTransition(
            _("The return is %(status)s; only a submitted return can be reviewed."),
            code="not_submitted",
            params={"status": locked.get_status_display()},
        )
    return locked


@transaction.atomic
def return_send_back(
    *,
    provincial_return: ProvincialReturn,
    by,
    comment: str,
    field_comments: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ReturnEvent:
    """Return a submitted return to the province for revision, with comments.

    `field_comments` maps field names (COMMENTABLE_FIELDS) to what should be fixed there;
    at least a general comment or one field comment is required.
    """
    expected = _expected(provincial_return, expected_version)
    locked = _lock_for_review(provincial_return, by, expected)
    comment = (comment or "").strip()
    field_comments = {
        name: text.strip() for name, text in (field_comments or {}).items() if text and text.strip()
    }
    unknown = sorted(set(field_comments) - set(COMMENTABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {
                "field_comments": ValidationError(
                    _("“%(fields)s” cannot be commented on."),
                    code="unknown_field",
                    params={"fields": "、".join(unknown)},
                )
            }
        )
    if not comment and not field_comments:
        raise ValidationError(
            {
                "comment": ValidationError(
                    _("Say what the province should revise."), code="comment_required"
                )
            }
        )
    at = at or timezone.now()
    locked.status = ReturnStatus.RETURNED
    _write(locked, ["status"], expected_version=expected, at=at, caller=provincial_return)
    event = _event(
        locked,
        action=ReturnEventAction.RETURNED,
        by=by,
        at=at,
        from_status=ReturnStatus.SUBMITTED,
        comment=comment,
        field_comments=field_comments,
    )
    transaction.on_commit(lambda: notifications.notify_returned(locked, event=event))
    return event


@transaction.atomic
def return_accept(
    *,
    provincial_return: ProvincialReturn,
    by,
    comment: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ReturnEvent:
    """Accept a submitted return; it stays read-only for the province."""
    expected = _expected(provincial_return, expected_version)
    locked = _lock_for_review(provincial_return, by, expected)
    at = at or timezone.now()
    locked.status = ReturnStatus.ACCEPTED
    _write(locked, ["status"], expected_version=expected, at=at, caller=provincial_return)
    event = _event(
        locked,
        action=ReturnEventAction.ACCEPTED,
        by=by,
        at=at,
        from_status=ReturnStatus.SUBMITTED,
        comment=(comment or "").strip(),
    )
    transaction.on_commit(lambda: notifications.notify_accepted(locked, event=event))
    return event


def may_reopen(user, provincial_return) -> bool:
    """Whether `user` may reopen the return now (a reviewer, the return accepted)."""
    return (
        user_sees_all_provinces(user)
        and user.has_perm("verification.review_provincialreturn")
        and provincial_return.status == ReturnStatus.ACCEPTED
        and provincial_return.campaign.is_open
    )


@transaction.atomic
def return_reopen(
    *,
    provincial_return: ProvincialReturn,
    by,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ReturnEvent:
    """Reopen an accepted return: it goes back to the province for revision, with the reason.

    Two reviewers reopening at once cannot both succeed: the second finds the row locked and
    then no longer accepted (or at another version) and is told so.
    """
    expected = _expected(provincial_return, expected_version)
    locked = _lock(provincial_return, by, expected)
    if not (user_sees_all_provinces(by) and by.has_perm("verification.review_provincialreturn")):
        raise PermissionDenied(gettext("Only department reviewers review returns."))
    if locked.status != ReturnStatus.ACCEPTED:
        raise InvalidTransition(
            _("The return is %(status)s; only an accepted return can be reopened."),
            code="not_accepted",
            params={"status": locked.get_status_display()},
        )
    if not locked.campaign.is_open:
        # The province could not revise it.
        raise ReturnLocked(
            _("The campaign %(campaign)s is closed; its returns can no longer be changed."),
            code="campaign_closed",
            params={"campaign": locked.campaign.notice_number},
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("Give the reason for reopening the accepted return."),
                    code="reason_required",
                )
            }
        )
    at = at or timezone.now()
    locked.status = ReturnStatus.RETURNED
    _write(locked, ["status"], expected_version=expected, at=at, caller=provincial_return)
    event = _event(
        locked,
        action=ReturnEventAction.REOPENED,
        by=by,
        at=at,
        from_status=ReturnStatus.ACCEPTED,
        comment=reason,
    )
    transaction.on_commit(lambda: notifications.notify_reopened(locked, event=event))
    return event


# --- reminders ----------------------------------------------------------------------------


class RemindableUnit(NamedTuple):
    province: Province
    provincial_return: ProvincialReturn | None  # None: not started
    reason: str  # "not_started" or "late"


def remindable_units(*, campaign: Campaign, user, at: datetime | None = None) -> dict:
    """The units a reminder may go to, by province id: not started, or not yet submitted after
    the return deadline. Two queries."""
    at = at or timezone.now()
    deadline_passed = is_late(campaign, at)
    returns = {
        row.province_id: row
        for row in ProvincialReturn.objects.for_user(user).in_campaign(campaign)
    }
    units = {}
    for province in Province.objects.order_by("code"):
        provincial_return = returns.get(province.pk)
        if provincial_return is None:
            units[province.pk] = RemindableUnit(province, None, "not_started")
        elif deadline_passed and provincial_return.first_submitted_at is None:
            units[province.pk] = RemindableUnit(province, provincial_return, "late")
    return units


@transaction.atomic
def campaign_remind(
    *, campaign: Campaign, by, province_ids, at: datetime | None = None
) -> list[ReturnEvent]:
    """E-mail a reminder to the administrators of each unit named, and record it per unit.

    Every unit must be one a reminder may go to (remindable_units); otherwise nothing is sent
    and the ValidationError names the units.
    """
    if not (user_sees_all_provinces(by) and by.has_perm("verification.review_provincialreturn")):
        raise PermissionDenied(gettext("Only department reviewers send reminders."))
    at = at or timezone.now()
    wanted = sorted({int(pk) for pk in province_ids})
    if not wanted:
        raise ValidationError(
            {
                "provinces": ValidationError(
                    _("Choose at least one reporting unit to remind."), code="no_unit"
                )
            }
        )
    units = remindable_units(campaign=campaign, user=by, at=at)
    refused = [pk for pk in wanted if pk not in units]
    if refused:
        names = (
            Province.objects.filter(pk__in=refused).order_by("code").values_list("name", flat=True)
        )
        raise ValidationError(
            {
                "provinces": ValidationError(
                    _(
                        "%(units)s: a reminder goes only to units that have not started their "
                        "return or have not submitted it by the deadline."
                    ),
                    code="not_remindable",
                    params={"units": "、".join(names) or "、".join(map(str, refused))},
                )
            }
        )
    events = []
    for pk in wanted:
        unit = units[pk]
        events.append(
            ReturnEvent.objects.create(
                campaign=campaign,
                province=unit.province,
                provincial_return=unit.provincial_return,
                action=ReturnEventAction.REMINDED,
                from_status=unit.provincial_return.status if unit.provincial_return else "",
                to_status=unit.provincial_return.status if unit.provincial_return else "",
                by=by,
                at=at,
            )
        )
    chosen = [units[pk] for pk in wanted]
    transaction.on_commit(lambda: notifications.notify_reminders(campaign, chosen))
    return events


def last_send_back(provincial_return: ProvincialReturn) -> ReturnEvent | None:
    """The reviewer's latest comments, to show beside the fields while the province revises
    (a reopening's reason included)."""
    return (
        provincial_return.events.filter(
            action__in=[ReturnEventAction.RETURNED, ReturnEventAction.REOPENED]
        )
        .select_related("by")
        .order_by("-at", "-pk")
        .first()
    )


# --- what changed between submissions -----------------------------------------------------


class FieldChange(NamedTuple):
    label: str
    old: str
    new: str
    field: str  # the field name (or "administrator.<name>", "attachments"), for field comments


def _display_answer(name: str, value) -> str:
    field = ProvincialReturn._meta.get_field(name)
    if value is None or value == "" or value == []:
        return ""
    if isinstance(field, ChoiceListField):
        return field.display(value)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return str(value)


def _snapshot_dict(snapshot) -> dict:
    if snapshot is None:
        return {}
    return snapshot.data if isinstance(snapshot, ReturnSnapshot) else snapshot


def snapshot_diff(previous, current) -> list[FieldChange]:
    """Field-by-field changes from one submission to the next, with the fields' labels.

    `previous` and `current` are ReturnSnapshots (or their data); `previous` may be None for the
    first submission, which then lists every answer given.
    """
    before, after = _snapshot_dict(previous), _snapshot_dict(current)
    changes = []
    old_answers, new_answers = before.get("answers", {}), after.get("answers", {})
    for name in ANSWER_FIELDS:
        old = _display_answer(name, old_answers.get(name))
        new = _display_answer(name, new_answers.get(name))
        if old != new:
            label = capfirst(str(ProvincialReturn._meta.get_field(name).verbose_name))
            changes.append(FieldChange(label, old, new, name))

    old_admin = before.get(ADMINISTRATOR_KEY) or {}
    new_admin = after.get(ADMINISTRATOR_KEY) or {}
    section = SystemAdministrator._meta.verbose_name
    for name in ADMINISTRATOR_FIELDS:
        old, new = str(old_admin.get(name) or ""), str(new_admin.get(name) or "")
        if old != new:
            label = gettext("%(section)s: %(field)s") % {
                "section": capfirst(str(section)),
                "field": SystemAdministrator._meta.get_field(name).verbose_name,
            }
            changes.append(FieldChange(label, old, new, f"{ADMINISTRATOR_KEY}.{name}"))

    def files(data):
        return [(item["name"], item.get("sha256")) for item in data.get(ATTACHMENTS_KEY) or []]

    if files(before) != files(after):
        changes.append(
            FieldChange(
                capfirst(str(ReturnAttachment._meta.verbose_name_plural)),
                "、".join(name for name, _sha in files(before)),
                "、".join(name for name, _sha in files(after)),
                ATTACHMENTS_KEY,
            )
        )
    return changes


def return_changes_since_previous_submission(snapshot: ReturnSnapshot) -> list[FieldChange]:
    """The reviewer's view: what this submission changed against the one before it."""
    previous = (
        ReturnSnapshot.objects.filter(
            provincial_return_id=snapshot.provincial_return_id, number__lt=snapshot.number
        )
        .order_by("-number")
        .first()
    )
    return snapshot_diff(previous, snapshot)
