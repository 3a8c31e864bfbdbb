"""A licence's history page lists its products' changes too, a page at a time (issue 10)."""

import re
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing.admin import PRODUCT_HISTORY_PER_PAGE
from licensing.factories import make_licence, make_manufacturer
from licensing.models import LicensedProduct


def history_url(licence):
    return reverse("admin:licensing_licence_history", args=[licence.pk])


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def products_section(html: str) -> str:
    return html.split('id="products-history-heading"', 1)[1]


def change_product(product, user, **fields):
    for name, value in fields.items():
        setattr(product, name, value)
    product._history_user = user
    product.save()


def test_a_products_change_is_listed_with_what_changed_who_and_when(
    client, shandong_clerk, shandong_licence
):
    product = shandong_licence.products.order_by("pk").first()
    old_model = product.model_spec
    change_product(product, shandong_clerk, model_spec="DDS-9999", accuracy_class="1级")
    client.force_login(shandong_clerk)

    response = client.get(history_url(shandong_licence))

    assert response.status_code == 200
    section = products_section(response.content.decode())
    rows = re.findall(
        r'<tr class="product-change" data-history-type="(.)">(.*?)</tr>', section, re.S
    )
    changed = [text(row) for kind, row in rows if kind == "~"]
    assert len(changed) == 1
    assert "DDS-9999" in changed[0]
    assert f"{old_model} → DDS-9999" in changed[0].replace("\xa0", " ").replace("  ", " ")
    assert "— → 1级" in changed[0].replace("\xa0", " ").replace("  ", " ")
    assert shandong_clerk.username in changed[0]
    # The two products' creations are there too, and each links to its read-only version.
    assert [kind for kind, _row in rows].count("+") == 2
    version = product.history.latest()
    assert (
        reverse(
            "admin:licensing_licensedproduct_simple_history", args=[product.pk, version.history_id]
        )
        in section
    )


def test_a_deleted_products_records_are_listed_without_a_link(
    client, shandong_admin, shandong_licence
):
    product = shandong_licence.products.order_by("pk").first()
    product._history_user = shandong_admin
    product.delete()
    client.force_login(shandong_admin)

    section = products_section(client.get(history_url(shandong_licence)).content.decode())

    assert 'data-history-type="-"' in section
    assert f"/licensedproduct/{product.pk}/history/" not in section


def test_no_change_reason_shows_a_dash_never_none(client, shandong_clerk, shandong_licence):
    shandong_licence.issuing_authority = "山东省市场监督管理局"
    shandong_licence.save()
    client.force_login(shandong_clerk)

    html = client.get(history_url(shandong_licence)).content.decode()

    reasons = re.findall(r'<td class="change-reason">\s*(.*?)\s*</td>', html, re.S)
    assert reasons and set(reasons) == {"—"}
    assert "None" not in text(html.split('id="content-main"', 1)[1].split('id="footer"')[0])


def test_the_products_history_is_paged_and_costs_the_same_for_many_changes(
    client, shandong_clerk, shandong
):
    small = make_licence(make_manufacturer(shandong, 71), 71, products=2)
    big = make_licence(make_manufacturer(shandong, 72), 72, products=30)
    change_product(small.products.first(), shandong_clerk, accuracy_class="2级")
    for product in LicensedProduct.objects.filter(licence=big):
        change_product(product, shandong_clerk, accuracy_class="2级")
        change_product(product, shandong_clerk, measuring_range="0~10 m³/h")
    client.force_login(shandong_clerk)

    def queries(licence, query=""):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(history_url(licence) + query)
        assert response.status_code == 200
        return len(captured), response.content.decode()

    few, _html = queries(small)
    many, html = queries(big)
    assert many == few
    assert products_section(html).count('class="product-change"') == PRODUCT_HISTORY_PER_PAGE
    _count, last = queries(big, "?products_history_page=5")
    # 90 records: 30 creations and 60 changes, 20 a page; the last page has 10.
    assert products_section(last).count('class="product-change"') == 10


def test_another_provinces_licence_history_stays_404(client, shandong_clerk, zhejiang_licence):
    client.force_login(shandong_clerk)
    assert client.get(history_url(zhejiang_licence)).status_code == 404
