"""The tasks of reports as a whole (the parts keep theirs in ``scoring/tasks.py`` and
``certified/tasks.py``): the sweeper, which ``celery beat`` sends every
``SWEEP_INTERVAL_SECONDS``."""

from __future__ import annotations

import logging

from celery import shared_task

from . import sweeper

logger = logging.getLogger(__name__)


# No retries: the next beat tick is the retry, and a sweep missed is harmless.
@shared_task(name="reports.sweep")
def reports_sweep_task() -> dict[str, int]:
    """Queues again the work whose message was lost (``reports.sweeper.reports_sweep``) and
    returns the counts. Safe to run twice or concurrently."""
    outcome = sweeper.reports_sweep(acting_user=None)
    counts = {
        "reports": len(outcome.reports),
        "scoring_runs": len(outcome.runs),
        "assessments": outcome.assessments,
    }
    if outcome.requeued:
        logger.warning("sweep queued lost work again: %s", counts)
    return counts
