"""The department's .xlsx exports: Attachments 1 and 2 in the notice's own layouts, the status
of the reporting units and the register's province × category table.

The functions ending in ``_rows`` read what a layout shows, always from querysets the caller
scoped with ``for_user``; one function per layout draws it and returns the file's bytes. The
headings are verification.layout's, so the files say what the notice says.

Every workbook is written in openpyxl's normal mode, not its write-only mode: the attachments
need merged cells (the title, the two group headings, the notes), and no sheet here holds more
than one row per reporting unit (32), so streaming would save nothing worth a second writer.

Cell text is written as licensing/exports.py writes it: as a typed text cell, which Excel and
LibreOffice never evaluate, so "=1+1" or "@SUM(1)" stays text; control characters XML cannot
hold become U+FFFD. Line ends become line feeds, which break the line in a wrapped cell: these
files are read and printed, not imported back, so a carriage return need not be kept exactly.
"""

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from types import SimpleNamespace

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from licensing.models import Province, RegisterCount
from reports.selectors import json_object
from verification import layout
from verification.models import (
    ATTACHMENT1_FIELDS,
    Campaign,
    ProvincialReturn,
    ReturnSnapshot,
    SystemAdministratorQuerySet,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- what the layouts show -----------------------------------------------------------------


@dataclass
class Attachment1Row:
    province: Province
    cells: list[str]  # one per layout.ATTACHMENT1_COLUMNS


def _as_submitted(answers: dict) -> SimpleNamespace:
    """The submitted answers, shaped as the return that layout.column_display reads.

    A field an older snapshot does not hold gets the field's empty value.
    """
    values = {}
    for name in ATTACHMENT1_FIELDS:
        default = ProvincialReturn._meta.get_field(name).get_default()
        value = answers.get(name)
        values[name] = default if value is None else value
    return SimpleNamespace(**values)


def attachment1_rows(
    *, campaign: Campaign, returns: QuerySet, provinces: Sequence[Province]
) -> list[Attachment1Row]:
    """One row per unit of ``provinces``: its answers as last submitted (what the department
    received), or its name and empty cells with "not submitted" in the remarks. One query.

    ``returns`` is the reader's ``ProvincialReturn.objects.for_user(user)``: a return it may
    not see is, for it, never submitted.
    """
    last_snapshot = ReturnSnapshot.objects.filter(provincial_return=OuterRef("pk")).order_by(
        "-number"
    )
    submitted = {
        provincial_return.province_id: json_object(provincial_return.last_answers)
        for provincial_return in returns.in_campaign(campaign)
        .annotate(last_answers=Subquery(last_snapshot.values("data__answers")[:1]))
        .only("pk", "province_id")
    }
    rows = []
    for province in provinces:
        answers = submitted.get(province.pk)
        if answers is None:
            cells = [""] * len(layout.ATTACHMENT1_COLUMNS)
            cells[layout.ATTACHMENT1_COLUMNS.index(layout.REMARKS)] = gettext("Not submitted")
        else:
            row = _as_submitted(answers)
            cells = [layout.column_display(column, row) for column in layout.ATTACHMENT1_COLUMNS]
        rows.append(Attachment1Row(province=province, cells=cells))
    return rows


def attachment2_rows(*, administrators: SystemAdministratorQuerySet) -> list[list[str]]:
    """Each unit's current administrator, in province code order: one query.

    ``administrators`` is the reader's ``SystemAdministrator.objects.for_user(user)``. A unit
    that never filed Attachment 2 has no row: the notice's table has no column to name it by.
    """
    return [
        [getattr(administrator, name) for name in layout.ATTACHMENT2_FIELDS]
        for administrator in administrators.current_per_province()
    ]


# --- drawing ---------------------------------------------------------------------------------

FONT_NAME = "宋体"  # SimSun: what the bureaus' Excel uses for body text
BODY = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
LABEL = Font(name=FONT_NAME, size=12, bold=True)
TITLE = Font(name=FONT_NAME, size=16, bold=True)
THIN = Side(style="thin")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
NO_BORDER = Border()
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
NUMBER = Alignment(horizontal="right", vertical="center")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Points per line of 11-point text and the cell's own padding: neither Excel nor a merged cell
# fits a row's height to wrapped text when the file is opened, so the heights are set here.
LINE_HEIGHT = 15
ROW_PADDING = 4


def _display_width(text: str) -> int:
    """Width in Excel's column units: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _lines(text: str, width: float) -> int:
    usable = max(int(width) - 2, 1)
    return sum(max(1, math.ceil(_display_width(line) / usable)) for line in text.split("\n"))


def _clean(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)


class _Sheet:
    """One worksheet being drawn: typed cells, merged ranges, widths and fitted row heights."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[float]):
        self.sheet = workbook.create_sheet(title=_sheet_title(title))
        self.widths = list(widths)
        for index, width in enumerate(self.widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.heights: dict[int, float] = {}

    @property
    def last_column(self) -> int:
        return len(self.widths)

    def put(self, row, column, value, *, font=BODY, alignment=LEFT, border=GRID, span=1):
        """Write one cell (merged over ``span`` columns) and grow its row to fit the text."""
        cell = self.sheet.cell(row=row, column=column)
        if isinstance(value, str):
            value = _clean(value)
            cell.value = value
            cell.data_type = "s"  # never "f": text stays text
        else:
            cell.value = value
        cell.font = font
        cell.alignment = alignment
        if span > 1:
            self.sheet.merge_cells(
                start_row=row, start_column=column, end_row=row, end_column=column + span - 1
            )
        for index in range(column, column + span):
            self.sheet.cell(row=row, column=index).border = border
        if isinstance(value, str) and value:
            width = sum(self.widths[column - 1 : column - 1 + span])
            lines = _lines(value, width * 11 / font.size)
            self.fit(row, lines * LINE_HEIGHT * font.size / 11 + ROW_PADDING)
        return cell

    def merge_down(self, row, column, rows):
        """Merge a heading over ``rows`` rows, its grid drawn on every cell of the range."""
        self.sheet.merge_cells(
            start_row=row, start_column=column, end_row=row + rows - 1, end_column=column
        )
        for index in range(row, row + rows):
            self.sheet.cell(row=index, column=column).border = GRID

    def fit(self, row, height):
        self.heights[row] = max(self.heights.get(row, 0), height)

    def finish(self, *, header_rows: tuple[int, int], freeze: str):
        """Row heights; frozen headings; A4, fit to width, headings repeated on every page."""
        for row, height in self.heights.items():
            self.sheet.row_dimensions[row].height = math.ceil(height)
        sheet = self.sheet
        sheet.freeze_panes = freeze
        first, last = header_rows
        sheet.print_title_rows = f"{first}:{last}"
        setup = sheet.page_setup
        setup.orientation = "landscape"
        setup.paperSize = sheet.PAPERSIZE_A4
        setup.fitToWidth = 1
        setup.fitToHeight = 0  # as many pages down as the rows need
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_options.horizontalCentered = True
        sheet.page_margins = PageMargins(
            left=0.5, right=0.5, top=0.6, bottom=0.7, header=0.3, footer=0.3
        )
        # Translators: the page footer of the exported tables; &P is the page, &N the pages.
        sheet.oddFooter.center.text = gettext("Page &P of &N")


def _sheet_title(title: str) -> str:
    """A legal worksheet name: at most 31 characters, none of : \\ / ? * [ ]."""
    for char in ":\\/?*[]":
        title = title.replace(char, " ")
    return title[:31]


def _save(workbook: Workbook, title: str, subject: str = "") -> bytes:
    workbook.properties.title = title
    workbook.properties.subject = subject
    workbook.properties.creator = gettext("Licence system")
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _new_workbook() -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


def _numbered_notes(label: str, notes: Sequence[str]) -> list[str]:
    """备注：1、… then 2、… aligned under the first note, as the notice sets them."""
    indent = _display_width(label)
    padding = "\N{IDEOGRAPHIC SPACE}" * (indent // 2) + " " * (indent % 2)
    lines = []
    for number, note in enumerate(notes, start=1):
        # Translators: a numbered note below a table; in Chinese 1、…
        text = gettext("%(number)d. %(note)s") % {"number": number, "note": note}
        lines.append(f"{label}{text}" if number == 1 else f"{padding}{text}")
    return lines


# --- Attachment 1 ----------------------------------------------------------------------------

# Column widths (Excel's units: two per Chinese character) by column key; others get 16.
ATTACHMENT1_WIDTHS = {
    "province": 18,
    "out_of_scope": 9,
    "institutions_authorised": 14,
    "announcement_methods": 16,
    "list_filed": 13,
    "online_approval": 10,
    "type_approval_department": 22,
    "licence_department": 22,
    "reform_measures": 30,
    "remarks": 22,
}
# The blanks the department's compilation leaves for a unit's name, as the notice prints them,
# and the space before the seal.
UNIT_BLANK = "\N{IDEOGRAPHIC SPACE}" * 12
SEAL_GAP = "\N{IDEOGRAPHIC SPACE}" * 4


def _is_yes_no(column: layout.Column) -> bool:
    return all(
        ProvincialReturn._meta.get_field(name).get_internal_type() == "BooleanField"
        for name in column.fields
    )


def attachment1_title() -> str:
    return str(layout.ATTACHMENT1_TITLE)


def attachment1_xlsx(
    *, rows: Sequence[Attachment1Row], campaign: Campaign, reporting_unit: str = ""
) -> bytes:
    """Attachment 1: title, 报送单位 line, the two-row heading, one row per unit, the notes.

    ``reporting_unit`` names the unit on its own copy; the national compilation leaves the
    blanks of the notice.
    """
    columns = layout.ATTACHMENT1_COLUMNS
    widths = [ATTACHMENT1_WIDTHS["province"], *(ATTACHMENT1_WIDTHS.get(c.key, 16) for c in columns)]
    workbook = _new_workbook()
    sheet = _Sheet(workbook, gettext("Attachment 1"), widths)
    span = sheet.last_column

    sheet.put(1, 1, gettext("Attachment 1"), font=LABEL, border=NO_BORDER, span=2)
    sheet.put(2, 1, attachment1_title(), font=TITLE, alignment=CENTRE, border=NO_BORDER, span=span)
    unit = (
        f"{layout.REPORTING_UNIT_LABEL}{reporting_unit or UNIT_BLANK}"
        f"{SEAL_GAP}{layout.OFFICIAL_SEAL}"
    )
    sheet.put(3, 1, unit, border=NO_BORDER, span=span)

    # The heading: 省份 and 备注 over both rows, each group's heading over its columns.
    sheet.put(4, 1, str(layout.PROVINCE_HEADING), font=BOLD, alignment=CENTRE)
    sheet.merge_down(4, 1, 2)
    column = 2
    for group in layout.ATTACHMENT1_GROUPS:
        sheet.put(
            4, column, str(group.heading), font=BOLD, alignment=CENTRE, span=len(group.columns)
        )
        for item in group.columns:
            sheet.put(5, column, str(item.heading), font=BOLD, alignment=CENTRE)
            column += 1
    sheet.put(4, column, str(layout.REMARKS.heading), font=BOLD, alignment=CENTRE)
    sheet.merge_down(4, column, 2)

    row = 6
    for unit_row in rows:
        sheet.put(row, 1, unit_row.province.name, alignment=CENTRE)
        for index, (item, text) in enumerate(zip(columns, unit_row.cells, strict=True), start=2):
            sheet.put(row, index, text, alignment=CENTRE if _is_yes_no(item) else LEFT)
        row += 1

    for line in _numbered_notes(str(layout.ATTACHMENT1_NOTES_LABEL), layout.ATTACHMENT1_NOTES):
        sheet.put(row, 1, line, border=NO_BORDER, span=span)
        row += 1
    sheet.finish(header_rows=(4, 5), freeze="B6")
    return _save(workbook, attachment1_title(), campaign.notice_number)


# --- Attachment 2 ----------------------------------------------------------------------------

ATTACHMENT2_WIDTHS = {
    "name": 12,
    "organisation": 40,
    "title": 16,
    "office_phone": 18,
    "mobile": 16,
    "email": 32,
}


def attachment2_title() -> str:
    return str(layout.ATTACHMENT2_TITLE)


def attachment2_xlsx(*, rows: Sequence[Sequence[str]]) -> bytes:
    """Attachment 2: title, 姓名 单位 职务 办公电话 手机 E-mail, one row per unit, the note."""
    widths = [ATTACHMENT2_WIDTHS.get(name, 16) for name in layout.ATTACHMENT2_FIELDS]
    workbook = _new_workbook()
    sheet = _Sheet(workbook, gettext("Attachment 2"), widths)
    span = sheet.last_column

    sheet.put(1, 1, gettext("Attachment 2"), font=LABEL, border=NO_BORDER)
    sheet.put(2, 1, attachment2_title(), font=TITLE, alignment=CENTRE, border=NO_BORDER, span=span)
    for column, heading in enumerate(layout.attachment2_headings(), start=1):
        sheet.put(3, column, heading, font=BOLD, alignment=CENTRE)
    row = 4
    for values in rows:
        for column, value in enumerate(values, start=1):
            sheet.put(row, column, value, alignment=CENTRE if column != 2 else LEFT)
        row += 1
    sheet.put(row, 1, str(layout.ATTACHMENT2_NOTE), border=NO_BORDER, span=span)
    sheet.finish(header_rows=(3, 3), freeze="A4")
    return _save(workbook, attachment2_title())


# --- the reporting units' status -------------------------------------------------------------

STATUS_WIDTHS = (18, 14, 18, 18, 16, 10, 10)


def status_list_title(campaign: Campaign) -> str:
    return gettext("Returns for %(notice)s") % {"notice": campaign.notice_number}


def _as_of() -> str:
    return gettext("As of %(time)s") % {"time": f"{timezone.localtime():%Y-%m-%d %H:%M}"}


def _local(value: datetime | None):
    """A naive Beijing time for the cell (a spreadsheet has no time zones), or an empty cell."""
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def status_list_xlsx(*, campaign: Campaign, rows) -> bytes:
    """All reporting units of a campaign (reports.selectors.status_rows): one row each."""
    title = status_list_title(campaign)
    workbook = _new_workbook()
    sheet = _Sheet(workbook, title, STATUS_WIDTHS)
    span = sheet.last_column
    sheet.put(1, 1, title, font=TITLE, alignment=CENTRE, border=NO_BORDER, span=span)
    deadline = gettext("Return deadline: %(date)s") % {
        "date": f"{campaign.return_deadline:%Y-%m-%d}"
    }
    sheet.put(2, 1, f"{deadline}\N{IDEOGRAPHIC SPACE}{_as_of()}", border=NO_BORDER, span=span)
    headings = [
        gettext("Reporting unit"),
        gettext("Status"),
        gettext("First submitted"),
        gettext("Last submitted"),
        gettext("Deadline"),
        gettext("Submissions"),
        gettext("Findings"),
    ]
    for column, heading in enumerate(headings, start=1):
        sheet.put(3, column, heading, font=BOLD, alignment=CENTRE)
    row = 4
    for status_row in rows:
        provincial_return = status_row.provincial_return
        values = [
            status_row.province.name,
            status_row.status_label,
            _local(provincial_return and provincial_return.first_submitted_at),
            _local(provincial_return and provincial_return.submitted_at),
            status_row.lateness_label,
            status_row.submissions,
            status_row.findings_total,
        ]
        for column, value in enumerate(values, start=1):
            cell = sheet.put(row, column, value, alignment=NUMBER if column >= 6 else LEFT)
            if isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
                cell.alignment = CENTRE
        row += 1
    sheet.sheet.auto_filter.ref = f"A3:{get_column_letter(span)}{max(row - 1, 3)}"
    sheet.finish(header_rows=(3, 3), freeze="B4")
    return _save(workbook, title, campaign.notice_number)


# --- the register's province × category table ------------------------------------------------


def register_table_title() -> str:
    return gettext("Licensed manufacturers and valid licences by province and category")


def register_table_xlsx(*, table) -> bytes:
    """reports.selectors.register_table: per category and in total, licensed manufacturers and
    valid licences of each unit, and the column totals."""
    title = register_table_title()
    total = pgettext("table", "Total")
    groups = [category.name for category in table.categories] + [total]
    widths = [18] + [10] * (2 * len(groups))
    workbook = _new_workbook()
    sheet = _Sheet(workbook, title, widths)
    span = sheet.last_column
    sheet.put(1, 1, title, font=TITLE, alignment=CENTRE, border=NO_BORDER, span=span)
    sheet.put(2, 1, _as_of(), border=NO_BORDER, span=span)

    sheet.put(3, 1, str(layout.PROVINCE_HEADING), font=BOLD, alignment=CENTRE)
    sheet.merge_down(3, 1, 2)
    measures = [
        capfirst(str(RegisterCount._meta.get_field(name).verbose_name))
        for name in ("manufacturers", "valid_licences")
    ]
    for index, group in enumerate(groups):
        column = 2 + 2 * index
        sheet.put(3, column, group, font=BOLD, alignment=CENTRE, span=2)
        for offset, measure in enumerate(measures):
            sheet.put(4, column + offset, measure, font=BOLD, alignment=CENTRE)

    def sizes_row(row, label, sizes, font):
        sheet.put(row, 1, label, font=font, alignment=CENTRE)
        for index, size in enumerate(sizes):
            column = 2 + 2 * index
            sheet.put(row, column, size.manufacturers, font=font, alignment=NUMBER)
            sheet.put(row, column + 1, size.valid_licences, font=font, alignment=NUMBER)

    row = 5
    for register_row in table.rows:
        sizes_row(row, register_row.province.name, [*register_row.cells, register_row.total], BODY)
        row += 1
    sizes_row(row, total, [*table.column_totals, table.total], BOLD)
    sheet.finish(header_rows=(3, 4), freeze="B5")
    return _save(workbook, title)


# --- file names --------------------------------------------------------------------------------


def file_name(*parts: str) -> str:
    """附件1-重点管理的计量器具型式批准和制造许可情况调查表-山东省.xlsx: the parts joined by dashes."""
    name = "-".join(part for part in parts if part)
    for char in '\\/:*?"<>|':
        name = name.replace(char, " ")
    return f"{name}.xlsx"
