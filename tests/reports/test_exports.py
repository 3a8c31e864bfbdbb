"""The .xlsx exports: Attachments 1 and 2 exactly as the notice lays them out, the status list,
the statistics, the command that writes the national tables, and who gets which rows."""

import zipfile
from datetime import date, datetime
from io import BytesIO
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell

from accounts.roles import PROVINCIAL_ADMIN
from licensing.factories import make_licence, make_manufacturer
from licensing.models import Province
from licensing.statistics import register_counts_refresh
from reports import exports
from tests.conftest import make_user
from verification import layout
from verification.factories import attach_scan, complete_answers, make_administrator
from verification.models import Campaign, ProvincialReturn
from verification.services import (
    return_save_draft,
    return_send_back,
    return_start,
    return_submit,
)

NOTICE = "质检量函〔2016〕27号"
BLANK = "\N{IDEOGRAPHIC SPACE}"
# The notice's Attachment 1, column by column below the two group headings.
COLUMN_HEADINGS = [
    "是否超范围许可",
    "型式评价机构是否为总局统一授权的机构",
    "制造许可核准、变更、注销公告的方式",
    "制造许可获证名单是否报总局备案",
    "是否开展网上审批",
    "型式批准证书发证部门和层级",
    "制造许可证发证部门和层级",
    "行政审批制度改革情况",
]
NOTES = [
    "型式评价机构如非总局统一授权的机构，请在备注中说明原因。",
    "型式批准、制造许可证发证部门请填写到处（科），发证层级填写省级、市级或县级。",
    "行政审批制度改革情况一栏简要填写当地行政审批改革措施，如现场许可或并联审批等。",
]


def zh(function, *args, **kwargs):
    """What the exports say in the interface's language (the tests otherwise speak English)."""
    with translation.override("zh-hans"):
        return str(function(*args, **kwargs))


def sheet_of(content: bytes):
    workbook = load_workbook(BytesIO(content))
    assert len(workbook.worksheets) == 1
    return workbook.worksheets[0]


def texts_of(content: bytes) -> str:
    """Every cell's text and the workbook's properties, to look for what must not be there."""
    workbook = load_workbook(BytesIO(content))
    values = [workbook.properties.title or "", workbook.properties.subject or ""]
    for sheet in workbook.worksheets:
        values.append(sheet.title)
        values.extend(
            str(value) for row in sheet.iter_rows(values_only=True) for value in row if value
        )
    return "\n".join(values)


def merged(sheet) -> set[str]:
    return {str(cell_range) for cell_range in sheet.merged_cells.ranges}


def column(sheet, letter: str, first: int, last: int) -> list:
    return [sheet[f"{letter}{row}"].value for row in range(first, last + 1)]


def unit_names() -> list[str]:
    return list(Province.objects.order_by("code").values_list("name", flat=True))


# --- the world: returns in every state that matters -------------------------------------------


@pytest.fixture
def campaign(db):
    return Campaign.objects.get(notice_number=NOTICE)


def _admin(province, username):
    return make_user(username, province=province, role=PROVINCIAL_ADMIN)


def _submit(provincial_return, by, **answers):
    return_save_draft(
        provincial_return=provincial_return,
        by=by,
        data=complete_answers(provincial_return.province, **answers),
    )
    attach_scan(provincial_return, by=by)
    return return_submit(provincial_return=provincial_return, by=by, attest=True)


