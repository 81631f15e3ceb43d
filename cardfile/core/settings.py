"""Django settings for Cardfile, read once from the environment.

With no variable set this is the embedded default: an SQLite file in ./var/, local-memory cache,
files on local disk, debug off. Production sets DATABASE_URL (PostgreSQL), REDIS_URL,
CARDFILE_SECRET_KEY and CARDFILE_ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key(var_dir: Path) -> str:
    """The secret key from the environment, or one generated once and kept in ./var/."""
    if key := os.environ.get("CARDFILE_SECRET_KEY"):
        return key
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = get_random_secret_key() + get_random_secret_key()
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


# EMAIL_URL schemes: plain SMTP, SMTP over SSL, SMTP with STARTTLS (the submission port).
# scheme -> (default port, STARTTLS, SSL)
EMAIL_SCHEMES = {
    "smtp": (25, False, False),
    "smtps": (465, False, True),
    "smtp+tls": (587, True, False),
}


def email_settings_from_url(url: str) -> dict[str, Any]:
    """Django's EMAIL_ settings from ``smtp://user:password@host:port`` (``smtps://`` for SSL,
    ``smtp+tls://`` for STARTTLS); user and password are percent-decoded."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL has the scheme {parts.scheme!r}; expected one of "
            f"{', '.join(s + '://' for s in EMAIL_SCHEMES)} (smtp://user:password@host:port)."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL has no host (smtp://user:password@host:port).")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(
            "EMAIL_URL has a port that is not a number from 1 to 65535."
        ) from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            "EMAIL_URL has a path or query after the host; write smtp://user:password@host:port "
            "and choose TLS by the scheme (smtps:// or smtp+tls://)."
        )
    default_port, use_tls, use_ssl = EMAIL_SCHEMES[scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
    }


VAR_DIR = Path(os.environ.get("CARDFILE_VAR_DIR", Path.cwd() / "var")).resolve()

DEBUG = _env_bool("CARDFILE_DEBUG")
SECRET_KEY = _secret_key(VAR_DIR)
ALLOWED_HOSTS = _env_list("CARDFILE_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_htmx",
    "cardfile.core",
    "cardfile.metamodel",
    "cardfile.connectors",
    "cardfile.presets",
    "cardfile.web",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # the wizard on first start, the installation's language on UI pages (cardfile.web)
    "cardfile.web.installation.InstallationMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cardfile.metamodel.middleware.SchemaVersionMiddleware",
    # last, so it sees the lockout flag that signing in set on the request
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cardfile.core.urls"
WSGI_APPLICATION = "cardfile.core.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cardfile.web.ui.context.ui",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'cardfile.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing at once; IMMEDIATE makes a
    # write transaction take the lock at BEGIN, so two editors cannot both read a stale version.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if not os.environ.get("DATABASE_URL"):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Tests on SQLite use a file beside the database, not Django's shared-cache in-memory
    # database: there a second thread meets "table is locked" at once instead of waiting, and
    # the embedded default runs its jobs in a thread.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-cardfile.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cardfile",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How jobs (cardfile.core.jobs) run: "celery" sends a task to the workers (`cardfile worker`),
# "thread" runs it in a background thread of this process (the embedded default), "eager" runs
# it inline when the starting transaction commits (tests).
TASK_MODES = ("celery", "thread", "eager")
CARDFILE_TASK_MODE = os.environ.get("CARDFILE_TASK_MODE") or ("celery" if REDIS_URL else "thread")
if CARDFILE_TASK_MODE not in TASK_MODES:
    raise ImproperlyConfigured(
        f"CARDFILE_TASK_MODE is {CARDFILE_TASK_MODE!r}; expected one of {', '.join(TASK_MODES)}."
    )
if CARDFILE_TASK_MODE == "celery" and not REDIS_URL:
    raise ImproperlyConfigured("CARDFILE_TASK_MODE=celery needs REDIS_URL (the Celery broker).")
# A running job that has not reported progress for this long lost its worker: it may be claimed
# again (at most cardfile.core.jobs.MAX_ATTEMPTS runs in all). Handlers report more often.
CARDFILE_JOB_STALE_SECONDS = int(os.environ.get("CARDFILE_JOB_STALE_SECONDS", "600"))

# Outgoing messages (cardfile.core.deliveries): a failed send is tried again after
# BACKOFF, 2·BACKOFF, 4·BACKOFF ... seconds, MAX_ATTEMPTS times in all, then shows as failed. A
# send that has not finished after STALE seconds lost its worker and may be taken again.
CARDFILE_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("CARDFILE_DELIVERY_MAX_ATTEMPTS", "5"))
CARDFILE_DELIVERY_BACKOFF_SECONDS = int(os.environ.get("CARDFILE_DELIVERY_BACKOFF_SECONDS", "60"))
CARDFILE_DELIVERY_STALE_SECONDS = int(os.environ.get("CARDFILE_DELIVERY_STALE_SECONDS", "300"))

