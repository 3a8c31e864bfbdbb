"""Indexes of the public list (reports/public_views.py).

The licence indexes serve a page of one status in number order, nationally or in one province.
The name search ("contains") needs a trigram index on PostgreSQL, which Django's model state
cannot hold without breaking SQLite (a GIN index there is a syntax error whenever a later
migration rebuilds the table), so it is created here by SQL on PostgreSQL only, with the pg_trgm
extension. PostgreSQL 13+ lets the database's owner (any user with CREATE on it) create pg_trgm;
otherwise a superuser must run CREATE EXTENSION pg_trgm first (README, Configuration →
PostgreSQL), and the migration stops with that message rather than leave the search slow.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, migrations, models

TRIGRAM_INDEX = "licensing_manufacturer_name_trgm"


def create_name_trigram_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return  # SQLite scans the names: fine at the sizes it serves
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        installed = cursor.fetchone() is not None
    if not installed:
        try:
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError as error:
            raise ImproperlyConfigured(
                "The public list's name search needs PostgreSQL's pg_trgm extension, and it "
                f"could not be created ({error}). Ask a superuser to run CREATE EXTENSION "
                f"pg_trgm; in database {connection.settings_dict['NAME']!r}, then run migrate "
                "again (README: Configuration, PostgreSQL)."
            ) from error
    table = apps.get_model("licensing", "Manufacturer")._meta.db_table
    # UPPER(name): what Django's icontains compares on PostgreSQL, so that the index serves it.
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON {schema_editor.quote_name(table)} "
        "USING gin (UPPER(name) gin_trgm_ops)"
    )
    # Statistics of the new expression: without them the planner guesses how many names match
    # (17 for one in every name, 11,000 for none) and picks plans a thousand times too slow.
    # Autovacuum would gather them only after many rows change.
    schema_editor.execute(f"ANALYZE {schema_editor.quote_name(table)}")


def drop_name_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The extension stays: something else may use it, and dropping it needs its owner.
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0007_register_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(fields=["status", "number"], name="licence_status_number_idx"),
        ),
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(
                fields=["province", "status", "number"], name="licence_prov_status_number_idx"
            ),
        ),
        migrations.RunPython(create_name_trigram_index, drop_name_trigram_index),
    ]
