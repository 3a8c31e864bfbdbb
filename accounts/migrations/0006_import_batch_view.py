"""Let every role see the import batches of its scope: the record of who imported what, when.

Batches are read-only in the admin (no add, change or delete for anyone); which batches a user
sees is decided by ImportBatch.objects.for_user, as for every province-owned model.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSION = ("licensing", "view_importbatch")
GROUPS = ["省级录入员", "省级系统管理员", "计量司审核员"]


def _permission(apps):
    app_label, codename = PERMISSION
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label=app_label, codename=codename
    )


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need this one now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    permission = _permission(apps)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_verification_roles"),
        ("licensing", "0005_licence_processing_days"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
