"""The licence-list import service (DESIGN.md §4): checks, all-or-nothing writes, audit, scope."""

import csv
import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.importing import service
from licensing.importing.service import (
    ImportRefused,
    import_confirm,
    import_preview,
    licence_import,
)
from licensing.models import (
    ImportBatch,
    ImportBatchStatus,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    TypeApproval,
)
from tests.conftest import make_user

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _english_messages():
    """Messages in their English source, so that assertions on words survive translation."""
    with translation.override("en"):
        yield


HEADERS = [
    "许可证编号", "企业名称", "统一社会信用代码", "企业地址", "计量器具类别", "产品名称",
    "型号规格", "准确度等级", "测量范围", "型式批准证书编号", "发证机关", "发证层级",
    "受理日期", "发证日期", "有效期至", "状态",
]  # fmt: skip
JINAN = "91370100000012345L"
QINGDAO = "91370100000012346P"
HANGZHOU = "91330100000012347A"


def canonical_rows():
    """The rows of fixtures/licences.xls, as a clerk would enter them in the template."""
    return [
        {
            "许可证编号": "鲁制00012345号",
            "企业名称": "济南精准电子衡器有限公司",
            "统一社会信用代码": JINAN,
            "企业地址": "济南市历下区经十路88号",
            "计量器具类别": "衡器",
            "产品名称": "电子台秤",
            "型号规格": "TCS-150",
            "准确度等级": "Ⅲ",
            "测量范围": "(0~150)kg",
            "型式批准证书编号": "2016F123-37",
            "发证机关": "山东省质量技术监督局",
            "发证层级": "省级",
            "受理日期": date(2016, 4, 20),
            "发证日期": date(2016, 5, 12),
            "有效期至": date(2019, 5, 11),
            "状态": "有效",
        },
        {
            "许可证编号": "鲁制00012345号",
            "企业名称": "济南精准电子衡器有限公司",
            "统一社会信用代码": JINAN,
            "企业地址": "济南市历下区经十路88号",
            "计量器具类别": "衡器",
            "产品名称": "电子计价秤",
            "型号规格": "ACS-30",
            "准确度等级": "Ⅲ",
            "测量范围": "(0~30)kg",
            "型式批准证书编号": "2016F124-37",
            "发证机关": "山东省质量技术监督局",
            "发证层级": "省级",
            "受理日期": date(2016, 4, 20),
            "发证日期": date(2016, 5, 12),
            "有效期至": date(2019, 5, 11),
            "状态": "有效",
        },
        {
            "许可证编号": "鲁制00012346号",
            "企业名称": "青岛海润水表有限公司",
            "统一社会信用代码": QINGDAO,
            "企业地址": "青岛市崂山区海尔路1号",
            "计量器具类别": "水表",
            "产品名称": "旋翼式水表",
            "型号规格": "LXS-15E",
            "准确度等级": "2级",
            "测量范围": "Q3=2.5m³/h",
            "型式批准证书编号": "2015F045-37",
            "发证机关": "山东省质量技术监督局",
            "发证层级": "省级",
            "受理日期": None,
            "发证日期": date(2016, 3, 1),
            "有效期至": date(2019, 2, 28),
            "状态": None,
        },
    ]


def xlsx(rows, headers=HEADERS, *, title_rows=()) -> bytes:
    """A workbook: optional title rows, the header row, then the rows (dicts keyed by header)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for title in title_rows:
        sheet.append(title)
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header) for header in headers] if isinstance(row, dict) else row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, headers=HEADERS, *, encoding="gb18030") -> bytes:
    """What Excel's "CSV" gives: dates as 2016/5/12 text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        cells = []
        for header in headers:
            value = row.get(header)
            if isinstance(value, date):
                value = f"{value.year}/{value.month}/{value.day}"
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return buffer.getvalue().encode(encoding)


def with_changes(row, **changes):
    return {**row, **changes}


def run(data, **kwargs):
    return licence_import(data=data, file_name="licences.xlsx", **kwargs)


def register_snapshot():
    """Row counts of every register and history table, and of the import batches."""
    models = [Manufacturer, Licence, LicensedProduct, TypeApproval]
    counts = {model.__name__: model.objects.count() for model in models}
    counts.update({f"{model.__name__} history": model.history.count() for model in models})
    counts["ImportBatch"] = ImportBatch.objects.count()
    return counts


