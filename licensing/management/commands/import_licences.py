"""python manage.py import_licences FILE [--province CODE] [--as-user USERNAME] [--dry-run] [--json]

Exit status (DESIGN.md §4): 0 written (or, with --dry-run, would be written); 1 the file has row
errors and nothing was written; 2 the file could not be read at all and nothing was written.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from licensing.importing.service import ImportResult, Problem, licence_import
from licensing.models import Province

WRITTEN, ROW_ERRORS, UNREADABLE = 0, 1, 2


class Command(BaseCommand):
    help = "Import a licence list (.xlsx, .xls or .csv) into the register, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the licence list: .xlsx, .xls or .csv (UTF-8 or GB18030)")
        parser.add_argument(
            "--province",
            metavar="CODE",
            help="GB/T 2260 code, e.g. 37: rows of any other province are errors",
        )
        parser.add_argument(
            "--as-user",
            metavar="USERNAME",
            dest="as_user",
            help="import as this user, within its province scope, as the web import does",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, but write nothing"
        )
        parser.add_argument(
            "--json", action="store_true", help="print exactly one JSON object on stdout"
        )

    def handle(self, *args, **options):
        self.as_json = options["json"]
        province = self._province(options["province"])
        user = self._user(options["as_user"])
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            self._refuse(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": error.strerror}
            )
        try:
            result = licence_import(
                data=data,
                file_name=path.name,
                by=user,
                province=province,
                dry_run=options["dry_run"],
            )
        except PermissionDenied as error:
            self._refuse(str(error))
        self._report(path, result, options["verbosity"])
        if result.unreadable:
            raise CommandError(
                _("The file could not be read; nothing was written."), returncode=UNREADABLE
            )
        if not result.ok:
            raise CommandError(
                ngettext(
                    "%(count)d error; nothing was written.",
                    "%(count)d errors; nothing was written.",
                    len(result.errors),
                )
                % {"count": len(result.errors)},
                returncode=ROW_ERRORS,
            )

    def _province(self, code):
        if not code:
            return None
        province = Province.objects.filter(code=code.strip()).first()
        if province is None:
            self._refuse(
                _("Unknown province code “%(code)s”: expected a GB/T 2260 code such as 37.")
                % {"code": code}
            )
        return province

    def _user(self, username):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            self._refuse(_("There is no user “%(username)s”.") % {"username": username})
        if not user.is_active:
            self._refuse(_("The user “%(username)s” is inactive.") % {"username": username})
        return user

    def _refuse(self, message):
        """Stop before importing: exit status 2, the message on stderr (and in the JSON)."""
        if self.as_json:
            result = ImportResult(unreadable=True, errors=[Problem(None, None, message)])
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        raise CommandError(message, returncode=UNREADABLE)

    def _report(self, path, result: ImportResult, verbosity: int):
        if self.as_json:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        out = self.stdout
        out.write(
            ngettext("%(file)s: %(rows)d row", "%(file)s: %(rows)d rows", result.rows)
            % {"file": path.name, "rows": result.rows}
        )
        for label, counts in (
            (_("Manufacturers"), result.manufacturers),
            (_("Licences"), result.licences),
            (_("Products"), result.products),
        ):
            out.write(
                _("%(label)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged")
                % {"label": label, **counts.as_dict()}
            )
        if verbosity >= 2:
            for change in result.changes:
                fields = "; ".join(
                    f"{name}: “{old}” → “{new}”" for name, (old, new) in change.fields.items()
                )
                out.write(
                    _("Row %(row)d, %(model)s %(identity)s: %(fields)s")
                    % {
                        "row": change.row,
                        "model": change.model,
                        "identity": change.identity,
                        "fields": fields,
                    }
                )
        for heading, problems in ((_("Errors"), result.errors), (_("Warnings"), result.warnings)):
            if problems:
                out.write(f"{heading} ({len(problems)}):")
                for problem in problems:
                    out.write(f"  {_where(problem)}{problem.message}")
        if result.ok:
            if result.dry_run:
                out.write(_("Dry run: nothing was written."))
            elif result.batch is not None:
                out.write(
                    self.style.SUCCESS(
                        _("Written (import batch %(id)d).") % {"id": result.batch.pk}
                    )
                )
            else:
                out.write(
                    self.style.SUCCESS(_("Nothing to write: the register already holds this list."))
                )


def _where(problem: Problem) -> str:
    if problem.row is not None and problem.column:
        return _("row %(row)d, %(column)s: ") % {"row": problem.row, "column": problem.column}
    if problem.row is not None:
        return _("row %(row)d: ") % {"row": problem.row}
    if problem.column:
        return f"{problem.column}: "
    return ""
