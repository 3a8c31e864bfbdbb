"""A provincial system administrator manages its own province's accounts, and nothing more."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts.models import User
from accounts.roles import DATA_ENTRY, PROVINCIAL_ADMIN, REVIEWER
from tests.accounts.signin import sign_in
from tests.conftest import PASSWORD, make_user

USERS = "/admin/accounts/user/"
NEW_PASSWORD = "another-horse-battery-77"


def group_id(name):
    return Group.objects.get(name=name).pk


def add_form(province, groups, **extra):
    return {
        "username": "sd_new",
        "usable_password": "true",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "last_name": "李",
        "first_name": "明",
        "email": "",
        "province": province.pk,
        "groups": [group_id(name) for name in groups],
        **extra,
    }


def change_form(user, groups, **extra):
    """What the change form posts for a user, keeping its current values unless told otherwise."""
    return {
        "username": user.username,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "email": user.email,
        "province": user.province_id or "",
        "is_active": "on",
        "groups": [group_id(name) for name in groups],
        **extra,
    }


def form_errors(response):
    assert response.status_code == 200, "the form should have been shown again with errors"
    return response.context["adminform"].form.errors


@pytest.fixture
def admin_client_sd(client, shandong_admin):
    client.force_login(shandong_admin)
    return client


@pytest.fixture
def national_superuser(db):
    return make_user("root", is_superuser=True)


@pytest.fixture
def shandong_superuser(shandong):
    """A superuser who happens to carry a province: still not the province's to manage."""
    return make_user("sd_root", province=shandong, is_superuser=True)


def test_provincial_admin_lists_only_its_provinces_ordinary_users(
    admin_client_sd,
    shandong_clerk,
    zhejiang_clerk,
    reviewer,
    national_superuser,
    shandong_superuser,
):
    response = admin_client_sd.get(USERS)

    assert response.status_code == 200
    listed = set(response.context["cl"].result_list)
    assert shandong_clerk in listed
    assert not listed & {zhejiang_clerk, reviewer, national_superuser, shandong_superuser}


@pytest.mark.parametrize("page", ["change/", "password/", "history/"])
def test_another_provinces_user_gives_404(admin_client_sd, zhejiang_clerk, page):
    assert admin_client_sd.get(f"{USERS}{zhejiang_clerk.pk}/{page}").status_code == 404


@pytest.mark.parametrize("page", ["change/", "password/", "history/"])
def test_superusers_and_national_staff_give_404(
    admin_client_sd, reviewer, national_superuser, shandong_superuser, page
):
    for user in (reviewer, national_superuser, shandong_superuser):
        assert admin_client_sd.get(f"{USERS}{user.pk}/{page}").status_code == 404


@pytest.mark.parametrize("page", ["change/", "password/", "history/"])
def test_own_provinces_users_with_rights_beyond_the_provincial_roles_give_404(
    admin_client_sd, shandong, page
):
    with_reviewer_group = make_user("sd_reviewer", province=shandong, role=REVIEWER)
    with_single_permission = make_user("sd_extra", province=shandong, role=DATA_ENTRY)
    with_single_permission.user_permissions.add(Permission.objects.get(codename="delete_licence"))

    for user in (with_reviewer_group, with_single_permission):
        assert admin_client_sd.get(f"{USERS}{user.pk}/{page}").status_code == 404


@pytest.mark.parametrize("page", ["change/", "password/", "history/"])
def test_own_provinces_user_pages_open(admin_client_sd, shandong_clerk, page):
    assert admin_client_sd.get(f"{USERS}{shandong_clerk.pk}/{page}").status_code == 200


def test_created_user_belongs_to_the_province_and_is_staff(admin_client_sd, shandong):
    response = admin_client_sd.post(f"{USERS}add/", add_form(shandong, [DATA_ENTRY]))

    assert response.status_code == 302
    user = User.objects.get(username="sd_new")
    assert user.province == shandong
    assert user.is_staff
    assert not user.is_superuser
    assert set(user.groups.values_list("name", flat=True)) == {DATA_ENTRY}
    assert sign_in(Client(), "sd_new", NEW_PASSWORD)


def test_add_form_refuses_another_province(admin_client_sd, zhejiang):
    response = admin_client_sd.post(f"{USERS}add/", add_form(zhejiang, [DATA_ENTRY]))

    assert "province" in form_errors(response)
    assert not User.objects.filter(username="sd_new").exists()


def test_add_form_ignores_posted_superuser_and_permissions(admin_client_sd, shandong):
    delete_user = Permission.objects.get(codename="delete_user")
    response = admin_client_sd.post(
        f"{USERS}add/",
        add_form(
            shandong,
            [PROVINCIAL_ADMIN],
            is_superuser="on",
            user_permissions=[delete_user.pk],
        ),
    )

    assert response.status_code == 302
    user = User.objects.get(username="sd_new")
    assert not user.is_superuser
    assert not user.user_permissions.exists()
    assert not user.has_perm("accounts.delete_user")


