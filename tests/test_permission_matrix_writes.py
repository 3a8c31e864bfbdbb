"""Every URL, with every method it accepts, for every role: what a request may write.

tests/test_permission_matrix.py checks what each role sees; this module sends the writes. Each
form is fetched (as the role where it may open it, else as a superuser) and posted back: with
its own values, and with one province or foreign key at a time forged to point into the other
province. The whole database is compared before and after:

- where the role may not write, nothing changed at all (not even a history row or a log entry);
- where it may, posting a form back unchanged changes no register value (a value the form
  dropped, such as a link outside the role's choices, shows up here), a forged key changes
  nothing, and an add, delete or import touches only the role's own province.

Expected rights come from the RIGHTS table of the read matrix, written out from DESIGN.md §2.
test_every_url_is_in_the_matrix fails for a URL (and method) that no case requests.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from accounts.roles import DATA_ENTRY, REVIEWER
from licensing.admin_mixins import ProvinceScopedAdminMixin
from licensing.factories import credit_code
from licensing.models import ImportBatch, Licence, LicensedProduct, Province
from tests.conftest import PASSWORD
from tests.dbstate import Writes
from tests.htmlforms import forms_of, post_form
from tests.licensing.import_files import licence_row, xlsx
from tests.matrix import (
    HOME,
    OTHER,
    Case,
    assert_refused,
    get_page,
    login_redirect,
    sign_in,
)
from tests.test_permission_matrix import (
    IMPORT_BATCH_RIGHTS,
    NO_ADD,
    PERSONAS,
    PROVINCE_OF,
    RIGHTS,
)
from tests.urlwalk import concrete_urls
from verification.models import ProvincialReturn

# The read matrix's rights, with the two models it leaves out: Django's groups are for
# superusers only, and import batches are read-only records.
MATRIX_RIGHTS = {
    persona: {**RIGHTS[persona], "group": "", "importbatch": IMPORT_BATCH_RIGHTS[persona]}
    for persona in RIGHTS
}


def _label(model) -> str:
    return model._meta.label_lower


MODEL_ADMINS = {
    model._meta.model_name: model_admin for model, model_admin in admin.site._registry.items()
}
PROVINCE_OWNED = {
    name
    for name, model_admin in MODEL_ADMINS.items()
    if hasattr(model_admin.model.objects, "for_user")
}


def owners_of(model_name: str) -> tuple:
    return ("37", "33") if model_name in PROVINCE_OWNED else (None,)


def obj_of(matrix, model_name, owner):
    return matrix[owner or "national"][model_name]


def may(persona: str, model_name: str, right: str, owner: str | None) -> bool:
    """The role holds the right on the model and the object (if any) is in its scope."""
    if persona == "anonymous" or right not in MATRIX_RIGHTS[persona][model_name]:
        return False
    province = PROVINCE_OF[persona]
    return owner is None or province is None or province == owner


def refused_status(persona: str, model_name: str, right: str, owner: str | None) -> int:
    """How the admin refuses: 403 without the right on the model (checked first), else 404 for
    an object of another province, whose existence is never confirmed."""
    if persona == "anonymous":
        return 302  # to the login page
    province = PROVINCE_OF[persona]
    foreign = owner is not None and province is not None and province != owner
    if right not in MATRIX_RIGHTS[persona][model_name]:
        return 403
    return 404 if foreign else 403


# --- Form data ----------------------------------------------------------------------------


def fetch_form(client, url, *, as_user, form_id=None):
    """The page's POST form, fetched as ``as_user`` (callers sign the role in again after)."""
    client.force_login(as_user)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return post_form(response.content, form_id=form_id)


def form_source(matrix, request, persona, url, *, allowed):
    """Who fetches the form: the role when it may open the page, else the superuser."""
    if allowed:
        return request.getfixturevalue(persona)
    return matrix["superuser"]


SEED = 9000


def fresh_identifiers(model_name: str, province: Province) -> dict:
    """Unique values for an add, so that posting an object's form to the add page is valid."""
    seed = SEED + int(province.code)
    return {
        "manufacturer": {
            "name": f"矩阵测试仪表有限公司{seed}",
            "credit_code": credit_code(seed, region=f"{province.code}0100"),
        },
        "typeapproval": {"certificate_number": f"2016F{seed % 1000:03d}-{province.code}"},
        "licence": {"number": f"{province.abbreviation}制{seed:08d}号"},
        "licensedproduct": {"model_spec": f"MX-{seed}"},
        "announcement": {},
        "instrumentcategory": {"code": f"matrix-{seed}", "name": f"矩阵类别{seed}"},
        "typeevaluationinstitution": {"name": f"矩阵计量测试院{seed}"},
        "campaign": {"notice_number": f"矩阵〔2026〕{seed}号"},
        "group": {"name": f"矩阵组{seed}"},
        "province": {"code": "99", "name": "矩阵省", "abbreviation": "矩"},
    }.get(model_name, {})


def as_add_data(form, model_name: str, province: Province) -> dict:
    """A change form's data made into a new object's: fresh identifiers, inline rows new."""
    data = form.data(**fresh_identifiers(model_name, province))
    for name in list(data):
        if name.endswith("-INITIAL_FORMS"):
            data[name] = ["0"]
        elif name.endswith("-id") or (name.startswith("products-") and name.endswith("-licence")):
            data[name] = [""]
    return data