def stored_register():
    """Every stored value an import writes, keyed by identity."""
    manufacturers = {
        m.credit_code: (m.name, m.address, m.province.code)
        for m in Manufacturer.objects.select_related("province")
    }
    licences = {
        licence.number: (
            licence.manufacturer.credit_code,
            licence.province.code,
            licence.issuing_authority,
            licence.issuing_level,
            licence.accepted_on,
            licence.issued_on,
            licence.expires_on,
            licence.status,
        )
        for licence in Licence.objects.select_related("manufacturer", "province")
    }
    products = {
        (p.licence.number, p.category.code, p.product_name, p.model_spec): (
            p.accuracy_class,
            p.measuring_range,
            p.type_approval_number,
            p.type_approval_id,
        )
        for p in LicensedProduct.objects.select_related("licence", "category")
    }
    return manufacturers, licences, products


def the_error(result):
    assert not result.ok
    assert len(result.errors) == 1, [e.as_dict() for e in result.errors]
    return result.errors[0]


@pytest.fixture
def untouched(shandong, zhejiang):
    """An existing register; the test asserts at its end that a failed import left it as it was."""
    make_licence(make_manufacturer(shandong, 501), 501, products=2)
    make_licence(make_manufacturer(zhejiang, 502), 502, products=1)
    before = register_snapshot(), stored_register()
    yield
    assert (register_snapshot(), stored_register()) == before


# --- A good file --------------------------------------------------------------------------


def test_a_canonical_file_creates_manufacturers_licences_and_products(shandong):
    result = run(xlsx(canonical_rows()))

    assert result.ok, result.errors
    assert result.rows == 3
    assert result.manufacturers.as_dict() == {"created": 2, "updated": 0, "unchanged": 0}
    assert result.licences.as_dict() == {"created": 2, "updated": 0, "unchanged": 0}
    assert result.products.as_dict() == {"created": 3, "updated": 0, "unchanged": 0}
    licence = Licence.objects.get(number="鲁制00012345号")
    assert licence.manufacturer.credit_code == JINAN
    assert licence.province == shandong
    assert licence.manufacturer.province == shandong
    assert (licence.accepted_on, licence.issued_on, licence.expires_on) == (
        date(2016, 4, 20),
        date(2016, 5, 12),
        date(2019, 5, 11),
    )
    assert licence.issuing_level == IssuingLevel.PROVINCIAL
    assert licence.status == LicenceStatus.VALID
    scale = licence.products.get(model_spec="TCS-150")
    assert scale.category.name == "衡器"
    assert scale.accuracy_class == "III"  # Ⅲ, NFKC-normalised
    assert scale.type_approval_number == "2016F123-37"
    other = Licence.objects.get(number="鲁制00012346号")
    assert other.status == LicenceStatus.VALID  # empty means 有效
    assert other.accepted_on is None


def test_a_committed_import_is_recorded_as_a_batch_that_created_objects_point_to(shandong_clerk):
    data = xlsx(canonical_rows())

    result = licence_import(data=data, file_name="山东.xlsx", by=shandong_clerk)

    batch = result.batch
    assert batch.status == ImportBatchStatus.COMMITTED
    assert batch.created_by == shandong_clerk
    assert batch.province == shandong_clerk.province
    assert batch.file_name == "山东.xlsx"
    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    assert batch.rows == 3
    assert batch.counts["licences"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert batch.committed_at is not None
    assert batch.content is None
    assert set(Manufacturer.objects.values_list("import_batch", flat=True)) == {batch.pk}
    assert set(Licence.objects.values_list("import_batch", flat=True)) == {batch.pk}
    assert set(LicensedProduct.objects.values_list("import_batch", flat=True)) == {batch.pk}


def test_created_objects_get_a_creation_history_record_by_the_acting_user(shandong_clerk):
    result = run(xlsx(canonical_rows()), by=shandong_clerk)

    for model, count in ((Manufacturer, 2), (Licence, 2), (LicensedProduct, 3)):
        records = model.history.all()
        assert records.count() == count
        assert {r.history_type for r in records} == {"+"}
        assert {r.history_user for r in records} == {shandong_clerk}
        assert {r.import_batch_id for r in records} == {result.batch.pk}
        assert all(str(result.batch.pk) in r.history_change_reason for r in records)
    record = Licence.history.get(number="鲁制00012345号")
    assert record.issued_on == date(2016, 5, 12)
    assert record.instance == Licence.objects.get(number="鲁制00012345号")


def test_a_dry_run_counts_but_writes_nothing(untouched):
    result = run(xlsx(canonical_rows()), dry_run=True)

    assert result.ok
    assert result.dry_run
    assert result.batch is None
    assert result.licences.created == 2


def test_reimporting_the_same_file_changes_nothing(shandong):
    data = xlsx(canonical_rows())
    run(data)
    before = register_snapshot(), stored_register()

    result = run(data)

    assert result.ok
    assert result.manufacturers.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.licences.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.products.as_dict() == {"created": 0, "updated": 0, "unchanged": 3}
    assert result.changes == []
    assert result.batch is None  # nothing written, not even a batch
    assert (register_snapshot(), stored_register()) == before


def test_changing_one_cell_updates_exactly_that_object_with_history_by_the_acting_user(
    shandong_clerk,
):
    run(xlsx(canonical_rows()), by=shandong_clerk)
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 有效期至=date(2019, 3, 1))
    history_before = Licence.history.count()
    expires_label = str(Licence._meta.get_field("expires_on").verbose_name)

    result = run(xlsx(rows), by=shandong_clerk)

    assert result.ok
    assert result.licences.as_dict() == {"created": 0, "updated": 1, "unchanged": 1}
    assert result.manufacturers.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.products.as_dict() == {"created": 0, "updated": 0, "unchanged": 3}
    assert [(c.row, c.identity, c.fields) for c in result.changes] == [
        (4, "鲁制00012346号", {expires_label: ("2019-02-28", "2019-03-01")})
    ]
    assert Licence.objects.get(number="鲁制00012346号").expires_on == date(2019, 3, 1)
    assert Licence.history.count() == history_before + 1
    record = Licence.history.latest("history_date")
    assert record.history_type == "~"
    assert record.number == "鲁制00012346号"
    assert record.expires_on == date(2019, 3, 1)
    assert record.history_user == shandong_clerk
    assert str(result.batch.pk) in record.history_change_reason
    diff = record.diff_against(record.prev_record)
    assert [(c.field, c.old, c.new) for c in diff.changes] == [
        ("expires_on", date(2019, 2, 28), date(2019, 3, 1))
    ]
    # The licence keeps the batch that created it; the update's record names the new batch.
    assert Licence.objects.get(number="鲁制00012346号").import_batch != result.batch


