"""Settings for the licence system, read from the environment.

Production differs from development only by environment values: DEBUG, SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL and the e-mail variables.
"""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import csp.constants
import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.envfile import load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean; anything but the usual spellings is a configuration error."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


# `make run` writes a development .env (DEBUG=true and a generated SECRET_KEY), so that the
# README's commands work in that folder as written. A process whose environment sets DEBUG
# off (production, the test suite) never reads it: config/envfile.py.
load_env_file(Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env"))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: DEBUG is on, so a fixed key is acceptable.
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "simple_history",
    "accounts.axes_app.AxesConfig",  # django-axes, with a Chinese name
    "accounts",
    "licensing",
    "verification",
    "reports",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Headers of every page, error pages included (see "Security headers" below): outside
    # CommonMiddleware, whose refusal of an unknown host (400) the inner ones never see.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside authentication, so it sees who the response is for.
    "config.middleware.private_pages",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Sign-in security (accounts/middleware.py): idle and absolute session limits (after
    # messages, so the "signed out" notice can be shown), security log of refused requests.
    "accounts.middleware.SessionLimitsMiddleware",
    # Last: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# No DATABASE_URL means the embedded SQLite file; postgres://… means PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite allows one writer at a time. By default a transaction starts as a reader and is
    # refused outright ("database is locked", an HTTP 500) when it later tries to write while
    # another transaction writes. IMMEDIATE takes the write lock at BEGIN, so a second
    # decision waits its turn (up to `timeout` seconds) and then meets the version check
    # (ConcurrentChange, HTTP 409), as on PostgreSQL. WAL lets pages be read while someone
    # writes; synchronous=NORMAL is WAL's usual pairing: the file stays consistent, and a
    # power cut (not a crash of the process) can lose only the last commits.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        # Seconds a write waits for the lock; below gunicorn's 30 s worker timeout.
        "timeout": env_int("SQLITE_TIMEOUT", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    # Tests run on a file too: an in-memory database locks differently (no busy wait, no WAL),
    # so only a file behaves as the embedded default does. One file per process, so runs in
    # parallel don't share it; the test runner deletes it at the end.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"metrology-licences-test-{os.getpid()}.sqlite3")
    }

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the register's counting queries (findings, the board) cost just
    # above PostgreSQL's jit_above_cost, and compiling them took 50-200 ms of a 0.5 s query
    # that runs once; a web application's queries gain nothing from it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploaded return attachments: outside STATIC_ROOT and any MEDIA_URL, handed out only by a view
# that checks the user may see the return.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT") or BASE_DIR / "private-media")
# `manage.py backup` (make backup) writes here: the database and PRIVATE_MEDIA_ROOT in one file.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR") or BASE_DIR / "backups")
RETURN_ATTACHMENT_MAX_BYTES = env_int("RETURN_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)

# Licence-list imports (DESIGN.md §4): the largest upload accepted; bigger uploads are dropped
# while they are received, before any reader sees them.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)

# Register exports (licensing/export_views.py): an export of more rows than this is written by
# a background job (a process of its own, outliving the request), with a progress page; the
# files of jobs older than EXPORT_JOB_KEEP_DAYS days are deleted by `manage.py purge_export_jobs`.
EXPORT_BACKGROUND_ROWS = env_int("EXPORT_BACKGROUND_ROWS", 100_000)
EXPORT_JOB_KEEP_DAYS = env_int("EXPORT_JOB_KEEP_DAYS", 7)

LOGIN_URL = "admin:login"

# Sign-in security (README "Sign-in security"). django-axes locks a user name out after
# AXES_FAILURE_LIMIT failed sign-ins from one address, for AXES_COOLOFF_MINUTES; by user name
# and address together, so one person behind a bureau's shared address does not lock out the
# whole bureau. Its backend must come first: it refuses a locked-out sign-in before any check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address as the public list's rate limit sees it (RATELIMIT_IP_META_KEY below).
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_address"
# The project's own Chinese page (429, saying when to try again), not axes' English text.
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
# Lockouts are lifted with `manage.py axes_reset_username NAME`; the attempt tables are not in
# the admin, where provincial users would need them kept out of their scope.
AXES_ENABLE_ADMIN = False
# No "AXES: BEGIN …" line on every manage.py command.
AXES_VERBOSE = False
# Sessions: ended after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
# sign-in (accounts/middleware.py), and when the browser closes. The middleware refreshes the
# session's expiry at most once a minute (SESSION_SAVE_EVERY_REQUEST would write it on every
# request); the stored expiry keeps that minute of margin, the middleware enforces the limit.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 8)
SESSION_REFRESH_SECONDS = 60
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60 + SESSION_REFRESH_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The cache: the public list's pages (reports/public_views.py) and its per-address request
# counts. Files under CACHE_DIR are shared by every gunicorn process of the machine without
# Redis or memcached. Every write lists the directory to cull it beyond MAX_ENTRIES, so the
# bound stays modest. With several app servers, CACHE_BACKEND=database keeps it in a table of
# the shared database instead (`make serve` creates it), so one request count covers them all.
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or BASE_DIR / "cache")
CACHE_BACKEND = os.environ.get("CACHE_BACKEND", "file").strip().lower()
if CACHE_BACKEND not in {"file", "database"}:
    raise ImproperlyConfigured(f"CACHE_BACKEND must be file or database, got {CACHE_BACKEND!r}")
CACHES = {
    "default": {
        "BACKEND": (
            "django.core.cache.backends.filebased.FileBasedCache"
            if CACHE_BACKEND == "file"
            else "django.core.cache.backends.db.DatabaseCache"
        ),
        "LOCATION": str(CACHE_DIR) if CACHE_BACKEND == "file" else "django_cache",
        "TIMEOUT": 300,
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 10000)},
    }
}

