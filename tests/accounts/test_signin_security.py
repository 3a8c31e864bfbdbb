"""Sign-in security (issue 11, scope 2): lockout, password length, session limits, the security log.

django-axes stays on: sign-ins go through the real form (tests/accounts/signin.py).
"""

import logging
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from accounts.models import UserSession
from accounts.security import LOGIN_AT, SEEN_AT
from licensing.management.commands.seed_demo import DEMO_USERS
from tests.accounts.signin import sign_in
from tests.conftest import PASSWORD

LOGIN = "/admin/login/"
HOME = "/admin/"
BUREAU = "203.0.113.7"  # one bureau's shared address
ELSEWHERE = "198.51.100.9"


@pytest.fixture
def admin_client_sd(client, shandong_admin):
    client.force_login(shandong_admin)
    return client


def in_chinese(msgid):
    """The page's text: the Chinese catalogue's (tests/test_translations.py checks it is there)."""
    with translation.override("zh-hans"):
        return gettext(msgid)


def post_login(client, username, password, address=BUREAU):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address=BUREAU):
    return [post_login(client, username, "wrong-password-123", address) for _ in range(times)]


def security_lines(caplog, event=None):
    return [
        record.security
        for record in caplog.records
        if record.name == "licences.security"
        and (event is None or record.security["event"] == event)
    ]


# --- Lockout ------------------------------------------------------------------------------


def test_wrong_passwords_lock_the_user_name_out_with_a_chinese_page(
    client, shandong_clerk, settings
):
    responses = fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT)

    # The failures below the limit get the form again; the one reaching it the lockout page.
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    locked = responses[-1]
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(settings.AXES_COOLOFF_MINUTES * 60)
    page = locked.content.decode()
    assert f"<h1>{in_chinese('Sign-in locked')}</h1>" in page
    assert in_chinese("Licence system for key-managed measuring instruments") in page
    assert "Django" not in page.split("</header>")[0]
    until = timezone.localtime(timezone.now() + settings.AXES_COOLOFF_TIME)
    assert until.strftime("%H:") in page  # when to try again, as a local time
    assert "Account locked" not in page and "too many login attempts" not in page

    # The right password is refused as well while the lockout lasts.
    right = post_login(client, "sd_clerk", PASSWORD)
    assert right.status_code == 429
    assert SESSION_KEY not in client.session


def test_fewer_failures_than_the_limit_do_not_lock(client, shandong_clerk, settings):
    fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT - 1)

    assert sign_in(client, "sd_clerk", PASSWORD, REMOTE_ADDR=BUREAU)
    # A success starts the count again (AXES_RESET_ON_SUCCESS).
    assert not AccessAttempt.objects.filter(username="sd_clerk").exists()


def test_a_second_user_and_another_address_are_not_locked(
    client, shandong_clerk, shandong_admin, settings
):
    fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT)
    assert post_login(Client(), "sd_clerk", PASSWORD).status_code == 429

    # Another user name behind the same bureau address signs in.
    assert sign_in(Client(), "sd_admin", PASSWORD, REMOTE_ADDR=BUREAU)
    # The locked user name itself, from another address, too: only name AND address is locked.
    assert sign_in(Client(), "sd_clerk", PASSWORD, REMOTE_ADDR=ELSEWHERE)


