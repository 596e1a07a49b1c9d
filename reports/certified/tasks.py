"""The rendering task of certified reports: thin, safe to run twice.

``report_render`` claims the report with a guarded update, so a redelivered message (after a
worker died) renders nothing twice; a ready report is never rendered again. Only lost database
connections are retried here: a failing template or signer is stored on the report instead.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import rendering

logger = logging.getLogger(__name__)


@shared_task(
    name="reports.render_report",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def report_render_task(report_id: int) -> str:
    """Renders, signs and stores report ``report_id``; "missing" if it is gone."""
    outcome = rendering.report_render(report_id=report_id)
    logger.info("report %s: %s %s", report_id, outcome.status, outcome.error)
    return outcome.status
