"""Count the findings of registers that changed since their unit's last submission."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from verification.models import Campaign, ProvincialReturn
from verification.selectors import register_changed_at, register_facts


class Command(BaseCommand):
    help = gettext_lazy(
        "Count the findings of every unit whose register has changed since it last submitted, "
        "so that the department's board shows them beside the submitted counts. Run it after "
        "bulk imports, or nightly; opening a unit's return counts that unit's."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--campaign",
            metavar="NOTICE_NUMBER",
            help=gettext_lazy("the campaign's notice number; default: every open campaign"),
        )

    def handle(self, *args, campaign=None, **options):
        if campaign:
            campaigns = list(Campaign.objects.filter(notice_number=campaign))
            if not campaigns:
                raise CommandError(
                    _("There is no campaign with the notice number “%(notice)s”.")
                    % {"notice": campaign}
                )
        else:
            campaigns = list(Campaign.objects.filter(is_open=True))
        counted = 0
        for current in campaigns:
            returns = ProvincialReturn.objects.filter(
                campaign=current, submitted_at__isnull=False
            ).select_related("province", "campaign")
            changed_at = register_changed_at([row.province_id for row in returns])
            for provincial_return in returns:
                at = changed_at.get(provincial_return.province_id)
                if at is None or at <= provincial_return.submitted_at:
                    continue
                # Counted by the database and kept for the return pages and the board alike.
                register_facts(provincial_return=provincial_return)
                counted += 1
        self.stdout.write(
            _("Counted the findings of %(count)d changed registers.") % {"count": counted}
        )
