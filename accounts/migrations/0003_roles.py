"""Create the three role groups of DESIGN.md §2 with exactly the permissions each needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REGISTER = ["manufacturer", "typeapproval", "licence", "announcement"]
REFERENCE = ["province", "instrumentcategory", "typeevaluationinstitution"]

DATA_ENTRY = (
    [f"licensing.{action}_{model}" for model in REGISTER for action in ("view", "add", "change")]
    + [f"licensing.{action}_licensedproduct" for action in ("view", "add", "change", "delete")]
    + [f"licensing.view_{model}" for model in REFERENCE]
    + [
        "licensing.export_manufacturer",
        "licensing.export_licence",
        "licensing.import_licence",
    ]
)
PROVINCIAL_ADMIN = DATA_ENTRY + [f"licensing.delete_{model}" for model in REGISTER] + [
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
]
REVIEWER = (
    [f"licensing.view_{model}" for model in [*REGISTER, "licensedproduct", *REFERENCE]]
    + ["licensing.change_province"]
    + [f"licensing.{action}_instrumentcategory" for action in ("add", "change")]
    + [f"licensing.{action}_typeevaluationinstitution" for action in ("add", "change", "delete")]
    + [
        "licensing.export_manufacturer",
        "licensing.export_licence",
        "accounts.view_all_provinces",
    ]
)
ROLES = {
    "省级录入员": DATA_ENTRY,
    "省级系统管理员": PROVINCIAL_ADMIN,
    "计量司审核员": REVIEWER,
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("licensing", "0002_reference_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
