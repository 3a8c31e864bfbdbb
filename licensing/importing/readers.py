"""Read a licence list (.xlsx, .xls or .csv) into rows of cell values with Excel's row numbers.

The format is recognised from the content, never from the file name. Every workbook passes the
checks of `safety` before python-calamine sees it; .csv is decoded as UTF-8 (with or without a
BOM), else as GB18030 (a superset of GBK), else refused.
"""

import codecs
import contextlib
import csv
import functools
import gc
import io
import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import BinaryIO, Literal, NamedTuple

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from . import safety
from .errors import (
    UnreadableFile,
    area_too_large,
    damaged,
    empty,
    encrypted,
    not_a_spreadsheet,
    too_many_rows,
)

Value = str | int | float | bool | date | datetime | time | timedelta | None

MAX_DATA_ROWS = 200_000
# Title rows and the header row sit within the first ten rows (DESIGN.md §4); they are not data.
HEADER_ROWS = 10
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Formula:
    """A cell holding a formula: the import refuses formulas, since it does not evaluate them."""

    text: str | None  # e.g. "B2*3"; None where the file does not say (.xls, shared formulas)
    value: Value  # the value Excel last computed and saved, if any

    def __str__(self) -> str:
        return f"={self.text}" if self.text else "=…"


class Row(NamedTuple):
    """One row that is not entirely empty: Excel's row number, its values by column (A is 0)."""

    number: int
    values: list[Value | Formula]


