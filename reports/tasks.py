"""Scoring tasks: thin, safe to run twice, retried only on named transient errors.

The worker acknowledges a message only after the task ran (``task_acks_late``) and gives it
back when the worker dies (``task_reject_on_worker_lost``; with Redis, the visibility timeout
redelivers what a killed worker held). A redelivered scoring writes nothing new: results are
named by the SHA-256 of their inputs, and each item of a campaign run is counted once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)

# Lost connections, deadlocks and serialisation failures: worth another try, later.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class ScoringTask(Task):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # Given up for good (retries exhausted, or an error that is not transient): count the
        # assessment as failed so the campaign's progress still completes.
        run_id = kwargs.get("run_id", args[1] if len(args) > 1 else None)
        assessment_id = kwargs.get("assessment_id", args[0] if args else None)
        if run_id is not None and assessment_id is not None:
            services.scoring_item_fail(
                run_id=run_id, assessment_id=assessment_id, error=f"{type(exc).__name__}: {exc}"
            )


@shared_task(
    base=ScoringTask,
    name="reports.score_assessment",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def score_assessment_task(assessment_id: int, run_id: int | None = None) -> str:
    """Scores one assessment (and counts it in campaign run ``run_id`` when given).

    Re-fetches everything; returns "missing" if the assessment is gone and "skipped" if it is
    not scored; running it twice stores nothing new.
    """
    outcome = services.assessment_score(assessment_id=assessment_id, run_id=run_id)
    logger.info("scored assessment %s: %s", assessment_id, outcome.status)
    return outcome.status
