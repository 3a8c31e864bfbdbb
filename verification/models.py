"""The special verification: campaigns, each province's return (Attachments 1 and 2), its review.

Writes go through verification/services.py; nothing here enforces the workflow on save().
"""

import uuid
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from licensing.models import InstrumentCategory, IssuingLevel, Province
from licensing.scoping import ProvinceScopedQuerySet
from verification.fields import ChoiceListField
from verification.storage import private_storage
from verification.validators import (
    normalize_phone,
    validate_mobile,
    validate_office_phone,
)


class CampaignQuerySet(models.QuerySet):
    def open(self):
        return self.filter(is_open=True)


class Campaign(models.Model):
    """专项核查: one nationwide verification ordered by a notice of the Metrology Department."""

    notice_number = models.CharField(
        _("notice number"),
        max_length=50,
        unique=True,
        help_text=_("E.g. 质检量函〔2016〕27号."),
    )
    title = models.CharField(_("title"), max_length=200)
    issued_on = models.DateField(pgettext_lazy("notice", "issued on"))
    categories = models.ManyToManyField(
        InstrumentCategory,
        related_name="campaigns",
        verbose_name=_("instrument categories in scope"),
    )
    data_deadline = models.DateField(
        _("data upload deadline"),
        help_text=_("The date by which every licence of the region must be in the register."),
    )
    return_deadline = models.DateField(
        _("return deadline"),
        help_text=_("Returns submitted after the end of this day (Beijing time) are late."),
    )
    is_open = models.BooleanField(
        _("open"),
        default=True,
        help_text=_("Provinces may edit and submit their returns only while it is open."),
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_on", "notice_number"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(data_deadline__gte=F("issued_on")),
                name="campaign_data_deadline_not_before_issue",
                violation_error_message=_("The data deadline cannot be before the issue date."),
            ),
            models.CheckConstraint(
                condition=Q(return_deadline__gte=F("issued_on")),
                name="campaign_return_deadline_not_before_issue",
                violation_error_message=_("The return deadline cannot be before the issue date."),
            ),
        ]

    def __str__(self):
        return f"{self.notice_number} {self.title}"


class AnnouncementMethod(models.TextChoices):
    """Attachment 1: how approvals, changes and cancellations are announced.

    The codes are those of licensing.PublicationMethod, so answers compare with the register.
    """

    NEWSPAPER = "newspaper", _("Newspaper")
    WEBSITE = "website", _("Government website")
    BULLETIN_BOARD = "bulletin_board", _("Bulletin board")


class ReformMeasure(models.TextChoices):
    """Attachment 1, note 3: local measures of the administrative-approval reform."""

    ON_SITE_LICENSING = "on_site_licensing", _("On-site licensing")
    PARALLEL_APPROVAL = "parallel_approval", _("Parallel approval")
    ONLINE_APPROVAL = "online_approval", _("Online approval")
    DELEGATION = "delegation", _("Approval power delegated to lower levels")
    SHORTER_TIME_LIMITS = "shorter_time_limits", _("Shorter promised processing time")


class ReturnStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for revision")
    ACCEPTED = "accepted", _("Accepted")


# The province may change its answers only in these states.
EDITABLE_STATUSES = (ReturnStatus.DRAFT, ReturnStatus.RETURNED)

# Attachment 1, in the order of its columns.
ATTACHMENT1_FIELDS = (
    "out_of_scope",
    "institutions_authorised",
    "announcement_methods",
    "announcement_methods_other",
    "list_filed",
    "online_approval",
    "type_approval_department",
    "type_approval_levels",
    "licence_department",
    "licence_levels",
    "reform_measures",
    "reform_text",
    "remarks",
)
# The written summary's four parts (notice, section 三 (四)).
SUMMARY_FIELDS = (
    "summary_basic",
    "summary_experience",
    "summary_problems",
    "summary_suggestions",
)
# Everything the province answers: what drafts edit, snapshots keep and diffs compare.
ANSWER_FIELDS = ATTACHMENT1_FIELDS + SUMMARY_FIELDS
# Beside the answers, a reviewer may comment on Attachment 2 and on the attachments.
ADMINISTRATOR_KEY = "administrator"
ATTACHMENTS_KEY = "attachments"
COMMENTABLE_FIELDS = (*ANSWER_FIELDS, ADMINISTRATOR_KEY, ATTACHMENTS_KEY)


class ProvincialReturnQuerySet(ProvinceScopedQuerySet):
    def in_campaign(self, campaign):
        return self.filter(campaign=campaign)

    def with_status(self, *statuses):
        return self.filter(status__in=statuses)


