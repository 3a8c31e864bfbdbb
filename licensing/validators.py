"""Validators for the register's identifiers, each with a stable error code."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015: weight of position i (1-based) is 3^(i-1) mod 31.
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# Used with fullmatch: "$" would accept a trailing newline. Digits are ASCII only: "\d" also
# matches full-width and other scripts' digits, which would let "鲁制００012345号" in beside
# "鲁制00012345号" and defeat the unique constraint.
LICENCE_NUMBER_RE = re.compile(r"(?P<abbr>\w)制(?P<digits>[0-9]{8})号")
TYPE_APPROVAL_NEW_RE = re.compile(r"(19|20)[0-9]{2}[A-Z][0-9]{3,4}-(?P<province>[0-9]{2})")
TYPE_APPROVAL_OLD_RE = re.compile(r"CPA [0-9]{2}-[A-Z][0-9]{3}")


def normalize_text(value: str) -> str:
    """NFKC-normalise and strip, turning U+3000 and other odd spaces into plain ones."""
    return unicodedata.normalize("NFKC", value).strip()


def normalize_code(value: str) -> str:
    """Normalise a code: NFKC, no whitespace at all, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def normalize_licence_number(value: str) -> str:
    """NFKC, no whitespace, a missing trailing 号 added."""
    number = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    if number and not number.endswith("号"):
        number += "号"
    return number


def credit_code_check_character(first17: str) -> str:
    total = sum(
        CREDIT_CODE_CHARSET.index(char) * weight
        for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    """统一社会信用代码 per GB 32100-2015: charset, length and check character."""
    if len(value) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; “%(value)s” has %(length)d."),
            code="credit_code_length",
            params={"value": value, "length": len(value)},
        )
    bad = [char for char in value if char not in CREDIT_CODE_CHARSET]
    if bad:
        raise ValidationError(
            _(
                "“%(value)s” contains “%(chars)s”; a unified social credit code uses only digits "
                "and the capital letters A–Y without I, O, S, V and Z."
            ),
            code="credit_code_charset",
            params={"value": value, "chars": "".join(dict.fromkeys(bad))},
        )
    expected = credit_code_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _(
                "The check character of “%(value)s” is wrong: it should be “%(expected)s” "
                "(GB 32100-2015)."
            ),
            code="credit_code_check",
            params={"value": value, "expected": expected},
        )


def validate_licence_number_format(value: str) -> None:
    """许可证编号: <abbreviation>制<8 digits>号, the abbreviation a known province."""
    from licensing.models import Province

    match = LICENCE_NUMBER_RE.fullmatch(value)
    if not match:
        raise ValidationError(
            _(
                "“%(value)s” is not a licence number: expected the province abbreviation, 制, "
                "8 digits and 号, e.g. 鲁制00012345号."
            ),
            code="licence_number_format",
            params={"value": value},
        )
    if Province.objects.for_abbreviation(match["abbr"]) is None:
        raise ValidationError(
            _("“%(abbr)s” in licence number “%(value)s” is not a province abbreviation."),
            code="licence_number_province_unknown",
            params={"abbr": match["abbr"], "value": value},
        )


def validate_licence_number_province(value: str, province) -> None:
    """The licence number's abbreviation must name the issuing province."""
    match = LICENCE_NUMBER_RE.fullmatch(value)
    if match and match["abbr"] not in province.abbreviations():
        raise ValidationError(
            _(
                "Licence number “%(value)s” starts with “%(abbr)s”, but the issuing province "
                "is %(province)s (%(expected)s)."
            ),
            code="licence_number_province_mismatch",
            params={
                "value": value,
                "abbr": match["abbr"],
                "province": province.name,
                "expected": "/".join(province.abbreviations()),
            },
        )


def validate_type_approval_number(value: str) -> None:
    """型式批准证书编号: YYYY + letter + 3–4 digits + -NN (province code), or CPA yy-Xnnn."""
    from licensing.models import Province

    if TYPE_APPROVAL_OLD_RE.fullmatch(value):
        return
    match = TYPE_APPROVAL_NEW_RE.fullmatch(value)
    if not match:
        raise ValidationError(
            _(
                "“%(value)s” is not a type-approval certificate number: expected e.g. "
                "2016F123-37 (year, letter, 3–4 digits, province code) or CPA 05-E123."
            ),
            code="type_approval_number_format",
            params={"value": value},
        )
    if not Province.objects.filter(code=match["province"]).exists():
        raise ValidationError(
            _("“%(code)s” at the end of “%(value)s” is not a province code (GB/T 2260)."),
            code="type_approval_number_province",
            params={"code": match["province"], "value": value},
        )


def validate_licence_dates(accepted_on, issued_on, expires_on) -> None:
    """受理日期 ≤ 发证日期 < 有效期至; raises a dict keyed by the offending field."""
    errors = {}
    if accepted_on and issued_on and accepted_on > issued_on:
        errors["accepted_on"] = ValidationError(
            _(
                "The application cannot be accepted (%(accepted)s) after the licence was issued "
                "(%(issued)s)."
            ),
            code="accepted_after_issue",
            params={"accepted": accepted_on, "issued": issued_on},
        )
    if issued_on and expires_on and expires_on <= issued_on:
        errors["expires_on"] = ValidationError(
            _("The expiry date (%(expires)s) must be after the issue date (%(issued)s)."),
            code="expiry_not_after_issue",
            params={"expires": expires_on, "issued": issued_on},
        )
    if errors:
        raise ValidationError(errors)


def validate_type_approval_owner(
    certificate_number: str,
    certificate_credit_code: str,
    *,
    manufacturer_name: str,
    manufacturer_credit_code: str,
) -> None:
    """A licensed product may name only a type approval of its licence's own manufacturer.

    Plain values, so that the model, the admin (through the model) and the bulk import, which
    holds tuples and may be creating the manufacturer, apply the same rule. The message names
    the licence's manufacturer, never the certificate's: that may be another province's company.
    """
    if certificate_credit_code == manufacturer_credit_code:
        return
    raise ValidationError(
        _(
            "Type-approval certificate %(certificate)s was not issued to %(name)s (unified "
            "social credit code %(code)s), the licence's manufacturer: a licensed product can "
            "only name a type approval of its own manufacturer."
        ),
        code="type_approval_other_manufacturer",
        params={
            "certificate": certificate_number,
            "name": manufacturer_name,
            "code": manufacturer_credit_code,
        },
    )
