"""Reading licence lists: formats chosen by content, values, row numbers, and hostile files.

Fixtures in fixtures/ are made by fixtures/make_import_fixtures.py (its docstring says how: the
project cannot write .xls or encrypt workbooks, so a throwaway virtualenv with xlwt 1.3.0 and
msoffcrypto-tool 6.1.0 made them once):
- licences.xls: a title row, the header, three licence rows with a blank row 5; dates as Excel
  dates, 20160301 as a number, 2019/2/28 as text; a second sheet that is not read.
- formula.xls: the formula =B2*3 in C2.
- wide_second_sheet.xls: a second sheet with a value in IV65536.
- encrypted.xlsx: a two-row .xlsx encrypted with the password "secret" (an OLE2 file holding
  the streams EncryptionInfo and EncryptedPackage, as Excel writes it).
Every other file is built here.
"""

import io
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.importing import safety
from licensing.importing.errors import UnreadableFile
from licensing.importing.readers import Formula, is_formula, read_rows, read_spreadsheet
from licensing.importing.safety import CHUNK_BYTES

FIXTURES = Path(__file__).parent / "fixtures"
MiB = 1024 * 1024

HEADER = ["许可证编号", "企业名称", "统一社会信用代码", "发证日期", "有效期至", "数量"]


def xlsx_bytes(*rows, cells=None) -> bytes:
    """An .xlsx written by openpyxl: rows appended from row 1, then single cells by reference."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名单"
    for row in rows:
        sheet.append(row)
    for ref, value in (cells or {}).items():
        sheet[ref] = value
    book.create_sheet("说明")["A1"] = "not read"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


SHEET_START = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>'


def raw_xlsx(
    sheet_data: str | bytes,
    *,
    after: str = "",
    shared_strings: str | None = None,
    shared_strings_part: str = "sharedStrings.xml",
    parts=None,
    relationships: str = "",
) -> bytes:
    """A minimal .xlsx whose sheet XML is written by hand, as a hostile file would be."""
    if isinstance(sheet_data, str):
        sheet_data = sheet_data.encode()
    sheet = SHEET_START.encode() + sheet_data + f"</sheetData>{after}</worksheet>".encode()
    rels = f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    rels += relationships
    if shared_strings is not None:
        rels += (
            f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" '
            f'Target="{shared_strings_part}"/>'
        )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
            f'xmlns:r="{REL_NS}"><sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">{rels}'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings is not None:
        files[f"xl/{shared_strings_part}"] = shared_strings
    files.update(parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def refusal(source, **limits) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_spreadsheet(source, **limits)
    return caught.value


def numbers_and_values(sheet):
    return [(row.number, row.values) for row in sheet.rows]


# --- Reading ------------------------------------------------------------------------------------


def test_xlsx_rows_keep_excel_row_numbers_real_dates_and_whole_numbers():
    data = xlsx_bytes(
        ["山东省计量器具制造许可证名单"],
        HEADER,
        [
            "鲁制00012345号",
            "济南衡器厂",
            "91370100000012345L",
            date(2016, 5, 12),
            datetime(2019, 5, 11),
            3,
        ],
        [],
        ["鲁制00012346号", " 青岛水表厂 ", "91370100000012346P", 20160301, "2019/2/28", 1.5],
    )

    sheet = read_spreadsheet(data)

    assert (sheet.kind, sheet.name) == ("xlsx", "名单")
    assert numbers_and_values(sheet) == [
        (1, ["山东省计量器具制造许可证名单", None, None, None, None, None]),
        (2, HEADER),
        (
            3,
            [
                "鲁制00012345号",
                "济南衡器厂",
                "91370100000012345L",
                date(2016, 5, 12),
                date(2019, 5, 11),
                3,
            ],
        ),
        (5, ["鲁制00012346号", " 青岛水表厂 ", "91370100000012346P", 20160301, "2019/2/28", 1.5]),
    ]
    assert type(sheet.rows[3].values[3]) is int


def test_a_date_with_a_time_of_day_stays_a_datetime():
    sheet = read_spreadsheet(xlsx_bytes(["发证日期"], [datetime(2016, 5, 12, 10, 30)]))

    assert sheet.rows[1].values == [datetime(2016, 5, 12, 10, 30)]


def test_a_list_that_starts_below_and_right_keeps_excel_columns():
    sheet = read_spreadsheet(xlsx_bytes(cells={"C3": "许可证编号", "D3": "企业名称", "D6": "x"}))

    assert numbers_and_values(sheet) == [
        (3, [None, None, "许可证编号", "企业名称"]),
        (6, [None, None, None, "x"]),
    ]


def test_rows_unpack_as_row_number_and_values():
    [(number, values)] = read_rows(xlsx_bytes(["许可证编号"]))

    assert (number, values) == (1, ["许可证编号"])


def test_xls_is_read_with_dates_numbers_and_blank_rows_skipped():
    sheet = read_spreadsheet(FIXTURES / "licences.xls")

    assert (sheet.kind, sheet.name) == ("xls", "许可证名单")
    assert [row.number for row in sheet.rows] == [1, 2, 3, 4, 6]
    assert sheet.rows[1].values[:3] == ["许可证编号", "企业名称", "统一社会信用代码"]
    assert sheet.rows[2].values[12:] == [
        date(2016, 4, 20),
        date(2016, 5, 12),
        date(2019, 5, 11),
        "有效",
    ]
    assert sheet.rows[4].values[12:] == [None, 20160301, "2019/2/28", None]


def test_the_format_is_chosen_by_content_not_by_name(tmp_path):
    renamed = tmp_path / "名单.csv"
    renamed.write_bytes((FIXTURES / "licences.xls").read_bytes())

    assert read_spreadsheet(renamed).kind == "xls"


def test_an_uploaded_file_object_is_read():
    upload = SimpleUploadedFile("名单.xlsx", xlsx_bytes(["许可证编号"], ["鲁制00012345号"]))

    assert read_spreadsheet(upload).rows[1].values == ["鲁制00012345号"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_is_read_in_utf8_with_or_without_bom_and_in_gbk_or_gb18030(encoding):
    text = "许可证编号,企业名称,发证日期\r\n鲁制00012345号,“济南”衡器厂,2016/5/12\r\n\r\n,,\r\n鲁制00012346号,,20160301\r\n"

    sheet = read_spreadsheet(text.encode(encoding))

    assert (sheet.kind, sheet.name) == ("csv", "")
    assert numbers_and_values(sheet) == [
        (1, ["许可证编号", "企业名称", "发证日期"]),
        (2, ["鲁制00012345号", "“济南”衡器厂", "2016/5/12"]),
        (5, ["鲁制00012346号", None, "20160301"]),
    ]


def test_csv_quoted_cells_may_hold_commas_and_line_breaks():
    sheet = read_spreadsheet('企业地址,状态\n"济南市历下区,经十路\n88号",有效\n'.encode())

    assert numbers_and_values(sheet) == [
        (1, ["企业地址", "状态"]),
        (2, ["济南市历下区,经十路\n88号", "有效"]),
    ]


def test_tab_delimited_text_is_read():
    sheet = read_spreadsheet("许可证编号\t企业名称\n鲁制00012345号\t济南衡器厂\n".encode("gbk"))

    assert sheet.rows[1].values == ["鲁制00012345号", "济南衡器厂"]


# --- Formulas -----------------------------------------------------------------------------------


def test_xlsx_formula_cell_is_marked_with_its_row_column_and_text():
    sheet = read_spreadsheet(xlsx_bytes(["产品名称", "数量", "合计"], ["电子台秤", 2, "=B2*3"]))

    [header, row] = sheet.rows
    assert not any(is_formula(value) for value in header.values)
    assert row.number == 2
    assert row.values[:2] == ["电子台秤", 2]
    assert row.values[2] == Formula("B2*3", None)
    assert str(row.values[2]) == "=B2*3"


def test_a_formula_with_no_saved_value_outside_the_data_is_still_marked():
    sheet = read_spreadsheet(xlsx_bytes(["许可证编号"], cells={"F9": "=TODAY()"}))

    assert sheet.rows[-1].number == 9
    assert sheet.rows[-1].values == [None] * 5 + [Formula("TODAY()", None)]


# The same sheet as Excel writes it, and with the attributes of each cell in another order,
# which sends it to the slower exact scan: both must find the same cells.
AS_WRITTEN = [lambda xml: xml, lambda xml: xml.replace('<c r="', '<c s="0" r="')]


@pytest.mark.parametrize("written", AS_WRITTEN, ids=["fast scan", "exact scan"])
def test_shared_and_array_formulas_mark_every_cell_they_cover(written):
    sheet = read_spreadsheet(
        raw_xlsx(
            written(
                '<row r="1"><c r="A1"><v>1</v></c><c r="B1"><f t="shared" ref="B1:B2" si="0">'
                'A1*2</f><v>2</v></c><c r="C1"><f t="array" ref="C1:C2">A1:A2*3</f><v>3</v></c>'
                '</row><row r="2"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" si="0"/><v>4</v>'
                '</c><c r="C2"><v>6</v></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>&lt;f&gt;'
                "&amp;</t></is></c></row>"
            )
        )
    )

    assert numbers_and_values(sheet) == [
        (1, [1, Formula("A1*2", 2), Formula("A1:A2*3", 3)]),
        (2, [2, Formula(None, 4), Formula("A1:A2*3", 6)]),
        (3, ["<f>&", None, None]),
    ]


def test_cells_without_references_are_placed_as_calamine_places_them():
    sheet = read_spreadsheet(
        raw_xlsx(
            "<row><c><v>1</v></c><c><f>A1&amp;&quot;x&quot;</f><v>2</v></c></row><row/>"
            '<row><c/><c t="inlineStr"><is><t>三</t></is></c></row>'
        )
    )

    assert numbers_and_values(sheet) == [(1, [1, Formula('A1&"x"', 2)]), (3, [None, "三"])]


@pytest.mark.parametrize("written", AS_WRITTEN, ids=["fast scan", "exact scan"])
def test_a_formula_read_in_another_chunk_than_its_cell_is_still_placed(written):
    # The sheet is scanned in chunks of CHUNK_BYTES cut before a "<": put that cut between
    # <c r="B1"> and its <f>, and the formula's text across the chunk's end.
    before = '<row r="1"><c r="A1" t="inlineStr"><is><t>'
    cell = '</t></is></c><c r="B1">'
    filler = CHUNK_BYTES - 100 - len(SHEET_START) - len(written(before + cell))
    formula = "1+" * 200 + "1"
    text = "".join(random.Random(5).choices("计量器具许可证abcdefgh", k=filler // 3))
    text += "x" * (filler - len(text.encode()))
    xml = written(before) + text + written(cell) + f"<f>{formula}</f><v>201</v></c></row>"

    [row] = read_spreadsheet(raw_xlsx(xml)).rows

    assert row.values[1] == Formula(formula, 201)


def random_sheet(rng: random.Random, *, exact: bool) -> tuple[str, set[int]]:
    """Rows of cells numbered 1, 2, …, some formulas; with exact, the forms only calamine reads."""

    def ref():
        letters = "".join(rng.choice("ABC") for _ in range(rng.randint(1, 2)))
        return f"{letters}{rng.randint(1, 30)}"

    xml, formulas, number = [], set(), 0
    for _row in range(rng.randint(1, 6)):
        row_ref = f' r="{rng.randint(1, 30)}"' if exact and rng.random() < 0.5 else ""
        cells = []
        for _cell in range(rng.randint(0, 5)):
            number += 1
            form = rng.choice(["plain", "none", "lower", "second", "empty"] if exact else ["plain"])
            attributes = {
                "plain": f' r="{ref()}"',
                "none": "",
                "lower": f' r="{ref().lower()}"',
                "second": f' r="{ref()}" s="0" r="{ref()}"',
                "empty": f' r="{ref()}"',
            }[form]
            if form == "empty":
                cells.append(f"<c{attributes}/>")
            elif rng.random() < 0.3:
                cells.append(f"<c{attributes}><f>{number}+0</f><v>{number}</v></c>")
                formulas.add(number)
            else:
                cells.append(f"<c{attributes}><v>{number}</v></c>")
        xml.append(f"<row{row_ref}>{''.join(cells)}</row>" if exact or cells else "")
    return "".join(xml), formulas


@pytest.mark.parametrize("exact", [False, True], ids=["fast scan", "exact scan"])
def test_the_scans_place_cells_and_formulas_where_calamine_does(exact):
    rng = random.Random(2016)
    compared = 0
    for _sheet in range(300):
        xml, formulas = random_sheet(rng, exact=exact)
        sheet = read_spreadsheet(raw_xlsx(xml))  # refused if calamine went beyond the checked area
        values = [
            (value, row.number, column)
            for row in sheet.rows
            for column, value in enumerate(row.values)
        ]
        if sum(value is not None for value, _row, _column in values) < xml.count("<v>"):
            continue  # two cells in one place: the later one wins, and both may be marked
        for value, row, column in values:
            number = value.value if is_formula(value) else value
            assert is_formula(value) == (number in formulas), (xml, row, column)
        compared += 1
    assert compared > 150


def test_xls_formula_cell_is_marked_with_its_row_and_column():
    sheet = read_spreadsheet(FIXTURES / "formula.xls")

    assert numbers_and_values(sheet) == [
        (1, ["产品名称", "数量", "合计"]),
        (2, ["电子台秤", 2, Formula(None, None)]),
    ]


# --- Files that are not lists -------------------------------------------------------------------


def test_empty_file_is_refused():
    assert refusal(b"").code == "empty"
    assert refusal(b" \r\n\r\n").code == "empty"
    assert str(refusal(b"")) == "The file is empty."


def test_random_bytes_named_xlsx_are_refused(tmp_path):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(random.Random(3).randbytes(4096))

    error = refusal(path)

    assert error.code == "not_spreadsheet"
    assert "Traceback" not in str(error)


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_random_bytes_behind_a_zip_or_ole2_signature_are_refused_as_damaged(magic):
    assert refusal(magic + random.Random(4).randbytes(4096)).code == "damaged"


def test_utf16_text_gets_its_own_message():
    text = "许可证编号,企业名称\r\n鲁制00012345号,济南衡器厂\r\n"

    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        error = refusal(text.encode(encoding))
        assert error.code == "utf16", encoding
        assert "UTF-16" in str(error)


def test_text_in_neither_utf8_nor_gbk_is_refused():
    assert refusal("Café,à la carte\r\n".encode("latin-1")).code == "encoding"


def test_text_with_control_characters_is_not_a_spreadsheet():
    assert refusal(b"%PDF-1.7\n\x01\x02\x03 binary").code == "not_spreadsheet"


@pytest.mark.parametrize(
    "content",
    [
        "<html><body><table><tr><td>许可证编号</td></tr></table></body></html>",
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
    ],
    ids=["html table", "xml spreadsheet 2003"],
)
def test_a_web_page_or_xml_exported_as_xls_gets_its_own_message(content):
    assert refusal(content.encode("gbk")).code == "markup"


def test_an_unclosed_quote_in_csv_names_the_row():
    error = refusal(b'a,b\n1,"' + b"x" * 200_000 + b"\n")

    assert error.code == "csv_malformed"
    assert "row 2" in str(error)


def test_encrypted_xlsx_is_refused():
    error = refusal(FIXTURES / "encrypted.xlsx")

    assert error.code == "encrypted"
    assert "password" in str(error)


def test_xls_with_a_filepass_record_is_refused_as_encrypted():
    # Turn the WRITEACCESS record (0x005C, 112 bytes) of the workbook globals into FILEPASS.
    data = bytearray((FIXTURES / "licences.xls").read_bytes())
    at = data.index(b"\x5c\x00\x70\x00")
    data[at : at + 2] = b"\x2f\x00"

    assert refusal(bytes(data)).code == "encrypted"


def test_xlsb_and_ods_are_named_in_the_message():
    def zipped(files):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
        return out.getvalue()

    xlsb = zipped({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": b"\x83\x01"})
    ods = zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"})
    docx = zipped({"word/document.xml": "<w:document/>"})

    assert refusal(xlsb).code == "xlsb"
    assert refusal(ods).code == "ods"
    assert refusal(docx).code == "not_spreadsheet"


# --- Size and row limits ------------------------------------------------------------------------


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path):
    data = xlsx_bytes(["许可证编号"])
    path = tmp_path / "名单.xlsx"
    path.write_bytes(data)

    for source in (data, path, io.BytesIO(data)):
        error = refusal(source, max_bytes=len(data) - 1)
        assert error.code == "too_large"
    assert read_spreadsheet(data, max_bytes=len(data)).rows


def test_the_size_limit_comes_from_the_setting(settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 2 * MiB
    text = (b"x" * 1023 + b"\n") * 2048
    error = refusal(text + b"x")

    assert error.code == "too_large"
    assert "larger than 2 MB" in str(error)
    assert read_spreadsheet(text, max_rows=3000).rows


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_more_data_rows_than_the_limit_are_refused(kind):
    # Up to ten rows (title rows and the header) are allowed on top of the data rows.
    def rows(count):
        if kind == "csv":
            return "".join(f"row {n}\n" for n in range(count)).encode()
        return xlsx_bytes(*([f"row {n}"] for n in range(count)))

    assert len(read_spreadsheet(rows(15), max_rows=5).rows) == 15
    error = refusal(rows(16), max_rows=5)
    assert error.code == "too_many_rows"
    assert (
        str(error) == "The file has more than 5 data rows. Split it into files of at most 5 rows."
    )


def test_the_default_limit_refuses_more_than_200000_data_rows():
    cells = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(1, 200_012)
    )

    error = refusal(raw_xlsx(cells))

    assert error.code == "too_many_rows"
    assert "200,000" in str(error)


# --- Hostile workbooks --------------------------------------------------------------------------


def deflated_zip(entries) -> bytes:
    """A zip built by hand from (name, raw deflate data, CRC-32, declared unpacked size)."""
    out = io.BytesIO()
    directory = []
    for name, compressed, crc, size in entries:
        name = name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(compressed),
                size,
                len(name),
                0,
            )
        )
        out.write(name + compressed)
        directory.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(compressed),
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    start = out.tell()
    out.write(b"".join(directory))
    out.write(
        struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), out.tell() - start, start, 0
        )
    )
    return out.getvalue()


def spaces_deflated(mebibytes: int) -> tuple[bytes, int]:
    """Raw deflate data of that many MiB of spaces (valid XML whitespace), and its CRC-32.

    After a full flush deflate starts afresh, so one compressed MiB repeated is the whole
    stream: building 600 MiB takes a fraction of a second instead of three.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(b" " * MiB, crc)
    return block * mebibytes + compressor.flush(), crc


