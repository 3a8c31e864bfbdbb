"""Exports of the register: resources for django-import-export and one safe writer per format.

Spreadsheet programs run cell text that starts with = + - @ (and, in CSV, tab or CR) as a
formula. The library's own setting only strips a single leading "=", so both formats here
neutralise every such value themselves:

- .xlsx: every string is written as a typed text cell, which Excel never evaluates, so the
  value is kept exactly (a measuring range of "-20~60℃" round-trips unchanged); a carriage
  return is written as the character reference &#13;, since XML readers turn a raw one into a
  line feed, and control characters XML cannot hold become U+FFFD, as the library does;
- .csv: text has no types, so such a value gets a leading apostrophe (OWASP's advice).

A register export can hold a whole province or the whole country, so it is streamed: the
resources' ``export_rows`` read the rows in one query, fetched in chunks, instead of the
library's ``export`` (model instances, a page query per 100 rows, a Dataset in memory); the
.csv goes out as it is written, and the .xlsx is written row by row to a file (openpyxl's
write-only workbook, its rows as XML text). ``export`` stays, and gives the same cells.
"""

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from itertools import groupby
from operator import itemgetter
from typing import BinaryIO
from xml.sax.saxutils import escape

from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from licensing.importing.columns import COLUMNS_BY_KEY
from licensing.models import Licence, Manufacturer

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
CHUNK_ROWS = 2000
# Bytes of .csv text gathered before a piece is sent.
CSV_PIECE_BYTES = 64 * 1024


