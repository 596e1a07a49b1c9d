"""The sweeper queues again the work whose message was lost, once per grace period, and says so.

Tasks run in-process here: what the sweeper queues runs when the test executes the on-commit
callbacks. tests/reports/certified/test_worker_render.py runs it in a real worker.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from accounts.models import User
from assessments.models import Assessment
from audit.models import AuditEvent
from indicators.models import Framework
from reports import sweeper
from reports.certified import rendering
from reports.certified import services as certify
from reports.certified.rendering import render_stale_after
from reports.models import CampaignScoringItem, CampaignScoringRun, Report
from reports.scoring import results
from reports.scoring import services as scoring
from reports.tasks import reports_sweep_task
from tests.reports.bulk import bulk_scored_campaign
from tests.reports.certified.fixtures import *  # noqa: F403

LONG_AGO = datetime.timedelta(minutes=3)  # longer than either grace period


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # The sweeper remembers in the cache what it queued, and when.
    cache.clear()
    yield
    cache.clear()


def sweep(capture: DjangoCaptureOnCommitCallbacks) -> sweeper.SweepOutcome:
    """Sweeps, then runs what it queued (in-process), as a worker would."""
    with capture(execute=True):
        return sweeper.reports_sweep(acting_user=None)


def sweep_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="reports.sweep.requeued"))


@pytest.fixture
def pending(approved: Assessment, admin: User) -> Report:
    """An issued report whose rendering message never reached a worker."""
    return certify.report_issue(assessment=approved, acting_user=admin)


def age(report: Report, by: datetime.timedelta, **fields: object) -> Report:
    Report.objects.filter(pk=report.pk).update(issued_at=report.issued_at - by, **fields)
    report.refresh_from_db()
    return report


def test_a_report_pending_longer_than_the_grace_period_is_queued_again_and_rendered(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    age(pending, LONG_AGO)

    outcome = sweep(django_capture_on_commit_callbacks)

    assert outcome.reports == [(pending.number, "pending")]
    pending.refresh_from_db()
    assert pending.state == Report.State.READY
    (event,) = sweep_events()
    assert event.actor is None
    assert event.changes == {
        "reports": 1,
        "report_numbers": [pending.number],
        "scoring_runs": 0,
        "assessments": 0,
        "runs": {},
    }


def test_a_report_pending_for_less_than_the_grace_period_is_left_alone(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    age(pending, certify.RENDER_PENDING_GRACE - datetime.timedelta(seconds=10))

    outcome = sweep(django_capture_on_commit_callbacks)

    assert not outcome.requeued
    pending.refresh_from_db()
    assert pending.state == Report.State.PENDING
    assert sweep_events() == []


def test_a_report_whose_worker_died_while_rendering_is_queued_again_and_rendered(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    now = timezone.now()
    dead = age(
        pending,
        render_stale_after() * 2,
        state=Report.State.RENDERING,
        render_started_at=now - render_stale_after() - datetime.timedelta(seconds=1),
    )

    outcome = sweep(django_capture_on_commit_callbacks)

    assert outcome.reports == [(dead.number, "rendering")]
    dead.refresh_from_db()
    assert dead.state == Report.State.READY and dead.attempts == 1


def test_a_report_rendering_right_now_is_left_alone(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    busy = age(
        pending,
        LONG_AGO,
        state=Report.State.RENDERING,
        render_started_at=timezone.now() - datetime.timedelta(minutes=1),
    )

    assert not sweep(django_capture_on_commit_callbacks).requeued
    busy.refresh_from_db()
    assert busy.state == Report.State.RENDERING
    assert sweep_events() == []


def test_a_second_sweep_within_the_grace_period_queues_nothing_again(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    age(pending, LONG_AGO)
    now = timezone.now()

    # No worker takes the messages: the report stays pending.
    with django_capture_on_commit_callbacks() as first:
        assert sweeper.reports_sweep(acting_user=None, now=now).requeued
    with django_capture_on_commit_callbacks() as second:
        assert not sweeper.reports_sweep(acting_user=None, now=now).requeued

    assert (len(first), len(second)) == (1, 0)
    assert len(sweep_events()) == 1

    # One grace period later it is queued again.
    cache.clear()  # what the cache entry's expiry does in real time
    later = now + certify.RENDER_PENDING_GRACE
    with django_capture_on_commit_callbacks() as third:
        assert sweeper.reports_sweep(acting_user=None, now=later).reports
    assert len(third) == 1


def test_the_stuck_rule_reads_the_same_in_the_database_and_in_memory(pending: Report) -> None:
    now = timezone.now()
    cases: list[tuple[dict[str, object], datetime.timedelta]] = [
        ({"state": Report.State.PENDING}, datetime.timedelta(0)),
        ({"state": Report.State.PENDING}, LONG_AGO),
        ({"state": Report.State.PENDING, "render_started_at": now}, LONG_AGO),
        ({"state": Report.State.PENDING, "render_started_at": now - LONG_AGO}, LONG_AGO),
        ({"state": Report.State.RENDERING, "render_started_at": now}, LONG_AGO),
        (
            {"state": Report.State.RENDERING, "render_started_at": now - render_stale_after() * 2},
            LONG_AGO,
        ),
        ({"state": Report.State.FAILED, "error": "x"}, LONG_AGO),
    ]
    seen: set[bool] = set()
    for fields, by in cases:
        values: dict[str, object] = {"issued_at": now - by, "render_started_at": None, **fields}
        Report.objects.filter(pk=pending.pk).update(**values)
        pending.refresh_from_db()
        in_database = Report.objects.filter(
            certify.report_render_stuck_q(now=now), pk=pending.pk
        ).exists()
        assert certify.report_render_is_stuck(pending, now=now) == in_database, fields
        seen.add(in_database)
    assert seen == {True, False}


def test_a_rendering_is_abandoned_once_the_task_time_limit_and_a_margin_have_passed(
    settings: Settings,
) -> None:
    # No rendering outlives Celery's hard time limit, which kills it: waiting 15 minutes, as
    # before, only delayed the report.
    settings.CELERY_TASK_TIME_LIMIT = 600  # the default

    assert render_stale_after() == datetime.timedelta(seconds=600 + 30)

    settings.CELERY_TASK_TIME_LIMIT = 120

    assert render_stale_after() == datetime.timedelta(seconds=150)


@pytest.mark.parametrize(("started_ago", "taken_over"), [(149, False), (151, True)])
def test_the_sweeper_takes_over_a_rendering_killed_by_the_time_limit_and_no_sooner(
    pending: Report,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    started_ago: int,
    taken_over: bool,
) -> None:
    settings.CELERY_TASK_TIME_LIMIT = 120  # so abandoned after 150 s
    killed = age(
        pending,
        LONG_AGO,
        state=Report.State.RENDERING,
        render_started_at=timezone.now() - datetime.timedelta(seconds=started_ago),
    )

    assert certify.report_render_is_stuck(killed) is taken_over
    outcome = sweep(django_capture_on_commit_callbacks)

    killed.refresh_from_db()
    if taken_over:
        assert outcome.reports == [(killed.number, "rendering")]
        assert killed.state == Report.State.READY and killed.attempts == 1
    else:
        assert not outcome.requeued
        assert killed.state == Report.State.RENDERING


def test_a_second_rendering_does_not_claim_a_report_rendering_within_the_time_limit(
    pending: Report, settings: Settings
) -> None:
    settings.CELERY_TASK_TIME_LIMIT = 120
    started = timezone.now() - datetime.timedelta(seconds=100)
    age(pending, LONG_AGO, state=Report.State.RENDERING, render_started_at=started)

    assert rendering.report_render(report_id=pending.pk).status == "skipped"

    Report.objects.filter(pk=pending.pk).update(
        render_started_at=timezone.now() - datetime.timedelta(seconds=151)
    )
    assert rendering.report_render(report_id=pending.pk).status == "ready"


# ----------------------------------------------------------------------------------------------
# Campaign scoring runs


@pytest.fixture
def stalled_run(
    comprehensive: Framework, admin: User, assessor: User, assessor2: User
) -> CampaignScoringRun:
    """A running run of three assessments whose tasks never reached a worker."""
    campaign = bulk_scored_campaign(
        framework=comprehensive, size=3, assessors=[assessor, assessor2], admin=admin, name="清扫"
    )
    run = scoring.campaign_scoring_start(campaign=campaign, acting_user=admin)
    assert (run.state, run.total) == (CampaignScoringRun.State.RUNNING, 3)
    return run


def test_a_scoring_run_that_stopped_counting_gets_its_pending_assessments_queued_again(
    stalled_run: CampaignScoringRun,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    first = stalled_run.items.order_by("pk").first()
    assert first is not None
    results.assessment_score(assessment_id=first.assessment_id, run_id=stalled_run.pk)
    # Its last progress was longer than the grace period ago.
    CampaignScoringRun.objects.filter(pk=stalled_run.pk).update(
        started_at=timezone.now() - LONG_AGO * 2
    )
    CampaignScoringItem.objects.filter(pk=first.pk).update(finished_at=timezone.now() - LONG_AGO)

    outcome = sweep(django_capture_on_commit_callbacks)

    assert outcome.runs == {stalled_run.pk: 2} and outcome.reports == []
    stalled_run.refresh_from_db()
    assert (stalled_run.state, stalled_run.done) == (CampaignScoringRun.State.FINISHED, 3)
    (event,) = sweep_events()
    assert event.changes["runs"] == {str(stalled_run.pk): 2}
    assert (event.changes["scoring_runs"], event.changes["assessments"]) == (1, 2)


def test_a_scoring_run_that_counted_an_item_lately_is_left_alone(
    stalled_run: CampaignScoringRun,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    first = stalled_run.items.order_by("pk").first()
    assert first is not None
    CampaignScoringRun.objects.filter(pk=stalled_run.pk).update(
        started_at=timezone.now() - LONG_AGO
    )
    results.assessment_score(assessment_id=first.assessment_id, run_id=stalled_run.pk)

    assert not sweep(django_capture_on_commit_callbacks).requeued
    assert sweep_events() == []


def test_a_scoring_run_started_within_the_grace_period_is_left_alone(
    stalled_run: CampaignScoringRun,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    assert not sweep(django_capture_on_commit_callbacks).requeued
    stalled_run.refresh_from_db()
    assert stalled_run.done == 0


# ----------------------------------------------------------------------------------------------
# The three ways in: the task (sent by beat), the command, the admin's button (test_render_retry)


def test_the_sweep_task_sweeps_and_returns_the_counts(
    pending: Report, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    age(pending, LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        counts = reports_sweep_task.delay().get()

    assert counts == {"reports": 1, "scoring_runs": 0, "assessments": 0}
    pending.refresh_from_db()
    assert pending.state == Report.State.READY


def test_the_sweep_command_prints_what_it_queued_again(
    pending: Report,
    stalled_run: CampaignScoringRun,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    capsys: pytest.CaptureFixture[str],
) -> None:
    age(pending, LONG_AGO)
    CampaignScoringRun.objects.filter(pk=stalled_run.pk).update(
        started_at=timezone.now() - LONG_AGO
    )

    with django_capture_on_commit_callbacks(execute=True):
        call_command("sweep")
    call_command("sweep")

    out = capsys.readouterr().out
    assert f"Report {pending.number} (pending): rendering queued again." in out
    assert f"Campaign scoring run {stalled_run.pk}: 3 assessments queued again." in out
    assert "Queued again: 1 reports, 3 assessments of 1 scoring runs." in out
    assert out.rstrip().endswith("Nothing to queue again.")


def test_it_sweeps_nothing_in_an_empty_portal(db: None) -> None:
    assert sweeper.reports_sweep(acting_user=None) == sweeper.SweepOutcome()
    assert sweep_events() == []