def small_parts() -> list:
    """The parts of raw_xlsx() but its sheet, deflated, for deflated_zip()."""
    with zipfile.ZipFile(io.BytesIO(raw_xlsx(""))) as archive:
        parts = []
        for info in archive.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                content = archive.read(info)
                compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
                packed = compressor.compress(content) + compressor.flush()
                parts.append((info.filename, packed, zlib.crc32(content), len(content)))
    return parts


def test_a_600_mb_sheet_in_a_600_kb_zip_is_refused_fast_and_without_inflating_it():
    bomb, crc = spaces_deflated(600)
    data = deflated_zip([*small_parts(), ("xl/worksheets/sheet1.xml", bomb, crc, 600 * MiB)])
    assert len(data) < 700_000

    tracemalloc.start()
    started = time.perf_counter()
    error = refusal(data)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert error.code == "unsafe"
    assert elapsed < 5  # measured: about 2 ms; loose so that a busy machine does not fail it
    assert peak < 200 * MiB  # measured: about 2 MB, the file itself counted


def test_a_zip_that_declares_a_small_size_but_inflates_to_600_mb_is_refused_after_that_size():
    bomb, crc = spaces_deflated(600)
    data = deflated_zip([*small_parts(), ("xl/worksheets/sheet1.xml", bomb, crc, 1000)])

    started = time.perf_counter()
    error = refusal(data)

    assert error.code == "damaged"  # zipfile stops at the declared size; the CRC then fails
    assert time.perf_counter() - started < 5


