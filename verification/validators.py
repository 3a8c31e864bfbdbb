"""Validators for Attachment 2's contact details, each with a stable error code."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Area code (010, 0531, …), a 7- or 8-digit number, an optional extension after "-" or 转.
# ASCII digits only: "\d" would also match full-width digits.
OFFICE_PHONE_RE = re.compile(r"0[1-9][0-9]{1,2}-[2-9][0-9]{6,7}(?:(?:-|转)[0-9]{1,6})?")
MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def normalize_phone(value: str) -> str:
    """NFKC (full-width digits and dashes), no spaces, the usual dash look-alikes as "-"."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    return re.sub(r"[‐‑‒–—―－]", "-", value)


def validate_office_phone(value: str) -> None:
    if not OFFICE_PHONE_RE.fullmatch(value):
        raise ValidationError(
            _(
                "“%(value)s” is not an office telephone number; write the area code, a dash "
                "and the number, with an optional extension, e.g. 0531-82345678 or "
                "010-82261841-123."
            ),
            code="office_phone",
            params={"value": value},
        )


def validate_mobile(value: str) -> None:
    if not MOBILE_RE.fullmatch(value):
        raise ValidationError(
            _("“%(value)s” is not a mobile number: 11 digits starting with 13 to 19."),
            code="mobile",
            params={"value": value},
        )
