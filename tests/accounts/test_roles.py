"""The three role groups of DESIGN.md §2 hold exactly the permissions each role needs."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER

# Written out in full so that any change to the roles migration must be made here as well.
DATA_ENTRY_PERMISSIONS = {
    "licensing.view_manufacturer",
    "licensing.add_manufacturer",
    "licensing.change_manufacturer",
    "licensing.view_typeapproval",
    "licensing.add_typeapproval",
    "licensing.change_typeapproval",
    "licensing.view_licence",
    "licensing.add_licence",
    "licensing.change_licence",
    "licensing.view_announcement",
    "licensing.add_announcement",
    "licensing.change_announcement",
    "licensing.view_licensedproduct",
    "licensing.add_licensedproduct",
    "licensing.change_licensedproduct",
    "licensing.delete_licensedproduct",
    "licensing.view_province",
    "licensing.view_instrumentcategory",
    "licensing.view_typeevaluationinstitution",
    "licensing.export_manufacturer",
    "licensing.export_licence",
    "licensing.import_licence",
    "licensing.import_manufacturer",
    "licensing.view_importbatch",
    "verification.view_campaign",
    "verification.view_provincialreturn",
    "verification.add_provincialreturn",
    "verification.change_provincialreturn",
    "verification.view_returnattachment",
    "verification.add_returnattachment",
    "verification.delete_returnattachment",
    "verification.view_systemadministrator",
    "verification.add_systemadministrator",
}
PROVINCIAL_ADMIN_PERMISSIONS = DATA_ENTRY_PERMISSIONS | {
    "verification.submit_provincialreturn",
    "licensing.delete_manufacturer",
    "licensing.delete_typeapproval",
    "licensing.delete_licence",
    "licensing.delete_announcement",
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
}
REVIEWER_PERMISSIONS = {
    "licensing.view_manufacturer",
    "licensing.view_typeapproval",
    "licensing.view_licence",
    "licensing.view_announcement",
    "licensing.view_licensedproduct",
    "licensing.view_province",
    "licensing.change_province",
    "licensing.view_instrumentcategory",
    "licensing.add_instrumentcategory",
    "licensing.change_instrumentcategory",
    "licensing.view_typeevaluationinstitution",
    "licensing.add_typeevaluationinstitution",
    "licensing.change_typeevaluationinstitution",
    "licensing.delete_typeevaluationinstitution",
    "licensing.import_typeevaluationinstitution",
    "licensing.export_manufacturer",
    "licensing.export_licence",
    "licensing.view_importbatch",
    "accounts.view_all_provinces",
    "verification.view_campaign",
    "verification.add_campaign",
    "verification.change_campaign",
    "verification.view_provincialreturn",
    "verification.review_provincialreturn",
    "verification.view_returnattachment",
    "verification.view_returnevent",
    "verification.view_returnsnapshot",
    "verification.view_systemadministrator",
}

REGISTER_MODELS = ["manufacturer", "typeapproval", "licence", "announcement", "licensedproduct"]


def group_permissions(name):
    permissions = Group.objects.get(name=name).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (DATA_ENTRY, DATA_ENTRY_PERMISSIONS),
        (PROVINCIAL_ADMIN, PROVINCIAL_ADMIN_PERMISSIONS),
        (REVIEWER, REVIEWER_PERMISSIONS),
    ],
)
def test_role_group_has_exactly_the_expected_permissions(db, role, expected):
    assert group_permissions(role) == expected


def test_there_are_exactly_the_three_role_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) == {
        DATA_ENTRY,
        PROVINCIAL_ADMIN,
        REVIEWER,
    }


def test_data_entry_cannot_delete_register_data_nor_manage_users(shandong_clerk):
    assert shandong_clerk.has_perm("licensing.change_licence")
    assert not shandong_clerk.has_perm("licensing.delete_licence")
    assert not shandong_clerk.has_perm("licensing.delete_manufacturer")
    for action in ("view", "add", "change", "delete"):
        assert not shandong_clerk.has_perm(f"accounts.{action}_user")
    assert not shandong_clerk.has_perm("accounts.view_all_provinces")


def test_provincial_admin_manages_users_but_cannot_delete_them(shandong_admin):
    for action in ("view", "add", "change"):
        assert shandong_admin.has_perm(f"accounts.{action}_user")
    assert not shandong_admin.has_perm("accounts.delete_user")
    assert not shandong_admin.has_perm("accounts.view_all_provinces")


def test_provincial_admin_holds_every_data_entry_permission(db):
    # So granting either provincial group never gives more than the administrator has.
    assert group_permissions(DATA_ENTRY) <= group_permissions(PROVINCIAL_ADMIN)


def test_reviewer_sees_every_province_but_does_not_edit_the_register(reviewer):
    for model in REGISTER_MODELS:
        assert reviewer.has_perm(f"licensing.view_{model}")
    assert reviewer.has_perm("accounts.view_all_provinces")
    for action in ("add", "change", "delete"):
        assert not reviewer.has_perm(f"licensing.{action}_licence")
        assert not reviewer.has_perm(f"licensing.{action}_manufacturer")


def test_only_superusers_may_delete_users(db):
    holders = Permission.objects.get(content_type__app_label="accounts", codename="delete_user")
    assert not holders.group_set.exists()
    assert not holders.user_set.exists()


def test_only_the_provincial_administrator_submits_and_only_reviewers_review(db):
    assert "verification.submit_provincialreturn" not in group_permissions(DATA_ENTRY)
    assert "verification.submit_provincialreturn" in group_permissions(PROVINCIAL_ADMIN)
    assert "verification.submit_provincialreturn" not in group_permissions(REVIEWER)
    for role in (DATA_ENTRY, PROVINCIAL_ADMIN):
        assert "verification.review_provincialreturn" not in group_permissions(role)
    assert "verification.review_provincialreturn" in group_permissions(REVIEWER)
