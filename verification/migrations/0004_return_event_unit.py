"""Return events name their campaign and province, so that a reminder to a unit that has not
started its return is recorded too; the return itself becomes optional."""

import django.db.models.deletion
from django.db import migrations, models


def name_units(apps, schema_editor):
    ReturnEvent = apps.get_model("verification", "ReturnEvent")
    for event in ReturnEvent.objects.select_related("provincial_return").iterator():
        event.campaign_id = event.provincial_return.campaign_id
        event.province_id = event.provincial_return.province_id
        event.save(update_fields=["campaign", "province"])


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0002_reference_data"),
        ("verification", "0003_calendar_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="returnevent",
            name="campaign",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="verification.campaign",
                verbose_name="campaign",
            ),
        ),
        migrations.AddField(
            model_name="returnevent",
            name="province",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="licensing.province",
                verbose_name="province",
            ),
        ),
        migrations.RunPython(name_units, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="returnevent",
            name="campaign",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="verification.campaign",
                verbose_name="campaign",
            ),
        ),
        migrations.AlterField(
            model_name="returnevent",
            name="province",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="licensing.province",
                verbose_name="province",
            ),
        ),
        migrations.AlterField(
            model_name="returnevent",
            name="provincial_return",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="verification.provincialreturn",
                verbose_name="provincial return",
            ),
        ),
        migrations.AlterField(
            model_name="returnevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("saved", "Saved"),
                    ("attachment_added", "Attachment added"),
                    ("attachment_removed", "Attachment removed"),
                    ("submitted", "Submitted"),
                    ("returned", "Returned for revision"),
                    ("accepted", "Accepted"),
                    ("reopened", "Reopened"),
                    ("reminded", "Reminder sent"),
                ],
                max_length=20,
                verbose_name="action",
            ),
        ),
        migrations.AlterModelOptions(
            name="returnevent",
            options={
                "get_latest_by": ["at", "pk"],
                "ordering": ["campaign", "province", "at", "pk"],
                "verbose_name": "return event",
                "verbose_name_plural": "return events",
            },
        ),
        migrations.AddIndex(
            model_name="returnevent",
            index=models.Index(
                fields=["campaign", "action", "province"], name="returnevent_campaign_action"
            ),
        ),
    ]
