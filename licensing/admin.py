"""Chinese admin screens for the register; every province-owned screen is scoped by one mixin."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import AutocompleteSelect, RelatedFieldWidgetWrapper
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Subquery
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from licensing.admin_lists import (
    ProductCategoryFilter,
    ProvinceFilter,
    RegisterListMixin,
    count_for_rows,
    pop_integer,
    year_filter,
)
from licensing.admin_mixins import (
    SAFE_METHODS,
    ProvinceScopedAdminMixin,
    ProvinceScopedMixin,
    province_id_of,
)
from licensing.concurrency import (
    ConcurrentEdit,
    changes_since,
    unsaved_entries,
    version_claim,
    versions_raise,
)
from licensing.export_views import StreamedExportMixin
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
# A licence's products are edited a page at a time on its change page (LicenceAdmin).
PRODUCTS_PER_PAGE = 20
PRODUCTS_PAGE_VAR = "products_page"
# The history page of a model with an import_batch: simple-history's, plus the batch that
# created the object, since a created row's history record is its import batch.
IMPORT_HISTORY_LIST_TEMPLATE = "admin/licensing/import_history_list.html"
# A save from a form someone else's save made stale (licensing/concurrency.py).
CONFLICT_TEMPLATE = "admin/licensing/conflict.html"


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
    counts call licensed manufacturers, so that the reports' numbers open their list.

    As licensing/statistics.py counts them: in any category, a valid licence (with or without
    products); in one, a valid licence listing a product of the category.
    """

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
        licences = Licence.objects.filter(manufacturer=OuterRef("pk"), status=LicenceStatus.VALID)
        if value != self.ANY:
            licences = licences.filter(
                Exists(LicensedProduct.objects.filter(licence=OuterRef("pk"), category__code=value))
            )
        return queryset.filter(Exists(licences))


class VersionedForm(forms.ModelForm):
    """Posts back the version of the object the form was loaded at (licensing/concurrency.py)."""

    # Not required: a client that posts no version (a script) saves unchecked.
    version = forms.IntegerField(label=_("version"), widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("version", self.instance.version)


class RegisterAdmin(RegisterListMixin, ProvinceScopedAdminMixin, SimpleHistoryAdmin):
    """Base for province-owned register screens: scoped, with audit history, and lists whose
    pages cost what they show (licensing/admin_lists.py).

    Every save and delete recounts the register of the provinces it touched (before and after:
    a licence may have moved), in the same transaction (licensing/statistics.py).
    """

    def _stored_province_id(self, obj):
        if obj.pk is None:
            return None
        stored = self.model._base_manager.filter(pk=obj.pk).first()
        return province_id_of(stored) if stored is not None else None

    # --- concurrent edits (licensing/concurrency.py) ---------------------------------------

    def get_fieldsets(self, request, obj=None):
        """The form's fields, and on a change form the hidden version it was loaded at."""
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != "version"]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if obj is not None and obj.pk is not None and self.has_change_permission(request, obj):
            name, options = fieldsets[0]
            fieldsets[0] = (name, {**options, "fields": [*options["fields"], "version"]})
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        if "fields" in kwargs:
            fields = kwargs.pop("fields")
            if fields is None:  # the admin asking which fields the model form has
                return super().get_form(request, obj, change, fields=None, **kwargs)
        else:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        if "version" in fields:
            # Not editable: a form field of the form's own (VersionedForm), not the model's.
            kwargs["form"] = type(
                "VersionedForm", (VersionedForm, kwargs.get("form", self.form)), {}
            )
        fields = [name for name in fields if name != "version"]
        return super().get_form(request, obj, change, fields=fields, **kwargs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            # The admin's own transaction: a refused save leaves nothing of it behind.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConcurrentEdit as conflict:
            return self.conflict_response(request, conflict)

    def conflict_response(self, request, conflict):
        """409: the save was refused; what the other person changed, and the user's entries."""
        opts = self.model._meta
        current = self.model._base_manager.filter(pk=conflict.obj.pk).first()
        change_url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[conflict.obj.pk]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Someone else changed this %(object)s") % {"object": opts.verbose_name},
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "original": current or conflict.obj,
            "deleted": current is None,
            "changes": changes_since(conflict.obj, conflict.expected) if current else [],
            "entries": unsaved_entries(conflict.form, current, conflict.expected)
            if current
            else [],
            "change_url": change_url,
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, CONFLICT_TEMPLATE, context, status=409)

    def save_model(self, request, obj, form, change):
        expected = form.cleaned_data.get("version") if change else None
        if expected is not None:
            version_claim(obj, expected=expected, form=form)
        # One moment for the whole save: LicenceAdmin.save_formset gives the products' history
        # records the same time, so that they belong to this version of the licence.
        obj._history_date = timezone.now()
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


