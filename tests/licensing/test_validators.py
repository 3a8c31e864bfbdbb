"""The register's validators: valid and invalid examples, each error by its stable code."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from licensing.models import Province
from licensing.validators import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_WEIGHTS,
    credit_code_check_character,
    normalize_licence_number,
    validate_credit_code,
    validate_licence_dates,
    validate_licence_number_format,
    validate_licence_number_province,
    validate_type_approval_number,
)

VALID_CREDIT_CODE = "9135052155323005XL"


def error_codes(excinfo) -> list[str]:
    return [error.code for error in excinfo.value.error_list]


def field_error_codes(excinfo) -> dict[str, list[str]]:
    return {
        field: [error.code for error in errors]
        for field, errors in excinfo.value.error_dict.items()
    }


# 统一社会信用代码 (GB 32100-2015)


def test_credit_code_weights_are_the_powers_of_three_modulo_31_of_the_standard():
    assert CREDIT_CODE_WEIGHTS == (
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    )  # fmt: skip


@pytest.mark.parametrize(
    "code",
    [
        "9135052155323005XL",
        "9135052155323000Q0",  # check character 0: (31 - 0) mod 31
    ],
)
def test_credit_codes_from_the_standard_are_valid(code):
    validate_credit_code(code)
    assert credit_code_check_character(code[:17]) == code[17]


def test_credit_code_with_a_wrong_check_character_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code("9135052155323005XM")
    assert error_codes(excinfo) == ["credit_code_check"]
    assert excinfo.value.error_list[0].params["expected"] == "L"


def test_every_single_character_substitution_of_a_valid_credit_code_is_caught():
    # 31 is prime and no weight is 0 mod 31, so one wrong character always changes the sum.
    for position in range(18):
        for char in CREDIT_CODE_CHARSET:
            if char == VALID_CREDIT_CODE[position]:
                continue
            typo = VALID_CREDIT_CODE[:position] + char + VALID_CREDIT_CODE[position + 1 :]
            with pytest.raises(ValidationError) as excinfo:
                validate_credit_code(typo)
            assert error_codes(excinfo) == ["credit_code_check"], typo


@pytest.mark.parametrize(
    "code",
    ["", "9135052155323005X", "9135052155323005XLL", "91350521553230"],
)
def test_credit_code_of_the_wrong_length_is_rejected(code):
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(code)
    assert error_codes(excinfo) == ["credit_code_length"]


@pytest.mark.parametrize("char", ["I", "O", "S", "V", "Z", "a", "x", "-", "０"])
def test_credit_code_with_a_character_outside_the_charset_is_rejected(char):
    code = VALID_CREDIT_CODE[:15] + char + VALID_CREDIT_CODE[16:]
    assert len(code) == 18
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(code)
    assert error_codes(excinfo) == ["credit_code_charset"]


def test_lower_case_credit_code_is_rejected_by_the_validator():
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code(VALID_CREDIT_CODE.lower())
    assert error_codes(excinfo) == ["credit_code_charset"]


# 许可证编号


@pytest.mark.parametrize(
    "number", ["鲁制00012345号", "浙制99999999号", "兵制00000001号", "蜀制12345678号"]
)
def test_well_formed_licence_numbers_are_valid(db, number):
    validate_licence_number_format(number)


@pytest.mark.parametrize(
    "number",
    [
        "鲁00012345号",  # 制 missing
        "鲁制0001234号",  # 7 digits
        "鲁制000123456号",  # 9 digits
        "鲁制00012345",  # 号 missing: normalize_licence_number adds it, the validator does not
        "鲁制0001234X号",
        "制00012345号",
        "鲁鲁制00012345号",
        "鲁制00012345号\n",
        " 鲁制00012345号",
        "鲁制０００１２３４５号",  # full-width digits: only after NFKC normalisation
        "鲁制٠٠٠١٢٣٤٥号",  # Arabic-Indic digits are digits to "\d", not to a licence number
        "",
    ],
)
def test_malformed_licence_numbers_are_rejected(db, number):
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_number_format(number)
    assert error_codes(excinfo) == ["licence_number_format"]


@pytest.mark.parametrize("number", ["英制00012345号", "中制00012345号", "A制00012345号"])
def test_licence_number_with_an_unknown_abbreviation_is_rejected(db, number):
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_number_format(number)
    assert error_codes(excinfo) == ["licence_number_province_unknown"]


@pytest.mark.parametrize(
    ("number", "province_code"),
    [
        ("鲁制00012345号", "37"),
        ("浙制00012345号", "33"),
        ("川制00012345号", "51"),
        ("蜀制00012345号", "51"),
        ("贵制00012345号", "52"),
        ("黔制00012345号", "52"),
        ("云制00012345号", "53"),
        ("滇制00012345号", "53"),
        ("陕制00012345号", "61"),
        ("秦制00012345号", "61"),
        ("甘制00012345号", "62"),
        ("陇制00012345号", "62"),
        ("新制00012345号", "65"),
        ("兵制00012345号", "66"),
    ],
)
def test_licence_number_matching_its_issuing_province_is_valid(db, number, province_code):
    province = Province.objects.get(code=province_code)
    validate_licence_number_format(number)
    validate_licence_number_province(number, province)


@pytest.mark.parametrize(
    ("number", "province_code"),
    [
        ("浙制00012345号", "37"),
        ("鲁制00012345号", "33"),
        ("蜀制00012345号", "52"),  # an alternate, but of 四川
        ("黔制00012345号", "51"),
        ("兵制00012345号", "65"),  # the XPCC is not 新疆
        ("新制00012345号", "66"),
    ],
)
def test_licence_number_of_another_province_is_rejected(db, number, province_code):
    province = Province.objects.get(code=province_code)
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_number_province(number, province)
    assert error_codes(excinfo) == ["licence_number_province_mismatch"]


def test_xpcc_is_a_reporting_unit_with_code_66_and_abbreviation_bing(db):
    xpcc = Province.objects.get(code="66")
    assert xpcc.name == "新疆生产建设兵团"
    assert xpcc.abbreviations() == ["兵"]
    assert Province.objects.for_abbreviation("兵") == xpcc


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("鲁制00012345", "鲁制00012345号"),
        ("鲁制00012345号", "鲁制00012345号"),
        ("鲁制０００１２３４５号", "鲁制00012345号"),
        ("鲁制００012345", "鲁制00012345号"),
        (" 鲁制 0001 2345 号\u3000", "鲁制00012345号"),
        ("", ""),
    ],
)
def test_normalize_licence_number_adds_a_missing_hao_and_nfkc_normalises(raw, normalised):
    assert normalize_licence_number(raw) == normalised


def test_normalised_full_width_licence_number_passes_validation(db):
    validate_licence_number_format(normalize_licence_number("鲁制０００１２３４５"))


# 型式批准证书编号


@pytest.mark.parametrize(
    "number", ["2016F123-37", "2016F1234-37", "1999A001-11", "2016F123-66", "CPA 05-E123"]
)
def test_well_formed_type_approval_numbers_are_valid(db, number):
    validate_type_approval_number(number)


def test_type_approval_number_ending_in_no_province_code_is_rejected(db):
    with pytest.raises(ValidationError) as excinfo:
        validate_type_approval_number("2016F123-99")
    assert error_codes(excinfo) == ["type_approval_number_province"]


@pytest.mark.parametrize(
    "number",
    [
        "garbage",
        "",
        "2016F12-37",  # 2 digits
        "2016F12345-37",  # 5 digits
        "2016f123-37",  # lower-case letter
        "1816F123-37",  # not 19xx or 20xx
        "16F123-37",
        "2016F123-370",
        "2016F123-3",
        "2016F123_37",
        "2016F123-37\n",
        "2016F１２３-37",  # full-width digits
        "CPA05-E123",
        "CPA 05-E1234",
        "CPA 2005-E123",
        "cpa 05-E123",
    ],
)
def test_malformed_type_approval_numbers_are_rejected(db, number):
    with pytest.raises(ValidationError) as excinfo:
        validate_type_approval_number(number)
    assert error_codes(excinfo) == ["type_approval_number_format"]


# 受理日期 ≤ 发证日期 < 有效期至

ISSUED = date(2016, 5, 12)


@pytest.mark.parametrize(
    ("accepted_on", "expires_on"),
    [
        (None, ISSUED + timedelta(days=1)),
        (ISSUED, ISSUED + timedelta(days=1)),  # accepted and issued the same day
        (ISSUED - timedelta(days=20), date(2019, 5, 11)),
    ],
)
def test_dates_in_order_are_valid(accepted_on, expires_on):
    validate_licence_dates(accepted_on, ISSUED, expires_on)


def test_application_accepted_after_issue_is_rejected():
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_dates(ISSUED + timedelta(days=1), ISSUED, date(2019, 5, 11))
    assert field_error_codes(excinfo) == {"accepted_on": ["accepted_after_issue"]}


@pytest.mark.parametrize("expires_on", [ISSUED, ISSUED - timedelta(days=1)])
def test_expiry_on_or_before_the_issue_date_is_rejected(expires_on):
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_dates(None, ISSUED, expires_on)
    assert field_error_codes(excinfo) == {"expires_on": ["expiry_not_after_issue"]}


def test_both_date_errors_are_reported_together():
    with pytest.raises(ValidationError) as excinfo:
        validate_licence_dates(ISSUED + timedelta(days=1), ISSUED, ISSUED)
    assert field_error_codes(excinfo) == {
        "accepted_on": ["accepted_after_issue"],
        "expires_on": ["expiry_not_after_issue"],
    }
