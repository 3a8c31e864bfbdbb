"""Chinese admin screens for the register; every province-owned screen is scoped by one mixin."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin
from simple_history.admin import SimpleHistoryAdmin

from licensing.admin_mixins import ProvinceScopedAdminMixin, ProvinceScopedMixin
from licensing.exports import EXPORT_FORMATS, LicenceResource, ManufacturerResource
from licensing.imports import (
    InstitutionImportResource,
    ManufacturerImportResource,
    ScopedImportMixin,
)
from licensing.models import (
    Announcement,
    InstrumentCategory,
    Licence,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
    TypeEvaluationInstitution,
)

EXPIRING_DAYS = 90


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


class RegisterAdmin(ProvinceScopedAdminMixin, SimpleHistoryAdmin):
    """Base for province-owned register screens: scoped, with audit history."""

    list_per_page = 50
    show_full_result_count = False


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
    list_filter = [("province", admin.RelatedOnlyFieldListFilter)]
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


class LicensedProductInline(ProvinceScopedMixin, admin.TabularInline):
    model = LicensedProduct
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
class LicenceAdmin(ExportableRegisterAdmin):
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
    list_display = [
        "licence",
        "category",
        "product_name",
        "model_spec",
        "accuracy_class",
        "measuring_range",
        "type_approval",
    ]
    list_filter = [("licence__province", admin.RelatedOnlyFieldListFilter), "category"]
    list_select_related = ["licence", "category", "type_approval"]
    search_fields = ["product_name", "model_spec", "licence__number", "licence__manufacturer__name"]
    search_help_text = _("Search by product, model, licence number or manufacturer.")
    autocomplete_fields = ["licence", "type_approval"]


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
