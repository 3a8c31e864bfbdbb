"""The licence-list import in the admin: upload → preview → confirm, and the import batches."""

import http.cookiejar
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from licensing.importing import admin_views
from licensing.importing.admin_views import CONFIRM_SALT
from licensing.importing.errors import not_a_spreadsheet
from licensing.importing.forms import too_large
from licensing.importing.service import licence_import
from licensing.models import (
    ImportBatch,
    ImportBatchStatus,
    Licence,
    LicensedProduct,
    Manufacturer,
)
from tests.conftest import PASSWORD
from tests.licensing.import_files import (
    licence_row,
    licence_rows,
    with_expiry_before_issue,
    with_wrong_check_character,
    xlsx,
)

UPLOAD = "admin:licensing_licence_import_upload"
CONFIRM = "admin:licensing_licence_import_confirm"
TEMPLATE = "admin:licensing_licence_import_template"
ERRORS = "admin:licensing_licence_import_errors"
CHANGELIST = "admin:licensing_licence_changelist"
BASE_DIR = Path(settings.BASE_DIR)


def zh(message, **params) -> str:
    """A message as the (zh-hans) admin shows it, whether or not it is translated yet."""
    with translation.override(settings.LANGUAGE_CODE):
        text = str(translation.gettext(str(message)) if isinstance(message, str) else message)
        return text % params if params else text


def upload(client, data: bytes, name: str = "山东许可证.xlsx"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse(UPLOAD), {"file": file})


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the preview has no confirm form"
    return match.group(1)


def confirm(client, token: str):
    return client.post(reverse(CONFIRM), {"token": token})


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def register_counts() -> tuple[int, int, int, int]:
    return (
        Manufacturer.objects.count(),
        Licence.objects.count(),
        LicensedProduct.objects.count(),
        Licence.history.count(),
    )


def two_bad_rows() -> list[dict]:
    """Four rows; Excel rows 3 and 5 are bad (a wrong check character, expiry before issue)."""
    rows = licence_rows(4, products_per_licence=1)
    rows[1] = with_wrong_check_character(rows[1])
    rows[3] = with_expiry_before_issue(rows[3])
    return rows


@pytest.fixture
def clerk_client(client, shandong_clerk):
    client.force_login(shandong_clerk)
    return client


# --- Upload and preview -------------------------------------------------------------------


def test_the_licence_list_offers_the_import_and_the_template_to_importers(
    client, shandong_clerk, reviewer
):
    client.force_login(shandong_clerk)
    content = client.get(reverse(CHANGELIST)).content.decode()
    assert reverse(UPLOAD) in content
    assert reverse(TEMPLATE) in content
    assert escape(zh("Import licence list")) in content

    client.force_login(reviewer)  # sees every province, imports none
    content = client.get(reverse(CHANGELIST)).content.decode()
    assert reverse(UPLOAD) not in content