class ProvincialReturn(models.Model):
    """One province's return for one campaign: Attachment 1's row and the written summary."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="returns", verbose_name=_("campaign")
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="returns", verbose_name=_("province")
    )

    # Attachment 1 — 许可工作情况
    out_of_scope = models.BooleanField(
        _("out-of-scope licensing"),
        null=True,
        blank=True,
        help_text=_("Whether any licence was issued beyond the licensing authority's scope."),
    )
    institutions_authorised = models.BooleanField(
        _("type-evaluation institutions uniformly authorised"),
        null=True,
        blank=True,
        help_text=_(
            "Whether the type-evaluation institutions are institutions uniformly authorised by "
            "the national authority. If not, give the reason in the remarks."
        ),
    )
    announcement_methods = ChoiceListField(
        _("announcement of approvals, changes and cancellations"),
        item_choices=AnnouncementMethod.choices,
        blank=True,
        help_text=_(
            "How manufacturing-licence approvals, changes and cancellations are announced."
        ),
    )
    announcement_methods_other = models.CharField(
        _("other announcement method"), max_length=200, blank=True
    )
    list_filed = models.BooleanField(
        _("licence list filed with the national authority"),
        null=True,
        blank=True,
        help_text=_(
            "Whether the list of licensed manufacturers is filed with the national authority."
        ),
    )
    # Attachment 1 — 行政审批制度改革情况
    online_approval = models.BooleanField(
        _("online approval"),
        null=True,
        blank=True,
        help_text=_("Whether applications are approved online."),
    )
    type_approval_department = models.CharField(
        _("type-approval issuing department"),
        max_length=200,
        blank=True,
        help_text=_("Down to the division or section (处/科)."),
    )
    type_approval_levels = ChoiceListField(
        _("type-approval issuing levels"),
        item_choices=IssuingLevel.choices,
        blank=True,
    )
    licence_department = models.CharField(
        _("licence issuing department"),
        max_length=200,
        blank=True,
        help_text=_("Down to the division or section (处/科)."),
    )
    licence_levels = ChoiceListField(
        _("licence issuing levels"),
        item_choices=IssuingLevel.choices,
        blank=True,
    )
    reform_measures = ChoiceListField(
        _("administrative-approval reform measures"),
        item_choices=ReformMeasure.choices,
        blank=True,
    )
    reform_text = models.TextField(
        _("administrative-approval reform"),
        blank=True,
        help_text=_("A short description of the local reform measures."),
    )
    remarks = models.TextField(_("remarks"), blank=True)

    # The written summary
    summary_basic = models.TextField(_("basic situation"), blank=True)
    summary_experience = models.TextField(_("good experience and practice"), blank=True)
    summary_problems = models.TextField(_("problems"), blank=True)
    summary_suggestions = models.TextField(_("next-step opinions and suggestions"), blank=True)

    # Workflow
    status = models.CharField(
        _("status"), max_length=12, choices=ReturnStatus.choices, default=ReturnStatus.DRAFT
    )
    first_submitted_at = models.DateTimeField(_("first submitted at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("last submitted at"), null=True, blank=True)
    is_late = models.BooleanField(
        _("late"),
        default=False,
        help_text=_("First submitted after the end of the return deadline (Beijing time)."),
    )
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attested by"),
    )
    attested_at = models.DateTimeField(_("attested at"), null=True, blank=True)
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        help_text=_("Raised by every change, so that a stale edit is refused."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    province_lookup = "province"
    objects = ProvincialReturnQuerySet.as_manager()

    class Meta:
        ordering = ["campaign", "province__code"]
        verbose_name = _("provincial return")
        verbose_name_plural = _("provincial returns")
        permissions = [
            ("submit_provincialreturn", _("Can submit the province's return")),
            ("review_provincialreturn", _("Can accept or return provincial returns")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "province"],
                name="one_return_per_campaign_and_province",
                violation_error_message=_("This province already has a return for this campaign."),
            )
        ]

    def __str__(self):
        return f"{self.province} · {self.campaign.notice_number}"

    def get_absolute_url(self):
        # The province's page of its return; national staff land on the review page from it.
        return reverse("verification:return_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if self.institutions_authorised is False and not self.remarks.strip():
            raise ValidationError(
                {
                    "remarks": ValidationError(
                        _(
                            "The type-evaluation institutions are not all uniformly authorised: "
                            "give the reason in the remarks."
                        ),
                        code="institutions_reason_required",
                    )
                }
            )

    @property
    def is_editable(self) -> bool:
        """Whether the province may still change its answers (draft or returned)."""
        return self.status in EDITABLE_STATUSES

    def current_administrator(self):
        """The province's Attachment 2 as of today (None when never filed)."""
        return SystemAdministrator.objects.in_province(self.province_id).current()


