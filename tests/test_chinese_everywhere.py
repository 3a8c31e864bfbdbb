"""Every page a signed-in user reaches reads in Chinese: no English word, and no server error.

The crawl signs in as each role on the demo register (`seed_demo`, plus a superuser, an import
batch and a return attachment, so that lists, change pages, history pages and return pages have
rows), starts at the admin's index, the special verification and the register statistics, and
follows every link of the site (same host) breadth-first. It checks the visible text of each
HTML page and the alt, title, aria-label, placeholder and button text, for English words and
for half-width punctuation against Chinese text ("名称:", "。；"); a link that answers 403 or a
server error fails too. Anything that is not an HTML page (downloads: .xlsx, .csv, attachments)
is only checked for not being a server error or a refusal.

Bounded so that it stays fast: at most PER_SHAPE pages per URL pattern and set of query
parameters, and at most PER_ROUTE pages per URL pattern (so one changelist with a filter or two,
one change page, one history page and one old version per model, and so on), and MAX_PAGES per
role: about 120 to 175 pages a role, some 25 s of CPU for the four roles. Logout and what only
works by POST are not followed (the admin's logout is a form); the import preview and the
workflow's e-mails, which only a POST makes, have tests of their own below, and so does the
JavaScript catalog of the admin's scripts, which the crawl does not run.

A word is English when it is a run of two or more Latin letters with no digit in it (model
numbers such as LXS-20 or DTSD341 are codes, not words), not in ALLOWED (file formats, units,
standards) and not in the words of the data itself (names, addresses, user names, model
specifications typed into the register). Codes of choices (category codes, "website") are not
taken from the data: shown raw, they are English.
"""

import ast
import re
from collections import defaultdict, deque
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models, transaction
from django.test import Client, override_settings
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.translation.trans_real import DjangoTranslation

from accounts.models import User
from accounts.roles import PROVINCIAL_ADMIN
from licensing.importing.service import import_preview, licence_import
from licensing.models import Licence, Manufacturer, Province
from tests.licensing.import_files import licence_row, with_wrong_check_character, xlsx
from tests.licensing.test_simple_imports import (
    MANUFACTURER_HEADER,
    SD_1,
    SD_2,
    csv_file,
    manufacturer_row,
    upload,
)
from verification import notifications
from verification.models import ProvincialReturn, ReturnEvent, ReturnEventAction, ReturnStatus
from verification.services import return_attachment_add

# The crawl's own database work happens in the module's fixture; the mark makes pytest-django
# create the test database at all (it sets up only the databases its tests ask for).
pytestmark = pytest.mark.django_db

START_PAGES = ["/admin/", "/verification/", "/reports/statistics/"]
PER_SHAPE = 1
PER_ROUTE = 3
MAX_PAGES = 400

# Words that read the same in a Chinese government system: file formats, units, standards' prefixes.
ALLOWED = {
    "PDF", "pdf", "JPEG", "jpeg", "JPG", "jpg", "PNG", "png",
    "xlsx", "XLSX", "xls", "XLS", "csv", "CSV", "Excel", "UTF", "GBK",
    "GB", "CPA", "CMC", "SHA", "ID", "MB", "KB",
    "Max", "Min", "kg", "mm", "mL", "kWh", "MPa", "kPa", "Pa", "Hz", "km",
    # The key as printed on the keyboard; the notice's own heading of Attachment 2's last column.
    "Ctrl", "E-mail",
}  # fmt: skip
# Half-width punctuation against Chinese text, and the "。；" of a sentence joined to another.
HALF_WIDTH_PUNCTUATION = re.compile(r"[\u4e00-\u9fff）》”][:;?!]|[:;](?=[\u4e00-\u9fff])|。；")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.@/\-]*")
TOKEN_LETTERS = re.compile(r"[A-Za-z]{2,}")
SKIPPED_PATHS = re.compile(r"^/admin/logout/|^/static/|^/admin/jsi18n/")
JS_GETTEXT = re.compile(r"""\bgettext\(\s*(?P<msgid>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*\)""")
VISIBLE_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")