# Foreign keys a form may be forged with, per model: field → model of the other province's
# object to point it at ("province" points at the other province itself).
FORGEABLE = {
    "manufacturer": ["province"],
    "typeapproval": ["province", "manufacturer"],
    "licence": ["province", "manufacturer", "products-0-type_approval", "products-0-id"],
    "licensedproduct": ["licence", "type_approval"],
    "announcement": ["licence"],
    "user": ["province", "groups", "is_superuser"],
}
FORGED_TARGET = {
    "manufacturer": "manufacturer",
    "licence": "licence",
    "type_approval": "typeapproval",
    "products-0-type_approval": "typeapproval",
    "products-0-id": "licensedproduct",
}


def forged_value(matrix, field: str, other: str) -> str:
    if field == "province":
        return str(matrix[other]["licence"].province_id)
    if field == "groups":
        return str(Group.objects.get(name=REVIEWER).pk)
    if field == "is_superuser":
        return "on"
    return str(matrix[other][FORGED_TARGET[field]].pk)


# --- Cases ----------------------------------------------------------------------------------


def _admin_url_kinds(model_admin) -> dict[str, str]:
    """URL name (or route, for unnamed ones) → kind, for one ModelAdmin's URLs."""
    prefix = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    kinds = {}
    for pattern in model_admin.get_urls():
        if pattern.name is None:
            kinds[
                f"admin/{model_admin.opts.app_label}/{model_admin.opts.model_name}/{pattern.pattern}"
            ] = "redirect"
        elif pattern.name.startswith(prefix):
            kinds[f"admin:{pattern.name}"] = pattern.name[len(prefix) :]
        else:
            kinds[f"admin:{pattern.name}"] = pattern.name  # e.g. auth_user_password_change
    return kinds


ADMIN_KIND_METHODS = {
    # kind: the variants of its POST cases (GET is one case per owner)
    "changelist": ["delete_selected", "export_admin_action"],
    "add": ["own", "forge"],
    "change": ["own", "forge"],
    "delete": ["own"],
    "history": ["own"],
    "simple_history": ["own"],
    "redirect": ["own"],
    "auth_user_password_change": ["own"],
}


def _admin_cases() -> list[Case]:
    cases = []
    for model_name, model_admin in MODEL_ADMINS.items():
        for url, kind in _admin_url_kinds(model_admin).items():
            if kind not in ADMIN_KIND_METHODS:
                continue  # imports and exports: their own cases below
            object_kind = kind not in ("changelist", "add")
            owners = owners_of(model_name) if object_kind else (None,)
            for persona in PERSONAS:
                for owner in owners:
                    cases.append(Case(url, "GET", persona, model_name, owner))
                    for variant in ADMIN_KIND_METHODS[kind]:
                        if variant == "export_admin_action" and model_name not in (
                            "manufacturer",
                            "licence",
                        ):
                            continue
                        if variant == "forge":
                            # Forging matters where the form is saved: a role without the
                            # right is refused before the form is read ("own" shows that).
                            right = "a" if kind == "add" else "c"
                            if (
                                persona == "anonymous"
                                or right not in MATRIX_RIGHTS[persona][model_name]
                            ):
                                continue
                            for field in FORGEABLE.get(model_name, []):
                                cases.append(
                                    Case(url, "POST", persona, model_name, owner, f"forge:{field}")
                                )
                            continue
                        cases.append(Case(url, "POST", persona, model_name, owner, variant))
    return cases


ADMIN_CASES = _admin_cases()


def _admin_url(case: Case, obj=None, version=None) -> str:
    if case.url.startswith("admin/"):
        return f"/admin/{case.url.split('/', 1)[1].split('<', 1)[0]}{obj.pk}/"
    if version is not None:
        return reverse(case.url, args=[obj.pk, version])
    if obj is not None:
        return reverse(case.url, args=[obj.pk])
    return reverse(case.url)


def _kind(case: Case) -> str:
    return _admin_url_kinds(MODEL_ADMINS[case.model])[case.url]


# History lists, old versions and the <id>/ redirect write nothing for anyone: their cases run
# a role and model at a time, which saves building the world a few hundred times.
READ_ONLY_KINDS = {"history", "simple_history", "redirect"}
FORM_CASES = [case for case in ADMIN_CASES if _kind(case) not in READ_ONLY_KINDS]
READ_ONLY_GROUPS = sorted(
    {(case.persona, case.model) for case in ADMIN_CASES if _kind(case) in READ_ONLY_KINDS}
)


def _handler(case: Case):
    return {
        "changelist": _changelist,
        "add": _add,
        "change": _change,
        "delete": _delete,
        "history": _read_only_page,
        "simple_history": _read_only_page,
        "redirect": _redirect,
        "auth_user_password_change": _password,
    }[_kind(case)]


@pytest.mark.parametrize("case", FORM_CASES, ids=[case.id for case in FORM_CASES])
def test_admin_url(client, request, matrix, case):
    _handler(case)(client, request, matrix, case)


