"""Checks that run before any parser sees an uploaded workbook.

python-calamine aborts the whole process, with no Python exception to catch, when a file makes
it ask for more memory than exists (python-calamine issue #130). Measured with 0.9.1 (calamine
0.37): one value in column XFD of a 100,000-row sheet makes it allocate rows × 16,384 cells
(52 GB); a huge `uniqueCount` in sharedStrings.xml makes it reserve that many strings; an .xls
builds every sheet's cell grid as soon as it is opened. So nothing here inflates more than the
zip directory promises, and calamine only gets a file whose size, unpacked size, compression
ratio, entry count, XML prolog, counts and cell area (rows × columns, every sheet for .xls) have
been bounded by these checks.

The same passes find the formula cells of the first sheet, which calamine does not report (it
returns their cached values).
"""

import contextlib
import functools
import html
import io
import re
import struct
import sys
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.utils.translation import gettext_lazy as _

from .errors import (
    UnreadableFile,
    area_too_large,
    damaged,
    encrypted,
    not_a_spreadsheet,
    unsafe,
)

MiB = 1024 * 1024

# A 200,000-row list written by openpyxl (inline strings, the largest common writer) unpacks to
# about 195 MB; Excel's own files, with shared strings, to less than half of that.
MAX_UNCOMPRESSED_BYTES = 300 * MiB
# Real sheets compress 8- to 20-fold (measured: 17.6 for 50,000 identical rows, 14.9 for a
# bordered empty area); deflate's ceiling is about 1,030. Only entries over 1 MiB are held to it.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_ABOVE = 1 * MiB
# A workbook has a few dozen parts; the central directory of 10,000 is still small.
MAX_ZIP_ENTRIES = 10_000
MAX_CENTRAL_DIRECTORY_BYTES = 4 * MiB
# The cells of the grid calamine builds (about 32 bytes each inside calamine, more once they are
# Python objects): 200,000 rows × 25 columns.
MAX_CELLS = 5_000_000
# Parts parsed whole with ElementTree (workbook.xml and its relationships) are small.
MAX_SMALL_PART_BYTES = 5 * MiB
# The longest tag a chunked scan may have to carry over to the next chunk.
MAX_TAG_BYTES = 1 * MiB
CHUNK_BYTES = 1 * MiB
# Excel's own limit on a formula's length is 8,192 characters.
MAX_FORMULA_BYTES = 32_768

MAX_EXCEL_ROWS = 1_048_576
MAX_EXCEL_COLUMNS = 16_384

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class SheetFacts:
    """What the checks learnt about the sheet that will be read."""

    name: str = ""
    # Excel row number (1-based) → 0-based column → the formula's text, None where unknown
    # (.xls stores formulas compiled; a shared formula's text is in its first cell only).
    formulas: dict[int, dict[int, str | None]] = field(default_factory=dict)
    # Upper bounds of the grid calamine will build (0-based last row and column).
    last_row: int = -1
    last_column: int = -1

    def add_formula(self, row: int, column: int, text: str | None = None) -> None:
        self.formulas.setdefault(row + 1, {})[column] = text


# ---------------------------------------------------------------------------------------------
# .xlsx: a zip of XML parts


def check_xlsx(data: bytes, *, max_cells: int = MAX_CELLS) -> SheetFacts:
    """Refuse a hostile or non-xlsx zip before calamine opens it; return the first sheet's facts."""
    _check_central_directory_size(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            _check_entries(entries)
            by_name = {entry.filename: entry for entry in entries}
            if "xl/workbook.xml" not in by_name:
                raise _not_xlsx(archive, by_name)
            facts, sheet, targets = _workbook_parts(archive, by_name)
            for entry in entries:
                if entry is sheet:
                    _scan_sheet(archive, entry, facts, max_cells)
                elif entry in targets or entry.filename.lower().endswith((".xml", ".rels")):
                    for _piece in _xml_chunks(archive, entry):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error) as exc:
        raise damaged(f"zip: {exc}") from exc
    return facts