def test_parts_that_together_unpack_to_too_much_are_refused_from_the_directory_alone():
    # Each part claims a 50-fold ratio, under the ratio limit; together they claim 400 MiB.
    filler = b"\x03\x00" * (MiB // 2)  # never inflated: the directory is enough to refuse
    parts = [(f"xl/media/image{n}.png", filler, 0, 50 * MiB) for n in range(8)]

    assert refusal(deflated_zip([*small_parts(), *parts])).code == "unsafe"


def test_too_many_zip_entries_are_refused():
    entries = {f"xl/media/{n}.png": b"" for n in range(10_001)}

    assert refusal(raw_xlsx("", parts=entries)).code == "unsafe"


def test_duplicate_zip_entries_are_refused():
    # zipfile reads the last of two entries of one name; calamine's zip reader may read another.
    data = raw_xlsx("", parts={"XL/workbook.xml": "<workbook/>"})

    assert refusal(data).code == "damaged"


@pytest.mark.parametrize("part", ["sharedStrings.xml", "strings.bin"])
def test_billion_laughs_in_shared_strings_is_refused(part):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 or "")) * 10}">' for n in range(1, 10)
    )
    shared = (
        f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]>'
        f'<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    data = raw_xlsx(
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
        shared_strings=shared,
        shared_strings_part=part,  # calamine finds it through the relationship, whatever its name
    )

    error = refusal(data)

    assert error.code == "xml_declaration"
    assert "document type declaration" in str(error)


