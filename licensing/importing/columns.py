"""The licence-list columns (DESIGN.md §4): header matching, cell text, dates and choices."""

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.models import IssuingLevel, LicenceStatus
from licensing.validators import normalize_text


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    expected: str  # what a valid cell holds, for "is empty: expected …" messages


COLUMNS = (
    Column(
        "licence_number",
        "许可证编号",
        True,
        gettext_lazy("a licence number such as 鲁制00012345号"),
    ),
    Column("manufacturer_name", "企业名称", True, gettext_lazy("the manufacturer's name")),
    Column(
        "credit_code",
        "统一社会信用代码",
        True,
        gettext_lazy("the manufacturer's 18-character unified social credit code"),
    ),
    Column("address", "企业地址", False, gettext_lazy("the manufacturer's address")),
    Column(
        "category",
        "计量器具类别",
        True,
        gettext_lazy("an instrument category of the catalogue, such as 电能表 or 水表"),
    ),
    Column("product_name", "产品名称", True, gettext_lazy("the product name")),
    Column("model_spec", "型号规格", True, gettext_lazy("the model or specification")),
    Column("accuracy_class", "准确度等级", False, gettext_lazy("the accuracy class")),
    Column("measuring_range", "测量范围", False, gettext_lazy("the measuring range")),
    Column(
        "type_approval_number",
        "型式批准证书编号",
        False,
        gettext_lazy("a type-approval certificate number such as 2016F123-37"),
    ),
    Column(
        "issuing_authority",
        "发证机关",
        True,
        gettext_lazy("the issuing authority, e.g. 山东省质量技术监督局"),
    ),
    Column("issuing_level", "发证层级", False, gettext_lazy("省级, 市级 or 县级")),
    Column("accepted_on", "受理日期", False, gettext_lazy("a date such as 2016-05-12")),
    Column("issued_on", "发证日期", True, gettext_lazy("a date such as 2016-05-12")),
    Column("expires_on", "有效期至", True, gettext_lazy("a date such as 2016-05-12")),
    Column("status", "状态", False, gettext_lazy("有效, 变更, 注销, 撤销 or 过期")),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED_KEYS = tuple(column.key for column in COLUMNS if column.required)
HEADER_ROW_SEARCH = 10  # the header row is one of Excel's rows 1–10

ISSUING_LEVELS = {
    "省级": IssuingLevel.PROVINCIAL,
    "市级": IssuingLevel.MUNICIPAL,
    "县级": IssuingLevel.COUNTY,
}
STATUSES = {
    "有效": LicenceStatus.VALID,
    "变更": LicenceStatus.CHANGED,
    "注销": LicenceStatus.CANCELLED,
    "撤销": LicenceStatus.REVOKED,
    "过期": LicenceStatus.EXPIRED,
}

_SPACES_AND_STARS = re.compile(r"[\s*]+")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


def normalize_header(value) -> str:
    """NFKC, no spaces (U+3000 included), no * marks, no trailing (note): 发证日期（年-月-日） → 发证日期."""
    if value is None:
        return ""
    text = _SPACES_AND_STARS.sub("", unicodedata.normalize("NFKC", str(value)))
    return _TRAILING_NOTE.sub("", text)


HEADER_KEYS = {normalize_header(column.header): column.key for column in COLUMNS}


@dataclass
class HeaderRow:
    """Where the header is and what each column holds."""

    row: int
    keys: dict[int, str]  # column index → column key
    headers: dict[str, str]  # column key → the header as written in the file
    # (column index, header as written) of the columns that are not the template's
    unknown: list[tuple[int, str]]
    duplicates: list[tuple[str, int, int]]  # (column key, first index, second index)


@dataclass
class MissingHeaders:
    """No row of rows 1–10 holds every required header; the best candidate and what it lacks."""

    row: int | None  # None when no row holds any template header at all
    missing: list[str]  # the template headers missing from that row


def match_header(row_number: int, values) -> HeaderRow:
    keys, headers, unknown, duplicates = {}, {}, [], []
    first_index = {}
    for index, value in enumerate(values):
        written = "" if value is None else str(value).strip()
        name = normalize_header(written)
        if not name:
            continue
        key = HEADER_KEYS.get(name)
        if key is None:
            unknown.append((index, written))
        elif key in first_index:
            duplicates.append((key, first_index[key], index))
        else:
            first_index[key] = index
            keys[index] = key
            headers[key] = written
    return HeaderRow(row_number, keys, headers, unknown, duplicates)


def locate_header(rows) -> tuple[HeaderRow | MissingHeaders, object]:
    """Find the header row among Excel's rows 1–10; return it and an iterator over the rows below.

    ``rows`` yields (Excel row number, cell values); empty rows may be left out.
    """
    iterator = iter(rows)
    best, best_found = None, 0
    for row_number, values in iterator:
        if row_number > HEADER_ROW_SEARCH:
            break
        candidate = match_header(row_number, values)
        found = sum(1 for key in REQUIRED_KEYS if key in candidate.headers)
        if found == len(REQUIRED_KEYS):
            return candidate, iterator
        if found > best_found:
            best, best_found = candidate, found
    if best is None:
        return MissingHeaders(None, [COLUMNS_BY_KEY[key].header for key in REQUIRED_KEYS]), ()
    missing = [COLUMNS_BY_KEY[key].header for key in REQUIRED_KEYS if key not in best.headers]
    return MissingHeaders(best.row, missing), ()


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def cell_text(value) -> str:
    """A cell's text: NFKC-normalised and stripped; whole numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return normalize_text(str(value))


class CellError(ValueError):
    """A cell that cannot be read as what its column needs; the message says why."""


# Year first, one separator used twice; a trailing midnight (from a datetime exported as text)
# is tolerated.
_YEAR_FIRST = re.compile(
    r"(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    r"(?:[ T]0?0:00(?::00(?:\.0+)?)?)?"
)
_CHINESE = re.compile(r"(?P<year>[0-9]{4})年(?P<month>[0-9]{1,2})月(?P<day>[0-9]{1,2})日?")
_COMPACT = re.compile(r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")
_YEAR_LAST = re.compile(r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}")

ACCEPTED_DATE_FORMS = "2016-05-12, 2016/5/12, 2016.5.12, 2016年5月12日, 20160512"


def parse_date(value) -> date:
    """A real date, or text in one of the forms of DESIGN.md §4; raises CellError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = cell_text(value)
    match = _YEAR_FIRST.fullmatch(text) or _CHINESE.fullmatch(text) or _COMPACT.fullmatch(text)
    if match is None:
        if _YEAR_LAST.fullmatch(text):
            raise CellError(
                _(
                    "“%(value)s” is ambiguous: it may be day/month or month/day. Write the date "
                    "year first, e.g. 2016-05-12."
                )
                % {"value": text}
            )
        raise CellError(
            _("“%(value)s” is not a date: expected a date such as %(forms)s.")
            % {"value": text, "forms": ACCEPTED_DATE_FORMS}
        )
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if not 1 <= month <= 12:
        raise CellError(
            _("“%(value)s” is not a real date: there is no month %(month)d.")
            % {"value": text, "month": month}
        )
    days = calendar.monthrange(max(year, 1), month)[1]
    if not year or not 1 <= day <= days:
        raise CellError(
            _("“%(value)s” is not a real date: %(year)d-%(month)02d has %(days)d days.")
            % {"value": text, "year": year, "month": month, "days": days}
        )
    return date(year, month, day)


def lookup_key(text: str) -> str:
    """How names are compared with the catalogue and the choice lists: NFKC, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def category_lookup(categories) -> dict[str, int]:
    """Normalised catalogue name or alias → category id."""
    lookup = {}
    for category in categories:
        for alias in category.aliases.split(","):
            if alias.strip():
                lookup.setdefault(lookup_key(alias), category.id)
    for category in categories:  # a name wins over another category's alias
        lookup[lookup_key(category.name)] = category.id
    return lookup
