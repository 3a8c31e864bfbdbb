"""The licence-list template users download (DESIGN.md §4)."""

from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from licensing.importing.columns import HeaderRow, locate_header
from licensing.importing.service import licence_import
from licensing.importing.template import licence_template_xlsx
from licensing.models import InstrumentCategory
from licensing.validators import validate_credit_code, validate_licence_number_format

# DESIGN.md §4, written out: the template must follow the design, not the code.
DESIGN_HEADERS = [
    ("许可证编号", True),
    ("企业名称", True),
    ("统一社会信用代码", True),
    ("企业地址", False),
    ("计量器具类别", True),
    ("产品名称", True),
    ("型号规格", True),
    ("准确度等级", False),
    ("测量范围", False),
    ("型式批准证书编号", False),
    ("发证机关", True),
    ("发证层级", False),
    ("受理日期", False),
    ("发证日期", True),
    ("有效期至", True),
    ("状态", False),
]
CATALOGUE = [
    "电能表",
    "水表",
    "煤气表",
    "衡器",
    "加油机",
    "出租车计价器",
    "热能表",
    "粉尘测量仪",
    "甲烷测定器",
]


@pytest.fixture
def workbook(db):
    return load_workbook(BytesIO(licence_template_xlsx()))


def header_row(sheet):
    return [cell.value for cell in sheet[1]]


def dropdowns(workbook):
    """Header of the validated column → the values its list offers."""
    sheet = workbook.worksheets[0]
    headers = header_row(sheet)
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        assert validation.showErrorMessage
        list_sheet_name, cells = validation.formula1.split("!")
        list_sheet = workbook[list_sheet_name.strip("'")]
        min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
        values = [
            list_sheet.cell(row=row, column=min_col).value for row in range(min_row, max_row + 1)
        ]
        (target,) = str(validation.sqref).split()
        min_col, min_row, max_col, max_row = range_boundaries(target)
        assert min_col == max_col
        assert min_row == 2  # everything below the header row …
        assert max_row >= 5000  # … as far down as any real list goes
        found[headers[min_col - 1].lstrip("*")] = values
    return found


def test_first_sheet_holds_exactly_the_design_headers_and_nothing_else(workbook):
    sheet = workbook.worksheets[0]
    headers = header_row(sheet)
    assert [header.lstrip("*") for header in headers] == [name for name, _ in DESIGN_HEADERS]
    # Required headers are marked with * and in red; optional ones are not.
    for cell, (_name, required) in zip(sheet[1], DESIGN_HEADERS, strict=True):
        assert cell.value.startswith("*") is required
        assert (cell.font.color is not None and cell.font.color.rgb == "00C00000") is required
    assert sheet.max_row == 1  # no example row that would be imported
    assert sheet.freeze_panes == "A2"


def test_the_importer_recognises_the_template_header_row(workbook):
    header, _rows = locate_header([(1, header_row(workbook.worksheets[0]))])
    assert isinstance(header, HeaderRow)
    assert header.unknown == []
    assert header.duplicates == []
    assert len(header.keys) == len(DESIGN_HEADERS)


def test_dropdowns_offer_the_catalogue_levels_and_statuses(workbook):
    assert dropdowns(workbook) == {
        "计量器具类别": CATALOGUE,
        "发证层级": ["省级", "市级", "县级"],
        "状态": ["有效", "变更", "注销", "撤销", "过期"],
    }
    # The lists live on a sheet users do not see.
    assert workbook.worksheets[2].sheet_state == "hidden"


def test_category_dropdown_follows_the_catalogue_in_the_database(db):
    InstrumentCategory.objects.create(code="pressure-gauge", name="压力表", sort_order=0)
    InstrumentCategory.objects.filter(code="water-meter").update(sort_order=99)
    categories = dropdowns(load_workbook(BytesIO(licence_template_xlsx())))["计量器具类别"]
    assert categories[0] == "压力表"
    assert categories[-1] == "水表"
    assert len(categories) == 10


def test_codes_are_text_columns_and_dates_are_date_columns(workbook):
    sheet = workbook.worksheets[0]
    formats = {
        header.lstrip("*"): sheet.column_dimensions[cell.column_letter].number_format
        for header, cell in zip(header_row(sheet), sheet[1], strict=True)
    }
    assert formats["统一社会信用代码"] == "@"
    assert formats["许可证编号"] == "@"
    for name in ("受理日期", "发证日期", "有效期至"):
        assert formats[name] == "yyyy-mm-dd"
    assert formats["企业名称"] == "General"
    for cell in sheet[1]:
        assert sheet.column_dimensions[cell.column_letter].width >= 8


def instruction_rows(workbook):
    return [list(row) for row in workbook.worksheets[1].iter_rows(values_only=True)]


def test_instruction_sheet_explains_every_column(workbook):
    rows = instruction_rows(workbook)
    explained = {}
    for row in rows:  # the table of columns comes before the example row's headers
        if isinstance(row[0], str) and row[0].lstrip("*") in dict(DESIGN_HEADERS):
            explained.setdefault(row[0].lstrip("*"), row)
    assert list(explained) == [name for name, _ in DESIGN_HEADERS]
    required_words = {row[1] for name, row in explained.items() if dict(DESIGN_HEADERS)[name]}
    optional_words = {row[1] for name, row in explained.items() if not dict(DESIGN_HEADERS)[name]}
    assert len(required_words) == 1
    assert len(optional_words) == 1
    assert required_words != optional_words
    # Accepted values are spelt out where there is a fixed list.
    for name in CATALOGUE:
        assert name in explained["计量器具类别"][2]
    assert "燃气表" in explained["计量器具类别"][2]  # an alias
    assert "县级" in explained["发证层级"][2]
    assert "撤销" in explained["状态"][2]
    assert "鲁制00012345号" in explained["许可证编号"][2]


def example_row(workbook):
    rows = instruction_rows(workbook)
    headers = header_row(workbook.worksheets[0])
    (position,) = [i for i, row in enumerate(rows) if row == headers]
    return dict(zip(headers, rows[position + 1], strict=True))


def test_example_row_is_valid(workbook):
    example = {header.lstrip("*"): value for header, value in example_row(workbook).items()}
    assert example["许可证编号"] == "鲁制00012345号"
    validate_licence_number_format(example["许可证编号"])
    validate_credit_code(example["统一社会信用代码"])
    assert example["计量器具类别"] in CATALOGUE
    for name in ("受理日期", "发证日期", "有效期至"):
        assert isinstance(example[name], (date, datetime))
    assert example["受理日期"] <= example["发证日期"] < example["有效期至"]
    for name, required in DESIGN_HEADERS:
        if required:
            assert example[name], name


def test_the_example_copied_into_the_first_sheet_imports_without_a_problem(workbook):
    example = example_row(workbook)
    sheet = workbook.worksheets[0]
    sheet.append([example[header] for header in header_row(sheet)])
    buffer = BytesIO()
    workbook.save(buffer)

    result = licence_import(data=buffer.getvalue(), file_name="template.xlsx", dry_run=True)

    assert result.errors == []
    assert result.warnings == []
    assert (result.licences.created, result.products.created) == (1, 1)


def test_text_in_the_template_is_never_a_formula(db):
    InstrumentCategory.objects.create(code="evil", name='=HYPERLINK("http://x")', sort_order=50)
    workbook = load_workbook(BytesIO(licence_template_xlsx()))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)
    lists = workbook.worksheets[2]
    assert '=HYPERLINK("http://x")' in [cell.value for cell in lists["A"]]
