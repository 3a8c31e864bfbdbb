"""A product's type approval is its licence's manufacturer's: one rule for model, admin and import."""

from datetime import date
from html.parser import HTMLParser

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from licensing.admin import LicensedProductInline
from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.importing.service import licence_import
from licensing.models import InstrumentCategory, Licence, LicensedProduct, TypeApproval
from licensing.validators import validate_type_approval_owner
from tests.licensing.import_files import xlsx
from tests.licensing.test_admin_scoping import _licence_post

SHANDONG_CERTIFICATE = "2016H863-37"


def make_approval(manufacturer, certificate_number, **fields) -> TypeApproval:
    defaults = {
        "certificate_number": certificate_number,
        "province": manufacturer.province,
        "manufacturer": manufacturer,
        "category": InstrumentCategory.objects.get(name="水表"),
        "product_name": "旋翼式水表",
        "model_spec": f"LXS-{certificate_number}",
        "approved_on": date(2016, 1, 5),
        "issuing_department": f"{manufacturer.province.name}质量技术监督局",
    }
    defaults.update(fields)
    return TypeApproval.objects.create(**defaults)


@pytest.fixture
def shandong_approval(shandong):
    """山东's certificate 2016H863-37, of a 山东 manufacturer."""
    return make_approval(make_manufacturer(shandong, 3701), SHANDONG_CERTIFICATE)


def other_manufacturers_error(error: ValidationError, field="type_approval") -> ValidationError:
    [found] = error.error_dict[field]
    assert found.code == "type_approval_other_manufacturer"
    return found


# --- The rule -----------------------------------------------------------------------------


def test_the_rule_names_the_certificate_and_the_licences_manufacturer_not_the_owner():
    with pytest.raises(ValidationError) as raised:
        validate_type_approval_owner(
            SHANDONG_CERTIFICATE,
            "91370100000003701X",
            manufacturer_name="浙江测试计量仪器有限公司",
            manufacturer_credit_code="91330100000002001Y",
        )

    assert raised.value.code == "type_approval_other_manufacturer"
    [message] = raised.value.messages
    assert SHANDONG_CERTIFICATE in message
    assert "浙江测试计量仪器有限公司" in message
    assert "91330100000002001Y" in message
    assert "91370100000003701X" not in message


def test_the_rule_accepts_the_manufacturers_own_certificate():
    validate_type_approval_owner(
        SHANDONG_CERTIFICATE,
        "91370100000003701X",
        manufacturer_name="山东测试计量仪器有限公司",
        manufacturer_credit_code="91370100000003701X",
    )


# --- The model ----------------------------------------------------------------------------


def test_a_product_cannot_name_another_manufacturers_type_approval(
    zhejiang_licence, shandong_approval
):
    product = zhejiang_licence.products.first()
    product.type_approval = shandong_approval

    with pytest.raises(ValidationError) as raised:
        product.full_clean()

    message = other_manufacturers_error(raised.value).messages[0]
    manufacturer = zhejiang_licence.manufacturer
    assert SHANDONG_CERTIFICATE in message
    assert manufacturer.name in message
    assert manufacturer.credit_code in message
    assert shandong_approval.manufacturer.name not in message
    assert shandong_approval.manufacturer.credit_code not in message


def test_a_product_cannot_name_the_type_approval_of_another_manufacturer_of_its_province(
    shandong_licence, shandong_approval
):
    product = shandong_licence.products.first()
    product.type_approval = shandong_approval

    with pytest.raises(ValidationError) as raised:
        product.full_clean()

    other_manufacturers_error(raised.value)


def test_a_product_may_name_its_own_manufacturers_type_approval(
    shandong_licence, django_assert_num_queries
):
    approval = make_approval(shandong_licence.manufacturer, "2016F001-37")
    product = LicensedProduct.objects.select_related("licence__manufacturer").get(
        pk=shandong_licence.products.first().pk
    )
    product.type_approval = approval

    with django_assert_num_queries(0):
        product.clean()


def test_a_product_without_a_licence_manufacturer_or_type_approval_is_not_compared(
    shandong_approval,
):
    LicensedProduct(type_approval=shandong_approval).clean()
    LicensedProduct(licence=None, type_approval=shandong_approval).clean()
    LicensedProduct(licence=Licence(), type_approval=shandong_approval).clean()
    LicensedProduct(licence=Licence()).clean()


