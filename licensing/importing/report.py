"""The error report: the uploaded rows again, each faulty cell marked and every row's errors spelt out.

The user fixes the report itself and uploads it again: its first sheet keeps the uploaded
headers (the two added columns are unknown to the importer and so ignored), file-level errors
go to a second sheet so they never push the header row down.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from io import BytesIO

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from licensing.exports import _keep_carriage_returns
from licensing.importing.columns import normalize_header

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
MESSAGE_SEPARATOR = "；"
COMMENT_AUTHOR = "import"
NATIVE_TYPES = (int, float, Decimal, bool, datetime.date, datetime.datetime, datetime.time)


def error_report_xlsx(rows: Sequence, headers: Sequence[str], errors: Sequence) -> bytes:
    """Write the report as .xlsx bytes.

    rows: (Excel row number, cell values) pairs of the upload, in order; headers: the upload's
    header texts; errors: objects with .row (Excel row number or None), .column (header or
    None) and .message.
    """
    columns = _ColumnMatcher(headers)
    by_row = defaultdict(list)
    row_numbers = {number for number, _values in rows}
    file_errors = []
    for error in errors:
        if error.row is not None and error.row in row_numbers:
            by_row[error.row].append(error)
        else:
            file_errors.append(error)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(_("Rows")))
    sheet.freeze_panes = "B2"
    sheet.append(
        [
            _header_cell(sheet, _("Row in the uploaded file")),
            *(_header_cell(sheet, header) for header in headers),
            _header_cell(sheet, _("Error description")),
        ]
    )
    has_carriage_return = False
    for number, values in rows:
        row_errors = by_row.get(number, [])
        messages = defaultdict(list)
        for error in row_errors:
            messages[columns.index(error.column)].append(str(error.message))
        cells = [WriteOnlyCell(sheet, value=number)]
        # Cells beyond the header row's width have no column the importer reads: left out,
        # so that the errors column stays under its header.
        for index in range(len(headers)):
            value = values[index] if index < len(values) else None
            cell, carriage_return = _value_cell(sheet, value)
            has_carriage_return = has_carriage_return or carriage_return
            if index in messages:
                cell.fill = ERROR_FILL
                cell.comment = Comment(MESSAGE_SEPARATOR.join(messages[index]), COMMENT_AUTHOR)
            cells.append(cell)
        if row_errors:
            cells[0].fill = ERROR_FILL
            if None in messages:  # errors of the row as a whole, e.g. a duplicate product
                cells[0].comment = Comment(MESSAGE_SEPARATOR.join(messages[None]), COMMENT_AUTHOR)
            summary, _cr = _value_cell(sheet, _row_summary(row_errors))
            summary.font = ERROR_FONT
            cells.append(summary)
        sheet.append(cells)

    if file_errors:
        _write_file_errors(workbook, file_errors)

    buffer = BytesIO()
    workbook.save(buffer)
    if has_carriage_return:
        return _keep_carriage_returns(buffer.getvalue())
    return buffer.getvalue()


def _row_summary(row_errors) -> str:
    parts = []
    for error in row_errors:
        message = str(error.message)
        parts.append(f"{error.column}：{message}" if error.column else message)
    return MESSAGE_SEPARATOR.join(dict.fromkeys(parts))


def _write_file_errors(workbook, file_errors):
    sheet = workbook.create_sheet(str(_("File errors")))
    sheet.append(
        [
            _header_cell(sheet, _("Row in the uploaded file")),
            _header_cell(sheet, _("Column")),
            _header_cell(sheet, _("Error description")),
        ]
    )
    for error in file_errors:
        sheet.append(
            [
                WriteOnlyCell(sheet, value=error.row),
                _value_cell(sheet, error.column)[0],
                _value_cell(sheet, str(error.message))[0],
            ]
        )


def _header_cell(sheet, text) -> WriteOnlyCell:
    cell, _cr = _value_cell(sheet, str(text))
    cell.font = BOLD
    return cell


def _value_cell(sheet, value) -> tuple[WriteOnlyCell, bool]:
    """An inert cell for an uploaded value: text is always a text cell, never a formula."""
    if value is not None and not isinstance(value, (str, *NATIVE_TYPES)):
        value = str(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones
    if not isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime.date):
            cell.number_format = (
                "yyyy-mm-dd hh:mm:ss" if isinstance(value, datetime.datetime) else "yyyy-mm-dd"
            )
        return cell, False
    value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    if "\n" in value:
        cell.alignment = WRAP
    return cell, "\r" in value


class _ColumnMatcher:
    """Finds an error's column among the upload's headers, exactly or as the importer reads them."""

    def __init__(self, headers):
        self.exact = {}
        self.normalised = {}
        for index, header in enumerate(headers):
            text = "" if header is None else str(header)
            self.exact.setdefault(text, index)
            self.normalised.setdefault(normalize_header(text), index)

    def index(self, column):
        if column is None:
            return None
        column = str(column)
        if column in self.exact:
            return self.exact[column]
        return self.normalised.get(normalize_header(column))