def _check_central_directory_size(data: bytes) -> None:
    """Bound the central directory before zipfile builds an object for each of its entries."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        raise damaged("zip: no end of central directory")
    entries, size = struct.unpack_from("<HI", data, end + 10)
    if entries != 0xFFFF and size != 0xFFFFFFFF:
        if entries > MAX_ZIP_ENTRIES or size > MAX_CENTRAL_DIRECTORY_BYTES:
            raise unsafe(f"zip: {entries} entries, central directory of {size} bytes")
        return
    # Zip64: the locator just before the end record points at the zip64 end record.
    locator = end - 20
    if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
        raise damaged("zip64: no locator")
    (record,) = struct.unpack_from("<Q", data, locator + 8)
    if record + 56 > len(data) or data[record : record + 4] != b"PK\x06\x06":
        raise damaged("zip64: no end record")
    entries, size = struct.unpack_from("<QQ", data, record + 32)
    if entries > MAX_ZIP_ENTRIES or size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise unsafe(f"zip64: {entries} entries, central directory of {size} bytes")


def _check_entries(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ZIP_ENTRIES:
        raise unsafe(f"zip: {len(entries)} entries")
    seen = set()
    total = 0
    for entry in entries:
        # zipfile and the Rust zip crate inside calamine may pick different entries of one name:
        # refuse duplicates so that the entry checked here is the entry calamine reads.
        name = entry.filename.replace("\\", "/").lstrip("/").lower()
        if name in seen:
            raise damaged(f"zip: duplicate entry {entry.filename!r}")
        seen.add(name)
        if entry.flag_bits & 0x1:
            raise encrypted()
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise damaged(f"zip: compression method {entry.compress_type} in {entry.filename!r}")
        if entry.compress_type == zipfile.ZIP_STORED and entry.file_size != entry.compress_size:
            raise damaged(f"zip: stored entry {entry.filename!r} with two sizes")
        total += entry.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise unsafe(f"zip: unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes")
        if entry.file_size > RATIO_CHECKED_ABOVE and (
            entry.file_size > MAX_COMPRESSION_RATIO * entry.compress_size
        ):
            raise unsafe(
                f"zip: {entry.filename!r} compressed {entry.file_size / max(entry.compress_size, 1):.0f}-fold"
            )


def _not_xlsx(archive: zipfile.ZipFile, by_name: dict) -> UnreadableFile:
    if "xl/workbook.bin" in by_name:
        return UnreadableFile(
            _(
                "This is an Excel binary workbook (.xlsb), which cannot be read. Save it in Excel "
                "as “Excel Workbook (*.xlsx)” and upload that."
            ),
            code="xlsb",
        )
    mimetype = by_name.get("mimetype")
    if (
        mimetype is not None
        and mimetype.file_size < 100
        and archive.read(mimetype).startswith(b"application/vnd.oasis.opendocument.spreadsheet")
    ):
        return UnreadableFile(
            _(
                "This is an OpenDocument spreadsheet (.ods), which cannot be read. Save it "
                "as an Excel workbook (.xlsx) and upload that."
            ),
            code="ods",
        )
    return not_a_spreadsheet("zip without xl/workbook.xml")


_PARTS_CALAMINE_READS = ("/worksheet", "/sharedStrings", "/styles")


def _workbook_parts(archive: zipfile.ZipFile, by_name: dict):
    """The first worksheet's facts and part, and every part the workbook refers to.

    calamine orders sheets as workbook.xml lists them and finds the sheets, the shared strings
    and the styles through xl/_rels/workbook.xml.rels, whatever their names: those parts are
    checked as XML even if their names do not end in .xml (a macro project, in an .xlsm, is
    binary and is not).
    """
    workbook = _parse_small_part(archive, by_name["xl/workbook.xml"])
    rels_entry = by_name.get("xl/_rels/workbook.xml.rels")
    if rels_entry is None:
        raise damaged("xlsx: no xl/_rels/workbook.xml.rels")
    relationships = {}
    for rel in _parse_small_part(archive, rels_entry):
        target = rel.get("Target") or ""
        path = target.lstrip("/") if target.startswith("/") else _join("xl", target)
        relationships[rel.get("Id")] = (by_name.get(path), rel.get("Type") or "", path)
    targets = {
        entry
        for entry, rel_type, _path in relationships.values()
        if entry is not None and rel_type.endswith(_PARTS_CALAMINE_READS)
    }
    for sheet in workbook.iter():
        if _local(sheet.tag) != "sheet":
            continue
        rel_id = next((value for key, value in sheet.attrib.items() if _local(key) == "id"), None)
        entry, rel_type, path = relationships.get(rel_id, (None, "", ""))
        if not rel_type.endswith("/worksheet"):
            continue  # a chart sheet or a dialog sheet: calamine reads no cells from it
        if entry is None:
            raise damaged(f"xlsx: sheet part {path!r} missing")
        return SheetFacts(name=sheet.get("name") or ""), entry, targets
    raise damaged("xlsx: no worksheet")


def _join(base: str, target: str) -> str:
    parts = base.split("/")
    for part in target.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_small_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> ElementTree.Element:
    if entry.file_size > MAX_SMALL_PART_BYTES:
        raise unsafe(f"xlsx: {entry.filename!r} is {entry.file_size} bytes")
    text = b"".join(_xml_chunks(archive, entry))
    try:
        # _xml_chunks refused any DTD, so there is no entity to expand: defusedxml adds nothing.
        return ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise damaged(f"xlsx: {entry.filename!r}: {exc}") from exc


# Any "<!" that is not a comment or CDATA: <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, in any case.
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
# count="…", uniqueCount="…": calamine reserves memory for that many items before reading them.
_COUNT = re.compile(rb"""ount\s*=\s*["']\s*([0-9]+)""")  # "ount": a literal prefix is fast