def test_several_fields_of_several_objects_are_updated_in_one_import(shandong_clerk):
    run(xlsx(canonical_rows()), by=shandong_clerk)
    rows = canonical_rows()
    for index in (0, 1):
        rows[index] = with_changes(rows[index], 状态="注销", 发证层级="市级")
    rows[2] = with_changes(
        rows[2], 发证机关="青岛市质量技术监督局", 企业名称="青岛海润水表股份有限公司"
    )

    result = run(xlsx(rows), by=shandong_clerk)

    assert result.licences.as_dict() == {"created": 0, "updated": 2, "unchanged": 0}
    assert result.manufacturers.as_dict() == {"created": 0, "updated": 1, "unchanged": 1}
    first = Licence.objects.get(number="鲁制00012345号")
    assert (first.status, first.issuing_level) == (LicenceStatus.CANCELLED, IssuingLevel.MUNICIPAL)
    assert first.issuing_authority == "山东省质量技术监督局"
    second = Licence.objects.get(number="鲁制00012346号")
    assert second.issuing_authority == "青岛市质量技术监督局"
    assert second.status == LicenceStatus.VALID
    assert Manufacturer.objects.get(credit_code=QINGDAO).name == "青岛海润水表股份有限公司"
    assert first.updated_at > first.created_at
    updates = Licence.history.filter(history_type="~")
    assert {(r.number, r.status, r.issuing_authority) for r in updates} == {
        ("鲁制00012345号", LicenceStatus.CANCELLED, "山东省质量技术监督局"),
        ("鲁制00012346号", LicenceStatus.VALID, "青岛市质量技术监督局"),
    }
    assert {r.history_user for r in updates} == {shandong_clerk}
    changes = {c.identity: c.fields for c in result.changes if c.model == "licence"}
    assert changes["鲁制00012345号"] == {
        "status": ("有效", "注销"),
        "issuing level": ("省级", "市级"),
    }


def test_a_type_approval_registered_later_is_linked_on_reimport(shandong):
    run(xlsx(canonical_rows()))
    approval = TypeApproval.objects.create(
        certificate_number="2016F124-37",
        province=shandong,
        manufacturer=Manufacturer.objects.get(credit_code=JINAN),
        category=InstrumentCategory.objects.get(name="衡器"),
        product_name="电子计价秤",
        model_spec="ACS-30",
        approved_on=date(2016, 1, 5),
        issuing_department="山东省质量技术监督局",
    )

    result = run(xlsx(canonical_rows()))

    assert result.products.as_dict() == {"created": 0, "updated": 1, "unchanged": 2}
    product = LicensedProduct.objects.get(model_spec="ACS-30")
    assert product.type_approval == approval
    assert product.history.latest("history_date").type_approval_id == approval.pk


