"""User administration: national staff manage everyone, a provincial administrator its province."""

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as BaseAdminPasswordChangeForm
from django.contrib.auth.forms import ReadOnlyPasswordHashWidget, SetUnusablePasswordMixin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import PROVINCIAL_GROUPS
from licensing.admin_mixins import ProvinceScopedAdminMixin
from licensing.scoping import user_province_id

# Django names its default permissions in English when it creates them ("Can add licence");
# the admin shows them in the language of the page instead.
DEFAULT_PERMISSION_LABELS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission) -> str:
    """许可证登记 | 许可证 | 可修改许可证: the app, the model and what the permission allows."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:  # a model that no longer exists
        return permission.name
    action, _sep, model_name = permission.codename.partition("_")
    if action in DEFAULT_PERMISSION_LABELS and model_name == model._meta.model_name:
        name = DEFAULT_PERMISSION_LABELS[action] % {"model": model._meta.verbose_name}
    else:
        # Declared in a model's Meta.permissions with gettext_lazy, so in the catalog.
        name = gettext(permission.name)
    app = apps.get_app_config(content_type.app_label).verbose_name
    return f"{app} | {model._meta.verbose_name} | {name}"


def permissions_field(formfield):
    if formfield is not None:
        formfield.queryset = formfield.queryset.select_related("content_type")
        formfield.label_from_instance = permission_label
    return formfield


class PasswordStatusWidget(ReadOnlyPasswordHashWidget):
    """Whether the account has a password, with the button to set one.

    Django's widget shows the hash's algorithm, iterations and salt, which mean nothing to the
    administrator of a provincial bureau.
    """

    template_name = "accounts/password_status.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["password_set"] = bool(value) and not value.startswith(UNUSABLE_PASSWORD_PREFIX)
        return context


class UserChangeForm(BaseUserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].widget = PasswordStatusWidget()


class AdminPasswordChangeForm(BaseAdminPasswordChangeForm):
    # Django joins its two help texts into one string when it is imported, so the warning
    # stays in English whatever the language; this keeps both parts translatable.
    usable_password_help_text = format_lazy(
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        SetUnusablePasswordMixin.usable_password_help_text,
        _("If disabled, the current password for this user will be lost."),
    )


@admin.register(User)
class UserAdmin(ProvinceScopedAdminMixin, BaseUserAdmin):
    form = UserChangeForm
    change_password_form = AdminPasswordChangeForm
    # Roles are a handful of check boxes; single permissions (superusers only) a filtered list.
    filter_horizontal = ["user_permissions"]
    list_display = [
        "username",
        "last_name",
        "first_name",
        "province",
        "role_names",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_active", "groups", ("province", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["province"]
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("last_name", "first_name", "email")}),
        (
            _("Role and province"),
            {"fields": ("province", "is_active", "is_staff", "is_superuser", "groups")},
        ),
        (_("Individual permissions"), {"fields": ("user_permissions",)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (
            _("Role and province"),
            {"fields": ("last_name", "first_name", "email", "province", "groups")},
        ),
    )
    # What a provincial administrator may touch: never superuser, staff flag or single permissions.
    provincial_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("last_name", "first_name", "email")}),
        (_("Role and province"), {"fields": ("province", "is_active", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("groups")
        if user_province_id(request.user):
            # Accounts with rights beyond the provincial roles are national staff's to manage:
            # setting such an account's password would hand those rights to this administrator.
            queryset = (
                queryset.filter(is_superuser=False)
                .exclude(user_permissions__isnull=False)
                .exclude(groups__in=Group.objects.exclude(name__in=PROVINCIAL_GROUPS))
            )
        return queryset

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return "、".join(group.name for group in obj.groups.all())

    def get_fieldsets(self, request, obj=None):
        if obj is not None and user_province_id(request.user):
            return self.provincial_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if user_province_id(request.user):
            return ["last_login", "date_joined"]
        return super().get_readonly_fields(request, obj)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
            if user_province_id(request.user):
                kwargs["queryset"] = Group.objects.filter(name__in=PROVINCIAL_GROUPS)
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "user_permissions":
            permissions_field(formfield)
        return formfield

    def save_model(self, request, obj, form, change):
        if not change:
            obj.is_staff = True  # every account of this system works in the admin
        if user_province_id(request.user):
            # A provincial administrator's users get no more than the provincial roles give.
            obj.is_staff = True
            obj.is_superuser = False
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        # Accounts are deactivated, never deleted: history records point to them.
        return request.user.is_superuser and super().has_delete_permission(request, obj)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """The roles (accounts/roles.py): national staff may adjust their permissions."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "permissions":
            permissions_field(formfield)
        return formfield

    def has_delete_permission(self, request, obj=None):
        # The roles are made by a migration and named in code: deleting one breaks every
        # account that has it.
        return False
