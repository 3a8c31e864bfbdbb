"""A preview that found errors is recorded as such (issue 10): status "errors", with the number
of errors in its counts for the batch list; the help text names no command-line option."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_previews_with_errors(apps, schema_editor):
    ImportBatch = apps.get_model("licensing", "ImportBatch")
    batches = ImportBatch.objects.filter(status="previewed").only("pk", "errors", "counts")
    for batch in batches.iterator():
        if batch.errors:
            counts = {**(batch.counts or {}), "errors": len(batch.errors)}
            ImportBatch.objects.filter(pk=batch.pk).update(status="errors", counts=counts)


def unmark_previews_with_errors(apps, schema_editor):
    ImportBatch = apps.get_model("licensing", "ImportBatch")
    ImportBatch.objects.filter(status="errors").update(status="previewed")


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0011_merge_admin_indexes_export_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="importbatch",
            name="status",
            field=models.CharField(
                choices=[
                    ("previewed", "Previewed"),
                    ("errors", "Has errors"),
                    ("committed", "Committed"),
                ],
                default="previewed",
                max_length=12,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="importbatch",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty for an import from the command line run for no user.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="import_batches",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.RunPython(mark_previews_with_errors, unmark_previews_with_errors),
    ]
