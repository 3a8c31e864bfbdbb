"""The register's invariants hold in the database itself, and full_clean reports them."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.models import InstrumentCategory, Licence, LicensedProduct, Manufacturer

ISSUED = date(2016, 5, 12)


def field_error_codes(excinfo) -> dict[str, list[str]]:
    return {
        field: [error.code for error in errors]
        for field, errors in excinfo.value.error_dict.items()
    }


def licence_fields(manufacturer, **fields):
    values = {
        "number": "鲁制00000077号",
        "manufacturer": manufacturer,
        "province": manufacturer.province,
        "issuing_authority": "山东省质量技术监督局",
        "accepted_on": ISSUED - timedelta(days=20),
        "issued_on": ISSUED,
        "expires_on": ISSUED + timedelta(days=3 * 365),
    }
    values.update(fields)
    return values


@pytest.fixture
def shandong_manufacturer(shandong):
    return make_manufacturer(shandong, 77)


@pytest.fixture
def water_meter(db):
    return InstrumentCategory.objects.get(code="water-meter")


def test_constraints_are_in_the_database_schema(db):
    with connection.cursor() as cursor:
        licence = connection.introspection.get_constraints(cursor, Licence._meta.db_table)
        product = connection.introspection.get_constraints(cursor, LicensedProduct._meta.db_table)
    assert licence["licence_expiry_after_issue"]["check"]
    assert licence["licence_accepted_not_after_issue"]["check"]
    unique = product["licensed_product_unique_per_licence"]
    assert unique["unique"]
    assert unique["columns"] == ["licence_id", "category_id", "product_name", "model_spec"]


def test_database_refuses_a_second_licence_with_the_same_number(shandong_manufacturer):
    Licence.objects.create(**licence_fields(shandong_manufacturer))
    with pytest.raises(IntegrityError), transaction.atomic():
        Licence.objects.create(**licence_fields(shandong_manufacturer))


def test_database_refuses_a_second_manufacturer_with_the_same_credit_code(
    shandong, shandong_manufacturer
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Manufacturer.objects.create(
            name="另一家公司", credit_code=shandong_manufacturer.credit_code, province=shandong
        )


@pytest.mark.parametrize("expires_on", [ISSUED, ISSUED - timedelta(days=1)])
def test_database_refuses_a_licence_expiring_on_or_before_its_issue_date(
    shandong_manufacturer, expires_on
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Licence.objects.create(**licence_fields(shandong_manufacturer, expires_on=expires_on))


def test_database_refuses_an_update_that_moves_expiry_to_the_issue_date(shandong_manufacturer):
    licence = Licence.objects.create(**licence_fields(shandong_manufacturer))
    with pytest.raises(IntegrityError), transaction.atomic():
        Licence.objects.filter(pk=licence.pk).update(expires_on=ISSUED)


def test_database_refuses_an_application_accepted_after_issue(shandong_manufacturer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Licence.objects.create(
            **licence_fields(shandong_manufacturer, accepted_on=ISSUED + timedelta(days=1))
        )


@pytest.mark.parametrize("accepted_on", [None, ISSUED])
def test_database_accepts_no_acceptance_date_or_one_on_the_issue_date(
    shandong_manufacturer, accepted_on
):
    licence = Licence.objects.create(
        **licence_fields(shandong_manufacturer, accepted_on=accepted_on)
    )
    assert Licence.objects.filter(pk=licence.pk, accepted_on=accepted_on).exists()


def test_database_refuses_the_same_product_twice_on_one_licence(shandong_licence, water_meter):
    LicensedProduct.objects.create(
        licence=shandong_licence, category=water_meter, product_name="水表", model_spec="LXS-15"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LicensedProduct.objects.create(
            licence=shandong_licence,
            category=water_meter,
            product_name="水表",
            model_spec="LXS-15",
            accuracy_class="2级",
        )


def test_same_product_may_appear_with_another_model_or_on_another_licence(
    shandong_licence, zhejiang_licence, water_meter
):
    product = {"category": water_meter, "product_name": "水表", "model_spec": "LXS-15"}
    LicensedProduct.objects.create(licence=shandong_licence, **product)
    LicensedProduct.objects.create(licence=shandong_licence, **{**product, "model_spec": "LXS-20"})
    LicensedProduct.objects.create(licence=zhejiang_licence, **product)
    assert LicensedProduct.objects.filter(category=water_meter, product_name="水表").count() == 3


def test_full_clean_reports_a_duplicate_product_on_a_licence(shandong_licence, water_meter):
    product = {"category": water_meter, "product_name": "水表", "model_spec": "LXS-15"}
    LicensedProduct.objects.create(licence=shandong_licence, **product)
    with pytest.raises(ValidationError):
        LicensedProduct(licence=shandong_licence, **product).full_clean()


# Licence.full_clean


def test_full_clean_accepts_a_consistent_licence(shandong_manufacturer):
    Licence(**licence_fields(shandong_manufacturer)).full_clean()


def test_full_clean_rejects_a_number_of_another_province(shandong_manufacturer):
    licence = Licence(**licence_fields(shandong_manufacturer, number="浙制00000077号"))
    with pytest.raises(ValidationError) as excinfo:
        licence.full_clean()
    assert field_error_codes(excinfo) == {"number": ["licence_number_province_mismatch"]}


def test_full_clean_rejects_a_manufacturer_of_another_province(shandong, zhejiang):
    zhejiang_manufacturer = make_manufacturer(zhejiang, 78)
    licence = Licence(**licence_fields(zhejiang_manufacturer, province=shandong))
    with pytest.raises(ValidationError) as excinfo:
        licence.full_clean()
    assert field_error_codes(excinfo) == {"manufacturer": ["manufacturer_other_province"]}


def test_full_clean_reports_date_and_number_errors_together(shandong_manufacturer):
    licence = Licence(
        **licence_fields(shandong_manufacturer, number="浙制00000077号", expires_on=ISSUED)
    )
    with pytest.raises(ValidationError) as excinfo:
        licence.full_clean()
    codes = field_error_codes(excinfo)
    assert codes["number"] == ["licence_number_province_mismatch"]
    assert codes["expires_on"] == ["expiry_not_after_issue"]


def test_full_clean_rejects_an_unknown_abbreviation(shandong_manufacturer):
    licence = Licence(**licence_fields(shandong_manufacturer, number="英制00000077号"))
    with pytest.raises(ValidationError) as excinfo:
        licence.full_clean()
    assert field_error_codes(excinfo)["number"] == ["licence_number_province_unknown"]


def test_full_clean_normalises_a_full_width_number_without_hao(shandong_manufacturer):
    licence = Licence(**licence_fields(shandong_manufacturer, number=" 鲁制０００００077 "))
    licence.full_clean()
    assert licence.number == "鲁制00000077号"


def test_full_clean_finds_a_duplicate_number_written_in_full_width(shandong_manufacturer):
    existing = make_licence(shandong_manufacturer, 77)
    full_width = existing.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with pytest.raises(ValidationError) as excinfo:
        Licence(**licence_fields(shandong_manufacturer, number=full_width)).full_clean()
    assert field_error_codes(excinfo)["number"] == ["unique"]


def test_full_clean_normalises_a_pasted_credit_code_and_finds_the_duplicate(
    shandong, shandong_manufacturer
):
    pasted = " " + shandong_manufacturer.credit_code.lower()[:9] + "\u3000"
    pasted += shandong_manufacturer.credit_code.lower()[9:]
    manufacturer = Manufacturer(name="另一家公司", credit_code=pasted, province=shandong)
    with pytest.raises(ValidationError) as excinfo:
        manufacturer.full_clean()
    assert manufacturer.credit_code == shandong_manufacturer.credit_code
    assert field_error_codes(excinfo) == {"credit_code": ["unique"]}


def test_full_clean_rejects_a_credit_code_with_a_wrong_check_character(shandong):
    code = credit_code(4242)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(ValidationError) as excinfo:
        Manufacturer(name="某公司", credit_code=wrong, province=shandong).full_clean()
    assert field_error_codes(excinfo) == {"credit_code": ["credit_code_check"]}
