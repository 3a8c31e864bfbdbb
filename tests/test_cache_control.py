"""No page for a signed-in user may be stored by a browser or a proxy.

Every URL of the admin and of the verification pages is walked from the URL configuration,
so a new screen is covered without being listed here.
"""

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from django.utils.regex_helper import normalize

from accounts.models import User
from config.middleware import private_pages
from licensing.factories import make_licence, make_manufacturer
from licensing.models import (
    Announcement,
    ImportBatch,
    InstrumentCategory,
    Licence,
    LicensedProduct,
    Manufacturer,
    Province,
    TypeApproval,
    TypeEvaluationInstitution,
)
from verification.factories import complete_answers, make_administrator
from verification.models import Campaign, ProvincialReturn, ReturnAttachment
from verification.services import (
    return_attachment_add,
    return_save_draft,
    return_start,
    return_submit,
)

NAMESPACES = ("admin", "verification")
PERSONAS = ["shandong_admin", "zhejiang_clerk", "reviewer"]
# Whose objects each persona's walk uses: its own province's, so most pages show real data.
PROVINCE_OF = {"shandong_admin": "37", "zhejiang_clerk": "33", "reviewer": "37"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _private(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def _url_patterns(resolver=None, regex="", namespace=None, model=None):
    """(namespace, name, regex, model) of every URL, the model being the admin's, if any."""
    resolver = resolver or get_resolver()
    admin_models = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    for entry in resolver.url_patterns:
        part = entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            yield from _url_patterns(
                entry,
                regex + part,
                entry.namespace or namespace,
                admin_models.get(str(entry.pattern), model) if namespace == "admin" else model,
            )
        else:
            yield namespace, entry.name, regex + part, model


@pytest.fixture
def objects(shandong, zhejiang, shandong_admin, zhejiang_clerk, settings, tmp_path):
    """One object of each model per province, 山东's return submitted with an attachment."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    campaign = Campaign.objects.get(notice_number="质检量函〔2016〕27号")
    objects = {}
    for code, province, seed, user in [
        ("37", shandong, 10, shandong_admin),
        ("33", zhejiang, 20, zhejiang_clerk),
    ]:
        manufacturer = make_manufacturer(province, seed)
        licence = make_licence(manufacturer, seed, products=1)
        type_approval = TypeApproval.objects.create(
            certificate_number=f"2015F{seed:03d}-{code}",
            province=province,
            manufacturer=manufacturer,
            category=InstrumentCategory.objects.get(code="water-meter"),
            product_name="水表",
            model_spec=f"LXS-{seed}",
            approved_on=date(2014, 5, 1),
            issuing_department=f"{province.name}质量技术监督局计量处",
        )
        make_administrator(province, by=user)
        provincial_return = return_start(campaign=campaign, by=user)
        attachment = return_attachment_add(
            provincial_return=provincial_return,
            by=user,
            file=SimpleUploadedFile("核查总结.pdf", PDF, content_type="application/pdf"),
        )
        objects[code] = {
            Manufacturer: manufacturer,
            Licence: licence,
            LicensedProduct: licence.products.get(),
            TypeApproval: type_approval,
            Announcement: Announcement.objects.create(
                licence=licence, kind="approval", method="website", published_on=date(2015, 6, 1)
            ),
            User: user,
            ProvincialReturn: provincial_return,
            ImportBatch: ImportBatch.objects.create(
                created_by=user,
                province=province,
                file_name="list.xlsx",
                sha256="0" * 64,
                errors=[{"row": 3, "column": "有效期至", "message": "expiry before issue"}],
            ),
            ReturnAttachment: attachment,
        }
    shandong_return = objects["37"][ProvincialReturn]
    return_save_draft(
        provincial_return=shandong_return, by=shandong_admin, data=complete_answers(shandong)
    )
    return_submit(provincial_return=shandong_return, by=shandong_admin, attest=True)
    national = {
        Province: shandong,
        InstrumentCategory: InstrumentCategory.objects.first(),
        TypeEvaluationInstitution: TypeEvaluationInstitution.objects.create(
            name="中国计量科学研究院", province=shandong
        ),
        Campaign: campaign,
        Group: Group.objects.first(),
    }
    for code in ("37", "33"):
        objects[code] = {**national, **objects[code]}
    return objects


def _arguments(params, model, objects):
    """A real value for each argument of a URL, from the persona's own objects."""
    provincial_return, attachment = objects[ProvincialReturn], objects[ReturnAttachment]
    values = {
        "campaign_pk": objects[Campaign].pk,
        "return_pk": provincial_return.pk,
        "attachment_pk": attachment.pk,
        # returns/<pk>/…, but returns/<return_pk>/attachments/<pk>/ is the attachment.
        "pk": attachment.pk if "return_pk" in params else provincial_return.pk,
        "batch_id": objects[ImportBatch].pk,
        "app_label": "licensing",
        "url": "no-such-page/",  # the admin's catch-all
    }
    if "content_type_id" in params:  # "view on site"
        model = Licence
        values["content_type_id"] = ContentType.objects.get_for_model(Licence).pk
    if model is not None:
        obj = objects[model]
        # <object_id>, the user password form's <id>, simple-history's positional (object, version).
        values.update(object_id=obj.pk, id=obj.pk, _0=obj.pk)
        if hasattr(obj, "history"):
            values["_1"] = obj.history.latest().history_id
    missing = [name for name in params if name not in values]
    assert not missing, f"no value for {missing} of a URL: add one to _arguments"
    return {name: values[name] for name in params}


def _urls(objects):
    for namespace, name, regex, model in _url_patterns():
        if namespace not in NAMESPACES:
            continue
        template, params = normalize(regex)[0]
        url = "/" + template % _arguments(params, model, objects)
        yield (f"{namespace}:{name}" if name else url), url


def test_the_walk_finds_every_admin_and_verification_screen(objects):
    urls = dict(_urls(objects["37"]))
    for name in ("verification:return_review", "verification:return_print", "admin:index"):
        assert name in urls
    own = objects["37"]
    assert urls["verification:attachment_download"] == reverse(
        "verification:attachment_download",
        args=[own[ProvincialReturn].pk, own[ReturnAttachment].pk],
    )
    assert urls["admin:licensing_licence_simple_history"].startswith("/admin/licensing/licence/")
    assert len(urls) > 100


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_for_a_signed_in_user_is_no_store_and_private(client, request, objects, persona):
    client.force_login(request.getfixturevalue(persona))
    statuses, stored = {}, []
    for name, url in _urls(objects[PROVINCE_OF[persona]]):
        response = client.get(url)
        assert response.wsgi_request.user.is_authenticated, url
        statuses[name] = response.status_code
        if not _private(response):
            stored.append((url, response.status_code, response.get("Cache-Control")))
    assert stored == []
    # The walk reached the pages with Attachment 2's contact data, not only refusals.
    expected = {"admin:index": 200, "verification:index": 200}
    if persona == "reviewer":
        expected["verification:return_review"] = 200
    else:
        expected.update({"verification:return_detail": 200, "verification:return_print": 200})
    assert {name: statuses[name] for name in expected} == expected


def test_stricter_directives_of_a_view_are_kept(client, shandong_admin):
    client.force_login(shandong_admin)
    response = client.get(reverse("admin:index"))  # the admin's never_cache
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"} <= directives


def test_a_public_response_to_a_signed_in_user_becomes_private(shandong_admin):
    def public_view(request):
        response = HttpResponse("register")
        response["Cache-Control"] = "public, max-age=3600"
        return response

    request = RequestFactory().get("/")
    request.user = shandong_admin
    response = private_pages(public_view)(request)
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert "public" not in directives
    assert {"no-store", "private"} <= directives


def test_anonymous_responses_are_left_to_their_views(client):
    # The public pages to come (the list of licensed units) may then be cached; the login page
    # sends no-store all the same, because the admin's login view says so.
    response = client.get(reverse("verification:index"))
    assert response.status_code == 302
    assert "Cache-Control" not in response
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert "Cache-Control" not in private_pages(lambda request: HttpResponse("list"))(request)
    login = client.get(reverse("admin:login"))
    assert _private(login)


def test_static_files_keep_their_caching_for_signed_in_users(client, shandong_admin, settings):
    # WhiteNoise answers before the session and the user are known; here from the finders,
    # since the tests have no collectstatic.
    settings.WHITENOISE_USE_FINDERS = True
    client.force_login(shandong_admin)
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    response.close()
