"""The national register: who is licensed to manufacture which key-managed instruments."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from licensing.scoping import ProvinceScopedQuerySet
from licensing.validators import (
    normalize_code,
    normalize_licence_number,
    validate_credit_code,
    validate_licence_dates,
    validate_licence_number_format,
    validate_licence_number_province,
    validate_type_approval_number,
    validate_type_approval_owner,
)


class IssuingLevel(models.TextChoices):
    PROVINCIAL = "provincial", _("Provincial")
    MUNICIPAL = "municipal", _("Municipal")
    COUNTY = "county", _("County")


class ProvinceManager(models.Manager):
    def for_abbreviation(self, abbreviation: str):
        """The province whose main or alternate abbreviation this is, or None."""
        if not abbreviation:
            return None
        for province in self.all():
            if abbreviation in province.abbreviations():
                return province
        return None


class Province(models.Model):
    """A reporting unit: the 31 provincial-level regions (GB/T 2260) and the XPCC."""

    code = models.CharField(_("code"), max_length=2, unique=True, help_text=_("GB/T 2260"))
    name = models.CharField(_("name"), max_length=30, unique=True)
    abbreviation = models.CharField(
        _("abbreviation"),
        max_length=1,
        unique=True,
        help_text=_("The character that starts the province's licence numbers, e.g. 鲁."),
    )
    alternate_abbreviations = models.CharField(
        _("alternate abbreviations"),
        max_length=10,
        blank=True,
        help_text=_("Other characters accepted in licence numbers, e.g. 蜀 for 四川."),
    )

    objects = ProvinceManager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self):
        return self.name

    def abbreviations(self) -> list[str]:
        return [self.abbreviation, *self.alternate_abbreviations.replace(" ", "")]


class CatalogueBatch(models.IntegerChoices):
    FIRST = 1, _("First batch")
    SECOND = 2, _("Second batch")


class InstrumentCategory(models.Model):
    """An entry of the catalogue of key-managed measuring instruments."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    batch = models.PositiveSmallIntegerField(
        _("catalogue batch"), choices=CatalogueBatch.choices, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    key_managed = models.BooleanField(_("key-managed"), default=True)
    aliases = models.CharField(
        _("aliases"),
        max_length=200,
        blank=True,
        help_text=_("Other names accepted on import, separated by commas."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("instrument category")
        verbose_name_plural = _("instrument categories")

    def __str__(self):
        return self.name


class TypeEvaluationInstitution(models.Model):
    """型式评价机构: a technical institution that carries out type evaluation."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="institutions", verbose_name=_("province")
    )
    uniformly_authorised = models.BooleanField(
        _("uniformly authorised by the national authority"), default=False
    )
    categories = models.ManyToManyField(
        InstrumentCategory,
        blank=True,
        related_name="institutions",
        verbose_name=_("authorised categories"),
    )

    # Reference data kept by the department: every province may pick any institution.

    class Meta:
        ordering = ["province__code", "name"]
        verbose_name = _("type-evaluation institution")
        verbose_name_plural = _("type-evaluation institutions")
        permissions = [
            ("import_typeevaluationinstitution", _("Can import type-evaluation institutions")),
        ]

    def __str__(self):
        return self.name


class ImportBatchStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    # A preview that found errors: nothing can be confirmed; kept for its error report.
    HAS_ERRORS = "errors", _("Has errors")
    COMMITTED = "committed", _("Committed")


class ImportBatch(models.Model):
    """One upload of a licence list: who, when, which file, and what it did or would do."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("created by"),
        help_text=_("Empty for an import from the command line run for no user."),
    )
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="import_batches",
        verbose_name=_("province"),
        help_text=_("Empty for a national import of several provinces."),
    )
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ImportBatchStatus.choices,
        default=ImportBatchStatus.PREVIEWED,
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    committed_at = models.DateTimeField(_("committed at"), null=True, blank=True)
    # The uploaded bytes, kept in the database between preview and confirm so that any app
    # server can confirm; cleared on commit.
    content = models.BinaryField(_("content"), null=True, blank=True, editable=False)

    province_lookup = "province"
    objects = ProvinceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        if not self.created_at:
            return self.file_name
        # In the site's time zone (Asia/Shanghai), as the admin shows every other time.
        return f"{self.file_name} ({timezone.localtime(self.created_at):%Y-%m-%d %H:%M})"


