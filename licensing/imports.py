"""Simple imports through django-import-export: the manufacturer list and the institution list.

Both are one row per object, which is what the library does well: its preview, its diff and
its per-row errors are used as they are. The licence list (several models per row, bulk
writes) has its own importer in licensing/importing/.

Headers are fixed Chinese texts, like the licence template's: they are the files' interface,
not interface text, so they are not translated. They match after the licence importer's own
normalisation (NFKC, no spaces or * marks, no trailing note in brackets).
"""

import re

import tablib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.admin import ImportMixin
from import_export.formats.base_formats import Format
from import_export.forms import ImportForm
from import_export.results import Error

from licensing.importing.columns import (
    HEADER_ROW_SEARCH,
    category_lookup,
    cell_text,
    lookup_key,
    normalize_header,
)
from licensing.importing.errors import UnreadableFile
from licensing.importing.readers import default_max_upload_bytes, is_formula, read_spreadsheet
from licensing.models import InstrumentCategory, Manufacturer, Province, TypeEvaluationInstitution
from licensing.scoping import user_province_id
from licensing.validators import normalize_code

# Suffixes a province's full name may be written without: 山东 for 山东省, 广西 for 广西壮族自治区.
PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$")
CATEGORY_SEPARATORS = re.compile(r"[、,;；/\n]+")  # after NFKC: ，→, and ；stays
YES = ("是", "1", "true", "TRUE", "True")
NO = ("否", "0", "false", "FALSE", "False")


class SpreadsheetFormat(Format):
    """.xlsx, .xls or .csv (UTF-8 or GBK/GB18030), told apart by content and read by the licence
    importer's reader, so every upload passes its safety checks before a parser sees it."""

    def __init__(self, encoding=None):
        self.encoding = encoding  # the library passes one; the reader decides from the content

    def get_title(self):
        return "xlsx / xls / csv"

    def can_import(self):
        return True

    def create_dataset(self, in_stream):
        rows = read_spreadsheet(in_stream).rows  # blank rows are left out
        if not rows:
            return tablib.Dataset()
        width = max(len(row.values) for row in rows)
        dataset = tablib.Dataset(headers=_padded(rows[0].values, width))
        for row in rows[1:]:
            dataset.append(_padded(row.values, width))
        return dataset


def _padded(values, width):
    return [*values, *[None] * (width - len(values))]


def _cell_text(value) -> str:
    if is_formula(value):
        raise ValueError(
            _("“%(formula)s” is a formula: enter the value itself.") % {"formula": value}
        )
    return cell_text(value)


class TextWidget(widgets.CharWidget):
    """Cell text as the licence importer reads it: NFKC, stripped, 13800138000.0 → 13800138000."""

    def clean(self, value, row=None, **kwargs):
        return _cell_text(value)


class CodeWidget(widgets.CharWidget):
    """An identifier: NFKC, no spaces at all, upper case (as Manufacturer.clean_fields does)."""

    def clean(self, value, row=None, **kwargs):
        return normalize_code(_cell_text(value))


class YesNoWidget(widgets.BooleanWidget):
    def clean(self, value, row=None, **kwargs):
        text = _cell_text(value)
        if not text:
            raise ValueError(_("Write 是 or 否."))
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError(_("“%(value)s” is not 是 or 否.") % {"value": text})

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


class ProvinceWidget(widgets.ForeignKeyWidget):
    """省份 by name; a provincial user may name its own province only."""

    def __init__(self, user):
        super().__init__(Province, field="name")
        self.user = user
        self._by_name = None

    def clean(self, value, row=None, **kwargs):
        text = _cell_text(value)
        if not text:
            return None
        if self._by_name is None:  # 32 rows, read once per import
            self._by_name = {}
            for province in Province.objects.all():
                self._by_name[province.name] = province
                self._by_name.setdefault(PROVINCE_SUFFIX.sub("", province.name), province)
        province = self._by_name.get(lookup_key(text))
        if province is None:
            raise ValueError(
                _("“%(value)s” is not a province: write its name, e.g. 山东省.") % {"value": text}
            )
        own = user_province_id(self.user)
        if own and province.pk != own:
            raise ValueError(
                _("You can import rows of your own province only; this row names %(province)s.")
                % {"province": province.name}
            )
        return province


class CategoriesWidget(widgets.ManyToManyWidget):
    """Category names or known aliases, separated by 、 , or ；."""

    def __init__(self):
        super().__init__(InstrumentCategory, separator="、", field="name")
        self._lookup = None

    def clean(self, value, row=None, **kwargs):
        text = _cell_text(value)
        if not text:
            return []
        if self._lookup is None:
            categories = list(InstrumentCategory.objects.all())
            self._by_id = {category.pk: category for category in categories}
            self._lookup = category_lookup(categories)
        chosen, unknown = {}, []
        for name in CATEGORY_SEPARATORS.split(text):
            if not name.strip():
                continue
            category_id = self._lookup.get(lookup_key(name))
            if category_id is None:
                unknown.append(name.strip())
            else:
                chosen[category_id] = self._by_id[category_id]
        if unknown:
            raise ValueError(
                _("“%(names)s” is not a category of the catalogue (%(catalogue)s).")
                % {
                    "names": "、".join(unknown),
                    "catalogue": "、".join(
                        category.name
                        for category in sorted(self._by_id.values(), key=lambda c: c.sort_order)
                    ),
                }
            )
        return list(chosen.values())


