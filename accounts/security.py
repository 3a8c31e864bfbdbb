"""Sign-in security: the security log, the client's address, the lockout page, session ends.

Security events go to the "licences.security" logger, one line each:
``security event=login_failed user='sd_admin' address=203.0.113.7 path=/admin/login/ …``
(README "Sign-in security" says where the lines go and how to keep them in a file).
"""

import logging
import math

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger("licences.security")

# Session keys of the middleware (accounts/middleware.py): epoch seconds.
LOGIN_AT = "_security_login_at"
SEEN_AT = "_security_seen_at"


def client_address(request) -> str | None:
    """The client's address: the header RATELIMIT_IP_META_KEY names behind a proxy, else
    REMOTE_ADDR; the same address the public list's rate limit counts by."""
    if request is None:
        return None
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None)
    address = request.META.get(key) if key else None
    return (address or request.META.get("REMOTE_ADDR") or "").strip() or None


def security_event(event: str, *, request=None, user=None, username=None, **details) -> None:
    """Log one security event: what, who, from where, when (the log record's own time, and
    ``at`` in UTC so a line read on its own is complete)."""
    if username is None and user is not None:
        username = user.get_username()
    if username is None and request is not None:
        signed_in = getattr(request, "user", None)
        if signed_in is not None and signed_in.is_authenticated:
            username = signed_in.get_username()
    fields = {
        "event": event,
        "user": username or "-",
        "address": client_address(request) or "-",
        "at": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if request is not None and request.method:  # not the stand-in request of force_login
        fields["method"] = request.method
        fields["path"] = request.path
    fields.update(details)
    # repr() for free text: a user name or reason cannot forge a second field or line.
    message = " ".join(
        f"{name}={value!r}"
        if isinstance(value, str) and name not in ("event", "at", "method")
        else f"{name}={value}"
        for name, value in fields.items()
    )
    logger.info("security %s", message, extra={"security": fields})


# --- The lockout page ---------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' lockout answer: the project's Chinese page, 429 with Retry-After.

    Every failed attempt, even during the lockout, restarts the cool-off
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT, axes' default), so the lockout ends
    AXES_COOLOFF_TIME after this attempt.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    attempt_time = getattr(request, "axes_attempt_time", None) or timezone.now()
    until = timezone.localtime(attempt_time + cool_off)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    # Rendered here: axes' middleware is the innermost, after the others' template rendering.
    response = render(
        request,
        "accounts/locked_out.html",
        {"until": until, "minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


# --- Ending a user's sessions -------------------------------------------------------------


def end_sessions_of(user, *, reason: str, request=None) -> int:
    """Delete every session of ``user`` (known by the UserSession table), now."""
    from accounts.models import UserSession

    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if not keys:
        return 0
    with transaction.atomic():
        ended, _ = Session.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(user=user).delete()
    if ended:
        security_event(
            "sessions_ended",
            request=request,
            username=user.get_username(),
            reason=reason,
            sessions=ended,
        )
    return ended


def log_hidden_object(request, model, pk) -> None:
    """Log a request for an object the user's scope hides (another province's), once it is
    known to exist; a mistyped id of no object is not a security event."""
    try:
        exists = model._base_manager.filter(pk=pk).exists()
    except (ValueError, TypeError, ValidationError):
        return
    if exists:
        security_event("object_denied", request=request, object=model._meta.label, id=str(pk))