def test_a_product_change_updates_only_that_product(shandong):
    run(xlsx(canonical_rows()))
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 测量范围="(0~300)kg")

    result = run(xlsx(rows))

    assert result.products.as_dict() == {"created": 0, "updated": 1, "unchanged": 2}
    assert result.licences.updated == 0
    assert LicensedProduct.objects.get(model_spec="TCS-150").measuring_range == "(0~300)kg"
    assert LicensedProduct.history.filter(history_type="~").count() == 1


def test_import_never_deletes_what_the_file_leaves_out(shandong):
    run(xlsx(canonical_rows()))
    existing = make_licence(make_manufacturer(shandong, 77), 77, products=2)

    result = run(xlsx(canonical_rows()[:1]))

    assert result.ok
    assert result.products.as_dict() == {"created": 0, "updated": 0, "unchanged": 1}
    assert Licence.objects.count() == 3
    assert LicensedProduct.objects.count() == 5
    assert existing.products.count() == 2


def test_an_empty_optional_cell_never_blanks_a_stored_value(shandong):
    run(xlsx(canonical_rows()))
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 测量范围=None, 受理日期=None)

    result = run(xlsx(rows))

    assert result.products.unchanged == 3
    assert result.licences.unchanged == 2
    assert LicensedProduct.objects.get(model_spec="TCS-150").measuring_range == "(0~150)kg"


def test_the_type_approval_is_linked_when_the_register_holds_it(shandong):
    manufacturer = make_manufacturer(
        shandong, 12345, credit_code=JINAN, name="济南精准电子衡器有限公司"
    )
    approval = TypeApproval.objects.create(
        certificate_number="2016F123-37",
        province=shandong,
        manufacturer=manufacturer,
        category=InstrumentCategory.objects.get(name="衡器"),
        product_name="电子台秤",
        model_spec="TCS-150",
        approved_on=date(2016, 1, 5),
        issuing_department="山东省质量技术监督局",
    )

    result = run(xlsx(canonical_rows()))

    assert result.ok, result.errors
    assert LicensedProduct.objects.get(model_spec="TCS-150").type_approval == approval
    assert LicensedProduct.objects.get(model_spec="ACS-30").type_approval is None
    assert LicensedProduct.objects.get(model_spec="ACS-30").type_approval_number == "2016F124-37"


# --- Normalisation ------------------------------------------------------------------------


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_excel_numbers(shandong):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 发证日期="2016-02-30")
    data = xlsx(rows, title_rows=[["山东省计量器具制造许可证名单"], ["填报单位：山东省质监局"]])

    error = the_error(run(data))

    assert (error.row, error.column) == (6, "发证日期")


def test_headers_match_after_nfkc_spaces_stars_and_a_trailing_note(shandong):
    headers = [f"*{h}" if h == "企业名称" else h for h in HEADERS]
    headers = [f"{h}（年-月-日）" if h == "发证日期" else h for h in headers]
    headers = ["统一社会\u3000信用代码" if h == "统一社会信用代码" else h for h in headers]
    rows = [[row[h] for h in HEADERS] for row in canonical_rows()]
    reordered = list(reversed(range(len(headers))))

    result = run(xlsx([[r[i] for i in reordered] for r in rows], [headers[i] for i in reordered]))

    assert result.ok, result.errors
    assert result.licences.created == 2


def test_an_unknown_column_is_a_warning_and_ignored(shandong):
    headers = [*HEADERS, "备注"]
    rows = [with_changes(row, 备注="老客户") for row in canonical_rows()]

    result = run(xlsx(rows, headers))

    assert result.ok
    assert [w.as_dict() for w in result.warnings] == [
        {"row": 1, "column": "备注", "message": result.warnings[0].message}
    ]
    assert "备注" in result.warnings[0].message


def test_category_aliases_are_accepted(shandong):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 计量器具类别="燃气表")
    rows[1] = with_changes(rows[1], 计量器具类别="衡器（不含杆秤）")

    assert run(xlsx(rows)).ok

    assert LicensedProduct.objects.get(model_spec="LXS-15E").category.name == "煤气表"
    assert LicensedProduct.objects.get(model_spec="ACS-30").category.name == "衡器"


def test_full_width_digits_ideographic_spaces_and_a_missing_hao_are_normalised(shandong):
    run(xlsx(canonical_rows()))
    rows = canonical_rows()
    rows[0] = with_changes(
        rows[0],
        许可证编号="\u3000鲁制０００１２３４５",
        统一社会信用代码="９１３７０１００ ０００ ０１２３４５ｌ",
        企业名称="济南精准电子衡器有限公司\u3000",
        产品名称=" 电子台秤 ",
    )

    result = run(xlsx(rows))

    assert result.ok, result.errors
    assert result.licences.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
    assert result.products.as_dict() == {"created": 0, "updated": 0, "unchanged": 3}


