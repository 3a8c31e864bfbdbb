"""Security headers on every kind of page, and the HTTPS settings behind a TLS proxy.

Content-Security-Policy (django-csp), Permissions-Policy (config/middleware.py),
X-Frame-Options, Referrer-Policy and nosniff on the admin, the special verification, the
reports, the public list and the error pages. The browser tests (tests/browser/conftest.py) fail
on any policy violation while the admin's and the return's scripts run.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import path, reverse

from config.urls import urlpatterns as site_urlpatterns
from reports.selectors import TILE_GRID
from tests.urlwalk import concrete_urls

BASE_DIR = Path(__file__).resolve().parent.parent


def broken(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("broken/", broken), *site_urlpatterns]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def assert_security_headers(response):
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    # A nonce only where the page has an inline <style> (the charts); never 'unsafe-inline'.
    assert policy["style-src"][0] == "'self'"
    assert all(re.fullmatch(r"'nonce-[A-Za-z0-9+/=]+'", src) for src in policy["style-src"][1:])
    assert len(policy["style-src"]) <= 2
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    features = dict(item.split("=") for item in response["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_of_every_part_of_the_site_carry_the_security_headers(
    client, world, reviewer, shandong_admin
):
    public = [
        reverse("admin:login"),
        reverse("public:licence_list"),
        reverse("public:licence_detail", args=[world["37"]["licence"].pk]),
    ]
    for url in public:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)

    client.force_login(reviewer)
    campaign = world["national"]["campaign"]
    provincial_return = world["37"]["provincialreturn"]
    signed_in = [
        reverse("admin:index"),
        reverse("admin:licensing_licence_changelist"),
        reverse("verification:index"),
        reverse("verification:return_review", args=[provincial_return.pk]),
        reverse("verification:return_print", args=[provincial_return.pk]),
        reverse("reports:board", args=[campaign.pk]),
        reverse("reports:status_list", args=[campaign.pk]),
        reverse("reports:statistics"),
    ]
    for url in signed_in:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)

    client.force_login(shandong_admin)
    for url in [
        reverse("admin:licensing_licence_change", args=[world["37"]["licence"].pk]),
        reverse("admin:accounts_user_change", args=[world["37"]["user"].pk]),
        reverse("verification:return_detail", args=[provincial_return.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)


@pytest.mark.urls("tests.test_security_headers")
def test_error_pages_carry_the_security_headers(db, reviewer):
    client = Client(raise_request_exception=False)
    assert_security_headers(client.get("/no-such-page/"))  # 404
    assert client.get("/no-such-page/").status_code == 404
    client.force_login(reviewer)
    response = client.get("/broken/")
    assert response.status_code == 500
    assert_security_headers(response)
    response = client.get("/admin/login/", HTTP_HOST="not-this-site.example")
    assert response.status_code == 400
    assert_security_headers(response)


def test_the_board_charts_css_carries_the_responses_nonce(client, world, reviewer):
    """pygal's inline <style> is admitted by the nonce of the same response, not by 'unsafe-inline'."""
    client.force_login(reviewer)
    response = client.get(reverse("reports:board", args=[world["national"]["campaign"].pk]))
    nonce = directives(response)["style-src"][1].removeprefix("'nonce-").removesuffix("'")
    html = response.content.decode()
    styles = re.findall(r"<style\b[^>]*>", html)
    assert len(styles) == 3  # one per chart
    assert all(f'nonce="{nonce}"' in tag for tag in styles)
    assert not re.search(r"<[^>]+\sstyle=", html)
    # Another response, another nonce.
    again = client.get(reverse("reports:board", args=[world["national"]["campaign"].pk]))
    assert directives(again)["style-src"][1] != directives(response)["style-src"][1]


# Markup the policy refuses: an inline <script> (one without src; a JSON data block is inert),
# an event-handler attribute, a style attribute, a javascript: URL.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def test_the_projects_templates_have_no_inline_script_handler_or_style():
    offences = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        text = re.sub(
            r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", template.read_text(), flags=re.S
        )
        for name, pattern in [
            ("inline script", INLINE_SCRIPT),
            ("event handler", HANDLER),
            ("style attribute", STYLE_ATTRIBUTE),
            ("javascript: URL", JAVASCRIPT_URL),
        ]:
            offences += [
                f"{template.relative_to(BASE_DIR)}: {name}: {m.group(0)[:80]}"
                for m in pattern.finditer(text)
            ]
    assert offences == []


