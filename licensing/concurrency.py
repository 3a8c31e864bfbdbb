"""Concurrent edits of the register: a save from a stale form is refused, and shows what changed.

Every register row has a version (licensing.models.VersionField) that each save raises, and
the import's UPDATEs too. An admin change form posts the version it was loaded at; saving
first claims the row with a compare-and-set ``UPDATE … SET version = v + 1 WHERE version = v``
inside the admin's transaction. The UPDATE holds the row lock until the transaction ends
(PostgreSQL: a second writer waits, then finds the version moved; SQLite: IMMEDIATE
transactions already serialise writers), so of two saves from the same form exactly one wins,
and the other writes nothing. The loser is shown the winner's changes, read from the history
that simple-history keeps (each record carries the version it saved).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing.models import Licence, LicensedProduct

# Kept by every record but not something a user changed.
NOT_SHOWN = {"created_at", "updated_at", "version", "import_batch"}
# A long-lived object's history is long; the conflict page lists at most this many changes.
MAX_CHANGES = 50


class ConcurrentEdit(Exception):
    """The row moved on (or went away) since the user's form was loaded."""

    def __init__(self, obj, form, expected: int):
        super().__init__(f"{obj._meta.label} {obj.pk}: not at version {expected}")
        self.obj = obj
        self.form = form
        self.expected = expected


def version_claim(obj, *, expected: int, form=None) -> None:
    """Move the stored row from ``expected`` to the next version, or raise ConcurrentEdit.

    The caller then saves ``obj``, whose VersionField writes the same next version.
    """
    model = type(obj)
    claimed = model._base_manager.filter(pk=obj.pk, version=expected).update(version=expected + 1)
    if claimed != 1:
        raise ConcurrentEdit(obj, form, expected)
    obj.version = expected


def versions_raise(model, pks) -> None:
    """Raise the version of the given rows (a licence whose products changed)."""
    pks = {pk for pk in pks if pk is not None}
    if pks:
        model._base_manager.filter(pk__in=pks).update(version=F("version") + 1)


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class Change:
    """One save by someone: when, who, of what, and each field it changed."""

    at: datetime
    by: str
    what: str
    action: str
    fields: list[FieldChange] = field(default_factory=list)


def _shown(model_field, value, related: dict) -> str:
    if value is None or value == "":
        return "—"
    if model_field.is_relation:
        return related.get((model_field.name, value), str(value))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _tracked(model):
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in NOT_SHOWN]


def _related_labels(model, records) -> dict:
    """{(field name, id): label} for the foreign keys the records name, a query per field."""
    labels = {}
    for model_field in _tracked(model):
        if not model_field.is_relation:
            continue
        ids = {getattr(r, model_field.attname) for r in records} - {None}
        if not ids:
            continue
        target = model_field.related_model._base_manager.filter(pk__in=ids)
        for obj in target:
            labels[(model_field.name, obj.pk)] = str(obj)
    return labels


def _user_label(record) -> str:
    user = record.history_user
    if user is None:
        return _("(unknown)")
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full}（{user.get_username()}）" if full else user.get_username()


def _diff(model, record, previous, related) -> list[FieldChange]:
    changes = []
    for model_field in _tracked(model):
        old = getattr(previous, model_field.attname) if previous is not None else None
        new = getattr(record, model_field.attname)
        if previous is not None and old == new:
            continue
        if previous is None and new in (None, ""):
            continue
        changes.append(
            FieldChange(
                str(model_field.verbose_name),
                _shown(model_field, old, related) if previous is not None else "—",
                _shown(model_field, new, related),
            )
        )
    return changes


def _action(history_type: str) -> str:
    return {"+": _("added"), "~": _("changed"), "-": _("deleted")}[history_type]


def _record_changes(model, records, previous_of, what_of) -> list[Change]:
    related = _related_labels(model, [*records, *previous_of.values()])
    return [
        Change(
            at=timezone.localtime(record.history_date),
            by=_user_label(record),
            what=what_of(record),
            action=_action(record.history_type),
            fields=_diff(model, record, previous_of.get(record.history_id), related)
            if record.history_type != "-"
            else [],
        )
        for record in records
    ]


def loaded_record(obj, version: int):
    """The history record of ``obj`` as a form loaded at ``version`` showed it (None if none)."""
    return (
        type(obj)
        .history.model.objects.filter(id=obj.pk, version__lte=version)
        .order_by("-history_date", "-history_id")
        .first()
    )


def changes_since(obj, version: int) -> list[Change]:
    """What others saved to ``obj`` after the version a form was loaded at, oldest first.

    The starting point is the newest history record at or below that version; the records
    after it are each compared with the one before. For a licence, its products' records since
    then follow (a product's changes are the licence's: LicenceAdmin edits them inline).
    """
    model = type(obj)
    History = model.history.model
    base = loaded_record(obj, version)
    later = History.objects.filter(id=obj.pk).select_related("history_user")
    if base is not None:
        later = later.filter(history_date__gte=base.history_date).exclude(
            history_id=base.history_id
        )
    records = list(later.order_by("history_date", "history_id")[:MAX_CHANGES])
    previous_of = {}
    before = base
    for record in records:
        if before is not None:
            previous_of[record.history_id] = before
        before = record
    what = str(model._meta.verbose_name)
    changes = _record_changes(model, records, previous_of, lambda record: what)
    if model is Licence:
        changes += _product_changes(obj, base)
        changes.sort(key=lambda change: change.at)
    return changes[:MAX_CHANGES]


def _product_changes(licence, base) -> list[Change]:
    History = LicensedProduct.history.model
    records = History.objects.filter(licence_id=licence.pk).select_related("history_user")
    if base is not None:
        records = records.filter(history_date__gt=base.history_date)
    records = list(records.order_by("history_date", "history_id")[:MAX_CHANGES])
    previous_of = {}
    for record in records:
        if record.history_type == "~":
            previous = (
                History.objects.filter(id=record.id, history_date__lte=record.history_date)
                .exclude(history_id=record.history_id)
                .order_by("-history_date", "-history_id")
                .first()
            )
            if previous is not None:
                previous_of[record.history_id] = previous
    label = str(LicensedProduct._meta.verbose_name)
    return _record_changes(
        LicensedProduct,
        records,
        previous_of,
        lambda record: f"{label} {record.product_name} {record.model_spec}",
    )


def unsaved_entries(form, current, version: int) -> list[FieldChange]:
    """The user's changes (their entries that differ from the form as it was loaded at
    ``version``), beside what is now stored: old is stored, new is theirs."""
    entries = []
    if form is None or not hasattr(form, "cleaned_data"):
        return entries
    model = type(current)
    loaded = loaded_record(current, version)
    for name, value in form.cleaned_data.items():
        if name in NOT_SHOWN:
            continue
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a form field of its own
            continue
        if not model_field.concrete:
            continue
        stored = getattr(current, model_field.attname)
        theirs = value.pk if model_field.is_relation and value is not None else value
        if stored == theirs:
            continue
        if loaded is not None and getattr(loaded, model_field.attname) == theirs:
            continue  # left as it was loaded: not the user's change
        related = {}
        if model_field.is_relation:
            if value is not None:
                related[(name, value.pk)] = str(value)
            if stored is not None:
                related[(name, stored)] = str(getattr(current, name))
        entries.append(
            FieldChange(
                str(model_field.verbose_name),
                _shown(model_field, stored, related),
                _shown(model_field, theirs, related),
            )
        )
    return entries
