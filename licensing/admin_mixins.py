"""The one admin mixin that applies province scoping to every province-owned admin and inline."""

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts.security import log_hidden_object
from licensing.models import Province
from licensing.scoping import user_province_id, user_sees_all_provinces

SAFE_METHODS = ["GET", "HEAD"]


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

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and from_field is None:
            log_hidden_object(request, self.model, object_id)  # the security log
        return obj

    def _require_visible(self, request, object_id):
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            log_hidden_object(request, self.model, unquote(object_id))
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        # A list to read: nothing is posted to it.
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        # simple_history falls back to the last historical row of an object the queryset
        # does not contain, which would show another province's history.
        self._require_visible(request, object_id)
        if not request.user.is_superuser:
            # The 修改人 column links each name to that user's admin page, which only national
            # superusers may open for every user: to anyone else the link would answer 403 or
            # 404. An empty URL name leaves the name as plain text (the template's {% url … as %}).
            extra_context = {**(extra_context or {}), "admin_user_view": ""}
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """An old version, read-only for every role.

        simple-history's own view saves the posted form for anyone with view or change
        permission (SIMPLE_HISTORY_REVERT_DISABLED only hides its button): an old version would
        overwrite the object, province and links included. History is an audit trail here, so
        the page shows the values and nothing on it writes.
        """
        if request.method not in SAFE_METHODS:
            return HttpResponseNotAllowed(SAFE_METHODS)
        self._require_visible(request, object_id)
        opts = self.model._meta
        record = get_object_or_404(
            self.model.history.model.objects.select_related("history_user"),
            **{opts.pk.attname: unquote(object_id), "history_id": version_id},
        )
        obj = record.instance
        obj._state.adding = False
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, obj)
        # A form without fields: every field is shown as text, with no widget, link icon or
        # button that could change anything.
        form = forms.modelform_factory(self.model, fields=())(instance=obj)
        adminform = helpers.AdminForm(
            form, fieldsets, {}, readonly_fields=flatten_fieldsets(fieldsets), model_admin=self
        )
        url = f"admin:{opts.app_label}_{opts.model_name}"
        when = timezone.localtime(record.history_date)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(object)s as it was on %(date)s")
            % {"object": obj, "date": f"{when:%Y-%m-%d %H:%M}"},
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "module_name": capfirst(opts.verbose_name_plural),
            "original": obj,
            "record": record,
            "recorded_at": when,
            "adminform": adminform,
            "changelist_url": reverse(f"{url}_changelist"),
            "change_url": reverse(f"{url}_change", args=[obj.pk]),
            "history_url": reverse(f"{url}_history", args=[obj.pk]),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/history_version.html", context)