@pytest.mark.parametrize(("persona", "model"), READ_ONLY_GROUPS)
def test_admin_read_only_urls(client, request, matrix, persona, model):
    cases = [
        case
        for case in ADMIN_CASES
        if (case.persona, case.model) == (persona, model) and _kind(case) in READ_ONLY_KINDS
    ]
    for case in cases:
        _handler(case)(client, request, matrix, case)


def _changelist(client, request, matrix, case):
    url = _admin_url(case)
    allowed_view = may(case.persona, case.model, "v", None)
    if case.method == "GET":
        get_page(client, request, case, url, allowed=allowed_view, refused=403)
        return
    # An action on the role's own object and the other province's, both selected.
    home = HOME[case.persona]
    objects = [obj_of(matrix, case.model, owner) for owner in owners_of(case.model)]
    source = form_source(matrix, request, case.persona, url, allowed=allowed_view)
    form = fetch_form(client, url, as_user=source, form_id="changelist-form")
    data = form.data(
        action=case.variant,
        _selected_action=[str(obj.pk) for obj in objects],
        post="yes",  # the delete confirmation's own field: delete without asking
    )
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, data)
    if not allowed_view:
        assert_refused(response, case, writes, 403)
        return
    assert response.status_code in (200, 302), case
    if case.variant == "delete_selected" and may(case.persona, case.model, "d", None):
        own = obj_of(matrix, case.model, home if case.model in PROVINCE_OWNED else None)
        allowed_rows = _rows_of(case.model, own)
        assert writes.register() <= allowed_rows, case
        province = PROVINCE_OF[case.persona]
        if province is not None and case.model in PROVINCE_OWNED:
            other = obj_of(matrix, case.model, OTHER[province])
            assert type(other).objects.filter(pk=other.pk).exists(), case
    else:
        assert writes.all() == set(), case


def _rows_of(model_name, obj) -> set:
    """The rows deleting ``obj`` may remove: itself, its products (a licence's), their m2m;
    and a product's licence, whose version it raises."""
    model = type(obj)
    rows = {(_label(model), obj.pk)}
    if model_name == "licence":
        rows |= {(_label(LicensedProduct), pk) for pk in obj.products.values_list("pk", flat=True)}
    if model_name == "licensedproduct":
        # Its licence's version is raised: a form of the licence loaded before is now stale
        # (licensing/concurrency.py).
        rows.add((_label(Licence), obj.licence_id))
    for field in model._meta.many_to_many:
        through = field.remote_field.through
        rows |= {
            (_label(through), pk)
            for pk in through.objects.filter(**{field.m2m_field_name(): obj.pk}).values_list(
                "pk", flat=True
            )
        }
    return rows


def _add(client, request, matrix, case):
    url = _admin_url(case)
    allowed = may(case.persona, case.model, "a", None) and case.model not in NO_ADD
    if case.method == "GET":
        get_page(client, request, case, url, allowed=allowed, refused=403)
        return
    home = HOME[case.persona]
    own = obj_of(matrix, case.model, home if case.model in PROVINCE_OWNED else None)
    province = matrix[home]["licence"].province
    if case.model == "user":
        data = _user_add_data(client, request, matrix, case, url, allowed, province)
    else:
        change_url = reverse(f"admin:{own._meta.app_label}_{case.model}_change", args=[own.pk])
        source = form_source(
            matrix,
            request,
            case.persona,
            change_url,
            allowed=allowed and may(case.persona, case.model, "c", None),
        )
        form = fetch_form(client, change_url, as_user=source, form_id=f"{case.model}_form")
        data = as_add_data(form, case.model, province)
    if case.variant.startswith("forge:"):
        field = case.variant.split(":", 1)[1]
        data[field] = [forged_value(matrix, field, OTHER[home])]
        if field == "products-0-id":
            data["products-INITIAL_FORMS"] = ["1"]
    sign_in(client, request, case.persona)
    model = MODEL_ADMINS[case.model].model
    existing = set(model._base_manager.values_list("pk", flat=True))
    writes = Writes()
    response = client.post(url, data)
    if not allowed:
        assert_refused(response, case, writes, 403)
        return
    created = set(model._base_manager.values_list("pk", flat=True)) - existing
    if response.status_code == 200:
        # Refused: the form is shown again with an error on the forged field.
        assert case.variant.startswith("forge:"), (case, _form_errors(response))
        assert writes.all() == set(), case
        return
    # Saved: a forged key was ignored (never applied), or the form was the role's own.
    assert response.status_code == 302, case
    assert len(created) == 1, case
    new = model._base_manager.get(pk=created.pop())
    if case.model in PROVINCE_OWNED and PROVINCE_OF[case.persona] is not None:
        assert new in model.objects.for_user(request.getfixturevalue(case.persona)), case
    if case.model == "user":
        assert not new.is_superuser, case
    # Nothing but the new object, its own rows (products, m2m) and the audit rows.
    changed = writes.register()
    assert {row for row in changed if row[0] == _label(model)} == {(_label(model), new.pk)}
    for label, pk in changed:
        if label != _label(model):
            assert _belongs_to(new, label, pk), (case, label, pk)