def is_formula(value) -> bool:
    return isinstance(value, Formula)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The rows of the first worksheet (of the only table, for .csv) that are not entirely empty."""

    kind: Literal["xlsx", "xls", "csv"]
    name: str
    rows: list[Row]


def read_rows(source: bytes | str | os.PathLike | BinaryIO, **limits) -> list[Row]:
    """The non-empty rows of `source`, as `read_spreadsheet` reads them."""
    return read_spreadsheet(source, **limits).rows


def read_spreadsheet(
    source: bytes | str | os.PathLike | BinaryIO,
    *,
    max_rows: int = MAX_DATA_ROWS,
    max_bytes: int | None = None,
    max_cells: int = safety.MAX_CELLS,
) -> Sheet:
    """Read the first worksheet of a workbook, or a CSV file, or raise UnreadableFile.

    Row numbers are the ones Excel shows (1-based, blank rows counted, though not returned).
    Empty cells are None; numbers without a fraction are int (so 20160512 typed as a number is
    not 20160512.0); date cells are `date` (or `datetime` when they hold a time of day); text is
    returned as it is, not stripped; a formula cell is a `Formula`, whatever its value.
    More than `max_rows` + HEADER_ROWS non-empty rows are refused: the caller, who finds the
    header row, counts the data rows below it exactly. `max_bytes` defaults to the
    IMPORT_MAX_UPLOAD_BYTES setting, else 20 MB.
    """
    data = _load(source, default_max_upload_bytes() if max_bytes is None else max_bytes)
    if not data:
        raise empty()
    with gc_paused():
        if data.startswith(safety.ZIP_MAGIC):
            facts = safety.check_xlsx(data, max_cells=max_cells)
            return _read_workbook("xlsx", data, facts, max_rows)
        if data.startswith(safety.OLE_MAGIC):
            facts = safety.check_ole(data, max_cells=max_cells)
            return _read_workbook("xls", data, facts, max_rows)
        if data.startswith(b"PK"):
            raise not_a_spreadsheet("zip without a local file header")
        return _read_csv(data, max_rows, max_cells)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a list is read, checked and written.

    A 100,000-row list makes millions of objects, nearly all freed by reference counting as
    soon as they are done with; meanwhile the collector, triggered by the allocations, walks
    every live one again and again: measured, a quarter of a re-import's time. Pauses may nest
    and overlap (two imports in two threads): the collector is switched on again when the last
    one ends, if it was on before the first. Its first run then walks whatever the pause made
    and kept, so a pause should end once the big structures are freed: used as a decorator,
    it ends after the function's locals are gone.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def default_max_upload_bytes() -> int:
    if settings.configured:
        return getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    return DEFAULT_MAX_UPLOAD_BYTES


def _load(source, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        if os.stat(source).st_size > max_bytes:
            raise _too_large(max_bytes)
        with open(source, "rb") as file:
            data = file.read(max_bytes + 1)
    else:
        if getattr(source, "size", None) is not None and source.size > max_bytes:
            raise _too_large(max_bytes)
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> UnreadableFile:
    return UnreadableFile(
        _(
            "The file is larger than %(limit)s MB, the most that can be imported at once. Split "
            "the list into several files."
        ),
        code="too_large",
        params={"limit": f"{max_bytes / (1024 * 1024):.3g}"},
    )


def _read_workbook(kind, data: bytes, facts: safety.SheetFacts, max_rows: int) -> Sheet:
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            index = next(
                (
                    i
                    for i, sheet in enumerate(book.sheets_metadata)
                    if sheet.typ == SheetTypeEnum.WorkSheet
                ),
                None,
            )
            # The checks inspected one sheet: make sure calamine reads that one, within its area.
            if index is None or book.sheet_names[index] != facts.name:
                raise damaged(f"calamine's first worksheet is not {facts.name!r}")
            sheet = book.get_sheet_by_index(index)
            end = sheet.end
            if end is not None and (end[0] > facts.last_row or end[1] > facts.last_column):
                raise damaged(f"calamine read up to {end}, beyond the checked area")
            grid = sheet.to_python(skip_empty_area=False)
    except PasswordError as exc:
        raise encrypted() from exc
    except CalamineError as exc:
        raise damaged(f"calamine: {exc}") from exc
    except BaseException as exc:
        # A Rust panic inside calamine reaches Python as pyo3's PanicException, which derives
        # from BaseException so that `except Exception` does not swallow it.
        if type(exc).__name__ == "PanicException":
            raise damaged(f"calamine panicked: {exc}") from exc
        raise
    return Sheet(kind, facts.name, _rows(grid, facts.formulas, max_rows))


# The types of a row's cells that need no conversion but "" to None, as the cells of a list
# typed as text, with real dates, are: such a row takes one step instead of one per cell.
_PLAIN = frozenset({str, date, type(None)})


def _rows(grid: list[list], formulas: dict[int, dict[int, str | None]], max_rows: int) -> list[Row]:
    rows = []
    limit = max_rows + HEADER_ROWS
    plain = _PLAIN.issuperset
    filled = _filled
    new_row = functools.partial(tuple.__new__, Row)  # Row(number, values), without its __new__
    height = len(grid)
    for number in range(1, max(height, max(formulas, default=0)) + 1):
        values = grid[number - 1] if number <= height else []
        if plain(map(type, values)):
            # Empty text to None (a date is never false); in place, so that the list calamine
            # made is not kept alongside a copy.
            values[:] = [value or None for value in values]
        else:
            _convert(values)
        cells = formulas.get(number) if formulas else None
        if cells:
            # A formula whose saved value is empty may lie outside calamine's grid.
            values.extend([None] * (max(cells) + 1 - len(values)))
            for column, text in cells.items():
                values[column] = Formula(text, values[column])
        elif not any(map(filled, values)):
            continue
        rows.append(new_row((number, values)))
        if len(rows) > limit:
            raise too_many_rows(max_rows)
    return rows


def _convert(values: list) -> None:
    for index, value in enumerate(values):
        kind = type(value)
        if kind is str:
            if not value:
                values[index] = None
        elif kind is float:
            if value.is_integer():
                values[index] = int(value)
        elif kind is datetime and value.time() == time(0) and value.tzinfo is None:
            values[index] = value.date()


def _filled(value: Value) -> bool:
    return value is not None and (type(value) is not str or bool(value.strip()))


# Characters no spreadsheet text holds: C0 controls other than tab, newlines; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _read_csv(data: bytes, max_rows: int, max_cells: int) -> Sheet:
    text = _decode(data)
    if not text.strip():
        raise empty()
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        # Many systems "export to Excel" as an HTML table or an XML Spreadsheet 2003 named .xls.
        raise UnreadableFile(
            _(
                "The file is a web page or XML file with a spreadsheet's name, not a workbook. "
                "Open it in Excel, save it as an Excel workbook (.xlsx) and upload that."
            ),
            code="markup",
        )
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Excel's "Text (Tab delimited)" is the other text format clerks save lists in.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = []
    cells = width = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, fields in enumerate(reader, start=1):  # noqa: B007 (used after the loop)
            cells += len(fields)
            width = max(width, len(fields))
            if cells > max_cells:
                raise area_too_large(number, width, max_cells)
            values = [field or None for field in fields]
            if any(_filled(value) for value in values):
                rows.append(Row(number, values))
                if len(rows) > max_rows + HEADER_ROWS:
                    raise too_many_rows(max_rows)
    except csv.Error as exc:
        raise UnreadableFile(
            _(
                "The CSV file cannot be read at row %(row)d: a quotation mark is not closed, or "
                "a cell is longer than %(limit)d characters."
            ),
            code="csv_malformed",
            params={"row": number + 1, "limit": csv.field_size_limit()},
            detail=str(exc),
        ) from exc
    return Sheet("csv", "", rows)


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _is_utf16(data):
        raise UnreadableFile(
            _(
                "The file is UTF-16 text (Excel's “Unicode Text”), which cannot be read. Save "
                "the list as an Excel workbook (.xlsx) or as “CSV UTF-8 (Comma delimited)” and "
                "upload that."
            ),
            code="utf16",
        )
    if b"\x00" in data:
        raise not_a_spreadsheet("NUL byte in a file that is not a workbook")
    if data.startswith(codecs.BOM_UTF8):
        candidates = [(data[len(codecs.BOM_UTF8) :], "utf-8")]
    else:
        candidates = [(data, "utf-8"), (data, "gb18030")]
    for raw, encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            raise not_a_spreadsheet(f"control characters in {encoding} text")
        return text
    raise UnreadableFile(
        _(
            "The file is neither an Excel workbook nor text in UTF-8 or GBK/GB18030, so it cannot "
            "be read. Save the list as an Excel workbook (.xlsx) or as “CSV UTF-8 (Comma "
            "delimited)” and upload that."
        ),
        code="encoding",
    )


def _is_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: NUL bytes (each ASCII character has one), and clean text as UTF-16."""
    if b"\x00" not in data or len(data) % 2:
        return False
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text):
            return True
    return False
