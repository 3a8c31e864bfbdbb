"""E-mail about a return's workflow, sent through Django's e-mail backend after the commit.

Submissions go to the department's reviewers; returns and acceptances to the province's
system administrators. One message per recipient, so addresses are not shared.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import PROVINCIAL_ADMIN, REVIEWER
from verification.models import commentable_label


def reviewer_addresses() -> list[str]:
    return _addresses(get_user_model().objects.filter(groups__name=REVIEWER))


def province_admin_addresses(province) -> list[str]:
    return _addresses(
        get_user_model().objects.filter(province=province, groups__name=PROVINCIAL_ADMIN)
    )


def _addresses(users) -> list[str]:
    return sorted(
        set(users.filter(is_active=True).exclude(email="").values_list("email", flat=True))
    )


def absolute_url(path: str) -> str:
    """The link a mail client can follow: SITE_URL and the path."""
    return f"{settings.SITE_URL}{path}"


def _context(provincial_return) -> dict:
    campaign = provincial_return.campaign
    return {
        "province": provincial_return.province.name,
        "notice": campaign.notice_number,
        "title": campaign.title,
        "deadline": campaign.return_deadline.isoformat(),
        "link": absolute_url(provincial_return.get_absolute_url()),
    }


def _send(recipients, subject: str, lines: list[str]) -> int:
    if not recipients:
        return 0
    body = "\n\n".join(lines) + "\n"
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    return get_connection().send_messages(messages) or 0


def _comment_lines(event) -> list[str]:
    lines = []
    if event.comment:
        lines.append(gettext("Comment: %(comment)s") % {"comment": event.comment})
    for name, text in event.field_comments.items():
        lines.append(
            gettext("%(field)s: %(comment)s") % {"field": commentable_label(name), "comment": text}
        )
    return lines


def notify_submitted(provincial_return, *, late: bool) -> int:
    """Tell the reviewers that a province submitted (or resubmitted) its return."""
    with translation.override(settings.LANGUAGE_CODE):
        context = _context(provincial_return)
        lines = [
            gettext(
                "%(province)s has submitted its return for the campaign %(notice)s (%(title)s)."
            )
            % context
        ]
        if late:
            lines.append(
                gettext(
                    "It was submitted after the return deadline %(deadline)s and is marked late."
                )
                % context
            )
        lines.append(gettext("Review the return: %(link)s") % context)
        subject = gettext("%(province)s submitted its return for %(notice)s") % context
        return _send(reviewer_addresses(), subject, lines)


def notify_returned(provincial_return, *, event) -> int:
    """Tell the province's system administrators that the return came back for revision."""
    with translation.override(settings.LANGUAGE_CODE):
        context = _context(provincial_return)
        lines = [
            gettext(
                "The Metrology Department has sent the return of %(province)s for the "
                "campaign %(notice)s (%(title)s) back for revision."
            )
            % context,
            *_comment_lines(event),
            gettext("Revise and resubmit the return: %(link)s") % context,
        ]
        subject = gettext("The return of %(province)s for %(notice)s was sent back") % context
        return _send(province_admin_addresses(provincial_return.province), subject, lines)


def notify_accepted(provincial_return, *, event) -> int:
    """Tell the province's system administrators that the return was accepted."""
    with translation.override(settings.LANGUAGE_CODE):
        context = _context(provincial_return)
        lines = [
            gettext(
                "The Metrology Department has accepted the return of %(province)s for the "
                "campaign %(notice)s (%(title)s)."
            )
            % context,
            *_comment_lines(event),
            gettext("The return: %(link)s") % context,
        ]
        subject = gettext("The return of %(province)s for %(notice)s was accepted") % context
        return _send(province_admin_addresses(provincial_return.province), subject, lines)


def notify_reopened(provincial_return, *, event) -> int:
    """Tell the province's system administrators that an accepted return was reopened."""
    with translation.override(settings.LANGUAGE_CODE):
        context = _context(provincial_return)
        lines = [
            gettext(
                "The Metrology Department has reopened the accepted return of %(province)s for "
                "the campaign %(notice)s (%(title)s)."
            )
            % context,
            gettext("Reason: %(reason)s") % {"reason": event.comment},
            gettext("Revise and resubmit the return: %(link)s") % context,
        ]
        subject = gettext("The return of %(province)s for %(notice)s was reopened") % context
        return _send(province_admin_addresses(provincial_return.province), subject, lines)


def unit_addresses(province) -> list[str]:
    """Who a reminder goes to: the unit's current Attachment 2 and its provincial administrators."""
    from verification.models import SystemAdministrator

    addresses = set(province_admin_addresses(province))
    current = SystemAdministrator.objects.in_province(province).current()
    if current is not None and current.email:
        addresses.add(current.email)
    return sorted(addresses)


def notify_reminders(campaign, units) -> int:
    """Remind each unit (verification.services.RemindableUnit) to start or submit its return."""
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for unit in units:
            context = {
                "province": unit.province.name,
                "notice": campaign.notice_number,
                "title": campaign.title,
                "deadline": campaign.return_deadline.isoformat(),
            }
            if unit.provincial_return is None:
                first = gettext(
                    "%(province)s has not started its return for the campaign %(notice)s "
                    "(%(title)s), due by %(deadline)s."
                )
            else:
                first = gettext(
                    "%(province)s has not submitted its return for the campaign %(notice)s "
                    "(%(title)s), which was due by %(deadline)s."
                )
            lines = [
                first % context,
                gettext(
                    "Please complete the return and submit it with the stamped scan as soon as "
                    "possible."
                ),
            ]
            if unit.provincial_return is not None:
                lines.append(
                    gettext("The return: %(link)s")
                    % {"link": absolute_url(unit.provincial_return.get_absolute_url())}
                )
            subject = gettext("Reminder: the return of %(province)s for %(notice)s") % context
            sent += _send(unit_addresses(unit.province), subject, lines)
    return sent
