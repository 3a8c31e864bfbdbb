"""Admin for campaigns (kept by reviewers) and a read-only view of returns.

Returns are edited and reviewed on their own pages through verification/services.py; the
admin only shows them (scoped by province), so it cannot bypass the workflow.
"""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from licensing.admin_mixins import ProvinceScopedAdminMixin
from verification.fields import ChoiceListField
from verification.models import (
    ATTACHMENT1_FIELDS,
    ATTACHMENT_EXTENSIONS,
    SUMMARY_FIELDS,
    Campaign,
    ProvincialReturn,
    ReturnAttachment,
    ReturnEvent,
    commentable_label,
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


def person(model, name):
    """A read-only user field as the person's name, without Django's link to the user's admin
    page: only national superusers may open that page for every user, anyone else gets 403."""

    @admin.display(description=model._meta.get_field(name).verbose_name)
    def display(self, obj):
        return getattr(obj, name) or self.get_empty_value_display()

    return display


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
    fields = ["download", "file_type", "size", "uploaded_by_name", "uploaded_at", "removed_at"]
    readonly_fields = fields
    uploaded_by_name = person(ReturnAttachment, "uploaded_by")

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.download_name)

    @admin.display(description=_("file type"))
    def file_type(self, obj):
        # PDF, JPG or PNG rather than the MIME type the content was recognised as.
        return ATTACHMENT_EXTENSIONS.get(obj.content_type, obj.content_type).upper()


class ReturnEventInline(ReadOnlyInline):
    model = ReturnEvent
    list_select_related = ["by"]
    fields = ["at", "action", "from_status", "to_status", "by_name", "comment", "comments_by_field"]
    readonly_fields = fields
    by_name = person(ReturnEvent, "by")

    @admin.display(description=_("comments on fields"))
    def comments_by_field(self, obj):
        # Stored as JSON {field code: comment}; shown as the questions' names and the comments.
        comments = obj.field_comments or {}
        if not comments:
            return self.get_empty_value_display()
        return format_html_join(
            "",
            "<p>{}：{}</p>",
            ((commentable_label(key), comment) for key, comment in comments.items()),
        )


# The "tick one or more" answers are JSON lists of codes: shown by their labels instead.
CHOICE_LISTS = {
    field.name: f"{field.name}_labels"
    for field in ProvincialReturn._meta.fields
    if isinstance(field, ChoiceListField)
}


def choice_list_display(name):
    """A read-only field of a "tick one or more" answer: its labels, not its JSON codes."""
    field = ProvincialReturn._meta.get_field(name)

    @admin.display(description=field.verbose_name)
    def display(self, obj):
        return field.display(getattr(obj, field.name)) or self.get_empty_value_display()

    return display


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
        (_("Attachment 1"), {"fields": [CHOICE_LISTS.get(f, f) for f in ATTACHMENT1_FIELDS]}),
        (_("Summary"), {"fields": list(SUMMARY_FIELDS)}),
        (
            _("Workflow"),
            {
                "fields": [
                    "status",
                    "first_submitted_at",
                    "submitted_at",
                    "is_late",
                    "attested_by_name",
                    "attested_at",
                    "version",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    inlines = [ReturnAttachmentInline, ReturnEventInline]
    announcement_methods_labels = choice_list_display("announcement_methods")
    type_approval_levels_labels = choice_list_display("type_approval_levels")
    licence_levels_labels = choice_list_display("licence_levels")
    reform_measures_labels = choice_list_display("reform_measures")
    attested_by_name = person(ProvincialReturn, "attested_by")

    def get_readonly_fields(self, request, obj=None):
        return [
            *(field.name for field in self.model._meta.fields),
            *CHOICE_LISTS.values(),
            "attested_by_name",
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