def test_add_form_refuses_the_reviewer_group(admin_client_sd, shandong):
    response = admin_client_sd.post(f"{USERS}add/", add_form(shandong, [DATA_ENTRY, REVIEWER]))

    assert "groups" in form_errors(response)
    assert not User.objects.filter(username="sd_new").exists()
    assert not User.objects.with_perm(
        "accounts.view_all_provinces", backend="django.contrib.auth.backends.ModelBackend"
    ).filter(province__isnull=False)


def test_add_form_offers_only_own_province_and_provincial_groups(admin_client_sd, shandong):
    form = admin_client_sd.get(f"{USERS}add/").context["adminform"].form

    offered = set(form.fields["groups"].queryset.values_list("name", flat=True))
    assert offered == {DATA_ENTRY, PROVINCIAL_ADMIN}
    assert list(form.fields["province"].queryset) == [shandong]


def test_change_form_has_no_superuser_staff_or_single_permission_fields(
    admin_client_sd, shandong_clerk
):
    form = admin_client_sd.get(f"{USERS}{shandong_clerk.pk}/change/").context["adminform"].form

    assert not {"is_superuser", "is_staff", "user_permissions"} & set(form.fields)


def test_posted_superuser_staff_and_permissions_have_no_effect(admin_client_sd, shandong_clerk):
    delete_user = Permission.objects.get(codename="delete_user")
    response = admin_client_sd.post(
        f"{USERS}{shandong_clerk.pk}/change/",
        change_form(
            shandong_clerk,
            [DATA_ENTRY],
            is_superuser="on",
            user_permissions=[delete_user.pk],
            # is_staff left out, as an unchecked box would be.
        ),
    )

    assert response.status_code == 302
    shandong_clerk.refresh_from_db()
    assert not shandong_clerk.is_superuser
    assert shandong_clerk.is_staff
    assert not shandong_clerk.user_permissions.exists()


def test_change_form_refuses_another_province(admin_client_sd, shandong_clerk, zhejiang):
    data = change_form(shandong_clerk, [DATA_ENTRY], province=zhejiang.pk)
    response = admin_client_sd.post(f"{USERS}{shandong_clerk.pk}/change/", data)

    assert "province" in form_errors(response)
    shandong_clerk.refresh_from_db()
    assert shandong_clerk.province.code == "37"


def test_change_form_refuses_the_reviewer_group(admin_client_sd, shandong_clerk):
    data = change_form(shandong_clerk, [REVIEWER])
    response = admin_client_sd.post(f"{USERS}{shandong_clerk.pk}/change/", data)

    assert "groups" in form_errors(response)
    assert not shandong_clerk.groups.filter(name=REVIEWER).exists()


def test_deactivated_user_cannot_log_in(admin_client_sd, shandong_clerk):
    data = change_form(shandong_clerk, [DATA_ENTRY])
    del data["is_active"]  # an unchecked box is not posted
    response = admin_client_sd.post(f"{USERS}{shandong_clerk.pk}/change/", data)

    assert response.status_code == 302
    shandong_clerk.refresh_from_db()
    assert not shandong_clerk.is_active
    assert not sign_in(Client(), shandong_clerk.username, PASSWORD)
    login = Client().post(
        "/admin/login/", {"username": shandong_clerk.username, "password": PASSWORD}
    )
    assert login.status_code == 200  # the login form again, with its error
    assert "_auth_user_id" not in login.wsgi_request.session


def test_provincial_admin_cannot_delete_users(admin_client_sd, shandong_clerk):
    assert admin_client_sd.get(f"{USERS}{shandong_clerk.pk}/delete/").status_code == 403

    response = admin_client_sd.get(USERS)
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(
        response.wsgi_request
    )
    admin_client_sd.post(
        USERS,
        {"action": "delete_selected", "_selected_action": [shandong_clerk.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=shandong_clerk.pk).exists()


def test_data_entry_user_cannot_open_user_admin(client, shandong_clerk):
    client.force_login(shandong_clerk)

    assert client.get(USERS).status_code == 403
    assert client.get(f"{USERS}add/").status_code == 403
    assert client.get(f"{USERS}{shandong_clerk.pk}/change/").status_code == 403


def test_provincial_admin_cannot_escalate_itself(admin_client_sd, shandong_admin):
    own_page = f"{USERS}{shandong_admin.pk}/change/"

    refused = admin_client_sd.post(
        own_page, change_form(shandong_admin, [PROVINCIAL_ADMIN, REVIEWER])
    )
    assert "groups" in form_errors(refused)

    saved = admin_client_sd.post(
        own_page, change_form(shandong_admin, [PROVINCIAL_ADMIN], is_superuser="on")
    )
    assert saved.status_code == 302
    shandong_admin.refresh_from_db()
    assert not shandong_admin.is_superuser
    assert set(shandong_admin.groups.values_list("name", flat=True)) == {PROVINCIAL_ADMIN}
    assert not shandong_admin.has_perm("accounts.view_all_provinces")
    assert not shandong_admin.has_perm("accounts.delete_user")


def test_superuser_still_manages_every_field(client, national_superuser, zhejiang_clerk):
    client.force_login(national_superuser)
    form = client.get(f"{USERS}{zhejiang_clerk.pk}/change/").context["adminform"].form

    assert {"is_superuser", "is_staff", "user_permissions", "province"} <= set(form.fields)
