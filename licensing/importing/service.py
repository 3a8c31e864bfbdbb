"""Import a licence list (DESIGN.md §4): read it, check every row, then write all or nothing.

One pass over the rows builds dicts keyed by identity (credit code, licence number, product
key); the register is then read with a fixed number of queries and written with bulk
operations, so the number of queries does not grow with the number of rows. Validators and
normalisers are called directly: ``full_clean`` per row would cost more than the whole import.
"""

import hashlib
import hmac
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing.importing.columns import (
    COLUMNS,
    COLUMNS_BY_KEY,
    ISSUING_LEVELS,
    STATUSES,
    CellError,
    HeaderRow,
    MissingHeaders,
    category_lookup,
    cell_text,
    column_letter,
    locate_header,
    lookup_key,
    parse_date,
)
from licensing.importing.errors import UnreadableFile, too_many_rows
from licensing.importing.readers import MAX_DATA_ROWS, Formula, gc_paused, read_rows
from licensing.models import (
    ImportBatch,
    ImportBatchStatus,
    InstrumentCategory,
    IssuingLevel,
    Licence,
    LicenceStatus,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
)
from licensing.scoping import user_province_id, user_sees_all_provinces
from licensing.statistics import register_counts_refresh
from licensing.validators import (
    LICENCE_NUMBER_RE,
    TYPE_APPROVAL_NEW_RE,
    TYPE_APPROVAL_OLD_RE,
    normalize_code,
    normalize_licence_number,
    validate_credit_code,
    validate_licence_dates,
    validate_licence_number_format,
    validate_type_approval_number,
    validate_type_approval_owner,
)

logger = logging.getLogger(__name__)

IMPORT_PERMISSION = "licensing.import_licence"
CHUNK_SIZE = 2000  # ids per "__in" lookup: within SQLite's variable limit, cheap on PostgreSQL
BATCH_SIZE = 2000  # rows per executemany and per bulk_update (which SQLite lowers further)


# --- What an import reports ---------------------------------------------------------------


@dataclass
class Problem:
    """An error or warning: the Excel row and the column header as written in the file."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": str(self.message)}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class Change:
    """One object the import updates: where, which, and each changed field's old and new value."""

    row: int
    model: str
    identity: str
    fields: dict[str, tuple[str, str]]


@dataclass
class NewLicence:
    """A licence the import creates, for the preview: its first row, manufacturer and products."""

    row: int
    number: str
    manufacturer: str
    products: list[str]


# Licences listed on the preview as they will be created; the counts give the rest.
NEW_LICENCES_SHOWN = 20


@dataclass
class ImportResult:
    ok: bool = False
    dry_run: bool = False
    rows: int = 0
    manufacturers: Counts = field(default_factory=Counts)
    licences: Counts = field(default_factory=Counts)
    products: Counts = field(default_factory=Counts)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    new_licences: list[NewLicence] = field(default_factory=list)  # the first NEW_LICENCES_SHOWN
    unreadable: bool = False  # the file could not be read at all (exit status 2)
    batch: ImportBatch | None = None

    def as_json(self) -> dict:
        """The command's --json object, exactly as DESIGN.md §4 specifies it."""
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "manufacturers": self.manufacturers.as_dict(),
            "licences": self.licences.as_dict(),
            "products": self.products.as_dict(),
            "errors": [problem.as_dict() for problem in self.errors],
            "warnings": [problem.as_dict() for problem in self.warnings],
        }

    def counts_dict(self) -> dict:
        return {
            "manufacturers": self.manufacturers.as_dict(),
            "licences": self.licences.as_dict(),
            "products": self.products.as_dict(),
        }


class ImportRefused(Exception):
    """A confirm that must not write: another user's batch, another file, or already done."""


# --- The service --------------------------------------------------------------------------


@gc_paused()  # on again once the run's objects are freed: see gc_paused
def licence_import(
    *, data: bytes, file_name: str, by=None, province: Province | None = None, dry_run=False
) -> ImportResult:
    """Check a licence list and, when it has no errors and this is not a dry run, write it.

    ``by`` is the acting user: a provincial user may import only its province's licences.
    ``province`` limits the rows to one province as well (the command's --province).
    """
    scope = import_scope(by=by, province=province)
    if dry_run:
        result = _check(data, scope).result
        result.dry_run = True
        return result
    batch = ImportBatch(
        created_by=by,
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        status=ImportBatchStatus.COMMITTED,
    )
    return _check_and_write(data, scope, batch, by)


@gc_paused()  # on again once the run's objects are freed: see gc_paused
def import_preview(*, data: bytes, file_name: str, by) -> tuple[ImportResult, ImportBatch]:
    """Check an upload without writing it, and keep it in a "previewed" batch for the confirm."""
    scope = import_scope(by=by)
    plan = _check(data, scope)
    result = plan.result
    result.dry_run = True
    batch = ImportBatch.objects.create(
        created_by=by,
        province=plan.batch_province(),
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        status=ImportBatchStatus.HAS_ERRORS if result.errors else ImportBatchStatus.PREVIEWED,
        rows=result.rows,
        counts=_batch_counts(result),
        errors=[problem.as_dict() for problem in result.errors],
        warnings=[problem.as_dict() for problem in result.warnings],
        # An unreadable file is of no use to the error report, and may be huge.
        content=None if result.unreadable else data,
    )
    result.batch = batch
    return result, batch


@gc_paused()  # on again once the run's objects are freed: see gc_paused
def import_confirm(*, batch: ImportBatch, by, sha256: str) -> ImportResult:
    """Write a previewed batch, for the user who uploaded it and only if the file is unchanged.

    Raises ImportRefused for another user, another hash, altered content or a batch already
    committed. The rows are checked again: the register may have changed since the preview.
    """
    if batch.status != ImportBatchStatus.PREVIEWED:
        raise ImportRefused(_("This import has already been confirmed."))
    if by is None or batch.created_by_id is None or batch.created_by_id != by.pk:
        raise ImportRefused(_("Only the user who uploaded this file can confirm its import."))
    if not hmac.compare_digest(str(sha256), batch.sha256):
        raise ImportRefused(_("The confirmation does not match the uploaded file."))
    content = None if batch.content is None else bytes(batch.content)
    if content is None or not hmac.compare_digest(
        hashlib.sha256(content).hexdigest(), batch.sha256
    ):
        raise ImportRefused(_("The uploaded file has changed since the preview; upload it again."))
    result = _check_and_write(content, import_scope(by=by), batch, by)
    if not result.ok:
        # The register changed since the preview: the batch is now a preview with errors.
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatchStatus.PREVIEWED).update(
            status=ImportBatchStatus.HAS_ERRORS,
            counts=_batch_counts(result),
            errors=[problem.as_dict() for problem in result.errors],
            warnings=[problem.as_dict() for problem in result.warnings],
        )
    return result


