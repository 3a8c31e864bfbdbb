"""Two people editing the same register object: the second save is refused and shown the first's.

Each test loads the same change form in two browsers-without-a-browser (two test clients), saves
it from the first, then from the second: the first gets 302, the second 409 with what the first
changed (field, old value, new value, who, when), and the database holds the first's values
and nothing of the second's (licensing/concurrency.py).
"""

import threading
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from licensing.admin import RegisterAdmin
from licensing.factories import make_licence, make_manufacturer
from licensing.importing.service import licence_import
from licensing.models import (
    Announcement,
    AnnouncementKind,
    InstrumentCategory,
    Licence,
    LicensedProduct,
    PublicationMethod,
    TypeApproval,
)
from tests.htmlforms import post_form
from tests.licensing.import_files import licence_row, xlsx


def _url(obj):
    return reverse(f"admin:licensing_{obj._meta.model_name}_change", args=[obj.pk])


def _loaded(client, user, obj) -> dict:
    """The change form's data as the page posts it back, loaded by ``user``."""
    client.force_login(user)
    response = client.get(_url(obj))
    assert response.status_code == 200
    return post_form(response.content, form_id=f"{obj._meta.model_name}_form").data()


def _label(model, name) -> str:
    with translation.override("zh-hans"):
        return str(model._meta.get_field(name).verbose_name)


def _type_approval(manufacturer):
    return TypeApproval.objects.create(
        certificate_number="2016F123-37",
        province=manufacturer.province,
        manufacturer=manufacturer,
        category=InstrumentCategory.objects.get(code="water-meter"),
        product_name="水表",
        model_spec="LXS-15",
        approved_on=date(2016, 3, 1),
        issuing_department="山东省质量技术监督局",
    )


def _announcement(licence):
    return Announcement.objects.create(
        licence=licence,
        kind=AnnouncementKind.APPROVAL,
        method=PublicationMethod.WEBSITE,
        method_detail="http://www.sdqts.gov.cn/",
        published_on=date(2016, 6, 1),
    )


def _objects(shandong):
    manufacturer = make_manufacturer(shandong, 3001)
    licence = make_licence(manufacturer, 3001, products=2)
    # As the admin and the import write a licence with its products: in one moment, so that
    # the products belong to the licence's first version.
    created = licence.history.get().history_date
    LicensedProduct.history.filter(licence_id=licence.pk).update(history_date=created)
    return manufacturer, licence


