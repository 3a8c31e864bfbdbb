import re

from django.apps import AppConfig
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


def boolean_icon(field_val):
    """Django's yes/no icon of lists and read-only fields, with Chinese alternative text.

    Django writes alt="True", alt="False" or alt="None" whatever the language, and screen
    readers read that out.
    """
    icon = {True: "yes", False: "no", None: "unknown"}[field_val]
    label = {
        True: pgettext("boolean icon", "Yes"),
        False: pgettext("boolean icon", "No"),
        None: pgettext("boolean icon", "Unknown"),
    }[field_val]
    return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), label)


# A model's Chinese name followed by an ASCII colon, at the start of an item.
CJK_COLON = re.compile(r"^([^<:]*[\u4e00-\u9fff]): ")


def with_chinese_colons(items):
    """The admin's list of objects a delete takes along, "型式批准：<a>…</a>" rather than "型式批准: ".

    django.contrib.admin.utils.get_deleted_objects joins model name and object with a literal
    ": " that no catalog reaches. Items are safe HTML or nested lists of them.
    """
    if isinstance(items, list):
        return [with_chinese_colons(item) for item in items]
    text = str(items)
    fixed = CJK_COLON.sub("\\1：", text, count=1)
    return mark_safe(fixed) if isinstance(items, SafeData) else fixed  # noqa: S308


def get_deleted_objects(objs, request, admin_site):
    from django.contrib.admin.utils import get_deleted_objects as deleted_objects

    to_delete, model_count, perms_needed, protected = deleted_objects(objs, request, admin_site)
    return with_chinese_colons(to_delete), model_count, perms_needed, with_chinese_colons(protected)


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        # Every caller (lists, read-only fields, display_for_value) imports it from here when
        # it draws an icon, so replacing it here reaches them all.
        from django.contrib.admin.templatetags import admin_list

        admin_list._boolean_icon = boolean_icon
        # ModelAdmin.get_deleted_objects (and so the delete action) looks it up here.
        from django.contrib.admin import options

        options.get_deleted_objects = get_deleted_objects

        # Sign-in security: the security log, the session table, ending sessions.
        from accounts import signals  # noqa: F401