@pytest.mark.parametrize(
    "workbook",
    [
        '<!DOCTYPE workbook SYSTEM "file:///etc/passwd"><workbook/>',
        '<!doctype workbook [<!entity x SYSTEM "http://127.0.0.1/">]><workbook>&x;</workbook>',
    ],
)
def test_external_entities_are_refused_in_any_part(workbook):
    data = raw_xlsx("", parts={"xl/styles.xml": '<?xml version="1.0"?>' + workbook})

    assert refusal(data).code == "xml_declaration"


def test_a_binary_macro_project_of_an_xlsm_is_not_taken_for_xml():
    macros = f'<Relationship Id="rId9" Type="{REL_NS}/vbaProject" Target="vbaProject.bin"/>'
    data = raw_xlsx(
        '<row r="1"><c r="A1"><v>1</v></c></row>',
        relationships=macros,
        parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0\x00\x00binary"},
    )

    assert read_spreadsheet(data).rows == [(1, [1])]


def test_xml_in_another_encoding_than_utf8_is_refused():
    data = raw_xlsx(
        "", parts={"xl/styles.xml": '<?xml version="1.0"?><styleSheet/>'.encode("utf-16")}
    )

    assert refusal(data).code == "damaged"


def test_a_huge_shared_strings_count_is_refused_before_calamine_reserves_it():
    # calamine 0.37 reserves uniqueCount strings up front: 4e9 of them abort the process.
    shared = f'<sst xmlns="{MAIN_NS}" count="4000000000" uniqueCount="4000000000"><si><t>x</t></si></sst>'
    data = raw_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=shared)

    assert refusal(data).code == "unsafe"