def _batch_counts(result: ImportResult) -> dict:
    """The counts a batch keeps; with errors, how many (for the batch list, which does not
    read the error list itself)."""
    counts = result.counts_dict()
    if result.errors:
        counts["errors"] = len(result.errors)
    return counts


def import_scope(*, by=None, province: Province | None = None) -> Province | None:
    """The one province an import may touch, or None for all; PermissionDenied if none at all."""
    if by is None:
        return province
    if not by.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied(_("%(user)s may not import licences.") % {"user": by})
    province_id = user_province_id(by)
    if province_id:
        if province is not None and province.pk != province_id:
            raise PermissionDenied(
                _("%(user)s works for %(own)s and cannot import licences of %(other)s.")
                % {"user": by, "own": by.province, "other": province}
            )
        return by.province
    if not user_sees_all_provinces(by):
        raise PermissionDenied(_("%(user)s may not import licences.") % {"user": by})
    return province


def _check_and_write(data: bytes, scope, batch: ImportBatch, by) -> ImportResult:
    # The register is read and written in one transaction, so what was compared is what is
    # written over.
    new_batch = batch.pk is None
    rows = 0
    try:
        with transaction.atomic():
            plan = _check(data, scope)
            result, rows = plan.result, plan.result.rows
            # An import that changes nothing writes nothing, not even a batch; a previewed
            # batch is still marked confirmed.
            if result.ok and (plan.has_writes() or not new_batch):
                _claim_batch(batch, plan)
                _write(plan, batch, by)
                register_counts_refresh(
                    province_ids={licence.province_id for licence in plan.licences.values()}
                )
                result.batch = batch
    except IntegrityError as error:
        # Another import or an admin edit wrote the same codes or numbers meanwhile.
        if new_batch:
            batch.pk = None
        else:
            batch.refresh_from_db()
        result = ImportResult(rows=rows)
        result.errors.append(
            Problem(
                None,
                None,
                _(
                    "The register changed while this file was being imported, so nothing was "
                    "written (%(error)s). Import the file again."
                )
                % {"error": error},
            )
        )
    return result


def _claim_batch(batch: ImportBatch, plan) -> None:
    result = plan.result
    now = timezone.now()
    fields = {
        "status": ImportBatchStatus.COMMITTED,
        "committed_at": now,
        "rows": result.rows,
        "counts": result.counts_dict(),
        "errors": [],
        "warnings": [problem.as_dict() for problem in result.warnings],
        "content": None,
    }
    if batch.pk is None:
        for name, value in fields.items():
            setattr(batch, name, value)
        batch.province = plan.batch_province()
        batch.save()
        return
    # A conditional update: of two confirms racing for one batch, only one writes.
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status=ImportBatchStatus.PREVIEWED, sha256=batch.sha256
    ).update(**fields)
    if not claimed:
        raise ImportRefused(_("This import has already been confirmed."))
    for name, value in fields.items():
        setattr(batch, name, value)


# --- Checking -----------------------------------------------------------------------------

INVALID = object()  # a cell with an error: left out of the consistency checks


class _Failure:
    """A cell that failed its column's check; cached like a good value, reported per row."""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message


@dataclass(slots=True)
class _ManufacturerRow:
    row: int
    name: object
    address: object  # None when no row gives one
    address_row: int
    province_id: int | None


@dataclass(slots=True)
class _LicenceRow:
    row: int
    province_id: int
    values: dict  # licence column key → value; None for not given, INVALID after an error
    rows: dict  # licence column key → the row that gave the value


@dataclass(slots=True)
class _ProductRow:
    row: int
    accuracy_class: object
    measuring_range: object
    type_approval_number: object


# The licence's own columns: all rows of a licence must agree on them.
LICENCE_KEYS = (
    "credit_code",
    "issuing_authority",
    "issuing_level",
    "accepted_on",
    "issued_on",
    "expires_on",
    "status",
)
DATE_KEYS = ("accepted_on", "issued_on", "expires_on")
REQUIRED = frozenset(column.key for column in COLUMNS if column.required)
TEXT_LIMITS = {
    "manufacturer_name": Manufacturer._meta.get_field("name").max_length,
    "address": Manufacturer._meta.get_field("address").max_length,
    "product_name": LicensedProduct._meta.get_field("product_name").max_length,
    "model_spec": LicensedProduct._meta.get_field("model_spec").max_length,
    "accuracy_class": LicensedProduct._meta.get_field("accuracy_class").max_length,
    "measuring_range": LicensedProduct._meta.get_field("measuring_range").max_length,
    "issuing_authority": Licence._meta.get_field("issuing_authority").max_length,
}


class _Plan:
    """One run: the reference data, the file's objects by identity, and what to write."""

    def __init__(self, scope: Province | None):
        self.scope = scope
        self.scope_id = None if scope is None else scope.pk
        self.result = ImportResult()
        self.headers: dict[str, str] = {}
        provinces = list(Province.objects.all())
        self.provinces = {province.pk: province for province in provinces}
        self.province_by_abbreviation = {
            abbreviation: province
            for province in provinces
            for abbreviation in province.abbreviations()
        }
        self.province_codes = {province.code for province in provinces}
        categories = list(InstrumentCategory.objects.all())
        self.categories = category_lookup(categories)
        self.category_names = {category.pk: category.name for category in categories}
        self.failures: set = set()  # every _Failure of the run, to spot rows with one fast
        self.date_checks: dict[tuple, dict] = {}
        # The file, by identity.
        self.manufacturers: dict[str, _ManufacturerRow] = {}
        self.licences: dict[str, _LicenceRow] = {}
        self.products: dict[tuple, _ProductRow] = {}
        # What the comparison with the register found: ids, rows to insert, objects to update.
        self.manufacturer_ids: dict[str, int] = {}
        self.licence_ids: dict[str, int] = {}
        self.new_manufacturers: list[tuple] = []
        self.new_licences: list[tuple] = []
        self.new_products: list[tuple] = []
        self.updates: dict[type, dict[int, dict]] = {}  # model → pk → {field: (old, new)}

    def error(self, row, key, message):
        """An error at a row, its column named as the file writes the header."""
        self.result.errors.append(Problem(row, self.header(key) if key else None, message))

    def header(self, key) -> str:
        """The column's header as the file writes it (发证日期（年-月-日）, say)."""
        return self.headers.get(key, COLUMNS_BY_KEY[key].header)

    def has_writes(self) -> bool:
        return bool(
            self.new_manufacturers or self.new_licences or self.new_products or self.updates
        )

    def batch_province(self) -> Province | None:
        """The scope, or else the one province all the file's licences belong to."""
        if self.scope is not None:
            return self.scope
        ids = {licence.province_id for licence in self.licences.values()}
        return self.provinces[ids.pop()] if len(ids) == 1 else None


