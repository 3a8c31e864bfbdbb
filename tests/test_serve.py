"""`make serve` serves: gunicorn with production settings, whitenoise the collected static files.

Runs the Makefile's own recipe (checks, collectstatic, migrate, gunicorn) on a free port with a
production-like environment, on a database and folders of its own, then fetches the login page
and a static file as a TLS proxy would pass them on.
"""

import gzip
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, **headers):
    """The response (status, headers, body) without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a local URL)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def served(tmp_path):
    """`make serve` on a free port; the whole process group stopped on exit."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # Not the suite's own database or settings; not the jobserver of a `make test` around us.
        if key not in {"DATABASE_URL", "DEBUG", "SECURE_SSL_REDIRECT", "MAKEFLAGS", "MAKELEVEL"}
        and key not in {"MFLAGS", "SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS"}
    }
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "STATIC_ROOT": str(tmp_path / "static"),
            "CACHE_DIR": str(tmp_path / "cache"),
            # The cache several app servers share: its table is made by `make serve`.
            "CACHE_BACKEND": "database",
            "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WORKERS": "2",
        }
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        # The installed venv is taken as up to date (-o): the recipe itself is what is tested.
        process = subprocess.Popen(  # noqa: S603
            ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    pytest.fail(f"make serve exited with {process.returncode}:\n{log.read_text()}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"make serve did not listen on {port}:\n{log.read_text()}")
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}", log
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_make_serve_serves_the_login_page_and_compressed_static_files(served):
    url, log = served
    https = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy says

    # Plain HTTP is sent to HTTPS.
    status, headers, _body = fetch(f"{url}/admin/login/")
    assert status == 301
    assert headers["Location"] == f"{url.replace('http:', 'https:')}/admin/login/"

    status, headers, body = fetch(f"{url}/admin/login/", **https)
    assert status == 200, body[:2000]
    page = body.decode()
    assert 'name="username"' in page
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Secure" in headers["Set-Cookie"]  # the CSRF cookie, sent over HTTPS only

    # The page links the collected, hashed file; whitenoise serves it compressed, for ever.
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the login page does not link a hashed stylesheet"
    status, headers, body = fetch(
        f"{url}{stylesheet.group(1)}", **https, **{"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]
    assert b"--body-quiet-color" in gzip.decompress(body)

    # The public list: its page cache and request counts in the database's cache table.
    status, _headers, body = fetch(f"{url}/public/", **https)
    assert status == 200, body[:2000]

    text = log.read_text()
    assert "manage.py migrate --noinput" in text
    assert "Booting worker" in text
