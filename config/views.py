"""Project-wide views that wrap Django's own to apply province scoping."""

from django.contrib.contenttypes import views as contenttypes_views
from django.contrib.contenttypes.models import ContentType
from django.http import Http404


def scoped_shortcut(request, content_type_id, object_id):
    """The admin's "view on site" redirect, but 404 for objects the user may not see.

    Django's shortcut redirects to any object's URL for any staff user, which would confirm
    that another province's object exists.
    """
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404 from None
    if model is None:
        raise Http404
    manager = model._default_manager
    if hasattr(manager, "for_user"):
        if not manager.for_user(request.user).filter(pk=object_id).exists():
            raise Http404
    elif not request.user.is_superuser:
        raise Http404
    return contenttypes_views.shortcut(request, content_type_id, object_id)
