"""The error report: the uploaded rows again, faulty cells highlighted, an errors column added."""

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook, load_workbook

from licensing.importing.columns import locate_header
from licensing.importing.readers import read_rows
from licensing.importing.report import error_report_xlsx
from licensing.importing.service import licence_import

HEADERS = ["*许可证编号", "企业名称", "统一社会信用代码", "发证日期（年-月-日）", "测量范围"]
ROWS = [
    (2, ["鲁制00000001号", "甲公司", "91370102163052311B", date(2016, 5, 12), "-20~60℃"]),
    (3, ["鲁制0000002", "乙公司", "91370102163052311C", "2016-02-30", "0-10"]),
    (5, ["鲁制00000003号", "=cmd|' /C calc'!A0", "91370102163052311B", "2016/5/12", "@SUM(A1)"]),
]


@dataclass
class Problem:
    row: int | None
    column: str | None
    message: str


ERRORS = [
    Problem(3, "许可证编号", "“鲁制0000002号” is not a licence number"),
    Problem(3, "统一社会信用代码", "wrong check character"),
    Problem(3, "发证日期", "2016-02 has 29 days"),
    Problem(3, "统一社会信用代码", "second problem of the same cell"),
    Problem(5, None, "duplicate of row 2"),
    Problem(None, "状态", "unknown column ignored"),
    Problem(1, "有效期至", "the required column 有效期至 is missing"),
]


def report(rows=ROWS, headers=HEADERS, errors=ERRORS):
    return load_workbook(BytesIO(error_report_xlsx(rows, headers, errors)))


def cells_by_header(sheet):
    headers = [cell.value for cell in sheet[1]]
    return [dict(zip(headers, row, strict=False)) for row in sheet.iter_rows(min_row=2)]


def is_highlighted(cell):
    return cell.fill is not None and cell.fill.fill_type == "solid"


def test_every_uploaded_row_is_kept_in_order_with_its_excel_row_number():
    sheet = report().worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[1:-1] == HEADERS  # the upload's own headers, so the report can be re-uploaded
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [row[0] for row in rows] == [2, 3, 5]
    assert rows[0][1:6] == [
        "鲁制00000001号",
        "甲公司",
        "91370102163052311B",
        datetime(2016, 5, 12),
        "-20~60℃",
    ]
    assert rows[1][4] == "2016-02-30"  # the faulty value as uploaded, not a repaired one


def test_faulty_cells_are_highlighted_with_the_message_as_a_comment():
    sheet = report().worksheets[0]
    row_3 = cells_by_header(sheet)[1]
    assert is_highlighted(row_3["*许可证编号"])
    assert "is not a licence number" in row_3["*许可证编号"].comment.text
    # The error names the column as the importer knows it; the upload wrote it with a note.
    assert is_highlighted(row_3["发证日期（年-月-日）"])
    assert row_3["发证日期（年-月-日）"].comment.text == "2016-02 has 29 days"
    both = row_3["统一社会信用代码"].comment.text
    assert both == "wrong check character；second problem of the same cell"
    assert not is_highlighted(row_3["企业名称"])
    assert row_3["企业名称"].comment is None


def test_rows_without_errors_stay_plain():
    sheet = report().worksheets[0]
    row_2 = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert not any(is_highlighted(cell) for cell in row_2)
    assert not any(cell.comment for cell in row_2)
    assert row_2[-1].value is None  # nothing in the errors column


def test_errors_column_joins_all_messages_of_the_row():
    sheet = report().worksheets[0]
    errors = [row[-1].value for row in sheet.iter_rows(min_row=2)]
    assert errors[0] is None
    assert errors[1] == (
        "许可证编号：“鲁制0000002号” is not a licence number；"
        "统一社会信用代码：wrong check character；"
        "发证日期：2016-02 has 29 days；"
        "统一社会信用代码：second problem of the same cell"
    )
    # An error of the row as a whole: no cell to mark, so the row number carries it.
    assert errors[2] == "duplicate of row 2"
    row_5 = list(sheet.iter_rows(min_row=4, max_row=4))[0]
    assert is_highlighted(row_5[0])
    assert row_5[0].comment.text == "duplicate of row 2"