# --- The admin ----------------------------------------------------------------------------


class _PageForm(HTMLParser):
    """The fields of the page's form with this id, as a browser would submit them."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.select = form_id, False, None
        self.fields: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        if not self.inside or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "file"):
            if attributes.get("type") not in ("checkbox", "radio") or "checked" in attributes:
                self.fields[name] = attributes.get("value", "")
        elif tag == "select" and name:
            self.select = name
            self.options[name] = []
        elif tag == "option" and self.select:
            value = attributes.get("value", "")
            self.options[self.select].append(value)
            if "selected" in attributes or len(self.options[self.select]) == 1:
                self.fields[self.select] = value
        elif tag == "textarea" and name:
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def page_form(response, form_id="licence_form") -> _PageForm:
    parser = _PageForm(form_id)
    parser.feed(response.content.decode())
    assert parser.fields, f"no form {form_id} on the page"
    return parser


def row_of(formset, product):
    [form] = [form for form in formset.forms if form.instance.pk == product.pk]
    return form


def stored_links(licence):
    return dict(licence.products.values_list("pk", "type_approval_id"))


def test_picking_another_manufacturers_type_approval_in_the_licence_form_is_refused(
    client, shandong_admin, shandong_licence, shandong_approval
):
    url = reverse("admin:licensing_licence_change", args=[shandong_licence.pk])
    client.force_login(shandong_admin)
    form = page_form(client.get(url))
    product = shandong_licence.products.order_by("pk").first()
    prefix = next(
        name.removesuffix("-id")
        for name, value in form.fields.items()
        if name.endswith("-id") and value == str(product.pk)
    )
    before = stored_links(shandong_licence)

    response = client.post(
        url, {**form.fields, f"{prefix}-type_approval": str(shandong_approval.pk)}
    )

    assert response.status_code == 200
    row = row_of(response.context["inline_admin_formsets"][0].formset, product)
    assert [error.code for error in row.errors.as_data()["type_approval"]] == [
        "type_approval_other_manufacturer"
    ]
    assert SHANDONG_CERTIFICATE in response.content.decode()
    assert stored_links(shandong_licence) == before


def test_resaving_a_licence_keeps_another_provinces_link_and_shows_the_error_on_its_row(
    client, zhejiang_clerk, zhejiang_licence, shandong_approval
):
    wrong = zhejiang_licence.products.order_by("pk").first()
    LicensedProduct.objects.filter(pk=wrong.pk).update(type_approval=shandong_approval)
    url = reverse("admin:licensing_licence_change", args=[zhejiang_licence.pk])
    client.force_login(zhejiang_clerk)
    form = page_form(client.get(url))
    # The page holds the link as its selected option, so the browser posts it back.
    assert str(shandong_approval.pk) in form.fields.values()
    before = stored_links(zhejiang_licence)

    response = client.post(url, form.fields)

    assert response.status_code == 200
    row = row_of(response.context["inline_admin_formsets"][0].formset, wrong)
    [error] = row.errors.as_data()["type_approval"]
    assert error.code == "type_approval_other_manufacturer"
    content = response.content.decode()
    assert SHANDONG_CERTIFICATE in content
    assert escape(zhejiang_licence.manufacturer.name) in content
    assert escape(shandong_approval.manufacturer.name) not in content
    assert stored_links(zhejiang_licence) == before
    assert before[wrong.pk] == shandong_approval.pk


def test_only_the_products_own_link_is_added_to_the_scoped_choices(
    client, zhejiang_clerk, zhejiang, zhejiang_licence, shandong_approval
):
    own = make_approval(zhejiang_licence.manufacturer, "2016F001-33")
    other_shandong = make_approval(shandong_approval.manufacturer, "2016F002-37")
    wrong, plain = zhejiang_licence.products.order_by("pk")
    LicensedProduct.objects.filter(pk=wrong.pk).update(type_approval=shandong_approval)
    client.force_login(zhejiang_clerk)

    response = client.get(reverse("admin:licensing_licence_change", args=[zhejiang_licence.pk]))

    formset = response.context["inline_admin_formsets"][0].formset
    choices = {
        product: set(row_of(formset, product).fields["type_approval"].queryset)
        for product in (wrong, plain)
    }
    assert choices[wrong] == {own, shandong_approval}
    assert choices[plain] == {own}
    assert other_shandong not in choices[wrong]


def test_another_provinces_certificate_that_is_not_the_current_link_is_not_a_choice(
    client, zhejiang_clerk, zhejiang_licence, shandong_approval
):
    url = reverse("admin:licensing_licence_change", args=[zhejiang_licence.pk])
    client.force_login(zhejiang_clerk)
    form = page_form(client.get(url))
    prefix = next(name.removesuffix("-id") for name in form.fields if name.endswith("-0-id"))
    before = stored_links(zhejiang_licence)

    response = client.post(
        url, {**form.fields, f"{prefix}-type_approval": str(shandong_approval.pk)}
    )

    assert response.status_code == 200
    [row] = [form for form in response.context["inline_admin_formsets"][0].formset if form.errors]
    assert [error.code for error in row.errors.as_data()["type_approval"]] == ["invalid_choice"]
    assert stored_links(zhejiang_licence) == before


def test_the_product_form_refuses_another_manufacturers_type_approval(
    client, shandong_admin, shandong_licence, shandong_approval
):
    product = shandong_licence.products.first()
    url = reverse("admin:licensing_licensedproduct_change", args=[product.pk])
    client.force_login(shandong_admin)
    form = page_form(client.get(url), form_id="licensedproduct_form")

    response = client.post(url, {**form.fields, "type_approval": str(shandong_approval.pk)})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [error.code for error in errors["type_approval"]] == ["type_approval_other_manufacturer"]
    product.refresh_from_db()
    assert product.type_approval is None


def test_saving_a_product_with_its_own_manufacturers_type_approval_links_it(
    client, shandong_admin, shandong_licence
):
    approval = make_approval(shandong_licence.manufacturer, "2016F001-37")
    url = reverse("admin:licensing_licence_change", args=[shandong_licence.pk])
    client.force_login(shandong_admin)
    form = page_form(client.get(url))
    prefix = next(name.removesuffix("-id") for name in form.fields if name.endswith("-0-id"))
    product_pk = int(form.fields[f"{prefix}-id"])

    response = client.post(url, {**form.fields, f"{prefix}-type_approval": str(approval.pk)})

    assert response.status_code == 302
    assert LicensedProduct.objects.get(pk=product_pk).type_approval == approval


def test_adding_a_licence_checks_each_products_type_approval_against_its_manufacturer(
    client, shandong_admin, shandong, shandong_approval
):
    manufacturer = make_manufacturer(shandong, 3702)
    own = make_approval(manufacturer, "2016F001-37")
    water = InstrumentCategory.objects.get(name="水表")
    products = [
        {"category": water.pk, "product_name": "水表", "model_spec": model, "type_approval": pk}
        for model, pk in (("LXS-15E", own.pk), ("LXS-20E", shandong_approval.pk))
    ]
    client.force_login(shandong_admin)

    response = client.post(
        reverse("admin:licensing_licence_add"),
        _licence_post(manufacturer, shandong, "鲁制00003702号", products=products),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert [sorted(form.errors) for form in formset.forms] == [[], ["type_approval"]]
    assert not Licence.objects.exists()

    products.pop()
    response = client.post(
        reverse("admin:licensing_licence_add"),
        _licence_post(manufacturer, shandong, "鲁制00003702号", products=products),
    )

    assert response.status_code == 302
    assert LicensedProduct.objects.get().type_approval == own


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_keeping_the_current_link_as_a_choice_costs_the_licence_page_no_query(
    client, zhejiang_clerk, zhejiang_licence, shandong_approval, monkeypatch
):
    url = reverse("admin:licensing_licence_change", args=[zhejiang_licence.pk])
    own = make_approval(zhejiang_licence.manufacturer, "2016F001-33")
    zhejiang_licence.products.update(type_approval=own)
    client.force_login(zhejiang_clerk)
    client.get(url)
    with monkeypatch.context() as patched:
        patched.setattr(LicensedProductInline, "form", forms.ModelForm)  # scoped choices only
        scoped_only = _page_queries(client, url)

    kept = _page_queries(client, url)
    zhejiang_licence.products.update(type_approval=shandong_approval)
    outside_the_scope = _page_queries(client, url)

    assert kept == scoped_only
    assert outside_the_scope == scoped_only


# --- The import ---------------------------------------------------------------------------

ZHEJIANG_CODE = credit_code(8801, region="330100")
ZHEJIANG_NAME = "杭州精测水表有限公司"


def zhejiang_row(index=0, **changes) -> dict:
    row = {
        "许可证编号": "浙制00008801号",
        "企业名称": ZHEJIANG_NAME,
        "统一社会信用代码": ZHEJIANG_CODE,
        "企业地址": "杭州市西湖区测试路1号",
        "计量器具类别": "水表",
        "产品名称": "旋翼式水表",
        "型号规格": f"LXS-{15 + index}E",
        "准确度等级": "2级",
        "测量范围": None,
        "型式批准证书编号": None,
        "发证机关": "浙江省质量技术监督局",
        "发证层级": "省级",
        "受理日期": date(2016, 4, 20),
        "发证日期": date(2016, 5, 12),
        "有效期至": date(2019, 5, 11),
        "状态": "有效",
    }
    row.update(changes)
    return row


def run(rows, by):
    return licence_import(data=xlsx(rows), file_name="浙江许可证.xlsx", by=by)


def the_register():
    return (
        sorted(Licence.objects.values_list("number", flat=True)),
        sorted(
            LicensedProduct.objects.values_list(
                "model_spec", "type_approval_number", "type_approval_id"
            )
        ),
        LicensedProduct.history.count(),
    )


def test_a_row_naming_another_provinces_certificate_is_a_row_error_and_nothing_is_written(
    zhejiang_clerk, shandong_approval
):
    rows = [zhejiang_row(0), zhejiang_row(1, 型式批准证书编号=SHANDONG_CERTIFICATE)]
    before = the_register()

    result = run(rows, zhejiang_clerk)

    assert not result.ok
    [error] = result.errors
    assert (error.row, error.column) == (3, "型式批准证书编号")
    assert SHANDONG_CERTIFICATE in error.message
    assert ZHEJIANG_NAME in error.message
    assert ZHEJIANG_CODE in error.message
    assert shandong_approval.manufacturer.name not in error.message
    assert shandong_approval.manufacturer.credit_code not in error.message
    assert the_register() == before
    assert result.batch is None


def test_a_registered_licence_of_the_file_may_not_name_another_manufacturers_certificate(
    zhejiang_clerk, zhejiang, shandong_approval
):
    manufacturer = make_manufacturer(zhejiang, 8801, credit_code=ZHEJIANG_CODE, name=ZHEJIANG_NAME)
    make_licence(manufacturer, 8801, products=0)
    before = the_register()

    result = run([zhejiang_row(0, 型式批准证书编号=SHANDONG_CERTIFICATE)], zhejiang_clerk)

    [error] = result.errors
    assert (error.row, error.column) == (2, "型式批准证书编号")
    assert SHANDONG_CERTIFICATE in error.message
    assert the_register() == before


def test_the_manufacturers_own_certificate_is_linked(zhejiang_clerk, zhejiang):
    manufacturer = make_manufacturer(zhejiang, 8801, credit_code=ZHEJIANG_CODE, name=ZHEJIANG_NAME)
    own = make_approval(manufacturer, "2016F001-33")

    result = run([zhejiang_row(0, 型式批准证书编号="2016F001-33")], zhejiang_clerk)

    assert result.ok, result.errors
    assert LicensedProduct.objects.get().type_approval == own


def test_an_unregistered_certificate_number_is_kept_as_text(zhejiang_clerk):
    result = run([zhejiang_row(0, 型式批准证书编号="2016F999-33")], zhejiang_clerk)

    assert result.ok, result.errors
    product = LicensedProduct.objects.get()
    assert (product.type_approval_number, product.type_approval) == ("2016F999-33", None)


def test_reimporting_a_product_whose_stored_link_is_another_manufacturers_is_a_row_error(
    zhejiang_clerk, shandong_approval
):
    product = _imported_product(zhejiang_row(0), zhejiang_clerk)
    # As the import wrote it before the rule: the 浙江 product linked to 山东's certificate.
    LicensedProduct.objects.filter(pk=product.pk).update(
        type_approval=shandong_approval, type_approval_number=SHANDONG_CERTIFICATE
    )
    row = zhejiang_row(0, 型式批准证书编号=SHANDONG_CERTIFICATE)
    before = the_register()

    result = run([row], zhejiang_clerk)

    [error] = result.errors
    assert (error.row, error.column) == (2, "型式批准证书编号")
    assert SHANDONG_CERTIFICATE in error.message
    assert the_register() == before


def test_a_file_without_a_certificate_keeps_a_wrong_stored_link_with_a_warning(
    zhejiang_clerk, shandong_approval
):
    row = zhejiang_row(0)
    product = _imported_product(row, zhejiang_clerk)
    LicensedProduct.objects.filter(pk=product.pk).update(
        type_approval=shandong_approval, type_approval_number=SHANDONG_CERTIFICATE
    )
    before = the_register()

    result = run([row], zhejiang_clerk)

    assert result.ok, result.errors
    [warning] = result.warnings
    assert (warning.row, warning.column) == (2, "型式批准证书编号")
    assert SHANDONG_CERTIFICATE in warning.message
    assert ZHEJIANG_NAME in warning.message
    assert the_register() == before
    assert LicensedProduct.objects.get(pk=product.pk).type_approval == shandong_approval


def test_naming_the_own_certificate_replaces_a_wrong_stored_link_and_the_preview_says_which(
    zhejiang_clerk, zhejiang, shandong_approval
):
    row = zhejiang_row(0)
    product = _imported_product(row, zhejiang_clerk)
    LicensedProduct.objects.filter(pk=product.pk).update(type_approval=shandong_approval)
    own = make_approval(product.licence.manufacturer, "2016F001-33")

    result = run([{**row, "型式批准证书编号": "2016F001-33"}], zhejiang_clerk)

    assert result.ok, result.errors
    [change] = result.changes
    assert change.fields[str(LicensedProduct._meta.get_field("type_approval").verbose_name)] == (
        SHANDONG_CERTIFICATE,
        "2016F001-33",
    )
    assert LicensedProduct.objects.get(pk=product.pk).type_approval == own


def _imported_product(row, by) -> LicensedProduct:
    assert run([row], by).ok
    return LicensedProduct.objects.select_related("licence__manufacturer").get(
        model_spec=row["型号规格"]
    )


def _rows_with_certificates(count, *, seed, certificate):
    """``count`` 浙江 rows, three products to a licence, each naming ``certificate(index)``."""
    return [
        zhejiang_row(
            index,
            许可证编号=f"浙制{seed + index // 3:08d}号",
            企业名称=f"浙江测试企业{seed + index // 3}",
            统一社会信用代码=credit_code(seed + index // 3, region="330100"),
            型式批准证书编号=certificate(index),
        )
        for index in range(count)
    ]


def _count_queries(rows, by):
    with CaptureQueriesContext(connection) as queries:
        result = run(rows, by)
    return len(queries), result


def test_the_number_of_queries_does_not_grow_with_rows_naming_certificates(
    zhejiang_clerk, zhejiang, shandong_approval
):
    def own_certificates(count, seed):
        rows = _rows_with_certificates(
            count, seed=seed, certificate=lambda i: f"2016F{seed + i}-33"
        )
        for licence in range(count // 3):
            manufacturer = make_manufacturer(
                zhejiang,
                seed + licence,
                credit_code=credit_code(seed + licence, region="330100"),
                name=f"浙江测试企业{seed + licence}",
            )
            for index in range(3 * licence, 3 * licence + 3):
                make_approval(manufacturer, f"2016F{seed + index}-33")
        return rows

    run([zhejiang_row(0)], zhejiang_clerk)  # the user's permissions cached
    small, large = own_certificates(6, 1000), own_certificates(60, 2000)
    (few, small_result), (many, large_result) = (
        _count_queries(small, zhejiang_clerk),
        _count_queries(large, zhejiang_clerk),
    )
    assert small_result.ok and large_result.ok
    assert LicensedProduct.objects.filter(type_approval__isnull=False).count() == 66
    assert many == few

    shandong = lambda index: SHANDONG_CERTIFICATE  # noqa: E731
    (few, small_result), (many, large_result) = (
        _count_queries(_rows_with_certificates(6, seed=3000, certificate=shandong), zhejiang_clerk),
        _count_queries(
            _rows_with_certificates(60, seed=4000, certificate=shandong), zhejiang_clerk
        ),
    )
    assert (len(small_result.errors), len(large_result.errors)) == (6, 60)
    assert many == few
