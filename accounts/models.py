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

    def get_full_name(self):
        """The name as Chinese writes it: family name, then given name, with no space."""
        return f"{self.last_name}{self.first_name}".strip()

    def get_short_name(self):
        # The admin's header greets the user by this: the full name, as a colleague would.
        return self.get_full_name()

    def __str__(self):
        # Pages, lists and e-mails name people by their real name; an account without one
        # by its user name.
        return self.get_full_name() or self.get_username()

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_all_provinces", _("Can see the data of all provinces")),
        ]
