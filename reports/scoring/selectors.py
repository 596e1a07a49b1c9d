"""Reads for scoring: the framework as plain values, the inputs of one assessment, results and
campaign runs, scoped to the user where a person asks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from threading import Lock
from typing import NamedTuple

from django.db.models import QuerySet
from django.http import Http404

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Answer, Assessment, Campaign, Rating, Settlement
from assessments.selectors import assessment_get_for, consolidate
from indicators.models import Framework, Indicator, LevelRule, TrustedPassRule, VetoRule

from .engine import (
    DimensionSpec,
    FrameworkSpec,
    IndicatorInput,
    IndicatorSpec,
    LevelSpec,
    PassRuleSpec,
    VetoSpec,
)
from .models import CampaignScoringRun, ScoreResult, VetoFinding

# Published frameworks never change (a change is a new version), so their specs are cached per
# process, keyed by id and content hash. Drafts are read afresh every time.
_SPEC_CACHE: dict[tuple[int, str], FrameworkSpec] = {}
_SPEC_LOCK = Lock()


def framework_spec(*, framework: Framework) -> FrameworkSpec:
    """The framework version as the plain values ``reports.scoring.score`` takes."""
    key = (framework.pk, framework.content_sha256)
    cacheable = framework.state == Framework.State.PUBLISHED and bool(framework.content_sha256)
    if cacheable and key in _SPEC_CACHE:
        return _SPEC_CACHE[key]
    indicators = (
        Indicator.objects.filter(framework=framework)
        .select_related("dimension")
        .prefetch_related("rubric")
        .order_by("dimension__order", "order")
    )
    levels = LevelRule.objects.filter(framework=framework).order_by("order")
    vetoes = VetoRule.objects.filter(framework=framework).select_related("cap_level")
    pass_rule = TrustedPassRule.objects.filter(framework=framework).first()
    spec = FrameworkSpec(
        id=framework.pk,
        code=framework.code,
        version=framework.version,
        kind=framework.kind,
        max_rating=framework.max_rating,
        total_weight=framework.total_weight,
        content_sha256=framework.content_sha256,
        unrated_name_zh=framework.unrated_name_zh,
        unrated_name_en=framework.unrated_name_en,
        dimensions=tuple(
            DimensionSpec(d.code, d.name_zh, d.name_en)
            for d in framework.dimensions.order_by("order")
        ),
        indicators=tuple(
            IndicatorSpec(
                id=i.pk,
                code=i.code,
                dimension_code=i.dimension.code,
                weight=i.weight,
                name_zh=i.name_zh,
                name_en=i.name_en,
                is_key=i.is_key,
                requirement_type=i.requirement_type,
                interpolate=i.interpolate and i.is_quantitative,
                anchors=tuple(
                    sorted((r.rating, r.anchor) for r in i.rubric.all() if r.anchor is not None)
                ),
            )
            for i in indicators
        ),
        levels=tuple(
            LevelSpec(
                code=lv.code,
                min_total=lv.min_total,
                min_dimension_share=lv.min_dimension_share,
                min_key_rating=lv.min_key_rating,
                name_zh=lv.name_zh,
                name_en=lv.name_en,
            )
            for lv in levels
        ),
        vetoes=tuple(
            VetoSpec(
                code=v.code,
                cap_level=v.cap_level.code if v.cap_level else None,
                description_zh=v.description_zh,
                description_en=v.description_en,
            )
            for v in vetoes
        ),
        pass_rule=PassRuleSpec(
            min_graded_share=pass_rule.min_graded_share,
            require_all_mandatory=pass_rule.require_all_mandatory,
            min_graded_rating=pass_rule.min_graded_rating,
            validity_months=pass_rule.validity_months,
        )
        if pass_rule
        else None,
    )
    if cacheable:
        with _SPEC_LOCK:
            _SPEC_CACHE[key] = spec
    return spec


@dataclass(frozen=True)
class ScoringInputs:
    framework: FrameworkSpec
    inputs: dict[int, IndicatorInput]
    vetoes: frozenset[str]


class _Vote(NamedTuple):
    rating: int | None
    met: bool | None


class _Rated(NamedTuple):
    pk: int
    is_mandatory: bool


def scoring_inputs_many(*, assessments: list[Assessment]) -> dict[int, ScoringInputs]:
    """Everything the scores of ``assessments`` depend on, in four queries however many there
    are (their campaigns and frameworks must be loaded): the consolidated ratings (the rule of
    ``assessments.selectors.consolidate``, as ``consolidated_ratings`` applies it: the mean of
    the assessors in assignment order, unless the lead settled it), the vendor's measured values
    of interpolating indicators, and the vetoes recorded."""
    ids = [a.pk for a in assessments]
    # Plain tuples, not model instances: a campaign of 400 has 16,000 ratings, and building a
    # model instance costs more than consolidating it.
    ratings: dict[tuple[int, int], list[_Vote]] = defaultdict(list)
    for assessment_id, indicator_id, rating, met in (
        # Removed (or replaced) assessors' ratings stay in the record but do not count.
        Rating.objects.filter(
            assignment__assessment_id__in=ids, assignment__removed_at__isnull=True
        )
        .order_by("assignment__assigned_at", "assignment_id")
        .values_list("assignment__assessment_id", "indicator_id", "rating", "met")
    ):
        ratings[(assessment_id, indicator_id)].append(_Vote(rating, met))
    settlements = {
        (a, i): _Vote(rating, met)
        for a, i, rating, met in Settlement.objects.filter(assessment_id__in=ids).values_list(
            "assessment_id", "indicator_id", "rating", "met"
        )
    }
    values = {
        (a, i): value
        for a, i, value in Answer.objects.filter(
            assessment_id__in=ids, indicator__interpolate=True
        ).values_list("assessment_id", "indicator_id", "value")
    }
    vetoes: dict[int, set[str]] = defaultdict(set)
    for a, code in VetoFinding.objects.filter(assessment_id__in=ids).values_list(
        "assessment_id", "veto_rule__code"
    ):
        vetoes[a].add(code)
    found: dict[int, ScoringInputs] = {}
    for assessment in assessments:
        spec = framework_spec(framework=assessment.campaign.framework)
        inputs = {}
        for indicator in spec.indicators:
            key = (assessment.pk, indicator.id)
            c = consolidate(
                indicator=_Rated(
                    indicator.id,
                    indicator.requirement_type == Indicator.RequirementType.MANDATORY,
                ),
                ratings=ratings.get(key, []),
                settlement=settlements.get(key),
            )
            inputs[indicator.id] = IndicatorInput(
                rating=c.rating,
                met=c.met,
                settled=c.settled,
                value=values.get(key) if indicator.interpolate else None,
            )
        found[assessment.pk] = ScoringInputs(spec, inputs, frozenset(vetoes[assessment.pk]))
    return found


def scoring_inputs(*, assessment: Assessment) -> ScoringInputs:
    """``scoring_inputs_many`` for one assessment."""
    return scoring_inputs_many(assessments=[assessment])[assessment.pk]


# ----------------------------------------------------------------------------------------------
# Results


def score_result_current(*, assessment: Assessment) -> ScoreResult | None:
    return ScoreResult.objects.filter(assessment=assessment, is_current=True).first()


def score_results_of(*, assessment: Assessment) -> QuerySet[ScoreResult]:
    """Every version, newest first."""
    return ScoreResult.objects.filter(assessment=assessment).order_by("-version")


def score_visible_to(*, user: User, assessment: Assessment) -> bool:
    """Who may read an assessment's score (``accounts.policy``, ``score.view``): admins and its
    assessors always; the cloud's vendor and owner once the assessment is approved."""
    return policy.can(user, Action.SCORE_VIEW, assessment)


