"""The three roles of DESIGN.md §2, as group names."""

from django.utils.translation import gettext_lazy as _

DATA_ENTRY = "省级录入员"
PROVINCIAL_ADMIN = "省级系统管理员"
REVIEWER = "计量司审核员"

PROVINCIAL_GROUPS = (DATA_ENTRY, PROVINCIAL_ADMIN)

ROLE_LABELS = {
    DATA_ENTRY: _("Provincial data entry"),
    PROVINCIAL_ADMIN: _("Provincial system administrator"),
    REVIEWER: _("Department reviewer"),
}