def _xml_chunks(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """Inflate one XML part in pieces, refusing DTDs, non-UTF-8 text and absurd counts.

    Each piece ends just before a "<", so no tag is split between two pieces. zipfile stops at
    the size the directory declares and checks the CRC, so a part that lies about its size is
    refused rather than inflated.
    """
    carry = b""
    try:
        with archive.open(entry) as stream:
            chunk = stream.read(CHUNK_BYTES)
            _check_prolog(entry, chunk)
            while chunk:
                if b"\x00" in chunk:
                    raise damaged(f"xlsx: NUL byte in {entry.filename!r}")
                data = carry + chunk if carry else chunk
                cut = data.rfind(b"<")
                if cut == -1:
                    cut = len(data)
                if cut > 0:
                    piece = data[:cut] if cut < len(data) else data
                    _check_piece(entry, piece)
                    yield piece
                carry = data[cut:]
                if len(carry) > MAX_TAG_BYTES:
                    raise damaged(f"xlsx: a tag longer than {MAX_TAG_BYTES} bytes")
                chunk = stream.read(CHUNK_BYTES)
            if carry:
                _check_piece(entry, carry)
                yield carry
    except zipfile.BadZipFile as exc:
        raise damaged(f"zip: {exc}") from exc
    except (EOFError, OSError, ValueError, NotImplementedError, zlib.error) as exc:
        raise damaged(f"zip: {entry.filename!r}: {exc}") from exc


def _check_prolog(entry: zipfile.ZipInfo, start: bytes) -> None:
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise damaged(f"xlsx: {entry.filename!r} is UTF-16")
    declared = _ENCODING.search(start[:200].split(b"?>", 1)[0])
    if declared and declared[1].lower() not in (b"utf-8", b"utf8"):
        raise damaged(f"xlsx: {entry.filename!r} declares encoding {declared[1]!r}")


def _check_piece(entry: zipfile.ZipInfo, data: bytes) -> None:
    # A one-byte search is a memchr, many times faster than any pattern: "<!" needs a "!" and
    # a count needs a "u", and most pieces of a sheet hold neither.
    if b"!" in data and _DECLARATION.search(data):
        raise UnreadableFile(
            _(
                "The workbook contains an XML document type declaration, which Excel never "
                "writes and which can hide an attack (entity expansion); it is refused."
            ),
            code="xml_declaration",
            detail=entry.filename,
        )
    for count in _COUNT.findall(data) if b"u" in data else ():
        if len(count) > 12 or int(count) > MAX_CELLS:
            raise unsafe(f"xlsx: count={count[:20]!r} in {entry.filename!r}")


# The fast pass over the sheet recognises what Excel, WPS, LibreOffice, openpyxl and xlsxwriter
# write: cells as <c r="A1" s="1" t="s"> (r first, only the usual attributes, so only one r), no
# namespace prefix, formulas inside such cells. Anything else sends the sheet to the exact pass,
# which follows calamine's own rules but costs a Python step per cell.
_ATTRIBUTES = rb'"(?: (?:s|t|cm|vm|ph)="[^"<>]*")*/?>'
_REGULAR_CELL = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})' + _ATTRIBUTES)
_PREFIXED = re.compile(rb":(?:c|row|f)[\s/>]")  # calamine matches elements by local name only
_CELL = b'<c r="'
_CELL_AT = re.compile(rb'<c r="([A-Z]{1,3})([0-9]+)"[^>]*?(/?)>')
_FORMULA_TAG = re.compile(rb"<f(?=[\s/>])([^>]*)>")


