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


class UserSession(models.Model):
    """Which session belongs to whom, so that a user's sessions can be ended at once.

    Django's database sessions store the user inside the encoded session data, with no index:
    finding one user's sessions would mean decoding every session. A row is written at each
    sign-in (accounts/signals.py) and deleted at sign-out; rows of sessions that expired are
    pruned at the user's next sign-in, so a user has about as many rows as live sessions.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("user session")
        verbose_name_plural = _("user sessions")

    def __str__(self):
        return f"{self.user_id}:{self.session_key[:8]}…"
