"""Migration 0009: the search indexes are PostgreSQL's; elsewhere its SQL part does nothing."""

from importlib import import_module

from django.apps import apps
from django.db import connection

from licensing.search import POSTGRES_INDEXES

migration = import_module("licensing.migrations.0009_admin_register_indexes")


class _Recorder:
    """A schema editor that keeps the SQL it is given (SQLite's cannot open in a test)."""

    def __init__(self):
        self.connection = connection
        self.sql = []

    def execute(self, sql, params=()):
        self.sql.append(sql)

    def quote_name(self, name):
        return connection.ops.quote_name(name)


def _collected(operation) -> list[str]:
    editor = _Recorder()
    operation(apps, editor)
    return editor.sql


def test_the_search_indexes_are_created_on_postgresql_only(db):
    created, dropped = (
        _collected(migration.create_search_indexes),
        _collected(migration.drop_search_indexes),
    )
    if connection.vendor != "postgresql":
        assert created == [] and dropped == []
        return
    for name, *_rest in migration.SEARCH_INDEXES:
        assert any(f"CREATE INDEX IF NOT EXISTS {name} " in sql for sql in created), name
        assert any(f"DROP INDEX IF EXISTS {name}" in sql for sql in dropped), name


def test_the_test_database_has_the_indexes_of_its_vendor(db):
    with connection.cursor() as cursor:
        indexes = {
            name
            for table in (
                "licensing_licence",
                "licensing_manufacturer",
                "licensing_licensedproduct",
            )
            for name, index in connection.introspection.get_constraints(cursor, table).items()
            if index["index"]
        }
    assert "licence_issued_number_idx" in indexes  # the models' own: every database
    search = {name for name, *_rest in migration.SEARCH_INDEXES}
    if connection.vendor == "postgresql":
        assert search <= indexes
    else:
        assert not search & indexes


def test_the_migration_indexes_the_columns_the_search_reads():
    frozen = {(model, column, method) for _name, model, column, method in migration.SEARCH_INDEXES}
    assert frozen == {
        (model._meta.model_name, column, method) for model, column, method in POSTGRES_INDEXES
    }
