"""Joins the admin's indexes (0009) and the export jobs (0010), written at the same time."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0009_admin_register_indexes"),
        ("licensing", "0010_export_jobs"),
    ]

    operations = []