@pytest.fixture
def returns(campaign, shandong, zhejiang, shandong_admin, reviewer):
    """山东 submitted (with formula-like answers); 浙江 returned and resubmitted; 江苏 returned and
    edited but not resubmitted; 北京 a draft; the other units not started."""
    jiangsu, beijing = Province.objects.get(code="32"), Province.objects.get(code="11")
    zhejiang_admin, jiangsu_admin = _admin(zhejiang, "zj_admin"), _admin(jiangsu, "js_admin")
    beijing_admin = _admin(beijing, "bj_admin")
    make_administrator(shandong, by=shandong_admin, name="张明")
    # The current one, from September.
    make_administrator(
        shandong, by=shandong_admin, name="李新", title="=1+1", effective_from=date(2016, 9, 1)
    )
    make_administrator(zhejiang, by=zhejiang_admin, name="吴海燕", office_phone="0571-85112233")
    make_administrator(jiangsu, by=jiangsu_admin, name="周志强", office_phone="025-83356789")

    shandong_return = return_start(campaign=campaign, by=shandong_admin)
    _submit(
        shandong_return, shandong_admin, remarks="=1+1", reform_measures=[], reform_text="@SUM(1)"
    )

    zhejiang_return = return_start(campaign=campaign, by=zhejiang_admin)
    _submit(zhejiang_return, zhejiang_admin, remarks="第一次报送")
    return_send_back(provincial_return=zhejiang_return, by=reviewer, comment="请补充。")
    _submit(zhejiang_return, zhejiang_admin, remarks="第二次报送")

    jiangsu_return = return_start(campaign=campaign, by=jiangsu_admin)
    _submit(jiangsu_return, jiangsu_admin, remarks="江苏已报送")
    return_send_back(provincial_return=jiangsu_return, by=reviewer, comment="请补充。")
    return_save_draft(
        provincial_return=jiangsu_return, by=jiangsu_admin, data={"remarks": "江苏草稿修改"}
    )

    beijing_return = return_start(campaign=campaign, by=beijing_admin)
    return_save_draft(
        provincial_return=beijing_return, by=beijing_admin, data=complete_answers(beijing)
    )
    for province, seed in ((shandong, 11), (zhejiang, 21)):
        make_licence(make_manufacturer(province, seed), seed, products=1)
    register_counts_refresh()
    return {"37": shandong_return, "33": zhejiang_return, "32": jiangsu_return}


def download(client, user, name, *args):
    client.force_login(user)
    response = client.get(reverse(f"reports:{name}", args=args))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    return response


# --- Attachment 1 --------------------------------------------------------------------------------


def test_attachment1_is_the_notices_table(client, reviewer, campaign, returns):
    sheet = sheet_of(download(client, reviewer, "attachment1_xlsx", campaign.pk).content)
    units = unit_names()
    assert len(units) == 32
    last, notes = 5 + len(units), 6 + len(units)

    assert sheet.title == "附件1"
    assert sheet["A1"].value == "附件1"
    assert sheet["A2"].value == "重点管理的计量器具型式批准和制造许可情况调查表"
    # The department's compilation: the blanks of the notice, for the seal.
    assert sheet["A3"].value == f"报送单位：{BLANK * 16}（公章）"
    assert [sheet["A4"].value, sheet["B4"].value, sheet["F4"].value, sheet["J4"].value] == [
        "省份",
        "许可工作情况",
        "行政审批制度改革情况",
        "备注",
    ]
    assert column_headings(sheet) == COLUMN_HEADINGS
    assert merged(sheet) == {
        "A1:B1",
        "A2:J2",
        "A3:J3",
        "A4:A5",
        "B4:E4",
        "F4:I4",
        "J4:J5",
        *(f"A{row}:J{row}" for row in range(notes, notes + 3)),
    }
    assert sheet.max_column == 10
    # One row per unit, in GB/T 2260 order, then the notes and nothing else.
    assert column(sheet, "A", 6, last) == units
    note = zh(gettext, "%(number)d. %(note)s")
    label = "备注："
    assert column(sheet, "A", notes, notes + 2) == [
        label + note % {"number": 1, "note": NOTES[0]},
        BLANK * 3 + note % {"number": 2, "note": NOTES[1]},
        BLANK * 3 + note % {"number": 3, "note": NOTES[2]},
    ]
    assert sheet.max_row == notes + 2
    # The grid (openpyxl reads a merged range's border back from its first cell only).
    for row in sheet.iter_rows(min_row=4, max_row=last, max_col=10):
        for cell in row:
            if not isinstance(cell, MergedCell):
                sides = (cell.border.left, cell.border.right, cell.border.top, cell.border.bottom)
                assert {side.style for side in sides} == {"thin"}, cell.coordinate


def column_headings(sheet) -> list[str]:
    return [sheet.cell(row=5, column=index).value for index in range(2, 10)]


def row_of(sheet, name: str) -> list:
    for row in sheet.iter_rows(min_row=6, values_only=True):
        if row[0] == name:
            return list(row)
    raise AssertionError(f"no row for {name}")