def _belongs_to(new, label, pk) -> bool:
    """Whether the row (label, pk), as it is now, is one of ``new``'s products or m2m rows, or
    a new product's licence (whose version it raises: licensing/concurrency.py)."""
    if label == _label(LicensedProduct):
        return LicensedProduct.objects.filter(pk=pk, licence_id=new.pk).exists()
    if label == _label(Licence) and isinstance(new, LicensedProduct):
        return new.licence_id == pk
    for field in type(new)._meta.many_to_many:
        through = field.remote_field.through
        if _label(through) == label:
            return through.objects.filter(pk=pk, **{field.m2m_field_name(): new.pk}).exists()
    return False


def _user_add_data(client, request, matrix, case, url, allowed, province):
    source = form_source(matrix, request, case.persona, url, allowed=allowed)
    form = fetch_form(client, url, as_user=source, form_id="user_form")
    return form.data(
        username="matrix_new_user",
        password1="matrix-password-12345",
        password2="matrix-password-12345",
        usable_password="true",
        last_name="新",
        first_name="用户",
        province=str(province.pk),
        groups=[str(Group.objects.get(name=DATA_ENTRY).pk)],
    )


def _form_errors(response):
    context = getattr(response, "context", None)
    if not context or "adminform" not in context:
        return response.status_code
    return context["adminform"].form.errors


def _change(client, request, matrix, case):
    obj = obj_of(matrix, case.model, case.owner)
    url = _admin_url(case, obj)
    may_view = may(case.persona, case.model, "v", case.owner)
    may_change = may(case.persona, case.model, "c", case.owner)
    if case.method == "GET":
        get_page(
            client,
            request,
            case,
            url,
            allowed=may_view,
            refused=refused_status(case.persona, case.model, "v", case.owner),
        )
        return
    source = form_source(matrix, request, case.persona, url, allowed=may_change)
    form = fetch_form(client, url, as_user=source, form_id=f"{case.model}_form")
    data = form.data()
    forging = case.variant.startswith("forge:")
    if forging:
        field = case.variant.split(":", 1)[1]
        data[field] = [forged_value(matrix, field, OTHER[case.owner or HOME[case.persona]])]
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, data)
    if not may_change:
        assert_refused(
            response, case, writes, refused_status(case.persona, case.model, "c", case.owner)
        )
        return
    if response.status_code == 200:
        # Refused: the form is shown again with an error on the forged field.
        assert forging, (case, _form_errors(response))
        assert writes.all() == set(), case
        return
    # Saved: the form as it was shown, or with a forged key that was ignored. Either way no
    # value of the register changed: nothing the form dropped, nothing forged applied.
    assert response.status_code == 302, case
    assert writes.values() == set(), case


def _delete(client, request, matrix, case):
    obj = obj_of(matrix, case.model, case.owner)
    url = _admin_url(case, obj)
    allowed = may(case.persona, case.model, "d", case.owner) and case.model not in (
        "province",
        "user",
    )
    if case.method == "GET":
        get_page(
            client,
            request,
            case,
            url,
            allowed=allowed,
            refused=refused_status(case.persona, case.model, "d", case.owner),
        )
        return
    rows = _rows_of(case.model, obj)
    data = _delete_form_data(client, request, matrix, case, url, allowed)
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, data)
    if not allowed:
        assert_refused(
            response, case, writes, refused_status(case.persona, case.model, "d", case.owner)
        )
        return
    # Deleted (302), or kept because other rows protect it (the page says which): either way
    # nothing else was touched.
    assert response.status_code in (200, 302), case
    assert writes.register() <= rows, case


def _delete_form_data(client, request, matrix, case, url, allowed):
    """The delete confirmation's form; where nobody gets one (the object is protected, or never
    deleted), what that form would hold."""
    client.force_login(form_source(matrix, request, case.persona, url, allowed=allowed))
    response = client.get(url)
    forms = [form for form in forms_of(response.content) if form.method == "post"]
    forms = [form for form in forms if form.id != "logout-form"]
    if response.status_code == 200 and forms:
        return forms[0].data()
    return {"post": "yes"}


def _read_only_page(client, request, matrix, case):
    """History lists and old versions: shown to whoever may view the object; never written."""
    obj = obj_of(matrix, case.model, case.owner)
    version = None
    if _kind(case) == "simple_history":
        version = obj.history.earliest().history_id
    url = _admin_url(case, obj, version)
    if case.method == "POST":
        # What a browser would post: the object's form (as the superuser sees it), moved into
        # the other province.
        data = _object_form_data(client, matrix, case, obj)
        sign_in(client, request, case.persona)
        writes = Writes()
        response = client.post(url, data)
        assert writes.all() == set(), case
        if case.persona == "anonymous":
            assert login_redirect(response), case
        elif _kind(case) == "simple_history" or isinstance(
            MODEL_ADMINS[case.model], ProvinceScopedAdminMixin
        ):
            assert response.status_code == 405, (case, response.status_code)
        else:
            # Django's own history list, which shows the list whatever the method.
            assert response.status_code in (200, 403), (case, response.status_code)
        return
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.get(url)
    if may(case.persona, case.model, "v", case.owner):
        assert response.status_code == 200, case
        assert writes.all() == set(), case
    else:
        province = PROVINCE_OF.get(case.persona)
        foreign = case.owner is not None and province is not None and province != case.owner
        assert_refused(response, case, writes, 404 if foreign else 403)


