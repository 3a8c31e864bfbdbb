"""The manufacturer and institution imports, through the admin's upload → preview → confirm."""

from io import BytesIO

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from licensing.factories import credit_code, make_manufacturer
from licensing.importing.errors import damaged, not_a_spreadsheet
from licensing.models import (
    InstrumentCategory,
    Manufacturer,
    Province,
    TypeEvaluationInstitution,
)
from licensing.validators import credit_code_check_character

# Personas come through request.getfixturevalue: mark the module so it runs with the
# database tests, before the browser tests that flush the tables.
pytestmark = pytest.mark.django_db

MANUFACTURER_HEADER = "企业名称,统一社会信用代码,省份,企业地址,法定代表人,联系人,联系电话"
INSTITUTION_HEADER = "机构名称,省份,是否总局统一授权,授权类别"
SD_1 = credit_code(501, region="370100")
SD_2 = credit_code(502, region="370100")


def csv_file(*lines, encoding="utf-8"):
    return SimpleUploadedFile("list.csv", ("\n".join(lines) + "\n").encode(encoding))


def format_index(model):
    formats = admin.site._registry[model].get_import_formats()
    titles = [str(format_class().get_title()).lower() for format_class in formats]
    return next(str(i) for i, title in enumerate(titles) if "csv" in title)


def upload(client, model, upload_file):
    """The first step: what the import page posts. Returns the preview response."""
    url = reverse(f"admin:licensing_{model._meta.model_name}_import")
    return client.post(
        url, {"resource": "0", "format": format_index(model), "import_file": upload_file}
    )


def confirm(client, model, preview):
    """The second step: post the confirm form the preview rendered."""
    form = preview.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    url = reverse(f"admin:licensing_{model._meta.model_name}_process_import")
    return client.post(url, data)


def totals(response):
    result = response.context["result"]
    return {kind: count for kind, count in result.totals.items() if count}


def row_errors(response):
    """{data row number: {column: [messages]}} of the preview."""
    result = response.context["result"]
    return {row.number: row.error_dict for row in result.invalid_rows}


def manufacturer_row(name, code, province="山东省", phone="0531-88880000"):
    return f"{name},{code},{province},{province}济南市某路1号,张三,李四,{phone}"


# --- Manufacturers ------------------------------------------------------------------------


def test_preview_shows_the_rows_and_writes_nothing(client, shandong_admin):
    client.force_login(shandong_admin)
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER,
            manufacturer_row("济南衡器有限公司", SD_1),
            manufacturer_row("青岛水表有限公司", SD_2),
        ),
    )
    assert preview.status_code == 200
    assert totals(preview) == {"new": 2}
    content = preview.content.decode()
    assert "济南衡器有限公司" in content
    assert "青岛水表有限公司" in content
    assert "confirm_form" in preview.context
    assert not Manufacturer.objects.exists()


def test_confirm_writes_the_rows_with_history_and_log(client, shandong_admin, shandong):
    client.force_login(shandong_admin)
    lower_full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c.lower() for c in SD_1)
    preview = upload(
        client,
        Manufacturer,
        csv_file(MANUFACTURER_HEADER, manufacturer_row("济南衡器有限公司", lower_full_width)),
    )
    response = confirm(client, Manufacturer, preview)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:licensing_manufacturer_changelist")
    manufacturer = Manufacturer.objects.get()
    assert manufacturer.credit_code == SD_1  # normalised as the model does
    assert manufacturer.province == shandong
    assert manufacturer.contact_phone == "0531-88880000"
    record = manufacturer.history.get()
    assert record.history_type == "+"
    assert record.history_user == shandong_admin
    assert LogEntry.objects.filter(user=shandong_admin, object_id=str(manufacturer.pk)).exists()


def test_headers_and_title_rows_are_read_as_in_a_licence_list(client, shandong_admin):
    client.force_login(shandong_admin)
    header = "*企业名称, 统一社会信用代码（18位）,*省份,企业地址,法定代表人,联系人,联系电话"
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            "山东省制造计量器具许可企业名单,,,,,,",
            "（2016年10月）,,,,,,",
            header,
            manufacturer_row("济南衡器有限公司", SD_1),
            ",,,,,,",  # an empty line is not a row with every value missing
            manufacturer_row("青岛水表有限公司", SD_2),
        ),
    )
    assert totals(preview) == {"new": 2}
    assert not row_errors(preview)
    confirm(client, Manufacturer, preview)
    assert Manufacturer.objects.count() == 2