@pytest.mark.parametrize(
    "text",
    ["2016-05-12", "2016/5/12", "2016.5.12", "2016年5月12日", "20160512", 20160512],
)
def test_dates_in_every_accepted_form_agree(shandong, text):
    run(xlsx(canonical_rows()))
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 发证日期=text)

    result = run(xlsx(rows))

    assert result.ok, result.errors
    assert result.licences.unchanged == 2


def test_rows_of_one_licence_may_write_its_dates_differently(shandong):
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 发证日期="2016/5/12")
    rows[1] = with_changes(rows[1], 发证日期="2016年5月12日")

    assert run(xlsx(rows)).ok


def test_empty_rows_are_skipped(shandong):
    rows = canonical_rows()
    data = xlsx([rows[0], {}, [None, "  ", "\u3000"], rows[1], rows[2]])

    result = run(data)

    assert result.ok, result.errors
    assert result.rows == 3


# --- Bad input: each error with its row, column and message, and the register untouched ---


def test_a_header_only_file_is_an_error(untouched):
    error = the_error(run(xlsx([])))

    assert error.row is None
    assert "no data rows" in error.message


def test_a_missing_required_column_is_named(untouched):
    headers = [h for h in HEADERS if h != "发证日期"]

    error = the_error(run(xlsx(canonical_rows(), headers)))

    assert (error.row, error.column) == (1, "发证日期")
    assert "发证日期" in error.message


def test_a_header_below_row_ten_is_not_looked_for(untouched):
    titles = [[f"说明第{n}行"] for n in range(10)]

    error = the_error(run(xlsx(canonical_rows(), title_rows=titles)))

    assert error.row is None
    assert "first ten rows" in error.message


def test_a_file_without_any_template_header_says_which_headers_are_expected(untouched):
    error = the_error(run(xlsx([["a", "b"]], ["名称", "数量"])))

    assert error.row is None
    assert "许可证编号" in error.message


def test_a_formula_cell_is_an_error(untouched):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in canonical_rows():
        sheet.append([row[h] for h in HEADERS])
    sheet["O3"] = "=N3+1095"  # 有效期至 of the second product row
    buffer = io.BytesIO()
    workbook.save(buffer)

    error = the_error(run(buffer.getvalue()))

    assert (error.row, error.column) == (3, "有效期至")
    assert "formula" in error.message


def test_a_day_month_ambiguous_date_is_an_error(untouched):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 发证日期="03/01/2016")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "发证日期")
    assert "03/01/2016" in error.message
    assert "ambiguous" in error.message


def test_an_impossible_date_is_an_error(untouched):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 发证日期="2016-02-30")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "发证日期")
    assert "2016-02-30" in error.message
    assert "29 days" in error.message


def test_expiry_before_issue_is_an_error(untouched):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 有效期至=date(2015, 2, 28))

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "有效期至")
    assert "2015-02-28" in error.message
    assert "2016-03-01" in error.message


def test_a_wrong_credit_code_check_character_is_an_error(untouched):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 统一社会信用代码="91370100000012346Q")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "统一社会信用代码")
    assert "91370100000012346Q" in error.message
    assert "“P”" in error.message  # the expected check character


def test_an_unknown_category_is_an_error(untouched):
    rows = canonical_rows()
    rows[1] = with_changes(rows[1], 计量器具类别="血压计")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (3, "计量器具类别")
    assert "血压计" in error.message
    assert "电能表" in error.message


@pytest.mark.parametrize("number", ["鲁制0001234号", "鲁字00012345号", "ABC"])
def test_a_malformed_licence_number_is_an_error(untouched, number):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 许可证编号=number)

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "许可证编号")
    assert number in error.message


def test_a_licence_number_with_an_unknown_abbreviation_is_an_error(untouched):
    rows = canonical_rows()
    rows[2] = with_changes(rows[2], 许可证编号="港制00012346号")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (4, "许可证编号")
    assert "港" in error.message


def test_a_duplicate_product_names_both_rows(untouched):
    rows = canonical_rows()
    rows.append(with_changes(rows[0], 准确度等级="Ⅱ"))

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (5, "产品名称")
    assert "Rows 2 and 5" in error.message
    assert "TCS-150" in error.message


def test_two_rows_of_one_licence_that_disagree_name_both_rows(untouched):
    rows = canonical_rows()
    rows[1] = with_changes(rows[1], 发证日期="2016-05-13")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (3, "发证日期")
    assert "Rows 2 and 3" in error.message
    assert "2016-05-12" in error.message
    assert "2016-05-13" in error.message


def test_two_rows_of_one_credit_code_with_different_names_name_both_rows(untouched):
    rows = canonical_rows()
    rows[1] = with_changes(rows[1], 企业名称="济南精准衡器公司")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (3, "企业名称")
    assert "Rows 2 and 3" in error.message
    assert "济南精准衡器公司" in error.message


