"""Delete background export jobs older than a number of days, with their files."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.export_jobs import export_jobs_purge


class Command(BaseCommand):
    help = gettext_lazy(
        "Delete background export jobs older than a number of days, and their files. Run it "
        "daily, e.g. from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=gettext_lazy("Keep the jobs of this many days; default EXPORT_JOB_KEEP_DAYS."),
        )

    def handle(self, *args, days: int | None, **options):
        days = settings.EXPORT_JOB_KEEP_DAYS if days is None else days
        if days < 0:
            raise CommandError(_("--days cannot be negative."))
        jobs, files = export_jobs_purge(before=timezone.now() - timedelta(days=days))
        self.stdout.write(
            _("%(jobs)s export jobs and %(files)s files deleted.") % {"jobs": jobs, "files": files}
        )