def _object_form_data(client, matrix, case, obj):
    change_url = reverse(f"admin:{obj._meta.app_label}_{case.model}_change", args=[obj.pk])
    form = fetch_form(client, change_url, as_user=matrix["superuser"], form_id=f"{case.model}_form")
    data = form.data()
    if "province" in data:
        data["province"] = [forged_value(matrix, "province", OTHER[case.owner or "37"])]
    return data


def _redirect(client, request, matrix, case):
    """``<id>/``: the admin's redirect to the change page, for any method; nothing written."""
    obj = obj_of(matrix, case.model, case.owner)
    url = _admin_url(case, obj)
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.get(url) if case.method == "GET" else client.post(url, {"name": "x"})
    assert writes.all() == set(), case
    if case.persona == "anonymous":
        assert login_redirect(response), case
    else:
        assert response.status_code == 301 or response.status_code == 302, case
        assert response["Location"].endswith(f"/{obj.pk}/change/"), case


def _password(client, request, matrix, case):
    """A user's password, set by whoever may change that user."""
    target = obj_of(matrix, case.model, case.owner)
    url = reverse(case.url, args=[target.pk])
    allowed = may(case.persona, "user", "c", case.owner)
    if case.method == "GET":
        get_page(
            client,
            request,
            case,
            url,
            allowed=allowed,
            refused=refused_status(case.persona, "user", "c", case.owner),
        )
        return
    source = form_source(matrix, request, case.persona, url, allowed=allowed)
    form = fetch_form(client, url, as_user=source)
    data = form.data(password1="matrix-password-67890", password2="matrix-password-67890")
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, data)
    if not allowed:
        assert_refused(
            response, case, writes, refused_status(case.persona, "user", "c", case.owner)
        )
        return
    assert response.status_code == 302, case
    assert writes.register() == {(_label(User), target.pk)}, case


# --- Imports and exports ------------------------------------------------------------------

CSV_FORMAT = "1"  # EXPORT_FORMATS = [SafeXLSX, SafeCSV]: CSV, so the test can read the export
MANUFACTURER_HEADER = "企业名称,统一社会信用代码,省份,企业地址,法定代表人,联系人,联系电话"
INSTITUTION_HEADER = "机构名称,省份,是否总局统一授权,授权类别"


def _list_file(model_name: str, province: Province) -> SimpleUploadedFile:
    """A one-row list of ``province`` for the django-import-export import of ``model_name``."""
    seed = SEED + 100 + int(province.code)
    if model_name == "manufacturer":
        code = credit_code(seed, region=f"{province.code}0100")
        lines = [MANUFACTURER_HEADER, f"矩阵导入仪表有限公司{seed},{code},{province.name},,,,"]
    else:
        lines = [INSTITUTION_HEADER, f"矩阵导入计量院{seed},{province.name},是,水表"]
    return SimpleUploadedFile("list.csv", ("\n".join(lines) + "\n").encode())


def _licence_list(province: Province) -> SimpleUploadedFile:
    """A one-licence, two-product licence list of ``province``."""
    seed = SEED + 200 + int(province.code)
    rows = []
    for product in range(2):
        row = licence_row(seed, product)
        row["许可证编号"] = f"{province.abbreviation}制{seed:08d}号"
        row["统一社会信用代码"] = credit_code(seed, region=f"{province.code}0100")
        row["企业名称"] = f"{province.name}矩阵导入仪表有限公司"
        row["发证机关"] = f"{province.name}质量技术监督局"
        rows.append(row)
    return SimpleUploadedFile("licences.xlsx", xlsx(rows))


def _import_export_cases() -> list[Case]:
    cases = []
    for model_name, model_admin in MODEL_ADMINS.items():
        for url, kind in _admin_url_kinds(model_admin).items():
            variants = {
                "import": {"GET": [""], "POST": ["own", "forge"]},
                "process_import": {"GET": [""], "POST": ["own", "forge"]},
                "export": {"GET": [""], "POST": ["own", "forge"]},
                "import_upload": {"GET": [""], "POST": ["own", "forge"]},
                "import_confirm": {"GET": [""], "POST": ["own", "forge"]},
                "import_template": {"GET": [""], "POST": [""]},
                "import_errors": {"GET": ["37", "33"], "POST": ["37", "33"]},
            }.get(kind)
            if variants is None:
                continue
            for persona in PERSONAS:
                for method, names in variants.items():
                    for variant in names:
                        if variant == "forge" and model_name == "typeevaluationinstitution":
                            continue  # national reference data: no province to forge
                        cases.append(Case(url, method, persona, model_name, None, variant))
    return cases


IMPORT_EXPORT_CASES = _import_export_cases()


@pytest.mark.parametrize("case", IMPORT_EXPORT_CASES, ids=[case.id for case in IMPORT_EXPORT_CASES])
def test_import_and_export_url(client, request, matrix, case):
    kind = _kind(case)
    handler = {
        "import": _library_import,
        "process_import": _library_import,
        "export": _export,
        "import_upload": _licence_import,
        "import_confirm": _licence_import,
        "import_template": _licence_import_template,
        "import_errors": _licence_import_errors,
    }[kind]
    handler(client, request, matrix, case, kind)