def test_a_missing_identifying_column_is_named_without_a_traceback(client, shandong_admin):
    client.force_login(shandong_admin)
    preview = upload(client, Manufacturer, csv_file("企业名称,省份", "济南衡器有限公司,山东省"))
    assert preview.context["result"].has_errors()
    assert "confirm_form" not in preview.context
    content = preview.content.decode()
    assert "统一社会信用代码" in content
    assert "Traceback" not in content
    assert 'File "' not in content
    assert not Manufacturer.objects.exists()


def xlsx_file(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("list.xlsx", buffer.getvalue())


def test_xlsx_is_read_and_formula_cells_are_row_errors(client, shandong_admin):
    client.force_login(shandong_admin)
    header = MANUFACTURER_HEADER.split(",")
    preview = upload(
        client,
        Manufacturer,
        xlsx_file(
            [
                header,
                ["济南衡器有限公司", SD_1, "山东省", "", "", "", 13800138000],
                ["青岛水表有限公司", SD_2, "山东省", "", "", "", "=A1&A2"],
            ]
        ),
    )
    errors = row_errors(preview)
    assert list(errors) == [2]
    (message,) = errors[2]["联系电话"]
    assert "=A1&A2" in message
    assert "confirm_form" not in preview.context

    fixed = upload(
        client,
        Manufacturer,
        xlsx_file([header, ["济南衡器有限公司", SD_1, "山东省", "", "", "", 13800138000]]),
    )
    confirm(client, Manufacturer, fixed)
    assert Manufacturer.objects.get().contact_phone == "13800138000"  # not 13800138000.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PK\x03\x04 not really a workbook", damaged()),
        (bytes(range(256)) * 4, not_a_spreadsheet()),
    ],
)
def test_an_unreadable_file_gets_the_readers_plain_message(
    client, shandong_admin, content, expected
):
    client.force_login(shandong_admin)
    response = upload(client, Manufacturer, SimpleUploadedFile("list.xlsx", content))
    assert response.status_code == 200
    assert "result" not in response.context
    # Not the library's "'UnreadableFile' encountered while trying to read file".
    assert response.context["form"].errors["import_file"] == [str(expected)]


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(
    client, shandong_admin, settings
):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    client.force_login(shandong_admin)
    response = upload(
        client,
        Manufacturer,
        csv_file(MANUFACTURER_HEADER, *[manufacturer_row("济南衡器有限公司", SD_1)] * 5),
    )
    (message,) = response.context["form"].errors["import_file"]
    assert "MB" in message
    assert "result" not in response.context


def test_an_export_can_be_imported_again(client, shandong_admin, shandong):
    make_manufacturer(shandong, 501, contact_phone="1")
    client.force_login(shandong_admin)
    # The export's headers (verbose names), with one value edited.
    header = "制造单位名称,统一社会信用代码,省份,地址,法定代表人,联系人,联系电话"
    preview = upload(
        client,
        Manufacturer,
        csv_file(header, manufacturer_row("山东测试计量仪器有限公司501", SD_1)),
    )
    assert totals(preview) == {"update": 1}
    confirm(client, Manufacturer, preview)
    assert Manufacturer.objects.get().contact_phone == "0531-88880000"


def test_provincial_user_cannot_import_a_row_of_another_province(client, zhejiang_clerk):
    client.force_login(zhejiang_clerk)
    zj_code = credit_code(601, region="330100")
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER,
            manufacturer_row("杭州电能表有限公司", zj_code, province="浙江省"),
            manufacturer_row("济南衡器有限公司", SD_1, province="山东省"),
        ),
    )
    errors = row_errors(preview)
    assert list(errors) == [2]
    (message,) = errors[2]["省份"]
    assert "山东省" in message
    assert "confirm_form" not in preview.context
    assert message in preview.content.decode()
    assert not Manufacturer.objects.exists()


def test_a_credit_code_of_another_province_is_refused_not_moved(client, shandong_admin, zhejiang):
    other = make_manufacturer(zhejiang, 701)
    client.force_login(shandong_admin)
    preview = upload(
        client,
        Manufacturer,
        csv_file(MANUFACTURER_HEADER, manufacturer_row("换个名字有限公司", other.credit_code)),
    )
    errors = row_errors(preview)
    assert list(errors) == [1]
    assert "统一社会信用代码" in errors[1]
    assert "confirm_form" not in preview.context
    other.refresh_from_db()
    assert other.province == zhejiang
    assert other.name != "换个名字有限公司"


