"""Stored results: versioned by their inputs, exactly one current; campaign runs; vetoes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, transaction
from django.utils import translation
from pytest_django import DjangoCaptureOnCommitCallbacks

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment
from audit.models import AuditEvent
from indicators.models import Indicator, VetoRule
from reports.models import CampaignScoringItem, CampaignScoringRun, ScoreResult, VetoFinding
from reports.scoring import results, services
from reports.scoring.selectors import score_result_for


def _indicator(assessment: Assessment, code: str) -> Indicator:
    return Indicator.objects.get(framework=assessment.campaign.framework, code=code)


def test_scoring_a_scored_assessment_stores_a_first_current_version(scored: Assessment) -> None:
    outcome = results.assessment_score(assessment_id=scored.pk)

    assert outcome.status == "created"
    result = ScoreResult.objects.get(assessment=scored)
    assert (result.version, result.is_current) == (1, True)
    # Every indicator rated 2 of 3 gives two thirds of the weight, plus what interpolation adds.
    assert result.total is not None
    assert Decimal("66.67") <= result.total < Decimal(75)
    assert result.level_code == "basic"
    assert len(result.inputs_sha256) == 64
    assert result.breakdown["total"] == str(result.total)
    assert AuditEvent.objects.filter(action="reports.score.computed").count() == 1


def test_scoring_the_same_inputs_again_creates_nothing(scored: Assessment) -> None:
    results.assessment_score(assessment_id=scored.pk)

    again = results.assessment_score(assessment_id=scored.pk)

    assert again.status == "unchanged"
    assert ScoreResult.objects.filter(assessment=scored).count() == 1
    assert AuditEvent.objects.filter(action="reports.score.computed").count() == 1


def test_changed_ratings_add_a_version_and_keep_the_old_one(
    scored: Assessment, admin: User
) -> None:
    first = results.assessment_score(assessment_id=scored.pk).result
    workflow.settlement_save(
        assessment=scored,
        indicator=_indicator(scored, "1.3"),
        rating=3,
        reason="现场核查确认已建成安全运营中心。",
        acting_user=admin,
    )

    second = results.assessment_score(assessment_id=scored.pk).result

    assert first is not None and second is not None
    assert first.total is not None and second.total is not None
    assert second.version == 2 and second.total > first.total
    assert second.inputs_sha256 != first.inputs_sha256
    first.refresh_from_db()
    assert first.is_current is False
    assert ScoreResult.objects.filter(assessment=scored, is_current=True).get() == second


def test_inputs_changed_back_make_the_earlier_version_current_again(
    scored: Assessment, admin: User
) -> None:
    first = results.assessment_score(assessment_id=scored.pk).result
    assert first is not None
    indicator = _indicator(scored, "1.3")
    workflow.settlement_save(
        assessment=scored, indicator=indicator, rating=3, reason="复核。", acting_user=admin
    )
    results.assessment_score(assessment_id=scored.pk)
    workflow.settlement_save(
        assessment=scored, indicator=indicator, rating=2, reason="再复核。", acting_user=admin
    )
    # A settlement equal to the mean still differs: the breakdown shows it was settled.
    results.assessment_score(assessment_id=scored.pk)
    scored.settlements.all().delete()

    back = results.assessment_score(assessment_id=scored.pk)

    assert back.status == "reinstated" and back.result is not None
    assert back.result.pk == first.pk
    assert ScoreResult.objects.filter(assessment=scored).count() == 3
    assert ScoreResult.objects.filter(assessment=scored, is_current=True).get().pk == first.pk


def test_the_database_refuses_a_second_current_result(scored: Assessment) -> None:
    result = results.assessment_score(assessment_id=scored.pk).result
    assert result is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        ScoreResult.objects.create(
            assessment=scored,
            version=2,
            is_current=True,
            inputs_sha256="0" * 64,
            framework=result.framework,
            method="1",
            breakdown={},
            current_since=result.current_since,
        )


def test_an_assessment_that_is_not_scored_or_is_gone_is_skipped_quietly(
    assessment: Assessment,
) -> None:
    assert results.assessment_score(assessment_id=assessment.pk).status == "skipped"
    assert results.assessment_score(assessment_id=10**9).status == "missing"
    assert not ScoreResult.objects.exists()


def test_a_recorded_veto_caps_the_level_and_is_audited(
    scored: Assessment,
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    veto = VetoRule.objects.get(framework=scored.campaign.framework)
    for code in ("1.2", "1.3", "2.1", "2.2"):
        workflow.settlement_save(
            assessment=scored,
            indicator=_indicator(scored, code),
            rating=3,
            reason="复核。",
            acting_user=admin,
        )
    results.assessment_score(assessment_id=scored.pk)

    with django_capture_on_commit_callbacks(execute=True):
        services.veto_finding_record(
            assessment=scored,
            veto_rule=veto,
            note="2025年6月发生数据泄露事件，见网信办通报。",
            acting_user=admin,
        )

    result = ScoreResult.objects.get(assessment=scored, is_current=True)
    assert result.vetoed is True and result.version == 2
    assert result.breakdown["vetoes"][0]["applies"] is True
    assert result.level_code == "basic"
    assert AuditEvent.objects.filter(action="reports.veto.recorded").exists()


def test_only_admins_record_vetoes(scored: Assessment, assessor: User) -> None:
    from django.core.exceptions import PermissionDenied

    veto = VetoRule.objects.get(framework=scored.campaign.framework)
    with pytest.raises(PermissionDenied):
        services.veto_finding_record(
            assessment=scored, veto_rule=veto, note="x", acting_user=assessor
        )
    assert not VetoFinding.objects.exists()


def test_no_veto_is_recorded_on_an_excluded_cloud(scored: Assessment, admin: User) -> None:
    from django.core.exceptions import ValidationError

    results.assessment_score(assessment_id=scored.pk)
    assert score_result_for(user=admin, assessment=scored) is not None
    workflow.assessment_exclude(
        assessment=scored, reason="该云平台停止运营，退出本批次评估。", acting_user=admin
    )
    veto = VetoRule.objects.get(framework=scored.campaign.framework)
    # The message in English whatever language an earlier test left active.
    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="excluded from the campaign"),
    ):
        services.veto_finding_record(
            assessment=scored, veto_rule=veto, note="重大安全事件", acting_user=admin
        )
    assert not VetoFinding.objects.exists()
    # Its last result is kept, but the page no longer shows it as the cloud's score.
    assert ScoreResult.objects.filter(assessment=scored, is_current=True).exists()
    assert score_result_for(user=admin, assessment=scored) is None


def test_scoring_a_campaign_counts_every_assessment_once(
    scored: Assessment,
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.campaign_scoring_start(campaign=scored.campaign, acting_user=admin)

    run.refresh_from_db()
    assert (run.state, run.total, run.done, run.failed) == ("finished", 1, 1, 0)
    assert ScoreResult.objects.filter(assessment=scored, is_current=True).count() == 1
    # A redelivered task finds its item counted and the result unchanged.
    results.assessment_score(assessment_id=scored.pk, run_id=run.pk)
    run.refresh_from_db()
    assert (run.done, run.failed) == (1, 0)


def test_a_second_start_while_running_returns_the_running_run(
    scored: Assessment, admin: User
) -> None:
    first = services.campaign_scoring_start(campaign=scored.campaign, acting_user=admin)

    second = services.campaign_scoring_start(campaign=scored.campaign, acting_user=admin)

    assert second.pk == first.pk
    assert CampaignScoringRun.objects.count() == 1
    assert CampaignScoringItem.objects.count() == 1


def test_a_campaign_with_nothing_to_score_finishes_at_once(
    assessment: Assessment, admin: User
) -> None:
    run = services.campaign_scoring_start(campaign=assessment.campaign, acting_user=admin)

    assert (run.state, run.total) == ("finished", 0)


def test_a_task_that_gives_up_counts_its_assessment_as_failed(
    scored: Assessment, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.scoring.tasks import score_assessment_task

    run = services.campaign_scoring_start(campaign=scored.campaign, acting_user=admin)

    def broken(**kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(results, "assessment_score", broken)
    # As a worker runs it: the error is recorded, not raised to the caller.
    outcome = score_assessment_task.apply(args=(scored.pk, run.pk), throw=False)

    assert outcome.failed()

    run.refresh_from_db()
    assert (run.state, run.done, run.failed) == ("finished", 0, 1)
    assert run.items.get().error == "ValueError: a bug"


def test_a_transient_database_error_is_retried(
    scored: Assessment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.scoring.tasks import score_assessment_task

    real = results.assessment_score
    calls: list[int] = []

    def flaky(
        *, assessment_id: int, run_id: int | None = None, acting_user: User | None = None
    ) -> results.ScoreOutcome:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(assessment_id=assessment_id, run_id=run_id, acting_user=acting_user)

    monkeypatch.setattr(results, "assessment_score", flaky)

    # Run eagerly, the retry runs at once (a worker would wait with backoff first).
    score_assessment_task.apply(args=(scored.pk,), throw=False)

    assert len(calls) == 2
    assert ScoreResult.objects.filter(assessment=scored, is_current=True).count() == 1


def test_the_command_scores_a_campaign(
    scored: Assessment, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("score_campaign", str(scored.campaign.pk), stdout=out)

    assert "1 assessments" in out.getvalue()
    assert ScoreResult.objects.filter(assessment=scored).count() == 1


def test_the_bulk_inputs_agree_with_the_workflows_consolidated_ratings(
    scored: Assessment, admin: User
) -> None:
    from assessments.selectors import consolidated_ratings
    from reports.scoring.selectors import scoring_inputs

    workflow.settlement_save(
        assessment=scored,
        indicator=_indicator(scored, "2.2"),
        rating=1,
        reason="复核。",
        acting_user=admin,
    )
    scored = Assessment.objects.select_related("campaign__framework").get(pk=scored.pk)

    inputs = scoring_inputs(assessment=scored).inputs

    expected = consolidated_ratings(assessment=scored)
    assert {k: (v.rating, v.met, v.settled) for k, v in inputs.items()} == {
        k: (c.rating, c.met, c.settled) for k, c in expected.items()
    }


def test_a_batch_scores_each_assessment_and_reports_the_missing_one(scored: Assessment) -> None:
    outcomes = results.assessments_score(assessment_ids=[scored.pk, 10**9])

    assert {pk: o.status for pk, o in outcomes.items()} == {scored.pk: "created", 10**9: "missing"}
