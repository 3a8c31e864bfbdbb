"""Indexes of the admin's register screens (issue 9): their order, their filters, their search.

The B-tree indexes are the models' own (Meta.indexes): every database gets them. The search
indexes (licensing/search.py says which column is searched how) are PostgreSQL's only, created
by SQL here as 0008 creates the public list's: pg_trgm GIN indexes on ``UPPER(column)`` for
fragments of numbers, codes and models, and GIN indexes on the array of a name's characters
(``string_to_array(UPPER(name), NULL)``, built-in functions only) for names, which Chinese
users search by two characters. On SQLite the search scans, and this part does nothing.

pg_trgm was created by 0008 (or that migration stopped). Building these indexes on a national
register (a million products) takes about a minute.
"""

from django.db import migrations, models

# (table's model, column, method): the same list as licensing.search.POSTGRES_INDEXES, frozen.
SEARCH_INDEXES = [
    ("licensing_licence_number_trgm", "licence", "number", "trgm"),
    ("licensing_manufacturer_credit_code_trgm", "manufacturer", "credit_code", "trgm"),
    ("licensing_manufacturer_name_chars", "manufacturer", "name", "chars"),
    ("licensing_licensedproduct_name_chars", "licensedproduct", "product_name", "chars"),
    ("licensing_licensedproduct_model_trgm", "licensedproduct", "model_spec", "trgm"),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite scans: the search works the same, at the sizes SQLite serves
    tables = set()
    for name, model_name, column, method in SEARCH_INDEXES:
        table = schema_editor.quote_name(apps.get_model("licensing", model_name)._meta.db_table)
        column = schema_editor.quote_name(column)
        # UPPER(column): what icontains compares on PostgreSQL, so that the index serves it.
        expression = (
            f"UPPER({column}) gin_trgm_ops"
            if method == "trgm"
            else f"string_to_array(UPPER({column}), NULL)"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})"
        )
        tables.add(table)
    # Statistics of the new expressions: without them the planner guesses how many rows
    # match, and a wrong guess costs seconds (0008 says more).
    for table in sorted(tables):
        schema_editor.execute(f"ANALYZE {table}")


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, *_rest in SEARCH_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0008_public_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="announcement",
            index=models.Index(fields=["-published_on", "-id"], name="announcement_published_idx"),
        ),
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(fields=["-issued_on", "number"], name="licence_issued_number_idx"),
        ),
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(
                fields=["province", "-issued_on", "number"], name="licence_prov_issued_number_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(fields=["expires_on"], name="licence_expires_idx"),
        ),
        migrations.AddIndex(
            model_name="licence",
            index=models.Index(fields=["issuing_level"], name="licence_level_idx"),
        ),
        migrations.AddIndex(
            model_name="licensedproduct",
            index=models.Index(fields=["category", "licence"], name="product_category_licence_idx"),
        ),
        migrations.AddIndex(
            model_name="manufacturer",
            index=models.Index(fields=["name"], name="manufacturer_name_idx"),
        ),
        migrations.AddIndex(
            model_name="manufacturer",
            index=models.Index(fields=["province", "name"], name="manufacturer_prov_name_idx"),
        ),
        migrations.AddIndex(
            model_name="typeapproval",
            index=models.Index(
                fields=["-approved_on", "certificate_number"], name="typeapproval_approved_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="typeapproval",
            index=models.Index(
                fields=["province", "-approved_on", "certificate_number"],
                name="typeapproval_prov_approved_idx",
            ),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