def test_a_row_of_another_province_is_an_error_with_the_province_option(untouched, zhejiang):
    error = the_error(run(xlsx(canonical_rows()[2:]), province=zhejiang))

    assert (error.row, error.column) == (2, "许可证编号")
    assert "鲁制00012346号" in error.message
    assert "浙江省" in error.message


def test_a_row_of_another_province_is_an_error_for_a_provincial_user(untouched, zhejiang_clerk):
    rows = canonical_rows()[2:]
    rows.append(
        with_changes(
            rows[0],
            许可证编号="浙制00012347号",
            统一社会信用代码=HANGZHOU,
            企业名称="杭州水表有限公司",
        )
    )

    error = the_error(run(xlsx(rows), by=zhejiang_clerk))

    assert (error.row, error.column) == (2, "许可证编号")
    assert "山东省" in error.message


def test_a_national_import_may_hold_every_province(zhejiang):
    rows = canonical_rows()
    rows.append(
        with_changes(
            rows[2],
            许可证编号="浙制00012347号",
            统一社会信用代码=HANGZHOU,
            企业名称="杭州水表有限公司",
        )
    )

    result = run(xlsx(rows))

    assert result.ok, result.errors
    assert Manufacturer.objects.get(credit_code=HANGZHOU).province == zhejiang
    assert result.batch.province is None


def test_a_credit_code_registered_in_another_province_is_an_error(shandong, zhejiang):
    make_manufacturer(zhejiang, 9, credit_code=QINGDAO)
    before = register_snapshot(), stored_register()

    error = the_error(run(xlsx(canonical_rows())))

    assert (error.row, error.column) == (4, "统一社会信用代码")
    assert QINGDAO in error.message
    assert "浙江省" in error.message
    assert (register_snapshot(), stored_register()) == before


def test_a_licence_of_another_manufacturer_is_an_error_not_a_move(shandong):
    owner = make_manufacturer(shandong, 8, name="原持证企业")
    make_licence(owner, 12345, number="鲁制00012345号")
    before = register_snapshot(), stored_register()

    error = the_error(run(xlsx(canonical_rows())))

    assert (error.row, error.column) == (2, "统一社会信用代码")
    assert "原持证企业" in error.message
    assert JINAN in error.message
    assert (register_snapshot(), stored_register()) == before


def test_every_error_of_a_file_is_reported_not_only_the_first(untouched):
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 发证日期="2016-02-30")
    rows[1] = with_changes(rows[1], 计量器具类别="血压计")
    rows[2] = with_changes(rows[2], 统一社会信用代码="91370100000012346Q", 许可证编号="ABC")

    result = run(xlsx(rows))

    assert [(e.row, e.column) for e in result.errors] == [
        (2, "发证日期"),
        (3, "计量器具类别"),
        (4, "许可证编号"),
        (4, "统一社会信用代码"),
    ]
    assert result.licences.as_dict() == {"created": 0, "updated": 0, "unchanged": 0}


def test_a_required_cell_left_empty_is_an_error(untouched):
    rows = canonical_rows()
    rows[1] = with_changes(rows[1], 型号规格="  ")

    error = the_error(run(xlsx(rows)))

    assert (error.row, error.column) == (3, "型号规格")
    assert "empty" in error.message


def test_a_header_is_named_as_the_file_writes_it(untouched):
    headers = [f"{h}（年-月-日）" if h == "发证日期" else h for h in HEADERS]
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 发证日期="2016-13-01")

    error = the_error(run(xlsx([[r[h] for h in HEADERS] for r in rows], headers)))

    assert (error.row, error.column) == (2, "发证日期（年-月-日）")
    assert "month 13" in error.message


# --- Unreadable files: the readers decide, the service reports exit status 2 ---------------


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 200_000_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: b"", id="empty"),
        pytest.param(lambda: bytes(range(256)) * 40, id="random bytes"),
        pytest.param(lambda: (FIXTURES / "encrypted.xlsx").read_bytes(), id="encrypted"),
        pytest.param(zip_bomb, id="zip bomb"),
    ],
)
def test_an_unreadable_file_is_one_error_without_a_row_and_nothing_written(untouched, data):
    result = run(data())

    assert result.unreadable
    assert not result.ok
    error = the_error(result)
    assert (error.row, error.column) == (None, None)
    assert result.as_json()["rows"] == 0


def test_more_data_rows_than_the_limit_make_the_file_unreadable(untouched, monkeypatch):
    monkeypatch.setattr(service, "MAX_DATA_ROWS", 2)

    result = run(xlsx(canonical_rows()))

    assert result.unreadable
    assert the_error(result).row is None
    assert "2" in result.errors[0].message