def test_attachment1_rows_are_the_answers_as_last_submitted(client, reviewer, campaign, returns):
    sheet = sheet_of(download(client, reviewer, "attachment1_xlsx", campaign.pk).content)
    shandong = row_of(sheet, "山东省")
    assert shandong == [
        "山东省",
        "否",
        "是",
        "政府网站",
        "是",
        "是",
        "山东省质量技术监督局计量处（省级）",
        "山东省质量技术监督局计量处（省级）",
        "@SUM(1)",
        "=1+1",
    ]
    # Returned, then resubmitted: the second submission.
    assert row_of(sheet, "浙江省")[9] == "第二次报送"
    # Returned and edited since: still what the department received, not the draft.
    assert row_of(sheet, "江苏省")[9] == "江苏已报送"
    assert ProvincialReturn.objects.get(pk=returns["32"].pk).remarks == "江苏草稿修改"


def test_a_unit_that_never_submitted_has_its_name_and_not_submitted(
    client, reviewer, campaign, returns
):
    sheet = sheet_of(download(client, reviewer, "attachment1_xlsx", campaign.pk).content)
    not_submitted = zh(gettext, "Not submitted")
    for name in ("北京市", "新疆生产建设兵团"):  # a draft; not started
        assert row_of(sheet, name) == [name, *[None] * 8, not_submitted]


def test_formula_like_answers_are_written_as_text(client, reviewer, campaign, returns):
    content = download(client, reviewer, "attachment1_xlsx", campaign.pk).content
    sheet = sheet_of(content)
    row = next(cell.row for cell in sheet["A"] if cell.value == "山东省")
    for letter, value in (("I", "@SUM(1)"), ("J", "=1+1")):
        assert sheet[f"{letter}{row}"].value == value
        assert sheet[f"{letter}{row}"].data_type == "s"
    assert b"<f>" not in zipfile.ZipFile(BytesIO(content)).read("xl/worksheets/sheet1.xml")

    sheet = sheet_of(download(client, reviewer, "attachment2_xlsx", campaign.pk).content)
    title = next(cell for cell in sheet["C"] if cell.value == "=1+1")
    assert title.data_type == "s"


def test_exported_text_is_inert_and_lines_are_kept():
    content = exports.attachment2_xlsx(
        rows=[['=HYPERLINK("http://x")', "+单位\r\n第二行", "-1", "@A1", "\x01", "a@b.cn"]]
    )
    sheet = sheet_of(content)
    cells = [sheet.cell(row=4, column=index) for index in range(1, 7)]
    assert [cell.value for cell in cells] == [
        '=HYPERLINK("http://x")',
        "+单位\n第二行",
        "-1",
        "@A1",
        "\N{REPLACEMENT CHARACTER}",
        "a@b.cn",
    ]
    assert {cell.data_type for cell in cells} == {"s"}


def test_a_units_copy_of_attachment1_holds_its_row_only(client, shandong_admin, campaign, returns):
    response = download(client, shandong_admin, "attachment1_xlsx", campaign.pk)
    sheet = sheet_of(response.content)
    assert sheet["A3"].value == f"报送单位：山东省{BLANK * 4}（公章）"
    assert column(sheet, "A", 6, 6) == ["山东省"]
    assert sheet["J6"].value == "=1+1"
    assert sheet["A7"].value.startswith("备注：")
    assert merged(sheet) >= {"A7:J7", "A8:J8", "A9:J9"}
    assert sheet.max_row == 9
    text = texts_of(response.content)
    assert [name for name in unit_names() if name in text] == ["山东省"]
    name = "附件1-重点管理的计量器具型式批准和制造许可情况调查表-山东省.xlsx"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"


def test_the_national_attachment1_file_name(client, reviewer, campaign, returns):
    response = download(client, reviewer, "attachment1_xlsx", campaign.pk)
    name = "附件1-重点管理的计量器具型式批准和制造许可情况调查表.xlsx"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"


def test_attachment1_reads_a_constant_number_of_queries(
    client, reviewer, campaign, returns, django_assert_max_num_queries
):
    client.force_login(reviewer)
    url = reverse("reports:attachment1_xlsx", args=[campaign.pk])
    with django_assert_max_num_queries(8):
        assert client.get(url).status_code == 200


def test_an_unknown_campaign_is_404(client, reviewer, db):
    client.force_login(reviewer)
    for name in ("attachment1_xlsx", "attachment2_xlsx", "status_list_xlsx"):
        assert client.get(reverse(f"reports:{name}", args=[999999])).status_code == 404


# --- Attachment 2 --------------------------------------------------------------------------------


