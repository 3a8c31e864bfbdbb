"""Grant the role groups their permissions on the special verification (DESIGN.md §2).

Provinces edit their own return and file Attachment 2; only the provincial system
administrator submits; the department reviewer sees every return, reviews, and keeps campaigns.
What a permission allows in which state is decided by verification/services.py.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PROVINCIAL = [
    "verification.view_campaign",
    "verification.view_provincialreturn",
    "verification.add_provincialreturn",
    "verification.change_provincialreturn",
    "verification.view_returnattachment",
    "verification.add_returnattachment",
    "verification.delete_returnattachment",
    "verification.view_systemadministrator",
    "verification.add_systemadministrator",
]
GRANTS = {
    "省级录入员": PROVINCIAL,
    "省级系统管理员": [*PROVINCIAL, "verification.submit_provincialreturn"],
    "计量司审核员": [
        *(
            f"verification.view_{model}"
            for model in (
                "campaign",
                "provincialreturn",
                "returnattachment",
                "returnevent",
                "returnsnapshot",
                "systemadministrator",
            )
        ),
        "verification.add_campaign",
        "verification.change_campaign",
        "verification.review_provincialreturn",
    ],
}


def _permission(apps, perm):
    app_label, codename = perm.split(".")
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label=app_label, codename=codename
    )


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
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
        ("accounts", "0004_import_permissions"),
        ("verification", "0002_campaign_2016"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