# (what is edited, how to make it, the field both edit, the first's value, the second's value)
CASES = {
    "manufacturer": (lambda m, lic: m, "contact_phone", "0531-11111111", "0531-22222222"),
    "type approval": (lambda m, lic: _type_approval(m), "model_spec", "LXS-20", "LXS-25"),
    "licence": (lambda m, lic: lic, "issuing_authority", "济南市质量技术监督局", "青岛市局"),
    "announcement": (lambda m, lic: _announcement(lic), "method_detail", "大众日报", "齐鲁晚报"),
    "licensed product": (
        lambda m, lic: lic.products.order_by("pk").first(),
        "model_spec",
        "DT-FIRST",
        "DT-SECOND",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_second_save_of_the_same_form_is_refused_with_the_first_change_shown(
    client, shandong, shandong_admin, shandong_clerk, case
):
    make, name, first_value, second_value = CASES[case]
    obj = make(*_objects(shandong))
    model = type(obj)
    old_value = getattr(obj, name) or "—"  # an empty value is shown as a dash
    other = Client()
    first = _loaded(client, shandong_admin, obj)
    second = _loaded(other, shandong_clerk, obj)
    assert first["version"] == [str(obj.version)]  # the hidden field, posted back as loaded

    first[name] = [first_value]
    assert client.post(_url(obj), first).status_code == 302
    second[name] = [second_value]
    response = other.post(_url(obj), second)

    assert response.status_code == 409
    page = response.content.decode()
    assert 'lang="zh-hans"' in page
    with translation.override("zh-hans"):
        title = translation.gettext("Someone else changed this %(object)s") % {
            "object": model._meta.verbose_name
        }
    assert f"<h1>{title}</h1>" in page
    # What the other person changed: the field, its old value, their value, who.
    changes = response.context["changes"]
    assert [(c.label, c.old, c.new) for change in changes for c in change.fields] == [
        (_label(model, name), old_value, first_value)
    ]
    assert changes[0].by == shandong_admin.username
    for text in (_label(model, name), old_value, first_value, shandong_admin.username):
        assert text in page
    # The second's own change, not saved, so that it can be made again; nothing else of the
    # form (the fields they left as loaded).
    assert [(e.label, e.old, e.new) for e in response.context["entries"]] == [
        (_label(model, name), first_value, second_value)
    ]
    assert second_value in page
    obj.refresh_from_db()
    assert getattr(obj, name) == first_value
    assert obj.version == int(first["version"][0]) + 1


def test_a_licence_edited_twice_through_its_products_keeps_the_first_products(
    client, shandong, shandong_admin, shandong_clerk
):
    _, licence = _objects(shandong)
    other = Client()
    first = _loaded(client, shandong_admin, licence)
    second = _loaded(other, shandong_clerk, licence)
    product = LicensedProduct.objects.get(pk=first["products-0-id"][0])
    old_spec = product.model_spec

    first["products-0-model_spec"] = ["DT-EDITED-FIRST"]
    assert client.post(_url(licence), first).status_code == 302
    # The second touches only the licence's own field; saved, it would also write the
    # product row back as it was loaded.
    second["issuing_authority"] = ["济南市质量技术监督局"]
    response = other.post(_url(licence), second)

    assert response.status_code == 409
    changes = [(c.label, c.old, c.new) for ch in response.context["changes"] for c in ch.fields]
    assert (_label(LicensedProduct, "model_spec"), old_spec, "DT-EDITED-FIRST") in changes
    assert "DT-EDITED-FIRST" in response.content.decode()
    product.refresh_from_db()
    licence.refresh_from_db()
    assert product.model_spec == "DT-EDITED-FIRST"
    assert licence.issuing_authority == "山东省质量技术监督局"


def test_a_licence_form_is_stale_once_one_of_its_products_is_saved_on_its_own_page(
    client, shandong, shandong_admin, shandong_clerk
):
    _, licence = _objects(shandong)
    product = licence.products.order_by("pk").first()
    other = Client()
    licence_form = _loaded(other, shandong_clerk, licence)
    product_form = _loaded(client, shandong_admin, product)
    product_form["accuracy_class"] = ["1级"]
    assert client.post(_url(product), product_form).status_code == 302

    licence_form["status"] = ["changed"]
    response = other.post(_url(licence), licence_form)

    assert response.status_code == 409
    licence.refresh_from_db()
    product.refresh_from_db()
    assert licence.status == "valid"
    assert product.accuracy_class == "1级"


def test_a_form_loaded_before_an_import_changed_the_licence_is_stale(
    client, shandong, shandong_clerk
):
    row = licence_row(1)
    assert licence_import(data=xlsx([row]), file_name="a.xlsx", by=shandong_clerk).ok
    licence = Licence.objects.get(number=row["许可证编号"])
    form = _loaded(client, shandong_clerk, licence)
    # The import's bulk UPDATE of the licence, and its new product, raise the version.
    changed = {**row, "发证机关": "济南市质量技术监督局"}
    added = {**licence_row(1, product=1), "发证机关": "济南市质量技术监督局"}
    assert licence_import(data=xlsx([changed, added]), file_name="b.xlsx", by=shandong_clerk).ok

    form["issuing_authority"] = ["青岛市质量技术监督局"]
    response = client.post(_url(licence), form)

    assert response.status_code == 409
    changes = [(c.label, c.new) for ch in response.context["changes"] for c in ch.fields]
    assert (_label(Licence, "issuing_authority"), "济南市质量技术监督局") in changes
    assert (_label(LicensedProduct, "model_spec"), added["型号规格"]) in changes
    licence.refresh_from_db()
    assert licence.issuing_authority == "济南市质量技术监督局"
    assert licence.products.count() == 2


def test_an_import_that_changes_only_products_raises_the_licence_version(shandong, shandong_clerk):
    row = licence_row(2)
    assert licence_import(data=xlsx([row]), file_name="a.xlsx", by=shandong_clerk).ok
    licence = Licence.objects.get(number=row["许可证编号"])
    product = licence.products.get()
    assert (licence.version, product.version) == (1, 1)
    changed = {**row, "准确度等级": "1级"}
    assert licence_import(data=xlsx([changed]), file_name="b.xlsx", by=shandong_clerk).ok
    licence.refresh_from_db()
    product.refresh_from_db()
    assert (licence.version, product.version) == (2, 2)
    # Unchanged rows are not rewritten: a re-import moves no version.
    assert licence_import(data=xlsx([changed]), file_name="c.xlsx", by=shandong_clerk).ok
    licence.refresh_from_db()
    assert licence.version == 2


def test_saving_again_from_the_current_version_succeeds(
    client, shandong, shandong_admin, shandong_clerk
):
    manufacturer, _ = _objects(shandong)
    other = Client()
    first = _loaded(client, shandong_admin, manufacturer)
    _loaded(other, shandong_clerk, manufacturer)
    first["contact_person"] = ["张三"]
    assert client.post(_url(manufacturer), first).status_code == 302
    again = _loaded(other, shandong_clerk, manufacturer)
    again["contact_phone"] = ["0531-33333333"]
    assert other.post(_url(manufacturer), again).status_code == 302
    manufacturer.refresh_from_db()
    assert (manufacturer.contact_person, manufacturer.contact_phone) == ("张三", "0531-33333333")


def test_a_view_only_page_has_no_version_field(client, shandong, reviewer):
    manufacturer, _ = _objects(shandong)
    client.force_login(reviewer)
    page = client.get(_url(manufacturer)).content.decode()
    assert 'name="version"' not in page


def test_saving_or_deleting_an_object_someone_else_deleted_is_not_a_server_error(
    client, shandong, shandong_admin
):
    _, licence = _objects(shandong)
    announcement = _announcement(licence)
    form = _loaded(client, shandong_admin, announcement)
    delete_url = reverse("admin:licensing_announcement_delete", args=[announcement.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert client.post(_url(announcement), form).status_code == 404
    assert client.post(delete_url, {"post": "yes"}).status_code == 404


def test_deleting_an_object_someone_else_changed_meanwhile_is_not_a_server_error(
    client, shandong, shandong_admin, shandong_clerk
):
    _, licence = _objects(shandong)
    announcement = _announcement(licence)
    delete_url = reverse("admin:licensing_announcement_delete", args=[announcement.pk])
    other = Client()
    other.force_login(shandong_admin)
    assert other.get(delete_url).status_code == 200
    form = _loaded(client, shandong_clerk, announcement)
    form["method_detail"] = ["大众日报"]
    assert client.post(_url(announcement), form).status_code == 302
    assert other.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Announcement.objects.filter(pk=announcement.pk).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks and concurrent connections: runs on PostgreSQL (CI)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_postgresql_two_racing_saves_have_one_winner(
    monkeypatch, shandong, shandong_admin, shandong_clerk
):
    manufacturer, _ = _objects(shandong)
    clients = {"admin": Client(), "clerk": Client()}
    forms = {
        "admin": _loaded(clients["admin"], shandong_admin, manufacturer),
        "clerk": _loaded(clients["clerk"], shandong_clerk, manufacturer),
    }
    forms["admin"]["contact_phone"] = ["0531-11111111"]
    forms["clerk"]["contact_phone"] = ["0531-22222222"]
    # Both requests get past their form's validation before either claims the row.
    both_validated = threading.Barrier(2, timeout=10)
    save_model = RegisterAdmin.save_model

    def save_model_after_both_validated(self, request, obj, form, change):
        both_validated.wait()
        return save_model(self, request, obj, form, change)

    monkeypatch.setattr(RegisterAdmin, "save_model", save_model_after_both_validated)
    statuses = {}

    def save(who):
        try:
            statuses[who] = clients[who].post(_url(manufacturer), forms[who]).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(who,)) for who in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(statuses.values()) == [302, 409], statuses
    winner = next(who for who, status in statuses.items() if status == 302)
    manufacturer.refresh_from_db()
    assert manufacturer.contact_phone == forms[winner]["contact_phone"][0]
    assert manufacturer.version == 2
    assert manufacturer.history.count() == 2  # created, and the winner's change only


def test_the_conflict_lists_only_changes_made_after_the_form_was_loaded(
    client, shandong, shandong_admin, shandong_clerk
):
    _, licence = _objects(shandong)
    earlier = _loaded(client, shandong_admin, licence)
    earlier["products-0-model_spec"] = ["DT-EARLIER"]
    assert client.post(_url(licence), earlier).status_code == 302
    # Both load the licence as that save left it, its products included.
    other = Client()
    first = _loaded(client, shandong_admin, licence)
    second = _loaded(other, shandong_clerk, licence)
    first["issuing_authority"] = ["济南市质量技术监督局"]
    assert client.post(_url(licence), first).status_code == 302
    second["status"] = ["changed"]
    response = other.post(_url(licence), second)

    assert response.status_code == 409
    changes = [(c.label, c.new) for ch in response.context["changes"] for c in ch.fields]
    assert changes == [(_label(Licence, "issuing_authority"), "济南市质量技术监督局")]