@pytest.mark.parametrize(
    "cells",
    [
        # python-calamine issue #130: a value in column XFD makes calamine allocate 16,384
        # columns for every row (52 GB for these 100,000 rows): the process aborts.
        '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>1</v></c></row>'
        '<row r="100000"><c r="A100000"><v>1</v></c></row>',
        # The same, in the forms calamine accepts that a naive scan would miss:
        '<row r="1"><c r="A1" r="XFD1"><v>1</v></c></row><row r="100000"><c r="A100000"><v>1</v></c></row>',
        '<row r="1"><c r="xfd1"><v>1</v></c></row><row r="100000"><c r="A100000"><v>1</v></c></row>',
        '<row r="1"><c\tr="XFD1"><v>1</v></c></row><row r="100000"><c r="A100000"><v>1</v></c></row>',
        '<row r="1"><x:c xmlns:x="urn:x" r="XFD1"><x:v>1</x:v></x:c></row>'
        '<row r="100000"><c r="A100000"><v>1</v></c></row>',
        '<row r="1">' + "<c><v>1</v></c>" * 400 + '</row><row r="100000"><c><v>1</v></c></row>',
    ],
    ids=["plain", "second r", "lower case", "tab", "prefix", "no references"],
)
def test_a_cell_far_right_of_many_rows_is_refused_before_calamine_sees_it(cells):
    error = refusal(raw_xlsx(cells))

    assert error.code == "area_too_large"
    assert "100,000 rows" in str(error)


