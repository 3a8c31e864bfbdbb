"""The one admin mixin that applies province scoping to every province-owned admin and inline."""

from django.contrib.admin.utils import unquote
from django.http import Http404

from licensing.models import Province
from licensing.scoping import user_province_id, user_sees_all_provinces


def _is_scoped(model) -> bool:
    return hasattr(model, "province_lookup") and hasattr(model.objects, "for_user")


def province_id_of(obj):
    """Follow the model's province_lookup (e.g. licence__province) to a province id."""
    *path, last = obj.province_lookup.split("__")
    for step in path:
        obj = getattr(obj, step, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


class ProvinceScopedMixin:
    """Scoping shared by ModelAdmins and inlines.

    Lists, detail pages, deletes, actions, exports, history and raw-id popups all start from
    get_queryset; foreign-key choices (and so autocomplete validation) are limited to what the
    user may see; a provincial user can only ever pick its own province.
    """

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        province_id = user_province_id(request.user)
        if related is Province and province_id:
            kwargs["queryset"] = Province.objects.filter(pk=province_id)
        elif _is_scoped(related):
            kwargs["queryset"] = related.objects.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _object_visible(self, request, obj) -> bool:
        if obj is None or obj.pk is None:
            return True
        # obj is the admin's own object, or an inline's parent: judge it by its own province.
        province_id = user_province_id(request.user)
        if province_id:
            return province_id_of(obj) == province_id
        return user_sees_all_provinces(request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._object_visible(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._object_visible(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._object_visible(request, obj)


class ProvinceScopedAdminMixin(ProvinceScopedMixin):
    """For ModelAdmins: also 404 for unseen objects, forced province, scoped history."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects with "perhaps it was deleted"; that would confirm another
        # province's object exists. Everyone gets the same 404 instead.
        raise Http404

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        province_id = user_province_id(request.user)
        if province_id and self.model.province_lookup == "province":
            initial.setdefault("province", province_id)
        return initial

    def save_model(self, request, obj, form, change):
        province_id = user_province_id(request.user)
        if province_id and obj.province_lookup == "province":
            obj.province_id = province_id
        super().save_model(request, obj, form, change)

    def _require_visible(self, request, object_id):
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        # simple_history falls back to the last historical row of an object the queryset
        # does not contain, which would show another province's history.
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)
