"""The admin's search over the register: what each search box term matches, read off indexes.

Django's own admin search ORs ``icontains`` over every search field in one query, joined
through the licensed products (a million rows) and made DISTINCT: seconds on a national
register, whatever the term. Here each term is the set of the matching ids read from each
table on its own, each through an index on PostgreSQL:

- a full licence number or unified social credit code is an exact lookup (unique indexes);
- licence numbers, credit codes and models match substrings of three characters or more
  (pg_trgm GIN indexes on ``UPPER(column)``, what ``icontains`` compares; a shorter fragment of
  a code says nothing, so such a term does not look at these columns);
- manufacturer and product names match any substring, one character or more: Chinese names
  are searched by two characters (恒信) as often as by more, and no trigram serves those. A GIN
  index on the array of a name's characters (``string_to_array(UPPER(name), NULL)``) gives the
  names holding every character of the term, and ``icontains`` keeps those holding the term.
  Built-in functions only, so the index needs no function of ours in the database;
- other columns (small tables) are compared with ``icontains``.

SQLite has none of these indexes and scans: the same terms match the same rows.

The ids of a term are read first, table by table (``_matching_ids``: the table's own columns
ORed with its foreign keys ``__in`` the ids read further along the path), each read stopping
after SEARCH_CAP rows; the list is then filtered on that literal list, so that the database
plans its page and count knowing how few they are (a subquery makes PostgreSQL guess, and walk
the list's order index in vain when it guesses wrong). A term that matches more rows than that
in some table (有限公司, 台秤) is common enough that the list's own order meets its matches at
once: it becomes a condition on each row instead (``_row_condition``: joins along foreign keys,
EXISTS along reverse ones, never a join that repeats rows), and the list does not count it
(licensing/admin_lists.py shows "more than" the rows up to the page and a next page).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q
from django.utils.text import smart_split, unescape_string_literal

from licensing.models import Licence, LicensedProduct, Manufacturer
from licensing.validators import (
    CREDIT_CODE_CHARSET,
    LICENCE_NUMBER_RE,
    normalize_code,
    normalize_licence_number,
    normalize_text,
)

# Ids of one term read before the list is filtered on them (see the module's docstring).
SEARCH_CAP = 5_000
# Shortest fragment of a number, code or model that is searched for.
MIN_CODE_FRAGMENT = 3

# How a column is searched.
LICENCE_NUMBER = "licence_number"  # exact for a full number, else a fragment (trigram index)
CREDIT_CODE = "credit_code"  # exact for a full code, else a fragment (trigram index)
CODE = "code"  # a fragment of three characters or more (trigram index)
NAME = "name"  # any fragment (index on the characters on PostgreSQL)
TEXT = "text"  # any fragment, compared row by row (small tables)

COLUMN_KINDS = {
    (Licence, "number"): LICENCE_NUMBER,
    (Manufacturer, "credit_code"): CREDIT_CODE,
    (Manufacturer, "name"): NAME,
    (LicensedProduct, "product_name"): NAME,
    (LicensedProduct, "model_spec"): CODE,
}

# The PostgreSQL indexes that serve these searches (created by migration 0009 on PostgreSQL
# only): (table's model, column, "trgm" or "chars").
POSTGRES_INDEXES = [
    (Licence, "number", "trgm"),
    (Manufacturer, "credit_code", "trgm"),
    (Manufacturer, "name", "chars"),
    (LicensedProduct, "product_name", "chars"),
    (LicensedProduct, "model_spec", "trgm"),
]


class HoldsCharacters(Func):
    """True where ``UPPER(column)`` holds every character of ``characters`` (PostgreSQL).

    The same expression as the index (migration 0009), so that the index serves it.
    """

    output_field = BooleanField()

    def __init__(self, column: str, characters: str):
        super().__init__(F(column))
        self.characters = sorted(set(characters))

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"string_to_array(UPPER({sql}), NULL) @> %s::text[]",
            [*params, self.characters],
        )


@dataclass(frozen=True)
class Term:
    """One search term, normalised, and what its shape says it is."""

    text: str  # NFKC, stripped, upper case (as icontains compares)
    licence_number: str = ""  # the normalised number, when the term is a whole licence number
    credit_code: str = ""  # the normalised code, when the term is a whole credit code

    @classmethod
    def parse(cls, raw: str) -> "Term":
        text = normalize_text(raw).upper()
        code = normalize_code(raw)
        if len(code) == 18 and set(code) <= set(CREDIT_CODE_CHARSET):
            return cls(text=text, credit_code=code)
        number = normalize_licence_number(raw)
        if LICENCE_NUMBER_RE.fullmatch(number):
            return cls(text=text, licence_number=number)
        return cls(text=text)


def search_terms(search_term: str) -> list[Term]:
    """The box's terms, split as Django's admin splits them ("quoted phrases" stay whole)."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        term = Term.parse(bit)
        if term.text:
            terms.append(term)
    return terms