def test_a_cell_far_below_is_refused_even_when_rows_are_out_of_order():
    cells = '<row r="2"><c r="A2"><v>1</v></c><c r="P1000000"><v>1</v></c></row><row r="3"><c r="A3"><v>1</v></c></row>'

    assert refusal(raw_xlsx(cells)).code == "area_too_large"


def test_cells_after_a_sheet_data_end_hidden_in_a_comment_are_still_checked():
    # calamine skips the comment and reads on: so must the checks.
    cells = (
        '<row r="1"><c r="A1"><v>1</v></c></row><!-- </sheetData> -->'
        '<row r="100000"><c r="XFD100000"><v>1</v></c></row>'
    )

    assert refusal(raw_xlsx(cells)).code == "area_too_large"


def test_excel_extensions_after_the_sheet_data_keep_the_fast_scan(monkeypatch):
    # Excel writes cross-sheet dropdown lists as x14 data validations with prefixed <xm:f>.
    extension = (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="urn:x14">'
        '<x14:dataValidations xmlns:xm="urn:xm" count="1"><x14:dataValidation type="list">'
        "<x14:formula1><xm:f>说明!$A$1:$A$9</xm:f></x14:formula1><xm:sqref>E2:E1000</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext></extLst>"
    )
    monkeypatch.setattr(safety, "_scan_sheet_exactly", None)  # fails if called

    sheet = read_spreadsheet(raw_xlsx('<row r="1"><c r="E1"><v>1</v></c></row>', after=extension))

    assert numbers_and_values(sheet) == [(1, [None, None, None, None, 1])]


