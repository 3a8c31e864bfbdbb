"""No page for a signed-in user may be stored by a browser or a proxy.

Every URL of the admin, the verification, the reports and the public pages is walked from the
URL configuration, so a new screen is covered without being listed here.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from config.middleware import private_pages
from tests.urlwalk import concrete_urls
from verification.models import ProvincialReturn, ReturnAttachment

NAMESPACES = ("admin", "verification", "reports", "public")
PERSONAS = ["shandong_admin", "zhejiang_clerk", "reviewer"]
# Whose objects each persona's walk uses: its own province's, so most pages show real data.
PROVINCE_OF = {"shandong_admin": "37", "zhejiang_clerk": "33", "reviewer": "37"}


def _private(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def _urls(objects):
    return concrete_urls(objects, namespaces=NAMESPACES)


def test_the_walk_finds_every_admin_and_verification_screen(site_objects):
    objects = site_objects
    urls = dict(_urls(objects["37"]))
    for name in ("verification:return_review", "verification:return_print", "admin:index"):
        assert name in urls
    own = objects["37"]
    assert urls["verification:attachment_download"] == reverse(
        "verification:attachment_download",
        args=[own[ProvincialReturn].pk, own[ReturnAttachment].pk],
    )
    assert urls["admin:licensing_licence_simple_history"].startswith("/admin/licensing/licence/")
    assert len(urls) > 100


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_for_a_signed_in_user_is_no_store_and_private(
    client, request, site_objects, persona
):
    client.force_login(request.getfixturevalue(persona))
    statuses, stored = {}, []
    for name, url in _urls(site_objects[PROVINCE_OF[persona]]):
        response = client.get(url)
        assert response.wsgi_request.user.is_authenticated, url
        statuses[name] = response.status_code
        if not _private(response):
            stored.append((url, response.status_code, response.get("Cache-Control")))
    assert stored == []
    # The walk reached the pages with Attachment 2's contact data, not only refusals.
    expected = {"admin:index": 200, "verification:index": 200}
    if persona == "reviewer":
        expected["verification:return_review"] = 200
    else:
        expected.update({"verification:return_detail": 200, "verification:return_print": 200})
    assert {name: statuses[name] for name in expected} == expected


def test_stricter_directives_of_a_view_are_kept(client, shandong_admin):
    client.force_login(shandong_admin)
    response = client.get(reverse("admin:index"))  # the admin's never_cache
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"} <= directives


def test_a_public_response_to_a_signed_in_user_becomes_private(shandong_admin):
    def public_view(request):
        response = HttpResponse("register")
        response["Cache-Control"] = "public, max-age=3600"
        return response

    request = RequestFactory().get("/")
    request.user = shandong_admin
    response = private_pages(public_view)(request)
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "public" not in directives
    assert {"no-store", "private"} <= directives


def test_anonymous_responses_are_left_to_their_views(client):
    # The public pages to come (the list of licensed units) may then be cached; the login page
    # sends no-store all the same, because the admin's login view says so.
    response = client.get(reverse("verification:index"))
    assert response.status_code == 302
    assert "Cache-Control" not in response
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert "Cache-Control" not in private_pages(lambda request: HttpResponse("list"))(request)
    login = client.get(reverse("admin:login"))
    assert _private(login)


def test_static_files_keep_their_caching_for_signed_in_users(client, shandong_admin, settings):
    # WhiteNoise answers before the session and the user are known; here from the finders,
    # since the tests have no collectstatic.
    settings.WHITENOISE_USE_FINDERS = True
    client.force_login(shandong_admin)
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    response.close()
