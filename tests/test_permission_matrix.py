"""Every admin URL, for every persona: the province-scoping rule in one table.

Expected outcomes are written out here from DESIGN.md §2, not derived from the code's
permissions, so a change of either shows up as a failure. A new screen, export, import,
history view or report is added to SCREENS in the same commit.
"""

import pytest
from django.core import signing
from django.urls import reverse

from licensing.importing.admin_views import CONFIRM_SALT
from licensing.models import (
    ImportBatch,
)
from tests.dbstate import Writes, rows_outside_province
from tests.htmlforms import post_form
from tests.licensing.import_files import licence_rows, with_expiry_before_issue, xlsx
from verification.models import Campaign, ProvincialReturn, ReturnEvent

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


# --- The licence-list import screens and the import batches (issue 3) ---------------------
# Importing is the "i" of licence in RIGHTS; every role may view the batches of its scope
# and nobody adds, changes or deletes one.
IMPORT_BATCH_RIGHTS = {"shandong_admin": "v", "zhejiang_clerk": "v", "reviewer": "v"}
# Batch owners: each importing persona's own, a 山东 colleague's, and a national one.
BATCH_OWNERS = ["shandong_admin", "zhejiang_clerk", "37-colleague", "national"]
BATCH_PROVINCE = {"shandong_admin": "37", "zhejiang_clerk": "33", "37-colleague": "37"}


@pytest.fixture
def import_batches(world, shandong, zhejiang, shandong_admin, zhejiang_clerk, reviewer):
    """A previewed batch with an error (its file kept for the error report) per owner."""
    rows = licence_rows(2)
    content = xlsx([rows[0], with_expiry_before_issue(rows[1])])
    creators = {
        "shandong_admin": shandong_admin,
        "zhejiang_clerk": zhejiang_clerk,
        "37-colleague": world["37"]["user"],
        "national": reviewer,
    }
    provinces = {"37": shandong, "33": zhejiang}
    return {
        owner: ImportBatch.objects.create(
            created_by=user,
            province=provinces.get(BATCH_PROVINCE.get(owner)),
            file_name=f"batch-of-{owner}.xlsx",
            sha256="0" * 64,
            content=content,
            errors=[{"row": 3, "column": "有效期至", "message": "expiry before issue"}],
        )
        for owner, user in creators.items()
    }


def _import_url(view, batch=None):
    name = f"admin:licensing_licence_import_{view}"
    return reverse(name, args=[batch.pk]) if batch is not None else reverse(name)


def _assert_login_redirect(response):
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


IMPORT_SCREEN_CASES = [
    (persona, view, method)
    for persona in PERSONAS
    for view, method in [("upload", "get"), ("upload", "post"), ("template", "get")]
]


@pytest.mark.parametrize(("persona", "view", "method"), IMPORT_SCREEN_CASES)
def test_licence_import_screens(client, request, world, persona, view, method):
    _login(client, request, persona)
    url = _import_url(view)
    # A POST without a file is an invalid form, shown again.
    response = client.get(url) if method == "get" else client.post(url, {})
    if persona == "anonymous":
        _assert_login_redirect(response)
        return
    allowed = "i" in RIGHTS[persona]["licence"]
    assert response.status_code == (200 if allowed else 403), (persona, view, method)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("token", ["invalid", "other-province"])
def test_licence_import_confirm(client, request, import_batches, persona, token):
    """An invalid token is refused; a valid one naming another province's batch is 404."""
    user = _login(client, request, persona)
    claims = "invalid"
    if token == "other-province" and user is not None:
        other = "zhejiang_clerk" if PROVINCE_OF[persona] != "33" else "shandong_admin"
        batch = import_batches[other]
        claims = signing.dumps(
            {"batch": batch.pk, "sha256": batch.sha256, "user": user.pk}, salt=CONFIRM_SALT
        )
    response = client.post(_import_url("confirm"), {"token": claims})
    if persona == "anonymous":
        _assert_login_redirect(response)
        return
    if "i" not in RIGHTS[persona]["licence"]:
        assert response.status_code == 403
        return
    if token == "other-province":
        assert response.status_code == 404
    else:
        assert response.status_code == 302
        assert response["Location"] == _import_url("upload")
    assert not ImportBatch.objects.filter(status="committed").exists()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("owner", BATCH_OWNERS)
