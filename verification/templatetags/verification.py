"""What the admin's index shows of the special verification."""

from django import template

from verification.models import Campaign
from verification.selectors import campaign_entries

register = template.Library()


@register.simple_tag(takes_context=True)
def open_campaigns(context):
    """The open campaigns, each with the user's province's return or, for reviewers, counts."""
    user = context["request"].user
    return campaign_entries(user=user, campaigns=Campaign.objects.open())
