"""Checks of what the portal needs to work, shared by /healthz and the worker probe.

Each check returns a small dict and never raises: a failing dependency is a result, not a crash.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TypedDict

from django.conf import settings
from django.db import connection

# Simplified-Chinese families the PDF reports are set in (Debian's fonts-noto-cjk ships both).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")


class Check(TypedDict):
    ok: bool
    detail: str


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
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        return {"ok": False, "detail": f"redis: {exc}"}
    return {"ok": True, "detail": "redis"}


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
        "pdf_subsetting": check_pdf_subsetting(),
        "cjk_font": check_cjk_font(),
    }