def _check(data: bytes, scope: Province | None) -> _Plan:
    """Read and check every row, then compare with the register; writes nothing."""
    plan = _Plan(scope)
    result = plan.result
    try:
        header, rows = locate_header(read_rows(data))
        if isinstance(header, MissingHeaders):
            _report_missing_headers(plan, header)
            return plan
        _use_header(plan, header)
        _check_rows(plan, header, rows)
    except UnreadableFile as error:
        logger.info("Unreadable licence list (%s): %s", error.code, error.detail)
        plan.result = ImportResult(unreadable=True, errors=[Problem(None, None, str(error))])
        return plan
    if not result.errors and result.rows == 0:
        result.errors.append(
            Problem(
                None,
                None,
                _(
                    "The file has a header row (row %(row)d) but no data rows below it: there "
                    "is nothing to import."
                )
                % {"row": header.row},
            )
        )
    _compare_with_register(plan)
    if result.errors:
        # Nothing will be written, so nothing is counted as created, updated or unchanged.
        result.manufacturers, result.licences, result.products = Counts(), Counts(), Counts()
        result.changes = []
    else:
        result.new_licences = _new_licences_shown(plan)
    result.ok = not result.errors
    return plan


def _new_licences_shown(plan: _Plan) -> list[NewLicence]:
    """The first licences to be created, in the file's order, with the products they list."""
    shown = {row[0]: [] for row in plan.new_licences[:NEW_LICENCES_SHOWN]}
    for number, category_id, name, model_spec, *_rest in plan.new_products:
        if number in shown:
            shown[number].append(f"{plan.category_names[category_id]} {name} {model_spec}")
    licences = [
        NewLicence(
            row=plan.licences[number].row,
            number=number,
            manufacturer=str(plan.manufacturers[plan.licences[number].values["credit_code"]].name),
            products=products,
        )
        for number, products in shown.items()
    ]
    return sorted(licences, key=lambda licence: licence.row)


def _report_missing_headers(plan: _Plan, missing: MissingHeaders) -> None:
    required = "、".join(column.header for column in COLUMNS if column.required)
    if missing.row is None:
        plan.result.errors.append(
            Problem(
                None,
                None,
                _(
                    "No header row found: none of the first ten rows holds the template's "
                    "headers. Expected a row with %(headers)s."
                )
                % {"headers": required},
            )
        )
        return
    for header in missing.missing:
        plan.result.errors.append(
            Problem(
                missing.row,
                header,
                _(
                    "The required column “%(column)s” is missing from the header row (row "
                    "%(row)d). The header row must hold %(headers)s."
                )
                % {"column": header, "row": missing.row, "headers": required},
            )
        )


def _use_header(plan: _Plan, header: HeaderRow) -> None:
    plan.headers = header.headers
    for key, first, second in header.duplicates:
        plan.error(
            header.row,
            key,
            _(
                "The column “%(column)s” appears twice (columns %(first)s and %(second)s); keep "
                "only one."
            )
            % {
                "column": header.headers[key],
                "first": column_letter(first),
                "second": column_letter(second),
            },
        )
    for index, written in header.unknown:
        plan.result.warnings.append(
            Problem(
                header.row,
                written,
                _("Column %(letter)s “%(column)s” is not a template column and is ignored.")
                % {"letter": column_letter(index), "column": written},
            )
        )


class _Column(dict):
    """One column's cells, converted once per distinct value: cell value → converted value.

    A hit is a plain dict lookup done in C, which is what makes 100,000 rows × 16 cells cheap.
    """

    __slots__ = ("plan", "key", "limit")

    def __init__(self, plan, key):
        super().__init__({None: None})
        self.plan, self.key = plan, key
        self.limit = TEXT_LIMITS.get(key)  # plain text columns take the short way

    def convert_all(self, cells) -> list:
        """The column's cells, converted.

        Text that is mostly distinct (the model column, say) is normalised in a comprehension
        instead: a cache that never hits only costs a call and an entry per cell. Whatever is
        not plain text within the limit still takes the cache, so results are the same.
        """
        sample = cells[:1000]
        if not self.limit or len(set(sample)) * 2 < len(sample):
            return list(map(self.__getitem__, cells))
        normalize, limit, cached = unicodedata.normalize, self.limit, self.__getitem__
        return [
            text
            if value.__class__ is str
            and (text := normalize("NFKC", value).strip())
            and len(text) <= limit
            else cached(value)
            for value in cells
        ]

    def __missing__(self, value):
        kind = value.__class__
        if kind is str and self.limit:
            converted = unicodedata.normalize("NFKC", value).strip() or None
            if converted and len(converted) > self.limit:
                converted = _Failure(_too_long(converted, self.limit))
        elif kind is Formula:
            converted = _Failure(
                _(
                    "The cell holds a formula (%(formula)s), and formulas are not evaluated: "
                    "enter the value itself, %(expected)s."
                )
                % {"formula": value, "expected": COLUMNS_BY_KEY[self.key].expected}
            )
        elif kind is date and self.key in DATE_KEYS:
            converted = value
        else:
            converted = _convert(self.plan, self.key, value)
        if converted.__class__ is _Failure:
            self.plan.failures.add(converted)
        # True == 1 == 1.0 as dict keys: such cells are converted every time, never cached.
        if not (kind is bool or (kind in (int, float) and value in (0, 1))):
            self[value] = converted
        return converted


