"""Sign-in security receivers: the security log, the session table, ending sessions.

Connected in AccountsConfig.ready().
"""

import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.sessions.models import Session
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import User, UserSession
from accounts.security import LOGIN_AT, SEEN_AT, end_sessions_of, security_event


@receiver(user_logged_in, dispatch_uid="accounts.security.logged_in")
def on_logged_in(sender, request, user, **kwargs):
    security_event("login", request=request, user=user)
    session = getattr(request, "session", None)
    if session is None:
        return
    now = int(time.time())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    if session.session_key is None:
        session.save()
    # The user's rows whose session is gone (expired, flushed) are dropped here: bounded by
    # the user's own sign-ins, with no sweep over the whole session table.
    keys = set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    if keys:
        live = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
        stale = keys - set(live.values_list("session_key", flat=True))
        UserSession.objects.filter(session_key__in=stale).delete()
    UserSession.objects.update_or_create(session_key=session.session_key, defaults={"user": user})


@receiver(user_logged_out, dispatch_uid="accounts.security.logged_out")
def on_logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()
    if user is not None and not getattr(request, "security_logout_logged", False):
        security_event("logout", request=request, user=user)


@receiver(user_login_failed, dispatch_uid="accounts.security.login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"))
    security_event("login_failed", request=request, username=str(username or ""))


@receiver(user_locked_out, dispatch_uid="accounts.security.locked_out")
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    security_event(
        "locked_out",
        request=request,
        username=str(username or ""),
        minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    )


@receiver(post_save, sender=User, dispatch_uid="accounts.security.deactivated")
def on_user_saved(sender, instance, created, **kwargs):
    # Every save of an inactive account ends its sessions: one indexed query on the session
    # table of this user, which is empty unless the account was just deactivated. (A changed
    # password needs nothing here: Django refuses a session whose password hash is stale.)
    if not created and not instance.is_active:
        end_sessions_of(instance, reason="deactivated")


@receiver(pre_delete, sender=User, dispatch_uid="accounts.security.deleted")
def on_user_deleted(sender, instance, **kwargs):
    end_sessions_of(instance, reason="deleted")
