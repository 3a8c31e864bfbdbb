"""Write the file of one background export job (started by the export page, in a process of its own)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.export_jobs import JobRefused, export_job_run
from licensing.models import ExportJobStatus


class Command(BaseCommand):
    help = gettext_lazy("Write the file of a background export job and record its progress.")

    def add_arguments(self, parser):
        parser.add_argument("job", type=int, help=gettext_lazy("The export job's id."))

    def handle(self, *args, job: int, **options):
        try:
            done = export_job_run(job_pk=job)
        except JobRefused as error:
            raise CommandError(str(error)) from None
        if done.status != ExportJobStatus.DONE:
            raise CommandError(
                _("Export job %(job)s failed: %(error)s") % {"job": job, "error": done.error}
            )
        self.stdout.write(
            _("Export job %(job)s: %(rows)s rows written.") % {"job": job, "rows": done.rows_done}
        )
