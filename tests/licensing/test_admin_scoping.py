"""Province scoping beyond page access: what a provincial user can post, pick and act on."""

from datetime import date

import pytest
from django.urls import reverse

from licensing.factories import credit_code, make_licence, make_manufacturer
from licensing.models import InstrumentCategory, Licence, LicensedProduct, Manufacturer


def _manufacturer_post(province, seed=5555, **overrides):
    data = {
        "name": "济南新测仪表有限公司",
        "credit_code": credit_code(seed, region="370100"),
        "province": province.pk,
        "address": "济南市历下区",
        "legal_representative": "",
        "contact_person": "",
        "contact_phone": "",
    }
    data.update(overrides)
    return data


def _licence_post(manufacturer, province, number, products=()):
    data = {
        "number": number,
        "manufacturer": manufacturer.pk,
        "province": province.pk,
        "status": "valid",
        "issuing_authority": "山东省质量技术监督局",
        "issuing_level": "provincial",
        "accepted_on": "2016-03-01",
        "issued_on": "2016-04-01",
        "excluded_days": "0",
        "expires_on": "2019-03-31",
        "products-TOTAL_FORMS": str(len(products)),
        "products-INITIAL_FORMS": "0",
        "products-MIN_NUM_FORMS": "0",
        "products-MAX_NUM_FORMS": "1000",
    }
    for index, product in enumerate(products):
        for key, value in product.items():
            data[f"products-{index}-{key}"] = value
    return data


def test_posted_foreign_province_is_refused(client, shandong_admin, shandong, zhejiang):
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_manufacturer_add"), _manufacturer_post(zhejiang)
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "province" in response.context["adminform"].form.errors
    assert not Manufacturer.objects.exists()


def test_province_field_offers_only_the_users_province(client, shandong_admin, shandong):
    client.force_login(shandong_admin)
    response = client.get(reverse("admin:licensing_manufacturer_add"))
    field = response.context["adminform"].form.fields["province"]
    assert list(field.queryset) == [shandong]
    assert response.context["adminform"].form.initial.get("province") == shandong.pk


def test_province_is_forced_on_save_even_if_form_is_bypassed(rf, shandong_admin, zhejiang):
    from django.contrib.admin.sites import site

    manufacturer = Manufacturer(
        name="外省企业", credit_code=credit_code(9, region="330100"), province=zhejiang
    )
    request = rf.post("/")
    request.user = shandong_admin
    site._registry[Manufacturer].save_model(request, manufacturer, form=None, change=False)
    manufacturer.refresh_from_db()
    assert manufacturer.province.code == "37"


def test_licence_for_foreign_manufacturer_is_refused(client, shandong_admin, shandong, zhejiang):
    foreign = make_manufacturer(zhejiang, 77)
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_licence_add"),
        _licence_post(foreign, shandong, "鲁制12345678号"),
    )
    assert response.status_code == 200
    assert "manufacturer" in response.context["adminform"].form.errors
    assert not Licence.objects.exists()


def test_licence_with_two_products_is_saved_with_history(client, shandong_admin, shandong):
    manufacturer = make_manufacturer(shandong, 78)
    water, gas = InstrumentCategory.objects.filter(code__in=["water-meter", "gas-meter"])
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_licence_add"),
        _licence_post(
            manufacturer,
            shandong,
            "鲁制 00112233",  # normalised as on import: spaces removed, 号 added
            products=[
                {"category": water.pk, "product_name": "水表", "model_spec": "LXS-15E"},
                {"category": gas.pk, "product_name": "膜式燃气表", "model_spec": "G2.5"},
            ],
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    licence = Licence.objects.get(number="鲁制00112233号")
    assert licence.products.count() == 2
    record = licence.history.get()
    assert record.history_user == shandong_admin
    assert record.history_type == "+"
    assert LicensedProduct.history.filter(licence_id=licence.pk).count() == 2


def test_licence_number_must_name_the_issuing_province(client, shandong_admin, shandong):
    manufacturer = make_manufacturer(shandong, 79)
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_licence_add"),
        _licence_post(manufacturer, shandong, "浙制00112233号"),
    )
    errors = response.context["adminform"].form.errors
    assert errors["number"].as_data()[0].code == "licence_number_province_mismatch"


