"""Grant the import permissions of the simple imports (manufacturers, institutions).

Provincial groups import their own manufacturers; only the department imports institutions,
which are national reference data.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "省级录入员": ["licensing.import_manufacturer"],
    "省级系统管理员": ["licensing.import_manufacturer"],
    "计量司审核员": ["licensing.import_typeevaluationinstitution"],
}


def _permission(apps, perm):
    app_label, codename = perm.split(".")
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label=app_label, codename=codename
    )


def grant(apps, schema_editor):
    # The new permission is normally created after migrate; the groups need it now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, perms in GRANTS.items():
        group = Group.objects.get(name=name)
        group.permissions.add(*(_permission(apps, perm) for perm in perms))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, perms in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(*(_permission(apps, perm) for perm in perms))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_roles"),
        ("licensing", "0004_institution_import_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