def _check_rows(plan: _Plan, header: HeaderRow, rows) -> None:
    """The one pass over the rows: convert the cells, report bad ones, group by identity."""
    result = plan.result
    keys = list(header.keys.values())
    width = max(header.keys) + 1
    # The header holds every required column, so these pick at least ten values: tuples.
    cell_values = itemgetter(*header.keys)
    columns = [_Column(plan, key) for key in keys]
    required_values = itemgetter(*(i for i, key in enumerate(keys) if key in REQUIRED))
    blank = {column.key: None for column in COLUMNS}
    failures = plan.failures
    rows = list(rows)
    numbers = [row for row, _values in rows]
    # Converted column by column: map() and zip() then do in C what a loop over the cells of
    # each row would do in Python. The conversions are the same, only their order differs.
    picked = [
        cell_values(values if len(values) >= width else [*values, *[None] * width][:width])
        for _row, values in rows
    ]
    del rows
    by_column = zip(*picked, strict=True) if picked else [()] * len(columns)
    converted_columns = [
        column.convert_all(cells) for column, cells in zip(columns, by_column, strict=True)
    ]
    del picked, by_column
    provincial, valid = IssuingLevel.PROVINCIAL, LicenceStatus.VALID
    date_checks = plan.date_checks
    for row, converted in zip(numbers, zip(*converted_columns, strict=True), strict=True):
        if converted.count(None) == len(converted):
            # Values only in columns that are not the template's (a note under the list, say).
            result.warnings.append(
                Problem(
                    row,
                    None,
                    _("Row %(row)d has no value in any template column and is ignored.")
                    % {"row": row},
                )
            )
            continue
        result.rows += 1
        if result.rows > MAX_DATA_ROWS:
            raise too_many_rows(MAX_DATA_ROWS)
        cells = blank.copy()
        cells.update(zip(keys, converted, strict=True))
        if None in required_values(converted) or not failures.isdisjoint(converted):
            _report_cells(plan, row, cells)
        if cells["issuing_level"] is None:
            cells["issuing_level"] = provincial
        if cells["status"] is None:
            cells["status"] = valid
        checked = date_checks.get(_dates_of(cells))
        if checked is None or checked:  # not yet checked, or with errors to report
            _check_dates(plan, row, cells)
        province_id = _add_licence(plan, row, cells)
        _add_manufacturer(plan, row, cells, province_id)
        _add_product(plan, row, cells)


def _report_cells(plan: _Plan, row: int, cells: dict) -> None:
    """Errors for the row's failed and empty required cells, which are then INVALID."""
    for key, value in cells.items():
        if value is None:
            if key in REQUIRED:
                plan.error(
                    row,
                    key,
                    _("This required cell is empty: expected %(expected)s.")
                    % {"expected": COLUMNS_BY_KEY[key].expected},
                )
                cells[key] = INVALID
        elif value.__class__ is _Failure:
            plan.error(row, key, value.message)
            cells[key] = INVALID


def _convert(plan: _Plan, key: str, value):
    """The cell's value for its column: None when empty, else the value or a _Failure."""
    text = cell_text(value)
    if not text:
        return None
    try:
        return CONVERTERS[key](plan, value, text)
    except CellError as error:
        return _Failure(str(error))
    except ValidationError as error:
        return _Failure(" ".join(error.messages))


def _text(key):
    limit = TEXT_LIMITS[key]

    def convert(plan, value, text):
        if len(text) > limit:
            raise CellError(_too_long(text, limit))
        return text

    return convert


def _too_long(text: str, limit: int) -> str:
    return _("“%(value)s…” is %(length)d characters long; at most %(limit)d are allowed.") % {
        "value": text[:20],
        "length": len(text),
        "limit": limit,
    }


def _licence_number(plan, value, text):
    # Most numbers are written as they are stored, which the pattern alone shows (it holds no
    # space and ends with 号); the others are normalised first.
    match = LICENCE_NUMBER_RE.fullmatch(text)
    number = text if match else normalize_licence_number(text)
    if match is None:
        match = LICENCE_NUMBER_RE.fullmatch(number)
    if match is None:
        validate_licence_number_format(number)  # raises with the register's own message
    province = plan.province_by_abbreviation.get(match["abbr"])
    if province is None:
        raise CellError(
            _("“%(abbr)s” in licence number “%(value)s” is not a province abbreviation.")
            % {"abbr": match["abbr"], "value": number}
        )
    return number, province.pk


def _credit_code(plan, value, text):
    code = normalize_code(text)
    validate_credit_code(code)
    return code


def _category(plan, value, text):
    category_id = plan.categories.get(lookup_key(text))
    if category_id is None:
        raise CellError(
            _(
                "“%(value)s” is not an instrument category of the catalogue: expected one of "
                "%(names)s, or a known alias such as 燃气表."
            )
            % {"value": text, "names": "、".join(plan.category_names.values())}
        )
    return category_id


def _type_approval_number(plan, value, text):
    number = " ".join(text.upper().split())
    if TYPE_APPROVAL_OLD_RE.fullmatch(number):
        return number
    match = TYPE_APPROVAL_NEW_RE.fullmatch(number)
    if match is None:
        validate_type_approval_number(number)  # raises with the register's own message
    if match["province"] not in plan.province_codes:
        raise CellError(
            _("“%(code)s” at the end of “%(value)s” is not a province code (GB/T 2260).")
            % {"code": match["province"], "value": number}
        )
    return number


def _choice(choices):
    lookup = {lookup_key(label): value for label, value in choices.items()}
    expected = "、".join(choices)

    def convert(plan, value, text):
        try:
            return lookup[lookup_key(text)]
        except KeyError:
            raise CellError(
                _("“%(value)s” is not an accepted value: expected %(expected)s.")
                % {"value": text, "expected": expected}
            ) from None

    return convert


def _date(plan, value, text):
    return parse_date(value)


CONVERTERS = {
    "licence_number": _licence_number,
    "manufacturer_name": _text("manufacturer_name"),
    "credit_code": _credit_code,
    "address": _text("address"),
    "category": _category,
    "product_name": _text("product_name"),
    "model_spec": _text("model_spec"),
    "accuracy_class": _text("accuracy_class"),
    "measuring_range": _text("measuring_range"),
    "type_approval_number": _type_approval_number,
    "issuing_authority": _text("issuing_authority"),
    "issuing_level": _choice(ISSUING_LEVELS),
    "accepted_on": _date,
    "issued_on": _date,
    "expires_on": _date,
    "status": _choice(STATUSES),
}


_dates_of = itemgetter(*DATE_KEYS)
_licence_values_of = itemgetter(*LICENCE_KEYS)