def import_batch_field(*, related_name: str) -> models.ForeignKey:
    """The link from a register row to the import that created it (the batch is its record)."""
    return models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name=related_name,
        verbose_name=_("import batch"),
        help_text=_("The import that created this row, if an import did."),
    )


class VersionField(models.PositiveIntegerField):
    """The row's version, raised by every save of an existing row (as auto_now moves a date).

    An edit form posts the version it was loaded at; the admin saves only if the row is still
    at it (licensing/concurrency.py). Writes that bypass save() raise it themselves: the
    import's UPDATEs (licensing/importing/service.py) and QuerySet.update() callers.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("verbose_name", _("version"))
        # Not a value anyone edits: model forms leave it out, and so do history diffs. The
        # admin posts it in a form field of its own (licensing/admin.py, RegisterAdmin).
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", 1)
        kwargs.setdefault(
            "help_text", _("Raised by every change, so that a stale edit is refused.")
        )
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if not add:
            value = (value or 0) + 1
            setattr(model_instance, self.attname, value)
        return value


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = VersionField()

    class Meta:
        abstract = True


class Manufacturer(TimeStamped):
    """制造单位 (a company or an individual) identified by its unified social credit code."""

    name = models.CharField(_("manufacturer name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="manufacturers", verbose_name=_("province")
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    import_batch = import_batch_field(related_name="manufacturers")

    province_lookup = "province"
    objects = ProvinceScopedQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical manufacturer"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("manufacturer")
        verbose_name_plural = _("manufacturers")
        permissions = [
            ("export_manufacturer", _("Can export manufacturers")),
            ("import_manufacturer", _("Can import manufacturers")),
        ]
        indexes = [
            # The admin's list, in its order, nationally and in one province: a page is read
            # off the index (licensing/admin.py). Search indexes: migration 0009.
            models.Index(fields=["name"], name="manufacturer_name_idx"),
            models.Index(fields=["province", "name"], name="manufacturer_prov_name_idx"),
        ]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # Before the validators run: a pasted code often has spaces, full-width or lower-case
        # characters, and unnormalised copies would slip past the unique constraint.
        if self.credit_code and not (exclude and "credit_code" in exclude):
            self.credit_code = normalize_code(self.credit_code)
        super().clean_fields(exclude)


class TypeApproval(TimeStamped):
    """型式批准: the approval of a model, the precondition for licensing its manufacture."""

    certificate_number = models.CharField(
        _("certificate number"),
        max_length=30,
        unique=True,
        validators=[validate_type_approval_number],
    )
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        related_name="type_approvals",
        verbose_name=_("approving province"),
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        on_delete=models.PROTECT,
        related_name="type_approvals",
        verbose_name=_("manufacturer"),
    )
    category = models.ForeignKey(
        InstrumentCategory,
        on_delete=models.PROTECT,
        related_name="type_approvals",
        verbose_name=_("instrument category"),
    )
    product_name = models.CharField(_("product name"), max_length=200)
    model_spec = models.CharField(_("model / specification"), max_length=300)
    approved_on = models.DateField(_("approval date"))
    issuing_department = models.CharField(_("issuing department"), max_length=200)
    issuing_level = models.CharField(
        _("issuing level"),
        max_length=12,
        choices=IssuingLevel.choices,
        default=IssuingLevel.PROVINCIAL,
    )
    institution = models.ForeignKey(
        TypeEvaluationInstitution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="type_approvals",
        verbose_name=_("type-evaluation institution"),
    )
    followed_outline = models.BooleanField(
        _("evaluated according to the outline"),
        null=True,
        blank=True,
        help_text=_("Whether the type evaluation followed the type-evaluation outline."),
    )

    province_lookup = "province"
    objects = ProvinceScopedQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical type approval"))

    class Meta:
        ordering = ["-approved_on", "certificate_number"]
        verbose_name = _("type approval")
        verbose_name_plural = _("type approvals")
        indexes = [
            # The admin's list, in its order, nationally and in one province.
            models.Index(
                fields=["-approved_on", "certificate_number"], name="typeapproval_approved_idx"
            ),
            models.Index(
                fields=["province", "-approved_on", "certificate_number"],
                name="typeapproval_prov_approved_idx",
            ),
        ]

    def __str__(self):
        return f"{self.certificate_number} {self.product_name} {self.model_spec}"

    def clean(self):
        super().clean()
        if (
            self.manufacturer_id
            and self.province_id
            and self.manufacturer.province_id != self.province_id
        ):
            raise ValidationError(
                {
                    "manufacturer": ValidationError(
                        _("The manufacturer is registered in another province."),
                        code="manufacturer_other_province",
                    )
                }
            )


class LicenceStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    CHANGED = "changed", pgettext_lazy("licence status", "Changed")
    CANCELLED = "cancelled", _("Cancelled")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class LicenceQuerySet(ProvinceScopedQuerySet):
    def valid(self):
        return self.filter(status=LicenceStatus.VALID)


class Licence(TimeStamped):
    """制造计量器具许可证: one certificate, listing one or more licensed products."""

    number = models.CharField(
        _("licence number"),
        max_length=20,
        unique=True,
        validators=[validate_licence_number_format],
        help_text=_("Province abbreviation, 制, 8 digits and 号, e.g. 鲁制00012345号."),
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        on_delete=models.PROTECT,
        related_name="licences",
        verbose_name=_("manufacturer"),
    )
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        related_name="licences",
        verbose_name=_("issuing province"),
    )
    issuing_authority = models.CharField(
        _("issuing authority"),
        max_length=200,
        help_text=_("The issuing department, e.g. 山东省质量技术监督局."),
    )
    issuing_level = models.CharField(
        _("issuing level"),
        max_length=12,
        choices=IssuingLevel.choices,
        default=IssuingLevel.PROVINCIAL,
    )
    accepted_on = models.DateField(_("application accepted on"), null=True, blank=True)
    issued_on = models.DateField(_("issued on"))
    # 行政许可法 Art. 42, 45: what the processing-time finding needs besides the two dates.
    excluded_days = models.PositiveIntegerField(
        _("working days not counted (testing, evaluation, assessment)"),
        default=0,
        help_text=_(
            "Working days spent on testing, type evaluation, expert review and assessment, "
            "which do not count towards the statutory processing time."
        ),
    )
    extension_approved = models.BooleanField(
        _("extension approved"),
        default=False,
        help_text=_("The head of the authority approved 10 more working days (30 instead of 20)."),
    )
    expires_on = models.DateField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=12, choices=LicenceStatus.choices, default=LicenceStatus.VALID
    )
    import_batch = import_batch_field(related_name="licences")

    province_lookup = "province"
    objects = LicenceQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical licence"))

    class Meta:
        ordering = ["-issued_on", "number"]
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        permissions = [
            ("export_licence", _("Can export licences")),
            ("import_licence", _("Can import licences")),
        ]
        indexes = [
            # The public list (reports/public_views.py): a page of one status in number order,
            # nationally or in one province, read off the index from where the last page ended.
            models.Index(fields=["status", "number"], name="licence_status_number_idx"),
            models.Index(
                fields=["province", "status", "number"], name="licence_prov_status_number_idx"
            ),
            # The admin's list (licensing/admin.py), in its order, nationally and in one
            # province; and its expiry filter. Search indexes: migration 0009.
            models.Index(fields=["-issued_on", "number"], name="licence_issued_number_idx"),
            models.Index(
                fields=["province", "-issued_on", "number"], name="licence_prov_issued_number_idx"
            ),
            models.Index(fields=["expires_on"], name="licence_expires_idx"),
            models.Index(fields=["issuing_level"], name="licence_level_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("issued_on")),
                name="licence_expiry_after_issue",
                violation_error_message=_("The expiry date must be after the issue date."),
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True) | Q(accepted_on__lte=F("issued_on")),
                name="licence_accepted_not_after_issue",
                violation_error_message=_(
                    "The application cannot be accepted after the licence was issued."
                ),
            ),
        ]

    def __str__(self):
        return self.number

    def clean_fields(self, exclude=None):
        # As on import (DESIGN.md §4): NFKC (full-width digits), no spaces, a missing 号 added.
        if self.number and not (exclude and "number" in exclude):
            self.number = normalize_licence_number(self.number)
        super().clean_fields(exclude)

    def clean(self):
        super().clean()
        errors = {}
        try:
            validate_licence_dates(self.accepted_on, self.issued_on, self.expires_on)
        except ValidationError as error:
            errors.update(error.error_dict)
        if self.province_id and self.number and self._number_is_well_formed():
            try:
                validate_licence_number_province(self.number, self.province)
            except ValidationError as error:
                errors["number"] = error
        if (
            self.manufacturer_id
            and self.province_id
            and self.manufacturer.province_id != self.province_id
        ):
            errors["manufacturer"] = ValidationError(
                _("The manufacturer is registered in another province."),
                code="manufacturer_other_province",
            )
        if errors:
            raise ValidationError(errors)

    def _number_is_well_formed(self) -> bool:
        # A malformed number or unknown abbreviation is already reported by clean_fields;
        # a second "other province" message for it would only confuse.
        try:
            validate_licence_number_format(self.number)
        except ValidationError:
            return False
        return True


class LicensedProduct(models.Model):
    """One product line on a licence certificate."""

    licence = models.ForeignKey(
        Licence,
        on_delete=models.CASCADE,  # a product line has no life outside its certificate
        related_name="products",
        verbose_name=_("licence"),
    )
    category = models.ForeignKey(
        InstrumentCategory,
        on_delete=models.PROTECT,
        related_name="licensed_products",
        verbose_name=_("instrument category"),
    )
    product_name = models.CharField(_("product name"), max_length=200)
    model_spec = models.CharField(_("model / specification"), max_length=300)
    accuracy_class = models.CharField(_("accuracy class"), max_length=100, blank=True)
    measuring_range = models.CharField(_("measuring range"), max_length=200, blank=True)
    type_approval = models.ForeignKey(
        TypeApproval,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="licensed_products",
        verbose_name=_("type approval"),
    )
    # Kept as written even when no TypeApproval with this number is registered (yet), so that
    # the imported list loses nothing; type_approval links the certificate when there is one.
    type_approval_number = models.CharField(
        _("type-approval certificate number"),
        max_length=30,
        blank=True,
        validators=[validate_type_approval_number],
    )
    import_batch = import_batch_field(related_name="licensed_products")
    version = VersionField()

    province_lookup = "licence__province"
    objects = ProvinceScopedQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical licensed product"))

    class Meta:
        ordering = ["licence", "category__sort_order", "product_name", "model_spec"]
        verbose_name = _("licensed product")
        verbose_name_plural = _("licensed products")
        indexes = [
            # Licences with a product of a category (the admin's category filter, an EXISTS),
            # and products of a category, read from the index alone.
            models.Index(fields=["category", "licence"], name="product_category_licence_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "category", "product_name", "model_spec"],
                name="licensed_product_unique_per_licence",
                violation_error_message=_(
                    "This licence already lists this product and model in this category."
                ),
            )
        ]

    def __str__(self):
        return f"{self.category} {self.product_name} {self.model_spec}"

    def clean(self):
        super().clean()
        if self.type_approval_id is None:
            return
        # In an admin inline the licence is the parent form's object, unsaved (no id) while a
        # licence is being added; with neither there is nothing to compare with yet.
        licence = self._meta.get_field("licence").get_cached_value(self, default=None)
        if licence is None and self.licence_id is not None:
            licence = self.licence
        if licence is None or licence.manufacturer_id is None:
            return  # the licence's own form reports a missing licence or manufacturer
        manufacturer, approval = licence.manufacturer, self.type_approval
        # One manufacturer row has one credit code: the usual case costs no query.
        owner = (
            manufacturer
            if approval.manufacturer_id == licence.manufacturer_id
            else approval.manufacturer
        )
        try:
            validate_type_approval_owner(
                approval.certificate_number,
                owner.credit_code,
                manufacturer_name=manufacturer.name,
                manufacturer_credit_code=manufacturer.credit_code,
            )
        except ValidationError as error:
            raise ValidationError({"type_approval": error}) from None


class AnnouncementKind(models.TextChoices):
    APPROVAL = "approval", _("Approval")
    CHANGE = "change", pgettext_lazy("announcement kind", "Change")
    CANCELLATION = "cancellation", _("Cancellation")


class PublicationMethod(models.TextChoices):
    NEWSPAPER = "newspaper", _("Newspaper")
    WEBSITE = "website", _("Government website")
    BULLETIN_BOARD = "bulletin_board", _("Bulletin board")
    OTHER = "other", _("Other")


class Announcement(TimeStamped):
    """公告: the public announcement of a licensing decision, and its filing (备案)."""

    licence = models.ForeignKey(
        Licence, on_delete=models.PROTECT, related_name="announcements", verbose_name=_("licence")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=AnnouncementKind.choices)
    method = models.CharField(
        _("publication method"), max_length=20, choices=PublicationMethod.choices
    )
    method_detail = models.CharField(
        _("where published"),
        max_length=200,
        blank=True,
        help_text=_("Newspaper title, web address or other details."),
    )
    published_on = models.DateField(_("published on"))
    filed_on = models.DateField(_("filed with the national authority on"), null=True, blank=True)

    province_lookup = "licence__province"
    objects = ProvinceScopedQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("historical announcement"))

    class Meta:
        ordering = ["-published_on"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [
            # The admin's list in its order (the admin adds -id to make it total).
            models.Index(fields=["-published_on", "-id"], name="announcement_published_idx"),
        ]

    def __str__(self):
        return f"{self.licence} {self.get_kind_display()} {self.published_on}"

    def clean(self):
        super().clean()
        if self.filed_on and self.published_on and self.filed_on < self.published_on:
            raise ValidationError(
                {
                    "filed_on": ValidationError(
                        _("An announcement cannot be filed before it was published."),
                        code="filed_before_published",
                    )
                }
            )


class RegisterCount(models.Model):
    """How big one province's register is in one category, or (no category) in all of them.

    The department's tables read these 32 × 10 rows instead of counting a million products on
    every page; licensing.statistics.register_counts_refresh recounts a province after every
    write to its register (imports, the admin, seed_demo) and stamps when that happened.
    """

    province = models.ForeignKey(
        Province,
        on_delete=models.CASCADE,
        related_name="register_counts",
        verbose_name=_("province"),
    )
    category = models.ForeignKey(
        InstrumentCategory,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="register_counts",
        verbose_name=_("instrument category"),
        help_text=_("Empty for the province's whole register."),
    )
    manufacturers = models.PositiveIntegerField(
        _("licensed manufacturers"), default=0, help_text=_("Holding a valid licence.")
    )
    valid_licences = models.PositiveIntegerField(_("valid licences"), default=0)
    products = models.PositiveIntegerField(
        _("licensed products"), default=0, help_text=_("Products of valid licences.")
    )
    licences = models.PositiveIntegerField(_("licences of any status"), default=0)
    changed_at = models.DateTimeField(
        _("register changed at"), help_text=_("When the province's register last changed.")
    )

    province_lookup = "province"
    objects = ProvinceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["province__code", "category__sort_order"]
        verbose_name = _("register count")
        verbose_name_plural = _("register counts")
        constraints = [
            models.UniqueConstraint(
                fields=["province", "category"],
                condition=Q(category__isnull=False),
                name="register_count_one_per_province_and_category",
            ),
            models.UniqueConstraint(
                fields=["province"],
                condition=Q(category__isnull=True),
                name="register_count_one_total_per_province",
            ),
        ]

    def __str__(self):
        return f"{self.province} {self.category or ''}".strip()


class ExportJobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ExportJobQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The user's own jobs: a file is only ever shown to whoever asked for it."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(created_by=user)


def export_job_storage():
    from verification.storage import private_storage

    return private_storage


class ExportJob(models.Model):
    """A register export too large for one request, written by a process of its own.

    It keeps what the request asked for (the list's filters as its query string, the format
    and columns), so that the process reads the same rows the list showed, in the user's scope.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # a user's exports go with the user; purge removes the file
        related_name="export_jobs",
        verbose_name=_("created by"),
    )
    model = models.CharField(_("list"), max_length=50)  # the admin's model name, e.g. licence
    resource = models.CharField(_("columns"), max_length=100)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    query_string = models.TextField(_("filters"), blank=True)
    file_format = models.CharField(_("format"), max_length=10)
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ExportJobStatus.choices,
        default=ExportJobStatus.PENDING,
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), storage=export_job_storage, max_length=200, blank=True)
    file_name = models.CharField(_("file name"), max_length=200)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Moved with every progress report: a running job that stops moving has died.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")

    def __str__(self):
        return self.file_name


__all__ = [
    "Announcement",
    "ExportJob",
    "ImportBatch",
    "InstrumentCategory",
    "RegisterCount",
    "Licence",
    "LicensedProduct",
    "Manufacturer",
    "Province",
    "TypeApproval",
    "TypeEvaluationInstitution",
]
