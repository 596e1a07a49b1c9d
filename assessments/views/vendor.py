"""The assessment list, the assessment page (the vendor's self-assessment, read-only for
others), autosave of answers, and submission."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from govcloud_eval.listing import export_format, export_response, paginate
from indicators.models import Indicator

from .. import selectors, services
from ..models import Assessment
from . import lists
from .common import (
    autosave_response,
    indicator_blocks,
    parse_met,
    parse_rating,
    parse_value,
)


def _get_assessment_for_user(request: AuthenticatedRequest, pk: int) -> Assessment:
    return selectors.assessment_get_for(user=request.user, pk=pk)


@policy.requires(Action.ASSESSMENT_LIST)
def assessment_list(request: AuthenticatedRequest) -> HttpResponseBase:
    """Every role's list of the assessments it may see, filtered (campaign, state, province,
    level), searched by cloud name, paginated, and exported as XLSX or CSV (``?format=xlsx``).
    The assessor sees only current assignments, those to rate first by scoring deadline."""
    user = request.user
    scope = policy.assessment_scope(user).relation
    listing = lists.assessment_listing(request.GET, user=user)
    rows = listing.apply(selectors.assessment_list_rows(user=user))
    if scope == "assigned":
        rows = rows.order_by(
            F("campaign__scoring_due_on").asc(nulls_last=True), "cloud__name", "pk"
        )
    else:
        rows = rows.order_by(
            "-campaign__year", "campaign__name", "cloud__owner__division_code", "cloud__name", "pk"
        )
    fmt = export_format(request)
    if fmt is not None:
        return export_response(fmt, _("assessments"), *lists.assessment_table(rows, listing))
    page = paginate(request, rows)
    return render(
        request,
        "assessments/assessment_list.html",
        {
            "page": page,
            "assessments": page.object_list,
            "listing": listing,
            "level_names": listing.level_names,
            "today": timezone.localdate(),
            # Why the user sees these: "all", "assigned", "vendor_of_cloud", "owner_of_cloud".
            "scope": scope,
        },
    )


@policy.requires(Action.ASSESSMENT_VIEW)
def assessment_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = _get_assessment_for_user(request, pk)
    indicators = selectors.indicators_of(assessment=assessment)
    is_vendor = policy.can(user, Action.ASSESSMENT_SUBMIT, assessment)
    can_edit = policy.can(user, Action.ASSESSMENT_ANSWER, assessment)
    assignment = selectors.assignment_for(user=user, assessment=assessment)
    blocks = indicator_blocks(
        assessment=assessment,
        indicators=indicators,
        # Comments not yet sent to the vendor are for those who may write them.
        comments_returned_only=not policy.can(user, Action.REVIEW_COMMENT_ADD, assessment),
    )
    missing = selectors.answers_missing(assessment=assessment) if can_edit else []
    general_comments = assessment.review_comments.filter(
        indicator__isnull=True, returned_at__isnull=False
    ).select_related("author")
    return render(
        request,
        "assessments/assessment_detail.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "framework": assessment.campaign.framework,
            "blocks": blocks,
            "can_edit": can_edit,
            "is_vendor": is_vendor,
            "missing": missing,
            "indicator_count": len(indicators),
            "assignment": assignment,
            "general_comments": general_comments,
            "reference_date": assessment.campaign.evidence_reference_date,
            "ratings_range": range(assessment.campaign.framework.max_rating + 1),
            "next_actions": selectors.next_actions(user=user, assessment=assessment),
        },
    )


@login_required
@require_POST
def answer_save(request: AuthenticatedRequest, pk: int, indicator_id: int) -> HttpResponse:
    """Autosave (JSON) or plain form post of one indicator's answer."""
    assessment = _get_assessment_for_user(request, pk)
    indicator = get_object_or_404(
        Indicator, pk=indicator_id, framework_id=assessment.campaign.framework_id
    )

    def progress() -> dict[str, object]:
        missing = selectors.answers_missing(assessment=assessment)
        return {
            "missing": len(missing),
            "complete": all(m.indicator.pk != indicator.pk for m in missing),
        }

    return autosave_response(
        request,
        indicator=indicator,
        page_url=reverse("assessments:detail", args=[pk]),
        save=lambda: services.answer_save(
            assessment=assessment,
            indicator=indicator,
            self_rating=parse_rating(request.POST.get("self_rating"), "self_rating"),
            self_met=parse_met(request.POST.get("self_met")),
            value=parse_value(request.POST.get("value")),
            explanation=request.POST.get("explanation", "").strip(),
            acting_user=request.user,
        ),
        progress=progress,
    )


@login_required
@require_POST
def assessment_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment = _get_assessment_for_user(request, pk)
    try:
        services.assessment_submit(assessment=assessment, acting_user=request.user)
    except policy.Denied:
        raise Http404 from None
    except ValidationError as error:
        if getattr(error, "code", None) in ("state", "wrong_state"):
            # Not a missing answer: the window is closed (past the deadline) or the state moved.
            messages.error(request, "；".join(error.messages))
        else:
            messages.error(
                request,
                _("Not submitted. Still missing: %(items)s") % {"items": "；".join(error.messages)},
            )
        return redirect("assessments:detail", pk=pk)
    messages.success(
        request,
        _("Submitted. The assessors can now score it; answers are locked unless it is returned."),
    )
    return redirect("assessments:detail", pk=pk)


urlpatterns = [
    path("assessments/", assessment_list, name="list"),
    path("assessments/<int:pk>/", assessment_detail, name="detail"),
    path("assessments/<int:pk>/answers/<int:indicator_id>/", answer_save, name="answer_save"),
    path("assessments/<int:pk>/submit/", assessment_submit, name="submit"),
]