def _check_dates(plan: _Plan, row: int, cells: dict) -> None:
    """受理日期 ≤ 发证日期 < 有效期至, with the register's messages; cached per date triple."""
    dates = _dates_of(cells)
    if INVALID in dates:
        return
    errors = plan.date_checks.get(dates)
    if errors is None:
        try:
            validate_licence_dates(*dates)
            errors = {}
        except ValidationError as error:
            errors = {name: " ".join(messages) for name, messages in error.message_dict.items()}
        plan.date_checks[dates] = errors
    for name, message in errors.items():
        plan.error(row, name, message)
        cells[name] = INVALID


def _add_licence(plan: _Plan, row: int, cells: dict) -> int | None:
    """Group the row under its licence; returns the licence's province id."""
    if cells["licence_number"] is INVALID:
        return None
    number, province_id = cells["licence_number"]
    cells["licence_number"] = number
    scope = plan.scope
    if scope is not None and province_id != plan.scope_id:
        plan.error(
            row,
            "licence_number",
            _(
                "Licence %(number)s is a licence of %(province)s (its number starts with "
                "“%(abbr)s”); this import may only contain licences of %(scope)s."
            )
            % {
                "number": number,
                "province": plan.provinces[province_id].name,
                "abbr": number[0],
                "scope": scope.name,
            },
        )
    licence = plan.licences.get(number)
    if licence is None:
        plan.licences[number] = _LicenceRow(
            row,
            province_id,
            dict(zip(LICENCE_KEYS, _licence_values_of(cells), strict=True)),
            dict.fromkeys(LICENCE_KEYS, row),
        )
        return province_id
    known = licence.values
    if _licence_values_of(cells) == _licence_values_of(known):
        return province_id  # the usual case, decided in C: the row repeats the licence's values
    for key in LICENCE_KEYS:
        value, first = cells[key], known[key]
        if value is first or value == first or value is INVALID or value is None:
            continue
        if first is None:  # an optional cell given on a later row only
            known[key], licence.rows[key] = value, row
        elif first is not INVALID:
            plan.error(
                row,
                key,
                _(
                    "Rows %(first)d and %(row)d disagree on the %(column)s of licence "
                    "%(number)s: “%(first_value)s” and “%(value)s”. All rows of a licence must "
                    "give the same licence details."
                )
                % {
                    "first": licence.rows[key],
                    "row": row,
                    "column": plan.header(key),
                    "number": number,
                    "first_value": _display(first),
                    "value": _display(value),
                },
            )
    return province_id


def _add_manufacturer(plan: _Plan, row: int, cells: dict, province_id: int | None) -> None:
    code = cells["credit_code"]
    if code is INVALID:
        return
    name, address = cells["manufacturer_name"], cells["address"]
    manufacturer = plan.manufacturers.get(code)
    if manufacturer is None:
        plan.manufacturers[code] = _ManufacturerRow(row, name, address, row, province_id)
        return
    if name != manufacturer.name and INVALID not in (name, manufacturer.name):
        plan.error(
            row,
            "manufacturer_name",
            _(
                "Rows %(first)d and %(row)d give different names for the manufacturer with "
                "credit code %(code)s: “%(first_value)s” and “%(value)s”. All rows of a "
                "manufacturer must give the same name."
            )
            % {
                "first": manufacturer.row,
                "row": row,
                "code": code,
                "first_value": manufacturer.name,
                "value": name,
            },
        )
    if address is not None and address != manufacturer.address and address is not INVALID:
        if manufacturer.address is None:
            manufacturer.address, manufacturer.address_row = address, row
        elif manufacturer.address is not INVALID:
            plan.error(
                row,
                "address",
                _(
                    "Rows %(first)d and %(row)d give different addresses for the manufacturer "
                    "with credit code %(code)s: “%(first_value)s” and “%(value)s”."
                )
                % {
                    "first": manufacturer.address_row,
                    "row": row,
                    "code": code,
                    "first_value": manufacturer.address,
                    "value": address,
                },
            )
    if province_id is not None and province_id != manufacturer.province_id:
        if manufacturer.province_id is None:
            manufacturer.province_id = province_id
        else:
            plan.error(
                row,
                "credit_code",
                _(
                    "The manufacturer with credit code %(code)s has a licence of %(first_province)s "
                    "in row %(first)d and one of %(province)s in row %(row)d; a manufacturer and "
                    "its licences belong to one province."
                )
                % {
                    "code": code,
                    "first_province": plan.provinces[manufacturer.province_id].name,
                    "first": manufacturer.row,
                    "province": plan.provinces[province_id].name,
                    "row": row,
                },
            )


def _add_product(plan: _Plan, row: int, cells: dict) -> None:
    key = (cells["licence_number"], cells["category"], cells["product_name"], cells["model_spec"])
    if INVALID in key:
        return
    product = plan.products.get(key)
    if product is None:
        plan.products[key] = _ProductRow(
            row, cells["accuracy_class"], cells["measuring_range"], cells["type_approval_number"]
        )
        return
    number, category_id, name, model_spec = key
    plan.error(
        row,
        "product_name",
        _(
            "Rows %(first)d and %(row)d list the same product twice: licence %(number)s, "
            "%(category)s, “%(name)s”, model “%(model)s”. List each product of a licence once."
        )
        % {
            "first": product.row,
            "row": row,
            "number": number,
            "category": plan.category_names[category_id],
            "name": name,
            "model": model_spec,
        },
    )


ISSUING_LEVEL_LABELS = {value: label for label, value in ISSUING_LEVELS.items()}
STATUS_LABELS = {value: label for label, value in STATUSES.items()}


def _display(value) -> str:
    """A value as the file writes it: 2016-05-12, 省级, 有效."""
    if value is None or value is INVALID:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return ISSUING_LEVEL_LABELS.get(value) or STATUS_LABELS.get(value) or value
    return str(value)


# --- Comparing with the register ----------------------------------------------------------