class PageText(HTMLParser):
    """The text a user reads (or hears from a screen reader), and the page's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[str, str]] = []  # (where: "text" or the attribute, the text)
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
            return
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in VISIBLE_ATTRIBUTES:
            if attrs.get(name):
                self.texts.append((name, attrs[name]))
        if (
            tag == "input"
            and attrs.get("type") in ("submit", "button", "reset")
            and attrs.get("value")
        ):
            self.texts.append(("button", attrs["value"]))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style", "template"):
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(("text", data.strip()))


def english_words(text: str, data_words: set[str]) -> list[str]:
    words = []
    for token in WORD.findall(text):
        token = token.rstrip(".-/")
        if token in ALLOWED or token in data_words or any(char.isdigit() for char in token):
            continue
        for word in TOKEN_LETTERS.findall(token):
            if word not in ALLOWED and word not in data_words:
                words.append(word)
    return words


def words_of_the_data() -> set[str]:
    """Latin words typed into the data: free text of every model, never a choice's code."""
    from django.apps import apps

    words = set()
    for model in apps.get_models():
        if model._meta.app_label not in ("licensing", "verification", "accounts"):
            continue
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.EmailField))
            and not field.choices
            and field.name not in ("code", "password", "sha256", "content_type", "status")
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields):
            for value in row:
                for token in WORD.findall(value or ""):
                    words.add(token.rstrip(".-/"))
                    words.update(TOKEN_LETTERS.findall(token))
    return words


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo register, written once for the module and rolled back after it."""
    media = tmp_path_factory.mktemp("private-media")
    with (
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            PRIVATE_MEDIA_ROOT=media,
        ),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        caches["default"].clear()
        call_command("seed_demo", "--force", stdout=open("/dev/null", "w"))  # noqa: SIM115
        users = {user.username: user for user in User.objects.all()}
        users["root"] = User.objects.create_superuser("root", "root@example.cn", "x")
        shandong = Province.objects.get(code="37")
        # Import batches (one written, one previewed with an error) and an attachment on
        # 山东's return.
        licence_import(
            data=xlsx([licence_row(97)]),
            file_name="山东许可证名单.xlsx",
            by=users["shandong_admin"],
        )
        import_preview(
            data=xlsx([licence_row(98), with_wrong_check_character(licence_row(99))]),
            file_name="山东许可证名单（补充）.xlsx",
            by=users["shandong_admin"],
        )
        shandong_return = ProvincialReturn.objects.get(province=shandong)
        assert shandong_return.status == ReturnStatus.DRAFT
        return_attachment_add(
            provincial_return=shandong_return,
            by=users["shandong_admin"],
            file=SimpleUploadedFile("核查总结.pdf", PDF, content_type="application/pdf"),
        )
        assert Licence.objects.count() > 100
        # The bounded crawl opens only the first returns it meets: the admin's page of one that
        # was sent back with comments on single items is visited in any case.
        commented = ReturnEvent.objects.exclude(field_comments={}).order_by("pk").first()
        also = (f"/admin/verification/provincialreturn/{commented.provincial_return_id}/change/",)
        yield {"users": users, "data_words": words_of_the_data(), "media": media, "also": also}
        transaction.set_rollback(True)


def route_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


def crawl(client: Client, data_words: set[str], also: tuple[str, ...] = ()):
    """Walk the site from START_PAGES (and `also`, visited first); {problem: first url} for
    every English text, every server error and every link that leads to a refusal (403)."""
    problems = {}
    seen_urls = set()
    per_shape = defaultdict(int)
    per_route = defaultdict(int)
    queue = deque((url, None) for url in (*also, *START_PAGES))
    pages = 0
    while queue and pages < MAX_PAGES:
        url, referrer = queue.popleft()
        if url in seen_urls:
            continue
        seen_urls.add(url)
        parts = urlsplit(url)
        route = route_of(parts.path)
        if route is None or SKIPPED_PATHS.match(parts.path):
            continue
        shape = (route, tuple(sorted({key for key, _value in parse_qsl(parts.query)})))
        if per_shape[shape] >= PER_SHAPE or per_route[route] >= PER_ROUTE:
            continue
        per_shape[shape] += 1
        per_route[route] += 1
        pages += 1

        response = client.get(url)
        if response.status_code >= 500 or response.status_code == 403:
            problems.setdefault(
                f"HTTP {response.status_code} ({route})", f"{url}, linked from {referrer}"
            )
            continue
        if response.status_code in (301, 302):
            queue.append((urljoin(url, response["Location"]), referrer))
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = PageText()
        parser.feed(response.content.decode())
        for where, text in parser.texts:
            if english_words(text, data_words):
                problems.setdefault(f"{where}: {text[:150]!r}", url)
            elif HALF_WIDTH_PUNCTUATION.search(text):
                problems.setdefault(f"half-width punctuation, {where}: {text[:150]!r}", url)
        for link in parser.links:
            target = urlsplit(urljoin(url, link))
            if target.scheme not in ("", "http", "https") or target.netloc not in (
                "",
                "testserver",
            ):
                continue
            queue.append((target.path + (f"?{target.query}" if target.query else ""), url))
    return problems, pages


ROLES = ["reviewer", "shandong_admin", "zhejiang_clerk", "root"]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_role_reaches_is_chinese(demo, username, settings):
    settings.PRIVATE_MEDIA_ROOT = demo["media"]
    client = Client()
    client.force_login(demo["users"][username])

    problems, pages = crawl(client, demo["data_words"], demo["also"])

    assert pages >= 20, f"the crawl reached only {pages} pages as {username}"
    assert not problems, (
        f"{len(problems)} problem(s) on {pages} pages as {username}:\n  "
        + "\n  ".join(f"{problem}  (first on {url})" for problem, url in problems.items())
    )


def test_the_crawl_finds_an_english_word_put_back(demo):
    assert english_words("许可证 Select all", demo["data_words"]) == ["Select", "all"]
    assert english_words("型号 LXS-20，Max 60t，PDF、xlsx", demo["data_words"]) == []
    assert english_words("类别：water-meter", demo["data_words"]) == ["water", "meter"]
    parser = PageText()
    parser.feed('<img alt="True"><a title="Search" href="/admin/">首页</a><script>var x;</script>')
    texts = " ".join(text for _where, text in parser.texts)
    assert english_words(texts, demo["data_words"]) == ["True", "Search"]
    assert parser.links == ["/admin/"]


def test_every_message_of_the_admins_scripts_is_chinese():
    """The admin's scripts (the two-list selector, calendars, actions) read their text from the
    JavaScript catalog (/admin/jsi18n/); Django's own Chinese one lacks some of it, which
    locale/zh_Hans/LC_MESSAGES/djangojs.po adds. The crawl does not run scripts, so this checks
    the catalog against the scripts' gettext() calls."""
    import django.contrib.admin

    admin_dir = Path(django.contrib.admin.__file__).parent
    catalog = DjangoTranslation("zh-hans", domain="djangojs", localedirs=[admin_dir / "locale"])
    missing = []
    for script in sorted((admin_dir / "static" / "admin" / "js").rglob("*.js")):
        if "vendor" in script.parts:
            continue
        for match in JS_GETTEXT.finditer(script.read_text(encoding="utf-8")):
            msgid = ast.literal_eval(match["msgid"])
            if catalog.gettext(msgid) == msgid:
                missing.append(f"{script.name}: {msgid!r}")
    assert not missing, "untranslated in the admin's JavaScript catalog:\n  " + "\n  ".join(missing)


