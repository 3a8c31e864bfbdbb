"""Forms of the return's pages. They check input; the services in verification/services.py write."""

from django import forms
from django.core import validators
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from config.uploads import megabytes
from verification.models import (
    ANSWER_FIELDS,
    COMMENTABLE_FIELDS,
    ProvincialReturn,
    SystemAdministrator,
)
from verification.services import (
    ADMINISTRATOR_FIELDS,
    attachment_max_bytes,
    attachment_too_large,
)

YES_NO = [(True, _("Yes")), (False, _("No"))]
BOOLEAN_ANSWERS = ("out_of_scope", "institutions_authorised", "list_filed", "online_approval")


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on `form`: by field where the form has it, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else NON_FIELD_ERRORS, errors)


class VersionForm(forms.Form):
    """The version of the return the page was loaded at, so that a stale action is refused."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReturnForm(forms.ModelForm):
    """Attachment 1's answers and the written summary: what return_save_draft changes."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = ProvincialReturn
        fields = ANSWER_FIELDS
        widgets = {
            **{name: forms.RadioSelect(choices=YES_NO) for name in BOOLEAN_ANSWERS},
            "announcement_methods_other": forms.TextInput(attrs={"class": "vTextField"}),
            "type_approval_department": forms.TextInput(attrs={"class": "vTextField"}),
            "licence_department": forms.TextInput(attrs={"class": "vTextField"}),
            "reform_text": forms.Textarea(attrs={"rows": 3}),
            "remarks": forms.Textarea(attrs={"rows": 3}),
            "summary_basic": forms.Textarea(attrs={"rows": 6}),
            "summary_experience": forms.Textarea(attrs={"rows": 6}),
            "summary_problems": forms.Textarea(attrs={"rows": 6}),
            "summary_suggestions": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("expected_version", self.instance.version)

    def answers(self) -> dict:
        return {name: self.cleaned_data[name] for name in ANSWER_FIELDS}


class AttestForm(forms.Form):
    attest = forms.BooleanField(
        label=_(
            "As the province's system administrator I confirm that this return is true and "
            "complete."
        ),
        required=False,
        # The box sits beside the submit button, below Attachment 2 and the attachments, but
        # belongs to the answers' form, so that submitting saves the answers too.
        widget=forms.CheckboxInput(attrs={"form": "return-form"}),
    )


class AdministratorForm(forms.ModelForm):
    """A new Attachment 2; system_administrator_add files it."""

    class Meta:
        model = SystemAdministrator
        fields = ADMINISTRATOR_FIELDS
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "organisation": forms.TextInput(attrs={"class": "vTextField"}),
            "office_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Pasted numbers carry spaces and full-width digits; the model normalises them before
        # checking their format and length, so the form must not refuse them as too long.
        for name in ("office_phone", "mobile"):
            field = self.fields[name]
            field.max_length = None
            field.validators = [
                validator
                for validator in field.validators
                if not isinstance(validator, validators.MaxLengthValidator)
            ]
            field.widget.attrs.pop("maxlength", None)
        self.fields["effective_from"].required = False
        self.fields["effective_from"].help_text = _("Leave empty for today.")

    def administrator_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ADMINISTRATOR_FIELDS}
        if data["effective_from"] is None:
            del data["effective_from"]
        return data


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"}
        ),
    )

    def __init__(self, *args, dropped: bool = False, **kwargs):
        """``dropped``: the upload view discarded a file over the limit while receiving it."""
        super().__init__(*args, **kwargs)
        self.max_bytes = attachment_max_bytes()
        self.dropped = dropped
        if dropped:
            self.fields["file"].required = False
        self.fields["file"].help_text = _(
            "The stamped scan, as PDF, JPEG or PNG, at most %(limit)s MB."
        ) % {"limit": megabytes(self.max_bytes)}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if self.dropped or (upload is not None and upload.size > self.max_bytes):
            raise attachment_too_large(self.max_bytes)
        return upload


def comment_field_name(name: str) -> str:
    return f"comment__{name}"


class ReviewForm(forms.Form):
    """The reviewer's decision: a general comment and a comment on any field to be revised."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    comment = forms.CharField(
        label=_("General comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent to the province with the decision."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in COMMENTABLE_FIELDS:
            self.fields[comment_field_name(name)] = forms.CharField(
                label=_("Comment for the province"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def comment_field(self, name: str):
        return self[comment_field_name(name)]

    def field_comments(self) -> dict[str, str]:
        comments = {}
        for name in COMMENTABLE_FIELDS:
            text = self.cleaned_data.get(comment_field_name(name), "").strip()
            if text:
                comments[name] = text
        return comments


class ReopenForm(VersionForm):
    """Reopening an accepted return: the reason is recorded and sent to the province."""

    reason = forms.CharField(
        label=_("Reason for reopening"),
        required=False,  # the service refuses an empty reason, with its own message
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Sent to the province with the reopened return."),
    )


class RemindForm(forms.Form):
    """The units ticked on the status list, by province id."""

    province = forms.TypedMultipleChoiceField(
        label=_("Reporting units"),
        coerce=int,
        required=False,  # the service says that at least one is needed
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any number: the service checks each against the units a reminder may go to.
        self.fields["province"].valid_value = lambda value: str(value).isdigit()
