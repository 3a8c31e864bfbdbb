"""A list of choice codes stored as JSON: Attachment 1's "tick one or more" answers."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class ChoiceListField(models.JSONField):
    """A JSON list of codes from ``item_choices``, kept unique and in the choices' order.

    JSON rather than ArrayField so that the same column works on SQLite and PostgreSQL.
    """

    def __init__(self, *args, item_choices=(), **kwargs):
        self.item_choices = list(item_choices)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["item_choices"] = self.item_choices
        if kwargs.get("default") is list:
            del kwargs["default"]
        return name, path, args, kwargs

    @property
    def codes(self) -> list[str]:
        return [code for code, _label in self.item_choices]

    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            # Known codes in the order of the choices; unknown ones are left for validate().
            known = [code for code in self.codes if code in value]
            unknown = [item for item in dict.fromkeys(value) if item not in self.codes]
            return known + unknown
        return value

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(_("Expected a list of choices."), code="not_a_list")
        unknown = [item for item in value if item not in self.codes]
        if unknown:
            raise ValidationError(
                _("“%(value)s” is not one of the available choices."),
                code="invalid_choice",
                params={"value": "、".join(unknown)},
            )

    def display(self, value) -> str:
        """The labels of the ticked codes, joined the Chinese way."""
        labels = dict(self.item_choices)
        return "、".join(str(labels.get(code, code)) for code in value or [])

    def formfield(self, **kwargs):
        # Not JSONField.formfield, which would offer a JSON text area.
        defaults = {
            "choices": self.item_choices,
            "widget": forms.CheckboxSelectMultiple,
            "required": not self.blank,
            "label": capfirst(self.verbose_name),
            "help_text": self.help_text,
        }
        defaults.update(kwargs)
        defaults.pop("form_class", None)
        defaults.pop("encoder", None)
        defaults.pop("decoder", None)
        return forms.MultipleChoiceField(**defaults)
