"""Chinese admin screens for the register; every province-owned screen is scoped by one mixin."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from simple_history.admin import SimpleHistoryAdmin

from licensing.admin_mixins import ProvinceScopedAdminMixin, ProvinceScopedMixin, province_id_of
from licensing.exports import EXPORT_FORMATS, LicenceResource, ManufacturerResource
from licensing.importing.admin_views import (
    SHOWN,
    LicenceListImportMixin,
    counts_rows,
    counts_summary,
)
from licensing.imports import (
    InstitutionImportResource,
    ManufacturerImportResource,
    ScopedImportMixin,
)
from licensing.models import (
    Announcement,
    ImportBatch,
    ImportBatchStatus,
    InstrumentCategory,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
    TypeEvaluationInstitution,
)
from licensing.statistics import register_counts_refresh

EXPIRING_DAYS = 90
# The history page of a model with an import_batch: simple-history's, plus the batch that
# created the object, since a created row's history record is its import batch.
IMPORT_HISTORY_LIST_TEMPLATE = "admin/licensing/import_history_list.html"


class ExpiryFilter(admin.SimpleListFilter):
    title = _("expiry")
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [
            ("expired", _("Expired")),
            ("soon", _("Expires within 90 days")),
            ("later", _("Valid for more than 90 days")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        soon = today + timedelta(days=EXPIRING_DAYS)
        if self.value() == "expired":
            return queryset.filter(expires_on__lt=today)
        if self.value() == "soon":
            return queryset.filter(expires_on__gte=today, expires_on__lte=soon)
        if self.value() == "later":
            return queryset.filter(expires_on__gt=soon)
        return queryset


class LicensedInFilter(admin.SimpleListFilter):
    """Manufacturers holding a valid licence, in any category or in one: what the register
    counts call licensed manufacturers, so that the reports' numbers open their list."""

    title = _("holds a valid licence")
    parameter_name = "licensed_in"
    ANY = "any"

    def lookups(self, request, model_admin):
        return [(self.ANY, _("In any category"))] + [
            (category.code, category.name) for category in InstrumentCategory.objects.all()
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        products = LicensedProduct.objects.filter(
            licence__manufacturer=OuterRef("pk"), licence__status=LicenceStatus.VALID
        )
        if value != self.ANY:
            products = products.filter(category__code=value)
        return queryset.filter(Exists(products))


class RegisterAdmin(ProvinceScopedAdminMixin, SimpleHistoryAdmin):
    """Base for province-owned register screens: scoped, with audit history.

    Every save and delete recounts the register of the provinces it touched (before and after:
    a licence may have moved), in the same transaction (licensing/statistics.py).
    """

    list_per_page = 50
    show_full_result_count = False

    def _stored_province_id(self, obj):
        if obj.pk is None:
            return None
        stored = self.model._base_manager.filter(pk=obj.pk).first()
        return province_id_of(stored) if stored is not None else None

    def save_model(self, request, obj, form, change):
        request._register_provinces = {self._stored_province_id(obj)}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        provinces = getattr(request, "_register_provinces", set())
        register_counts_refresh(province_ids={*provinces, province_id_of(form.instance)})

    def delete_model(self, request, obj):
        province_id = self._stored_province_id(obj)
        super().delete_model(request, obj)
        register_counts_refresh(province_ids={province_id})

    def delete_queryset(self, request, queryset):
        lookup = f"{self.model.province_lookup}_id"
        province_ids = set(queryset.order_by().values_list(lookup, flat=True).distinct())
        super().delete_queryset(request, queryset)
        register_counts_refresh(province_ids=province_ids)


class ExportableRegisterAdmin(ExportActionMixin, RegisterAdmin):
    export_formats = EXPORT_FORMATS
    to_encoding = "utf-8-sig"  # Excel opens UTF-8 CSV correctly only with a BOM

    def get_valid_export_item_pks(self, request):
        # The library's default lists every pk of the table; only the user's rows are valid.
        return self.model.objects.for_user(request.user).values_list("pk", flat=True)


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "abbreviation", "alternate_abbreviations"]
    search_fields = ["name", "code", "abbreviation"]
    readonly_fields = ["code"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InstrumentCategory)
class InstrumentCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "batch", "note", "key_managed", "aliases", "sort_order"]
    list_filter = ["batch", "key_managed"]
    search_fields = ["name", "code", "aliases"]