@functools.lru_cache(maxsize=256)
def _notable(last_row: int, last_column: int) -> re.Pattern:
    """A formula tag, or a cell tag that is not a regular cell within rows 1 to `last_row` and
    columns 0 to `last_column`: an unusual cell, or one below or right of those bounds.

    One search thus does what took three (unusual cells, cells below, cells to the right): in
    a sheet written as usual it finds nothing but the formulas, each cell costing a single
    step of the regular expression engine.
    """
    return re.compile(
        rb'<(?:f(?=[\s/>])|c(?:(?=[\s/>])(?! r=")| r="(?!'
        + rb"(?!(?:"
        + _letters_after(last_column)
        + rb")[0-9])[A-Z]{1,3}"
        + rb"(?!(?:"
        + _digits_above(last_row)
        + rb')")[1-9][0-9]{0,6}'
        + _ATTRIBUTES
        + rb")))"
    )


def _letters_after(column: int) -> bytes:
    """Column letters after `column` (0-based), when a digit follows: 15 (P) gives
    [A-Z]{2,3}|[Q-Z]."""
    if column < 0:
        return rb"[A-Z]{1,3}"
    letters = _column_letters(column)
    options = [f"[A-Z]{{{len(letters) + 1},3}}"] if len(letters) < 3 else []
    for index, letter in enumerate(letters):
        if letter != "Z":
            rest = len(letters) - index - 1
            options.append(f"{letters[:index]}[{chr(ord(letter) + 1)}-Z][A-Z]{{{rest}}}")
    return "|".join(options).encode() or rb"(?!)"


def _digits_above(row: int) -> bytes:
    """Row numbers after `row` (1-based), when a quote follows: 123 gives
    [0-9]{4,}|[2-9][0-9]{2}|1[3-9][0-9]|12[4-9]."""
    digits = str(row)
    options = [f"[0-9]{{{len(digits) + 1},}}"]
    for index, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - index - 1
            options.append(f"{digits[:index]}[{int(digit) + 1}-9][0-9]{{{rest}}}")
    return "|".join(options).encode()


