"""Writes of score results: compute an assessment's score and store it, and count the items
of a campaign run. The scoring tasks call these; nothing here queues a task.

Scoring is idempotent: a result is named by the SHA-256 of its inputs, so scoring the same
inputs again writes nothing, and a redelivered task (after a worker crash) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from assessments.models import Assessment
from audit.services import audit_record_many

from . import selectors
from .engine import breakdown_json, inputs_sha256, score
from .models import CampaignScoringItem, CampaignScoringRun, ScoreResult

# ----------------------------------------------------------------------------------------------
# One assessment


@dataclass(frozen=True)
class ScoreOutcome:
    # "created": a new version; "reinstated": an earlier version with these inputs is current
    # again; "unchanged": the current result already has these inputs; "skipped": the
    # assessment is not scored (yet, or any more); "missing": it does not exist.
    status: str
    result: ScoreResult | None = None


def assessment_score(
    *, assessment_id: int, run_id: int | None = None, acting_user: User | None = None
) -> ScoreOutcome:
    """Scores one assessment: ``assessments_score`` for one id."""
    return assessments_score(
        assessment_ids=[assessment_id], run_id=run_id, acting_user=acting_user
    )[assessment_id]


@transaction.atomic
def assessments_score(
    *, assessment_ids: list[int], run_id: int | None = None, acting_user: User | None = None
) -> dict[int, ScoreOutcome]:
    """Scores assessments from their consolidated ratings and stores the results, in one
    transaction and a fixed number of queries plus one audit record per changed result.

    Guarantees: exactly one current result per assessment (row locks on the assessments, taken
    in id order, serialise concurrent scorings, and a partial unique index enforces it); the
    same inputs never add a row; changed inputs add version n+1 and keep the old ones, and
    inputs changed back make their earlier version current again. With ``run_id`` each
    assessment's item of that run is counted once, however often this runs. A missing
    assessment, or one that is not scored or approved, is returned as "missing" or "skipped"
    (and counted as done in the run). Raises database errors only.
    """
    locked = list(
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework", "cloud")
        .filter(pk__in=assessment_ids)
        .order_by("pk")
    )
    outcomes: dict[int, ScoreOutcome] = {pk: ScoreOutcome("missing") for pk in assessment_ids}
    to_score = [a for a in locked if a.state in selectors.SCOREABLE_STATES]
    for a in locked:
        if a.state not in selectors.SCOREABLE_STATES:
            outcomes[a.pk] = ScoreOutcome("skipped")
    if to_score:
        outcomes.update(_store(to_score, acting_user))
    if run_id is not None:
        _items_finish(run_id, assessment_ids, CampaignScoringItem.State.DONE, "")
    return outcomes


def _store(assessments: list[Assessment], acting_user: User | None) -> dict[int, ScoreOutcome]:
    inputs = selectors.scoring_inputs_many(assessments=assessments)
    existing: dict[int, dict[str, ScoreResult]] = {a.pk: {} for a in assessments}
    for r in ScoreResult.objects.filter(assessment__in=assessments).only(
        "pk", "assessment_id", "version", "inputs_sha256", "is_current"
    ):
        existing[r.assessment_id][r.inputs_sha256] = r
    now = timezone.now()
    outcomes: dict[int, ScoreOutcome] = {}
    step_down: list[int] = []  # results that stop being current
    reinstate: list[ScoreResult] = []
    created: list[ScoreResult] = []
    for assessment in assessments:
        data = inputs[assessment.pk]
        sha = inputs_sha256(data.framework, data.inputs, data.vetoes)
        rows = existing[assessment.pk]
        same = rows.get(sha)
        if same is not None and same.is_current:
            outcomes[assessment.pk] = ScoreOutcome("unchanged", same)
            continue
        step_down += [r.pk for r in rows.values() if r.is_current]
        if same is not None:
            same.is_current, same.current_since = True, now
            reinstate.append(same)
            outcomes[assessment.pk] = ScoreOutcome("reinstated", same)
            continue
        breakdown = score(data.framework, data.inputs, data.vetoes)
        result = ScoreResult(
            assessment=assessment,
            version=max((r.version for r in rows.values()), default=0) + 1,
            is_current=True,
            inputs_sha256=sha,
            framework_id=data.framework.id,
            method=breakdown["method"],
            total=breakdown["total"],
            level_code=breakdown["level"]["code"] if breakdown["level"] else "",
            passed=breakdown["pass_check"]["passed"] if breakdown["pass_check"] else None,
            vetoed=any(v["applies"] for v in breakdown["vetoes"]),
            breakdown=breakdown_json(breakdown),
            current_since=now,
        )
        created.append(result)
        outcomes[assessment.pk] = ScoreOutcome("created", result)
    # The old current rows step down first: the partial unique index allows one at a time.
    if step_down:
        ScoreResult.objects.filter(pk__in=step_down).update(is_current=False)
    if reinstate:
        ScoreResult.objects.filter(pk__in=[r.pk for r in reinstate]).update(
            is_current=True, current_since=now
        )
    # full_clean is skipped on purpose: every field is computed above, and the constraints are
    # the database's to enforce under concurrency.
    ScoreResult.objects.bulk_create(created)
    by_pk = {a.pk: a for a in assessments}
    audit_record_many(
        action="reports.score.reinstated",
        acting_user=acting_user,
        records=[
            (
                by_pk[result.assessment_id],
                {"version": result.version, "inputs_sha256": result.inputs_sha256},
            )
            for result in reinstate
        ],
    )
    audit_record_many(
        action="reports.score.computed",
        acting_user=acting_user,
        records=[
            (
                by_pk[result.assessment_id],
                {
                    "version": result.version,
                    "total": str(result.total) if result.total is not None else None,
                    "level": result.level_code,
                    "passed": result.passed,
                    "inputs_sha256": result.inputs_sha256,
                },
            )
            for result in created
        ],
    )
    return outcomes


# ----------------------------------------------------------------------------------------------
# Counting the items of a campaign run


def _items_finish(run_id: int, assessment_ids: list[int], state: str, error: str) -> None:
    """Counts items of a run, each once: the guarded update of the items decides."""
    changed = CampaignScoringItem.objects.filter(
        run_id=run_id, assessment_id__in=assessment_ids, state=CampaignScoringItem.State.PENDING
    ).update(state=state, error=error[:2000], finished_at=timezone.now())
    if not changed:
        return
    counter = "done" if state == CampaignScoringItem.State.DONE else "failed"
    # The counter update locks the run row; the finishing UPDATE, a new statement, then sees
    # every concurrent task that committed before us, so exactly one of them finishes the run.
    CampaignScoringRun.objects.filter(pk=run_id).update(**{counter: F(counter) + changed})
    CampaignScoringRun.objects.filter(
        pk=run_id,
        state=CampaignScoringRun.State.RUNNING,
        total__lte=F("done") + F("failed"),
    ).update(state=CampaignScoringRun.State.FINISHED, finished_at=timezone.now())


@transaction.atomic
def scoring_items_fail(*, run_id: int, assessment_ids: list[int], error: str) -> None:
    """Counts the assessments of a run not counted yet as failed (their task gave up).
    Idempotent."""
    _items_finish(run_id, assessment_ids, CampaignScoringItem.State.FAILED, error)
