"""A licence with many products: its change page shows them a page at a time, each reachable
and editable, for the same number of queries whatever their number."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing.admin import PRODUCTS_PAGE_VAR, PRODUCTS_PER_PAGE
from licensing.factories import make_licence, make_manufacturer
from licensing.models import InstrumentCategory, LicensedProduct, TypeApproval
from tests.htmlforms import post_form


def _licence_with_products(province, seed, count):
    """A licence listing ``count`` products, each with a type approval of its manufacturer."""
    manufacturer = make_manufacturer(province, seed)
    licence = make_licence(manufacturer, seed, products=0)
    categories = list(InstrumentCategory.objects.all())
    approvals = TypeApproval.objects.bulk_create(
        TypeApproval(
            certificate_number=f"2016F{seed % 10 * 1000 + index:04d}-{province.code}",
            province=province,
            manufacturer=manufacturer,
            category=categories[index % len(categories)],
            product_name=f"产品{index:03d}",
            model_spec=f"M-{index:03d}",
            approved_on=date(2015, 1, 1),
            issuing_department="质量技术监督局",
        )
        for index in range(count)
    )
    LicensedProduct.objects.bulk_create(
        LicensedProduct(
            licence=licence,
            category=approval.category,
            product_name=approval.product_name,
            model_spec=approval.model_spec,
            type_approval=approval,
            type_approval_number=approval.certificate_number,
        )
        for approval in approvals
    )
    return licence


def _url(licence, page=None):
    url = reverse("admin:licensing_licence_change", args=[licence.pk])
    return f"{url}?{PRODUCTS_PAGE_VAR}={page}" if page else url


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _product_ids(html):
    return {int(pk) for pk in re.findall(r'name="products-\d+-id" value="(\d+)"', html)}


@pytest.mark.parametrize("persona", ["zhejiang_clerk", "reviewer"])
def test_the_change_page_makes_the_same_queries_for_5_and_150_products(
    client, request, zhejiang, persona
):
    few = _licence_with_products(zhejiang, 1, 5)
    many = _licence_with_products(zhejiang, 2, 150)
    client.force_login(request.getfixturevalue(persona))
    client.get(_url(few))
    assert _queries(client, _url(many)) == _queries(client, _url(few))
    assert _queries(client, _url(many, 8)) == _queries(client, _url(few))


def test_every_product_is_on_one_page_and_the_pages_link_to_each_other(
    client, zhejiang_clerk, zhejiang
):
    licence = _licence_with_products(zhejiang, 3, 150)
    client.force_login(zhejiang_clerk)
    pages = -(-150 // PRODUCTS_PER_PAGE)
    seen = []
    for page in range(1, pages + 1):
        html = client.get(_url(licence, page)).content.decode()
        ids = _product_ids(html)
        assert 0 < len(ids) <= PRODUCTS_PER_PAGE
        seen += ids
        assert "products-pages" in html
        assert f"{PRODUCTS_PAGE_VAR}={pages}" in html or page == pages
    assert sorted(seen) == sorted(licence.products.values_list("pk", flat=True))
    # Each row shows its certificate, read with the product.
    html = client.get(_url(licence, 1)).content.decode()
    assert "2016F3000-33 产品000 M-000" in html


def test_a_licence_with_a_few_products_has_no_pages(client, zhejiang_clerk, zhejiang):
    licence = _licence_with_products(zhejiang, 4, 5)
    client.force_login(zhejiang_clerk)
    html = client.get(_url(licence)).content.decode()
    assert "products-pages" not in html
    assert len(_product_ids(html)) == 5


def test_a_product_on_a_later_page_is_edited_and_the_others_are_kept(
    client, zhejiang_clerk, zhejiang
):
    licence = _licence_with_products(zhejiang, 5, 150)
    before = dict(licence.products.values_list("pk", "model_spec"))
    client.force_login(zhejiang_clerk)
    url = _url(licence, 3)
    form = post_form(client.get(url).content, form_id="licence_form")
    data = form.data()
    edited = int(data["products-4-id"][0])
    data["products-4-model_spec"] = ["M-EDITED"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    after = dict(licence.products.values_list("pk", "model_spec"))
    assert after == {**before, edited: "M-EDITED"}
    assert LicensedProduct.objects.get(pk=edited).type_approval_id is not None


def test_a_product_is_added_on_a_page_of_a_long_licence(client, zhejiang_clerk, zhejiang):
    licence = _licence_with_products(zhejiang, 6, 45)
    client.force_login(zhejiang_clerk)
    url = _url(licence, 2)
    data = post_form(client.get(url).content, form_id="licence_form").data()
    index = int(data["products-TOTAL_FORMS"][0]) - 1  # the blank row of the page
    category = InstrumentCategory.objects.get(code="water-meter")
    data[f"products-{index}-category"] = [str(category.pk)]
    data[f"products-{index}-product_name"] = ["新增水表"]
    data[f"products-{index}-model_spec"] = ["LXS-NEW"]
    response = client.post(url, data)
    assert response.status_code == 302
    assert licence.products.count() == 46
    assert licence.products.filter(model_spec="LXS-NEW").exists()
