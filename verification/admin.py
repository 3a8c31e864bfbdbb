"""Admin for campaigns (kept by reviewers) and a read-only view of returns.

Returns are edited and reviewed on their own pages through verification/services.py; the
admin only shows them (scoped by province), so it cannot bypass the workflow.
"""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from licensing.admin_mixins import ProvinceScopedAdminMixin
from verification.models import (
    ATTACHMENT1_FIELDS,
    SUMMARY_FIELDS,
    Campaign,
    ProvincialReturn,
    ReturnAttachment,
    ReturnEvent,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "notice_number",
        "title",
        "issued_on",
        "data_deadline",
        "return_deadline",
        "is_open",
    ]
    list_filter = ["is_open"]
    search_fields = ["notice_number", "title"]
    filter_horizontal = ["categories"]
    date_hierarchy = "issued_on"


class ReadOnlyInline(admin.TabularInline):
    # Not ProvinceScopedMixin: for national staff its object check looks the parent return's
    # pk up among the inline's own rows, which hides them. These rows belong to a return the
    # scoped parent admin has already let the user see.
    extra = 0
    can_delete = False
    show_change_link = False
    view_on_site = False

    list_select_related: list[str] = []

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.list_select_related)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReturnAttachmentInline(ReadOnlyInline):
    model = ReturnAttachment
    list_select_related = ["uploaded_by"]
    fields = ["download", "content_type", "size", "uploaded_by", "uploaded_at", "removed_at"]
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.download_name)


class ReturnEventInline(ReadOnlyInline):
    model = ReturnEvent
    list_select_related = ["by"]
    fields = ["at", "action", "from_status", "to_status", "by", "comment", "field_comments"]
    readonly_fields = fields


@admin.register(ProvincialReturn)
class ProvincialReturnAdmin(ProvinceScopedAdminMixin, admin.ModelAdmin):
    """Read-only, for inspection; the purpose-built pages change returns through the services."""

    list_display = ["province", "campaign", "status", "submitted_at", "is_late", "version"]
    list_filter = ["campaign", "status", "is_late"]
    list_select_related = ["province", "campaign"]
    search_fields = ["province__name"]
    list_per_page = 50
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["campaign", "province"]}),
        (_("Attachment 1"), {"fields": list(ATTACHMENT1_FIELDS)}),
        (_("Summary"), {"fields": list(SUMMARY_FIELDS)}),
        (
            _("Workflow"),
            {
                "fields": [
                    "status",
                    "first_submitted_at",
                    "submitted_at",
                    "is_late",
                    "attested_by",
                    "attested_at",
                    "version",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    inlines = [ReturnAttachmentInline, ReturnEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
