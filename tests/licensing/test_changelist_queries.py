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
    assert _count(client, licences + "?q=M1") <= few[licences] + 1
    assert _count(client, licences + "?expiry=later&status__exact=valid") <= few[licences] + 1
