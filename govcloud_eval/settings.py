"""Settings for govcloud_eval: every value comes from the environment.

Development defaults are safe to run on a laptop (SQLite under ``var/``, tasks run in-process);
production values are required as soon as ``DEBUG`` is off. Every variable read here is listed in
``.env.example`` and in the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env file is optional; real environment variables always win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY: str = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY or (not DEBUG and SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value when DEBUG is off "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin site of the portal (accounts.admin_site): it asks the access policy.
    "accounts.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "accounts",
    "audit",
    "indicators",
    "assessments",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Serves the collected static files in production (runserver serves them in development).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "govcloud_eval.urls"
WSGI_APPLICATION = "govcloud_eval.wsgi.application"
ASGI_APPLICATION = "govcloud_eval.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "govcloud_eval.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if "DATABASE_URL" not in env:
    # The embedded development database lives under var/, which a fresh clone lacks.
    VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time: Chinese first ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The largest evidence file a vendor may upload, in bytes (2 GiB by default).
EVIDENCE_MAX_BYTES: int = env.int("EVIDENCE_MAX_BYTES", default=2 * 1024**3)
if EVIDENCE_MAX_BYTES <= 0:
    raise ImproperlyConfigured("EVIDENCE_MAX_BYTES must be a positive number of bytes.")

# --- Cache ------------------------------------------------------------------------------------
# Published rankings are cached. With several web processes use Redis, in a database of its own
# (never the broker's: clearing a Redis cache flushes its whole database).
CACHE_URL: str = env.str("CACHE_URL", default="")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "gce",
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Certified reports ---------------------------------------------------------------------
# The key and certificate that sign issued reports (PAdES). `make run` creates a self-signed
# development pair at these paths; production points them at the office's real ones.
REPORT_SIGNING_KEY: str = env.str(
    "REPORT_SIGNING_KEY", default=str(VAR_DIR / "signing" / "report-signing-key.pem")
)
REPORT_SIGNING_CERT: str = env.str(
    "REPORT_SIGNING_CERT", default=str(VAR_DIR / "signing" / "report-signing-cert.pem")
)
REPORT_SIGNING_PASSPHRASE: str = env.str("REPORT_SIGNING_PASSPHRASE", default="")
REPORT_NUMBER_PREFIX: str = env.str("REPORT_NUMBER_PREFIX", default="GCE")
# The address printed in reports' QR codes and verification links.
PUBLIC_BASE_URL: str = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Public verification: at most VERIFY_RATE_LIMIT requests per client per VERIFY_RATE_WINDOW s.
VERIFY_RATE_LIMIT: int = env.int("VERIFY_RATE_LIMIT", default=30)
VERIFY_RATE_WINDOW: int = env.int("VERIFY_RATE_WINDOW", default=60)

# --- Celery -----------------------------------------------------------------------------------
# Without REDIS_URL, tasks run eagerly in the web process: `make run` needs no broker.
REDIS_URL: str = env.str("REDIS_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Workers and producers must agree on it; the test suite uses a queue of its own.
CELERY_TASK_DEFAULT_QUEUE: str = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
if CELERY_TASK_TIME_LIMIT < 60:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be at least 60 seconds.")
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_RESULT_EXPIRES = 24 * 3600
# A task not acknowledged within this many seconds is handed to another worker; it must exceed
# the hard time limit, or a long task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# `celery beat` sends the sweeper (reports.sweep) every SWEEP_INTERVAL_SECONDS: it queues again
# the report renderings and campaign scorings whose messages were lost.
SWEEP_INTERVAL_SECONDS: int = env.int("SWEEP_INTERVAL_SECONDS", default=60)
if SWEEP_INTERVAL_SECONDS <= 0:
    raise ImproperlyConfigured("SWEEP_INTERVAL_SECONDS must be a positive number of seconds.")
CELERY_BEAT_SCHEDULE = {
    "reports-sweep": {
        "task": "reports.sweep",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
        # A sweep still queued when the next one is due is worth nothing: while no worker
        # runs, they expire instead of piling up.
        "options": {"expires": float(SWEEP_INTERVAL_SECONDS)},
    },
}

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every rendering step at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks would log every run into the development server's console.
    LOGGING["loggers"].update(
        {
            "celery.app.trace": {"level": "WARNING"},
            "reports.scoring.tasks": {"level": "WARNING"},
            "reports.certified.tasks": {"level": "WARNING"},
        }
    )
