"""Demo rankings: published through the real services, for two years."""

from __future__ import annotations

import datetime
from typing import TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from assessments.models import Assessment, Campaign
from reports.rankings import rules, selectors
from reports.rankings.models import Ranking
from reports.rankings.services import (
    ranking_adjustment_save,
    ranking_draft_get_or_create,
    ranking_publish,
    ranking_settings_save,
)
from reports.scoring.results import assessments_score

from .campaigns import load_demo_campaign


class _PublicSettings(TypedDict):
    """How a demo ranking is made public (the rest of ``ranking_settings_save``'s settings are
    the draft's own)."""

    public_form: str
    notice_starts_on: datetime.date | None
    notice_ends_on: datetime.date | None


def _demo_decide_ties(draft: Ranking, admin: User) -> None:
    provisional = selectors.ranking_provisional(ranking=draft)
    for pool in provisional.result.undecided if provisional.result else ():
        # The demo office keeps the list at its quota: the tied entries below the line stay out.
        outside = [e for e in pool.boundary_tie if not e.selected]
        ranking_adjustment_save(
            ranking=draft,
            assessment=draft.campaign.assessments.get(pk=outside[0].candidate.assessment_id),
            move=rules.OUT,
            reason="（演示）并列于名额线，评估办公室合议后维持名额数。",
            acting_user=admin,
        )


def _demo_publish(campaign: Campaign, admin: User, **settings: Unpack[_PublicSettings]) -> Ranking:
    draft = ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    ranking_settings_save(
        ranking=draft,
        quotas=draft.quotas,
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        acting_user=admin,
        **settings,
    )
    _demo_decide_ties(draft, admin)
    # This year's demo campaign runs every state of the workflow: the office acknowledges the
    # assessments that are not approved yet, as the real publishing page asks.
    unfinished = selectors.ranking_provisional(ranking=draft).data.unfinished
    return ranking_publish(
        ranking=draft,
        unfinished_acknowledged=[a.pk for a in unfinished],
        unfinished_reason="（演示）部分评估尚未批准，不影响已批准结果的公示；演示名单照常发布。"
        if unfinished
        else "",
        acting_user=admin,
    )


def _demo_score(campaign: Campaign) -> None:
    """Scores approved assessments that have no result yet (when tasks did not run in-process):
    the scoring service writes nothing for inputs it has already scored."""
    missing = list(
        campaign.assessments.filter(state=Assessment.State.APPROVED)
        .exclude(score_results__is_current=True)
        .values_list("pk", flat=True)
    )
    if missing:
        assessments_score(assessment_ids=missing)


def demo_rankings_publish() -> list[Ranking]:
    """Published demo rankings for two years, built through the real services: last year's
    final list (from a finished demo campaign, grouped by level with scores hidden, as
    customary) and this year's list on public notice from the day it is published (ranked with
    scores; against last year, which hid its scores, each cloud is newly listed or listed two
    years in a row, with no change of score or position). Idempotent: a year whose demo ranking
    is published is left as it is. Returns the latest published version of each year."""
    admin = User.objects.get(username="admin", is_demo=True)
    year = timezone.localdate().year
    today = timezone.localdate()
    published = []
    plans: list[tuple[int, _PublicSettings]] = [
        (
            year - 1,
            {
                "public_form": Ranking.PublicForm.GROUPED,
                "notice_starts_on": None,
                "notice_ends_on": None,
            },
        ),
        (
            year,
            {
                "public_form": Ranking.PublicForm.RANKED,
                "notice_starts_on": today,  # never before the list is published
                "notice_ends_on": today + datetime.timedelta(days=7),
            },
        ),
    ]
    for plan_year, settings in plans:
        campaign = (
            load_demo_campaign(year=plan_year, final=True)
            if plan_year < year
            else load_demo_campaign()
        )
        _demo_score(campaign)
        kind = selectors.kind_for(campaign)
        latest = selectors.ranking_latest_published(campaign=campaign, kind=kind)
        if latest is None:
            with transaction.atomic():
                latest = _demo_publish(campaign, admin, **settings)
        published.append(latest)
    return published