def test_return_events_are_named_in_beijing_time(demo):
    event = ReturnEvent.objects.filter(at__hour__lt=16).order_by("pk").first()
    with translation.override("zh-hans"):
        name = str(event)

    assert timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M") in name
    assert event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") not in name


def test_the_manufacturer_import_preview_is_chinese(client, shandong_admin):
    """The crawl does not post: the preview of django-import-export's import, with an empty cell
    and a row error, checked here (the library's catalog garbles its heading, and empty cells
    read "None")."""
    client.force_login(shandong_admin)
    wrong = SD_1[:17] + ("0" if SD_1[17] != "0" else "1")
    preview = upload(
        client,
        Manufacturer,
        csv_file(
            MANUFACTURER_HEADER,
            manufacturer_row("济南衡器有限公司", SD_2, phone=""),
            manufacturer_row("错误代码有限公司", wrong),
        ),
    )
    assert preview.status_code == 200
    parser = PageText()
    parser.feed(preview.content.decode())
    texts = [text for _where, text in parser.texts]
    assert [text for text in texts if english_words(text, {shandong_admin.username})] == []
    assert "部分行的数据未通过校验" in texts

    preview = upload(
        client,
        Manufacturer,
        csv_file(MANUFACTURER_HEADER, manufacturer_row("济南衡器有限公司", SD_2, phone="")),
    )
    parser = PageText()
    parser.feed(preview.content.decode())
    texts = [text for _where, text in parser.texts]
    assert [text for text in texts if english_words(text, {shandong_admin.username})] == []
    assert "济南衡器有限公司" in texts


def test_the_workflows_e_mails_are_chinese(demo, mailoutbox):
    """The crawl reads pages; the e-mails of a submission, a sending back with comments on
    single items, and an acceptance are read here."""
    returned = ReturnEvent.objects.exclude(field_comments={}).order_by("pk").first()
    accepted = ReturnEvent.objects.filter(action=ReturnEventAction.ACCEPTED).order_by("pk").first()
    for event in (returned, accepted):  # their administrators get the mail
        User.objects.filter(
            province=event.provincial_return.province, groups__name=PROVINCIAL_ADMIN
        ).update(email=f"admin{event.provincial_return.province.code}@example.cn")
    notifications.notify_submitted(returned.provincial_return, late=True)
    notifications.notify_returned(returned.provincial_return, event=returned)
    notifications.notify_accepted(accepted.provincial_return, event=accepted)

    assert len(mailoutbox) >= 3
    for message in mailoutbox:
        for text in (message.subject, *message.body.splitlines()):
            assert not english_words(text, demo["data_words"]), text
            assert not HALF_WIDTH_PUNCTUATION.search(text), text


def test_people_are_named_by_their_real_name_or_else_their_user_name(db):
    named = User(username="sd_clerk_2", last_name="欧阳", first_name="明月")
    unnamed = User(username="sd_clerk_3")

    assert str(named) == named.get_full_name() == named.get_short_name() == "欧阳明月"
    assert str(unnamed) == "sd_clerk_3"