class ReturnEventAction(models.TextChoices):
    CREATED = "created", _("Created")
    SAVED = "saved", _("Saved")
    ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
    ATTACHMENT_REMOVED = "attachment_removed", _("Attachment removed")
    SUBMITTED = "submitted", pgettext_lazy("return event", "Submitted")
    RETURNED = "returned", pgettext_lazy("return event", "Returned for revision")
    ACCEPTED = "accepted", pgettext_lazy("return event", "Accepted")
    REOPENED = "reopened", pgettext_lazy("return event", "Reopened")
    REMINDED = "reminded", pgettext_lazy("return event", "Reminder sent")


class ReturnEventQuerySet(ProvinceScopedQuerySet):
    pass


class ReturnEvent(models.Model):
    """Who did what to a return and when: the workflow's audit log.

    A reminder may go to a unit that has not started its return: such an event names the
    campaign and the province, and no return.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("campaign")
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="+", verbose_name=_("province")
    )
    provincial_return = models.ForeignKey(
        ProvincialReturn,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("provincial return"),
    )
    action = models.CharField(_("action"), max_length=20, choices=ReturnEventAction.choices)
    from_status = models.CharField(
        _("status before"), max_length=12, choices=ReturnStatus.choices, blank=True
    )
    to_status = models.CharField(
        _("status after"), max_length=12, choices=ReturnStatus.choices, blank=True
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="return_events",
        verbose_name=_("user"),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)
    field_comments = models.JSONField(
        _("comments on fields"),
        default=dict,
        blank=True,
        help_text=_("The reviewer's comment on each field to be revised, by field name."),
    )
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)

    province_lookup = "province"
    objects = ReturnEventQuerySet.as_manager()

    class Meta:
        ordering = ["campaign", "province", "at", "pk"]
        get_latest_by = ["at", "pk"]
        verbose_name = _("return event")
        verbose_name_plural = _("return events")
        indexes = [
            models.Index(
                fields=["campaign", "action", "province"], name="returnevent_campaign_action"
            )
        ]

    def __str__(self):
        subject = self.provincial_return or f"{self.province} · {self.campaign.notice_number}"
        # Beijing time, as every page shows it (the stored value is UTC).
        return f"{subject} {self.get_action_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class ReturnSnapshot(models.Model):
    """What a province submitted, frozen: the answers, Attachment 2 and the findings' counts.

    Written once by return_submit and never changed.
    """

    provincial_return = models.ForeignKey(
        ProvincialReturn,
        on_delete=models.PROTECT,
        related_name="snapshots",
        verbose_name=_("provincial return"),
    )
    number = models.PositiveIntegerField(_("submission number"))
    taken_at = models.DateTimeField(_("submitted at"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    is_late = models.BooleanField(_("late"), default=False)
    data = models.JSONField(_("data"))

    province_lookup = "provincial_return__province"
    objects = ProvinceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["provincial_return", "number"]
        get_latest_by = "number"
        verbose_name = _("return snapshot")
        verbose_name_plural = _("return snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["provincial_return", "number"], name="one_snapshot_per_submission"
            )
        ]

    def __str__(self):
        return f"{self.provincial_return} #{self.number}"


def attachment_path(instance, filename):
    # Never the uploader's file name on disk: it is kept in original_name.
    extension = ATTACHMENT_EXTENSIONS.get(instance.content_type, "bin")
    return (
        f"returns/{instance.provincial_return.campaign_id}/"
        f"{instance.provincial_return.province.code}/{uuid.uuid4().hex}.{extension}"
    )


ATTACHMENT_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


def attachment_name(name: str, content_type: str) -> str:
    """`name` with the extension its content calls for: a right one kept, a wrong one replaced.

    ``evil.html`` holding a PDF is ``evil.pdf``; ``scan`` holding a JPEG is ``scan.jpg``;
    ``a.PDF`` and ``b.jpeg`` stay. Only a short ASCII suffix with a letter counts as an
    extension, so that the dots of a date (``总结2016.10.20``) are kept.
    """
    extension = ATTACHMENT_EXTENSIONS.get(content_type)
    if extension is None:
        return name
    stem, dot, suffix = name.rpartition(".")
    has_extension = dot and len(suffix) <= 5 and suffix.isascii() and suffix.isalnum()
    if not has_extension or suffix.isdigit():
        stem = name.rstrip(".")
    elif stem and {"jpeg": "jpg"}.get(suffix.lower(), suffix.lower()) == extension:
        return name
    return f"{stem or 'attachment'}.{extension}"


class ReturnAttachmentQuerySet(ProvinceScopedQuerySet):
    def current(self):
        """Attachments not removed by the province."""
        return self.filter(removed_at__isnull=True)


class ReturnAttachment(models.Model):
    """An uploaded file of a return (the stamped scan), kept in private storage.

    Removing one while editing keeps the file, so earlier submissions stay inspectable.
    """

    provincial_return = models.ForeignKey(
        ProvincialReturn,
        on_delete=models.PROTECT,
        related_name="attachments",
        verbose_name=_("provincial return"),
    )
    file = models.FileField(
        _("file"), storage=private_storage, upload_to=attachment_path, max_length=200
    )
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(
        _("content type"),
        max_length=50,
        choices=[(key, key) for key in ATTACHMENT_EXTENSIONS],
    )
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("removed by"),
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    province_lookup = "provincial_return__province"
    objects = ReturnAttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["provincial_return", "uploaded_at", "pk"]
        verbose_name = _("return attachment")
        verbose_name_plural = _("return attachments")

    def __str__(self):
        return self.download_name

    def get_absolute_url(self):
        return reverse(
            "verification:attachment_download", args=[self.provincial_return_id, self.pk]
        )

    @property
    def download_name(self) -> str:
        """The name to show and download as: its extension always that of the content.

        Rows stored before names were corrected on upload may still say ``evil.html``.
        """
        return attachment_name(self.original_name, self.content_type)


class SystemAdministratorQuerySet(ProvinceScopedQuerySet):
    def _by_currency(self, on: date | None):
        """Rows in effect on `on` first (latest first), then future ones (latest first)."""
        on = on or timezone.localdate()
        return self.order_by(
            Case(
                When(effective_from__lte=on, then=Value(0)),
                default=Value(1),
                output_field=models.IntegerField(),
            ),
            "-effective_from",
            "-created_at",
            "-pk",
        )

    def current(self, *, on: date | None = None):
        """Of one province's rows: the latest in effect on `on` (today), else the latest; or None."""
        return self._by_currency(on).first()

    def current_per_province(self, *, on: date | None = None):
        """One row per province: each province's current administrator, in one query."""
        return self.filter(
            pk=Subquery(
                self.model.objects.filter(province=OuterRef("province"))
                ._by_currency(on)
                .values("pk")[:1]
            )
        ).order_by("province__code")


