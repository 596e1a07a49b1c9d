"""Fixtures for scoring: the workflow's fixtures, an assessment scored by two assessors, and a
worker of this module's own that a test may kill."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Assignment
from govcloud_eval.celery import app as celery_app
from tests.assessments.conftest import (  # noqa: F401  (fixtures)
    answer_everything,
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
    rate_everything,
    trusted,
)
from tests.worker_support import WorkerProcess, _database_url


def score_completely(
    target: Assessment, vendor: User, assigned: list[Assignment], rating: int = 2
) -> Assessment:
    """Runs the workflow to `scored`: the vendor answers and submits, every assessor rates and
    submits."""
    answer_everything(target, vendor)
    workflow.assessment_submit(assessment=target, acting_user=vendor)
    for assignment in assigned:
        rate_everything(assignment, rating=rating)
        workflow.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    target.refresh_from_db()
    assert target.state == Assessment.State.SCORED
    return target


@pytest.fixture
def scored(
    assessment: Assessment,  # noqa: F811
    vendor: User,
    assignments: list[Assignment],  # noqa: F811
) -> Assessment:
    return score_completely(assessment, vendor, assignments)


@pytest.fixture
def killable_worker(transactional_db: None) -> Iterator[WorkerProcess]:
    """A worker on a queue of its own, for one test, that redelivers a killed worker's task
    within seconds.

    It runs with tests/reports/worker_settings.py: a 10 s Redis visibility timeout (production
    keeps the time limit + 300 s) and a restore sweep every second, so that the task a SIGKILLed
    worker held comes back quickly, and each scoring task takes a little time, so that the kill
    lands in the middle of a campaign.
    """
    from django.db import connection

    if celery_app.conf.broker_url.startswith("memory"):
        pytest.fail("REDIS_URL is not set: worker tests need Redis (`make test` sets it).")
    queue = f"gce-scoring-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    worker = KillableWorker(queue, _database_url(connection.settings_dict))
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous


class KillableWorker(WorkerProcess):
    def start(self) -> None:
        import os

        saved = os.environ.get("DJANGO_SETTINGS_MODULE")
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.reports.worker_settings"
        try:
            super().start()
        finally:
            if saved is None:
                os.environ.pop("DJANGO_SETTINGS_MODULE", None)
            else:
                os.environ["DJANGO_SETTINGS_MODULE"] = saved