def test_file_level_errors_are_listed_on_a_second_sheet():
    workbook = report()
    assert len(workbook.worksheets) == 2
    rows = list(workbook.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert rows == [
        (None, "状态", "unknown column ignored"),
        (1, "有效期至", "the required column 有效期至 is missing"),
    ]


def test_no_second_sheet_without_file_level_errors():
    workbook = report(errors=ERRORS[:5])
    assert len(workbook.worksheets) == 1


def test_formula_looking_values_stay_text():
    sheet = report().worksheets[0]
    row_5 = cells_by_header(sheet)[2]
    for header, expected in [("企业名称", "=cmd|' /C calc'!A0"), ("测量范围", "@SUM(A1)")]:
        assert row_5[header].data_type == "s"
        assert row_5[header].value == expected
    assert cells_by_header(sheet)[0]["测量范围"].value == "-20~60℃"
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


def test_odd_values_are_written_as_text_not_lost():
    class FormulaCell:  # whatever a reader yields for a formula
        def __str__(self):
            return "=SUM(A1:A2)"

    rows = [(2, ["a\x01b", FormulaCell(), "line\r\nbreak", True, 12.5])]
    sheet = report(rows=rows, headers=["A", "B", "C", "D", "E"], errors=[]).worksheets[0]
    values = [cell.value for cell in list(sheet.iter_rows(min_row=2))[0]]
    assert values[1:6] == [
        "a\N{REPLACEMENT CHARACTER}b",
        "=SUM(A1:A2)",
        "line\r\nbreak",
        True,
        12.5,
    ]


def test_short_rows_are_padded_and_the_errors_column_stays_under_its_header():
    rows = [
        (2, ["鲁制00000001号"]),
        (3, ["鲁制00000002号", "乙", "c", "d", "e", "beyond the headers"]),
    ]
    errors = [Problem(2, "企业名称", "empty"), Problem(3, "测量范围", "bad")]
    sheet = report(rows=rows, errors=errors).worksheets[0]
    width = len(HEADERS) + 2
    assert sheet.max_column == width  # the cell beyond the headers has no column to go to
    for row in sheet.iter_rows(min_row=2):
        assert row[width - 1].value is not None  # the errors column
    row_2 = cells_by_header(sheet)[0]
    assert is_highlighted(row_2["企业名称"])
    assert row_2["企业名称"].value is None


def test_report_of_a_real_import_marks_the_cells_the_importer_names(db):
    headers = [
        "*许可证编号",
        "企业名称",
        "统一社会信用代码",
        "计量器具类别",
        "产品名称",
        "型号规格",
        "发证机关",
        "发证日期（年-月-日）",
        "有效期至",
    ]
    good = [
        "鲁制00000001号",
        "甲公司",
        "91370102163052311B",
        "水表",
        "水表",
        "LXS-15",
        "山东省质量技术监督局",
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["山东省许可证名单"])  # a title row: Excel row numbers must still match
    sheet.append(headers)
    sheet.append([*good, "2016-05-12", "2019-05-11"])
    sheet.append(
        ["鲁制00000002号", "乙公司", "91370102163052311C", *good[3:], "2016-02-30", "2019-05-11"]
    )
    sheet.append(
        ["鲁制00000003号", "丙公司", "91370102163052311B", *good[3:], "=TODAY()", "2019-05-11"]
    )
    buffer = BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()

    result = licence_import(data=data, file_name="list.xlsx", dry_run=True)
    all_rows = read_rows(data)
    header, rows = locate_header(all_rows)
    header_values = next(row.values for row in all_rows if row.number == header.row)
    report_book = load_workbook(
        BytesIO(error_report_xlsx([tuple(row) for row in rows], header_values, result.errors))
    )

    assert result.errors
    marked = {}
    for row in report_book.worksheets[0].iter_rows(min_row=2):
        for cell, name in zip(row[1:-1], headers, strict=True):
            if is_highlighted(cell):
                marked[(row[0].value, name)] = cell.comment.text
    named = {(error.row, error.column) for error in result.errors if error.row}
    assert set(marked) == named
    assert (4, "统一社会信用代码") in marked
    assert (4, "发证日期（年-月-日）") in marked
    assert (5, "发证日期（年-月-日）") in marked
    rows_by_number = {row[0].value: row for row in report_book.worksheets[0].iter_rows(min_row=2)}
    formula_cell = rows_by_number[5][1 + headers.index("发证日期（年-月-日）")]
    assert (formula_cell.value, formula_cell.data_type) == ("=TODAY()", "s")
    assert rows_by_number[3][-1].value is None  # the good row