def test_licence_import_error_report(client, request, import_batches, persona, owner):
    _login(client, request, persona)
    response = client.get(_import_url("errors", import_batches[owner]))
    if persona == "anonymous":
        _assert_login_redirect(response)
        return
    if "i" not in RIGHTS[persona]["licence"]:
        assert response.status_code == 403
        return
    # Only the uploader's own batch: a colleague's or another province's is 404.
    assert response.status_code == (200 if owner == persona else 404), (persona, owner)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", ["changelist", "add"])
def test_import_batch_list_pages(client, request, import_batches, persona, view):
    _login(client, request, persona)
    response = client.get(reverse(f"admin:licensing_importbatch_{view}"))
    if persona == "anonymous":
        _assert_login_redirect(response)
        return
    needed = {"changelist": "v", "add": "a"}[view]
    allowed = needed in IMPORT_BATCH_RIGHTS[persona]
    assert response.status_code == (200 if allowed else 403), (persona, view)
    if allowed and view == "changelist":
        content = response.content.decode()
        for owner, batch in import_batches.items():
            province = BATCH_PROVINCE.get(owner)
            visible = PROVINCE_OF[persona] is None or PROVINCE_OF[persona] == province
            assert (batch.file_name in content) is visible, (persona, owner)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("owner", BATCH_OWNERS)
def test_import_batch_object_pages(client, request, import_batches, persona, view, owner):
    _login(client, request, persona)
    batch = import_batches[owner]
    response = client.get(reverse(f"admin:licensing_importbatch_{view}", args=[batch.pk]))
    if persona == "anonymous":
        _assert_login_redirect(response)
        return
    province = PROVINCE_OF[persona]
    visible = province is None or province == BATCH_PROVINCE.get(owner)
    # Nobody deletes a batch: it is the audit record of what it created.
    expected = 403 if view == "delete" else 200 if visible else 404
    assert response.status_code == expected, (persona, view, owner)


# --- The special verification's pages (issue 4) --------------------------------------------
# The return's own pages, outside the admin. Written out from DESIGN.md §2: provinces edit their
# own return (only the system administrator submits), reviewers list and decide; another
# province's return is 404 on every page. "login" is a redirect to the admin's login page.
VERIFICATION_PERSONAS = [
    "anonymous",
    "shandong_admin",
    "shandong_clerk",
    "zhejiang_clerk",
    "reviewer",
]
VERIFICATION_PAGES = """
page      owner  anonymous  shandong_admin  shandong_clerk  zhejiang_clerk  reviewer
index     -      login      200             200             200             200
list      -      login      403             403             403             200
detail    37     login      200             200             404             302
detail    33     login      404             404             200             302
print     37     login      200             200             404             200
print     33     login      404             404             200             200
review    37     login      403             403             404             200
review    33     login      404             404             403             200
download  37     login      200             200             404             200
download  33     login      404             404             200             200
"""
# POSTs, on a draft (send_back and accept: on a submitted return; reopen: on an accepted one;
# remind: both units, whose drafts are past the 2016 deadline). 302 is done (or, for a
# workflow refusal, explained on the page it redirects to).
VERIFICATION_ACTIONS = """
action             owner  anonymous  shandong_admin  shandong_clerk  zhejiang_clerk  reviewer
save               37     login      302             302             404             403
save               33     login      404             404             302             403
submit             37     login      302             403             404             403
attachment_upload  37     login      302             302             404             403
attachment_upload  33     login      404             404             302             403
attachment_remove  37     login      302             302             404             403
administrator_add  37     login      302             302             404             403
administrator_add  33     login      404             404             302             403
send_back          37     login      403             403             404             302
accept             37     login      403             403             404             302
reopen             37     login      403             403             404             302
remind             -      login      403             403             403             302
start              -      login      302             302             302             403
"""
SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _verification_cases(table):
    header, *rows = [line.split() for line in table.strip().splitlines()]
    personas = header[2:]
    return [
        (name, owner, persona, outcome)
        for name, owner, *outcomes in rows
        for persona, outcome in zip(personas, outcomes, strict=True)
    ]


