"""Settings for govcloud_eval: every value comes from the environment.

Development defaults are safe to run on a laptop (SQLite under ``var/``, tasks run in-process);
production values are required as soon as ``DEBUG`` is off. Every variable read here is listed in
``.env.example`` and in the README.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env file is optional; real environment variables always win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=True)

# What is missing or wrong in the environment: one line per fault, starting with the variable's
# name and saying what to set. All of them are refused at once, at the end of this module, so
# that one failed start names everything to fix (and the web process and the worker both stop).
_problems: list[str] = []

_DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY: str = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY or (not DEBUG and SECRET_KEY == _DEV_SECRET_KEY):
    _problems.append(
        "SECRET_KEY must be set to a long random value when DEBUG is off "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
if not DEBUG and not any(host.strip() for host in ALLOWED_HOSTS):
    _problems.append(
        "ALLOWED_HOSTS must be set when DEBUG is off: the host names the portal answers to, "
        "comma-separated (e.g. eval.example.gov.cn)."
    )
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A rejected form gets the portal's own page (templates/403_csrf.html), not Django's.
CSRF_FAILURE_VIEW = "govcloud_eval.views.csrf_failure"

INSTALLED_APPS = [
    # The admin site of the portal (accounts.admin_site): it asks the access policy.
    "accounts.admin_config.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # The API's OpenAPI schema and docs; Swagger UI's files (drf_spectacular_sidecar) as static
    # files; the list filters.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    # Two-factor sign-in: TOTP authenticator apps, and recovery codes (static tokens).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # The Content-Security-Policy header (CONTENT_SECURITY_POLICY below) and its checks.
    "csp",
    "accounts",
    "audit",
    "indicators",
    "assessments",
    "reports",
    "notifications",
    "demo",
    # The project's own commands (backup, restore).
    "govcloud_eval",
    # Sign-in lockout after repeated failures (accounts.lockout); last, as its docs ask.
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may write to the audit trail: records carry the client's address.
    "govcloud_eval.clientip.ClientAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Refuses a body larger than its page accepts, before CSRF checking reads it.
    "govcloud_eval.limits.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (django-otp's,
    # reading the device with the user: no query of its own).
    "accounts.twofactor.middleware.OTPMiddleware",
    # Sends a signed-in user of a two-factor role who has not passed it to the code step.
    "accounts.twofactor.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signs out a session idle for SESSION_IDLE_TIMEOUT (accounts.middleware).
    "accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy (django-csp's, PDFs left out); Permissions-Policy; no-store on
    # signed-in users' pages (reads request.user).
    "govcloud_eval.headers.ContentSecurityPolicyMiddleware",
    "govcloud_eval.headers.SecurityHeadersMiddleware",
    # Turns a locked-out sign-in into the portal's lockout page (accounts.lockout); last.
    "axes.middleware.AxesMiddleware",
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
# PostgreSQL in production; without DATABASE_URL, development uses an SQLite file under var/.
_database_url: str = env.str("DATABASE_URL", default="")
_database_scheme = urlsplit(_database_url).scheme
if not DEBUG and _database_scheme not in {"postgres", "postgresql"}:
    _problems.append(
        "DATABASE_URL must be a PostgreSQL URL when DEBUG is off "
        "(postgres://user:password@host:5432/name); "
        + (
            "it is not set."
            if not _database_url
            else f"it is a {_database_scheme} URL."
            if _database_scheme
            else "it is not a URL."
        )
    )
    _database_url = "sqlite://:memory:"  # never used: the start is refused below
if not _database_url:
    # The embedded development database lives under var/, which a fresh clone lacks.
    VAR_DIR.mkdir(exist_ok=True)
    _database_url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(_database_url)}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Persistent connections in production: a new PostgreSQL connection per request costs about as
# much as the request itself. The health check (one cheap query before a request reuses a
# connection) drops a connection the server closed meanwhile instead of failing the request.
# Development keeps 0: runserver's threads would each hold one open.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The development database is shared by runserver's threads and in-process tasks. In WAL
    # mode readers never block the writer; IMMEDIATE transactions take the write lock when they
    # start, so a second writer waits (up to "timeout" seconds) instead of failing half-way
    # with "database is locked", which SQLite cannot retry inside a deferred transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# First django-axes, which refuses any sign-in while the account or address is locked out
# (accounts.lockout), then Django's, reading the user with their organisation
# (accounts/backends.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UserBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# The roles that must sign in with a TOTP code (accounts.twofactor). Values that are no role
# (yet) are harmless. Users of other roles may enrol, and are then asked for a code too.
OTP_REQUIRED_ROLES: frozenset[str] = frozenset({"admin", "assessor", "auditor", "security"})
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = "govcloud_eval"
# Wrong codes in one sign-in before the session is signed out (back to the password step).
OTP_MAX_FAILURES = 5
# New passwords (the admin site, password changes and resets): at least 12 characters of at
# least three kinds (accounts/passwords.py), not common, not all digits, not like the username.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]
# Sessions end after SESSION_IDLE_TIMEOUT seconds without a request (accounts.middleware), and
# SESSION_COOKIE_AGE seconds after signing in whatever the activity.
SESSION_IDLE_TIMEOUT: int = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_AGE: int = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
if SESSION_IDLE_TIMEOUT < 60:
    _problems.append("SESSION_IDLE_TIMEOUT must be at least 60 seconds.")
if SESSION_COOKIE_AGE < SESSION_IDLE_TIMEOUT:
    _problems.append("SESSION_COOKIE_AGE must be at least SESSION_IDLE_TIMEOUT.")
# Lockout (django-axes, accounts.lockout): LOGIN_FAILURE_LIMIT failed sign-ins for one account,
# or from one client address, lock it for LOGIN_LOCKOUT_MINUTES after the last failure (or until
# a security administrator unlocks it). Attempts live in the database.
AXES_FAILURE_LIMIT: int = env.int("LOGIN_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=60))
# A list: either one reaching the limit locks (not the pair together).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Sign-ins are in the audit trail; axes' own log of successes would be a second copy.
AXES_DISABLE_ACCESS_LOG = True
# The security administrator unlocks through the portal's admin (accounts.admin), which asks
# the access policy; axes' own admin pages would ask Django's permissions.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
if AXES_FAILURE_LIMIT < 1:
    _problems.append("LOGIN_FAILURE_LIMIT must be a positive number of failed sign-ins.")

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
# Evidence, certified reports and objection evidence go to the local file system under
# MEDIA_ROOT (the default, for `make run`), or, when S3_BUCKET is set, to an S3-compatible
# object store, so that web and worker processes share no volume. The portal serves every file
# itself after its access checks (govcloud_eval.storage streams them), so objects stay private.
_s3_bucket: str = env.str("S3_BUCKET", default="")
_s3_settings = {
    "S3_ENDPOINT_URL": env.str("S3_ENDPOINT_URL", default=""),
    "S3_ACCESS_KEY_ID": env.str("S3_ACCESS_KEY_ID", default=""),
    "S3_SECRET_ACCESS_KEY": env.str("S3_SECRET_ACCESS_KEY", default=""),
    "S3_REGION": env.str("S3_REGION", default=""),
    "S3_ADDRESSING_STYLE": env.str("S3_ADDRESSING_STYLE", default=""),
}
_default_storage: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if not _s3_bucket:
    _problems.extend(
        f"{name} is set but S3_BUCKET is not: set S3_BUCKET to store files in the object store, "
        f"or unset {name} to keep them under MEDIA_ROOT."
        for name, value in _s3_settings.items()
        if value
    )
else:
    _problems.extend(
        f"{name} must be set when S3_BUCKET is (the object store's credentials)."
        for name in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
        if not _s3_settings[name]
    )
    _s3_endpoint = _s3_settings["S3_ENDPOINT_URL"]
    if _s3_endpoint and (
        urlsplit(_s3_endpoint).scheme not in {"http", "https"} or not urlsplit(_s3_endpoint).netloc
    ):
        _problems.append(
            f"S3_ENDPOINT_URL must be an http:// or https:// URL (it is {_s3_endpoint!r}); "
            "unset, it is AWS's endpoint for S3_REGION."
        )
    _s3_addressing_style = _s3_settings["S3_ADDRESSING_STYLE"] or "path"
    if _s3_addressing_style not in {"path", "virtual", "auto"}:
        _problems.append(
            f"S3_ADDRESSING_STYLE must be path, virtual or auto (it is {_s3_addressing_style!r})."
        )
    from boto3.s3.transfer import TransferConfig

    # django-storages hands the upload's temporary file to boto3's transfer manager, which sends
    # a file over 8 MiB as a multipart upload, reading each part into memory. In the request's
    # own thread, one part at a time, the web process grows by ~13 MiB for a 1 GiB upload
    # (`make bench`), at ~90 MiB/s to a local store; with boto3's threads, even two, by ~47 MiB.
    _s3_transfer = TransferConfig(
        multipart_threshold=8 * 1024**2, multipart_chunksize=8 * 1024**2, use_threads=False
    )
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": _s3_endpoint or None,
            "access_key": _s3_settings["S3_ACCESS_KEY_ID"],
            "secret_key": _s3_settings["S3_SECRET_ACCESS_KEY"],
            "region_name": _s3_settings["S3_REGION"] or "us-east-1",
            "addressing_style": _s3_addressing_style,
            "signature_version": "s3v4",
            # Private objects: no ACL is sent (the bucket's default, private, applies), and any
            # URL the storage makes is signed. Stored names are never reused.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "transfer_config": _s3_transfer,
            # FieldFile.open() (not used to serve files) spills to disk past 1 MiB, never holding
            # a whole object in memory.
            "max_memory_size": 1024**2,
        },
    }
STORAGES = {
    "default": _default_storage,
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
# Malware scanning of evidence (assessments.evidence.scanning): with a clamd address
# (tcp://host:port or unix:///run/clamav/clamd.ctl), new files wait as "pending_scan" until a
# worker has scanned them, and cannot be downloaded before they are found clean. Empty: files are
# not scanned. clamd's StreamMaxLength must be at least EVIDENCE_MAX_BYTES.
CLAMD_ADDRESS: str = env.str("CLAMD_ADDRESS", default="").strip()
_clamd = urlsplit(CLAMD_ADDRESS)
try:
    _clamd_valid = bool(_clamd.scheme == "tcp" and _clamd.hostname and _clamd.port) or (
        _clamd.scheme == "unix" and _clamd.path.startswith("/")
    )
except ValueError:  # a port that is not a number
    _clamd_valid = False
if CLAMD_ADDRESS and not _clamd_valid:
    _problems.append(
        f"CLAMD_ADDRESS must be tcp://host:port or unix:///path/to/clamd.socket "
        f"(it is {CLAMD_ADDRESS!r})."
    )
# Seconds clamd may take to accept, read or answer before a scan counts as failed.
CLAMD_TIMEOUT: int = env.int("CLAMD_TIMEOUT", default=120)
if CLAMD_TIMEOUT <= 0:
    _problems.append("CLAMD_TIMEOUT must be a positive number of seconds.")
# The scanner class (another engine: a class of the same shape, named here).
MALWARE_SCANNER = "assessments.evidence.scanning.ClamdScanner" if CLAMD_ADDRESS else ""

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
# CA certificates above the signing certificate (intermediates and root) and the timestamp
# authority's, one PEM file: signatures embed them with revocation data (PAdES B-LT). Empty for
# a self-signed certificate (make_dev_certificate's), which is its own root.
REPORT_SIGNING_CHAIN: str = env.str("REPORT_SIGNING_CHAIN", default="")
# An RFC 3161 timestamp authority: reports are then signed PAdES B-LTA (a signature timestamp,
# then a document timestamp over the validation data); without one, B-LT. HTTP basic auth
# credentials if the authority asks for them.
REPORT_TSA_URL: str = env.str("REPORT_TSA_URL", default="").strip()
REPORT_TSA_USERNAME: str = env.str("REPORT_TSA_USERNAME", default="")
REPORT_TSA_PASSWORD: str = env.str("REPORT_TSA_PASSWORD", default="")
_tsa = urlsplit(REPORT_TSA_URL)
if REPORT_TSA_URL and (_tsa.scheme not in {"http", "https"} or not _tsa.hostname):
    _problems.append(
        f"REPORT_TSA_URL must be an http:// or https:// address (it is {REPORT_TSA_URL!r})."
    )
if REPORT_TSA_PASSWORD and not REPORT_TSA_USERNAME:
    _problems.append("REPORT_TSA_PASSWORD is set without REPORT_TSA_USERNAME.")
# The issuing body on every report (cover, statement, signature), frozen into it at issue: its
# full name, and the English one for English reports (default: the Chinese one). Empty: the
# generic "Government Cloud Evaluation Office" in the report's language.
REPORT_ISSUER_NAME: str = env.str("REPORT_ISSUER_NAME", default="").strip()
REPORT_ISSUER_NAME_EN: str = env.str("REPORT_ISSUER_NAME_EN", default="").strip()
# The seal (a PNG with a transparent background) in the visible signature on a report's last
# page. In development the demo seal shipped under static/, which says so; in production no
# seal unless set.
REPORT_SEAL_IMAGE: str = env.str(
    "REPORT_SEAL_IMAGE",
    default=str(BASE_DIR / "static" / "certified" / "report-seal-development.png") if DEBUG else "",
)
# The address printed in reports' QR codes and verification links: frozen into every issued
# (immutable) report, so production must name it, over https unless PUBLIC_BASE_URL_ALLOW_HTTP
# (a closed network, a test topology). An origin with an optional path; no trailing slash.
PUBLIC_BASE_URL_ALLOW_HTTP: bool = env.bool("PUBLIC_BASE_URL_ALLOW_HTTP", default=False)
PUBLIC_BASE_URL: str = (
    env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000" if DEBUG else "").strip().rstrip("/")
)
_public = urlsplit(PUBLIC_BASE_URL)
if not PUBLIC_BASE_URL:
    _problems.append(
        "PUBLIC_BASE_URL must be set when DEBUG is off: the portal's public https:// address "
        "(e.g. https://eval.example.gov.cn), printed in every report's QR code and "
        "verification link."
    )
elif (
    _public.scheme not in {"http", "https"}
    or not _public.hostname
    or _public.username is not None
    or "?" in PUBLIC_BASE_URL
    or "#" in PUBLIC_BASE_URL
):
    _problems.append(
        "PUBLIC_BASE_URL must be an https:// origin with an optional path, without user, "
        "query string or fragment (e.g. https://eval.example.gov.cn or "
        f"https://www.example.gov.cn/eval); it is {PUBLIC_BASE_URL!r}."
    )
elif not DEBUG and _public.scheme != "https" and not PUBLIC_BASE_URL_ALLOW_HTTP:
    _problems.append(
        f"PUBLIC_BASE_URL must start with https:// when DEBUG is off (it is {PUBLIC_BASE_URL}); "
        "on a closed network or a test topology without TLS, set PUBLIC_BASE_URL_ALLOW_HTTP=true."
    )
# Public verification: at most VERIFY_RATE_LIMIT requests per client per VERIFY_RATE_WINDOW s.
VERIFY_RATE_LIMIT: int = env.int("VERIFY_RATE_LIMIT", default=30)
VERIFY_RATE_WINDOW: int = env.int("VERIFY_RATE_WINDOW", default=60)

# --- E-mail -------------------------------------------------------------------------------------
# Notifications and password resets. Without EMAIL_HOST (`make run`) e-mails are printed to the
# console (the worker's log) instead of being sent. Links in e-mails start with PUBLIC_BASE_URL.
EMAIL_HOST: str = env.str("EMAIL_HOST", default="").strip()
EMAIL_PORT: int = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER: str = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD: str = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS: bool = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="govcloud-eval@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------------
# Without REDIS_URL, tasks run eagerly in the web process: `make run` needs no broker.
REDIS_URL: str = env.str("REDIS_URL", default="")
if not DEBUG and not REDIS_URL:
    _problems.append(
        "REDIS_URL must be set when DEBUG is off (e.g. redis://redis:6379/0): without it tasks "
        "would run inside the web process, and no worker or sweeper would take them."
    )
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
# The hard limit kills a task's process; a report rendering claimed longer ago than this (plus
# a margin) is abandoned and may be taken over (reports.certified.rendering.render_stale_after).
# Set it here only, never with the worker's --time-limit: the web process reads it too.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
if CELERY_TASK_TIME_LIMIT < 60:
    _problems.append("CELERY_TASK_TIME_LIMIT must be at least 60 seconds.")
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_RESULT_EXPIRES = 24 * 3600
# A task not acknowledged within this many seconds is handed to another worker (how a killed
# worker's tasks come back); it must exceed the hard time limit, or a long task would run twice.
_visibility_timeout: int = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 300
)
if _visibility_timeout <= CELERY_TASK_TIME_LIMIT:
    _problems.append(
        f"CELERY_VISIBILITY_TIMEOUT must be greater than CELERY_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT} s; it is {_visibility_timeout} s): Redis would hand a task "
        "still running to a second worker. Unset, it is CELERY_TASK_TIME_LIMIT + 300."
    )
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# /healthz fails when more tasks than this wait in the default queue: workers are missing or
# cannot keep up (a campaign scoring queues one task per assessment at once).
HEALTHZ_QUEUE_MAX: int = env.int("HEALTHZ_QUEUE_MAX", default=1000)
if HEALTHZ_QUEUE_MAX <= 0:
    _problems.append("HEALTHZ_QUEUE_MAX must be a positive number of tasks.")
# `celery beat` sends the sweeper (reports.sweep) every SWEEP_INTERVAL_SECONDS: it queues again
# the report renderings and campaign scorings whose messages were lost.
SWEEP_INTERVAL_SECONDS: int = env.int("SWEEP_INTERVAL_SECONDS", default=60)
if SWEEP_INTERVAL_SECONDS <= 0:
    _problems.append("SWEEP_INTERVAL_SECONDS must be a positive number of seconds.")
CELERY_BEAT_SCHEDULE = {
    # Resumable uploads left without a chunk past their expiry: chunks deleted; old rows forgotten.
    "assessments-resumable-uploads-expire": {
        "task": "assessments.resumable_uploads_expire",
        "schedule": crontab(minute=50),
        "options": {"expires": 3000.0},
    },
    # Seals audit records whose sealing after commit failed, then checks the whole hash chain.
    "audit-seal-and-verify": {
        "task": "audit.seal_and_verify",
        "schedule": crontab(minute=40),
        "options": {"expires": 3000.0},
    },
    "reports-sweep": {
        "task": "reports.sweep",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
        # A sweep still queued when the next one is due is worth nothing: while no worker
        # runs, they expire instead of piling up.
        "options": {"expires": float(SWEEP_INTERVAL_SECONDS)},
    },
    # Deadline reminders (due in three days, overdue), each sent once per deadline.
    "notifications-deadline-reminders": {
        "task": "notifications.send_deadline_reminders",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 12 * 3600.0},
    },
    # Notification e-mails left unsent (retries over, or the broker was down at the commit).
    "notifications-requeue-unsent-emails": {
        "task": "notifications.requeue_unsent_emails",
        "schedule": crontab(minute=20),
        "options": {"expires": 3000.0},
    },
    # Evidence scans that failed (clamd down) or whose message was lost, asked for again.
    "assessments-evidence-scan-sweep": {
        "task": "assessments.evidence_scan_sweep",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
}

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Personal API tokens (Authorization: Bearer …) for other systems; the browser's session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "govcloud_eval.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "govcloud_eval.api.throttling.UserThrottle",
        "govcloud_eval.api.throttling.AnonThrottle",
    ],
    "NUM_PROXIES": None,  # set below from TRUSTED_PROXY_COUNT
    "EXCEPTION_HANDLER": "govcloud_eval.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Requests a minute per signed-in user and per anonymous client address (govcloud_eval.api).
API_THROTTLE_RATES: dict[str, str | None] = {
    "user": env.str("API_THROTTLE_USER", default="600/minute"),
    "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
}
# Resumable evidence uploads over the API (tus): the largest chunk one PATCH may carry (also the
# request-size limit of the upload URLs), and how long an upload waits for its next chunk.
RESUMABLE_CHUNK_MAX_BYTES = env.int("RESUMABLE_CHUNK_MAX_BYTES", default=64 * 1024 * 1024)
RESUMABLE_UPLOAD_EXPIRY = env.int("RESUMABLE_UPLOAD_EXPIRY_SECONDS", default=24 * 3600)
# How long a personal API token lives unless its owner chooses otherwise (days).
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=365)

SPECTACULAR_SETTINGS = {
    "TITLE": "政务云评估门户 API · govcloud_eval API",
    "DESCRIPTION": (
        "The portal's REST API: the same rules as its pages. Authenticate with a personal token "
        "(`Authorization: Bearer gce_…`, created on your account page) or the browser session. "
        "Every list is paged (`page`, `page_size`) and filtered; every error has the shape of "
        "`Error`. Guide: docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"FrameworkStateEnum": "indicators.models.Framework.State"},
    "POSTPROCESSING_HOOKS": ["govcloud_eval.api.schema.document_errors"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Security ---------------------------------------------------------------------------------
# How many proxies in front of the portal append to X-Forwarded-For (0: the header is ignored).
# The verification rate limit, the login lockout and the audit trail see the address it gives.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# HTTPS only in production: plain http is redirected and browsers are told (HSTS, sent on https
# responses only) to use nothing else for a year. A deployment without TLS (docker compose on a
# laptop, a test topology) sets SECURE_SSL_REDIRECT=false. Health probes use plain http inside
# the network: /healthz is never redirected.
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading commits the whole registrable domain (example.gov.cn, every host under it) to https
# in browsers' built-in lists, for months after it is withdrawn: the decision of whoever runs
# that domain, not of one portal on a subdomain. Off by default, so Django's reminder is quiet.
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS: list[str] = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# X-Forwarded-Proto says whether the client used https; any client can send it, so it is
# believed only when proxies are configured (TRUSTED_PROXY_COUNT), which must set or strip it.
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp) on every response but PDFs (govcloud_eval.headers):
# scripts and styles only from the portal's own files (no inline code, no style attributes:
# templates pass data through data-* attributes and json_script), nothing embedded, framed or
# posted elsewhere.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every rendering step at INFO.
    # axes logs every sign-in at INFO; failures and lockouts are WARNINGs.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
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

# --- Refusal --------------------------------------------------------------------------------
# Last, so that every fault above is named at once. Nothing has connected anywhere yet: the web
# process, the worker and every management command stop here.
if _problems:
    raise ImproperlyConfigured(
        f"Refusing to start: {len(_problems)} environment variable(s) to fix "
        "(in the environment or in .env):\n" + "\n".join(f"- {problem}" for problem in _problems)
    )
