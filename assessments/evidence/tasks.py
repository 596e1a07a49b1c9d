"""The malware-scan tasks of evidence: thin, safe to run twice.

``evidence_scan_task`` runs ``services.evidence_scan``, which records a scanner's failure on the
file (``scan_failed``) rather than raising: the sweep, sent by ``celery beat`` every five
minutes, asks again. Only lost database connections are retried here.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import resumable, services

logger = logging.getLogger(__name__)


@shared_task(
    name="assessments.scan_evidence",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def evidence_scan_task(evidence_id: int) -> str:
    """Scans evidence file ``evidence_id`` and returns the outcome ("clean", "infected",
    "scan_failed", "skipped", "missing")."""
    outcome = services.evidence_scan(evidence_id=evidence_id)
    logger.info("evidence %s scanned: %s %s", evidence_id, outcome.status, outcome.detail)
    return outcome.status


# No retries: the next beat tick is the retry.
@shared_task(name="assessments.evidence_scan_sweep")
def evidence_scan_sweep_task() -> int:
    """Queues again the scans that failed or were lost; returns how many."""
    ids = services.evidence_scan_sweep()
    if ids:
        logger.warning("evidence scans queued again: %s", ids)
    return len(ids)


# No retries: the next beat tick (hourly) is the retry.
@shared_task(name="assessments.resumable_uploads_expire")
def resumable_uploads_expire_task() -> int:
    """Expires the resumable uploads left without a chunk for too long (their chunks are
    deleted) and forgets those ended a week ago; returns how many expired."""
    count = resumable.resumable_uploads_expire()
    if count:
        logger.info("resumable uploads expired: %s", count)
    return count
