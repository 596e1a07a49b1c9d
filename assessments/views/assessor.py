"""The assessor's scoring page: the rubric, the vendor's answer and evidence, a rating and its
rationale per indicator, autosaved; submitting the scores; comments for the vendor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from indicators.models import Indicator

from .. import selectors, services
from ..models import Assessment, Assignment, Rating
from .common import (
    autosave_response,
    indicator_blocks,
    parse_met,
    parse_rating,
)


def _get_assignment_for_user(
    request: AuthenticatedRequest, pk: int
) -> tuple[Assessment, Assignment]:
    """The assessment and the requesting assessor's assignment on it; 404 for anyone else."""
    assessment = selectors.assessment_get_for(user=request.user, pk=pk)
    assignment = selectors.assignment_for(user=request.user, assessment=assessment)
    if assignment is None:
        raise Http404
    return assessment, assignment


@login_required
def score_page(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment, assignment = _get_assignment_for_user(request, pk)
    indicators = selectors.indicators_of(assessment=assessment)
    ratings = {r.indicator_id: r for r in Rating.objects.filter(assignment=assignment)}
    assignment.assessment = assessment
    can_score = policy.can(request.user, Action.RATING_SAVE, assignment)
    missing = selectors.ratings_missing(assignment=assignment, ratings=ratings) if can_score else []
    return render(
        request,
        "assessments/score.html",
        {
            "assessment": assessment,
            "assignment": assignment,
            "campaign": assessment.campaign,
            "framework": assessment.campaign.framework,
            "blocks": indicator_blocks(
                assessment=assessment, indicators=indicators, ratings=ratings
            ),
            "can_score": can_score,
            "missing": missing,
            "indicator_count": len(indicators),
            "reference_date": assessment.campaign.evidence_reference_date,
            "ratings_range": range(assessment.campaign.framework.max_rating + 1),
            "next_actions": selectors.next_actions(
                user=request.user, assessment=assessment, assignment=assignment, ratings=ratings
            ),
        },
    )


@login_required
@require_POST
def rating_save(request: AuthenticatedRequest, pk: int, indicator_id: int) -> HttpResponse:
    assessment, assignment = _get_assignment_for_user(request, pk)
    indicator = get_object_or_404(
        Indicator, pk=indicator_id, framework_id=assessment.campaign.framework_id
    )
    return autosave_response(
        request,
        indicator=indicator,
        page_url=reverse("assessments:score", args=[pk]),
        save=lambda: services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=parse_rating(request.POST.get("rating")),
            met=parse_met(request.POST.get("met")),
            rationale=request.POST.get("rationale", "").strip(),
            acting_user=request.user,
        ),
        progress=lambda: {"missing": len(selectors.ratings_missing(assignment=assignment))},
    )


@login_required
@require_POST
def scores_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _assessment, assignment = _get_assignment_for_user(request, pk)
    try:
        services.assignment_submit(assignment=assignment, acting_user=request.user)
    except ValidationError as error:
        messages.error(
            request,
            _("Not submitted. Still missing: %(items)s") % {"items": "；".join(error.messages)},
        )
        return redirect("assessments:score", pk=pk)
    messages.success(request, _("Your scores are submitted. Thank you."))
    return redirect("assessments:score", pk=pk)


@login_required
@require_POST
def comment_add(request: AuthenticatedRequest, pk: int, indicator_id: int) -> HttpResponse:
    assessment, _assignment = _get_assignment_for_user(request, pk)
    indicator = get_object_or_404(
        Indicator, pk=indicator_id, framework_id=assessment.campaign.framework_id
    )
    try:
        services.review_comment_add(
            assessment=assessment,
            indicator=indicator,
            text=request.POST.get("text", ""),
            acting_user=request.user,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Comment kept; it goes to the vendor if the assessment is returned.")
        )
    return redirect(f"{reverse('assessments:score', args=[pk])}#ind-{indicator.pk}")


urlpatterns = [
    path("assessments/<int:pk>/score/", score_page, name="score"),
    path("assessments/<int:pk>/ratings/<int:indicator_id>/", rating_save, name="rating_save"),
    path("assessments/<int:pk>/score/submit/", scores_submit, name="scores_submit"),
    path("assessments/<int:pk>/comments/<int:indicator_id>/", comment_add, name="comment_add"),
]
