from __future__ import annotations

from celery import shared_task
from django.db import connection

from . import health


@shared_task(name="govcloud_eval.worker_probe")
def worker_probe_task() -> dict[str, object]:
    """Reports what the worker sees: its database and whether it can render PDFs quickly.

    Read-only and safe to run any number of times.
    """
    database = health.check_database()
    return {
        "database_vendor": connection.vendor,
        "database_name": connection.settings_dict["NAME"],
        "database_ok": database["ok"],
        "pdf_subsetting": health.harfbuzz_subsetting_available(),
    }