def test_attachment2_is_the_notices_table(client, reviewer, campaign, returns):
    response = download(client, reviewer, "attachment2_xlsx", campaign.pk)
    sheet = sheet_of(response.content)
    assert sheet.title == "附件2"
    assert sheet["A1"].value == "附件2"
    assert sheet["A2"].value == "计量器具许可证管理系统省局系统管理员信息表"
    with translation.override("zh-hans"):
        headings = layout.attachment2_headings()
    assert [cell.value for cell in sheet[3]] == headings
    assert headings[:5] == ["姓名", "单位", "职务", "办公电话", "手机"]
    # Each unit's current administrator, in GB/T 2260 order; 山东's replaced one is gone.
    assert column(sheet, "A", 4, 6) == ["周志强", "吴海燕", "李新"]
    assert "张明" not in texts_of(response.content)
    assert [cell.value for cell in sheet[6]] == [
        "李新",
        "山东省质量技术监督局计量处",
        "=1+1",
        "0531-82345678",
        "13812345678",
        "admin37@example.gov.cn",
    ]
    assert sheet["A7"].value == "备注：若系统管理员发生变动，请再次填写此表，并及时上报总局计量司。"
    assert merged(sheet) == {"A2:F2", "A7:F7"}
    assert sheet.max_row == 7
    name = "附件2-计量器具许可证管理系统省局系统管理员信息表.xlsx"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"


def test_a_units_copy_of_attachment2_holds_its_administrator_only(
    client, zhejiang_clerk, campaign, returns
):
    response = download(client, zhejiang_clerk, "attachment2_xlsx", campaign.pk)
    sheet = sheet_of(response.content)
    assert column(sheet, "A", 4, 4) == ["吴海燕"]
    assert sheet["A5"].value.startswith("备注：")
    text = texts_of(response.content)
    assert [name for name in unit_names() if name in text] == ["浙江省"]
    assert "李新" not in text and "周志强" not in text


# --- the status list and the statistics ----------------------------------------------------------


def test_the_status_list_has_every_unit(client, reviewer, campaign, returns):
    response = download(client, reviewer, "status_list_xlsx", campaign.pk)
    sheet = sheet_of(response.content)
    assert sheet["A1"].value == zh(gettext, "Returns for %(notice)s") % {"notice": NOTICE}
    assert [cell.value for cell in sheet[3]] == [
        "报送单位",
        "状态",
        "首次提交",
        "最近提交",
        "是否按时",
        "提交次数",
        "核查发现",
    ]
    assert column(sheet, "A", 4, 35) == unit_names()
    assert sheet.max_row == 35
    zhejiang = [cell.value for cell in sheet[4 + unit_names().index("浙江省")]]
    assert zhejiang[1] == "已提交"
    assert isinstance(zhejiang[2], datetime) and isinstance(zhejiang[3], datetime)
    assert zhejiang[5] == 2
    beijing = [cell.value for cell in sheet[4]]
    assert beijing[0] == "北京市" and beijing[2] is None and beijing[5] == 0
    assert sheet.auto_filter.ref == "A3:G35"


def test_the_status_list_is_the_departments_only(client, shandong_admin, campaign, returns):
    client.force_login(shandong_admin)
    response = client.get(reverse("reports:status_list_xlsx", args=[campaign.pk]))
    assert response.status_code == 403


def test_the_statistics_table(client, reviewer, returns):
    sheet = sheet_of(download(client, reviewer, "statistics_xlsx").content)
    assert sheet["A3"].value == "省份"
    assert sheet["B3"].value == "电能表"
    assert "A3:A4" in merged(sheet) and "B3:C3" in merged(sheet)
    units = unit_names()
    assert column(sheet, "A", 5, 4 + len(units)) == units
    total = [cell.value for cell in sheet[5 + len(units)]]
    assert total[0] == zh(translation.pgettext, "table", "Total")
    assert total[-1] == 2  # valid licences of all units: one in 山东, one in 浙江
    assert sheet.max_row == 5 + len(units)


def test_a_units_statistics_hold_its_row_only(client, shandong_admin, returns):
    response = download(client, shandong_admin, "statistics_xlsx")
    sheet = sheet_of(response.content)
    assert column(sheet, "A", 5, 5) == ["山东省"]
    assert sheet.max_row == 6  # and the total
    assert [cell.value for cell in sheet[6]][-1] == 1
    text = texts_of(response.content)
    assert [name for name in unit_names() if name in text] == ["山东省"]


