"""The official holiday calendar as a table, so that findings count working days in SQL.

Loaded from the installed chinesecalendar package (verification.workdays.official_calendar);
when a newer package covers more years, a migration calling `load` again brings the table up to
date (tests/verification/test_findings_counted.py fails until then).
"""

from django.db import migrations, models


def load(apps, schema_editor):
    from verification.workdays import official_calendar

    CalendarDay = apps.get_model("verification", "CalendarDay")
    rows = official_calendar()
    CalendarDay.objects.exclude(day__in=[day for day, _number in rows]).delete()
    stored = dict(CalendarDay.objects.values_list("day", "working_day_number"))
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(day=day, working_day_number=number)
            for day, number in rows
            if day not in stored
        ],
        batch_size=1000,
    )
    for day, number in rows:
        if day in stored and stored[day] != number:
            CalendarDay.objects.filter(day=day).update(working_day_number=number)


def unload(apps, schema_editor):
    apps.get_model("verification", "CalendarDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0002_campaign_2016"),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False, verbose_name="day")),
                (
                    "working_day_number",
                    models.PositiveIntegerField(
                        help_text="Working days from the start of the official calendar up to this day.",
                        verbose_name="working day number",
                    ),
                ),
            ],
            options={
                "verbose_name": "calendar day",
                "verbose_name_plural": "calendar days",
                "ordering": ["day"],
            },
        ),
        migrations.RunPython(load, unload),
    ]