@admin.register(TypeEvaluationInstitution)
class TypeEvaluationInstitutionAdmin(ScopedImportMixin, admin.ModelAdmin):
    import_resource_classes = [InstitutionImportResource]
    list_display = ["name", "province", "uniformly_authorised", "category_names"]
    list_filter = ["uniformly_authorised", "province", "categories"]
    list_select_related = ["province"]
    search_fields = ["name"]
    filter_horizontal = ["categories"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description=_("authorised categories"))
    def category_names(self, obj):
        return "、".join(category.name for category in obj.categories.all())


@admin.register(Manufacturer)
class ManufacturerAdmin(ScopedImportMixin, ExportableRegisterAdmin):
    object_history_list_template = IMPORT_HISTORY_LIST_TEMPLATE
    resource_classes = [ManufacturerResource]
    import_resource_classes = [ManufacturerImportResource]
    list_display = [
        "name",
        "credit_code",
        "province",
        "licence_count",
        "contact_phone",
        "updated_at",
    ]
    list_filter = [("province", admin.RelatedOnlyFieldListFilter), LicensedInFilter]
    list_select_related = ["province"]
    search_fields = ["name", "credit_code"]
    search_help_text = _("Search by name or unified social credit code.")
    fields = [
        "name",
        "credit_code",
        "province",
        "address",
        "legal_representative",
        "contact_person",
        "contact_phone",
    ]

    def get_queryset(self, request):
        # Explicit ordering: grouped queries drop Meta.ordering, and autocomplete paginates.
        return (
            super()
            .get_queryset(request)
            .annotate(licence_total=Count("licences"))
            .order_by(*Manufacturer._meta.ordering)
        )

    @admin.display(description=_("licences"), ordering="licence_total")
    def licence_count(self, obj):
        return obj.licence_total


@admin.register(TypeApproval)
class TypeApprovalAdmin(RegisterAdmin):
    list_display = [
        "certificate_number",
        "product_name",
        "model_spec",
        "manufacturer",
        "category",
        "approved_on",
        "issuing_level",
        "institution",
    ]
    list_filter = [
        ("province", admin.RelatedOnlyFieldListFilter),
        "category",
        "issuing_level",
        "institution__uniformly_authorised",
    ]
    list_select_related = ["manufacturer", "category", "institution"]
    search_fields = [
        "certificate_number",
        "product_name",
        "model_spec",
        "manufacturer__name",
        "manufacturer__credit_code",
    ]
    search_help_text = _("Search by certificate number, product, model or manufacturer.")
    autocomplete_fields = ["manufacturer", "institution"]
    date_hierarchy = "approved_on"


