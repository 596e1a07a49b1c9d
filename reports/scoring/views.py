"""Scoring pages: an assessment's result with its explanation, veto findings, and the campaign
scoring run (start it, poll its progress).

Outsiders get 404 from the access helpers; the rules live in ``services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from assessments.models import Assessment, Campaign
from assessments.selectors import assessment_get_for, campaign_get_for
from govcloud_eval.forms import posted_id
from indicators.models import VetoRule

from . import selectors, services
from .models import VetoFinding


def _assessment_for_vetoes(request: AuthenticatedRequest, pk: int) -> Assessment:
    """The assessment, for those who manage vetoes (admins); 404 for everyone else."""
    user = request.user
    if not policy.can(user, Action.VETO_MANAGE):
        raise Http404
    return assessment_get_for(user=user, pk=pk)


def _campaign_for(request: AuthenticatedRequest, pk: int) -> Campaign:
    """The campaign, for those who manage campaigns (admins); 404 for everyone else."""
    return campaign_get_for(user=request.user, pk=pk)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_GET
def assessment_result(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The current score of an assessment with its explanation, the earlier versions, and for
    admins the veto findings."""
    assessment = selectors.assessment_with_score_get_for(user=request.user, pk=pk)
    return _result_page(request, assessment)


def _result_page(
    request: AuthenticatedRequest, assessment: Assessment, *, status: int = 200
) -> HttpResponse:
    user = request.user
    # Vetoes are shown to those who manage them; recording needs an assessment not approved.
    sees_vetoes = policy.can(user, Action.VETO_MANAGE)
    return render(
        request,
        "scoring/assessment_result.html",
        {
            "assessment": assessment,
            "result": selectors.score_result_current(assessment=assessment),
            "versions": selectors.score_results_of(assessment=assessment).defer("breakdown"),
            "findings": selectors.veto_findings_of(assessment=assessment) if sees_vetoes else [],
            "open_vetoes": selectors.veto_rules_open(assessment=assessment) if sees_vetoes else [],
            "can_manage_vetoes": policy.can(user, Action.VETO_MANAGE, assessment),
        },
        status=status,
    )


@login_required
@require_POST
def veto_record(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assessment = _assessment_for_vetoes(request, pk)
    chosen = posted_id(request.POST.get("veto_rule"))
    veto_rule = (
        VetoRule.objects.filter(pk=chosen, framework_id=assessment.campaign.framework_id).first()
        if chosen is not None
        else None
    )
    # Refused: the page again, with the message, answered 400 (nothing was recorded).
    if veto_rule is None:
        messages.error(request, _("Choose a veto of this framework."))
        return _result_page(request, assessment, status=400)
    try:
        services.veto_finding_record(
            assessment=assessment,
            veto_rule=veto_rule,
            note=request.POST.get("note", ""),
            acting_user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _result_page(request, assessment, status=400)
    messages.success(request, _("The veto is recorded; the score is being recomputed."))
    return redirect("scoring:assessment_result", pk=assessment.pk)


@login_required
@require_POST
def veto_withdraw(request: AuthenticatedRequest, pk: int, finding_pk: int) -> HttpResponse:
    assessment = _assessment_for_vetoes(request, pk)
    finding = get_object_or_404(VetoFinding, pk=finding_pk, assessment=assessment)
    try:
        services.veto_finding_withdraw(
            finding=finding,
            reason=request.POST.get("reason", ""),
            acting_user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The veto is withdrawn; the score is being recomputed."))
    return redirect("scoring:assessment_result", pk=assessment.pk)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_scoring(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the campaign's scores, one row per assessment, with the scoring panel.

    POST: starts scoring the whole campaign (or reports the run already going). Answers JSON to
    the panel's script, and redirects back for a plain form post."""
    campaign = _campaign_for(request, pk)
    if request.method == "GET":
        return render(
            request,
            "scoring/campaign_scores.html",
            {"campaign": campaign, "rows": selectors.campaign_score_rows(campaign=campaign)},
        )
    services.campaign_scoring_start(campaign=campaign, acting_user=request.user)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(selectors.scoring_progress(campaign=campaign))
    messages.success(request, _("Scoring of the whole campaign has started."))
    return redirect(
        _safe_next(request, reverse("assessments:campaign_detail", kwargs={"pk": campaign.pk}))
    )


@never_cache
@login_required
@require_GET
def campaign_scoring_progress(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """``{"state": "none" | "running" | "finished", "total", "done", "failed", "percent", ...}``"""
    campaign = _campaign_for(request, pk)
    return JsonResponse(selectors.scoring_progress(campaign=campaign))
