"""Scoring tasks: thin, safe to run twice, retried only on named transient errors.

The worker acknowledges a message only after the task ran (``task_acks_late``) and gives it
back when the worker dies (``task_reject_on_worker_lost``; with Redis, the visibility timeout
redelivers what a killed worker held). A redelivered scoring writes nothing new: results are
named by the SHA-256 of their inputs, and each item of a campaign run is counted once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from . import results

if TYPE_CHECKING:
    from billiard.einfo import ExceptionInfo

logger = logging.getLogger(__name__)

# Lost connections, deadlocks and serialisation failures: worth another try, later.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class ScoringTask(Task):
    def on_failure(
        self,
        exc: Exception,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: ExceptionInfo,
    ) -> None:
        # Given up for good (retries exhausted, or an error that is not transient): count the
        # assessments as failed so the campaign's progress still completes.
        run_id = kwargs.get("run_id", args[1] if len(args) > 1 else None)
        ids = kwargs.get("assessment_ids", kwargs.get("assessment_id", args[0] if args else None))
        if run_id is not None and ids is not None:
            results.scoring_items_fail(
                run_id=run_id,
                assessment_ids=ids if isinstance(ids, list) else [ids],
                error=f"{type(exc).__name__}: {exc}",
            )


RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(base=ScoringTask, name="reports.score_assessment", **RETRY_OPTIONS)
def score_assessment_task(assessment_id: int, run_id: int | None = None) -> str:
    """Scores one assessment (and counts it in campaign run ``run_id`` when given).

    Re-fetches everything; returns "missing" if the assessment is gone and "skipped" if it is
    not scored; running it twice stores nothing new.
    """
    outcome = results.assessment_score(assessment_id=assessment_id, run_id=run_id)
    logger.info("scored assessment %s: %s", assessment_id, outcome.status)
    return outcome.status


@shared_task(base=ScoringTask, name="reports.score_assessments", **RETRY_OPTIONS)
def score_assessments_task(assessment_ids: list[int], run_id: int | None = None) -> dict[str, int]:
    """Scores a batch of a campaign run's assessments in one transaction, counting each in run
    ``run_id`` once. Safe to run twice: unchanged inputs store nothing."""
    outcomes = results.assessments_score(assessment_ids=assessment_ids, run_id=run_id)
    statuses: dict[str, int] = {}
    for outcome in outcomes.values():
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    logger.info("scored %s assessments: %s", len(assessment_ids), statuses)
    return statuses
