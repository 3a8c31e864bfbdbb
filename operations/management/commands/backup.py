"""Back up the database and the private media into one file in BACKUP_DIR."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from operations.backup import BackupError, backup_create


class Command(BaseCommand):
    help = gettext_lazy(
        "Back up the database (SQLite's online backup, or pg_dump on PostgreSQL) and the "
        "uploaded attachments into one timestamped .tar file in BACKUP_DIR; safe while the "
        "system is in use."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            help=gettext_lazy("where to write the backup; default: BACKUP_DIR"),
        )

    def handle(self, *args, directory=None, **options):
        try:
            path, manifest = backup_create(directory=directory)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _(
                "Backed up %(tables)d tables (%(rows)d rows) and %(files)d attachment files "
                "into %(file)s (%(size).1f MB)."
            )
            % {
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "files": manifest["media_files"],
                "file": path,
                "size": path.stat().st_size / 1e6,
            }
        )