def test_the_upload_page_links_the_template_and_states_the_size_limit(clerk_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
    response = clerk_client.get(reverse(UPLOAD))
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse(TEMPLATE) in content
    assert 'type="file"' in content
    assert 'enctype="multipart/form-data"' in content
    assert "5 MB" in content
    assert reverse(CHANGELIST) in content  # breadcrumbs back to the licence list


def test_a_good_file_is_previewed_with_counts_and_nothing_is_written(clerk_client, shandong):
    before = register_counts()
    data = xlsx(licence_rows(6))  # 3 licences of 2 products each
    response = upload(clerk_client, data)
    assert response.status_code == 200
    assert register_counts() == before
    counts = response.context["counts"]
    assert [numbers for _objects, numbers in counts] == [
        {"created": 3, "updated": 0, "unchanged": 0},
        {"created": 3, "updated": 0, "unchanged": 0},
        {"created": 6, "updated": 0, "unchanged": 0},
    ]
    content = response.content.decode()
    assert 'id="import-counts"' in content
    assert 'id="licence-import-confirm"' in content
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatchStatus.PREVIEWED
    assert batch.province == shandong
    assert batch.file_name == "山东许可证.xlsx"
    assert bytes(batch.content) == data


def test_every_error_is_listed_with_its_excel_row_column_and_message(clerk_client):
    before = register_counts()
    response = upload(clerk_client, xlsx(two_bad_rows()))
    assert response.status_code == 200
    assert register_counts() == before
    errors = response.context["result"].errors
    assert {(error.row, error.column) for error in errors} == {
        (3, "统一社会信用代码"),
        (5, "有效期至"),
    }
    content = response.content.decode()
    rows = re.findall(r'<tr class="import-error">(.*?)</tr>', content, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    assert sorted((c[0].strip(), c[1].strip()) for c in cells) == [
        ("3", "统一社会信用代码"),
        ("5", "有效期至"),
    ]
    for error, row_cells in zip(errors, cells, strict=True):
        assert row_cells[2].strip() == escape(error.message)
    assert 'id="licence-import-confirm"' not in content  # no confirm while there are errors
    batch = ImportBatch.objects.get()
    assert reverse(ERRORS, args=[batch.pk]) in content


def test_warnings_and_the_changed_fields_of_updated_rows_are_shown(clerk_client, shandong_clerk):
    rows = licence_rows(2)
    licence_import(data=xlsx(rows), file_name="first.xlsx", by=shandong_clerk)
    rows = [{**row, "企业地址": "山东省青岛市新地址1号", "备注": "x"} for row in rows]
    response = upload(clerk_client, xlsx(rows, headers=[*rows[0]]))
    assert response.context["result"].ok
    content = response.content.decode()
    assert 'id="import-changes"' in content
    assert "山东省青岛市新地址1号" in content
    assert "山东省济南市测试路1号" in content  # the old value next to the new one
    assert 'id="import-warnings"' in content
    assert "备注" in content


def test_errors_beyond_the_display_cap_point_to_the_error_report(clerk_client, monkeypatch):
    monkeypatch.setattr(admin_views, "SHOWN", 1)
    response = upload(clerk_client, xlsx(two_bad_rows()))
    assert len(response.context["errors"]) == 1
    assert response.context["errors_not_shown"] == 1
    assert 'id="error-report"' in response.content.decode()


def test_an_unreadable_file_shows_the_upload_form_again_with_the_plain_message(clerk_client):
    response = upload(clerk_client, os.urandom(3000), name="list.xlsx")
    assert response.status_code == 200
    assert response.templates[0].name == "admin/licensing/licence/import_upload.html"
    assert response.context["form"].errors["file"] == [zh(not_a_spreadsheet().message)]
    assert escape(zh(not_a_spreadsheet().message)) in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_an_upload_over_the_size_limit_is_dropped_while_received(clerk_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 2000
    response = upload(clerk_client, xlsx(licence_rows(20)))
    assert response.status_code == 200
    assert response.wsgi_request.upload_limit.exceeded  # dropped while received
    assert "file" not in response.wsgi_request.FILES
    refusal = too_large(2000)
    assert response.context["form"].errors["file"] == [zh(refusal.message, **refusal.params)]
    assert not ImportBatch.objects.exists()


def test_an_upload_without_the_csrf_token_is_refused(shandong_clerk):
    # The upload view sets its size limit before the CSRF check reads the body, so it runs
    # that check itself instead of the middleware: make sure it does.
    client = Client(enforce_csrf_checks=True)
    client.force_login(shandong_clerk)
    assert upload(client, xlsx(licence_rows(2))).status_code == 403
    page = client.get(reverse(UPLOAD))
    file = io.BytesIO(xlsx(licence_rows(2)))
    file.name = "list.xlsx"
    response = client.post(
        reverse(UPLOAD),
        {"file": file, "csrfmiddlewaretoken": page.context["csrf_token"]},
    )
    assert response.status_code == 200
    assert ImportBatch.objects.count() == 1


def test_an_upload_is_refused_to_a_user_without_the_import_permission(client, reviewer):
    client.force_login(reviewer)
    assert upload(client, xlsx(licence_rows(2))).status_code == 403
    assert not ImportBatch.objects.exists()


def test_the_preview_makes_as_many_queries_for_200_rows_as_for_20(
    clerk_client, django_assert_max_num_queries
):
    upload(clerk_client, xlsx(licence_rows(2)))  # warm the caches a first request fills
    with CaptureQueriesContext(connection) as twenty:
        assert upload(clerk_client, xlsx(licence_rows(20))).status_code == 200
    with django_assert_max_num_queries(len(twenty.captured_queries)):
        response = upload(clerk_client, xlsx(licence_rows(200)))
    assert response.context["result"].products.created == 200


# --- Confirm ------------------------------------------------------------------------------


def test_confirming_writes_the_batch_and_returns_to_the_licence_list(clerk_client, shandong_clerk):
    preview = upload(clerk_client, xlsx(licence_rows(6)))
    response = confirm(clerk_client, token_of(preview))
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST)
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatchStatus.COMMITTED
    assert batch.content is None
    assert Licence.objects.filter(import_batch=batch).count() == 3
    assert LicensedProduct.objects.filter(import_batch=batch).count() == 6
    assert set(Licence.history.values_list("history_user", flat=True)) == {shandong_clerk.pk}
    [message] = message_texts(response)
    assert batch.file_name in message
    assert str(batch.pk) in message


def test_confirming_the_same_preview_again_writes_nothing(clerk_client):
    token = token_of(upload(clerk_client, xlsx(licence_rows(4))))
    confirm(clerk_client, token)
    after_first = register_counts()
    response = confirm(clerk_client, token)
    assert response.status_code == 302
    assert response["Location"] == reverse(UPLOAD)
    assert register_counts() == after_first
    # The first confirm's success message was not shown (its redirect was not followed).
    assert zh("This import has already been confirmed.") in message_texts(response)[-1]


def test_a_confirm_with_another_users_token_is_refused(client, shandong_clerk, shandong_admin):
    client.force_login(shandong_clerk)
    token = token_of(upload(client, xlsx(licence_rows(4))))
    before = register_counts()
    client.force_login(shandong_admin)  # same province, another person
    response = confirm(client, token)
    assert response.status_code == 302
    assert response["Location"] == reverse(UPLOAD)
    assert register_counts() == before
    assert ImportBatch.objects.get().status == ImportBatchStatus.PREVIEWED
    assert message_texts(response) == [
        zh(
            "This confirmation belongs to another user's upload, and only the user who uploaded "
            "a file can confirm its import. Nothing was written."
        )
    ]


def altered(token: str) -> list[str]:
    payload, stamp, signature = token.rsplit(":", 2)
    claims = signing.loads(token, salt=CONFIRM_SALT)
    return [
        f"{payload}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        # Another batch id with the original signature.
        signing.dumps({**claims, "batch": claims["batch"] + 1}, salt=CONFIRM_SALT).rsplit(":", 1)[0]
        + ":"
        + signature,
        # Signed, but not by this system's key.
        signing.dumps(claims, salt=CONFIRM_SALT, key="another-key"),
        # Signed for another purpose.
        signing.dumps(claims, salt="another-salt"),
        "",
    ]


@pytest.mark.parametrize("variant", range(5))
def test_an_altered_token_is_refused(clerk_client, variant):
    token = token_of(upload(clerk_client, xlsx(licence_rows(4))))
    before = register_counts()
    response = confirm(clerk_client, altered(token)[variant])
    assert response.status_code == 302
    assert response["Location"] == reverse(UPLOAD)
    assert register_counts() == before
    assert ImportBatch.objects.get().status == ImportBatchStatus.PREVIEWED
    assert message_texts(response) == [
        zh(
            "The confirmation is not valid: it was altered or is not from this system. Nothing "
            "was written. Upload the file again."
        )
    ]


def test_an_expired_token_is_refused(clerk_client, monkeypatch):
    token = token_of(upload(clerk_client, xlsx(licence_rows(2))))
    monkeypatch.setattr(admin_views, "CONFIRM_MAX_AGE", -1)
    before = register_counts()
    response = confirm(clerk_client, token)
    assert register_counts() == before
    assert message_texts(response) == [
        zh("This preview has expired. Upload the file again to import it.")
    ]


def test_a_file_changed_since_the_preview_is_refused(clerk_client):
    token = token_of(upload(clerk_client, xlsx(licence_rows(4))))
    batch = ImportBatch.objects.get()
    # Another file of the same size in the database: the service hashes the content again.
    ImportBatch.objects.filter(pk=batch.pk).update(content=xlsx(licence_rows(4, first=50)))
    before = register_counts()
    response = confirm(clerk_client, token)
    assert response.status_code == 302
    assert register_counts() == before
    [message] = message_texts(response)
    assert zh("The uploaded file has changed since the preview; upload it again.") in message


def test_a_token_for_a_batch_outside_the_users_scope_is_404(client, shandong_clerk, zhejiang_clerk):
    client.force_login(zhejiang_clerk)
    upload(client, xlsx([]))  # any batch of 浙江
    zhejiang_batch = ImportBatch.objects.get()
    forged = signing.dumps(
        {"batch": zhejiang_batch.pk, "sha256": zhejiang_batch.sha256, "user": shandong_clerk.pk},
        salt=CONFIRM_SALT,
    )
    client.force_login(shandong_clerk)
    assert confirm(client, forged).status_code == 404


def test_a_confirm_after_the_register_changed_shows_the_new_errors(clerk_client, shandong):
    from licensing.factories import make_licence, make_manufacturer

    rows = licence_rows(2, products_per_licence=2)
    token = token_of(upload(clerk_client, xlsx(rows)))
    # Meanwhile someone registers the same licence number for another manufacturer.
    make_licence(make_manufacturer(shandong, 4242), 1, number=rows[0]["许可证编号"])
    before = register_counts()
    response = confirm(clerk_client, token)
    assert response.status_code == 200
    assert register_counts() == before
    assert response.context["result"].errors
    assert 'id="licence-import-confirm"' not in response.content.decode()
    assert ImportBatch.objects.get().errors  # stored for the error report


def test_the_confirm_takes_only_post(clerk_client):
    assert clerk_client.get(reverse(CONFIRM)).status_code == 405


# --- Downloads ----------------------------------------------------------------------------


def test_the_template_download_is_the_licence_template(clerk_client):
    response = clerk_client.get(reverse(TEMPLATE))
    assert response.status_code == 200
    assert response["Content-Type"] == admin_views.XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert "*许可证编号" in [cell.value for cell in workbook.worksheets[0][1]]


def test_the_error_report_holds_the_rows_with_an_error_column(clerk_client):
    upload(clerk_client, xlsx(two_bad_rows()))
    batch = ImportBatch.objects.get()
    response = clerk_client.get(reverse(ERRORS, args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == admin_views.XLSX
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    with translation.override(settings.LANGUAGE_CODE):
        assert header[-1] == translation.gettext("Error description")
    assert header[1:-1] == list(licence_row(1))
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert sorted(rows) == [2, 3, 4, 5]
    assert rows[2][-1].value is None
    assert "统一社会信用代码" in rows[3][-1].value
    assert "有效期至" in rows[5][-1].value


def test_the_error_report_is_404_for_other_users_provinces_and_clean_files(
    client, shandong_clerk, shandong_admin, zhejiang_clerk
):
    client.force_login(shandong_clerk)
    upload(client, xlsx(two_bad_rows()))
    upload(client, xlsx(licence_rows(2)))
    bad, clean = ImportBatch.objects.order_by("pk")
    assert client.get(reverse(ERRORS, args=[bad.pk])).status_code == 200
    assert client.get(reverse(ERRORS, args=[clean.pk])).status_code == 404
    for other in (shandong_admin, zhejiang_clerk):
        client.force_login(other)
        assert client.get(reverse(ERRORS, args=[bad.pk])).status_code == 404


# --- The batch record and the history pages -----------------------------------------------


def test_the_history_of_an_imported_licence_links_its_import_batch(clerk_client):
    confirm(clerk_client, token_of(upload(clerk_client, xlsx(licence_rows(2)))))
    batch = ImportBatch.objects.get()
    licence = Licence.objects.get()
    for obj, name in (
        (licence, "licence"),
        (licence.manufacturer, "manufacturer"),
        (licence.products.first(), "licensedproduct"),
    ):
        response = clerk_client.get(reverse(f"admin:licensing_{name}_history", args=[obj.pk]))
        assert response.status_code == 200
        content = response.content.decode()
        link = reverse("admin:licensing_importbatch_change", args=[batch.pk])
        assert f'<a href="{link}">' in content, name
        assert escape(zh("import batch %(id)s", id=batch.pk)) in content


def test_an_import_batch_is_shown_read_only_without_its_content(clerk_client):
    upload(clerk_client, xlsx(two_bad_rows()))
    batch = ImportBatch.objects.get()
    response = clerk_client.get(reverse("admin:licensing_importbatch_change", args=[batch.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert batch.sha256 in content
    assert "统一社会信用代码" in content  # the errors, with their columns
    assert f"{timezone.localtime(batch.created_at):%Y-%m-%d %H:%M}" in str(batch)
    assert 'name="_save"' not in content
    assert "content" not in response.context["adminform"].form.fields
    changelist = clerk_client.get(reverse("admin:licensing_importbatch_changelist"))
    assert batch.file_name in changelist.content.decode()
    assert clerk_client.get(reverse("admin:licensing_importbatch_add")).status_code == 403
    assert (
        clerk_client.post(
            reverse("admin:licensing_importbatch_delete", args=[batch.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert ImportBatch.objects.filter(pk=batch.pk).exists()


def test_the_import_batch_list_makes_a_constant_number_of_queries(
    clerk_client, shandong_clerk, django_assert_max_num_queries
):
    url = reverse("admin:licensing_importbatch_changelist")
    ImportBatch.objects.create(created_by=shandong_clerk, province=shandong_clerk.province)
    with CaptureQueriesContext(connection) as few:
        clerk_client.get(url)
    ImportBatch.objects.bulk_create(
        ImportBatch(
            created_by=shandong_clerk,
            province=shandong_clerk.province,
            file_name=f"{index}.xlsx",
            content=b"x" * 1000,
        )
        for index in range(60)
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = clerk_client.get(url)
    assert response.status_code == 200


# --- Two app server processes on one database ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _server(env, log: Path):
    """A gunicorn process on a free port; stopped (and waited for) on exit."""
    port = _free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "60",
                "--access-logfile",
                "-",
                "--access-logformat",
                "%(m)s %(U)s %(s)s",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(port, process, log)
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_serving(port: int, process, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen on port {port} within {timeout} s:\n{log.read_text()}")


def _form_field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} field in the page"
    return match.group(1)


def _multipart(fields: dict[str, str], file_field: str, file_name: str, data: bytes):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{file_name}"\r\nContent-Type: {admin_views.XLSX}\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _run(args, env, timeout=120):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


CREATE_CLERK = """
from django.contrib.auth.models import Group
from accounts.models import User
from licensing.models import Province
user = User.objects.create_user(
    "two_process_clerk", password={password!r}, is_staff=True,
    province=Province.objects.get(code="37"),
)
user.groups.add(Group.objects.get(name="省级录入员"))
"""


def test_a_preview_served_by_one_process_is_confirmed_by_another(tmp_path):
    """Two gunicorn processes on one SQLite file: upload to A, confirm at B.

    Nothing is shared between them but the database (and the secret key, as in any
    deployment): no local files, no process memory.
    """
    database = tmp_path / "two-processes.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "two-process-test-secret-key-" + uuid.uuid4().hex,
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    _run(["migrate", "--no-input", "-v", "0"], env)
    _run(["shell", "-c", CREATE_CLERK.format(password=PASSWORD)], env)
    rows = licence_rows(6)

    jar = http.cookiejar.CookieJar()  # cookies are per host, not per port: one browser
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def fetch(url, data=None, content_type=None):
        request = urllib.request.Request(url, data=data)  # noqa: S310
        if content_type:
            request.add_header("Content-Type", content_type)
        with opener.open(request, timeout=60) as response:
            return response.geturl(), response.read().decode()

    with (
        _server(env, tmp_path / "a.log") as (server_a, process_a),
        _server(env, tmp_path / "b.log") as (server_b, process_b),
    ):
        assert process_a.pid != process_b.pid
        login = f"{server_a}/admin/login/?next=/admin/"
        _url, page = fetch(login)
        _url, page = fetch(
            login,
            urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": _form_field(page, "csrfmiddlewaretoken"),
                    "username": "two_process_clerk",
                    "password": PASSWORD,
                }
            ).encode(),
        )
        assert "two_process_clerk" in page

        _url, page = fetch(f"{server_a}/admin/licensing/licence/import/")
        body, content_type = _multipart(
            {"csrfmiddlewaretoken": _form_field(page, "csrfmiddlewaretoken")},
            "file",
            "shandong.xlsx",
            xlsx(rows),
        )
        _url, preview = fetch(f"{server_a}/admin/licensing/licence/import/", body, content_type)
        token = _form_field(preview, "token")

        final_url, page = fetch(
            f"{server_b}/admin/licensing/licence/import/confirm/",
            urllib.parse.urlencode(
                {"csrfmiddlewaretoken": _form_field(preview, "csrfmiddlewaretoken"), "token": token}
            ).encode(),
        )
        assert final_url == f"{server_b}/admin/licensing/licence/"
        assert rows[0]["许可证编号"] in page
        assert "messagelist" in page

        # Replaying the token at A writes nothing more.
        _url, page = fetch(
            f"{server_a}/admin/licensing/licence/import/confirm/",
            urllib.parse.urlencode(
                {"csrfmiddlewaretoken": _form_field(preview, "csrfmiddlewaretoken"), "token": token}
            ).encode(),
        )
    log_a = (tmp_path / "a.log").read_text()
    log_b = (tmp_path / "b.log").read_text()
    assert "POST /admin/licensing/licence/import/ 200" in log_a
    assert "POST /admin/licensing/licence/import/ " not in log_b
    assert "POST /admin/licensing/licence/import/confirm/ 302" in log_b

    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM licensing_licence").fetchone() == (3,)
        assert db.execute("SELECT count(*) FROM licensing_licensedproduct").fetchone() == (6,)
        assert db.execute("SELECT status, content FROM licensing_importbatch").fetchall() == [
            ("committed", None)
        ]