def _column_condition(model, column: str, term: Term, *, prefix: str = "", indexed: bool):
    """The term's condition on ``model.column`` (reached from the filtered model through
    ``prefix``), or None where the column cannot match the term.

    ``indexed``: in the form an index serves (the characters' array on PostgreSQL), for a
    lookup of the matching rows; otherwise the plain comparison, for a check row by row.
    """
    kind = COLUMN_KINDS.get((model, column), TEXT)
    path = prefix + column
    if term.licence_number or term.credit_code:
        # A whole number or code is looked up where it can be, and nowhere else.
        if kind == LICENCE_NUMBER and term.licence_number:
            return Q(**{path: term.licence_number})
        if kind == CREDIT_CODE and term.credit_code:
            return Q(**{path: term.credit_code})
        return None
    if kind in (LICENCE_NUMBER, CREDIT_CODE, CODE) and len(term.text) < MIN_CODE_FRAGMENT:
        return None
    condition = Q(**{f"{path}__icontains": term.text})
    if indexed and kind == NAME and connection.vendor == "postgresql":
        return Q(HoldsCharacters(path, term.text)) & condition
    return condition


def _tree(model, search_fields) -> dict:
    """The search fields as a tree of relations: {column: None, relation: {…}}."""
    tree = {}
    for path in search_fields:
        node, current = tree, model
        *steps, column = path.split("__")
        for step in steps:
            field = current._meta.get_field(step)
            if not (field.many_to_one or field.one_to_many):
                raise ValueError(f"search field {path!r}: only foreign keys can be followed")
            node = node.setdefault(step, {})
            current = field.related_model
        node[column] = None
    return tree


class TooMany(Exception):
    """More rows match than SEARCH_CAP: the term is searched row by row instead."""


def _read(values) -> list:
    found = list(values[: SEARCH_CAP + 1])
    if len(found) > SEARCH_CAP:
        raise TooMany
    return found


def _matching_ids(model, tree: dict, term: Term, column: str = "pk"):
    """``column`` of the ``model`` rows the tree matches (repeats allowed), or None where
    nothing in it can match; raises TooMany.

    One query per table: the table's own columns and its foreign keys to the rows found
    further along (``__in`` the ids read there), ORed; a reverse relation reads its rows'
    foreign key in a query of its own.
    """
    matches = Q()
    extra = []
    for name, subtree in tree.items():
        if subtree is None:
            condition = _column_condition(model, name, term, indexed=True)
        else:
            field = model._meta.get_field(name)
            if field.many_to_one:
                ids = _matching_ids(field.related_model, subtree, term)
                condition = None if ids is None else Q(**{f"{field.attname}__in": set(ids)})
            else:  # a reverse foreign key: the related rows name this table's rows
                ids = _matching_ids(field.related_model, subtree, term, field.field.attname)
                if ids is not None:
                    extra.append(ids)
                condition = None
        if condition is not None:
            matches |= condition
    if not matches and not extra:
        return None
    found = []
    if matches:
        found = _read(model._base_manager.filter(matches).order_by().values_list(column, flat=True))
    if extra:
        if column != "pk":
            # The reverse relation's ids are this table's: the rows behind them are needed.
            extra_ids = {pk for ids in extra for pk in ids}
            found += _read(
                model._base_manager.filter(pk__in=extra_ids)
                .order_by()
                .values_list(column, flat=True)
            )
        else:
            found += [pk for ids in extra for pk in ids]
    if len(found) > SEARCH_CAP:
        raise TooMany
    return found


def _row_condition(model, tree: dict, term: Term, prefix: str = ""):
    """The term's condition on each row: joins along foreign keys (one row each), EXISTS along
    reverse ones (never a join that repeats rows). None: nothing can match."""
    matches = Q()
    for name, subtree in tree.items():
        if subtree is None:
            condition = _column_condition(model, name, term, prefix=prefix, indexed=False)
        else:
            field = model._meta.get_field(name)
            if field.many_to_one:
                condition = _row_condition(field.related_model, subtree, term, f"{prefix}{name}__")
            else:
                inner = _row_condition(field.related_model, subtree, term)
                outer = OuterRef(prefix.removesuffix("__") or "pk")
                condition = (
                    None
                    if inner is None
                    else Q(
                        Exists(
                            field.related_model._base_manager.filter(
                                inner, **{field.field.name: outer}
                            )
                        )
                    )
                )
        if condition is not None:
            matches |= condition
    return matches or None


@dataclass
class SearchResult:
    queryset: object
    many: bool  # some term matched more than SEARCH_CAP rows: checked row by row


def search(queryset, search_fields, search_term: str) -> SearchResult:
    """``queryset`` narrowed to the rows every term of ``search_term`` matches (no repeats)."""
    model = queryset.model
    tree = _tree(model, search_fields)
    many = False
    for term in search_terms(search_term):
        try:
            ids = _matching_ids(model, tree, term)
        except TooMany:
            many = True
            queryset = queryset.filter(_row_condition(model, tree, term))
            continue
        if ids is None:
            return SearchResult(queryset.none(), many)
        queryset = queryset.filter(pk__in=set(ids))
    return SearchResult(queryset, many)