def _province_of(matrix, key) -> Province:
    return matrix[key]["licence"].province


def _outside_province(writes_rows, persona, request) -> set:
    """Of the changed rows, those of models scoped by province that the role may not see."""
    user = request.getfixturevalue(persona)
    outside = set()
    for label, pk in writes_rows:
        model = apps.get_model(label)
        scoped = hasattr(model.objects, "for_user")
        exists = model._base_manager.filter(pk=pk).exists()
        if scoped and exists and not model.objects.for_user(user).filter(pk=pk).exists():
            outside.add((label, pk))
    return outside


def _library_import(client, request, matrix, case, kind):
    """django-import-export's two steps: upload (a dry run shown as a preview), then confirm."""
    model = MODEL_ADMINS[case.model].model
    allowed = may(case.persona, case.model, "i", None)
    url = reverse(case.url)
    if case.method == "GET":
        sign_in(client, request, case.persona)
        writes = Writes()
        response = client.get(url)
        assert writes.all() == set(), case
        if case.persona == "anonymous":
            assert login_redirect(response), case
        elif kind == "process_import":
            assert response.status_code == 405, case  # POST only, before any other check
        else:
            assert response.status_code == (200 if allowed else 403), case
        return
    home = HOME[case.persona]
    # "forge": a list of the other province; for the confirm step, the superuser's preview of
    # it, posted by the role (the confirm form only names a file the server keeps).
    province = _province_of(matrix, OTHER[home] if case.variant == "forge" else home)
    import_url = reverse(f"admin:licensing_{case.model}_import")
    uploader = (
        request.getfixturevalue(case.persona)
        if allowed and case.variant == "own"
        else matrix["superuser"]
    )
    form = fetch_form(client, import_url, as_user=uploader)
    data = form.data()
    data["import_file"] = _list_file(case.model, province)
    if kind == "import":
        sign_in(client, request, case.persona)
        writes = Writes()
        response = client.post(url, data)
        assert writes.all() == set(), case  # a preview writes nothing
        if case.persona == "anonymous":
            assert login_redirect(response), case
            return
        assert response.status_code == (200 if allowed else 403), case
        if allowed and case.variant == "forge" and PROVINCE_OF[case.persona]:
            assert response.context["result"].has_validation_errors(), case
        return
    preview = client.post(import_url, data)
    assert preview.status_code == 200, case
    # The preview's confirm form, which names the uploaded file the server keeps.
    (confirm,) = [form for form in forms_of(preview.content) if "process_import" in form.action]
    confirm_data = confirm.data()
    sign_in(client, request, case.persona)
    before = set(model._base_manager.values_list("pk", flat=True))
    writes = Writes()
    response = client.post(url, confirm_data)
    if case.persona == "anonymous" or not allowed:
        assert_refused(response, case, writes, 403)
        return
    created = set(model._base_manager.values_list("pk", flat=True)) - before
    if case.variant == "own":
        assert response.status_code == 302, case
        assert len(created) == 1, case
    assert _outside_province(writes.register(), case.persona, request) == set(), case
    if PROVINCE_OF[case.persona] and case.variant == "forge":
        assert created == set(), case


def _export(client, request, matrix, case, kind):
    allowed = may(case.persona, case.model, "e", None)
    url = reverse(case.url)
    sign_in(client, request, case.persona)
    if case.method == "GET":
        writes = Writes()
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, case
            assert writes.all() == set(), case
        else:
            assert_refused(response, case, writes, 403)
        return
    form = fetch_form(
        client,
        url,
        as_user=request.getfixturevalue(case.persona) if allowed else matrix["superuser"],
    )
    data = form.data(format=CSV_FORMAT)
    home = HOME[case.persona]
    obj_own = obj_of(matrix, case.model, home)
    obj_other = obj_of(matrix, case.model, OTHER[home])
    if case.variant == "forge":
        data["export_items"] = [str(obj_other.pk)]
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, data)
    if not allowed:
        assert_refused(response, case, writes, 403)
        return
    assert writes.all() == set(), case
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8-sig", errors="replace")
    marker = {"manufacturer": "name", "licence": "number"}[case.model]
    other_province = PROVINCE_OF[case.persona] is not None
    if case.variant == "own":
        assert response.status_code == 200, case
        assert getattr(obj_own, marker) in text, case
    if other_province:
        assert getattr(obj_other, marker) not in text, case