@pytest.fixture
def verification_world(world, settings, tmp_path, shandong_admin, zhejiang_clerk):
    """The world's two returns, each with an attachment, and 山东's Attachment 2 on file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from verification.factories import make_administrator
    from verification.services import return_attachment_add

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    attachments = {}
    for owner, user in (("37", shandong_admin), ("33", zhejiang_clerk)):
        attachments[owner] = return_attachment_add(
            provincial_return=world[owner]["provincialreturn"],
            by=user,
            file=SimpleUploadedFile("scan.pdf", SCAN, content_type="application/pdf"),
        )
    make_administrator(world["37"]["provincialreturn"].province, by=shandong_admin)
    return {
        "returns": {key: world[key]["provincialreturn"] for key in ("37", "33")},
        "attachments": attachments,
    }


def _assert_verification_outcome(response, expected, label):
    if expected == "login":
        assert response.status_code == 302, label
        assert "/admin/login/" in response["Location"], label
    else:
        assert response.status_code == int(expected), label


@pytest.mark.parametrize(
    ("page", "owner", "persona", "expected"), _verification_cases(VERIFICATION_PAGES)
)
def test_verification_pages(client, request, verification_world, page, owner, persona, expected):
    _login(client, request, persona)
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    provincial_return = verification_world["returns"].get(owner)
    urls = {
        "index": lambda: reverse("verification:index"),
        "list": lambda: reverse("reports:status_list", args=[campaign.pk]),
        "detail": lambda: reverse("verification:return_detail", args=[provincial_return.pk]),
        "print": lambda: reverse("verification:return_print", args=[provincial_return.pk]),
        "review": lambda: reverse("verification:return_review", args=[provincial_return.pk]),
        "download": lambda: verification_world["attachments"][owner].get_absolute_url(),
    }
    response = client.get(urls[page]())
    _assert_verification_outcome(response, expected, (page, owner, persona))
    if page == "detail" and expected == "302" and persona == "reviewer":
        assert response["Location"] == reverse(
            "verification:return_review", args=[provincial_return.pk]
        )


@pytest.mark.parametrize(
    ("action", "owner", "persona", "expected"), _verification_cases(VERIFICATION_ACTIONS)
)
def test_verification_actions(
    client, request, verification_world, shandong_admin, reviewer, action, owner, persona, expected
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from verification.factories import complete_answers
    from verification.services import return_save_draft, return_submit

    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    provincial_return = verification_world["returns"].get(owner)
    if action in ("send_back", "accept", "reopen"):
        return_save_draft(
            provincial_return=provincial_return,
            by=shandong_admin,
            data=complete_answers(provincial_return.province),
        )
        return_submit(provincial_return=provincial_return, by=shandong_admin, attest=True)
    if action == "reopen":
        from verification.services import return_accept

        return_accept(provincial_return=provincial_return, by=reviewer)
    version = {"expected_version": provincial_return.version} if provincial_return else {}
    answers = {}
    if action in ("save", "submit"):
        # The return page's own form, as the province's user who may edit it sees it.
        editor = shandong_admin if owner == "37" else request.getfixturevalue("zhejiang_clerk")
        client.force_login(editor)
        page = client.get(reverse("verification:return_detail", args=[provincial_return.pk]))
        answers = post_form(page.content, form_id="return-form").data()
    client.logout()
    _login(client, request, persona)
    administrator = {
        "name": "李新",
        "organisation": "质量技术监督局计量处",
        "title": "科长",
        "office_phone": "0531-82345679",
        "mobile": "13905315678",
        "email": "lixin@example.gov.cn",
    }
    requests = {
        "save": ("return_detail", answers),
        "submit": ("return_detail", {**answers, "_submit": "1", "attest": "on"}),
        "attachment_upload": (
            "attachment_upload",
            {"file": SimpleUploadedFile("scan.pdf", SCAN, content_type="application/pdf")},
        ),
        "attachment_remove": ("attachment_remove", {}),
        "administrator_add": ("administrator_add", administrator),
        "send_back": ("review_send_back", {**version, "comment": "请修改。"}),
        "accept": ("review_accept", version),
        "reopen": ("review_reopen", {**version, "reason": "数据有误，重新审核。"}),
        "remind": (
            "campaign_remind",
            {"province": [str(r.province_id) for r in verification_world["returns"].values()]},
        ),
        "start": ("campaign_start", {}),
    }
    name, data = requests[action]
    if action in ("start", "remind"):
        args = [campaign.pk]
    elif action == "attachment_remove":
        args = [provincial_return.pk, verification_world["attachments"][owner].pk]
    else:
        args = [provincial_return.pk]
    writes = Writes()
    response = client.post(reverse(f"verification:{name}", args=args), data)
    _assert_verification_outcome(response, expected, (action, owner, persona))
    if expected != "302":
        assert writes.all() == set(), (action, owner, persona)
        return
    if action == "remind":
        # A national action: one reminder recorded per unit, nothing else.
        assert {row[0] for row in writes.all()} == {"verification.returnevent"}, writes.all()
        assert ReturnEvent.objects.filter(action="reminded").count() == 2
        return
    # Done: only rows of the province whose return it is (the role's own, for "start").
    province = (
        provincial_return.province
        if provincial_return
        else request.getfixturevalue(persona).province
    )
    assert rows_outside_province(writes.all(), province) == set(), (action, owner, persona)


@pytest.mark.parametrize("persona", PERSONAS)
def test_view_on_site_redirect_does_not_reveal_other_provinces(client, request, world, persona):
    from django.contrib.contenttypes.models import ContentType

    from verification.models import Campaign

    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    returns = {
        code: ProvincialReturn.objects.get_or_create(
            campaign=campaign, province=world[code]["licence"].province
        )[0]
        for code in ("37", "33")
    }
    _login(client, request, persona)
    content_type = ContentType.objects.get_for_model(ProvincialReturn)
    for code, provincial_return in returns.items():
        response = client.get(f"/admin/r/{content_type.pk}/{provincial_return.pk}/")
        if persona == "anonymous":
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]
        elif PROVINCE_OF[persona] in (None, code):
            assert response.status_code == 302
            assert response["Location"].endswith(provincial_return.get_absolute_url())
        else:
            assert response.status_code == 404


def _read_matrix_cases() -> set[tuple[str, str]]:
    """(URL, method) pairs the read matrix and the verification tables request."""
    pages = {
        "index": "verification:index",
        "list": "reports:status_list",
        "detail": "verification:return_detail",
        "print": "verification:return_print",
        "review": "verification:return_review",
        "download": "verification:attachment_download",
    }
    actions = {
        "save": "verification:return_detail",
        "submit": "verification:return_detail",
        "attachment_upload": "verification:attachment_upload",
        "attachment_remove": "verification:attachment_remove",
        "administrator_add": "verification:administrator_add",
        "send_back": "verification:review_send_back",
        "accept": "verification:review_accept",
        "reopen": "verification:review_reopen",
        "remind": "verification:campaign_remind",
        "start": "verification:campaign_start",
    }
    covered = {(pages[name], "GET") for name, *_rest in _verification_cases(VERIFICATION_PAGES)}
    covered |= {
        (actions[name], "POST") for name, *_rest in _verification_cases(VERIFICATION_ACTIONS)
    }
    return covered


# The verification pages' (URL, method) pairs, for tests/test_permission_matrix_coverage.py; the
# admin's are requested with every method in tests/test_permission_matrix_writes.py.
MATRIX_CASES = sorted(_read_matrix_cases())
