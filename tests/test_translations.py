"""Every interface message of the project has a Chinese translation, and django.mo matches django.po.

Pure Python on purpose: a fresh machine runs these without GNU gettext, from the committed .mo.
"""

import ast
import gettext as gettext_module
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.utils import translation
from django.utils.translation.template import templatize

from licensing.models import Licence, LicenceStatus

BASE_DIR = Path(settings.BASE_DIR)
LC_MESSAGES = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"
HINT = (
    "Translate them in locale/zh_Hans/LC_MESSAGES/django.po and run tools/update_translations.sh "
    "(it re-extracts the messages and recompiles django.mo)."
)

# Folders with no interface text of the project (the same ones makemessages is told to ignore).
SKIPPED_DIRS = {
    ".venv",
    "venv",
    "tests",
    "migrations",
    "staticfiles",
    "test-artifacts",
    "node_modules",
    "tools",
    "locale",
    "__pycache__",
}
# Messages that read the same in Chinese (a standard's number, say). Keep it short.
SAME_IN_CHINESE: set[str] = set()

# Translation functions -> positions of (context, singular, plural) among their arguments.
GETTEXT_FUNCTIONS = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
TEMPLATE_CALL = re.compile(
    r"\b(?P<func>_|gettext|pgettext|ngettext|npgettext)\("
    r"(?P<args>(?:\s*(?:u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\"|count)\s*,?)+)\)"
)
TEMPLATE_STRING = re.compile(r"u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\"")
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


@dataclass(frozen=True)
class Key:
    context: str | None
    msgid: str

    def __str__(self):
        return f"{self.context} | {self.msgid!r}" if self.context else repr(self.msgid)


@dataclass
class Found:
    """A message as the code asks for it."""

    plural: str | None
    where: str


@dataclass
class PoEntry:
    msgid: str = ""
    context: str | None = None
    plural: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self):
        return Key(self.context, self.msgid)

    @property
    def fuzzy(self):
        return "fuzzy" in self.flags

    @property
    def translated(self):
        return bool(self.msgstrs) and all(self.msgstrs.values()) and not self.fuzzy


def parse_po(path: Path) -> dict[Key, PoEntry]:
    """The live entries of a .po file (the header and obsolete `#~` entries left out)."""
    entries: dict[Key, PoEntry] = {}
    entry, target = PoEntry(), None

    def flush():
        nonlocal entry, target
        if target is not None and (entry.msgid or entry.context is not None):
            entries[entry.key] = entry
        entry, target = PoEntry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if entry.msgstrs:
                flush()
            continue
        if line.startswith("#"):
            if entry.msgstrs:
                flush()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            keyword, _sep, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if keyword in ("msgctxt", "msgid") and entry.msgstrs:
                flush()
            if keyword == "msgctxt":
                entry.context, target = "", "context"
            elif keyword == "msgid":
                entry.line, target = number, "msgid"
            elif keyword == "msgid_plural":
                entry.plural, target = "", "plural"
            elif keyword == "msgstr":
                entry.msgstrs[0], target = "", 0
            elif match := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
                target = int(match[1])
                entry.msgstrs[target] = ""
            else:
                raise ValueError(f"{path}:{number}: cannot read {raw!r}")
        if target is None:
            raise ValueError(f"{path}:{number}: text outside an entry: {raw!r}")
        if isinstance(target, int):
            entry.msgstrs[target] += value
        else:
            setattr(entry, target, getattr(entry, target) + value)
    flush()
    return entries


def project_files(suffixes: tuple[str, ...], *, under: str | None = None):
    """The project's own files with these suffixes, optionally only inside folders named `under`."""
    for folder, dirs, files in os.walk(BASE_DIR):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        relative = Path(folder).relative_to(BASE_DIR)
        if under and under not in relative.parts:
            continue
        for name in sorted(files):
            if name.endswith(suffixes):
                yield Path(folder) / name


def _translation_names(tree: ast.Module) -> dict[str, str]:
    """The names a module calls the translation functions by, including `import ... as` aliases."""
    names = {name: name for name in GETTEXT_FUNCTIONS}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in GETTEXT_FUNCTIONS:
                    names[alias.asname or alias.name] = alias.name
    return names


def scan_python(path: Path, found, problems):
    where = path.relative_to(BASE_DIR).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = _translation_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called not in names:
            continue
        positions = GETTEXT_FUNCTIONS[names[called]]
        args = [
            arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else arg
            for arg in node.args
        ]
        if len(args) <= positions[1]:
            continue
        msgid = args[positions[1]]
        if not isinstance(msgid, str):
            if isinstance(msgid, ast.JoinedStr) or (
                isinstance(msgid, ast.BinOp) and isinstance(msgid.left, ast.Constant)
            ):
                problems.append(
                    f"{where}:{node.lineno}: {called}() of a string built at run time; "
                    "translate the literal and format the result"
                )
            continue
        context = args[positions[0]] if positions[0] is not None else None
        plural = args[positions[2]] if positions[2] is not None else None
        if context is not None and not isinstance(context, str):
            continue
        found[Key(context, msgid)].append(
            Found(plural if isinstance(plural, str) else None, f"{where}:{node.lineno}")
        )