class ExportableRegisterAdmin(StreamedExportMixin, RegisterAdmin):
    # The library's export page and action, the file streamed (licensing/export_views.py).
    export_formats = EXPORT_FORMATS


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
    # The code is the catalogue's stable key for imports and links, not something to read.
    list_display = ["name", "batch", "note", "key_managed", "aliases", "sort_order"]
    list_filter = ["batch", "key_managed"]
    search_fields = ["name", "code", "aliases"]

    def get_exclude(self, request, obj=None):
        # Those who may only read the catalogue see its names, not the code behind them.
        if not self.has_change_permission(request, obj):
            return ["code"]
        return super().get_exclude(request, obj)


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
    export_file_title = _("Manufacturer roster")
    import_resource_classes = [ManufacturerImportResource]
    list_display = [
        "name",
        "credit_code",
        "province",
        "licence_count",
        "contact_phone",
        "updated_at",
    ]
    list_filter = [("province", ProvinceFilter), LicensedInFilter]
    list_select_related = ["province"]
    # Columns an index serves in any order (the others would sort the whole register).
    sortable_by = ["name", "credit_code"]
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

    def annotate_page(self, request, rows):
        return count_for_rows(rows, Licence.objects.all(), "manufacturer", "licence_total")

    def register_cell(self, params):
        category = params.pop(LicensedInFilter.parameter_name, None)
        has_province, province_id = pop_integer(params, "province__id__exact")
        if category is None or params or (has_province and province_id is None):
            return None
        category_filter = None if category == LicensedInFilter.ANY else {"category__code": category}
        return "manufacturers", province_id, category_filter

    # Counted for the rows shown (annotate_page), so not a column to sort the register by.
    @admin.display(description=_("licences"))
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
        ("province", ProvinceFilter),
        "category",
        "issuing_level",
        "institution__uniformly_authorised",
        year_filter("approved_on", _("year approved")),
    ]
    list_select_related = ["manufacturer", "category", "institution"]
    sortable_by = ["certificate_number", "approved_on"]
    search_fields = [
        "certificate_number",
        "product_name",
        "model_spec",
        "manufacturer__name",
        "manufacturer__credit_code",
    ]
    search_help_text = _("Search by certificate number, product, model or manufacturer.")
    autocomplete_fields = ["manufacturer", "institution"]


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


class CurrentChoiceAutocompleteSelect(AutocompleteSelect):
    """The autocomplete widget, which shows its selected option without a query of its own
    when the value is the row's current one (``current``, set by LicensedProductFormSet from
    the product read with its certificate).

    Django's widget reads the selected option from the database for every row it renders:
    a query per product of a licence's change page.
    """

    current = None  # (pk, label)

    def optgroups(self, name, value, attr=None):
        selected = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if self.current is None or selected != [str(self.current[0])]:
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        if not self.is_required:
            default[1].append(self.create_option(name, "", "", False, 0))
        default[1].append(
            self.create_option(name, self.current[0], self.current[1], set(selected), 1)
        )
        return [default]


class ProductsPage:
    """One page of a licence's products on its change page, and the links to the others."""

    def __init__(self, request, page):
        self.ids = list(page.object_list)
        self.count = page.paginator.count
        self.start = page.start_index()
        self.end = page.end_index()
        self.several = page.paginator.num_pages > 1
        self.links = []
        for number in page.paginator.get_elided_page_range(page.number, on_each_side=2):
            if number == Paginator.ELLIPSIS:
                self.links.append((number, None, False))
                continue
            query = request.GET.copy()
            query[PRODUCTS_PAGE_VAR] = number
            self.links.append((number, f"?{query.urlencode()}", number == page.number))


class LicensedProductFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        field = form.fields.get("type_approval")
        widget = getattr(field, "widget", None)
        if isinstance(widget, CurrentChoiceAutocompleteSelect) and form.instance.type_approval_id:
            approval = form.instance.type_approval  # read with the product (select_related)
            widget.current = (approval.pk, field.label_from_instance(approval))


class LicensedProductInline(ProvinceScopedMixin, admin.TabularInline):
    """A licence's products; on the change page a page of them at a time (LicenceAdmin)."""

    model = LicensedProduct
    form = LicensedProductForm
    formset = LicensedProductFormSet
    template = "admin/licensing/licence/products_inline.html"
    extra = 1
    ordering = ["category__sort_order", "product_name", "model_spec", "pk"]
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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "type_approval")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, RelatedFieldWidgetWrapper):
            # No add/change/view links on every row: the catalogue and the certificates have
            # their own pages, and the links cost a template each per row.
            field.widget = field.widget.widget
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "type_approval":
            kwargs["widget"] = CurrentChoiceAutocompleteSelect(db_field, self.admin_site)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "category":
            # The catalogue read once for every row's select, not once per row.
            field.choices = list(field.choices)
        return field


@admin.register(Licence)
class LicenceAdmin(LicenceListImportMixin, ExportableRegisterAdmin):
    # Adds the import buttons; django-import-export's export template extends it.
    change_list_template = "admin/licensing/licence/change_list.html"
    # The library's change form (its export button) with the register's stylesheet.
    change_form_template = "admin/licensing/licence/change_form.html"
    object_history_list_template = IMPORT_HISTORY_LIST_TEMPLATE
    resource_classes = [LicenceResource]
    export_file_title = _("Licence roster")
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
        ("province", ProvinceFilter),
        ProductCategoryFilter,
        "status",
        "issuing_level",
        ExpiryFilter,
        year_filter("issued_on", _("year issued")),
    ]
    list_select_related = ["manufacturer", "province"]
    sortable_by = ["number", "issued_on", "expires_on"]
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

    def lookup_allowed(self, lookup, value, request=None):
        # The category filter's own parameter (an EXISTS, not this relation's lookup).
        if lookup == ProductCategoryFilter.parameter_name:
            return True
        return super().lookup_allowed(lookup, value, request)

    def annotate_page(self, request, rows):
        return count_for_rows(rows, LicensedProduct.objects.all(), "licence", "product_total")

    def register_cell(self, params):
        status = params.pop("status__exact", None)
        has_province, province_id = pop_integer(params, "province__id__exact")
        has_category, category_id = pop_integer(params, ProductCategoryFilter.parameter_name)
        measure = {None: "licences", LicenceStatus.VALID: "valid_licences"}.get(status)
        if measure is None or params:
            return None
        if (has_province and province_id is None) or (has_category and category_id is None):
            return None
        return measure, province_id, {"category_id": category_id} if has_category else None

    # Counted for the rows shown (annotate_page): sorting the register by it would count
    # every licence's products, so it is not a sort column.
    @admin.display(description=_("products"))
    def product_count(self, obj):
        return obj.product_total

    def save_formset(self, request, form, formset, change):
        # The products' records are part of the licence's version (licensing/concurrency.py).
        at = getattr(form.instance, "_history_date", None)
        if at is not None:
            for product_form in formset.forms:
                product_form.instance._history_date = at
        super().save_formset(request, form, formset, change)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LicensedProductInline) and obj.pk is not None:
            page = self._products_page(request, obj, inline)
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=page.ids)
            request.licence_products_page = page
        return kwargs

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        inline_admin_formsets = super().get_inline_formsets(
            request, formsets, inline_instances, obj
        )
        for inline_admin_formset in inline_admin_formsets:
            if isinstance(inline_admin_formset.opts, LicensedProductInline):
                inline_admin_formset.products_page = getattr(request, "licence_products_page", None)
        return inline_admin_formsets

    def history_view(self, request, object_id, extra_context=None):
        """The licence's history, and below it its products' changes, a page at a time."""
        if (
            request.method in SAFE_METHODS
            and self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        ):
            page = licence_products_history(request, unquote(object_id))
            extra_context = {**(extra_context or {}), "product_history": page}
        return super().history_view(request, object_id, extra_context)

    def _products_page(self, request, obj, inline):
        """The page of the licence's products to edit (?products_page=N), in the inline's order.

        A licence may list over a hundred products: a form row each, with its widgets, is
        more than a page should draw (hundreds of kilobytes). The rows posted back are those
        of the same page (the form posts to its own address, page included).
        """
        products = (
            LicensedProduct.objects.filter(licence=obj)
            .order_by(*inline.ordering)
            .values_list("pk", flat=True)
        )
        paginator = Paginator(products, PRODUCTS_PER_PAGE)
        page = paginator.get_page(request.GET.get(PRODUCTS_PAGE_VAR))
        return ProductsPage(request, page)


