"""The error pages a user can meet speak Chinese and lead back to the home page."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path
from django.utils import translation

from config.urls import urlpatterns as site_urlpatterns


def forbidden(request):
    raise PermissionDenied


urlpatterns = [path("forbidden/", forbidden), *site_urlpatterns]


def assert_chinese_page_with_a_way_home(response, status):
    assert response.status_code == status
    page = response.content.decode()
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S))
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert not re.search(r"\b(Forbidden|Bad Request|CSRF|verification failed|Not Found)\b", text), (
        text
    )
    assert 'href="/admin/"' in page
    assert "返回首页" in page


@pytest.mark.urls("tests.test_error_pages")
def test_permission_denied_shows_the_chinese_403_page(client, reviewer):
    client.force_login(reviewer)

    response = client.get("/forbidden/")

    assert_chinese_page_with_a_way_home(response, 403)
    assert "无权访问" in response.content.decode()


def test_a_form_posted_without_its_csrf_token_gets_the_chinese_csrf_page(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "x", "password": "y"})

    assert_chinese_page_with_a_way_home(response, 403)
    assert "表单已失效" in response.content.decode()


def test_a_request_for_an_unknown_host_gets_the_chinese_400_page(client):
    response = client.get("/admin/login/", HTTP_HOST="not-this-site.example")

    assert_chinese_page_with_a_way_home(response, 400)


def test_an_unknown_address_gets_the_chinese_404_page(client, reviewer):
    client.force_login(reviewer)

    response = client.get("/no-such-page/")
    assert_chinese_page_with_a_way_home(response, 404)


def test_the_500_page_is_chinese_with_a_way_home():
    with translation.override("zh-hans"):
        page = render_to_string("500.html")

    assert "系统出现错误" in page
    assert 'href="/admin/"' in page
    assert "返回首页" in page