class PlainError(Error):
    """An import error as users see it: the message, never a traceback of the server's code."""

    traceback = ""


class ScopedImportResource(resources.ModelResource):
    """Shared by both imports: the acting user's scope, and headers read as the licence list's."""

    # Export headers (the translated verbose names) accepted too, so an export can be edited and
    # imported again.
    header_aliases: dict[str, str] = {}

    def __init__(self, *, user, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["province"].widget = ProvinceWidget(user)

    def before_import(self, dataset, **kwargs):
        known = {
            normalize_header(field.column_name): field.column_name for field in self.fields.values()
        }
        known.update(self.header_aliases)
        ids = {self.fields[name].column_name for name in self.get_import_id_fields()}

        def names(values):
            return [known.get(normalize_header(value), value) for value in values]

        # Title rows above the header are skipped, as in a licence list: the header is the first
        # of the first ten rows that names the identifying column.
        for above in range(min(HEADER_ROW_SEARCH, len(dataset) + 1)):
            candidate = list(dataset.headers or []) if above == 0 else list(dataset[above - 1])
            if ids <= set(names(candidate)):
                for _title in range(above):
                    del dataset[0]
                dataset.headers = names(candidate)
                return
        raise ValueError(
            _("No header row naming %(columns)s was found in the first ten rows.")
            % {"columns": "、".join(sorted(ids))}
        )

    @classmethod
    def get_error_result_class(cls):
        return PlainError

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The preview labels each message with its key: the file's header, not the field name.
        try:
            super().validate_instance(instance, import_validation_errors, validate_unique)
        except ValidationError as error:
            columns = {name: field.column_name for name, field in self.fields.items()}
            raise ValidationError(
                {columns.get(key, key): messages for key, messages in error.error_dict.items()}
            ) from error


class ManufacturerImportResource(ScopedImportResource):
    name = fields.Field(attribute="name", column_name="企业名称", widget=TextWidget())
    credit_code = fields.Field(
        attribute="credit_code", column_name="统一社会信用代码", widget=CodeWidget()
    )
    province = fields.Field(attribute="province", column_name="省份")
    address = fields.Field(attribute="address", column_name="企业地址", widget=TextWidget())
    legal_representative = fields.Field(
        attribute="legal_representative", column_name="法定代表人", widget=TextWidget()
    )
    contact_person = fields.Field(
        attribute="contact_person", column_name="联系人", widget=TextWidget()
    )
    contact_phone = fields.Field(
        attribute="contact_phone", column_name="联系电话", widget=TextWidget()
    )

    header_aliases = {"制造单位名称": "企业名称", "地址": "企业地址"}

    class Meta:
        model = Manufacturer
        fields = (
            "name",
            "credit_code",
            "province",
            "address",
            "legal_representative",
            "contact_person",
            "contact_phone",
        )
        import_id_fields = ["credit_code"]
        clean_model_instances = True  # the credit-code check and every other model validator
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        # A credit code of another province is then not found: the row would create a second
        # manufacturer with that code, which the unique check refuses. Nothing moves province.
        return Manufacturer.objects.for_user(self.user)


class InstitutionImportResource(ScopedImportResource):
    name = fields.Field(attribute="name", column_name="机构名称", widget=TextWidget())
    province = fields.Field(attribute="province", column_name="省份")
    uniformly_authorised = fields.Field(
        attribute="uniformly_authorised", column_name="是否总局统一授权", widget=YesNoWidget()
    )
    categories = fields.Field(
        attribute="categories", column_name="授权类别", widget=CategoriesWidget()
    )

    class Meta:
        model = TypeEvaluationInstitution
        fields = ("name", "province", "uniformly_authorised", "categories")
        import_id_fields = ["name"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def import_instance(self, instance, row, **kwargs):
        # The library reads many-to-many cells only when it saves them, after validation, so
        # an unknown category would end the row as an exception. Read them with the rest.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        field = self.fields["categories"]
        if field.column_name in row:
            try:
                field.clean(row)
            except ValueError as error:
                errors["categories"] = ValidationError(str(error), code="invalid")
        if errors:
            raise ValidationError(errors)


class UploadForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        # Refused before the library copies it to temporary storage.
        if upload.size > default_max_upload_bytes():
            try:
                read_spreadsheet(upload)  # refuses it by its size, without reading it
            except UnreadableFile as error:
                raise ValidationError(str(error), code=error.code) from error
        return upload


class ScopedImportMixin(ImportMixin):
    """The library's upload → preview → confirm, with the user's scope and all or nothing.

    ``import_resource_classes`` are used for import only, so the admin's export keeps its own
    resources.
    """

    import_resource_classes: list = []
    import_formats = [SpreadsheetFormat]
    import_form_class = UploadForm
    import_error_display = ("message",)
    # The import and the export buttons (ImportMixin alone would show the import button only).
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"

    def get_import_resource_classes(self, request):
        return self.import_resource_classes

    def get_import_resource_kwargs(self, request, **kwargs):
        return {"user": request.user}

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, UnreadableFile):
            form.add_error("import_file", str(e))  # the reader's own plain message
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # A row that turned invalid between preview and confirm undoes the whole import.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request,
                _("Nothing was imported: the file has errors now. Upload it again to see them."),
            )
            app_label, model_name = self.get_model_info()
            return HttpResponseRedirect(
                reverse(f"admin:{app_label}_{model_name}_import", current_app=self.admin_site.name)
            )
        return super().process_result(result, request)