def test_a_preview_of_an_unreadable_file_keeps_no_content(shandong_clerk):
    result, batch = import_preview(data=b"", file_name="empty.xlsx", by=shandong_clerk)

    assert result.unreadable
    assert batch.content is None
    assert batch.errors == [{"row": None, "column": None, "message": result.errors[0].message}]


def test_a_concurrent_write_of_the_same_code_is_an_error_and_nothing_is_written(
    shandong, monkeypatch
):
    real_insert = service._insert

    def insert_after_someone_else(model, names, rows, constants):
        if model is Manufacturer:
            raise IntegrityError("UNIQUE constraint failed: licensing_manufacturer.credit_code")
        return real_insert(model, names, rows, constants)

    monkeypatch.setattr(service, "_insert", insert_after_someone_else)
    before = register_snapshot()

    result = run(xlsx(canonical_rows()))

    error = the_error(result)
    assert error.row is None
    assert "changed while" in error.message
    assert result.batch is None
    assert register_snapshot() == before


# --- Equivalent files ---------------------------------------------------------------------


def test_xls_gb18030_csv_and_a_titled_xlsx_import_to_the_same_values_as_the_canonical_xlsx(
    shandong,
):
    run(xlsx(canonical_rows()))
    canonical = stored_register()
    titled = xlsx(canonical_rows(), title_rows=[["山东省计量器具制造许可证名单（2016年）"]])
    files = {
        "titled.xlsx": titled,
        "licences.csv": csv_bytes(canonical_rows()),
        "licences.xls": (FIXTURES / "licences.xls").read_bytes(),
        "utf8.csv": csv_bytes(canonical_rows(), encoding="utf-8-sig"),
    }
    for name, data in files.items():
        result = licence_import(data=data, file_name=name)
        assert result.ok, (name, result.errors)
        assert result.manufacturers.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}
        assert result.licences.as_dict() == {"created": 0, "updated": 0, "unchanged": 2}, name
        assert result.products.as_dict() == {"created": 0, "updated": 0, "unchanged": 3}, name
        assert stored_register() == canonical


@pytest.mark.parametrize(
    "name,data",
    [
        ("licences.xls", lambda: (FIXTURES / "licences.xls").read_bytes()),
        ("licences.csv", lambda: csv_bytes(canonical_rows())),
    ],
)
def test_each_format_alone_stores_the_canonical_values(shandong, name, data):
    licence_import(data=data(), file_name=name)
    from_other = stored_register()
    for model in (LicensedProduct, Licence, Manufacturer):
        model.objects.all().delete()
    ImportBatch.objects.all().delete()

    run(xlsx(canonical_rows()))

    assert stored_register() == from_other


# --- Queries ------------------------------------------------------------------------------


def generated_rows(count: int, seed: int = 0):
    """``count`` product rows: three products per licence, two licences per manufacturer."""
    rows = []
    for index in range(count):
        licence, manufacturer = index // 3, index // 6
        rows.append(
            {
                "许可证编号": f"鲁制{seed + licence:08d}号",
                "企业名称": f"山东测试计量仪器有限公司{seed + manufacturer}",
                "统一社会信用代码": credit_code(seed + manufacturer, "370100"),
                "计量器具类别": "水表",
                "产品名称": "冷水水表",
                "型号规格": f"LXS-{index}",
                "发证机关": "山东省质量技术监督局",
                "发证日期": date(2016, 5, 12),
                "有效期至": date(2019, 5, 11),
            }
        )
    return rows


