"""The task of rankings: rendering the files of a published version once (thin, safe to run
twice; ``rendering.ranking_exports_render`` claims each file with a guarded update)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import rendering

logger = logging.getLogger(__name__)


# Only lost database connections are retried: a failing template or WeasyPrint is stored on the
# file's row instead, and the admin page (or ``render_ranking_exports``) queues it again.
@shared_task(
    name="reports.render_ranking_exports",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def ranking_exports_render_task(ranking_id: int) -> dict[str, int]:
    """Renders and stores the PDF, CSV, XLSX and open data of version ``ranking_id`` that are
    not ready; returns the count of each outcome, empty when the version is gone or every file
    is stored. Safe to run twice: ready files are kept."""
    counts = rendering.ranking_exports_render(ranking_id=ranking_id)
    if counts.get("failed"):
        logger.warning("ranking %s: exports rendered %s", ranking_id, counts)
    return counts
