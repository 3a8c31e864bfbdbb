"""The user: national staff have no province; provincial staff belong to exactly one."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from licensing.scoping import ProvinceScopedQuerySet


class UserQuerySet(ProvinceScopedQuerySet):
    pass


class ScopedUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    province = models.ForeignKey(
        "licensing.Province",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("province"),
        help_text=_("Empty for national staff of the Metrology Department."),
    )

    province_lookup = "province"
    objects = ScopedUserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_all_provinces", _("Can see the data of all provinces")),
        ]
