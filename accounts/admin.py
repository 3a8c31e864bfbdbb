"""User administration: national staff manage everyone, a provincial administrator its province."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import PROVINCIAL_GROUPS
from licensing.admin_mixins import ProvinceScopedAdminMixin
from licensing.scoping import user_province_id


@admin.register(User)
class UserAdmin(ProvinceScopedAdminMixin, BaseUserAdmin):
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
        if db_field.name == "groups" and user_province_id(request.user):
            kwargs["queryset"] = Group.objects.filter(name__in=PROVINCIAL_GROUPS)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

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