def _fetch(model, lookup: str, keys, fields) -> list[tuple]:
    """values_list(*fields) of the rows whose ``lookup`` is in keys, CHUNK_SIZE keys a query.

    Django compiles the query once per chunk length, and converts the rows as values_list()
    does; the keys are passed as they are: letting ``__in`` prepare each of them again took a
    quarter of a second at 100,000 products. Keys it would prepare otherwise (or drop, as it
    drops None and duplicates) take the plain queryset.
    """
    keys = list(keys)
    rows = []
    compiled = {}  # chunk length → (compiler, sql)
    with connection.cursor() as cursor:
        for start in range(0, len(keys), CHUNK_SIZE):
            chunk = keys[start : start + CHUNK_SIZE]
            queryset = None
            if len(chunk) not in compiled:
                queryset = (
                    model._base_manager.filter(**{f"{lookup}__in": chunk})
                    .order_by()
                    .values_list(*fields)
                )
                compiler = queryset.query.get_compiler(using=queryset.db)
                sql, params = compiler.as_sql()
                compiled[len(chunk)] = (compiler, sql) if list(params) == chunk else None
            if compiled[len(chunk)] is None:
                rows.extend(
                    queryset
                    if queryset is not None
                    else model._base_manager.filter(**{f"{lookup}__in": chunk})
                    .order_by()
                    .values_list(*fields)
                )
                continue
            compiler, sql = compiled[len(chunk)]
            cursor.execute(sql, chunk)
            rows.extend(compiler.results_iter(results=[cursor.fetchall()], tuple_expected=True))
    return rows


def _same_text(stored, new) -> bool:
    """Stored text that normalises to the file's text is unchanged: no rewrite, no history."""
    return stored == new or cell_text(stored) == new


def _compare_with_register(plan: _Plan) -> None:
    writing = not plan.result.errors
    _compare_manufacturers(plan, writing)
    _compare_licences(plan, writing)
    _compare_products(plan, writing)


def _note_update(plan: _Plan, model, pk, changed: dict, row: int, identity: str, shown=None):
    """Note an update ({field name: (old, new)}) for the writing and for the preview.

    ``shown`` gives display values ({field name: (old, new)}) where the raw ones are ids.
    """
    meta = model._meta
    plan.updates.setdefault(model, {})[pk] = changed
    shown = shown or {}
    plan.result.changes.append(
        Change(
            row,
            str(meta.verbose_name),
            identity,
            {
                str(meta.get_field(name).verbose_name): shown.get(
                    name, (_display(old), _display(new))
                )
                for name, (old, new) in changed.items()
            },
        )
    )


def _compare_manufacturers(plan: _Plan, writing: bool) -> None:
    counts = plan.result.manufacturers
    fetched = ["id", "credit_code", "name", "address", "province_id"]
    at = {name: position for position, name in enumerate(fetched)}
    existing = {
        values[at["credit_code"]]: values
        for values in _fetch(Manufacturer, "credit_code", plan.manufacturers, fetched)
    }
    for code, item in plan.manufacturers.items():
        stored = existing.get(code)
        if stored is None:
            counts.created += 1
            if writing:
                plan.new_manufacturers.append(
                    (item.name, code, item.province_id, item.address or "")
                )
            continue
        plan.manufacturer_ids[code] = stored[at["id"]]
        stored_province = stored[at["province_id"]]
        if item.province_id is not None and stored_province != item.province_id:
            plan.error(
                item.row,
                "credit_code",
                _(
                    "Credit code %(code)s is already registered for a manufacturer of "
                    "%(province)s, so it cannot hold licences of %(file_province)s. Check the "
                    "code, or ask the Metrology Department to correct the register."
                )
                % {
                    "code": code,
                    "province": plan.provinces[stored_province].name,
                    "file_province": plan.provinces[item.province_id].name,
                },
            )
            continue
        changed = {}
        if item.name is not INVALID and not _same_text(stored[at["name"]], item.name):
            changed["name"] = (stored[at["name"]], item.name)
        address = item.address
        if address not in (None, INVALID) and not _same_text(stored[at["address"]], address):
            changed["address"] = (stored[at["address"]], address)
        if not changed:
            counts.unchanged += 1
            continue
        counts.updated += 1
        identity = f"{stored[at['name']]} ({code})"
        _note_update(plan, Manufacturer, stored[at["id"]], changed, item.row, identity)


LICENCE_FIELDS = (
    "issuing_authority",
    "issuing_level",
    "accepted_on",
    "issued_on",
    "expires_on",
    "status",
)


def _compare_licences(plan: _Plan, writing: bool) -> None:
    counts = plan.result.licences
    fetched = [
        "id",
        "number",
        "province_id",
        *LICENCE_FIELDS,
        "manufacturer__credit_code",
        "manufacturer__name",
    ]
    at = {name: position for position, name in enumerate(fetched)}
    existing = {
        values[at["number"]]: values for values in _fetch(Licence, "number", plan.licences, fetched)
    }
    # The usual case, a licence as registered, is one comparison of two tuples in C: then
    # every value is given, equal, and (checked with the rows) valid, so nothing below applies.
    stored_values = itemgetter(
        at["province_id"], at["manufacturer__credit_code"], *(at[name] for name in LICENCE_FIELDS)
    )
    file_values = itemgetter("credit_code", *LICENCE_FIELDS)
    licence_ids = plan.licence_ids
    unchanged = 0
    for number, item in plan.licences.items():
        values = item.values
        stored = existing.get(number)
        if stored is None:
            counts.created += 1
            if writing:
                plan.new_licences.append(
                    (number, values["credit_code"], item.province_id)
                    + tuple(values[name] for name in LICENCE_FIELDS)
                )
            continue
        licence_ids[number] = stored[at["id"]]
        if stored_values(stored) == (item.province_id, *file_values(values)):
            unchanged += 1
            continue
        stored_code = stored[at["manufacturer__credit_code"]]
        if values["credit_code"] is not INVALID and stored_code != values["credit_code"]:
            plan.error(
                item.rows["credit_code"],
                "credit_code",
                _(
                    "Licence %(number)s belongs to the manufacturer %(name)s (%(code)s) in the "
                    "register, not to %(file_code)s. An import does not move a licence to "
                    "another manufacturer: correct the credit code, or change the licence in "
                    "the register."
                )
                % {
                    "number": number,
                    "name": stored[at["manufacturer__name"]],
                    "code": stored_code,
                    "file_code": values["credit_code"],
                },
            )
            continue
        if INVALID in values.values():
            continue
        changed = {}
        if stored[at["province_id"]] != item.province_id:
            changed["province"] = (stored[at["province_id"]], item.province_id)
        for name in LICENCE_FIELDS:
            new, old = values[name], stored[at[name]]
            if new is None:  # 受理日期 not given: the register keeps its date
                continue
            if not (_same_text(old, new) if isinstance(new, str) else old == new):
                changed[name] = (old, new)
        merged = [changed[name][1] if name in changed else stored[at[name]] for name in DATE_KEYS]
        try:
            validate_licence_dates(*merged)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                plan.error(item.rows[name], name, " ".join(messages))
            continue
        if not changed:
            counts.unchanged += 1
            continue
        counts.updated += 1
        shown = {}
        if "province" in changed:
            shown["province"] = tuple(plan.provinces[pk].name for pk in changed["province"])
        _note_update(plan, Licence, stored[at["id"]], changed, item.row, number, shown)
    counts.unchanged += unchanged