def test_a_wrong_check_character_is_a_row_error(client, shandong_admin):
    client.force_login(shandong_admin)
    wrong = SD_1[:17] + ("0" if SD_1[17] != "0" else "1")
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER,
            manufacturer_row("济南衡器有限公司", SD_2),
            manufacturer_row("错误代码有限公司", wrong),
        ),
    )
    errors = row_errors(preview)
    assert list(errors) == [2]
    (message,) = errors[2]["统一社会信用代码"]
    assert f"“{credit_code_check_character(SD_1[:17])}”" in message  # names the right character
    assert "confirm_form" not in preview.context
    assert not Manufacturer.objects.exists()


def test_reimport_unchanged_is_skipped_and_writes_no_history(client, shandong_admin):
    client.force_login(shandong_admin)
    lines = (
        MANUFACTURER_HEADER,
        manufacturer_row("济南衡器有限公司", SD_1),
        manufacturer_row("青岛水表有限公司", SD_2),
    )
    confirm(client, Manufacturer, upload(client, Manufacturer, csv_file(*lines)))
    stamps = dict(Manufacturer.objects.values_list("credit_code", "updated_at"))
    history = Manufacturer.history.count()
    log_entries = LogEntry.objects.count()

    again = upload(client, Manufacturer, csv_file(*lines))
    assert totals(again) == {"skip": 2}
    confirm(client, Manufacturer, again)

    assert dict(Manufacturer.objects.values_list("credit_code", "updated_at")) == stamps
    assert Manufacturer.history.count() == history
    assert LogEntry.objects.count() == log_entries


def test_a_changed_row_is_an_update_with_its_history(client, shandong_admin, shandong):
    manufacturer = make_manufacturer(shandong, 501, name="济南衡器有限公司")
    client.force_login(shandong_admin)
    preview = upload(
        client,
        Manufacturer,
        csv_file(MANUFACTURER_HEADER, manufacturer_row("济南衡器有限公司", SD_1, phone="110")),
    )
    assert totals(preview) == {"update": 1}
    confirm(client, Manufacturer, preview)
    manufacturer.refresh_from_db()
    assert manufacturer.contact_phone == "110"
    assert manufacturer.history.latest().history_user == shandong_admin


def test_confirm_writes_nothing_when_a_row_turned_invalid_since_the_preview(
    client, shandong_admin, zhejiang
):
    client.force_login(shandong_admin)
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER,
            manufacturer_row("济南衡器有限公司", SD_1),
            manufacturer_row("青岛水表有限公司", SD_2),
        ),
    )
    assert totals(preview) == {"new": 2}
    make_manufacturer(zhejiang, 9, credit_code=SD_2)  # registered elsewhere in the meantime

    response = confirm(client, Manufacturer, preview)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:licensing_manufacturer_import")
    assert list(Manufacturer.objects.values_list("credit_code", flat=True)) == [SD_2]
    assert not LogEntry.objects.exists()


def test_the_confirm_applies_the_scope_of_the_user_who_confirms(
    client, shandong_admin, zhejiang_clerk
):
    client.force_login(shandong_admin)
    preview = upload(
        client, Manufacturer, csv_file(MANUFACTURER_HEADER, manufacturer_row("济南衡器", SD_1))
    )
    client.force_login(zhejiang_clerk)  # posts the 山东 user's confirm form
    confirm(client, Manufacturer, preview)
    assert not Manufacturer.objects.exists()


def test_gb18030_csv_is_read(client, shandong_admin):
    client.force_login(shandong_admin)
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER, manufacturer_row("济南衡器有限公司", SD_1), encoding="gb18030"
        ),
    )
    assert totals(preview) == {"new": 1}
    confirm(client, Manufacturer, preview)
    assert Manufacturer.objects.get().name == "济南衡器有限公司"


