"""Session limits and the security log of refused requests.

A signed-in session ends SESSION_IDLE_MINUTES after its last request and SESSION_MAX_HOURS
after sign-in, whatever happens in between; the next request is sent to the sign-in page with
a message saying why. The last-seen time is written back at most once a SESSION_REFRESH_SECONDS
(a session save is a database write: SESSION_SAVE_EVERY_REQUEST would make one on every page).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import resolve_url
from django.utils.translation import gettext, ngettext

from accounts.security import LOGIN_AT, SEEN_AT, security_event


def session_end_reason(session, now: float) -> str | None:
    """Why the signed-in ``session`` must end at ``now`` (epoch seconds), or None."""
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        # Signed in before these limits existed, or by something that bypassed login():
        # its age is unknown, so it is not trusted.
        return "unknown_age"
    if now - login_at > settings.SESSION_MAX_HOURS * 3600:
        return "max_age"
    if now - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return "idle"
    return None


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and user is not None and user.is_authenticated:
            now = time.time()
            reason = session_end_reason(session, now)
            if reason:
                return self._sign_out(request, reason)
            if now - session[SEEN_AT] >= settings.SESSION_REFRESH_SECONDS:
                # Marks the session modified: SessionMiddleware saves it with a new expiry.
                session[SEEN_AT] = int(now)
        return self.get_response(request)

    def _sign_out(self, request, reason):
        security_event("session_expired", request=request, reason=reason)
        request.security_logout_logged = True
        logout(request)
        if reason == "max_age":
            hours = settings.SESSION_MAX_HOURS
            text = ngettext(
                "You were signed out %(hours)d hour after signing in. Please sign in again.",
                "You were signed out %(hours)d hours after signing in. Please sign in again.",
                hours,
            ) % {"hours": hours}
        elif reason == "unknown_age":
            text = gettext("Your session has ended. Please sign in again.")
        else:
            minutes = settings.SESSION_IDLE_MINUTES
            text = ngettext(
                "You were signed out after %(minutes)d minute without activity. Please sign in again.",
                "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
                minutes,
            ) % {"minutes": minutes}
        messages.warning(request, text, fail_silently=True)
        return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))

    def process_exception(self, request, exception):
        # Every refusal of a signed-in or anonymous request that ends in Django's 403 page.
        if isinstance(exception, PermissionDenied):
            security_event("access_denied", request=request, reason=str(exception) or "-")
        return None
