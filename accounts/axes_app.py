"""django-axes under a Chinese name: its models' permissions are listed on the group form."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("Sign-in attempts")
