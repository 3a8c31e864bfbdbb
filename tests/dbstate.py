"""The whole database as plain values, to tell what a request wrote."""

from functools import cache

from django.apps import apps
from django.db import connection

SKIPPED_APPS = {"sessions"}  # signing in writes a session; it is not data
TIMESTAMPS = {"updated_at", "version"}  # moved by every save, even one that changes nothing


# Rows every allowed write adds or replaces besides the data itself: the admin's log and the
# register's counts (licensing/statistics.py).
DERIVED = {"admin.logentry", "licensing.registercount"}


def _is_audit(model) -> bool:
    """History records, the admin's log and the register's counts: an allowed write moves them."""
    return model._meta.label_lower in DERIVED or model.__name__.startswith("Historical")


@cache
def _tables() -> tuple:
    """(label, SELECT of pk and fields, positions of the non-timestamp fields, is audit)."""
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in SKIPPED_APPS:
            continue
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        sql, params = (
            model._base_manager.order_by()
            .values_list("pk", *(field.attname for field in fields))
            .query.sql_with_params()
        )
        assert not params, model  # a plain SELECT of the table, compiled once
        kept = tuple(index for index, field in enumerate(fields) if field.name not in TIMESTAMPS)
        tables.append((model._meta.label_lower, sql, kept, _is_audit(model)))
    return tuple(tables)


def snapshot() -> dict:
    """Every row of every table: {model label: {pk: values as the database returns them}}."""
    state = {}
    with connection.cursor() as cursor:
        for label, sql, _kept, _audit in _tables():
            cursor.execute(sql)
            state[label] = {
                row[0]: tuple(
                    bytes(value) if isinstance(value, memoryview) else value for value in row[1:]
                )
                for row in cursor.fetchall()
            }
    return state


def changed_rows(before: dict, after: dict, *, audit=True, timestamps=True) -> set:
    """(model label, pk) of every row added, removed or changed.

    ``audit=False`` leaves out history records and the admin log; ``timestamps=False`` ignores
    ``updated_at``.
    """
    changed = set()
    for label, _sql, kept, is_audit in _tables():
        if is_audit and not audit:
            continue
        old, new = before.get(label, {}), after.get(label, {})
        for pk in old.keys() | new.keys():
            a, b = old.get(pk), new.get(pk)
            if a == b:
                continue
            same_values = (
                not timestamps
                and a is not None
                and b is not None
                and all(a[index] == b[index] for index in kept)
            )
            if same_values:
                continue
            changed.add((label, pk))
    return changed


class Writes:
    """The database before a request, compared with it after (taken once, on first use)."""

    def __init__(self):
        self.before = snapshot()
        self._after = None

    @property
    def after(self) -> dict:
        if self._after is None:
            self._after = snapshot()
        return self._after

    def all(self) -> set:
        """Every changed row, audit records included."""
        return changed_rows(self.before, self.after)

    def register(self) -> set:
        """Changed rows of the data itself: history records and the admin log left out."""
        return changed_rows(self.before, self.after, audit=False)

    def values(self) -> set:
        """Rows whose values changed: as register(), and a bare save's updated_at ignored."""
        return changed_rows(self.before, self.after, audit=False, timestamps=False)


def rows_outside_province(changed: set, province) -> set[tuple[str, object]]:
    """Of the changed rows of province-owned models, those not (or no longer) in ``province``."""
    outside = set()
    for label, pk in changed:
        model = apps.get_model(label)
        manager = model._default_manager
        if not hasattr(manager, "in_province"):
            continue
        if not manager.in_province(province).filter(pk=pk).exists():
            outside.add((label, pk))
    return outside
