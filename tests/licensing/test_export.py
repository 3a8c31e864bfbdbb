"""Exports of the Manufacturer and Licence changelists (django-import-export)."""

import csv
import io
import re
from datetime import UTC, datetime
from urllib.parse import quote

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.http import content_disposition_header

from licensing.exports import SafeCSV, SafeXLSX
from licensing.factories import make_licence, make_manufacturer
from licensing.importing.columns import COLUMNS
from licensing.models import Licence, Manufacturer
from tests.conftest import make_user

FORMULAE = ["==1+1", "@SUM(1)", "+1", "-1", "\tx", "\rx"]

MODELS = {"manufacturer": Manufacturer, "licence": Licence}


def export_url(model_name):
    return f"/admin/licensing/{model_name}/export/"


def changelist_url(model_name):
    return f"/admin/licensing/{model_name}/"


def model_admin(model_name):
    return admin.site._registry[MODELS[model_name]]


def format_index(model_name, format_class):
    formats = model_admin(model_name).get_export_formats()
    return str(formats.index(format_class))


def export_form_data(model_name, format_class, export_items=None):
    """What the export page posts: resource, format index, and every field ticked."""
    (resource,) = model_admin(model_name).get_export_resource_classes(request=None)
    data = {"resource": "0", "format": format_index(model_name, format_class)}
    for field in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{field}"] = "on"
    if export_items is not None:
        data["export_items"] = [str(pk) for pk in export_items]
    return data


def post_export(client, model_name, format_class, export_items=None):
    response = client.post(
        export_url(model_name), export_form_data(model_name, format_class, export_items)
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def body(response) -> bytes:
    """The file's bytes: exports are streamed (read once; kept for a second look)."""
    if not hasattr(response, "_export_body"):
        response._export_body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        )
    return response._export_body


def xlsx_sheet(response):
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert re.search(r'\.xlsx"?$', response["Content-Disposition"])
    return openpyxl.load_workbook(io.BytesIO(body(response))).active


def xlsx_rows(response):
    return [[cell.value for cell in row] for row in xlsx_sheet(response).iter_rows()]


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    assert re.search(r'\.csv"?$', response["Content-Disposition"])
    assert body(response).startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads UTF-8
    text = body(response).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def rows_of(response, format_class):
    return xlsx_rows(response) if format_class is SafeXLSX else csv_rows(response)


def column(rows, header):
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def action_names(response):
    action_form = response.context["action_form"]  # None when the user has no action at all
    return set(dict(action_form.fields["action"].choices)) if action_form else set()


def verbose(model, field):
    return str(model._meta.get_field(field).verbose_name)


@pytest.fixture
def exporter_without_permission(shandong):
    """A 山东 user who may view the register but not export it."""
    user = make_user("sd_viewer", province=shandong)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="licensing",
            codename__in=["view_licence", "view_manufacturer", "view_licensedproduct"],
        )
    )
    return user


# Formats, scope, headers


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_shandong_admin_exports_only_shandong_licences(
    client, shandong_admin, shandong_licence, zhejiang_licence, format_class
):
    client.force_login(shandong_admin)
    rows = rows_of(post_export(client, "licence", format_class), format_class)
    numbers = column(rows, verbose(Licence, "number"))
    assert numbers == [shandong_licence.number]


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_shandong_admin_exports_only_shandong_manufacturers(
    client, shandong_admin, shandong_licence, zhejiang_licence, format_class
):
    client.force_login(shandong_admin)
    rows = rows_of(post_export(client, "manufacturer", format_class), format_class)
    codes = column(rows, verbose(Manufacturer, "credit_code"))
    assert codes == [shandong_licence.manufacturer.credit_code]


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_reviewer_exports_every_province(
    client, reviewer, shandong_licence, zhejiang_licence, model_name, format_class
):
    client.force_login(reviewer)
    rows = rows_of(post_export(client, model_name, format_class), format_class)
    codes = column(rows, verbose(Manufacturer, "credit_code"))
    assert sorted(codes) == sorted(
        [shandong_licence.manufacturer.credit_code, zhejiang_licence.manufacturer.credit_code]
    )