def test_the_lockout_ends_after_the_cool_off(client, shandong_clerk, settings):
    fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT)
    assert post_login(client, "sd_clerk", PASSWORD).status_code == 429

    # Just before the cool-off is over: still locked (that attempt restarts the wait).
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(minutes=1)
    )
    assert post_login(client, "sd_clerk", PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert sign_in(client, "sd_clerk", PASSWORD, REMOTE_ADDR=BUREAU)


def test_the_proxy_header_names_the_address_when_configured(shandong_clerk, settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    # Behind the proxy every request has the proxy's REMOTE_ADDR; the header tells clients apart.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            LOGIN,
            {"username": "sd_clerk", "password": "wrong-password-123"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_REAL_IP=BUREAU,
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {BUREAU}
    assert sign_in(Client(), "sd_clerk", PASSWORD, REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP=ELSEWHERE)


def test_an_administrator_lifts_a_lockout_with_the_command(client, shandong_clerk, settings):
    from django.core.management import call_command

    fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT)
    call_command("axes_reset_username", "sd_clerk", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert sign_in(client, "sd_clerk", PASSWORD, REMOTE_ADDR=BUREAU)


# --- Passwords ----------------------------------------------------------------------------


def test_passwords_need_twelve_characters():
    with pytest.raises(ValidationError) as refused:
        validate_password("Qx7!vLp2#Rz")  # 11 characters, otherwise strong
    assert [error.code for error in refused.value.error_list] == ["password_too_short"]
    validate_password("Qx7!vLp2#Rzw")


@pytest.mark.parametrize("password", [row[1] for row in DEMO_USERS] + [PASSWORD])
def test_demo_and_test_passwords_meet_the_rules(password):
    validate_password(password)


# --- Sessions -----------------------------------------------------------------------------


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)  # login(): the signal stores the sign-in time
    return client


def move_session_times(client, *, login_ago: float, seen_ago: float):
    session = client.session
    now = time.time()
    session[LOGIN_AT] = now - login_ago
    session[SEEN_AT] = now - seen_ago
    session.save()


def test_sessions_end_when_the_browser_closes_and_after_idle_minutes(settings):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_MAX_HOURS == 8


def test_a_session_idle_for_longer_than_the_limit_ends(shandong_clerk, settings, caplog):
    client = signed_in_client(shandong_clerk)
    move_session_times(client, login_ago=3600, seen_ago=settings.SESSION_IDLE_MINUTES * 60 - 30)
    assert client.get(HOME).status_code == 200  # 29½ minutes idle: still signed in

    move_session_times(client, login_ago=3600, seen_ago=settings.SESSION_IDLE_MINUTES * 60 + 1)
    with caplog.at_level(logging.INFO, logger="licences.security"):
        response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=/admin/")
    assert SESSION_KEY not in client.session
    login_page = client.get(response["Location"]).content.decode()
    idle = ngettext(
        "You were signed out after %(minutes)d minute without activity. Please sign in again.",
        "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
        30,
    )
    assert in_chinese(idle) % {"minutes": 30} in login_page
    assert [line["reason"] for line in security_lines(caplog, "session_expired")] == ["idle"]


def test_a_session_ends_hours_after_sign_in_however_busy(shandong_clerk, settings):
    client = signed_in_client(shandong_clerk)
    move_session_times(client, login_ago=settings.SESSION_MAX_HOURS * 3600 + 1, seen_ago=5)

    response = client.get(HOME)

    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages and "8" in messages[0]
    assert client.get(HOME).status_code == 302


def test_a_session_without_its_sign_in_time_is_not_trusted(shandong_clerk):
    client = signed_in_client(shandong_clerk)
    session = client.session
    del session[LOGIN_AT]
    session.save()

    assert client.get(HOME).status_code == 302


def test_the_idle_clock_is_written_at_most_once_a_minute(shandong_clerk, settings):
    """The cost SESSION_SAVE_EVERY_REQUEST would have: one session write per page."""
    client = signed_in_client(shandong_clerk)
    client.get(HOME)
    with CaptureQueriesContext(connection) as queries:
        client.get(HOME)
    writes = [q["sql"] for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert writes == []

    move_session_times(client, login_ago=600, seen_ago=settings.SESSION_REFRESH_SECONDS + 1)
    before = Session.objects.get(session_key=client.session.session_key).expire_date
    with CaptureQueriesContext(connection) as queries:
        client.get(HOME)
    writes = [q["sql"] for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(writes) == 1
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.expire_date > before
    assert time.time() - client.session[SEEN_AT] < 60


# --- Ending a user's sessions --------------------------------------------------------------


def test_deactivating_a_user_ends_all_its_sessions(admin_client_sd, shandong_clerk, caplog):
    browsers = [signed_in_client(shandong_clerk) for _ in range(2)]
    keys = [b.session.session_key for b in browsers]
    assert Session.objects.filter(session_key__in=keys).count() == 2
    assert UserSession.objects.filter(user=shandong_clerk).count() == 2

    with caplog.at_level(logging.INFO, logger="licences.security"):
        shandong_clerk.is_active = False
        shandong_clerk.save()

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=shandong_clerk).exists()
    for browser in browsers:
        response = browser.get(HOME)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    [line] = security_lines(caplog, "sessions_ended")
    assert line["user"] == "sd_clerk" and line["reason"] == "deactivated" and line["sessions"] == 2


def test_deleting_a_user_ends_its_sessions(shandong_clerk):
    browser = signed_in_client(shandong_clerk)
    key = browser.session.session_key

    shandong_clerk.delete()

    assert not Session.objects.filter(session_key=key).exists()


def test_a_new_password_set_by_an_administrator_ends_the_sessions(shandong_clerk):
    browser = signed_in_client(shandong_clerk)
    shandong_clerk.set_password("a-brand-new-password-2026")
    shandong_clerk.save()

    # Django refuses a session made with the old password's hash.
    assert browser.get(HOME).status_code == 302


def test_sign_out_and_expired_sessions_leave_no_rows(shandong_clerk):
    client = Client()
    assert sign_in(client, "sd_clerk", PASSWORD)
    assert UserSession.objects.filter(user=shandong_clerk).count() == 1
    client.post("/admin/logout/")
    assert not UserSession.objects.filter(user=shandong_clerk).exists()

    stale = signed_in_client(shandong_clerk)
    Session.objects.filter(session_key=stale.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert sign_in(Client(), "sd_clerk", PASSWORD)
    assert UserSession.objects.filter(user=shandong_clerk).count() == 1


# --- The security log ---------------------------------------------------------------------


def test_sign_ins_failures_and_lockouts_are_logged(client, shandong_clerk, settings, caplog):
    with caplog.at_level(logging.INFO, logger="licences.security"):
        fail(client, "sd_clerk", settings.AXES_FAILURE_LIMIT)
        assert sign_in(Client(), "sd_clerk", PASSWORD, REMOTE_ADDR=ELSEWHERE)

    failed = security_lines(caplog, "login_failed")
    assert len(failed) == settings.AXES_FAILURE_LIMIT
    assert {(f["user"], f["address"], f["path"]) for f in failed} == {("sd_clerk", BUREAU, LOGIN)}
    [locked] = security_lines(caplog, "locked_out")
    assert (locked["user"], locked["address"]) == ("sd_clerk", BUREAU)
    [login] = security_lines(caplog, "login")
    assert (login["user"], login["address"]) == ("sd_clerk", ELSEWHERE)
    # One line each, with what, who, where from and when.
    text = [r.getMessage() for r in caplog.records if r.name == "licences.security"]
    assert text[0].startswith("security event=login_failed user='sd_clerk' address='203.0.113.7'")
    assert all(" at=20" in line for line in text)
    assert "wrong-password" not in " ".join(text)


def test_another_provinces_object_is_logged_as_denied(admin_client_sd, zhejiang, caplog):
    from licensing.factories import make_manufacturer

    other = make_manufacturer(zhejiang, 1)
    with caplog.at_level(logging.INFO, logger="licences.security"):
        assert (
            admin_client_sd.get(f"/admin/licensing/manufacturer/{other.pk}/change/").status_code
            == 404
        )
        # An id of no object at all is a mistake, not an attempt.
        assert (
            admin_client_sd.get("/admin/licensing/manufacturer/999999/change/").status_code == 404
        )

    [line] = security_lines(caplog, "object_denied")
    assert (line["user"], line["object"], line["id"]) == (
        "sd_admin",
        "licensing.Manufacturer",
        str(other.pk),
    )


def test_a_refused_page_is_logged(shandong_clerk, caplog):
    client = signed_in_client(shandong_clerk)
    with caplog.at_level(logging.INFO, logger="licences.security"):
        # A data-entry user may not delete: the admin raises PermissionDenied.
        response = client.get("/admin/accounts/user/")
    assert response.status_code == 403
    [line] = security_lines(caplog, "access_denied")
    assert line["user"] == "sd_clerk" and line["path"] == "/admin/accounts/user/"


def test_refused_and_rejected_imports_are_logged(shandong_clerk, settings, caplog):
    from tests.licensing.import_files import licence_rows, xlsx
    from tests.licensing.test_import_admin import two_bad_rows, upload

    client = signed_in_client(shandong_clerk)
    with caplog.at_level(logging.INFO, logger="licences.security"):
        upload(client, b"\x00not a spreadsheet" * 200, name="list.xlsx")  # the defences refuse it
        upload(client, xlsx(two_bad_rows()), name="bad.xlsx")  # read, rejected for its errors
        settings.IMPORT_MAX_UPLOAD_BYTES = 2000
        upload(client, xlsx(licence_rows(20)), name="big.xlsx")  # dropped while received

    refused = security_lines(caplog, "import_refused")
    assert [(line["user"], line["file"]) for line in refused] == [
        ("sd_clerk", "list.xlsx"),
        ("sd_clerk", "-"),
    ]
    assert refused[0]["reason"] and refused[1]["reason"] == "too_large"
    [rejected] = security_lines(caplog, "import_rejected")
    assert (rejected["user"], rejected["file"], rejected["errors"]) == ("sd_clerk", "bad.xlsx", 2)


def test_a_refused_import_confirmation_is_logged(shandong_clerk, caplog):
    client = signed_in_client(shandong_clerk)
    with caplog.at_level(logging.INFO, logger="licences.security"):
        client.post("/admin/licensing/licence/import/confirm/", {"token": "forged"})

    [line] = security_lines(caplog, "import_refused")
    assert (line["user"], line["reason"]) == ("sd_clerk", "bad_confirmation")


def test_the_attempt_tables_are_not_in_the_admin():
    """Lockouts are managed with manage.py axes_*; no role reaches axes' records in the admin."""
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    assert not [model for model in admin.site._registry if model._meta.app_label == "axes"]
    with pytest.raises(NoReverseMatch):
        reverse("admin:axes_accessattempt_changelist")
