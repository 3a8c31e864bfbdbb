"""python manage.py export_attachment {1,2} OUT.xlsx [--campaign NOTICE_NUMBER]

Writes the national table of Attachment 1 (one row per reporting unit, as last submitted) or
Attachment 2 (each unit's current system administrator) of a campaign, the latest by default.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext

from licensing.models import Province
from reports import exports
from verification.models import Campaign, ProvincialReturn, SystemAdministrator


class Command(BaseCommand):
    # Translated when asked for: argparse cannot format a lazy string.
    @property
    def help(self):
        return gettext(
            "Write the national table of Attachment 1 or 2 of a campaign to an .xlsx file."
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "attachment",
            type=int,
            choices=[1, 2],
            help=gettext(
                "1: the survey table, one row per reporting unit; 2: the system administrators"
            ),
        )
        parser.add_argument("out", metavar="OUT.xlsx", help=gettext("the .xlsx file to write"))
        parser.add_argument(
            "--campaign",
            metavar="NOTICE_NUMBER",
            help=gettext(
                "the campaign's notice number, e.g. 质检量函〔2016〕27号; default: the latest"
            ),
        )

    def handle(self, *args, **options):
        # The notice's own language, whatever the shell's: the file is the department's.
        with translation.override(settings.LANGUAGE_CODE):
            self._export(options["attachment"], Path(options["out"]), options["campaign"])

    def _export(self, attachment: int, out: Path, notice_number: str | None):
        campaign = self._campaign(notice_number)
        # The command runs with the server's own rights: the national table, every unit.
        if attachment == 1:
            rows = exports.attachment1_rows(
                campaign=campaign,
                returns=ProvincialReturn.objects.all(),
                provinces=list(Province.objects.order_by("code")),
            )
            content = exports.attachment1_xlsx(rows=rows, campaign=campaign)
        else:
            rows = exports.attachment2_rows(administrators=SystemAdministrator.objects.all())
            content = exports.attachment2_xlsx(rows=rows)
        try:
            out.write_bytes(content)
        except OSError as error:
            raise CommandError(
                gettext("Cannot write %(file)s: %(error)s")
                % {"file": out, "error": error.strerror or error}
            ) from error
        self.stdout.write(
            gettext("Wrote %(file)s: %(rows)d rows.") % {"file": out, "rows": len(rows)}
        )

    def _campaign(self, notice_number: str | None) -> Campaign:
        if notice_number is None:
            campaign = Campaign.objects.order_by("-issued_on", "-pk").first()
            if campaign is None:
                raise CommandError(gettext("There is no campaign yet."))
            return campaign
        campaign = Campaign.objects.filter(notice_number=notice_number.strip()).first()
        if campaign is None:
            known = "、".join(
                Campaign.objects.order_by("-issued_on").values_list("notice_number", flat=True)
            )
            raise CommandError(
                gettext(
                    "There is no campaign with the notice number “%(notice)s”. Known: %(known)s"
                )
                % {"notice": notice_number, "known": known or "—"}
            )
        return campaign