def _licence_import(client, request, matrix, case, kind):
    """The licence list: upload (preview, kept as a batch), then confirm with the signed token."""
    allowed = may(case.persona, "licence", "i", None)
    url = reverse(case.url)
    if case.method == "GET":
        sign_in(client, request, case.persona)
        writes = Writes()
        response = client.get(url)
        assert writes.all() == set(), case
        if case.persona == "anonymous":
            assert login_redirect(response), case
        elif kind == "import_confirm":
            assert response.status_code == (405 if allowed else 403), case
        else:
            assert response.status_code == (200 if allowed else 403), case
        return
    home = HOME[case.persona]
    province = _province_of(matrix, OTHER[home] if case.variant == "forge" else home)
    upload_url = reverse("admin:licensing_licence_import_upload")
    uploader = (
        request.getfixturevalue(case.persona)
        if allowed and case.variant == "own"
        else matrix["superuser"]
    )
    form = fetch_form(client, upload_url, as_user=uploader, form_id="licence-import-form")
    data = form.data()
    data["file"] = _licence_list(province)
    batches = set(ImportBatch.objects.values_list("pk", flat=True))
    if kind == "import_upload":
        sign_in(client, request, case.persona)
        writes = Writes()
        response = client.post(url, data)
        if case.persona == "anonymous" or not allowed:
            assert_refused(response, case, writes, 403)
            return
        assert response.status_code == 200, case
        # The preview keeps its batch; the register is not touched.
        new_batches = set(ImportBatch.objects.values_list("pk", flat=True)) - batches
        assert writes.register() == {(_label(ImportBatch), pk) for pk in new_batches}, case
        result = response.context["result"]
        if case.variant == "forge" and PROVINCE_OF[case.persona]:
            assert result.errors and not result.ok, case
        else:
            assert result.ok, (case, result.errors)
        return
    # The confirm: the role's own preview; or ("forge") the superuser's preview of the other
    # province's list, its token posted by the role.
    preview = client.post(upload_url, data)
    assert preview.status_code == 200 and preview.context["token"], case
    token = preview.context["token"]
    sign_in(client, request, case.persona)
    writes = Writes()
    response = client.post(url, {"token": token})
    if case.persona == "anonymous" or not allowed:
        assert_refused(response, case, writes, 403)
        return
    assert response.status_code == 302, case
    if case.variant == "forge":
        assert writes.all() == set(), case  # another user's confirmation is refused
        return
    assert writes.register(), case
    assert _outside_province(writes.register(), case.persona, request) == set(), case


def _licence_import_template(client, request, matrix, case, kind):
    allowed = may(case.persona, "licence", "i", None)
    sign_in(client, request, case.persona)
    writes = Writes()
    url = reverse(case.url)
    response = client.get(url) if case.method == "GET" else client.post(url, {})
    if allowed:
        assert response.status_code == 200, case
        assert writes.all() == set(), case
    else:
        assert_refused(response, case, writes, 403)


def _licence_import_errors(client, request, matrix, case, kind):
    """The error report of a batch that is not the role's own: 404, like another province's."""
    batch = matrix[case.variant]["importbatch"]
    allowed = may(case.persona, "licence", "i", None)
    sign_in(client, request, case.persona)
    writes = Writes()
    url = reverse(case.url, args=[batch.pk])
    response = client.get(url) if case.method == "GET" else client.post(url, {})
    assert_refused(response, case, writes, 404 if allowed else 403)


# --- The admin site's own pages -------------------------------------------------------------

APPS_SEEN = {  # the admin's app pages each role may open (it has a model there to view)
    "shandong_admin": {"accounts", "licensing", "verification"},
    "zhejiang_clerk": {"licensing", "verification"},
    "reviewer": {"licensing", "verification"},
}
SITE_URLS = [
    "admin:index",
    "admin:app_list",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:autocomplete",
    "admin:jsi18n",
    "admin:view_on_site",
    "view_on_site",
    "admin/(?P<url>.*)$",  # the admin's catch-all
    "",  # the site root's redirect
]
SITE_CASES = [
    Case(url, method, persona, variant=variant)
    for url in SITE_URLS
    for persona in PERSONAS
    for method in ("GET", "POST")
    for variant in (
        ["auth", "accounts", "licensing", "verification"] if url == "admin:app_list" else [""]
    )
]


@pytest.mark.parametrize("case", SITE_CASES, ids=[case.id for case in SITE_CASES])
def test_site_url(client, request, matrix, case):
    user = sign_in(client, request, case.persona)
    signed_in = user is not None
    url = {
        "admin:app_list": lambda: reverse(case.url, kwargs={"app_label": case.variant}),
        "admin:view_on_site": lambda: "/admin/r/not-a-number/1/",
        "view_on_site": lambda: reverse(
            case.url,
            args=[
                ContentType.objects.get_for_model(ProvincialReturn).pk,
                matrix["33"]["provincialreturn"].pk,
            ],
        ),
        "admin/(?P<url>.*)$": lambda: "/admin/no-such-page/",
        "": lambda: "/",
    }.get(case.url, lambda: reverse(case.url))()
    data = {}
    if case.url == "admin:login":
        # The right password for a role, the wrong one for anonymous: the one write is the
        # role's own last_login.
        data = {"username": user.username if signed_in else "sd_admin", "password": PASSWORD}
        if not signed_in:
            data["password"] = "wrong-password"
    elif case.url == "admin:password_change":
        data = {
            "old_password": PASSWORD,
            "new_password1": "matrix-password-24680",
            "new_password2": "matrix-password-24680",
            # A forged account: the form changes the signed-in user's password only.
            "user": str(matrix["33"]["user"].pk),
            "username": matrix["33"]["user"].username,
        }
    writes = Writes()
    response = client.get(url) if case.method == "GET" else client.post(url, data)
    changed = writes.all()
    status = response.status_code
    assert status != 500, case
    if case.url in ("admin:login", "admin:logout") and case.method == "POST":
        # Sign-in security's own records (accounts/signals.py, django-axes): the session's
        # owner, the sign-in log and its sign-out time, the failure count of a wrong password.
        changed = {row for row in changed if row[0] not in SIGN_IN_RECORDS}
    if case.url == "admin:login" and case.method == "POST" and signed_in:
        assert status == 302, case
        assert changed <= {(_label(User), user.pk)}, case
        return
    if case.url == "admin:password_change" and case.method == "POST" and signed_in:
        assert status == 302, case
        assert {row for row in changed if row[0] != "admin.logentry"} == {(_label(User), user.pk)}
        return
    assert changed == set(), case
    expected = _site_expected(case, signed_in)
    if expected == "login":
        assert login_redirect(response), (case, status)
    else:
        assert status == expected, (case, status)