PRODUCT_HISTORY_PER_PAGE = 20
PRODUCT_HISTORY_PAGE_VAR = "products_history_page"
# The product's fields a change lists, in this order (the licence is the page's own).
PRODUCT_HISTORY_FIELDS = (
    "category",
    "product_name",
    "model_spec",
    "accuracy_class",
    "measuring_range",
    "type_approval",
    "type_approval_number",
)


class ProductChange:
    """One history record of a licence's product, as the licence's history page lists it."""

    def __init__(self, record, previous, categories, approvals):
        self.record = record
        self.product = f"{record.product_name} {record.model_spec}"
        self.category = categories.get(record.category_id, "")
        self.changes = []
        if previous is None or record.history_type != "~":
            return

        def shown(name, value):
            if name == "category":
                return categories.get(value, value)
            if name == "type_approval":
                return approvals.get(value, value)
            return value

        for name in PRODUCT_HISTORY_FIELDS:
            attname = LicensedProduct._meta.get_field(name).attname
            old, new = getattr(previous, attname), getattr(record, attname)
            if old != new:
                self.changes.append(
                    (
                        LicensedProduct._meta.get_field(name).verbose_name,
                        shown(name, old) if old not in (None, "") else "—",
                        shown(name, new) if new not in (None, "") else "—",
                    )
                )


