from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Running the system: backups of the database and the private media, and their restore."""

    name = "operations"
    verbose_name = _("operations")