# Email: SMTP from EMAIL_URL; without it, messages are written as files to var/sent-mail/, so
# the embedded default "sends" without a mail server.
if _email_url := os.environ.get("EMAIL_URL", "").strip():
    _email = email_settings_from_url(_email_url)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    del _email
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "sent-mail"
EMAIL_TIMEOUT = int(os.environ.get("CARDFILE_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("CARDFILE_FROM_EMAIL", "cardfile@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery (cardfile/core/celery.py reads the CELERY_ names). A task is acknowledged only after it
# ran, and a worker takes one at a time, so a lost worker's job goes back to the queue.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Reminders (cardfile.metamodel.notify): scanned and their deliveries sent every INTERVAL seconds
# (by Celery beat; in the embedded default by a thread of the web server); a scan also takes in
# due moments up to LOOKBACK seconds before the previous scan (records written just after it).
CARDFILE_REMINDER_INTERVAL_SECONDS = int(os.environ.get("CARDFILE_REMINDER_INTERVAL_SECONDS", "60"))
CARDFILE_REMINDER_LOOKBACK_SECONDS = int(
    os.environ.get("CARDFILE_REMINDER_LOOKBACK_SECONDS", "86400")
)
CELERY_BEAT_SCHEDULE = {
    "cardfile-reminders": {
        "task": "cardfile.metamodel.run_reminders",
        "schedule": float(CARDFILE_REMINDER_INTERVAL_SECONDS),
    },
}
# The address of this installation as messages link to it (a record's card: <base>/r/...).
CARDFILE_BASE_URL = os.environ.get("CARDFILE_BASE_URL", "http://localhost:8000")

# Axes first: it refuses a locked-out name and address before the password is even tried.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): after this many failed sign-ins with one name from one
# address, that pair is refused for the cool-off, even with the right password. Other names
# from the address, and the name from other addresses, still sign in. The address is
# REMOTE_ADDR, which a client cannot forge (behind a proxy it is the proxy's address).
AXES_FAILURE_LIMIT = int(os.environ.get("CARDFILE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CARDFILE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "cardfile.web.api.authentication.lockout_response"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("CARDFILE_LANGUAGE", "en")
LANGUAGES = [
    ("en", "English"),
    ("ru", "Русский"),
    ("de", "Deutsch"),
    ("ar", "العربية"),
]
TIME_ZONE = os.environ.get("CARDFILE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [Path(__file__).resolve().parent.parent / "locale"]

# The installation's defaults for money and phone numbers; presets and the wizard set them.
CARDFILE_CURRENCY = os.environ.get("CARDFILE_CURRENCY", "EUR")
CARDFILE_PHONE_REGION = os.environ.get("CARDFILE_PHONE_REGION", "DE")

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages (Bootstrap with its RTL build, htmx, SortableJS, icons) come from npm at
# install time (`make assets`, package.json); nothing third-party is committed. Each package's
# distribution folder is served under vendor/<name>/; a missing one is reported by `check`.
ASSETS_DIR = Path(
    os.environ.get("CARDFILE_ASSETS_DIR", Path(__file__).resolve().parents[2] / "node_modules")
)
VENDOR_ASSETS = {
    "bootstrap": "bootstrap/dist",
    "bootstrap-icons": "bootstrap-icons/font",
    "htmx": "htmx.org/dist",
    "sortablejs": "sortablejs",
}
STATICFILES_DIRS = [
    (f"vendor/{name}", str(ASSETS_DIR / path))
    for name, path in VENDOR_ASSETS.items()
    if (ASSETS_DIR / path).is_dir()
]
LOGIN_URL = "ui:login"
LOGIN_REDIRECT_URL = "ui:home"
LOGOUT_REDIRECT_URL = "ui:login"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("CARDFILE_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # first, so an unauthenticated call gets 401 with a "Token" challenge, not 403
        "cardfile.web.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "cardfile.web.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CARDFILE_LOG_LEVEL", "WARNING")},
}

# TLS hardening: on by default in production (DATABASE_URL set), off in the embedded default,
# which serves plain HTTP on loopback. `manage.py check --deploy` is clean with it on.
CARDFILE_TLS = _env_bool("CARDFILE_TLS", bool(os.environ.get("DATABASE_URL")) and not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = _env_list("CARDFILE_CSRF_TRUSTED_ORIGINS")
if CARDFILE_TLS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("CARDFILE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("CARDFILE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("CARDFILE_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("CARDFILE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy, trust its X-Forwarded-Proto header.
    if _env_bool("CARDFILE_SECURE_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = _env_list("CARDFILE_SILENCED_CHECKS")
