"""Writes for scoring: results, campaign runs and veto findings.

Scoring is idempotent: a result is named by the SHA-256 of its inputs, so scoring the same
inputs again writes nothing, and a redelivered task (after a worker crash) is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from assessments.models import Assessment, Campaign
from audit.services import audit_record
from indicators.models import VetoRule

from . import selectors
from .models import CampaignScoringItem, CampaignScoringRun, ScoreResult, VetoFinding
from .scoring import breakdown_json, inputs_sha256, score


def _require_admin(user: User | None) -> None:
    if user is None or user.role != User.Role.ADMIN:
        raise PermissionDenied(_("Your role may not do this."))


# ----------------------------------------------------------------------------------------------
# Queueing (always after the surrounding transaction commits)


def assessment_score_enqueue(assessment_id: int) -> None:
    """Queues the scoring of one assessment once the current transaction commits.

    Call it where an assessment becomes ``scored`` and where a settlement or a veto changes.
    Safe to call any number of times: the task writes nothing when the inputs are unchanged.
    """
    from .tasks import score_assessment_task

    transaction.on_commit(lambda: score_assessment_task.delay(assessment_id))


def _enqueue_run(run_id: int, assessment_ids: list[int]) -> None:
    from celery import group

    from .tasks import score_assessment_task

    def send() -> None:
        group(score_assessment_task.s(pk, run_id) for pk in assessment_ids).apply_async()

    transaction.on_commit(send)


# ----------------------------------------------------------------------------------------------
# One assessment


@dataclass(frozen=True)
class ScoreOutcome:
    # "created": a new version; "reinstated": an earlier version with these inputs is current
    # again; "unchanged": the current result already has these inputs; "skipped": the
    # assessment is not scored (yet, or any more); "missing": it does not exist.
    status: str
    result: ScoreResult | None = None


@transaction.atomic
def assessment_score(
    *, assessment_id: int, run_id: int | None = None, acting_user: User | None = None
) -> ScoreOutcome:
    """Scores one assessment from its consolidated ratings and stores the result.

    Guarantees: exactly one current result per assessment (the row lock on the assessment
    serialises concurrent scorings, and a partial unique index enforces it); the same inputs
    never add a row; changed inputs add version n+1 and keep the old ones. With ``run_id`` the
    assessment's item of that run is counted once, however often this runs. Returns quietly for
    a missing assessment or one that is not scored or approved. Raises database errors only.
    """
    assessment = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework")
        .filter(pk=assessment_id)
        .first()
    )
    if assessment is None:
        return ScoreOutcome("missing")
    if assessment.state not in selectors.SCOREABLE_STATES:
        outcome = ScoreOutcome("skipped")
    else:
        outcome = _store(assessment, acting_user)
    if run_id is not None:
        _item_finish(run_id, assessment_id, CampaignScoringItem.State.DONE, "")
    return outcome


def _store(assessment: Assessment, acting_user: User | None) -> ScoreOutcome:
    data = selectors.scoring_inputs(assessment=assessment)
    sha = inputs_sha256(data.framework, data.inputs, data.vetoes)
    existing = {
        r.inputs_sha256: r
        for r in ScoreResult.objects.filter(assessment=assessment).only(
            "pk", "version", "inputs_sha256", "is_current"
        )
    }
    now = timezone.now()
    same = existing.get(sha)
    if same is not None and same.is_current:
        return ScoreOutcome("unchanged", same)
    # The old current row steps down first: the partial unique index allows one at a time.
    ScoreResult.objects.filter(assessment=assessment, is_current=True).update(is_current=False)
    if same is not None:
        ScoreResult.objects.filter(pk=same.pk).update(is_current=True, current_since=now)
        same.is_current = True
        audit_record(
            action="reports.score.reinstated",
            acting_user=acting_user,
            target=assessment,
            changes={"version": same.version, "inputs_sha256": sha},
        )
        return ScoreOutcome("reinstated", same)
    breakdown = score(data.framework, data.inputs, data.vetoes)
    result = ScoreResult(
        assessment=assessment,
        version=max((r.version for r in existing.values()), default=0) + 1,
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
    # full_clean is skipped on purpose: every field is computed above, and the constraints are
    # the database's to enforce under concurrency.
    result.save()
    audit_record(
        action="reports.score.computed",
        acting_user=acting_user,
        target=assessment,
        changes={
            "version": result.version,
            "total": str(result.total) if result.total is not None else None,
            "level": result.level_code,
            "passed": result.passed,
            "inputs_sha256": sha,
        },
    )
    return ScoreOutcome("created", result)


# ----------------------------------------------------------------------------------------------
# Campaign runs


def _item_finish(run_id: int, assessment_id: int, state: str, error: str) -> None:
    """Counts one item of a run, once: the guarded update of the item decides."""
    changed = CampaignScoringItem.objects.filter(
        run_id=run_id, assessment_id=assessment_id, state=CampaignScoringItem.State.PENDING
    ).update(state=state, error=error[:2000], finished_at=timezone.now())
    if changed != 1:
        return
    counter = "done" if state == CampaignScoringItem.State.DONE else "failed"
    CampaignScoringRun.objects.filter(pk=run_id).update(**{counter: F(counter) + 1})
    # A new statement sees every run that committed before our counter update took the lock.
    CampaignScoringRun.objects.filter(
        pk=run_id,
        state=CampaignScoringRun.State.RUNNING,
        total__lte=F("done") + F("failed"),
    ).update(state=CampaignScoringRun.State.FINISHED, finished_at=timezone.now())


@transaction.atomic
def scoring_item_fail(*, run_id: int, assessment_id: int, error: str) -> None:
    """Counts an assessment of a run as failed (its task gave up). Idempotent."""
    _item_finish(run_id, assessment_id, CampaignScoringItem.State.FAILED, error)


@transaction.atomic
def campaign_scoring_start(*, campaign: Campaign, acting_user: User | None) -> CampaignScoringRun:
    """Starts scoring every scored or approved assessment of the campaign: one task each, queued
    when this transaction commits. While a run of the campaign is running, returns that run and
    queues nothing (a partial unique index allows one running run per campaign). Admins only;
    ``acting_user`` None means the system (the management command)."""
    if acting_user is not None:
        _require_admin(acting_user)
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    running = selectors.scoring_run_running(campaign=campaign)
    if running is not None:
        return running
    ids = list(selectors.assessments_to_score(campaign=campaign).values_list("pk", flat=True))
    run = CampaignScoringRun(campaign=campaign, total=len(ids), started_by=acting_user)
    if not ids:
        run.state = CampaignScoringRun.State.FINISHED
        run.finished_at = timezone.now()
    run.full_clean()
    run.save()
    CampaignScoringItem.objects.bulk_create(
        CampaignScoringItem(run=run, assessment_id=pk) for pk in ids
    )
    audit_record(
        action="reports.scoring_run.started",
        acting_user=acting_user,
        target=campaign,
        changes={"run": run.pk, "assessments": len(ids)},
    )
    if ids:
        _enqueue_run(run.pk, ids)
    return run


@transaction.atomic
def campaign_scoring_resume(*, run: CampaignScoringRun, acting_user: User | None) -> int:
    """Queues again every assessment of a running run that is not counted yet, for a run whose
    tasks were lost (say, a broker flushed). Harmless if they were not lost: scoring is
    idempotent and each item is counted once. Returns how many were queued."""
    if acting_user is not None:
        _require_admin(acting_user)
    if run.state != CampaignScoringRun.State.RUNNING:
        return 0
    ids = list(
        run.items.filter(state=CampaignScoringItem.State.PENDING).values_list(
            "assessment_id", flat=True
        )
    )
    audit_record(
        action="reports.scoring_run.resumed",
        acting_user=acting_user,
        target=run.campaign,
        changes={"run": run.pk, "assessments": len(ids)},
    )
    if ids:
        _enqueue_run(run.pk, ids)
    return len(ids)


# ----------------------------------------------------------------------------------------------
# Vetoes


def _rescore_if_scored(assessment: Assessment) -> None:
    if assessment.state in selectors.SCOREABLE_STATES:
        assessment_score_enqueue(assessment.pk)


@transaction.atomic
def veto_finding_record(
    *, assessment: Assessment, veto_rule: VetoRule, note: str, acting_user: User
) -> VetoFinding:
    """Records that a veto applies to the assessment (say, a major security incident in the last
    12 months), and re-scores it. Admins only; not once the assessment is approved."""
    _require_admin(acting_user)
    if assessment.is_locked:
        raise ValidationError(_("Approved assessments are read-only."))
    if veto_rule.framework_id != assessment.campaign.framework_id:
        raise ValidationError({"veto_rule": _("This veto belongs to another framework.")})
    if not note.strip():
        raise ValidationError({"note": _("Say what happened and where it is documented.")})
    if VetoFinding.objects.filter(assessment=assessment, veto_rule=veto_rule).exists():
        raise ValidationError(_("This veto is already recorded."))
    finding = VetoFinding(
        assessment=assessment, veto_rule=veto_rule, note=note.strip(), recorded_by=acting_user
    )
    finding.full_clean()
    finding.save()
    audit_record(
        action="reports.veto.recorded",
        acting_user=acting_user,
        target=assessment,
        changes={"veto": veto_rule.code, "note": finding.note},
    )
    _rescore_if_scored(assessment)
    return finding


@transaction.atomic
def veto_finding_withdraw(*, finding: VetoFinding, reason: str, acting_user: User) -> None:
    """Withdraws a veto recorded by mistake, and re-scores. Admins only; not once approved."""
    _require_admin(acting_user)
    assessment = finding.assessment
    if assessment.is_locked:
        raise ValidationError(_("Approved assessments are read-only."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the veto is withdrawn.")})
    audit_record(
        action="reports.veto.withdrawn",
        acting_user=acting_user,
        target=assessment,
        changes={"veto": finding.veto_rule.code, "note": finding.note, "reason": reason.strip()},
    )
    finding.delete()
    _rescore_if_scored(assessment)
