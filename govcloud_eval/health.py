"""Checks of what the portal needs to work, shared by /healthz and the worker probe.

Each check returns a small dict and never raises: a failing dependency is a result, not a crash.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

if TYPE_CHECKING:
    from redis import Redis

# Simplified-Chinese families the PDF reports are set in (Debian's fonts-noto-cjk ships both).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")


# The default storage backends that keep files in an S3 bucket (django-storages).
S3_BACKENDS = frozenset(
    {"storages.backends.s3.S3Storage", "storages.backends.s3boto3.S3Boto3Storage"}
)
# Seconds /healthz waits for Redis or the object storage before it calls them unreachable.
TIMEOUT_SECONDS = 3
# kombu's Redis transport keeps a queue's messages of priority 0 in a list named after the queue
# and those of the other priority steps (3, 6, 9) in lists with these suffixes.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class Check(TypedDict):
    ok: bool
    detail: str


class CheckStatus(TypedDict):
    """What anonymous callers see of a check: whether it passed, nothing else."""

    ok: bool


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        return {"ok": False, "detail": f"{connection.vendor}: {exc.__class__.__name__}: {exc}"}
    return {"ok": True, "detail": connection.vendor}


def check_broker() -> Check:
    """Redis when REDIS_URL is set; "eager" when tasks run in-process."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "detail": "eager"}
    import redis

    try:
        with _redis() as client:
            client.ping()
    except redis.RedisError as exc:
        return {"ok": False, "detail": f"redis: {exc}"}
    return {"ok": True, "detail": "redis"}


def _redis() -> Redis:
    import redis

    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
    )


def check_queue() -> Check:
    """The tasks waiting in the default queue (``CELERY_QUEUE``), failing above
    ``HEALTHZ_QUEUE_MAX``: workers are missing or cannot keep up. "eager" when tasks run
    in-process. Reads the queue's Redis lists only: a health check never broadcasts to workers
    (that would wait for every worker's answer on each probe)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "detail": "eager"}
    import redis

    queue: str = settings.CELERY_TASK_DEFAULT_QUEUE
    limit: int = settings.HEALTHZ_QUEUE_MAX
    try:
        with _redis() as client, client.pipeline(transaction=False) as pipe:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
            waiting = sum(int(length) for length in pipe.execute())
    except redis.RedisError as exc:
        return {"ok": False, "detail": f"redis: {exc}"}
    return {
        "ok": waiting <= limit,
        "detail": f"{waiting} tasks waiting in {queue} (at most {limit})",
    }


def check_storage() -> Check:
    """Where evidence and reports are stored: with an S3 bucket as the default storage, that
    the bucket answers a ``HeadBucket`` within ``TIMEOUT_SECONDS`` (no retry); otherwise that
    the storage's directory (``MEDIA_ROOT``) exists and a file can be created in it."""
    backend = settings.STORAGES["default"]["BACKEND"]
    # The storage itself (``default_storage`` is a lazy proxy of it); its attributes depend on
    # the backend, which the checks below read by name.
    storage: Any = default_storage
    if backend in S3_BACKENDS:
        return _check_s3(storage)
    return _check_directory(Path(getattr(storage, "location", None) or settings.MEDIA_ROOT))


def _check_s3(storage: Any) -> Check:
    bucket = storage.bucket_name
    where = f"s3: bucket {bucket} at {storage.endpoint_url or 'AWS'}"
    try:
        import boto3
        from botocore.config import Config

        quick = Config(
            connect_timeout=TIMEOUT_SECONDS,
            read_timeout=TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        config = storage.client_config.merge(quick) if storage.client_config else quick
        # The credentials and endpoint of the storage (as django-storages builds its session),
        # but a client of its own: the storage's client would retry for a long time.
        if storage.session_profile:
            session = boto3.Session(profile_name=storage.session_profile)
        else:
            session = boto3.Session(
                aws_access_key_id=storage.access_key,
                aws_secret_access_key=storage.secret_key,
                aws_session_token=storage.security_token,
            )
        client = session.client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            config=config,
            verify=storage.verify,
        )
        client.head_bucket(Bucket=bucket)
    except Exception as exc:  # any client, network or credentials error means "not reachable"
        return {"ok": False, "detail": f"{where}: {exc.__class__.__name__}: {exc}"}
    return {"ok": True, "detail": where}


def _check_directory(location: Path) -> Check:
    where = f"filesystem: {location}"
    if not location.is_dir():
        return {"ok": False, "detail": f"{where} does not exist; create it or set MEDIA_ROOT"}
    try:
        with tempfile.NamedTemporaryFile(dir=location, prefix=".healthz-"):
            pass
    except OSError as exc:
        return {"ok": False, "detail": f"{where} is not writable: {exc}"}
    return {"ok": True, "detail": where}


def harfbuzz_subsetting_available() -> bool:
    """True when WeasyPrint will subset fonts with HarfBuzz rather than its slow fontTools path.

    WeasyPrint takes the HarfBuzz path only when libharfbuzz-subset loaded and HarfBuzz is at
    least 4.1 (weasyprint/pdf/fonts.py); otherwise a Chinese report takes ~15 s instead of ~0.3 s.
    """
    try:
        from weasyprint.text import ffi
    except OSError:  # Pango itself is missing: WeasyPrint cannot load at all
        return False
    return ffi.harfbuzz_subset is not None and bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


def check_pdf_subsetting() -> Check:
    try:
        from weasyprint.text import ffi  # noqa: F401
    except OSError as exc:
        return {
            "ok": False,
            "detail": f"WeasyPrint cannot load Pango: {exc}; install libpango-1.0-0",
        }
    if harfbuzz_subsetting_available():
        return {"ok": True, "detail": "harfbuzz"}
    return {
        "ok": False,
        "detail": "HarfBuzz subsetting unavailable; install libharfbuzz-subset0 "
        "(without it PDF reports fall back to fontTools, about 50 times slower)",
    }


def check_cjk_font() -> Check:
    if shutil.which("fc-list") is None:
        return {"ok": False, "detail": "fontconfig (fc-list) not found; install fontconfig"}
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"ok": False, "detail": f"fc-list failed: {exc}"}
    found = [family for family in CJK_FAMILIES if family in out]
    if not found:
        return {"ok": False, "detail": "No Noto CJK SC font; install fonts-noto-cjk"}
    return {"ok": True, "detail": ", ".join(found)}


def run_all() -> dict[str, Check]:
    return {
        "database": check_database(),
        "broker": check_broker(),
        "queue": check_queue(),
        "storage": check_storage(),
        "pdf_subsetting": check_pdf_subsetting(),
        "cjk_font": check_cjk_font(),
    }


def without_details(checks: dict[str, Check]) -> dict[str, CheckStatus]:
    """The checks as anyone may see them: no versions, hosts, paths or error texts."""
    return {name: {"ok": check["ok"]} for name, check in checks.items()}
