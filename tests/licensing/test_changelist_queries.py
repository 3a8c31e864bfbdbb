"""Every changelist makes the same number of queries with 5 rows as with 500."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from licensing.factories import credit_code, licence_number
from licensing.models import (
    Announcement,
    InstrumentCategory,
    Licence,
    LicensedProduct,
    Manufacturer,
    TypeApproval,
    TypeEvaluationInstitution,
)
from tests.conftest import make_user

CHANGELISTS = [
    "licensing_manufacturer",
    "licensing_typeapproval",
    "licensing_licence",
    "licensing_licensedproduct",
    "licensing_announcement",
    "licensing_typeevaluationinstitution",
    "licensing_province",
    "licensing_instrumentcategory",
    "accounts_user",
]


def _add_rows(province, start, count):
    """Add `count` rows of every register model in `province`, a few queries in all."""
    categories = list(InstrumentCategory.objects.all())
    manufacturers = Manufacturer.objects.bulk_create(
        Manufacturer(
            name=f"企业{seed}",
            credit_code=credit_code(seed, region=f"{province.code}0100"),
            province=province,
        )
        for seed in range(start, start + count)
    )
    institutions = TypeEvaluationInstitution.objects.bulk_create(
        TypeEvaluationInstitution(name=f"机构{seed}", province=province)
        for seed in range(start, start + count)
    )
    for institution in institutions:
        institution.categories.set(categories[:2])
    approvals = TypeApproval.objects.bulk_create(
        TypeApproval(
            certificate_number=f"2015F{seed % 10000:04d}-{province.code}",
            province=province,
            manufacturer=manufacturer,
            category=categories[seed % 9],
            product_name="水表",
            model_spec=f"M{seed}",
            approved_on=date(2015, 1, 1),
            issuing_department="计量处",
            institution=institution,
        )
        for seed, manufacturer, institution in zip(
            range(start, start + count), manufacturers, institutions, strict=True
        )
    )
    licences = Licence.objects.bulk_create(
        Licence(
            number=licence_number(province, seed),
            manufacturer=manufacturer,
            province=province,
            issuing_authority="质量技术监督局",
            issued_on=date(2015, 1, 1) + timedelta(days=seed % 300),
            expires_on=date(2018, 1, 1),
        )
        for seed, manufacturer in zip(range(start, start + count), manufacturers, strict=True)
    )
    LicensedProduct.objects.bulk_create(
        LicensedProduct(
            licence=licence,
            category=approval.category,
            product_name="水表",
            model_spec=f"M{index}",
            type_approval=approval,
        )
        for licence, approval in zip(licences, approvals, strict=True)
        for index in range(2)
    )
    Announcement.objects.bulk_create(
        Announcement(
            licence=licence, kind="approval", method="website", published_on=date(2015, 2, 1)
        )
        for licence in licences
    )
    for seed in range(start, start + count):
        make_user(f"user{seed}", province=province)


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_changelists_make_the_same_number_of_queries_for_5_and_500_rows(
    client, request, shandong, persona
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    urls = [
        reverse(f"admin:{name}_changelist")
        for name in CHANGELISTS
        if user.has_perm(f"{name.replace('_', '.view_', 1)}")
    ]
    assert len(urls) >= len(CHANGELISTS) - 1
    _add_rows(shandong, 1, 5)
    few = {url: _count(client, url) for url in urls}
    _add_rows(shandong, 100, 495)
    many = {url: _count(client, url) for url in urls}
    assert many == few
    # Searching and filtering must not add per-row queries either.
    licences = reverse("admin:licensing_licence_changelist")
    # A search reads the matching ids first: one query per table it searches (licensing/search.py).
    assert _count(client, licences + "?q=M1") <= few[licences] + 3
    assert _count(client, licences + "?expiry=later&status__exact=valid") <= few[licences] + 1


def _searches_and_filters(shandong):
    """(changelist, query string): every search field's kind and every filter of the lists."""
    category = list(InstrumentCategory.objects.all())[1]  # one of the rows of _add_rows(1, 5)
    number = licence_number(shandong, 3)
    code = credit_code(3, region=f"{shandong.code}0100")
    return [
        ("licensing_licence", "?q=M1"),
        ("licensing_licence", "?q=企业"),
        ("licensing_licence", f"?q={number}"),
        ("licensing_licence", f"?q={code}"),
        ("licensing_licence", "?q=无此企业"),
        ("licensing_licence", "?q=企业 M1"),
        ("licensing_licence", f"?products__category__id__exact={category.pk}"),
        ("licensing_licence", f"?province__id__exact={shandong.pk}"),
        ("licensing_licence", "?status__exact=valid"),
        ("licensing_licence", "?issuing_level__exact=county"),
        ("licensing_licence", "?expiry=expired"),
        ("licensing_licence", "?issued_on__year=2015"),
        ("licensing_licence", "?o=1"),
        (
            "licensing_licence",
            f"?status__exact=valid&province__id__exact={shandong.pk}"
            f"&products__category__id__exact={category.pk}",
        ),
        ("licensing_licensedproduct", "?q=M1"),
        ("licensing_licensedproduct", f"?q={number}"),
        ("licensing_licensedproduct", f"?category__id__exact={category.pk}"),
        ("licensing_licensedproduct", "?licence__status__exact=valid"),
        ("licensing_licensedproduct", f"?licence__province__id__exact={shandong.pk}"),
        ("licensing_manufacturer", "?q=企业"),
        ("licensing_manufacturer", f"?q={code}"),
        ("licensing_manufacturer", "?licensed_in=any"),
        ("licensing_manufacturer", f"?licensed_in={category.code}"),
        ("licensing_manufacturer", "?o=2"),
        ("licensing_typeapproval", "?q=M1"),
        ("licensing_typeapproval", f"?category__id__exact={category.pk}"),
        ("licensing_typeapproval", "?approved_on__year=2015"),
        ("licensing_typeapproval", "?institution__uniformly_authorised__exact=0"),
        ("licensing_announcement", f"?q={number}"),
        ("licensing_announcement", "?kind__exact=approval"),
        ("licensing_announcement", "?filed_on__isempty=1"),
        ("licensing_announcement", "?published_on__year=2015"),
        ("licensing_importbatch", "?q=xlsx"),
        ("accounts_user", "?q=user"),
    ]


@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_searches_and_filters_make_the_same_number_of_queries_for_5_and_500_rows(
    client, request, shandong, persona
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    pages = [
        reverse(f"admin:{name}_changelist") + query
        for name, query in _searches_and_filters(shandong)
        if user.has_perm(f"{name.replace('_', '.view_', 1)}")
    ]
    _add_rows(shandong, 1, 5)
    few = {url: _count(client, url) for url in pages}
    _add_rows(shandong, 100, 495)
    many = {url: _count(client, url) for url in pages}
    assert many == few