def test_foreign_ids_in_a_bulk_action_are_ignored(client, shandong_admin, shandong, zhejiang):
    own = make_licence(make_manufacturer(shandong, 80), 80)
    foreign = make_licence(make_manufacturer(zhejiang, 81), 81)
    client.force_login(shandong_admin)
    response = client.post(
        reverse("admin:licensing_licence_changelist"),
        {"action": "delete_selected", "_selected_action": [own.pk, foreign.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Licence.objects.filter(pk=own.pk).exists()
    assert Licence.objects.filter(pk=foreign.pk).exists()


def test_type_approval_choices_on_products_are_scoped(client, shandong_admin, shandong_licence):
    client.force_login(shandong_admin)
    response = client.get(reverse("admin:licensing_licence_change", args=[shandong_licence.pk]))
    formset = response.context["inline_admin_formsets"][0].formset
    queryset = formset.forms[0].fields["type_approval"].queryset
    assert str(queryset.query).count("province_id") >= 1
    assert set(queryset.values_list("province__code", flat=True)) <= {"37"}


def test_history_page_shows_who_changed_what(client, shandong_admin, shandong_licence):
    client.force_login(shandong_admin)
    url = reverse("admin:licensing_licence_change", args=[shandong_licence.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        {
            "issuing_authority": "山东省市场监督管理局",
            "accepted_on": shandong_licence.accepted_on.isoformat(),
            "issued_on": shandong_licence.issued_on.isoformat(),
            "excluded_days": str(shandong_licence.excluded_days),  # 0 is falsy above
            "expires_on": shandong_licence.expires_on.isoformat(),
            "products-TOTAL_FORMS": "0",
            "products-INITIAL_FORMS": "0",
            "products-MIN_NUM_FORMS": "0",
            "products-MAX_NUM_FORMS": "1000",
        }
    )
    assert client.post(url, data).status_code == 302
    page = client.get(reverse("admin:licensing_licence_history", args=[shandong_licence.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "sd_admin" in content
    assert "山东省市场监督管理局" in content


@pytest.mark.parametrize(
    "field", ["accepted_on", "expires_on"], ids=["accepted-after-issue", "expiry-before-issue"]
)
def test_bad_licence_dates_are_refused_in_the_admin(client, shandong_admin, shandong, field):
    manufacturer = make_manufacturer(shandong, 82)
    client.force_login(shandong_admin)
    data = _licence_post(manufacturer, shandong, "鲁制00112299号")
    data[field] = {"accepted_on": "2016-05-01", "expires_on": "2016-03-01"}[field]
    response = client.post(reverse("admin:licensing_licence_add"), data)
    assert field in response.context["adminform"].form.errors
    assert not Licence.objects.exists()


def test_changelist_filters_by_expiry(client, reviewer, shandong):
    manufacturer = make_manufacturer(shandong, 83)
    expired = make_licence(
        manufacturer, 83, issued_on=date(2010, 1, 1), expires_on=date(2013, 1, 1)
    )
    current = make_licence(
        manufacturer, 84, issued_on=date(2025, 1, 1), expires_on=date(2099, 1, 1)
    )
    client.force_login(reviewer)
    content = client.get(
        reverse("admin:licensing_licence_changelist"), {"expiry": "expired"}
    ).content.decode()
    assert expired.number in content
    assert current.number not in content


def test_reviewer_sees_the_products_of_any_provinces_licence(client, reviewer, zhejiang_licence):
    # A product whose pk equals the licence's would hide a check that looks up the wrong model.
    LicensedProduct.objects.filter(pk=zhejiang_licence.pk).delete()
    assert zhejiang_licence.products.exists()
    client.force_login(reviewer)
    response = client.get(reverse("admin:licensing_licence_change", args=[zhejiang_licence.pk]))
    formsets = response.context["inline_admin_formsets"]
    assert len(formsets) == 1
    shown = {form.instance.model_spec for form in formsets[0].formset.forms}
    assert shown == set(zhejiang_licence.products.values_list("model_spec", flat=True))