def _compare_products(plan: _Plan, writing: bool) -> None:
    counts = plan.result.products
    numbers = {item.type_approval_number for item in plan.products.values()} - {None, INVALID}
    # Each certificate's manufacturer comes in the same query as its id: a product may name
    # only its own manufacturer's type approval.
    approvals = {
        certificate: (approval_id, owner_code)
        for certificate, approval_id, owner_code in _fetch(
            TypeApproval,
            "certificate_number",
            numbers,
            ["certificate_number", "id", "manufacturer__credit_code"],
        )
    }
    fetched = [
        "id",
        "licence_id",
        "category_id",
        "product_name",
        "model_spec",
        "accuracy_class",
        "measuring_range",
        "type_approval_number",
        "type_approval_id",
        # What the stored link points to, which may differ from the stored number (the admin
        # changes the link alone): for the preview, and to report a link to another
        # manufacturer's certificate that the file leaves as it is.
        "type_approval__certificate_number",
        "type_approval__manufacturer__credit_code",
    ]
    at = {name: position for position, name in enumerate(fetched)}
    licence_numbers = {licence_id: number for number, licence_id in plan.licence_ids.items()}
    existing = {}
    identity_of = itemgetter(
        at["licence_id"], at["category_id"], at["product_name"], at["model_spec"]
    )
    for stored in _fetch(LicensedProduct, "licence_id", licence_numbers, fetched):
        licence_id, category_id, name, model_spec = identity_of(stored)
        key = (
            licence_numbers[licence_id],
            category_id,
            name if name.isprintable() and name == name.strip() else cell_text(name),
            model_spec
            if model_spec.isprintable() and model_spec == model_spec.strip()
            else cell_text(model_spec),
        )
        existing.setdefault(key, stored)
    # As for licences: a product as registered, every value given and equal, is one comparison.
    stored_values = itemgetter(
        at["accuracy_class"],
        at["measuring_range"],
        at["type_approval_number"],
        at["type_approval_id"],
    )
    unchanged = 0
    for key, item in plan.products.items():
        number, category_id, name, model_spec = key
        approval_number = item.type_approval_number
        if approval_number is INVALID:
            approval_number = None
        approval_id = None
        if approval_number is not None and approval_number in approvals:
            approval_id, owner_code = approvals[approval_number]
            problem = _other_manufacturers_approval(plan, number, approval_number, owner_code)
            if problem is not None:
                plan.error(item.row, "type_approval_number", problem)
                continue
        stored = existing.get(key)
        if stored is not None and stored_values(stored) == (
            item.accuracy_class,
            item.measuring_range,
            approval_number,
            approval_id,
        ):
            unchanged += 1
            continue
        if stored is None:
            counts.created += 1
            if writing:
                plan.new_products.append(
                    (
                        number,
                        category_id,
                        name,
                        model_spec,
                        _given(item.accuracy_class),
                        _given(item.measuring_range),
                        approval_number or "",
                        approval_id,
                    )
                )
            continue
        changed, shown = {}, {}
        for field_name in ("accuracy_class", "measuring_range"):
            new, old = getattr(item, field_name), stored[at[field_name]]
            if new is not None and new is not INVALID and not _same_text(old, new):
                changed[field_name] = (old, new)
        if approval_number is not None:
            stored_number = stored[at["type_approval_number"]]
            if not _same_text(stored_number, approval_number):
                changed["type_approval_number"] = (stored_number, approval_number)
            stored_id = stored[at["type_approval_id"]]
            if stored_id != approval_id:
                changed["type_approval"] = (stored_id, approval_id)
                shown["type_approval"] = (
                    stored[at["type_approval__certificate_number"]] or "",
                    "" if approval_id is None else approval_number,
                )
        elif item.type_approval_number is None and stored[at["type_approval_id"]] is not None:
            # The file names no certificate, so the import keeps the stored link (it never
            # blanks a value); a link to another manufacturer's certificate is not kept silently.
            linked = stored[at["type_approval__certificate_number"]]
            owner_code = stored[at["type_approval__manufacturer__credit_code"]]
            problem = _other_manufacturers_approval(plan, number, linked, owner_code)
            if problem is not None:
                plan.result.warnings.append(
                    Problem(
                        item.row,
                        plan.header("type_approval_number"),
                        _(
                            "%(problem)s The register links this product to it and the file "
                            "names no certificate, so the import leaves the link as it is: "
                            "correct the product in the register."
                        )
                        % {"problem": problem},
                    )
                )
        if not changed:
            counts.unchanged += 1
            continue
        counts.updated += 1
        identity = f"{number} {plan.category_names[category_id]} {name} {model_spec}"
        _note_update(plan, LicensedProduct, stored[at["id"]], changed, item.row, identity, shown)
    counts.unchanged += unchanged


def _other_manufacturers_approval(plan: _Plan, number: str, certificate: str, owner_code: str):
    """The rule's message if the certificate is not the file's manufacturer's for licence number.

    The file's credit code, not the register's: a manufacturer the import creates has no type
    approval yet, so any registered certificate is another manufacturer's.
    """
    code = plan.licences[number].values["credit_code"]
    manufacturer = plan.manufacturers.get(code)
    if manufacturer is None or manufacturer.name is INVALID:
        return None  # the cell's own error is reported, and nothing will be written
    try:
        validate_type_approval_owner(
            certificate,
            owner_code,
            manufacturer_name=manufacturer.name,
            manufacturer_credit_code=code,
        )
    except ValidationError as error:
        return " ".join(error.messages)
    return None


def _given(value) -> str:
    return "" if value is None or value is INVALID else value


# --- Writing ------------------------------------------------------------------------------


