"""The one error a file that cannot be read at all raises: no row of it is looked at."""

from django.utils.translation import gettext_lazy as _


class UnreadableFile(Exception):
    """The file is refused as a whole; `message` is for the user, `code` is stable.

    `detail` is for the log only (e.g. the parser's own words) and is never shown to users.
    """

    def __init__(self, message, *, code: str, params: dict | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = params or {}
        self.detail = detail

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)

    def __repr__(self) -> str:
        return f"UnreadableFile(code={self.code!r}, detail={self.detail!r})"


def empty() -> UnreadableFile:
    return UnreadableFile(_("The file is empty."), code="empty")


def damaged(detail: str = "") -> UnreadableFile:
    return UnreadableFile(
        _(
            "The file is damaged and cannot be read. Open it in Excel, save it again as an "
            "Excel workbook (.xlsx) and upload that."
        ),
        code="damaged",
        detail=detail,
    )


def not_a_spreadsheet(detail: str = "") -> UnreadableFile:
    return UnreadableFile(
        _("The file is not a spreadsheet. Upload an Excel workbook (.xlsx or .xls) or a CSV file."),
        code="not_spreadsheet",
        detail=detail,
    )


def encrypted() -> UnreadableFile:
    return UnreadableFile(
        _(
            "The workbook is protected by a password, so it cannot be read. Remove the password "
            "in Excel (File › Info › Protect Workbook › Encrypt with Password: clear it), save, "
            "and upload it again."
        ),
        code="encrypted",
    )


def unsafe(detail: str = "") -> UnreadableFile:
    """A zip bomb, or counts and sizes no licence list comes near: refused before parsing."""
    return UnreadableFile(
        _(
            "The file is refused as unsafe: it would unpack to, or declares, far more data than "
            "any licence list holds. It may be damaged or deliberately malformed. Open it in "
            "Excel, save it again as .xlsx and upload that."
        ),
        code="unsafe",
        detail=detail,
    )


def area_too_large(rows: int, columns: int, limit: int) -> UnreadableFile:
    return UnreadableFile(
        _(
            "The sheet's used area is %(rows)s rows × %(columns)s columns, more than the "
            "%(limit)s cells that can be read. Delete the empty but formatted rows and columns "
            "below and to the right of the list, or split the list into several files."
        ),
        code="area_too_large",
        params={"rows": f"{rows:,}", "columns": f"{columns:,}", "limit": f"{limit:,}"},
    )


def too_many_rows(limit: int) -> UnreadableFile:
    return UnreadableFile(
        _(
            "The file has more than %(limit)s data rows. Split it into files of at most "
            "%(limit)s rows."
        ),
        code="too_many_rows",
        params={"limit": f"{limit:,}"},
    )