def licence_products_history(request, licence_id):
    """A page of the history of a licence's products, newest first, each with what changed.

    A few queries whatever the licence's size: the count, the page (each record with the id
    of the same product's record before it), those previous records, which of the page's
    products still exist, the catalogue and the certificates named by the page's records.
    """
    History = LicensedProduct.history.model
    previous_id = (
        History.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    records = (
        History.objects.filter(licence_id=licence_id)
        .select_related("history_user")
        .annotate(previous_id=Subquery(previous_id))
        .order_by("-history_date", "-history_id")
    )
    paginator = Paginator(records, PRODUCT_HISTORY_PER_PAGE)
    page = paginator.get_page(request.GET.get(PRODUCT_HISTORY_PAGE_VAR))
    rows = list(page.object_list)
    previous = History.objects.in_bulk(
        [row.previous_id for row in rows if row.previous_id and row.history_type == "~"]
    )
    categories = dict(InstrumentCategory.objects.values_list("pk", "name"))
    approval_ids = {
        value
        for row in [*rows, *previous.values()]
        for value in [row.type_approval_id]
        if value is not None
    }
    approvals = (
        dict(
            TypeApproval._base_manager.filter(pk__in=approval_ids).values_list(
                "pk", "certificate_number"
            )
        )
        if approval_ids
        else {}
    )
    # A deleted product's versions have no page of their own (it would be a 404).
    existing = set(
        LicensedProduct.objects.filter(pk__in={row.id for row in rows}).values_list("pk", flat=True)
    )
    page.changes = [
        ProductChange(row, previous.get(row.previous_id), categories, approvals) for row in rows
    ]
    for change in page.changes:
        change.exists = change.record.id in existing
    page.links = []
    for number in paginator.get_elided_page_range(page.number, on_each_side=2):
        if number == Paginator.ELLIPSIS:
            page.links.append((number, None, False))
            continue
        query = request.GET.copy()
        query[PRODUCT_HISTORY_PAGE_VAR] = number
        page.links.append((number, f"?{query.urlencode()}", number == page.number))
    return page


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
        ("licence__province", ProvinceFilter),
        "category",
        "licence__status",
    ]
    list_select_related = ["licence", "category", "type_approval"]
    # In the model's order (the licences' order, then each licence's products), read off the
    # licence list's index; no column sorts the million products otherwise.
    sortable_by = []
    search_fields = ["product_name", "model_spec", "licence__number", "licence__manufacturer__name"]
    search_help_text = _("Search by product, model, licence number or manufacturer.")
    autocomplete_fields = ["licence", "type_approval"]
    form = LicensedProductForm

    # A product is part of its licence: a change here makes a licence form loaded before it
    # stale, as an edit of the licence's inline does (licensing/concurrency.py).
    def save_model(self, request, obj, form, change):
        stored = LicensedProduct._base_manager.filter(pk=obj.pk).values_list("licence_id")
        before = {licence_id for (licence_id,) in stored} if change else set()
        super().save_model(request, obj, form, change)
        versions_raise(Licence, {*before, obj.licence_id})

    def delete_model(self, request, obj):
        licence_id = obj.licence_id
        super().delete_model(request, obj)
        versions_raise(Licence, {licence_id})

    def delete_queryset(self, request, queryset):
        licence_ids = set(queryset.order_by().values_list("licence_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        versions_raise(Licence, licence_ids)

    def register_cell(self, params):
        if params.pop("licence__status__exact", None) != LicenceStatus.VALID:
            return None
        has_province, province_id = pop_integer(params, "licence__province__id__exact")
        has_category, category_id = pop_integer(params, "category__id__exact")
        if params:
            return None
        if (has_province and province_id is None) or (has_category and category_id is None):
            return None
        return "products", province_id, {"category_id": category_id} if has_category else None


@admin.register(Announcement)
class AnnouncementAdmin(RegisterAdmin):
    list_display = ["licence", "kind", "method", "method_detail", "published_on", "filed_on"]
    list_filter = [
        ("licence__province", ProvinceFilter),
        "kind",
        "method",
        ("filed_on", admin.EmptyFieldListFilter),
        year_filter("published_on", _("year published")),
    ]
    list_select_related = ["licence"]
    sortable_by = ["published_on"]
    search_fields = ["licence__number", "licence__manufacturer__name", "method_detail"]
    search_help_text = _("Search by licence number or manufacturer.")
    autocomplete_fields = ["licence"]


@admin.register(ImportBatch)
class ImportBatchAdmin(RegisterListMixin, ProvinceScopedAdminMixin, admin.ModelAdmin):
    """The record of every licence-list import: read-only, in the same province scope."""

    list_display = [
        "created_at",
        "created_by",
        "province",
        "file_name",
        "status_label",
        "rows",
        "counts_summary",
    ]
    list_filter = ["status", ("province", ProvinceFilter)]
    list_select_related = ["created_by", "province"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "created_at"  # a few rows per upload: the hierarchy costs nothing here
    fields = [
        "file_name",
        "created_by_name",
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

    class Media:
        css = {"all": ["licensing/register.css"]}  # the "has errors" status stands out

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

    @admin.display(description=_("created by"))
    def created_by_name(self, obj):
        # Not the read-only foreign key, which links to the user's admin page: only national
        # superusers may open it for every user, anyone else would get 403.
        return obj.created_by or self.get_empty_value_display()

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        """The status, marked so that a preview with errors stands out from a good one."""
        return format_html(
            '<span class="import-status import-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description=_("counts"))
    def counts_summary(self, obj):
        if obj.status == ImportBatchStatus.HAS_ERRORS:
            count = obj.counts.get("errors", 0)  # the error list itself is not read for a list
            return ngettext("%(count)s error", "%(count)s errors", count) % {"count": count}
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