def _write(plan: _Plan, batch: ImportBatch, by) -> None:
    """Insert the new rows, update the changed ones, and write the history of both."""
    now = timezone.now()
    reason = _("Import of %(file)s (import batch %(id)s)") % {
        "file": batch.file_name,
        "id": batch.pk,
    }
    stamps = {"created_at": now, "updated_at": now, "import_batch": batch.pk}
    if plan.new_manufacturers:
        _insert(
            Manufacturer,
            ("name", "credit_code", "province", "address"),
            plan.new_manufacturers,
            stamps,
        )
        codes = [row[1] for row in plan.new_manufacturers]
        plan.manufacturer_ids.update(
            _fetch(Manufacturer, "credit_code", codes, ["credit_code", "id"])
        )
    if plan.new_licences:
        ids = plan.manufacturer_ids
        _insert(
            Licence,
            ("number", "manufacturer", "province", *LICENCE_FIELDS),
            [(row[0], ids[row[1]], *row[2:]) for row in plan.new_licences],
            stamps,
        )
        numbers = [row[0] for row in plan.new_licences]
        plan.licence_ids.update(_fetch(Licence, "number", numbers, ["number", "id"]))
    if plan.new_products:
        ids = plan.licence_ids
        _insert(
            LicensedProduct,
            (
                "licence",
                "category",
                "product_name",
                "model_spec",
                "accuracy_class",
                "measuring_range",
                "type_approval_number",
                "type_approval",
            ),
            [(ids[row[0]], *row[1:]) for row in plan.new_products],
            {"import_batch": batch.pk},
        )
    for model, created in (
        (Manufacturer, plan.new_manufacturers),
        (Licence, plan.new_licences),
        (LicensedProduct, plan.new_products),
    ):
        if created:
            _copy_to_history(model, "+", by, reason, now, batch=batch)
    # A licence's products are part of the licence: an edit form of the licence loaded before
    # the import must not save over products the import added or changed (licensing/concurrency.py).
    # Before the licences' own updates, so that their "~" history records carry the new version.
    _raise_licence_versions(plan)
    for model, changes in plan.updates.items():
        _update(model, changes, now)
        _copy_to_history(model, "~", by, reason, now, pks=list(changes))


def _insert(model, names, rows, constants) -> None:
    """INSERT rows (tuples of the named fields' values): COPY on PostgreSQL, else executemany.

    Measured at 100,000 products, bulk_create spends ~6 µs per value compiling SQL and building
    model instances that are thrown away; one prepared statement (SQLite) or COPY (PostgreSQL)
    costs a fraction of that. The values are already clean (checked above); the other columns
    get ``constants`` or their default. The "+" history records follow in
    _insert_creation_history.
    """
    meta = model._meta
    named = [meta.get_field(name) for name in names]
    others = [
        field for field in meta.concrete_fields if not field.primary_key and field not in named
    ]
    extra = tuple(
        field.get_db_prep_save(
            constants[field.name] if field.name in constants else field.get_default(), connection
        )
        for field in others
    )
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(field.column) for field in (*named, *others))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + extra)
            return
        placeholders = ", ".join(["%s"] * (len(named) + len(others)))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        for start in range(0, len(rows), BATCH_SIZE):
            cursor.executemany(sql, [row + extra for row in rows[start : start + BATCH_SIZE]])


def _raise_licence_versions(plan: _Plan) -> None:
    """Raise the version of the existing licences whose products this import adds or changes."""
    new_licences = {row[0] for row in plan.new_licences}
    licence_ids = {
        plan.licence_ids[row[0]] for row in plan.new_products if row[0] not in new_licences
    }
    changed_products = list(plan.updates.get(LicensedProduct, {}))
    for start in range(0, len(changed_products), CHUNK_SIZE):
        licence_ids.update(
            LicensedProduct.objects.filter(
                pk__in=changed_products[start : start + CHUNK_SIZE]
            ).values_list("licence_id", flat=True)
        )
    ids = sorted(licence_ids)
    for start in range(0, len(ids), CHUNK_SIZE):
        Licence.objects.filter(pk__in=ids[start : start + CHUNK_SIZE]).update(
            version=F("version") + 1
        )


def _update(model, changes: dict[int, dict], now) -> None:
    """UPDATE just the changed fields (and updated_at, and the version, which every change
    raises): one prepared statement per set of fields.

    bulk_update's CASE … WHEN statements took 10 s for 33,000 licences on SQLite.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    names_of = {f.name for f in meta.fields}
    stamp = meta.get_field("updated_at") if "updated_at" in names_of else None
    version = meta.get_field("version") if "version" in names_of else None
    groups: dict[tuple, list] = {}
    for pk, changed in changes.items():
        names = tuple(sorted(changed))
        groups.setdefault(names, []).append((*(changed[name][1] for name in names), pk))
    with connection.cursor() as cursor:
        for names, rows in groups.items():
            assignments = [f"{quote(meta.get_field(name).column)} = %s" for name in names]
            extra = ()
            if stamp is not None:
                assignments.append(f"{quote(stamp.column)} = %s")
                extra = (stamp.get_db_prep_save(now, connection),)
            if version is not None:
                assignments.append(f"{quote(version.column)} = {quote(version.column)} + 1")
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
                f"WHERE {quote(meta.pk.column)} = %s"
            )
            params = [(*row[:-1], *extra, row[-1]) for row in rows]
            for start in range(0, len(params), BATCH_SIZE):
                cursor.executemany(sql, params[start : start + BATCH_SIZE])


def _copy_to_history(model, history_type, by, reason, now, *, batch=None, pks=()) -> None:
    """History records of the rows a batch created ("+") or of updated rows ("~").

    Copied inside the database with INSERT … SELECT, so a record holds exactly what was
    written, like simple-history's own; the user and the batch are in every record.
    """
    history = model.history.model
    own = {field.attname: field.column for field in model._meta.concrete_fields}
    copies = {field.attname: field.column for field in history._meta.concrete_fields}
    tracked = [field.attname for field in history.tracked_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(column)
        for column in (
            *(copies[name] for name in tracked),
            copies["history_date"],
            copies["history_change_reason"],
            copies["history_type"],
            copies["history_user_id"],
        )
    )
    head = (
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(quote(own[name]) for name in tracked)}, %s, %s, %s, %s "
        f"FROM {quote(model._meta.db_table)} WHERE "
    )
    params = [
        history._meta.get_field("history_date").get_db_prep_save(now, connection),
        reason,
        history_type,
        by.pk if by is not None else None,
    ]
    with connection.cursor() as cursor:
        if batch is not None:
            cursor.execute(head + f"{quote(own['import_batch_id'])} = %s", [*params, batch.pk])
        for start in range(0, len(pks), CHUNK_SIZE):
            chunk = pks[start : start + CHUNK_SIZE]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                head + f"{quote(model._meta.pk.column)} IN ({placeholders})", [*params, *chunk]
            )