def test_zhejiang_clerk_exports_only_zhejiang_licences(
    client, zhejiang_clerk, shandong_licence, zhejiang_licence
):
    client.force_login(zhejiang_clerk)
    rows = rows_of(post_export(client, "licence", SafeXLSX), SafeXLSX)
    assert column(rows, verbose(Licence, "number")) == [zhejiang_licence.number]


def test_licence_export_lists_the_licence_and_its_products(
    client, shandong_clerk, shandong_licence
):
    client.force_login(shandong_clerk)
    (row,) = xlsx_rows(post_export(client, "licence", SafeXLSX))[1:]
    manufacturer = shandong_licence.manufacturer
    assert row[:4] == [
        shandong_licence.number,
        manufacturer.name,
        manufacturer.credit_code,
        "山东省",
    ]
    # Real date cells, not text, so Excel sorts and filters them as dates.
    assert row[6].date() == shandong_licence.accepted_on
    assert row[7].date() == shandong_licence.issued_on
    assert row[8].date() == shandong_licence.expires_on
    products = row[10].split("；")
    assert len(products) == 2
    for product in shandong_licence.products.all():
        assert f"{product.category.name} {product.product_name} {product.model_spec}" in products


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_licence_export_headers_are_the_import_templates(
    client, shandong_clerk, shandong_licence, format_class
):
    """The template's own header names (one source, licensing/importing/columns.py); the two
    columns the template has not, in Chinese."""
    client.force_login(shandong_clerk)
    rows = rows_of(post_export(client, "licence", format_class), format_class)
    assert rows[0] == [
        "许可证编号",
        "企业名称",
        "统一社会信用代码",
        "发证省份",
        "发证机关",
        "发证层级",
        "受理日期",
        "发证日期",
        "有效期至",
        "状态",
        "许可产品",
    ]
    template = {column.header for column in COLUMNS}
    assert set(rows[0]) - template == {"发证省份", "许可产品"}


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_manufacturer_export_headers_are_the_import_templates_then_chinese_field_names(
    client, shandong_clerk, shandong_licence, format_class
):
    client.force_login(shandong_clerk)
    rows = rows_of(post_export(client, "manufacturer", format_class), format_class)
    with translation.override("zh-hans"):
        expected = [
            "企业名称",
            "统一社会信用代码",
            verbose(Manufacturer, "province"),
            "企业地址",
            *(
                verbose(Manufacturer, field)
                for field in ["legal_representative", "contact_person", "contact_phone"]
            ),
        ]
    assert rows[0] == expected


def test_csv_licence_export_writes_iso_dates_and_nothing_for_a_missing_one(
    client, shandong_clerk, shandong
):
    licence = make_licence(make_manufacturer(shandong, 13), 13, accepted_on=None)
    client.force_login(shandong_clerk)
    (row,) = csv_rows(post_export(client, "licence", SafeCSV))[1:]
    assert row[6:9] == ["", licence.issued_on.isoformat(), licence.expires_on.isoformat()]


