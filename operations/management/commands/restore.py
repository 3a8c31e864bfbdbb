"""Restore a backup made by `manage.py backup` into the configured database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from operations.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = gettext_lazy(
        "Restore a backup made by the backup command into the configured database and "
        "PRIVATE_MEDIA_ROOT, then check every table's row count against the backup. Refuses "
        "a database or media folder that already holds data unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=gettext_lazy("the backup's .tar file"))
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy("replace a database that already holds data"),
        )

    def handle(self, *args, file, force=False, **options):
        try:
            manifest = restore_backup(path=file, force=force)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _(
                "Restored %(file)s (made %(created)s): %(tables)d tables, %(rows)d rows, "
                "%(files)d attachment files; every table's row count matches the backup."
            )
            % {
                "file": file,
                "created": manifest["created"],
                "tables": len(manifest["tables"]),
                "rows": sum(manifest["tables"].values()),
                "files": manifest["media_files"],
            }
        )