def score_result_for(*, user: User, assessment: Assessment) -> ScoreResult | None:
    """The current result for the assessment page's breakdown, or None when there is none, the
    user may not read it yet, or the cloud is excluded from the campaign (its last result stays
    stored, and comes back if it is re-included, but it is no longer a result of the campaign)."""
    if assessment.state == Assessment.State.EXCLUDED:
        return None
    if not score_visible_to(user=user, assessment=assessment):
        return None
    return score_result_current(assessment=assessment)


def assessment_with_score_get_for(*, user: User, pk: int) -> Assessment:
    """The assessment if the user may read its score; Http404 otherwise."""
    assessment = assessment_get_for(user=user, pk=pk)
    if not score_visible_to(user=user, assessment=assessment):
        raise Http404
    return assessment


def veto_findings_of(*, assessment: Assessment) -> QuerySet[VetoFinding]:
    return VetoFinding.objects.filter(assessment=assessment).select_related(
        "veto_rule", "recorded_by"
    )


def veto_rules_open(*, assessment: Assessment) -> QuerySet[VetoRule]:
    """The framework's vetoes not yet recorded for the assessment."""
    return VetoRule.objects.filter(framework_id=assessment.campaign.framework_id).exclude(
        pk__in=VetoFinding.objects.filter(assessment=assessment).values("veto_rule_id")
    )


# ----------------------------------------------------------------------------------------------
# Campaign runs

SCOREABLE_STATES = (Assessment.State.SCORED, Assessment.State.APPROVED)


def assessments_to_score(*, campaign: Campaign) -> QuerySet[Assessment]:
    """The assessments of a campaign whose scoring is complete (scored or approved)."""
    return campaign.assessments.filter(state__in=SCOREABLE_STATES).order_by("pk")


def scoring_run_latest(*, campaign: Campaign) -> CampaignScoringRun | None:
    return (
        CampaignScoringRun.objects.filter(campaign=campaign).order_by("-started_at", "-id").first()
    )


def scoring_run_running(*, campaign: Campaign) -> CampaignScoringRun | None:
    return CampaignScoringRun.objects.filter(
        campaign=campaign, state=CampaignScoringRun.State.RUNNING
    ).first()


def scoring_progress(*, campaign: Campaign) -> dict[str, object]:
    """The JSON the campaign page polls: the latest run's counts, or state "none"."""
    run = scoring_run_latest(campaign=campaign)
    if run is None:
        return {"state": "none", "total": 0, "done": 0, "failed": 0, "percent": 0}
    return {
        "run": run.pk,
        "state": run.state,
        "total": run.total,
        "done": run.done,
        "failed": run.failed,
        "percent": run.percent,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


@dataclass(frozen=True)
class CampaignScoreRow:
    assessment: Assessment
    result: ScoreResult | None
    level: LevelRule | None


def campaign_score_rows(*, campaign: Campaign) -> list[CampaignScoreRow]:
    """Every assessment of the campaign with its current result (if any) and level, in three
    queries."""
    results = {
        r.assessment_id: r
        for r in ScoreResult.objects.filter(assessment__campaign=campaign, is_current=True).defer(
            "breakdown"
        )
    }
    assessments = campaign.assessments.select_related("cloud", "cloud__owner").order_by(
        "cloud__owner__division_code", "cloud__name"
    )
    levels = {lv.code: lv for lv in LevelRule.objects.filter(framework_id=campaign.framework_id)}
    rows = []
    for a in assessments:
        result = results.get(a.pk)
        rows.append(CampaignScoreRow(a, result, levels.get(result.level_code) if result else None))
    return rows