def test_every_tile_of_the_board_has_its_grid_classes():
    """The tiles are placed by rp-row-N / rp-col-N classes (no style attribute): each exists."""
    css = (BASE_DIR / "static/reports/reports.css").read_text()
    for row, column in TILE_GRID.values():
        assert f".rp-row-{row + 1} {{ grid-row: {row + 1}; }}" in css
        assert f".rp-col-{column + 1} {{ grid-column: {column + 1}; }}" in css


# --- HTTPS behind a TLS-terminating proxy -------------------------------------------------


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = client.get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"

    response = client.get("/admin/login/", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response.cookies["csrftoken"]["secure"] is True


def settings_in_a_process(**environ) -> dict:
    """Settings as a production process reads them from its environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "DATABASE_URL"}
    }
    env.update({"DEBUG": "false", "SECRET_KEY": "settings-test", **environ})
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.DATABASES['default']['CONN_HEALTH_CHECKS'], s.DATABASES['default']['CONN_MAX_AGE'], "
        "s.CACHES['default']['BACKEND']]))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def test_production_settings_are_secure_and_the_proxy_header_is_configurable():
    result = settings_in_a_process()
    assert result.returncode == 0, result.stderr
    header, redirect, session_secure, csrf_secure, hsts, health_checks, max_age, cache = json.loads(
        result.stdout
    )
    assert header == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert redirect and session_secure and csrf_secure
    assert hsts == 31536000
    # A connection kept between requests is checked before its first use in each request.
    assert health_checks is True
    assert max_age == 60
    assert cache == "django.core.cache.backends.filebased.FileBasedCache"

    result = settings_in_a_process(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SSL,on")
    assert json.loads(result.stdout)[0] == ["HTTP_X_FORWARDED_SSL", "on"]
    # Served without a proxy: no client can claim HTTPS with a header.
    result = settings_in_a_process(SECURE_PROXY_SSL_HEADER="off")
    assert json.loads(result.stdout)[0] is None
    result = settings_in_a_process(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must be a header and its value" in result.stderr


def test_several_app_servers_can_share_the_cache_in_the_database():
    result = settings_in_a_process(CACHE_BACKEND="database")
    assert json.loads(result.stdout)[-1] == "django.core.cache.backends.db.DatabaseCache"
    result = settings_in_a_process(CACHE_BACKEND="redis")
    assert result.returncode != 0
    assert "CACHE_BACKEND must be file or database" in result.stderr


# --- Every page, walked from the URL configuration -----------------------------------------

NAMESPACES = ("admin", "verification", "reports", "public")
PROVINCE_OF = {"shandong_admin": "37", "zhejiang_clerk": "33", "reviewer": "37"}
INLINE_STYLE_ELEMENT = re.compile(r"<style\b(?![^>]*\bnonce=)[^>]*>", re.I)


@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_every_page_has_the_policy_and_nothing_inline_it_would_refuse(
    client, request, site_objects, persona
):
    """Rendered pages, the libraries' templates (admin, import-export, history) included."""
    client.force_login(request.getfixturevalue(persona))
    offences, html_pages = [], 0
    for _name, url in concrete_urls(site_objects[PROVINCE_OF[persona]], namespaces=NAMESPACES):
        response = client.get(url)
        assert "Content-Security-Policy" in response, url
        assert "Permissions-Policy" in response, url
        if not response.get("Content-Type", "").startswith("text/html") or response.streaming:
            continue
        html_pages += 1
        page = response.content.decode()
        for label, pattern in [
            ("inline script", INLINE_SCRIPT),
            ("event handler", HANDLER),
            ("style attribute", STYLE_ATTRIBUTE),
            ("style element without the nonce", INLINE_STYLE_ELEMENT),
            ("javascript: URL", JAVASCRIPT_URL),
        ]:
            offences += [f"{url}: {label}: {m.group(0)[:100]}" for m in pattern.finditer(page)]
    assert offences == []
    assert html_pages > 50