def neutralise_for_csv(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_pieces(headers: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """The .csv of ``rows`` in pieces: UTF-8 with a BOM, formula-like text neutralised.

    Excel reads a UTF-8 .csv correctly only with the BOM. Written as tablib writes a Dataset
    (the csv module's excel dialect), so the bytes are those of the library's export.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\N{BYTE ORDER MARK}")
    writer.writerow([str(header) for header in headers])
    for row in rows:
        writer.writerow([neutralise_for_csv(value) for value in row])
        if buffer.tell() >= CSV_PIECE_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """Write one sheet: bold frozen header row, strings always as inert text cells."""
    buffer = BytesIO()
    write_xlsx_file(buffer, headers, rows, title=title)
    return buffer.getvalue()


def write_xlsx_file(
    target: BinaryIO, headers: Sequence[str], rows: Iterable[Sequence], title: str = "Sheet1"
) -> None:
    """write_xlsx into a seekable binary file, holding one row at a time in memory.

    openpyxl writes the workbook: its styles, the bold header row, the frozen pane. The data
    rows, nearly all of the file, are then written into its sheet as XML text, as openpyxl
    would write them (inline strings; dates as serial numbers in openpyxl's date style):
    openpyxl makes and serialises an object per cell, some 50 µs, which for a province's
    450,000 cells is most of a request's time.
    """
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
    cells = SheetCells(sheet)  # before saving: it adds the date styles to the workbook
    with tempfile.TemporaryFile() as package:
        workbook.save(package)
        package.seek(0)
        with (
            zipfile.ZipFile(package) as source,
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as result,
        ):
            for item in source.infolist():
                if not item.filename.startswith("xl/worksheets/"):
                    result.writestr(item, source.read(item))
                    continue
                head, tail = source.read(item).decode().split("</sheetData>", 1)
                with result.open(_zip_entry(item), "w", force_zip64=True) as writer:
                    writer.write(head.encode())
                    for piece in cells.pieces(rows, first_row=2):
                        writer.write(piece)
                    writer.write(f"</sheetData>{tail}".encode())


class SheetCells:
    """A sheet's data rows as the XML of its <sheetData>, in pieces of about CSV_PIECE_BYTES.

    Strings are inline and typed as text (``t="inlineStr"``), so never run as a formula;
    control characters XML cannot hold become U+FFFD and a carriage return is written as
    &#13; (see the module's docstring). Empty cells are left out, as openpyxl does.
    """

    def __init__(self, sheet):
        self.date_style = WriteOnlyCell(sheet, value=date(2000, 1, 1)).style_id
        self.datetime_style = WriteOnlyCell(sheet, value=datetime(2000, 1, 1)).style_id

    def pieces(self, rows: Iterable[Sequence], first_row: int) -> Iterator[bytes]:
        parts = []
        size = 0
        letters = []
        for number, row in enumerate(rows, start=first_row):
            if len(letters) < len(row):
                letters = [get_column_letter(index) for index in range(1, len(row) + 1)]
            xml = "".join(
                self.cell(f"{letter}{number}", value)
                for letter, value in zip(letters, row, strict=False)
            )
            parts.append(f'<row r="{number}">{xml}</row>')
            size += len(xml)
            if size >= CSV_PIECE_BYTES:
                yield "".join(parts).encode()
                parts, size = [], 0
        if parts:
            yield "".join(parts).encode()

    def cell(self, ref: str, value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            text = escape(ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value))
            text = text.replace("\r", "&#13;")
            space = ' xml:space="preserve"' if value.strip() not in ("", value) else ""
            return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise TypeError("Excel has no time zones: write the local time, without tzinfo.")
            return f'<c r="{ref}" s="{self.datetime_style}" t="n"><v>{safe_string(to_excel(value))}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}" s="{self.date_style}" t="n"><v>{to_excel(value)}</v></c>'
        if isinstance(value, int | float | Decimal):
            return f'<c r="{ref}" t="n"><v>{safe_string(value)}</v></c>'
        raise TypeError(f"No spreadsheet cell for a {type(value).__name__}.")


def _zip_entry(item: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh entry named and dated as ``item``, to be written in pieces (deflated)."""
    entry = zipfile.ZipInfo(item.filename, date_time=item.date_time)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = item.external_attr
    return entry


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

    def write_rows(self, target: BinaryIO, headers: Sequence[str], rows: Iterable[Sequence]):
        write_xlsx_file(target, headers, rows)


class SafeCSV(base_formats.CSV):
    def export_data(self, dataset, **kwargs):
        safe = dataset.__class__(headers=dataset.headers)
        for row in dataset:
            safe.append([neutralise_for_csv(value) for value in row])
        return safe.export("csv", **kwargs)

    def write_rows(self, target: BinaryIO, headers: Sequence[str], rows: Iterable[Sequence]):
        for piece in csv_pieces(headers, rows):
            target.write(piece)


EXPORT_FORMATS = [SafeXLSX, SafeCSV]


class StreamedResource(resources.ModelResource):
    """A resource whose rows are also read straight from the database: ``export_rows``.

    Each field's attribute is read with values_list (a ``get_FOO_display`` attribute as FOO,
    shown through the field's choices as Django does) and rendered by the field's own widget,
    as ``export`` renders it for the admin. A field named in ``related_columns`` lists the
    object's related rows: they come from the same query, joined, ordered after the object so
    that its rows are adjacent, and are joined into one cell.
    """

    # field name: (values_list paths of one related row, their order, cell(list of tuples))
    related_columns: dict = {}

    def export_rows(self, queryset, selected_fields=None) -> Iterator[list]:
        """The rows ``export`` would hold for ``queryset``, read in one query, in its order."""
        paths = ["pk"]
        cells = []
        related = None
        for field in self.get_export_fields(selected_fields):
            name = self.get_field_name(field)
            if name in self.related_columns:
                related = self.related_columns[name]
                cells.append((None, None, field))
                continue
            dehydrate = field.get_dehydrate_method(name)
            if callable(dehydrate) or callable(getattr(self, dehydrate, None)):
                # export() would call it with an instance, which export_rows never makes.
                raise TypeError(f"{name}: a dehydrated field is read through related_columns.")
            path, choices = self._source(field)
            if path not in paths:
                paths.append(path)
            cells.append((paths.index(path), choices, field))
        related_paths, related_order, join = related or ((), (), None)
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        if not {"pk", "-pk"} & {str(order) for order in ordering}:
            ordering.append("pk")  # total, so that an object's related rows are adjacent
        records = (
            queryset.values_list(*paths, *related_paths)
            .order_by(*ordering, *related_order)
            .iterator(chunk_size=CHUNK_ROWS)
        )
        width = len(paths)
        for _pk, group in groupby(records, key=itemgetter(0)):
            group = list(group)
            first = group[0]
            related_rows = [
                record[width:]
                for record in group
                if any(value is not None for value in record[width:])
            ]
            row = []
            for index, choices, field in cells:
                if index is None:
                    row.append(join(related_rows))
                    continue
                value = first[index]
                if choices is not None:
                    value = force_str(choices.get(value, value), strings_only=True)
                row.append(field.widget.render(value))
            yield row

    def _source(self, field):
        """The values_list path of a field's attribute, and its choices for a display one."""
        display = re.fullmatch(r"get_(\w+)_display", field.attribute or "")
        if display:
            model_field = self._meta.model._meta.get_field(display[1])
            return display[1], dict(model_field.flatchoices)
        return field.attribute, None


def products_cell(products: Iterable[tuple[str, str, str]]) -> str:
    """A licence's products in one cell: category, product and model of each, in their order."""
    return "；".join(f"{category} {product} {model}" for category, product, model in products)


def template_header(key: str) -> str:
    """The header of the licence-list template's column (licensing/importing/columns.py), so
    that an export reads as the lists the provinces keep, and can be imported again."""
    return COLUMNS_BY_KEY[key].header


class ManufacturerResource(StreamedResource):
    name = fields.Field(attribute="name", column_name=template_header("manufacturer_name"))
    credit_code = fields.Field(attribute="credit_code", column_name=template_header("credit_code"))
    province = fields.Field(attribute="province__name", column_name=_("province"))
    address = fields.Field(attribute="address", column_name=template_header("address"))
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


class LicenceResource(StreamedResource):
    number = fields.Field(attribute="number", column_name=template_header("licence_number"))
    manufacturer = fields.Field(
        attribute="manufacturer__name", column_name=template_header("manufacturer_name")
    )
    credit_code = fields.Field(
        attribute="manufacturer__credit_code", column_name=template_header("credit_code")
    )
    province = fields.Field(attribute="province__name", column_name=_("issuing province"))
    issuing_authority = fields.Field(
        attribute="issuing_authority", column_name=template_header("issuing_authority")
    )
    issuing_level = fields.Field(
        attribute="get_issuing_level_display", column_name=template_header("issuing_level")
    )
    # Dates stay dates: the admin passes native types only to the library's own binary
    # formats (an exact type check that SafeXLSX fails), so .xlsx would get text cells that
    # Excel cannot sort or filter as dates. CSV writes them as 2016-05-12 either way.
    accepted_on = fields.Field(
        attribute="accepted_on",
        column_name=template_header("accepted_on"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    issued_on = fields.Field(
        attribute="issued_on",
        column_name=template_header("issued_on"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    expires_on = fields.Field(
        attribute="expires_on",
        column_name=template_header("expires_on"),
        widget=widgets.DateWidget(coerce_to_string=False),
    )
    status = fields.Field(attribute="get_status_display", column_name=template_header("status"))
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
        return products_cell(
            (product.category.name, product.product_name, product.model_spec)
            for product in licence.products.all()
        )

    related_columns = {
        "products": (
            ("products__category__name", "products__product_name", "products__model_spec"),
            # The products' own order (LicensedProduct.Meta.ordering), then their id.
            (
                "products__category__sort_order",
                "products__product_name",
                "products__model_spec",
                "products__pk",
            ),
            products_cell,
        )
    }
