"""Recount the register of every province (or of some) into RegisterCount."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.models import Province
from licensing.statistics import register_counts_refresh


class Command(BaseCommand):
    help = gettext_lazy(
        "Recount the register's manufacturers, licences and products per province and category. "
        "Every write recounts its province already; this repairs counts after a manual change "
        "to the database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--province",
            action="append",
            default=[],
            metavar="CODE",
            help=gettext_lazy("GB/T 2260 code of a province to recount (repeatable); default all."),
        )

    def handle(self, *args, province: list[str], **options):
        if province:
            found = dict(Province.objects.filter(code__in=province).values_list("code", "pk"))
            unknown = sorted(set(province) - set(found))
            if unknown:
                raise CommandError(
                    _("No province has the code %(codes)s.") % {"codes": "、".join(unknown)}
                )
            register_counts_refresh(province_ids=found.values())
        else:
            register_counts_refresh()
        self.stdout.write(_("Register counts refreshed."))