# The public list (no login): how long a page is served from the cache, and how many requests
# one address may make (django-ratelimit's "N/period", e.g. 60/m; "off" for benchmarks), in the
# shared cache above. Its file backend counts by reading then writing, so under concurrent
# requests a few increments may be lost: enough to stop a scraper, not an exact quota; the
# library's system check that says so is not registered (it is not an installed app).
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 120)
PUBLIC_RATE_LIMIT = os.environ.get("PUBLIC_RATE_LIMIT", "60/m").strip()
if PUBLIC_RATE_LIMIT.lower() == "off":
    PUBLIC_RATE_LIMIT = None
elif not re.fullmatch(r"[0-9]+/[0-9]*[smhd]", PUBLIC_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"PUBLIC_RATE_LIMIT must be a rate such as 60/m or 1000/h, or off; got {PUBLIC_RATE_LIMIT!r}"
    )
RATELIMIT_USE_CACHE = "default"
# A full or failing cache must not shut the public out.
RATELIMIT_FAIL_OPEN = True
# Behind a proxy every request comes from the proxy's address: name the request header that
# the proxy sets to the client's address (and overwrites if a client sends it), as Django's
# META key, e.g. HTTP_X_REAL_IP. Empty: REMOTE_ADDR.
RATELIMIT_IP_META_KEY = os.environ.get("RATELIMIT_IP_META_KEY") or None

# Findings of the special verification: an announcement published more than this many calendar
# days after the licensing decision is reported as late.
ANNOUNCEMENT_MAX_DELAY_DAYS = env_int("ANNOUNCEMENT_MAX_DELAY_DAYS", 20)

# E-mail: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "licences@localhost")
# The address the system is reached at, for the links in e-mails (a mail client cannot follow
# a path alone). Default: the development server with DEBUG, else https:// and the first host.
SITE_URL = os.environ.get("SITE_URL") or (
    "http://127.0.0.1:8000"
    if DEBUG
    else f"https://{ALLOWED_HOSTS[0]}"
    if ALLOWED_HOSTS and ALLOWED_HOSTS[0] not in ("*", "")
    else ""
).rstrip("/")

# Security: strict unless DEBUG is on.
# Behind a TLS-terminating proxy Django sees plain HTTP; the proxy says the client used HTTPS in
# a header it sets (and overwrites when a client sends it): "META_KEY,value", as Django names the
# header, or "off" when clients reach gunicorn directly (then a client cannot claim HTTPS).
_proxy_ssl_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https")
if _proxy_ssl_header.strip().lower() in {"", "off", "false", "no", "0"}:
    SECURE_PROXY_SSL_HEADER = None
elif re.fullmatch(r"HTTP_[A-Z0-9_]+,[^,\s]+", _proxy_ssl_header.strip()):
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header.strip().split(","))
else:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER must be a header and its value, such as "
        f"HTTP_X_FORWARDED_PROTO,https, or off; got {_proxy_ssl_header!r}"
    )
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"  # register URLs (search terms, ids) stay on the site
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Security headers (README "Production"). Content-Security-Policy (django-csp): scripts
# and style sheets from the site's own static files only: no inline script, no eval, no other
# origin. The only inline <style> elements are the charts' (pygal writes its CSS into the SVG;
# reports/charts.py gives them the response's nonce), and style attributes are refused too:
# the admin's own scripts set styles through the DOM, which a policy does not restrict.
# Nothing may frame the site, and forms post to it only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.NONE],
        "script-src": [csp.constants.SELF],
        "style-src": [csp.constants.SELF, csp.constants.NONCE],
        "img-src": [csp.constants.SELF],
        "font-src": [csp.constants.SELF],
        "connect-src": [csp.constants.SELF],
        "manifest-src": [csp.constants.SELF],
        "form-action": [csp.constants.SELF],
        "frame-ancestors": [csp.constants.NONE],
        "base-uri": [csp.constants.NONE],
        "object-src": [csp.constants.NONE],
    }
}
# Permissions-Policy (config/middleware.py): browser features the register never uses, off for
# its pages and anything they might embed.
PERMISSIONS_POLICY_DISABLED = [
    "accelerometer",
    "autoplay",
    "bluetooth",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]

# django-simple-history: history is an audit trail, never a way to roll data back.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# django-import-export: exporting needs the model's "export" permission.
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Security events (accounts/security.py): sign-ins, failed sign-ins, lockouts, refused
    # imports, denied accesses; one line each, "security event=… user=… address=…". They go
    # to the root's console handler; README "Sign-in security" shows how to add a file.
    # django-axes' own lines below WARNING (one per sign-in request) are left out.
    "loggers": {"licences.security": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