def test_a_wide_list_within_the_cell_limit_is_read():
    cells = '<row r="1"><c r="A1"><v>1</v></c><c r="AZ1"><v>2</v></c></row><row r="3000"><c r="B3000"><v>3</v></c></row>'

    sheet = read_spreadsheet(raw_xlsx(cells))

    assert [row.number for row in sheet.rows] == [1, 3000]
    assert sheet.rows[0].values[51] == 2


def test_xls_with_a_huge_second_sheet_is_refused():
    # calamine builds every sheet of an .xls when it opens it, the second one too.
    error = refusal(FIXTURES / "wide_second_sheet.xls")

    assert error.code == "area_too_large"


def test_ole2_files_whose_tables_loop_or_overflow_are_refused():
    data = bytearray((FIXTURES / "licences.xls").read_bytes())
    looping = bytearray(data)
    first_fat_sector = struct.unpack_from("<I", data, 0x4C)[0]
    fat = (first_fat_sector + 1) * 512
    struct.pack_into("<I", looping, fat, 0)  # sector 0 → sector 0 → …
    overflowing = bytearray(data)
    struct.pack_into("<I", overflowing, 0x2C, 0xFFFFFFF0)  # four billion FAT sectors

    assert refusal(bytes(looping)).code == "damaged"
    assert refusal(bytes(overflowing)).code == "damaged"