@pytest.mark.parametrize(
    ("persona", "model"),
    [
        ("reviewer", Manufacturer),  # sees every province, edits none
        ("shandong_admin", TypeEvaluationInstitution),  # national reference data
        ("zhejiang_clerk", TypeEvaluationInstitution),
    ],
)
def test_import_without_the_permission_is_forbidden(client, request, persona, model):
    client.force_login(request.getfixturevalue(persona))
    name = model._meta.model_name
    assert client.get(reverse(f"admin:licensing_{name}_import")).status_code == 403
    header = MANUFACTURER_HEADER if model is Manufacturer else INSTITUTION_HEADER
    assert upload(client, model, csv_file(header)).status_code == 403
    response = client.post(
        reverse(f"admin:licensing_{name}_process_import"),
        {"import_file_name": "x", "original_file_name": "x.csv", "format": "0", "resource": "0"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("persona", "shows_import"), [("shandong_admin", True), ("reviewer", False)]
)
def test_manufacturer_list_offers_import_only_with_the_permission_and_keeps_export(
    client, request, persona, shows_import
):
    client.force_login(request.getfixturevalue(persona))
    content = client.get(reverse("admin:licensing_manufacturer_changelist")).content.decode()
    assert (reverse("admin:licensing_manufacturer_import") in content) is shows_import
    assert reverse("admin:licensing_manufacturer_export") in content


# --- Institutions -------------------------------------------------------------------------


def test_reviewer_imports_institutions_with_their_categories(client, reviewer):
    client.force_login(reviewer)
    preview = upload(
        client,
        TypeEvaluationInstitution,
        csv_file(
            INSTITUTION_HEADER,
            "中国计量科学研究院,北京市,是,电能表、水表",
            '山东省计量科学研究院,山东,否,"燃气表，热量表；衡器（不含杆秤）"',
            "浙江省计量科学研究院,浙江省,是,",
        ),
    )
    assert totals(preview) == {"new": 3}
    assert not TypeEvaluationInstitution.objects.exists()
    confirm(client, TypeEvaluationInstitution, preview)

    institutions = {
        institution.name: institution
        for institution in TypeEvaluationInstitution.objects.prefetch_related("categories")
    }
    national = institutions["中国计量科学研究院"]
    assert national.province == Province.objects.get(code="11")
    assert national.uniformly_authorised is True
    assert {c.code for c in national.categories.all()} == {"electricity-meter", "water-meter"}
    shandong = institutions["山东省计量科学研究院"]
    assert shandong.province.code == "37"  # "山东" names 山东省
    assert shandong.uniformly_authorised is False
    assert {c.code for c in shandong.categories.all()} == {
        "gas-meter",
        "heat-meter",
        "weighing-instrument",
    }
    assert not institutions["浙江省计量科学研究院"].categories.exists()


def test_institution_reimport_is_skipped_and_changed_categories_update(client, reviewer):
    client.force_login(reviewer)
    lines = [INSTITUTION_HEADER, "中国计量科学研究院,北京市,是,电能表、水表"]
    confirm(
        client,
        TypeEvaluationInstitution,
        upload(client, TypeEvaluationInstitution, csv_file(*lines)),
    )

    again = upload(
        client,
        TypeEvaluationInstitution,
        csv_file(INSTITUTION_HEADER, '中国计量科学研究院,北京市,是,"水表,电能表"'),
    )
    assert totals(again) == {"skip": 1}

    changed = upload(
        client,
        TypeEvaluationInstitution,
        csv_file(INSTITUTION_HEADER, "中国计量科学研究院,北京市,是,水表"),
    )
    assert totals(changed) == {"update": 1}
    confirm(client, TypeEvaluationInstitution, changed)
    institution = TypeEvaluationInstitution.objects.get()
    assert list(institution.categories.values_list("name", flat=True)) == ["水表"]


def test_institution_rows_with_unknown_values_are_row_errors(client, reviewer):
    client.force_login(reviewer)
    preview = upload(
        client,
        TypeEvaluationInstitution,
        csv_file(
            INSTITUTION_HEADER,
            "甲研究院,北京市,是,水表、压力表",
            "乙研究院,北京市,也许,水表",
            "丙研究院,火星省,是,水表",
            "丁研究院,北京市,是,水表",
        ),
    )
    errors = row_errors(preview)
    assert sorted(errors) == [1, 2, 3]
    assert "压力表" in errors[1]["授权类别"][0]
    assert "也许" in errors[2]["是否总局统一授权"][0]
    assert "火星省" in errors[3]["省份"][0]
    assert "confirm_form" not in preview.context
    assert not TypeEvaluationInstitution.objects.exists()
    assert InstrumentCategory.objects.count() == 9