# --- printing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title_rows", "freeze"),
    [
        ("attachment1_xlsx", "$4:$5", "B6"),
        ("attachment2_xlsx", "$3:$3", "A4"),
        ("status_list_xlsx", "$3:$3", "B4"),
        ("statistics_xlsx", "$3:$4", "B5"),
    ],
)
def test_every_export_prints_on_a4_landscape_fitted_to_width(
    client, reviewer, campaign, returns, name, title_rows, freeze
):
    args = [] if name == "statistics_xlsx" else [campaign.pk]
    sheet = sheet_of(download(client, reviewer, name, *args).content)
    setup = sheet.page_setup
    assert setup.orientation == "landscape"
    assert int(setup.paperSize) == int(sheet.PAPERSIZE_A4) == 9
    assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == title_rows
    assert sheet.freeze_panes == freeze
    assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
    headings = sheet[int(title_rows.split(":")[1].strip("$"))]
    for cell in headings:
        if cell.value:
            assert cell.alignment.wrap_text, cell.coordinate
            assert cell.font.bold, cell.coordinate
    for letter, dimension in sheet.column_dimensions.items():
        assert dimension.width >= 9, letter


def test_wrapped_rows_are_tall_enough():
    rows = [
        exports.Attachment1Row(
            province=Province(name="山东省", code="37"),
            cells=["否", "是", "", "是", "是", "", "", "改革" * 60, ""],
        )
    ]
    sheet = sheet_of(exports.attachment1_xlsx(rows=rows, campaign=Campaign(notice_number=NOTICE)))
    # 240 columns' worth of text in a column 30 wide: at least eight lines of 15 points.
    assert sheet.row_dimensions[6].height >= 8 * 15
    assert sheet.row_dimensions[5].height >= 3 * 15  # the longest heading wraps to three lines


# --- the command ---------------------------------------------------------------------------------


def test_the_command_writes_the_national_attachment1(tmp_path, campaign, returns):
    out = tmp_path / "附件1.xlsx"
    call_command("export_attachment", "1", str(out), "--campaign", NOTICE)
    sheet = sheet_of(out.read_bytes())
    assert sheet["A2"].value == "重点管理的计量器具型式批准和制造许可情况调查表"
    assert sheet["B4"].value == "许可工作情况"
    assert column_headings(sheet) == COLUMN_HEADINGS
    assert sheet["A3"].value == f"报送单位：{BLANK * 16}（公章）"
    assert column(sheet, "A", 6, 37) == unit_names()
    assert row_of(sheet, "浙江省")[9] == "第二次报送"


def test_the_command_defaults_to_the_latest_campaign(tmp_path, campaign, returns):
    later = Campaign.objects.create(
        notice_number="质检量函〔2017〕1号",
        title="later",
        issued_on=date(2017, 3, 1),
        data_deadline=date(2017, 6, 30),
        return_deadline=date(2017, 6, 30),
    )
    out = tmp_path / "out.xlsx"
    call_command("export_attachment", "1", str(out))
    sheet = sheet_of(out.read_bytes())
    assert load_workbook(BytesIO(out.read_bytes())).properties.subject == later.notice_number
    # Nobody has submitted for the later campaign.
    assert row_of(sheet, "浙江省")[9] == zh(gettext, "Not submitted")


def test_the_command_writes_attachment2(tmp_path, returns):
    out = tmp_path / "附件2.xlsx"
    call_command("export_attachment", "2", str(out))
    sheet = sheet_of(out.read_bytes())
    assert sheet["A2"].value == "计量器具许可证管理系统省局系统管理员信息表"
    assert column(sheet, "A", 4, 6) == ["周志强", "吴海燕", "李新"]


def test_the_command_refuses_an_unknown_campaign(tmp_path, campaign):
    out = tmp_path / "out.xlsx"
    with pytest.raises(CommandError, match="质检量函〔2099〕1号") as error:
        call_command("export_attachment", "1", str(out), "--campaign", "质检量函〔2099〕1号")
    assert error.value.returncode != 0
    assert NOTICE in str(error.value)  # the known ones
    assert not out.exists()


def test_the_command_refuses_an_unwritable_path(tmp_path, campaign):
    out = tmp_path / "no-such-folder" / "out.xlsx"
    with pytest.raises(CommandError, match="no-such-folder") as error:
        call_command("export_attachment", "2", str(out))
    assert error.value.returncode != 0


def test_the_command_knows_attachments_1_and_2_only(tmp_path, campaign):
    with pytest.raises(CommandError):
        call_command("export_attachment", "3", str(tmp_path / "out.xlsx"))
