"""Old versions in the history are for reading: shown as text, never saved back (issue 7)."""

import re
from datetime import date
from html import unescape

import pytest
from django.urls import reverse

from licensing.models import Announcement, InstrumentCategory, Licence, TypeApproval

REGISTER_MODELS = ["manufacturer", "typeapproval", "licence", "licensedproduct", "announcement"]


@pytest.fixture
def register(shandong_licence, shandong):
    """One object of every register model with history, each changed once after creation."""
    licence = shandong_licence
    product = licence.products.first()
    approval = TypeApproval.objects.create(
        certificate_number="2015F301-37",
        province=shandong,
        manufacturer=licence.manufacturer,
        category=InstrumentCategory.objects.get(code="water-meter"),
        product_name="水表",
        model_spec="LXS-301",
        approved_on=date(2014, 5, 1),
        issuing_department="山东省质量技术监督局计量处",
    )
    announcement = Announcement.objects.create(
        licence=licence, kind="approval", method="website", published_on=date(2015, 6, 1)
    )
    licence.issuing_authority = "山东省市场监督管理局"
    licence.save()
    return {
        "manufacturer": licence.manufacturer,
        "typeapproval": approval,
        "licence": licence,
        "licensedproduct": product,
        "announcement": announcement,
    }


def _version_url(obj, version):
    return reverse(
        f"admin:licensing_{obj._meta.model_name}_simple_history", args=[obj.pk, version.history_id]
    )


def _content_main(html: str) -> str:
    return html.split('<div id="content-main">', 1)[1].split('<div id="footer">', 1)[0]


@pytest.mark.parametrize("model", REGISTER_MODELS)
@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_an_old_version_is_shown_as_text_without_a_form(client, request, register, model, persona):
    client.force_login(request.getfixturevalue(persona))
    obj = register[model]
    response = client.get(_version_url(obj, obj.history.earliest()))
    assert response.status_code == 200
    html = response.content.decode()
    main = _content_main(html)
    for tag in ("<form", "<input", "<select", "<textarea", "<button"):
        assert tag not in main, tag
    for icon in ("add-related", "change-related", "delete-related", "view-related"):
        assert icon not in html, icon
    assert 'class="readonly"' in main


def test_an_old_version_shows_the_values_it_had(client, shandong_admin, register):
    client.force_login(shandong_admin)
    licence = register["licence"]
    main = _content_main(
        client.get(_version_url(licence, licence.history.earliest())).content.decode()
    )
    assert "山东省质量技术监督局" in main  # the authority before the change
    assert "山东省市场监督管理局" not in main


@pytest.mark.parametrize("model", REGISTER_MODELS)
def test_the_version_page_speaks_chinese(client, shandong_admin, register, model):
    client.force_login(shandong_admin)
    obj = register[model]
    html = client.get(_version_url(obj, obj.history.earliest())).content.decode()
    breadcrumbs = html.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
    # The object's own name is data (models such as LXS-301 are Latin), not interface text.
    text = unescape(re.sub(r"<[^>]+>", " ", breadcrumbs)).replace(str(obj), "")
    assert re.findall(r"[A-Za-z]{2,}", text) == []
    assert "首页" in text and "历史" in text
    note = _content_main(html).split("</p>", 1)[0]
    assert re.findall(r"[A-Za-z]{2,}", unescape(re.sub(r"<[^>]+>", " ", note))) == []


@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_posting_an_old_version_is_refused_and_changes_nothing(
    client, request, register, zhejiang, persona
):
    """The issue's case: the old version posted back, moved into 浙江 with another number."""
    client.force_login(request.getfixturevalue(persona))
    licence = register["licence"]
    url = _version_url(licence, licence.history.earliest())
    before = Licence.objects.values().get(pk=licence.pk)
    history = licence.history.count()
    response = client.post(
        url,
        {
            "number": "浙制99999999号",
            "province": zhejiang.pk,
            "manufacturer": licence.manufacturer_id,
            "issuing_authority": "篡改",
            "_change_history": "1",
            "_save": "1",
        },
    )
    assert response.status_code == 405
    assert Licence.objects.values().get(pk=licence.pk) == before
    assert licence.history.count() == history


def test_a_version_of_another_object_is_404(client, shandong_admin, register, zhejiang_licence):
    client.force_login(shandong_admin)
    licence = register["licence"]
    other = zhejiang_licence.history.earliest()
    # Our object's id with another object's version id.
    response = client.get(
        reverse("admin:licensing_licence_simple_history", args=[licence.pk, other.history_id])
    )
    assert response.status_code == 404
