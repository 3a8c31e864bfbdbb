"""The licence-list template (DESIGN.md §4) that provinces download, fill in and upload.

Sheet 1 is the import sheet: the header row only, so that nothing but the user's own rows is
ever imported. Sheet 2 explains every column and shows one example row. A hidden third sheet
holds the dropdown lists, which ranges can reference however long the catalogue grows (an
inline list is limited to 255 characters).
"""

from dataclasses import dataclass
from datetime import date
from io import BytesIO

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from licensing.importing.columns import COLUMNS, COLUMNS_BY_KEY, ISSUING_LEVELS, STATUSES
from licensing.models import InstrumentCategory

TEXT = "@"  # Excel keeps what is typed in a text column: no 1.23E+17, no dropped zeros
DATE = "yyyy-mm-dd"
LAST_ROW = 1_048_576  # validations and formats cover the whole column below the header

REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Guide:
    """How the template presents one of the importer's columns."""

    width: int
    help: str
    example: object
    number_format: str | None = None


# Keyed by the importer's column keys: headers and required flags come from columns.COLUMNS.
GUIDES = {
    "licence_number": Guide(
        18,
        _(
            "The province abbreviation, 制, 8 digits and 号, e.g. 鲁制00012345号; a missing "
            "trailing 号 is added. The abbreviation decides the licence's province."
        ),
        "鲁制00012345号",
        TEXT,
    ),
    "manufacturer_name": Guide(
        30, _("The manufacturer, a company or an individual."), "山东示例计量仪器有限公司"
    ),
    "credit_code": Guide(
        22,
        _("18 characters; the check character is verified (GB 32100-2015)."),
        "91370102163052311B",
        TEXT,
    ),
    "address": Guide(36, _("The manufacturer's address."), "山东省济南市历下区示例路1号"),
    "category": Guide(
        14, _("One of the catalogue's categories (choose from the list): %(names)s."), "水表"
    ),  # see also CATEGORY_HELP_WITH_ALIASES
    "product_name": Guide(18, _("The product name."), "冷水水表"),
    "model_spec": Guide(20, _("Model or specification, free text."), "LXS-15E"),
    "accuracy_class": Guide(12, _("Free text."), "2级"),
    "measuring_range": Guide(18, _("Free text."), "Q3=2.5m³/h"),
    "type_approval_number": Guide(
        18,
        _(
            "Year, a letter, 3–4 digits, a hyphen and the approving province's GB/T 2260 code, "
            "e.g. 2016F123-37; or the older form CPA 05-E123."
        ),
        "2016F123-37",
        TEXT,
    ),
    "issuing_authority": Guide(
        26, _("The issuing authority, e.g. 山东省质量技术监督局."), "山东省质量技术监督局"
    ),
    "issuing_level": Guide(
        10, _("One of %(values)s (choose from the list); empty means 省级."), "省级"
    ),
    "accepted_on": Guide(
        12,
        _("The date the application was accepted; not after the issue date."),
        date(2016, 4, 15),
        DATE,
    ),
    "issued_on": Guide(12, _("The date the licence was issued."), date(2016, 5, 12), DATE),
    "expires_on": Guide(
        12, _("The last day of validity; after the issue date."), date(2019, 5, 11), DATE
    ),
    "status": Guide(8, _("One of %(values)s (choose from the list); empty means 有效."), "有效"),
}
CATEGORY_HELP_WITH_ALIASES = _(
    "One of the catalogue's categories (choose from the list): %(names)s. Also accepted: "
    "%(aliases)s."
)

GENERAL_NOTES = [
    _(
        "Fill in the first sheet: one header row, then one row per licensed product. A licence "
        "listing several products takes several rows, each repeating the licence and "
        "manufacturer columns."
    ),
    _(
        "Headers marked * (in red) are required. Keep the header texts; the column order is free "
        "and columns not in the template are ignored with a warning."
    ),
    _(
        "Dates: real dates, or text such as 2016-05-12, 2016/5/12, 2016.5.12, 2016年5月12日 or "
        "20160512. Day-first or month-first forms such as 05/12/2016 are ambiguous and refused."
    ),
    _("Enter values, not formulas: a cell holding a formula is refused."),
    _(
        "A provincial user can import only licences of its own province. Importing the same "
        "file again changes nothing, and data absent from the file is never deleted."
    ),
]