def _column_letters(column: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_SHEET_DATA_END = re.compile(rb"</(?:[^\s<>/:=\"'!?]+:)?sheetData\s*>")


def _sheet_data(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The pieces of a sheet part up to </sheetData>, after which calamine reads no cell.

    The rest is still inflated and checked like any part, but not scanned for cells: Excel
    writes x14 data validations there with prefixed <xm:f> elements. Once a comment, CDATA
    section or processing instruction appears, which could hide a "</sheetData>" from calamine
    but not from a regular expression, the whole part is scanned.
    """
    trusted = True
    ended = False
    for index, data in enumerate(_xml_chunks(archive, entry)):
        if ended:
            continue
        declaration = _XML_DECLARATION.match(data) if index == 0 else None
        start = declaration.end() if declaration else 0
        if (b"!" in data and data.find(b"<!", start) >= 0) or (
            b"?" in data and data.find(b"<?", start) >= 0
        ):
            trusted = False  # a comment, CDATA section or processing instruction
        end = _SHEET_DATA_END.search(data) if trusted and b"sheetData" in data else None
        if end:
            ended = True
            yield data[: end.start()]
        else:
            yield data


class _Irregular(Exception):
    """The sheet is not written as the fast pass expects: scan it exactly instead."""


def _scan_sheet(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, facts: SheetFacts, max_cells: int
) -> None:
    try:
        _scan_sheet_fast(archive, entry, facts, max_cells)
    except _Irregular:
        facts.formulas.clear()
        _scan_sheet_exactly(archive, entry, facts, max_cells)


def _scan_sheet_fast(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, facts: SheetFacts, max_cells: int
) -> None:
    last_row = 0  # 1-based, as written in the file
    last_column = -1
    open_cell = None  # (row, column) of a cell still open at the end of the previous piece
    arrays = []
    with contextlib.closing(_sheet_data(archive, entry)) as pieces:
        for data in pieces:
            if b":" in data and _PREFIXED.search(data):
                raise _Irregular  # the exact pass reads the whole part again
            # Rows come in order in real files, so the last cell of a piece is usually its
            # lowest and its row is as wide as any: with those bounds, the search below finds
            # no cell at all in a usual piece.
            start = data.rfind(_CELL)
            if start >= 0:
                cell = _REGULAR_CELL.match(data, start)
                if cell is None:
                    raise _Irregular
                last_row = max(last_row, int(cell[2]))
                last_column = max(last_column, _column_index(cell[1]))
            position = since = 0
            closed = True  # whether a ">" follows the position: else no formula tag can end
            while found := _notable(last_row, last_column).search(data, position):
                position = found.start()
                if data[position + 1] == 0x66:  # "f"
                    formula = _FORMULA_TAG.match(data, position) if closed else None
                    if formula is not None:
                        if b"<" in formula[1]:
                            raise _Irregular  # a tag inside a tag: looked at linearly there
                        open_cell = _enclosing_cell(data, position, open_cell, since=since)
                        text, array = _formula_text(data, formula[1], formula.end())
                        facts.add_formula(*open_cell, text)
                        if array:
                            arrays.append((array, text))
                        since = position
                    closed = formula is not None
                    position += 2
                    continue
                cell = _REGULAR_CELL.match(data, position)
                if cell is None:
                    raise _Irregular  # an unusual cell
                last_row = max(last_row, int(cell[2]))  # a cell below or right of the bounds
                last_column = max(last_column, _column_index(cell[1]))
                position = cell.end()
            open_cell = _enclosing_cell(data, len(data), open_cell, since=since, required=False)
    facts.last_row = last_row - 1
    facts.last_column = last_column
    _check_area(last_row, last_column + 1, max_cells)
    _add_array_formulas(facts, arrays)


def _enclosing_cell(data: bytes, at: int, open_cell, *, since: int = 0, required: bool = True):
    """The cell whose tags enclose position `at`, in a piece of a sheet the fast pass accepted,
    given `open_cell`, the cell open at position `since` (which looking from there, not from
    the start, keeps a piece of many formulas linear)."""
    start = data.rfind(_CELL, since, at)
    if start < 0:
        cell = open_cell if data.find(b"</c>", since, at) < 0 else None
    else:
        match = _CELL_AT.match(data, start)
        closed = match is None or match[3] or data.find(b"</c>", start, at) >= 0
        cell = None if closed else (int(match[2]) - 1, _column_index(match[1]))
    if cell is None and required:
        raise _Irregular  # a formula outside a cell
    return cell


def _formula_text(data: bytes, attributes: bytes, after: int) -> tuple[str | None, bytes | None]:
    """The text of the <f> tag ending at `after` (up to the next "<", in this same piece, since
    pieces end before a "<") and the range of an array formula."""
    text = None
    if not attributes.rstrip().endswith(b"/"):
        end = data.find(b"<", after)
        raw = data[after : end if end >= 0 else len(data)]
        text = html.unescape(raw[:MAX_FORMULA_BYTES].decode("utf-8", "replace")) or None
    array = None
    if _last(_T, attributes) in (b"array", b"dataTable"):
        array = _last(_REF, attributes)
    return text, array


def _add_array_formulas(facts: SheetFacts, arrays) -> None:
    """The cells of an array formula but its first hold no <f> of their own."""
    for ref, text in arrays:
        first, _colon, last = ref.partition(b":")
        top, left = _cell_position(first)
        bottom, right = _cell_position(last or first)
        for row in range(top, min(bottom, facts.last_row) + 1):
            for column in range(left, min(right, facts.last_column) + 1):
                facts.add_formula(row, column, text)


# An opening row, cell or formula tag, or a closing row tag, with any prefix; a leading
# r="A1" is taken apart in the same match. Closing cell tags are not matched: there are as many
# as cells, and only a formula needs to know whether its cell is still open.
_PREFIX = rb"(?:[^\s<>/:=\"'!?]+:)?"


def _tokens(prefix: bytes) -> re.Pattern:
    return re.compile(
        rb"<(?:/" + prefix + rb"(row)\s*>|" + prefix + rb"(row|c|f)(?=[\s/>])"
        rb'(?:\s+r="([A-Za-z]{1,3})([0-9]{1,7})")?([^>]*)>)'
    )


_TOKEN, _TOKEN_UNPREFIXED = _tokens(_PREFIX), _tokens(b"")  # the second is twice as fast
_CELL_CLOSED = re.compile(rb"</" + _PREFIX + rb"c\s*>")
_R = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_T = re.compile(rb"""(?:^|\s)t\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"""(?:^|\s)ref\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")


def _scan_sheet_exactly(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, facts: SheetFacts, max_cells: int
) -> None:
    """Walk every row, cell and formula tag, placing cells as calamine does.

    calamine (0.37, xlsx/cells_reader.rs) reads a self-closing tag as an opening and a closing
    one, takes a cell's position from its last plain `r` attribute, else from the current row
    and the column after the previous cell, and moves to the next row at each </row>.
    """
    row = column = 0
    last_row = last_column = -1
    cell = None  # the open cell, for the formulas inside it
    cell_end = 0  # where its tag ends in the current piece (0: in an earlier piece)
    arrays = []
    for data in _sheet_data(archive, entry):
        tokens = _TOKEN if _PREFIXED.search(data) else _TOKEN_UNPREFIXED
        # Every token ends with ">": stopping at the last one changes no match, but spares each
        # "<c" of a run of unclosed tags a search to the end of the piece (quadratic time).
        for token in tokens.finditer(data, 0, data.rfind(b">") + 1):
            row_closed, name, letters, digits, rest = token.groups()
            if row_closed:
                row, column = row + 1, 0
            elif name == b"c":
                ref = _last(_R, rest) if b"r" in rest else None  # a second r wins
                if ref is not None:
                    cell = _cell_position(ref)
                elif letters is not None:
                    cell = (int(digits) - 1, _column_index(letters.upper()))
                    if not 0 <= cell[0] < MAX_EXCEL_ROWS or cell[1] >= MAX_EXCEL_COLUMNS:
                        raise damaged(f"xlsx: cell reference {letters + digits!r} outside a sheet")
                else:
                    cell = (row, column)
                column = cell[1] + 1
                if cell[0] > last_row:
                    last_row = cell[0]
                if cell[1] > last_column:
                    last_column = cell[1]
                cell_end = token.end()
                if rest.endswith(b"/"):
                    cell = None
            elif name == b"row":
                if letters is not None:
                    raise damaged(f"xlsx: row number {letters + digits!r}")
                ref = _last(_R, rest) if b"r" in rest else None
                if ref is not None:
                    row = _row_number(ref) - 1
                if rest.endswith(b"/"):
                    row, column = row + 1, 0
            elif cell is not None and not _CELL_CLOSED.search(data, cell_end, token.start()):
                text, array = _formula_text(data, rest, token.end())
                facts.add_formula(*cell, text)
                if array:
                    arrays.append((array, text))
                cell_end = token.start()  # not closed up to here: the next formula looks on
        if cell is not None and _CELL_CLOSED.search(data, cell_end):
            cell = None
        cell_end = 0
        if row > MAX_EXCEL_ROWS:
            raise damaged(f"xlsx: more than {MAX_EXCEL_ROWS} rows")
        _check_area(last_row + 1, last_column + 1, max_cells)
    facts.last_row = last_row
    facts.last_column = last_column
    _add_array_formulas(facts, arrays)


def _last(pattern: re.Pattern, attributes: bytes) -> bytes | None:
    found = pattern.findall(attributes)
    if not found:
        return None
    double, single = found[-1]
    return double or single


def _cell_position(ref: bytes) -> tuple[int, int]:
    match = _CELL_REF.fullmatch(ref.strip())
    if not match:
        raise damaged(f"xlsx: cell reference {ref[:20]!r}")
    row = int(match[2]) - 1
    column = _column_index(match[1].upper())
    if not 0 <= row < MAX_EXCEL_ROWS or column >= MAX_EXCEL_COLUMNS:
        raise damaged(f"xlsx: cell reference {ref!r} outside a sheet")
    return row, column


def _row_number(ref: bytes) -> int:
    ref = ref.strip()
    if not ref.isdigit() or len(ref) > 7 or not 1 <= int(ref) <= MAX_EXCEL_ROWS:
        raise damaged(f"xlsx: row number {ref[:20]!r}")
    return int(ref)


@functools.cache
def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def _check_area(rows: int, columns: int, max_cells: int) -> None:
    if rows > MAX_EXCEL_ROWS or columns > MAX_EXCEL_COLUMNS:
        raise damaged(f"cell beyond {MAX_EXCEL_ROWS} × {MAX_EXCEL_COLUMNS}")
    if rows * columns > max_cells:
        raise area_too_large(rows, columns, max_cells)


# ---------------------------------------------------------------------------------------------
# .xls: BIFF records inside an OLE2 compound file (and encrypted .xlsx, which is OLE2 too)


def check_ole(data: bytes, *, max_cells: int = MAX_CELLS) -> SheetFacts:
    """Refuse encrypted or hostile OLE2 files; return the first sheet's facts of an .xls."""
    cfb = _CompoundFile(data)
    names = {entry.name for entry in cfb.entries if entry.kind == _STREAM}
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        raise encrypted()  # an .xlsx encrypted by Excel is an OLE2 file holding these two streams
    workbooks = [
        e for e in cfb.entries if e.kind == _STREAM and e.name.lower() in ("workbook", "book")
    ]
    if not workbooks:
        raise not_a_spreadsheet(f"OLE2 streams {sorted(names)[:10]}")
    if len(workbooks) > 1:
        raise damaged("xls: two workbook streams")
    return _scan_biff(cfb.read(workbooks[0]), max_cells)


_END_OF_CHAIN = 0xFFFFFFFE
_STREAM, _ROOT = 2, 5


@dataclass
class _DirectoryEntry:
    name: str
    kind: int
    start: int
    size: int


class _CompoundFile:
    """A bounded reader of an OLE2 compound file: every count is checked against the file size.

    calamine's own reader sizes its tables from the header's counts (calamine issue #684), so a
    header is refused here unless each count fits in the file.
    """

    def __init__(self, data: bytes):
        if len(data) < 512 or not data.startswith(OLE_MAGIC):
            raise damaged("ole: short header")
        self.data = data
        major, _byte_order, shift, mini_shift = struct.unpack_from("<HHHH", data, 0x1A)
        if (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
            raise damaged(f"ole: version {major}, sector shift {shift}, mini shift {mini_shift}")
        self.sector_size = 1 << shift
        self.sectors = (len(data) - 1) // self.sector_size  # the header takes the first one
        (fat_sectors, first_directory, _signature, cutoff, first_minifat, minifat_sectors) = (
            struct.unpack_from("<IIIIII", data, 0x2C)
        )
        first_difat, difat_sectors = struct.unpack_from("<II", data, 0x44)
        if cutoff != 4096:
            raise damaged(f"ole: mini stream cutoff {cutoff}")
        for count in (fat_sectors, minifat_sectors, difat_sectors):
            if count > self.sectors:
                raise damaged(f"ole: {count} sectors declared in a file of {self.sectors}")
        fat_ids = list(struct.unpack_from("<109I", data, 0x4C))
        sector_id = first_difat
        for _sector in range(difat_sectors):
            if len(fat_ids) >= fat_sectors:
                break
            ids = struct.unpack(f"<{self.sector_size // 4}I", self._sector(sector_id))
            fat_ids.extend(ids[:-1])
            sector_id = ids[-1]
        fat_ids = fat_ids[:fat_sectors]
        if len(fat_ids) < fat_sectors:
            raise damaged("ole: short DIFAT")
        self.fat = self._table(b"".join(self._sector(sid) for sid in fat_ids))
        directory = self._chain_bytes(first_directory, self.fat, self._sector, self.sectors)
        self.entries = [
            self._entry(directory[i : i + 128], self.sector_size)
            for i in range(0, len(directory), 128)
        ]
        if not self.entries or self.entries[0].kind != _ROOT:
            raise damaged("ole: no root entry")
        root = self.entries[0]
        self.minifat = self._table(
            self._chain_bytes(first_minifat, self.fat, self._sector, self.sectors)
        )
        self.ministream = self._chain_bytes(root.start, self.fat, self._sector, self.sectors)
        self.ministream = self.ministream[: root.size]

    def read(self, entry: _DirectoryEntry) -> bytes:
        if entry.size < 4096:
            limit = len(self.ministream) // 64
            data = self._chain_bytes(entry.start, self.minifat, self._mini_sector, limit)
        else:
            data = self._chain_bytes(entry.start, self.fat, self._sector, self.sectors)
        if len(data) < entry.size:
            raise damaged(f"ole: stream {entry.name!r} shorter than declared")
        return data[: entry.size]

    def _sector(self, sector_id: int) -> bytes:
        if sector_id >= self.sectors:
            raise damaged(f"ole: sector {sector_id} beyond the file")
        offset = (sector_id + 1) * self.sector_size
        return self.data[offset : offset + self.sector_size]

    def _mini_sector(self, sector_id: int) -> bytes:
        offset = sector_id * 64
        if offset + 64 > len(self.ministream):
            raise damaged(f"ole: mini sector {sector_id} beyond the mini stream")
        return self.ministream[offset : offset + 64]

    @staticmethod
    def _chain_bytes(start: int, table: array, read, limit: int) -> bytes:
        """The sectors of a chain; a chain longer than the `limit` sectors there are loops."""
        chunks = []
        sector_id = start
        while sector_id != _END_OF_CHAIN:
            if sector_id >= len(table) or len(chunks) >= limit:
                raise damaged("ole: broken or looping sector chain")
            chunks.append(read(sector_id))
            sector_id = table[sector_id]
        return b"".join(chunks)

    @staticmethod
    def _table(raw: bytes) -> array:
        table = array("I")
        table.frombytes(raw[: len(raw) // 4 * 4])
        if sys.byteorder == "big":
            table.byteswap()
        return table

    @staticmethod
    def _entry(raw: bytes, sector_size: int) -> _DirectoryEntry:
        if len(raw) < 128:
            return _DirectoryEntry("", 0, _END_OF_CHAIN, 0)
        (name_length,) = struct.unpack_from("<H", raw, 64)
        name = raw[: max(0, min(name_length, 64) - 2)].decode("utf-16-le", "replace")
        (start,) = struct.unpack_from("<I", raw, 116)
        (size,) = struct.unpack_from("<Q", raw, 120)
        if sector_size == 512:  # version 3: the high half of the size is undefined
            size &= 0xFFFFFFFF
        return _DirectoryEntry(name, raw[66], start, size)


# BIFF8 record types (MS-XLS 2.3)
_BOF, _EOF, _FILEPASS, _BOUNDSHEET, _SST, _DIMENSIONS = (
    0x0809,
    0x000A,
    0x002F,
    0x0085,
    0x00FC,
    0x0200,
)
_FORMULA, _MULRK = 0x0006, 0x00BD
# NUMBER, RK, LABELSST, LABEL, RSTRING, BOOLERR, FORMULA: the records that put a value in a cell
_VALUE_RECORDS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x00D6, 0x0205, _FORMULA})
_BIFF8, _WORKSHEET = 0x0600, 0x0010


def _scan_biff(stream: bytes, max_cells: int) -> SheetFacts:
    """Walk the workbook stream: encryption, declared counts, every sheet's area, formulas.

    calamine builds the cell grid of every sheet as soon as an .xls is opened (measured: a second
    sheet with a cell at IV65536 costs 500 MB before the first sheet is asked for), so every
    sheet's area counts against the limit, not only the first one's.
    """
    unpack = struct.unpack_from
    size = len(stream)
    if size < 8 or unpack("<HH", stream, 4)[0] != _BIFF8 or unpack("<H", stream, 0)[0] != _BOF:
        raise UnreadableFile(
            _(
                "The workbook was saved by Excel 95 or older, which cannot be read. Open it in "
                "Excel, save it as an Excel workbook (.xlsx) and upload that."
            ),
            code="old_excel",
        )
    facts = SheetFacts()
    first_sheet = None  # stream offset of the first worksheet's BOF record
    cells = 0
    position = depth = 0
    in_globals = False
    sheet = None  # offset of the worksheet being walked
    last_row = last_column = -1
    while position + 4 <= size:
        kind, length = unpack("<HH", stream, position)
        body = position + 4
        if body + length > size:
            raise damaged("xls: truncated record")
        if kind == _BOF:
            depth += 1
            if position == 0:
                in_globals = True
            elif depth == 1 and length >= 4 and unpack("<H", stream, body + 2)[0] == _WORKSHEET:
                sheet = position
                last_row = last_column = -1
        elif kind == _EOF:
            if depth == 1 and sheet is not None:
                if sheet == first_sheet:
                    facts.last_row, facts.last_column = last_row, last_column
                cells += (last_row + 1) * (last_column + 1)
                if cells > max_cells:
                    raise area_too_large(last_row + 1, last_column + 1, max_cells)
                sheet = None
            in_globals = False
            depth = max(depth - 1, 0)
        elif in_globals:
            if kind == _FILEPASS:
                raise encrypted()
            if kind == _BOUNDSHEET and length >= 8:
                offset, _visibility, sheet_type = unpack("<IBB", stream, body)
                if first_sheet is None and sheet_type == 0:
                    first_sheet = offset
                    facts.name = _biff_string(stream[body + 6 : body + length])
            elif kind == _SST and length >= 8:
                (unique,) = unpack("<I", stream, body + 4)
                if unique > min(MAX_CELLS, size // 3):  # a string takes at least three bytes
                    raise unsafe(f"xls: SST declares {unique} strings")
        elif depth == 1 and sheet is not None:
            if kind in _VALUE_RECORDS and length >= 4:
                row, column = unpack("<HH", stream, body)
                last_row = max(last_row, row)
                last_column = max(last_column, column)
                if kind == _FORMULA and sheet == first_sheet:
                    facts.add_formula(row, column)
            elif kind == _MULRK and length >= 6:
                row, _first_column = unpack("<HH", stream, body)
                (column,) = unpack("<H", stream, body + length - 2)
                last_row = max(last_row, row)
                last_column = max(last_column, column)
            elif kind == _DIMENSIONS and length >= 12:
                _first_row, end_row, _first_column, end_column = unpack("<IIHH", stream, body)
                if end_row > 65_536 or end_column > 256:
                    raise damaged(f"xls: DIMENSIONS {end_row} × {end_column}")
        position = body + length
    if first_sheet is None:
        raise damaged("xls: no worksheet")
    return facts


def _biff_string(raw: bytes) -> str:
    """A BIFF8 ShortXLUnicodeString: length, flags, then Latin-1 or UTF-16LE characters."""
    if len(raw) < 2:
        return ""
    length, flags = raw[0], raw[1]
    if flags & 0x1:
        return raw[2 : 2 + 2 * length].decode("utf-16-le", "replace")
    return raw[2 : 2 + length].decode("latin-1")
