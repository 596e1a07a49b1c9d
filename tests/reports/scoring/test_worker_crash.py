"""A worker killed in the middle of scoring a campaign loses nothing and duplicates nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db.models import Count, Q

from accounts.models import User
from indicators.models import Framework
from indicators.services import default_catalogs_load
from reports.models import CampaignScoringRun, ScoreResult
from reports.scoring import services
from tests.factories import UserFactory
from tests.reports.bulk import bulk_scored_campaign
from tests.worker_support import WorkerProcess

SIZE = 60


def _wait(condition: Callable[[], bool], timeout: float, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            print(worker.log()[-5000:])
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.worker
def test_a_campaign_survives_a_killed_worker_with_one_current_result_each(
    killable_worker: WorkerProcess, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "BATCH_SIZE", 2)  # 30 tasks, so the kill lands between two
    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(kind=Framework.Kind.COMPREHENSIVE)
    assessors = [
        UserFactory.create(username=f"bulk_expert{n}", role=User.Role.ASSESSOR) for n in (1, 2)
    ]
    campaign = bulk_scored_campaign(
        framework=framework, size=SIZE, assessors=assessors, admin=admin, name="崩溃测试批次"
    )

    run = services.campaign_scoring_start(campaign=campaign, acting_user=admin)

    def progress() -> int:
        run.refresh_from_db()
        return run.done + run.failed

    # Let the worker get well into the campaign, then kill it as a crash would.
    _wait(lambda: progress() >= 10, 60, killable_worker)
    killable_worker.kill()
    killed_at = progress()
    assert killed_at < SIZE, "the worker finished before it could be killed"

    # A new worker takes the queue, and the task the dead one held comes back to it.
    killable_worker.start()
    _wait(lambda: progress() >= SIZE, 120, killable_worker)

    run.refresh_from_db()
    assert (run.state, run.done, run.failed) == (CampaignScoringRun.State.FINISHED, SIZE, 0)
    per_assessment = (
        ScoreResult.objects.filter(assessment__campaign=campaign)
        .values("assessment")
        .annotate(rows=Count("id"), current=Count("id", filter=Q(is_current=True)))
    )
    assert len(per_assessment) == SIZE
    assert {(row["rows"], row["current"]) for row in per_assessment} == {(1, 1)}
