"""The upload form of the licence-list import in the admin."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from config.uploads import megabytes

ACCEPTED = ".xlsx,.xls,.csv"


def too_large(max_bytes: int) -> ValidationError:
    # The same words as the readers' refusal, so the message reads the same wherever it comes.
    return ValidationError(
        _(
            "The file is larger than %(limit)s MB, the most that can be imported at once. Split "
            "the list into several files."
        ),
        code="too_large",
        params={"limit": megabytes(max_bytes)},
    )


class LicenceListUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Licence list"),
        widget=forms.FileInput(attrs={"accept": ACCEPTED}),
    )

    def __init__(self, *args, max_bytes: int, dropped: bool = False, **kwargs):
        """``dropped``: the upload handler discarded a file over ``max_bytes`` while receiving it."""
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.dropped = dropped
        if dropped:
            self.fields["file"].required = False
        self.fields["file"].help_text = _(
            "An Excel workbook (.xlsx or .xls) or a CSV file, at most %(limit)s MB."
        ) % {"limit": megabytes(max_bytes)}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if self.dropped or (upload is not None and upload.size > self.max_bytes):
            raise too_large(self.max_bytes)
        return upload
