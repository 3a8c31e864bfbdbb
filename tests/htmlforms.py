"""Read the forms of a page as a browser would submit them, to post them back in tests.

Django's test client posts whatever dict it is given; a page's real form can hold less than the
form class (a scoped choice list, a read-only field) or more (hidden inputs, inline formsets).
Posting back what the page holds is what catches a value that a form silently drops.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

BUTTON_TYPES = {"submit", "button", "reset", "image"}


@dataclass
class Form:
    id: str
    action: str
    method: str
    # (name, value) pairs in page order, as the browser would send them (no buttons, no files).
    fields: list[tuple[str, str]] = field(default_factory=list)
    # name → every option value a select offers, for tests that assert what may be picked.
    options: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def data(self, **changes) -> dict[str, list[str] | str]:
        """The submission as a dict for Client.post; ``changes`` replace (or add) fields."""
        result: dict[str, list[str]] = {}
        for name, value in self.fields:
            result.setdefault(name, []).append(value)
        for name, value in changes.items():
            result[name] = value if isinstance(value, list) else [value]
        return result

    def names(self) -> set[str]:
        return {name for name, _value in self.fields} | set(self.options) | set(self.files)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: tuple[str, bool] | None = None  # (name, multiple)
        self._selected: list[str] = []
        self._first_option: str | None = None
        self._in_option = False
        self._option_value: str | None = None
        self._option_text: list[str] = []
        self._option_selected = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value if value is not None else "") for name, value in attrs}
        if tag == "form":
            self._form = Form(
                id=attributes.get("id", ""),
                action=attributes.get("action", ""),
                method=attributes.get("method", "get").lower(),
            )
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text").lower()
            if kind in BUTTON_TYPES:
                form.buttons.append((name, attributes.get("value", "")))
            elif kind == "file":
                form.files.append(name)
            elif kind in ("checkbox", "radio"):
                form.options.setdefault(name, []).append(attributes.get("value", "on"))
                if "checked" in attributes:
                    form.fields.append((name, attributes.get("value", "on")))
            else:
                form.fields.append((name, attributes.get("value", "")))
        elif tag == "button" and name:
            form.buttons.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, "multiple" in attributes)
            self._selected, self._first_option = [], None
            form.options.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            self._end_option()
            self._in_option = True
            self._option_value = attributes.get("value")
            self._option_text = []
            self._option_selected = "selected" in attributes
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)
        elif self._in_option:
            self._option_text.append(data)

    def handle_endtag(self, tag):
        form = self._form
        if tag == "option" and self._select is not None:
            self._end_option()
        elif tag == "select" and self._select is not None and form is not None:
            self._end_option()
            name, multiple = self._select
            chosen = self._selected
            if not chosen and not multiple and self._first_option is not None:
                chosen = [self._first_option]  # a browser submits a single select's first option
            form.fields.extend((name, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and form is not None:
            text = "".join(self._text)
            form.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "form":
            self._form = None

    def _end_option(self):
        if not self._in_option:
            return
        self._in_option = False
        value = (
            self._option_value
            if self._option_value is not None
            else "".join(self._option_text).strip()
        )
        name, _multiple = self._select
        self._form.options[name].append(value)
        if self._first_option is None:
            self._first_option = value
        if self._option_selected:
            self._selected.append(value)


def forms_of(html: str | bytes) -> list[Form]:
    """Every form of the page, in page order."""
    parser = _Parser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    parser.close()
    return parser.forms


def post_form(html: str | bytes, *, form_id: str | None = None) -> Form:
    """The page's POST form with this id, or its only POST form besides the header's logout."""
    candidates = [
        form for form in forms_of(html) if form.method == "post" and form.id != "logout-form"
    ]
    if form_id is not None:
        candidates = [form for form in candidates if form.id == form_id]
    if len(candidates) != 1:
        found = [form.id or form.action for form in candidates]
        raise LookupError(f"expected one POST form (id={form_id!r}), found {found}")
    return candidates[0]
