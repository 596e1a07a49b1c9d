"""The sweeper: queues again the work whose Celery message was lost.

A report waits in ``pending`` and a campaign scoring run counts its items only while their
messages are somewhere: in Redis, or held by a worker. A flushed broker, a worker that did not
know the task, or a worker killed past the broker's redelivery leaves them waiting forever. Every
minute (``celery beat`` sends ``reports.sweep``; ``manage.py sweep`` does the same by hand) the
sweeper queues again:

- the rendering of every stuck report (``reports.certified.services.report_render_is_stuck``:
  ``pending`` for longer than ``RENDER_PENDING_GRACE``, or ``rendering`` for longer than
  ``reports.certified.rendering.render_stale_after()``, Celery's hard time limit plus a margin:
  killed by the limit, or its worker dead);
- the pending items of every campaign scoring run still running with no item counted for longer
  than ``SCORING_RUN_GRACE``.

Queueing twice is harmless (the rendering claims a report with a guarded update, and scoring is
idempotent and counts each item once), but a sweep does not flood the queue while no worker
runs: it queues an object at most once per grace period, remembered in the cache (shared by
every process when ``CACHE_URL`` is Redis; with the in-process cache, at most once per process).
Everything here is one module because it is one concern across the parts of reports: work lost
on its way to a worker.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record

from .certified import services as certified_services
from .certified.models import Report
from .certified.services import RENDER_PENDING_GRACE
from .scoring import services as scoring_services
from .scoring.models import CampaignScoringItem, CampaignScoringRun

# A running campaign scoring run counts an item every few seconds while a worker takes its
# tasks; none counted for this long means its remaining messages were lost.
SCORING_RUN_GRACE = datetime.timedelta(minutes=2)
# The audit record names at most this many reports (its counts are always complete).
AUDIT_NAMES_MAX = 100


@dataclass(frozen=True)
class SweepOutcome:
    # (number, state) of each report whose rendering was queued again.
    reports: list[tuple[str, str]] = field(default_factory=list)
    # run id → assessments queued again.
    runs: dict[int, int] = field(default_factory=dict)

    @property
    def assessments(self) -> int:
        return sum(self.runs.values())

    @property
    def requeued(self) -> bool:
        return bool(self.reports or self.assessments)


def _first_in_window(kind: str, pk: int, window: datetime.timedelta) -> bool:
    """True for the first sweep that queues this object again within ``window``; False for
    later (or concurrent) sweeps within it. Forgotten cache entries only mean one more message."""
    return cache.add(f"reports:sweep:{kind}:{pk}", 1, timeout=int(window.total_seconds()) or 1)


def _stuck_reports_requeue(now: datetime.datetime, grace: datetime.timedelta) -> list[Report]:
    stuck = (
        Report.objects.filter(
            certified_services.report_render_stuck_q(now=now, pending_grace=grace)
        )
        .only("pk", "number", "state")
        .order_by("issued_at", "pk")
    )
    queued = []
    for report in stuck:
        if _first_in_window("report", report.pk, grace):
            certified_services.report_render_enqueue(report.pk)
            queued.append(report)
    return queued


def _stale_runs_requeue(now: datetime.datetime, grace: datetime.timedelta) -> dict[int, int]:
    since = now - grace
    progressing = CampaignScoringItem.objects.filter(run=OuterRef("pk"), finished_at__gte=since)
    stale = (
        CampaignScoringRun.objects.filter(
            state=CampaignScoringRun.State.RUNNING, started_at__lt=since
        )
        .exclude(Exists(progressing))
        .order_by("started_at", "pk")
    )
    queued: dict[int, int] = {}
    for run in stale:
        if _first_in_window("scoring_run", run.pk, grace):
            count = scoring_services.scoring_run_pending_enqueue(run=run)
            if count:
                queued[run.pk] = count
    return queued


@transaction.atomic
def reports_sweep(
    *,
    acting_user: User | None,
    now: datetime.datetime | None = None,
    report_grace: datetime.timedelta = RENDER_PENDING_GRACE,
    run_grace: datetime.timedelta = SCORING_RUN_GRACE,
) -> SweepOutcome:
    """Queues again, when this transaction commits, the rendering of stuck reports and the
    pending items of stale campaign scoring runs (see the module's docstring), and returns what
    it queued.

    Changes no state: the worker's claim of a report and its counting of an item do. Writes one
    ``reports.sweep.requeued`` audit record with the counts when it queued something, none
    otherwise. Safe to run twice or concurrently: an object is queued at most once per grace
    period (per cache), and a message too many renders or scores nothing twice. ``acting_user``
    is None for the system (beat, the command). Raises database errors only.
    """
    now = now or timezone.now()
    reports = _stuck_reports_requeue(now, report_grace)
    runs = _stale_runs_requeue(now, run_grace)
    outcome = SweepOutcome(reports=[(r.number, r.state) for r in reports], runs=runs)
    if outcome.requeued:
        audit_record(
            action="reports.sweep.requeued",
            acting_user=acting_user,
            changes={
                "reports": len(reports),
                "report_numbers": [r.number for r in reports[:AUDIT_NAMES_MAX]],
                "scoring_runs": len(runs),
                "assessments": outcome.assessments,
                "runs": {str(pk): count for pk, count in runs.items()},
            },
        )
    return outcome
