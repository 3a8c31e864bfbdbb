"""Every admin URL, for every persona: the province-scoping rule in one table.

Expected outcomes are written out here from DESIGN.md §2, not derived from the code's
permissions, so a change of either shows up as a failure. A new screen, export, import,
history view or report is added to SCREENS in the same commit.
"""

from datetime import date

import pytest
from django.urls import reverse

from licensing.factories import make_licence, make_manufacturer
from licensing.models import (
    Announcement,
    InstrumentCategory,
    TypeApproval,
    TypeEvaluationInstitution,
)
from verification.models import Campaign, ProvincialReturn

PERSONAS = ["anonymous", "shandong_admin", "zhejiang_clerk", "reviewer"]

# What each role may do per model (v=view, a=add, c=change, d=delete, e=export, i=import).
RIGHTS = {
    "shandong_admin": {
        "manufacturer": "vacdei",
        "typeapproval": "vacd",
        "licence": "vacdei",
        "licensedproduct": "vacd",
        "announcement": "vacd",
        "province": "v",
        "instrumentcategory": "v",
        "typeevaluationinstitution": "v",
        "user": "vac",
        "provincialreturn": "v",
        "campaign": "v",
    },
    "zhejiang_clerk": {
        "manufacturer": "vacei",
        "typeapproval": "vac",
        "licence": "vacei",
        "licensedproduct": "vacd",
        "announcement": "vac",
        "province": "v",
        "instrumentcategory": "v",
        "typeevaluationinstitution": "v",
        "user": "",
        "provincialreturn": "v",
        "campaign": "v",
    },
    "reviewer": {
        "manufacturer": "ve",
        "typeapproval": "v",
        "licence": "ve",
        "licensedproduct": "v",
        "announcement": "v",
        "province": "vc",
        "instrumentcategory": "vac",
        "typeevaluationinstitution": "vacdi",
        "user": "",
        # Returns change only through the workflow's own pages; the admin just shows them.
        "provincialreturn": "v",
        "campaign": "vac",
    },
}
PROVINCE_OF = {"shandong_admin": "37", "zhejiang_clerk": "33", "reviewer": None}

PROVINCE_OWNED = [
    "manufacturer",
    "typeapproval",
    "licence",
    "licensedproduct",
    "announcement",
    "provincialreturn",
]
NATIONAL = ["province", "instrumentcategory", "typeevaluationinstitution", "campaign"]
APP_OF = {"user": "accounts", "provincialreturn": "verification", "campaign": "verification"}
EXPORTABLE = ["manufacturer", "licence"]
# The django-import-export imports (the licence list has its own import screens).
IMPORTABLE = ["manufacturer", "typeevaluationinstitution"]
# Province adds are for superusers only (reference data loaded by migration).
NO_ADD = {"province"}


@pytest.fixture
def world(shandong, zhejiang):
    """One object of every province-owned model in 山东 and in 浙江."""
    from tests.conftest import make_user

    objects = {}
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    for key, province, seed in [("37", shandong, 10), ("33", zhejiang, 20)]:
        manufacturer = make_manufacturer(province, seed)
        licence = make_licence(manufacturer, seed, products=1)
        type_approval = TypeApproval.objects.create(
            certificate_number=f"2015F{seed:03d}-{province.code}",
            province=province,
            manufacturer=manufacturer,
            category=InstrumentCategory.objects.get(code="water-meter"),
            product_name="水表",
            model_spec=f"LXS-{seed}",
            approved_on=date(2014, 5, 1),
            issuing_department=f"{province.name}质量技术监督局计量处",
        )
        announcement = Announcement.objects.create(
            licence=licence, kind="approval", method="website", published_on=date(2015, 6, 1)
        )
        objects[key] = {
            "manufacturer": manufacturer,
            "licence": licence,
            "licensedproduct": licence.products.get(),
            "typeapproval": type_approval,
            "announcement": announcement,
            "user": make_user(f"user_{province.code}", province=province),
            "provincialreturn": ProvincialReturn.objects.create(
                campaign=campaign, province=province
            ),
        }
    institution = TypeEvaluationInstitution.objects.create(name="中国计量科学研究院", province_id=1)
    objects["national"] = {
        "province": shandong,
        "instrumentcategory": InstrumentCategory.objects.first(),
        "typeevaluationinstitution": institution,
        "campaign": campaign,
    }
    return objects


def _login(client, request, persona):
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def _url(model, view, obj=None):
    app = APP_OF.get(model, "licensing")
    if view in ("change", "delete", "history"):
        return reverse(f"admin:{app}_{model}_{view}", args=[obj.pk])
    return reverse(f"admin:{app}_{model}_{view}")


def _expected_object_view(persona, model, view, owner):
    """Expected status of change/delete/history of an object owned by `owner` (a code or None)."""
    if persona == "anonymous":
        return 302
    rights = RIGHTS[persona][model]
    province = PROVINCE_OF[persona]
    foreign = owner is not None and province is not None and owner != province
    # Users are province-owned too; national staff without rights on users get 403.
    if view == "history":
        if foreign:
            return 404
        return 200 if "v" in rights else 403
    needed = {"change": "v", "delete": "d"}[view]
    if needed not in rights:
        return 403
    return 404 if foreign else 200