def count_queries(data, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        result = run(data, **kwargs)
    assert result.ok, result.errors[:3]
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_number_of_rows(shandong_clerk):
    small, large = generated_rows(6), generated_rows(60, seed=1000)
    run(xlsx(generated_rows(1, seed=5000)), by=shandong_clerk)  # the user's permissions cached
    # Creating.
    assert count_queries(xlsx(small), by=shandong_clerk) == count_queries(
        xlsx(large), by=shandong_clerk
    )
    # Re-importing unchanged.
    assert count_queries(xlsx(small), by=shandong_clerk) == count_queries(
        xlsx(large), by=shandong_clerk
    )
    # Updating every licence and product.
    changed_small = [with_changes(r, 有效期至=date(2019, 5, 12), 准确度等级="2级") for r in small]
    changed_large = [with_changes(r, 有效期至=date(2019, 5, 12), 准确度等级="2级") for r in large]
    assert count_queries(xlsx(changed_small), by=shandong_clerk) == count_queries(
        xlsx(changed_large), by=shandong_clerk
    )


# --- Preview and confirm ------------------------------------------------------------------


def test_a_preview_keeps_the_file_and_writes_nothing_until_confirmed(shandong_clerk):
    data = xlsx(canonical_rows())

    result, batch = import_preview(data=data, file_name="名单.xlsx", by=shandong_clerk)

    assert result.ok and result.dry_run
    assert result.licences.created == 2
    assert batch.status == ImportBatchStatus.PREVIEWED
    assert bytes(ImportBatch.objects.get(pk=batch.pk).content) == data
    assert Licence.objects.count() == 0

    confirmed = import_confirm(batch=batch, by=shandong_clerk, sha256=batch.sha256)

    assert confirmed.ok and not confirmed.dry_run
    assert Licence.objects.count() == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.COMMITTED
    assert batch.content is None
    assert set(Licence.objects.values_list("import_batch", flat=True)) == {batch.pk}


def test_a_preview_with_errors_keeps_the_file_for_the_error_report(shandong_clerk):
    rows = canonical_rows()
    rows[0] = with_changes(rows[0], 发证日期="2016-02-30")

    result, batch = import_preview(data=xlsx(rows), file_name="名单.xlsx", by=shandong_clerk)

    assert not result.ok
    assert batch.errors == [e.as_dict() for e in result.errors]
    assert batch.content is not None


def test_a_confirm_by_another_user_is_refused(shandong_clerk, shandong_admin):
    _result, batch = import_preview(
        data=xlsx(canonical_rows()), file_name="x.xlsx", by=shandong_clerk
    )

    with pytest.raises(ImportRefused):
        import_confirm(batch=batch, by=shandong_admin, sha256=batch.sha256)
    assert Licence.objects.count() == 0


def test_a_confirm_with_another_hash_is_refused(shandong_clerk):
    _result, batch = import_preview(
        data=xlsx(canonical_rows()), file_name="x.xlsx", by=shandong_clerk
    )

    with pytest.raises(ImportRefused):
        import_confirm(batch=batch, by=shandong_clerk, sha256="0" * 64)
    assert Licence.objects.count() == 0


def test_a_confirm_of_a_file_changed_since_the_preview_is_refused(shandong_clerk):
    _result, batch = import_preview(
        data=xlsx(canonical_rows()), file_name="x.xlsx", by=shandong_clerk
    )
    ImportBatch.objects.filter(pk=batch.pk).update(content=xlsx(canonical_rows()[:1]))
    batch.refresh_from_db()

    with pytest.raises(ImportRefused):
        import_confirm(batch=batch, by=shandong_clerk, sha256=batch.sha256)
    assert Licence.objects.count() == 0


def test_a_batch_is_confirmed_only_once(shandong_clerk):
    _result, batch = import_preview(
        data=xlsx(canonical_rows()), file_name="x.xlsx", by=shandong_clerk
    )
    stale = ImportBatch.objects.get(pk=batch.pk)
    import_confirm(batch=batch, by=shandong_clerk, sha256=batch.sha256)

    with pytest.raises(ImportRefused):
        import_confirm(batch=stale, by=shandong_clerk, sha256=stale.sha256)
    assert Licence.objects.count() == 2


def test_a_confirm_rechecks_against_the_register_as_it_is_now(shandong_clerk, zhejiang):
    _result, batch = import_preview(
        data=xlsx(canonical_rows()), file_name="x.xlsx", by=shandong_clerk
    )
    make_manufacturer(zhejiang, 9, credit_code=QINGDAO)

    result = import_confirm(batch=batch, by=shandong_clerk, sha256=batch.sha256)

    assert not result.ok
    assert Licence.objects.count() == 0
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.HAS_ERRORS  # a preview with errors now
    assert batch.errors == [e.as_dict() for e in result.errors]


def test_a_user_without_the_import_permission_cannot_import(reviewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(xlsx(canonical_rows()), by=reviewer)


# --- Import batches are scoped like every province-owned model ----------------------------


def test_import_batches_are_seen_by_their_province_and_by_national_staff(
    shandong_clerk, zhejiang_clerk, reviewer, shandong
):
    run(xlsx(canonical_rows()), by=shandong_clerk)
    national = ImportBatch.objects.create(file_name="全国.xlsx", sha256="0" * 64)
    shandong_batch = ImportBatch.objects.get(province=shandong)

    assert list(ImportBatch.objects.for_user(shandong_clerk)) == [shandong_batch]
    assert list(ImportBatch.objects.for_user(zhejiang_clerk)) == []
    assert set(ImportBatch.objects.for_user(reviewer)) == {shandong_batch, national}


def test_a_superuser_imports_every_province(db):
    admin = make_user("root", is_superuser=True)

    result = run(xlsx(canonical_rows()), by=admin)

    assert result.ok
    assert result.batch.created_by == admin