def scan_template(path: Path, found):
    """Messages of `{% translate %}`, `{% blocktranslate %}` and `_("…")`, as makemessages sees them."""
    where = path.relative_to(BASE_DIR).as_posix()
    # templatize is what makemessages runs before xgettext; it keeps the template's line breaks.
    text = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for match in TEMPLATE_CALL.finditer(text):
        strings = [ast.literal_eval(s) for s in TEMPLATE_STRING.findall(match["args"])]
        func = match["func"]
        context = strings.pop(0) if func in ("pgettext", "npgettext") else None
        plural = strings[1] if func in ("ngettext", "npgettext") else None
        line = text.count("\n", 0, match.start()) + 1
        found[Key(context, strings[0])].append(Found(plural, f"{where}:{line}"))


def scan_project():
    found: dict[Key, list[Found]] = defaultdict(list)
    problems: list[str] = []
    for path in project_files((".py",)):
        scan_python(path, found, problems)
    for path in project_files((".html", ".txt"), under="templates"):
        scan_template(path, found)
    return found, problems


def placeholders(text: str) -> list[str]:
    return sorted(match[1] or match[0] for match in PLACEHOLDER.finditer(text.replace("%%", "")))


@pytest.fixture(scope="module")
def po():
    assert PO_PATH.exists(), f"{PO_PATH.relative_to(BASE_DIR)} is missing. {HINT}"
    return parse_po(PO_PATH)


def test_every_message_of_the_project_has_a_chinese_translation(po):
    found, problems = scan_project()
    assert any(
        item.where.startswith("licensing/models.py") for items in found.values() for item in items
    ), (
        "the source scan found no messages in licensing/models.py; is the scan looking in the right place?"
    )

    for key, items in sorted(found.items(), key=lambda pair: pair[1][0].where):
        entry = po.get(key)
        if entry is None:
            reason = "not in django.po"
        elif entry.fuzzy:
            reason = "marked fuzzy in django.po"
        elif not entry.translated:
            reason = "no translation in django.po"
        elif entry.msgstrs[0] == key.msgid and key.msgid not in SAME_IN_CHINESE:
            reason = "the translation is the English text"
        elif any(item.plural != entry.plural for item in items):
            reason = f"plural form differs from django.po ({entry.plural!r})"
        else:
            continue
        problems.extend(f"{item.where}: {key}: {reason}" for item in items)

    assert not problems, (
        f"{len(problems)} message(s) of the project have no Chinese translation:\n  "
        + "\n  ".join(sorted(problems))
        + f"\n{HINT}"
    )


def test_django_po_is_complete_and_keeps_the_placeholders(po):
    problems = []
    for key, entry in po.items():
        where = f"django.po:{entry.line}: {key}"
        if entry.fuzzy:
            problems.append(f"{where}: fuzzy")
        elif not entry.translated:
            problems.append(f"{where}: no translation")
        elif "python-format" in entry.flags:
            expected = set(placeholders(key.msgid)) | set(placeholders(entry.plural or ""))
            for msgstr in entry.msgstrs.values():
                if set(placeholders(msgstr)) != expected or (
                    entry.plural is None and placeholders(msgstr) != placeholders(key.msgid)
                ):
                    problems.append(f"{where}: placeholders differ in {msgstr!r}")
    assert not problems, "django.po is not ready:\n  " + "\n  ".join(problems) + f"\n{HINT}"


def test_compiled_mo_matches_po(po):
    assert MO_PATH.exists(), f"{MO_PATH.relative_to(BASE_DIR)} is missing. {HINT}"
    with MO_PATH.open("rb") as mo_file:
        compiled = gettext_module.GNUTranslations(mo_file)._catalog
    compiled = {key: value for key, value in compiled.items() if key != ""}  # "" is the header

    expected = {}
    for key, entry in po.items():
        if not entry.translated:
            continue  # msgfmt leaves out fuzzy and empty entries, and so does Django
        msgid = f"{key.context}\x04{key.msgid}" if key.context is not None else key.msgid
        if entry.plural is None:
            expected[msgid] = entry.msgstrs[0]
        else:
            expected.update({(msgid, n): msgstr for n, msgstr in entry.msgstrs.items()})

    def label(mo_key):
        msgid = mo_key[0] if isinstance(mo_key, tuple) else mo_key
        return repr(msgid.replace("\x04", " | "))

    missing = sorted({label(k) for k in expected.keys() - compiled.keys()})
    stale = sorted({label(k) for k in compiled.keys() - expected.keys()})
    changed = sorted(
        {label(k) for k in expected.keys() & compiled.keys() if expected[k] != compiled[k]}
    )
    assert not (missing or stale or changed), (
        "django.mo is out of date with django.po; run tools/update_translations.sh.\n"
        f"  missing from django.mo: {', '.join(missing) or '-'}\n"
        f"  translated differently in django.mo: {', '.join(changed) or '-'}\n"
        f"  in django.mo but not translated in django.po: {', '.join(stale) or '-'}"
    )


def is_chinese(text) -> bool:
    text = str(text)
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and not re.search(r"[A-Za-z]", text)


def test_the_interface_speaks_chinese():
    with translation.override("zh-hans"):
        assert str(Licence._meta.verbose_name) == "许可证"
        assert str(Licence._meta.get_field("number").verbose_name) == "许可证编号"
        assert str(LicenceStatus.VALID.label) == "有效"
        for title in (admin.site.site_header, admin.site.site_title, admin.site.index_title):
            assert is_chinese(title), title
        # Django's own admin text comes from the zh_Hans catalogue Django ships.
        assert translation.gettext("Log in") == "登录"
        assert translation.gettext("Save") == "保存"


@pytest.mark.django_db
def test_admin_login_page_is_chinese(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans"' in page
    with translation.override("zh-hans"):
        assert str(admin.site.site_header) in page
    assert "登录" in page
