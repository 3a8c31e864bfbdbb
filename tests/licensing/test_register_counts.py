"""RegisterCount: the register's size per province and category, recounted by every write."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from licensing.factories import make_licence, make_manufacturer
from licensing.importing.service import licence_import
from licensing.models import InstrumentCategory, LicenceStatus, LicensedProduct, RegisterCount
from licensing.statistics import register_counts_refresh
from tests.htmlforms import post_form
from tests.licensing.import_files import licence_rows, xlsx


def counts(province, category=None):
    row = RegisterCount.objects.get(province=province, category=category)
    return row.manufacturers, row.valid_licences, row.products, row.licences


@pytest.fixture
def water(db):
    return InstrumentCategory.objects.get(code="water-meter")


@pytest.fixture
def scale(db):
    return InstrumentCategory.objects.get(code="weighing-instrument")


def _product(licence, category, model):
    return LicensedProduct.objects.create(
        licence=licence, category=category, product_name=category.name, model_spec=model
    )


def test_counts_per_category_and_per_province(shandong, zhejiang, water, scale):
    first, second = make_manufacturer(shandong, 1), make_manufacturer(shandong, 2)
    a = make_licence(first, 1, products=0)
    b = make_licence(first, 2, products=0)
    c = make_licence(second, 3, products=0, status=LicenceStatus.CANCELLED)
    make_licence(second, 4, products=0)  # valid, without products
    _product(a, water, "W-1")
    _product(a, scale, "S-1")
    _product(b, water, "W-2")
    _product(b, water, "W-3")
    _product(c, water, "W-4")  # a cancelled licence's product is not licensed
    register_counts_refresh()
    # (manufacturers, valid licences, products, licences of any status)
    assert counts(shandong, water) == (1, 2, 3, 3)
    assert counts(shandong, scale) == (1, 1, 1, 1)
    # The province's row counts licences, not products: licence 4 has none, and licence a
    # counts once although it lists two categories.
    assert counts(shandong) == (2, 3, 4, 4)
    assert counts(zhejiang) == (0, 0, 0, 0)
    assert not RegisterCount.objects.filter(province=zhejiang, category__isnull=False).exists()


def test_the_migration_counted_the_registers_already_there(db):
    # Every unit has its row from the data migration, zeros for an empty register.
    assert RegisterCount.objects.filter(category=None).count() == 32


def test_an_admin_change_recounts_the_province(client, shandong_admin, shandong):
    licence = make_licence(make_manufacturer(shandong, 5), 5, products=2)
    register_counts_refresh()
    assert counts(shandong)[1] == 1
    client.force_login(shandong_admin)
    url = reverse("admin:licensing_licence_change", args=[licence.pk])
    form = post_form(client.get(url).content, form_id="licence_form")
    response = client.post(url, form.data(status=LicenceStatus.CANCELLED))
    assert response.status_code == 302
    assert counts(shandong) == (0, 0, 0, 1)


def test_an_admin_delete_recounts_the_province(client, shandong_admin, shandong):
    licence = make_licence(make_manufacturer(shandong, 6), 6, products=2)
    register_counts_refresh()
    product = licence.products.first()
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_licensedproduct_delete", args=[product.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert counts(shandong)[2] == 1


def test_an_import_recounts_the_provinces_it_wrote(shandong, shandong_admin):
    result = licence_import(data=xlsx(licence_rows(4)), file_name="list.xlsx", by=shandong_admin)
    assert result.ok, result.errors
    assert counts(shandong) == (2, 2, 4, 2)


def test_the_command_recounts_one_province_or_all(shandong, zhejiang):
    make_licence(make_manufacturer(zhejiang, 7), 7, products=3)
    out = StringIO()
    call_command("refresh_register_counts", "--province", "33", stdout=out)
    assert counts(zhejiang)[2] == 3
    with pytest.raises(Exception, match="99"):
        call_command("refresh_register_counts", "--province", "99", stdout=out)