OBJECT_CASES = [
    (persona, model, view, owner)
    for persona in PERSONAS
    for model in [*PROVINCE_OWNED, "user"]
    for view in ("change", "delete", "history")
    for owner in ("37", "33")
] + [
    (persona, model, view, None)
    for persona in PERSONAS
    for model in NATIONAL
    for view in ("change", "delete", "history")
]


@pytest.mark.parametrize(("persona", "model", "view", "owner"), OBJECT_CASES)
def test_object_pages(client, request, world, persona, model, view, owner):
    _login(client, request, persona)
    obj = world[owner or "national"][model]
    expected = _expected_object_view(persona, model, view, owner)
    if model == "province" and view == "delete" and persona != "anonymous":
        expected = 403  # provinces are never deleted
    if model == "user" and view == "delete" and persona != "anonymous":
        expected = 403  # accounts are deactivated, never deleted (superusers excepted)
    response = client.get(_url(model, view, obj))
    assert response.status_code == expected, (persona, model, view, owner)
    if expected == 302:
        assert "/admin/login/" in response["Location"]


# Text that identifies a row on its changelist.
MARKER = {
    "manufacturer": lambda obj: obj.name,
    "licence": lambda obj: obj.number,
    "typeapproval": lambda obj: obj.certificate_number,
    "licensedproduct": lambda obj: obj.model_spec,
    "announcement": lambda obj: obj.licence.number,
    "user": lambda obj: obj.username,
    "provincialreturn": lambda obj: obj.province.name,
}

LIST_CASES = [
    (persona, model, view)
    for persona in PERSONAS
    for model in [*PROVINCE_OWNED, "user", *NATIONAL]
    for view in ("changelist", "add")
] + [(persona, model, "export") for persona in PERSONAS for model in EXPORTABLE]


@pytest.mark.parametrize(("persona", "model", "view"), LIST_CASES)
def test_list_add_and_export_pages(client, request, world, persona, model, view):
    _login(client, request, persona)
    response = client.get(_url(model, view))
    if persona == "anonymous":
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
        return
    rights = RIGHTS[persona][model]
    needed = {"changelist": "v", "add": "a", "export": "e"}[view]
    allowed = needed in rights and not (view == "add" and model in NO_ADD)
    assert response.status_code == (200 if allowed else 403), (persona, model, view)
    if allowed and view == "changelist" and model in [*PROVINCE_OWNED, "user"]:
        content = response.content.decode()
        own, other = ("37", "33") if PROVINCE_OF[persona] != "33" else ("33", "37")
        assert MARKER[model](world[own][model]) in content
        if PROVINCE_OF[persona] is None and model != "user":
            assert MARKER[model](world[other][model]) in content
        else:
            assert MARKER[model](world[other][model]) not in content


IMPORT_CASES = [
    (persona, model, view)
    for persona in PERSONAS
    for model in IMPORTABLE
    for view in ("import", "process_import")
]


@pytest.mark.parametrize(("persona", "model", "view"), IMPORT_CASES)
def test_import_pages(client, request, world, persona, model, view):
    _login(client, request, persona)
    url = _url(model, view)
    # The confirm step only takes a POST; an empty one is an invalid form, shown again.
    response = client.get(url) if view == "import" else client.post(url, {})
    if persona == "anonymous":
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
        return
    allowed = "i" in RIGHTS[persona][model]
    assert response.status_code == (200 if allowed else 403), (persona, model, view)


AUTOCOMPLETE_CASES = [
    # (source model, field, target model)
    ("licence", "manufacturer", "manufacturer"),
    ("typeapproval", "manufacturer", "manufacturer"),
    ("licensedproduct", "type_approval", "typeapproval"),
    ("licensedproduct", "licence", "licence"),
    ("announcement", "licence", "licence"),
    ("typeapproval", "institution", "typeevaluationinstitution"),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("source", "field", "target"), AUTOCOMPLETE_CASES)
def test_autocomplete_results_are_scoped(client, request, world, persona, source, field, target):
    _login(client, request, persona)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "licensing", "model_name": source, "field_name": field, "term": ""},
    )
    if persona == "anonymous":
        assert response.status_code == 302
        return
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    if target == "typeevaluationinstitution":
        assert world["national"][target].pk in ids
        return
    own = PROVINCE_OF[persona]
    for province in ("37", "33"):
        visible = own is None or own == province
        assert (world[province][target].pk in ids) is visible, (persona, province)


@pytest.mark.parametrize("persona", ["shandong_admin", "zhejiang_clerk", "reviewer"])
def test_raw_id_popup_lists_only_visible_rows(client, request, world, persona):
    _login(client, request, persona)
    response = client.get(
        reverse("admin:licensing_manufacturer_changelist"), {"_to_field": "id", "_popup": "1"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    own = PROVINCE_OF[persona]
    for province in ("37", "33"):
        visible = own is None or own == province
        assert (world[province]["manufacturer"].name in content) is visible


@pytest.mark.parametrize("persona", ["shandong_admin", "reviewer"])
def test_historical_version_of_other_province_is_404(client, request, world, persona):
    _login(client, request, persona)
    licence = world["33"]["licence"]
    version = licence.history.latest()
    response = client.get(
        reverse("admin:licensing_licence_simple_history", args=[licence.pk, version.history_id])
    )
    assert response.status_code == (404 if PROVINCE_OF[persona] else 200)