def licence_template_xlsx() -> bytes:
    """The template as .xlsx bytes, its category list read from the catalogue."""
    categories = list(InstrumentCategory.objects.order_by("sort_order", "code"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(_("Licence list"))
    instructions = workbook.create_sheet(str(_("Instructions")))
    lists = workbook.create_sheet(str(_("Lists")))
    lists.sheet_state = "hidden"

    dropdowns = {
        "category": [category.name for category in categories],
        "issuing_level": list(ISSUING_LEVELS),
        "status": list(STATUSES),
    }
    _write_import_sheet(sheet, lists, dropdowns)
    _write_instructions(instructions, categories)

    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def header_text(column) -> str:
    """The header as the template writes it: required ones marked with *.

    The importer strips "*" from headers (DESIGN.md §4), so the mark does not stop a match.
    """
    return f"*{column.header}" if column.required else column.header


def _write_import_sheet(sheet, lists, dropdowns):
    sheet.freeze_panes = "A2"
    letters = {}
    for index, column in enumerate(COLUMNS, start=1):
        guide = GUIDES[column.key]
        letter = letters[column.key] = get_column_letter(index)
        _write_header(sheet.cell(row=1, column=index), column)
        dimension = sheet.column_dimensions[letter]
        dimension.width = guide.width
        if guide.number_format:
            # A column style: Excel gives it to every cell typed into the column later.
            dimension.number_format = guide.number_format

    for list_index, (key, values) in enumerate(dropdowns.items(), start=1):
        list_letter = get_column_letter(list_index)
        _set_text(lists.cell(row=1, column=list_index), COLUMNS_BY_KEY[key].header)
        for row, value in enumerate(values, start=2):
            _set_text(lists.cell(row=row, column=list_index), value)
        last = len(values) + 1
        validation = DataValidation(
            type="list",
            formula1=f"{quote_sheetname(lists.title)}!${list_letter}$2:${list_letter}${last}",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle=str(_("Not in the list")),
            error=str(_("Choose a value from the list.")),
        )
        validation.add(f"{letters[key]}2:{letters[key]}{LAST_ROW}")
        sheet.add_data_validation(validation)


def _write_instructions(sheet, categories):
    for letter, width in zip("ABCD", (20, 8, 70, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    title = sheet.cell(row=1, column=1)
    _set_text(title, str(_("How to fill in the licence list")))
    title.font = Font(bold=True, size=14)

    row = 2
    for note in GENERAL_NOTES:
        _set_text(sheet.cell(row=row, column=1), str(note))
        row += 1

    row += 1
    headings = [_("Column"), _("Required"), _("Meaning and accepted values"), _("Example")]
    for index, heading in enumerate(headings, start=1):
        cell = sheet.cell(row=row, column=index)
        _set_text(cell, str(heading))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    row += 1
    for column in COLUMNS:
        guide = GUIDES[column.key]
        values = [
            header_text(column),
            str(_("Yes") if column.required else _("No")),
            _column_help(column.key, categories),
        ]
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=index)
            _set_text(cell, value)
            cell.alignment = WRAP
        if column.required:
            sheet.cell(row=row, column=1).font = REQUIRED_FONT
        _write_value(sheet.cell(row=row, column=4), guide.example, guide.number_format)
        row += 1

    row += 1
    heading = sheet.cell(row=row, column=1)
    _set_text(heading, str(_("Example row (one licensed product)")))
    heading.font = HEADER_FONT
    heading.comment = Comment(
        str(_("An example only: the import reads the first sheet, never this one.")), "template"
    )
    row += 1
    for index, column in enumerate(COLUMNS, start=1):
        guide = GUIDES[column.key]
        _write_header(sheet.cell(row=row, column=index), column)
        _write_value(sheet.cell(row=row + 1, column=index), guide.example, guide.number_format)


def _column_help(key, categories) -> str:
    text = str(GUIDES[key].help)
    if key == "category":
        aliases = [
            f"{alias.strip()}→{category.name}"
            for category in categories
            for alias in category.aliases.split(",")
            if alias.strip()
        ]
        if aliases:
            text = str(CATEGORY_HELP_WITH_ALIASES)
        text %= {
            "names": "、".join(category.name for category in categories),
            "aliases": "、".join(aliases),
        }
    elif key == "issuing_level":
        text %= {"values": "、".join(ISSUING_LEVELS)}
    elif key == "status":
        text %= {"values": "、".join(STATUSES)}
    return text


def _write_header(cell, column):
    _set_text(cell, header_text(column))
    cell.font = REQUIRED_FONT if column.required else HEADER_FONT
    cell.fill = HEADER_FILL


def _write_value(cell, value, number_format):
    if isinstance(value, str):
        _set_text(cell, value)
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format


def _set_text(cell, value: str):
    cell.value = value
    cell.data_type = "s"  # never a formula, whatever the text starts with