class LicensedProductForm(forms.ModelForm):
    """A product's form that keeps its current type approval, even one outside the user's scope.

    The scoped choices leave out a certificate of another province; the autocomplete widget
    would then render no selected option, the page would post the link back empty, and saving
    would drop it without a word. Kept as a choice, it is posted back and the model's rule
    reports it on the product's row. No other certificate outside the scope becomes a choice.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("type_approval")
        current = self.instance.type_approval_id
        if field is not None and current is not None:
            field.queryset = field.queryset | TypeApproval.objects.filter(pk=current)


class LicensedProductInline(ProvinceScopedMixin, admin.TabularInline):
    model = LicensedProduct
    form = LicensedProductForm
    extra = 1
    fields = [
        "category",
        "product_name",
        "model_spec",
        "accuracy_class",
        "measuring_range",
        "type_approval",
    ]
    autocomplete_fields = ["type_approval"]
    # Enough for any real certificate; a licence lists a handful of products.
    max_num = 200


@admin.register(Licence)
class LicenceAdmin(LicenceListImportMixin, ExportableRegisterAdmin):
    # Adds the import buttons; django-import-export's export template extends it.
    change_list_template = "admin/licensing/licence/change_list.html"
    object_history_list_template = IMPORT_HISTORY_LIST_TEMPLATE
    resource_classes = [LicenceResource]
    list_display = [
        "number",
        "manufacturer",
        "province",
        "issuing_level",
        "issued_on",
        "expires_on",
        "status",
        "product_count",
    ]
    list_filter = [
        ("province", admin.RelatedOnlyFieldListFilter),
        ("products__category", admin.RelatedOnlyFieldListFilter),
        "status",
        "issuing_level",
        ExpiryFilter,
    ]
    list_select_related = ["manufacturer", "province"]
    search_fields = [
        "number",
        "manufacturer__name",
        "manufacturer__credit_code",
        "products__model_spec",
        "products__product_name",
    ]
    search_help_text = _(
        "Search by licence number, manufacturer name, credit code, product or model."
    )
    autocomplete_fields = ["manufacturer"]
    date_hierarchy = "issued_on"
    inlines = [LicensedProductInline]
    fieldsets = [
        (None, {"fields": ["number", "manufacturer", "province", "status"]}),
        (
            _("Issuing"),
            {
                "fields": [
                    "issuing_authority",
                    "issuing_level",
                    "accepted_on",
                    "issued_on",
                    "excluded_days",
                    "extension_approved",
                    "expires_on",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(product_total=Count("products"))
            .order_by(*Licence._meta.ordering)
        )

    @admin.display(description=_("products"), ordering="product_total")
    def product_count(self, obj):
        return obj.product_total


@admin.register(LicensedProduct)
class LicensedProductAdmin(RegisterAdmin):
    object_history_list_template = IMPORT_HISTORY_LIST_TEMPLATE
    list_display = [
        "licence",
        "category",
        "product_name",
        "model_spec",
        "accuracy_class",
        "measuring_range",
        "type_approval",
    ]
    list_filter = [
        ("licence__province", admin.RelatedOnlyFieldListFilter),
        "category",
        "licence__status",
    ]
    list_select_related = ["licence", "category", "type_approval"]
    search_fields = ["product_name", "model_spec", "licence__number", "licence__manufacturer__name"]
    search_help_text = _("Search by product, model, licence number or manufacturer.")
    autocomplete_fields = ["licence", "type_approval"]
    form = LicensedProductForm


@admin.register(Announcement)
class AnnouncementAdmin(RegisterAdmin):
    list_display = ["licence", "kind", "method", "method_detail", "published_on", "filed_on"]
    list_filter = [
        ("licence__province", admin.RelatedOnlyFieldListFilter),
        "kind",
        "method",
        ("filed_on", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["licence"]
    search_fields = ["licence__number", "licence__manufacturer__name", "method_detail"]
    search_help_text = _("Search by licence number or manufacturer.")
    autocomplete_fields = ["licence"]
    date_hierarchy = "published_on"


@admin.register(ImportBatch)
class ImportBatchAdmin(ProvinceScopedAdminMixin, admin.ModelAdmin):
    """The record of every licence-list import: read-only, in the same province scope."""

    list_display = [
        "created_at",
        "created_by",
        "province",
        "file_name",
        "status",
        "rows",
        "counts_summary",
    ]
    list_filter = ["status", ("province", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["created_by", "province"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "file_name",
        "created_by",
        "created_at",
        "province",
        "status",
        "committed_at",
        "sha256",
        "rows",
        "counts_table",
        "created_objects",
        "errors_table",
        "warnings_table",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # The uploaded bytes are never shown, so never loaded; the problem lists, which can be
        # long, only on the detail page.
        return super().get_queryset(request).defer("content", "errors", "warnings")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # created objects point to their batch: it is their audit record

    @admin.display(description=_("counts"))
    def counts_summary(self, obj):
        return counts_summary(obj.counts)

    @admin.display(description=_("counts"))
    def counts_table(self, obj):
        return format_html(
            "<table><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("created"),
            _("updated"),
            _("unchanged"),
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        objects,
                        numbers.get("created", 0),
                        numbers.get("updated", 0),
                        numbers.get("unchanged", 0),
                    )
                    for objects, numbers in counts_rows(obj.counts)
                ),
            ),
        )

    @admin.display(description=_("created by this import"))
    def created_objects(self, obj):
        if obj.status != ImportBatchStatus.COMMITTED:
            return "-"
        return format_html_join(
            " · ",
            '<a href="{}?import_batch={}">{}</a>',
            (
                (
                    reverse(f"admin:licensing_{model._meta.model_name}_changelist"),
                    obj.pk,
                    model._meta.verbose_name_plural,
                )
                for model in (Manufacturer, Licence, LicensedProduct)
            ),
        )

    @admin.display(description=_("errors"))
    def errors_table(self, obj):
        return _problems_table(obj.errors)

    @admin.display(description=_("warnings"))
    def warnings_table(self, obj):
        return _problems_table(obj.warnings)


def _problems_table(problems):
    if not problems:
        return "-"
    table = format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("Row"),
        _("Column"),
        _("Message"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    "" if problem.get("row") is None else problem["row"],
                    problem.get("column") or "",
                    problem.get("message", ""),
                )
                for problem in problems[:SHOWN]
            ),
        ),
    )
    if len(problems) <= SHOWN:
        return table
    return format_html(
        "{}<p>{}</p>",
        table,
        _("The first %(shown)s of %(total)s are shown.") % {"shown": SHOWN, "total": len(problems)},
    )