class SystemAdministrator(models.Model):
    """Attachment 2: the provincial bureau's system administrator. A change adds a row."""

    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        related_name="system_administrators",
        verbose_name=_("province"),
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    organisation = models.CharField(_("organisation"), max_length=200)
    title = models.CharField(_("position"), max_length=100)
    office_phone = models.CharField(
        _("office telephone"),
        max_length=30,
        validators=[validate_office_phone],
        help_text=_("Area code, dash, number, optional extension, e.g. 0531-82345678."),
    )
    mobile = models.CharField(_("mobile"), max_length=11, validators=[validate_mobile])
    email = models.EmailField(_("e-mail"))
    effective_from = models.DateField(_("effective from"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    province_lookup = "province"
    objects = SystemAdministratorQuerySet.as_manager()

    class Meta:
        ordering = ["province__code", "-effective_from", "-created_at"]
        verbose_name = _("system administrator")
        verbose_name_plural = _("system administrators")

    def __str__(self):
        return f"{self.province} {self.name}"

    def clean_fields(self, exclude=None):
        # Before the validators run: pasted numbers often carry spaces or full-width digits.
        for name in ("office_phone", "mobile"):
            if getattr(self, name) and not (exclude and name in exclude):
                setattr(self, name, normalize_phone(getattr(self, name)))
        super().clean_fields(exclude)


def commentable_label(name: str) -> str:
    """The label of a field a reviewer can comment on (one of COMMENTABLE_FIELDS)."""
    if name == ADMINISTRATOR_KEY:
        label = SystemAdministrator._meta.verbose_name
    elif name == ATTACHMENTS_KEY:
        label = ReturnAttachment._meta.verbose_name_plural
    else:
        label = ProvincialReturn._meta.get_field(name).verbose_name
    return capfirst(str(label))


class CalendarDay(models.Model):
    """One day of the official holiday calendar, numbered by working day, so that the database
    can count processing times (行政许可法 Art. 42) as verification.workdays does.

    Reference data loaded from the chinesecalendar package by a data migration: the working
    days after ``start`` up to and including ``end`` are ``end``'s number minus ``start``'s. A
    day with no row is one the calendar does not cover.
    """

    day = models.DateField(_("day"), primary_key=True)
    working_day_number = models.PositiveIntegerField(
        _("working day number"),
        help_text=_("Working days from the start of the official calendar up to this day."),
    )

    class Meta:
        ordering = ["day"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self):
        return self.day.isoformat()
