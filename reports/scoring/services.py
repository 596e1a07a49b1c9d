"""Writes for scoring that people start: campaign scoring runs and veto findings, and the
queueing of scoring tasks (always after the surrounding transaction commits).

The scoring itself (compute and store) is ``reports.scoring.results``, which the tasks call.
"""

from __future__ import annotations

from celery import group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment, Campaign
from assessments.services import assessment_lock
from audit.services import audit_record
from indicators.models import VetoRule

from . import selectors
from .models import CampaignScoringItem, CampaignScoringRun, VetoFinding
from .tasks import score_assessment_task, score_assessments_task

# ----------------------------------------------------------------------------------------------
# Queueing (always after the surrounding transaction commits)


def assessment_score_enqueue(assessment_id: int) -> None:
    """Queues the scoring of one assessment once the current transaction commits.

    Call it where an assessment becomes ``scored`` and where a settlement or a veto changes.
    Safe to call any number of times: the task writes nothing when the inputs are unchanged.
    """
    transaction.on_commit(lambda: score_assessment_task.delay(assessment_id))


def on_scoring_inputs_changed(sender: object, *, assessment_id: int, **kwargs: object) -> None:
    """Receives ``assessments.signals.scoring_inputs_changed``: re-scores after the commit."""
    assessment_score_enqueue(assessment_id)


# Assessments per campaign task: each task reads its batch in a fixed number of queries, so the
# database round trips per assessment stay low and do not grow with the campaign.
BATCH_SIZE = 20


def _enqueue_run(run_id: int, assessment_ids: list[int]) -> None:
    batches = [
        assessment_ids[n : n + BATCH_SIZE] for n in range(0, len(assessment_ids), BATCH_SIZE)
    ]

    def send() -> None:
        group(score_assessments_task.s(batch, run_id) for batch in batches).apply_async()

    transaction.on_commit(send)


def scoring_run_pending_enqueue(*, run: CampaignScoringRun) -> int:
    """Queues again, once the current transaction commits, every assessment of a running run
    that is not counted yet, and returns how many; 0 for a finished run. Records nothing: its
    callers say why they queue (``campaign_scoring_resume``, the sweeper). Harmless when the
    first tasks were not lost after all: scoring is idempotent and each item is counted once."""
    if run.state != CampaignScoringRun.State.RUNNING:
        return 0
    ids = list(
        run.items.filter(state=CampaignScoringItem.State.PENDING).values_list(
            "assessment_id", flat=True
        )
    )
    if ids:
        _enqueue_run(run.pk, ids)
    return len(ids)


# ----------------------------------------------------------------------------------------------
# Campaign runs


@transaction.atomic
def campaign_scoring_start(*, campaign: Campaign, acting_user: User | None) -> CampaignScoringRun:
    """Starts scoring every scored or approved assessment of the campaign: one task each, queued
    when this transaction commits. While a run of the campaign is running, returns that run and
    queues nothing (a partial unique index allows one running run per campaign). Admins only;
    ``acting_user`` None means the system (the management command)."""
    policy.require(acting_user, Action.CAMPAIGN_SCORE)
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
    policy.require(acting_user, Action.CAMPAIGN_SCORE)
    if run.state != CampaignScoringRun.State.RUNNING:
        return 0
    queued = scoring_run_pending_enqueue(run=run)
    audit_record(
        action="reports.scoring_run.resumed",
        acting_user=acting_user,
        target=run.campaign,
        changes={"run": run.pk, "assessments": queued},
    )
    return queued


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
    12 months), and re-scores it. Admins only; not once the assessment is approved, even by an
    approval at the same moment (the assessment's row is locked first)."""
    policy.require(acting_user, Action.VETO_MANAGE)
    assessment = assessment_lock(assessment=assessment)
    policy.require(acting_user, Action.VETO_MANAGE, assessment)
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
    """Withdraws a veto recorded by mistake, and re-scores. Admins only; not once approved (the
    assessment's row is locked first)."""
    policy.require(acting_user, Action.VETO_MANAGE)
    assessment = assessment_lock(assessment=finding.assessment)
    policy.require(acting_user, Action.VETO_MANAGE, assessment)
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