SIGN_IN_RECORDS = {"accounts.usersession", "axes.accessattempt", "axes.accesslog"}


def _site_expected(case, signed_in):
    """Status of a site-level page that writes nothing."""
    post = case.method == "POST"
    if case.url == "":
        return 302
    if case.url == "admin:login":
        return 302 if signed_in else 200  # anonymous: the form again, with its error
    if case.url == "admin:logout" and not signed_in:
        return 302  # back to the admin, which asks for a login
    if not signed_in:
        return "login"
    if case.url == "admin:logout":
        return 405 if not post else 200
    if case.url == "admin:jsi18n":
        return 405 if post else 200  # a GET-only view
    if case.url == "admin:app_list":
        return 200 if case.variant in APPS_SEEN[case.persona] else 404
    if case.url in ("admin:password_change_done", "admin:autocomplete"):
        return 405 if post else (200 if case.url != "admin:autocomplete" else 403)
    if case.url == "admin:view_on_site" or case.url == "admin/(?P<url>.*)$":
        return 404
    if case.url == "view_on_site":
        return 302 if PROVINCE_OF[case.persona] in (None, "33") else 404
    if case.url == "admin:password_change":
        return 200
    return 200  # the index


# --- The special verification's pages: the method each refuses -----------------------------
# tests/test_permission_matrix.py sends each page the method it serves (VERIFICATION_PAGES:
# GET; VERIFICATION_ACTIONS: POST); here each gets the other one, refused before anything else.
VERIFICATION_REFUSED_METHOD = {
    "verification:index": "POST",
    "verification:campaign_start": "GET",
    "reports:status_list": "POST",
    "verification:return_print": "POST",
    "verification:administrator_add": "GET",
    "verification:attachment_upload": "GET",
    "verification:attachment_remove": "GET",
    "verification:return_review": "POST",
    "verification:review_send_back": "GET",
    "verification:review_accept": "GET",
    "verification:review_reopen": "GET",
    "verification:campaign_remind": "GET",
    "verification:attachment_download": "POST",
}
VERIFICATION_METHOD_CASES = [
    Case(url, method, persona, owner=owner)
    for url, method in VERIFICATION_REFUSED_METHOD.items()
    for persona in PERSONAS
    for owner in ("37", "33")
]


@pytest.mark.parametrize(
    "case", VERIFICATION_METHOD_CASES, ids=[case.id for case in VERIFICATION_METHOD_CASES]
)
def test_verification_url_refuses_the_other_method(client, request, matrix, case):
    provincial_return = matrix[case.owner]["provincialreturn"]
    args = {
        "verification:index": [],
        "verification:campaign_start": [provincial_return.campaign_id],
        "reports:status_list": [provincial_return.campaign_id],
        "verification:campaign_remind": [provincial_return.campaign_id],
        "verification:attachment_remove": [provincial_return.pk, 1],
        "verification:attachment_download": [provincial_return.pk, 1],
    }.get(case.url, [provincial_return.pk])
    sign_in(client, request, case.persona)
    writes = Writes()
    url = reverse(case.url, args=args)
    response = client.get(url) if case.method == "GET" else client.post(url, {"comment": "x"})
    assert response.status_code == 405, (case, response.status_code)
    assert writes.all() == set(), case


# --- Methods no page serves -------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_url_writes_on_put_patch_or_delete(client, request, site_objects, persona):
    """Django's views treat any other method as a GET or refuse it; none writes or fails."""
    sign_in(client, request, persona)
    writes = Writes()
    failures = []
    for _key, path in concrete_urls(site_objects[HOME[persona]]):
        for method in ("put", "patch", "delete"):
            response = getattr(client, method)(path, "name=x")
            if response.status_code >= 500:
                failures.append((method, path, response.status_code))
    assert failures == [], persona
    assert writes.all() == set(), persona


# --- Every URL is in the matrix --------------------------------------------------------------


# What the coverage test (tests/test_permission_matrix_coverage.py) counts as requested here.
MATRIX_CASES = [*ADMIN_CASES, *IMPORT_EXPORT_CASES, *SITE_CASES, *VERIFICATION_METHOD_CASES]