@pytest.mark.parametrize(
    ("model_name", "format_class", "title"),
    [
        ("licence", SafeXLSX, "Licence roster"),
        ("licence", SafeCSV, "Licence roster"),
        ("manufacturer", SafeXLSX, "Manufacturer roster"),
    ],
)
def test_export_file_is_named_for_the_list_with_the_local_date(
    client, shandong_clerk, shandong_licence, monkeypatch, model_name, format_class, title
):
    # 2016-10-31 17:30 UTC is already 2016-11-01 in Asia/Shanghai.
    moment = datetime(2016, 10, 31, 17, 30, tzinfo=UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    client.force_login(shandong_clerk)
    response = post_export(client, model_name, format_class)
    body(response)
    with translation.override("zh-hans"):
        name = f"{translation.gettext(title)}-2016-11-01.{format_class().get_extension()}"
    assert response["Content-Disposition"] == content_disposition_header(True, name)


@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_a_chinese_file_name_is_sent_as_rfc_5987_says(
    client, shandong_clerk, shandong_licence, monkeypatch, format_class
):
    monkeypatch.setattr(model_admin("licence"), "export_file_title", "许可证名单")
    client.force_login(shandong_clerk)
    response = post_export(client, "licence", format_class)
    body(response)
    name = f"许可证名单-{timezone.localdate():%Y-%m-%d}.{format_class().get_extension()}"
    # The UTF-8 name percent-encoded in filename*, which browsers prefer to filename.
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"


# The admin action


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_export_action_is_offered_to_a_user_with_the_export_permission(
    client, shandong_clerk, model_name
):
    client.force_login(shandong_clerk)
    response = client.get(changelist_url(model_name))
    assert "export_admin_action" in action_names(response)
    assert response.context["has_export_permission"] is True


def test_export_action_exports_the_selected_licences(client, shandong_admin, shandong):
    wanted = make_licence(make_manufacturer(shandong, 11), 11)
    other = make_licence(make_manufacturer(shandong, 12), 12)
    client.force_login(shandong_admin)
    response = client.post(
        changelist_url("licence"),
        {"action": "export_admin_action", "_selected_action": [wanted.pk]},
    )
    assert response.status_code == 200
    assert response.context["export_url"] == export_url("licence")
    assert list(response.context["form"].initial["export_items"]) == [wanted.pk]

    rows = xlsx_rows(post_export(client, "licence", SafeXLSX, export_items=[wanted.pk]))
    numbers = column(rows, verbose(Licence, "number"))
    assert numbers == [wanted.number]
    assert other.number not in numbers


def test_export_action_cannot_reach_another_provinces_licence(
    client, shandong_admin, shandong_licence, zhejiang_licence
):
    client.force_login(shandong_admin)
    refused = client.post(
        export_url("licence"),
        export_form_data(
            "licence", SafeCSV, export_items=[shandong_licence.pk, zhejiang_licence.pk]
        ),
    )
    assert "Content-Disposition" not in refused  # the form comes back: not a valid choice
    assert zhejiang_licence.number not in refused.content.decode()
    response = post_export(client, "licence", SafeCSV, export_items=[shandong_licence.pk])
    numbers = column(csv_rows(response), verbose(Licence, "number"))
    assert numbers == [shandong_licence.number]


# Permission


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_export_view_is_forbidden_without_the_export_permission(
    client, exporter_without_permission, shandong_licence, model_name
):
    client.force_login(exporter_without_permission)
    assert client.get(changelist_url(model_name)).status_code == 200
    assert client.get(export_url(model_name)).status_code == 403
    response = client.post(export_url(model_name), export_form_data(model_name, SafeCSV))
    assert response.status_code == 403


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_export_action_is_not_offered_without_the_export_permission(
    client, exporter_without_permission, shandong_licence, model_name
):
    client.force_login(exporter_without_permission)
    response = client.get(changelist_url(model_name))
    assert "export_admin_action" not in action_names(response)
    assert response.context["has_export_permission"] is False

    pk = shandong_licence.pk if model_name == "licence" else shandong_licence.manufacturer.pk
    response = client.post(
        changelist_url(model_name),
        {"action": "export_admin_action", "_selected_action": [pk]},
    )
    # Neither a file nor the export form: the user is back on the list (or sent to it).
    assert response.status_code in (200, 302)
    assert "Content-Disposition" not in response
    if response.status_code == 200:
        assert "export_url" not in response.context
        assert "admin/import_export/export.html" not in [t.name for t in response.templates]


def test_export_permission_of_one_model_does_not_open_the_other(client, shandong):
    user = make_user("sd_licence_exporter", province=shandong)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="licensing",
            codename__in=["view_licence", "view_manufacturer", "export_licence"],
        )
    )
    client.force_login(user)
    assert client.get(export_url("licence")).status_code == 200
    assert client.get(export_url("manufacturer")).status_code == 403


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
def test_anonymous_visitor_is_sent_to_the_login_page_from_the_export_view(client, model_name):
    response = client.post(export_url(model_name), export_form_data(model_name, SafeCSV))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# Formula neutralisation


