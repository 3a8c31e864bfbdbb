"""Settings for the licence system, read from the environment.

Production differs from development only by environment values: DEBUG, SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL and the e-mail variables.
"""

import os
import re
import tempfile
from pathlib import Path

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
    "accounts",
    "licensing",
    "verification",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside authentication, so it sees who the response is for.
    "config.middleware.private_pages",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
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
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
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
STATIC_ROOT = BASE_DIR / "staticfiles"
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

# The cache: the public list's pages (reports/public_views.py) and its per-address request
# counts. Files under CACHE_DIR are shared by every gunicorn process of the machine without
# Redis or memcached (several machines would need a shared directory). Every write lists the
# directory to cull it beyond MAX_ENTRIES, so the bound stays modest.
CACHE_DIR = Path(os.environ.get("CACHE_DIR") or BASE_DIR / "cache")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(CACHE_DIR),
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

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
}
