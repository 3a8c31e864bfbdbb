"""Every URL of the site, walked from the URL configuration, with real arguments filled in.

The permission matrix and the Cache-Control test walk it, so that a new screen is covered
without being listed anywhere.
"""

from typing import NamedTuple

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver
from django.utils.regex_helper import normalize

from licensing.models import ImportBatch, Licence
from verification.models import Campaign, ProvincialReturn, ReturnAttachment


class Url(NamedTuple):
    key: str  # "namespace:name"; the route for an unnamed URL
    namespace: str
    name: str | None
    route: str  # as written: "admin/licensing/licence/<path:object_id>/"
    regex: str
    model: type | None  # the admin's model, for its URLs


def url_patterns(resolver=None, route="", regex="", namespace="", model=None):
    """Every URL pattern of the site."""
    resolver = resolver or get_resolver()
    admin_models = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    for entry in resolver.url_patterns:
        part_route = route + str(entry.pattern)
        part_regex = regex + entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            if namespace == "admin":
                model = admin_models.get(str(entry.pattern), model)
            yield from url_patterns(entry, part_route, part_regex, inner, model)
        else:
            key = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Url(key or part_route, namespace, entry.name, part_route, part_regex, model)


def arguments(params, model, objects) -> dict:
    """A real value for each argument of a URL, from ``objects`` (one object per model class,
    with a ReturnAttachment of the ProvincialReturn)."""
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
    assert not missing, f"no value for {missing} of a URL: add one to tests/urlwalk.py"
    return {name: values[name] for name in params}


def concrete_urls(objects, namespaces=None):
    """(key, path) of every URL (of ``namespaces``, if given), arguments filled from objects."""
    for url in url_patterns():
        if namespaces is not None and url.namespace not in namespaces:
            continue
        template, params = normalize(url.regex)[0]
        yield url.key, "/" + template % arguments(params, url.model, objects)