@pytest.fixture
def formula_manufacturers(shandong):
    """山东 manufacturers whose name and address would run as spreadsheet formulae."""
    manufacturers = []
    for seed, text in enumerate(FORMULAE, start=500):
        manufacturer = make_manufacturer(shandong, seed, name=text, address=text)
        make_licence(manufacturer, seed)
        manufacturers.append(manufacturer)
    make_manufacturer(shandong, 599, name="济南计量仪器厂", address="济南市历下区经十路1号")
    return manufacturers


@pytest.mark.parametrize(
    ("model_name", "headers"),
    [
        ("manufacturer", ["企业名称", "企业地址"]),
        ("licence", ["企业名称"]),
    ],
)
def test_xlsx_export_writes_formula_like_values_as_exact_text(
    client, shandong_clerk, formula_manufacturers, model_name, headers
):
    client.force_login(shandong_clerk)
    sheet = xlsx_sheet(post_export(client, model_name, SafeXLSX))
    header_row = [cell.value for cell in sheet[1]]
    for header in headers:
        index = header_row.index(header)
        cells = [row[index] for row in sheet.iter_rows(min_row=2)]
        formula_cells = [cell for cell in cells if cell.value in FORMULAE]
        assert sorted(cell.value for cell in formula_cells) == sorted(FORMULAE)
        for cell in formula_cells:
            assert cell.data_type == "s", repr(cell.value)


@pytest.mark.parametrize(
    ("model_name", "headers"),
    [
        ("manufacturer", ["企业名称", "企业地址"]),
        ("licence", ["企业名称"]),
    ],
)
def test_csv_export_prefixes_formula_like_values_with_an_apostrophe(
    client, shandong_clerk, formula_manufacturers, model_name, headers
):
    client.force_login(shandong_clerk)
    rows = csv_rows(post_export(client, model_name, SafeCSV))
    for header in headers:
        values = column(rows, header)
        escaped = [value for value in values if value.startswith("'")]
        assert sorted(escaped) == sorted("'" + text for text in FORMULAE)
        assert not any(value in FORMULAE for value in values)


def test_csv_export_leaves_ordinary_text_alone(client, shandong_clerk, formula_manufacturers):
    client.force_login(shandong_clerk)
    rows = csv_rows(post_export(client, "manufacturer", SafeCSV))
    assert "济南计量仪器厂" in column(rows, "企业名称")
    assert "济南市历下区经十路1号" in column(rows, "企业地址")


def test_xlsx_export_replaces_characters_xml_cannot_hold(client, shandong_clerk, shandong):
    make_manufacturer(
        shandong, 600, name="甲\x0b乙", address="丙\x1f丁"
    )  # no NUL: PostgreSQL text cannot hold it
    client.force_login(shandong_clerk)
    rows = xlsx_rows(post_export(client, "manufacturer", SafeXLSX))
    assert rows[1][0] == "甲\ufffd乙"
    assert rows[1][3] == "丙\ufffd丁"


# Query counts


def export_query_count(client, model_name, format_class):
    with CaptureQueriesContext(connection) as queries:
        post_export(client, model_name, format_class)
    return len(queries)


@pytest.mark.parametrize("model_name", ["licence", "manufacturer"])
@pytest.mark.parametrize("format_class", [SafeXLSX, SafeCSV])
def test_export_makes_as_many_queries_for_30_licences_as_for_3(
    client, shandong_admin, shandong, django_assert_max_num_queries, model_name, format_class
):
    for seed in range(3):
        make_licence(make_manufacturer(shandong, 700 + seed), 700 + seed, products=2)
    client.force_login(shandong_admin)
    few = export_query_count(client, model_name, format_class)

    for seed in range(3, 30):
        make_licence(make_manufacturer(shandong, 700 + seed), 700 + seed, products=2)
    with django_assert_max_num_queries(few):
        response = post_export(client, model_name, format_class)
    assert len(rows_of(response, format_class)) == 31
