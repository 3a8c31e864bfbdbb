"""Exports of the register: resources for django-import-export and one safe .xlsx writer.

Spreadsheet programs run cell text that starts with = + - @ (and, in CSV, tab or CR) as a
formula. The library's own setting only strips a single leading "=", so both formats here
neutralise every such value themselves:

- .xlsx: every string is written as a typed text cell, which Excel never evaluates, so the
  value is kept exactly (a measuring range of "-20~60℃" round-trips unchanged); a carriage
  return is written as the character reference &#13;, since XML readers turn a raw one into a
  line feed, and control characters XML cannot hold become U+FFFD, as the library does;
- .csv: text has no types, so such a value gets a leading apostrophe (OWASP's advice).
"""

import zipfile
from collections.abc import Iterable, Sequence
from io import BytesIO

from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from licensing.models import Licence, Manufacturer

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_for_csv(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """Write one sheet: bold frozen header row, strings always as inert text cells."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    has_carriage_return = False
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
                has_carriage_return = has_carriage_return or "\r" in value
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never "f": text stays text
            cells.append(cell)
        sheet.append(cells)
    buffer = BytesIO()
    workbook.save(buffer)
    if has_carriage_return:
        return _keep_carriage_returns(buffer.getvalue())
    return buffer.getvalue()


def _keep_carriage_returns(xlsx: bytes) -> bytes:
    """Write each raw CR of the sheets as &#13;, which XML readers keep (openpyxl writes it raw).

    openpyxl escapes CR in attributes, so a raw CR byte in a sheet is always cell text; in
    UTF-8 the byte 0x0D is never part of another character.
    """
    source = zipfile.ZipFile(BytesIO(xlsx))
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                content = content.replace(b"\r", b"&#13;")
            target.writestr(item, content)
    return buffer.getvalue()


class SafeXLSX(base_formats.XLSX):
    def export_data(self, dataset, **kwargs):
        return write_xlsx(dataset.headers or [], dataset, title=dataset.title or "Sheet1")


class SafeCSV(base_formats.CSV):
    def export_data(self, dataset, **kwargs):
        safe = dataset.__class__(headers=dataset.headers)
        for row in dataset:
            safe.append([neutralise_for_csv(value) for value in row])
        return safe.export("csv", **kwargs)


EXPORT_FORMATS = [SafeXLSX, SafeCSV]


class ManufacturerResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name=_("manufacturer name"))
    credit_code = fields.Field(attribute="credit_code", column_name=_("unified social credit code"))
    province = fields.Field(attribute="province__name", column_name=_("province"))
    address = fields.Field(attribute="address", column_name=_("address"))
    legal_representative = fields.Field(
        attribute="legal_representative", column_name=_("legal representative")
    )
    contact_person = fields.Field(attribute="contact_person", column_name=_("contact person"))
    contact_phone = fields.Field(attribute="contact_phone", column_name=_("contact phone"))

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
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("province")


class LicenceResource(resources.ModelResource):
    number = fields.Field(attribute="number", column_name=_("licence number"))
    manufacturer = fields.Field(attribute="manufacturer__name", column_name=_("manufacturer name"))
    credit_code = fields.Field(
        attribute="manufacturer__credit_code", column_name=_("unified social credit code")
    )
    province = fields.Field(attribute="province__name", column_name=_("issuing province"))
    issuing_authority = fields.Field(
        attribute="issuing_authority", column_name=_("issuing authority")
    )
    issuing_level = fields.Field(
        attribute="get_issuing_level_display", column_name=_("issuing level")
    )
    # Dates stay dates: the admin passes native types only to the library's own binary
    # formats (an exact type check that SafeXLSX fails), so .xlsx would get text cells that
    # Excel cannot sort or filter as dates. CSV writes them as 2016-05-12 either way.
    accepted_on = fields.Field(
        attribute="accepted_on",
        column_name=_("application accepted on"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    issued_on = fields.Field(
        attribute="issued_on",
        column_name=_("issued on"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    expires_on = fields.Field(
        attribute="expires_on",
        column_name=_("valid until"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    status = fields.Field(attribute="get_status_display", column_name=_("status"))
    products = fields.Field(column_name=_("licensed products"))

    class Meta:
        model = Licence
        fields = (
            "number",
            "manufacturer",
            "credit_code",
            "province",
            "issuing_authority",
            "issuing_level",
            "accepted_on",
            "issued_on",
            "expires_on",
            "status",
            "products",
        )
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("manufacturer", "province").prefetch_related(
            "products__category"
        )

    def dehydrate_products(self, licence):
        return "；".join(
            f"{product.category.name} {product.product_name} {product.model_spec}"
            for product in licence.products.all()
        )
