"""Downloads of OSCAL assessment results: an approved assessment's (for those who may read its
score, as the score page) and a published ranking version's (for everyone, from its snapshot).

Outsiders get 404 from the selectors; an assessment not approved (or whose score is not computed
yet) answers 409 with a page that says why."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import condition, require_GET

from accounts import policy
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from reports.rankings import selectors as ranking_selectors
from reports.scoring import selectors as scoring_selectors

from . import results


def json_download(document: dict[str, Any], filename: str) -> HttpResponse:
    """The document as a JSON attachment (UTF-8, Chinese kept as is)."""
    body = json.dumps(document, ensure_ascii=False, indent=2)
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def assessment_results(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """An approved assessment's OSCAL assessment results, for whoever may read its score."""
    assessment = scoring_selectors.assessment_with_score_get_for(user=request.user, pk=pk)
    try:
        document = results.assessment_results_of(assessment=assessment)
    except results.NotExportable as refusal:
        return render(
            request,
            "oscal/unavailable.html",
            {"assessment": assessment, "message": str(refusal)},
            status=409,
        )
    response = json_download(document, f"assessment-results-{assessment.pk}.json")
    # The document names the assessors and links the evidence: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response


def _head(
    request: HttpRequest, year: int, slug: str, version: int
) -> ranking_selectors.PublishedHead:
    """The published version, read once per request (its ETag and the view both need it)."""
    memo = vars(request)
    cached: ranking_selectors.PublishedHead | None = memo.get("_oscal_ranking_head")
    if cached is None:
        if not policy.can(request.user, Action.RANKING_PUBLIC_VIEW):
            raise Http404
        cached = ranking_selectors.published_head(year=year, slug=slug, version=version)
        memo["_oscal_ranking_head"] = cached
    return cached


def _ranking_etag(request: HttpRequest, year: int, slug: str, version: int) -> str:
    # A published version never changes: its snapshot's hash names the document.
    return "oscal-" + _head(request, year, slug, version).snapshot_sha256[:32]


@require_GET
@condition(etag_func=_ranking_etag)
def ranking_results(request: HttpRequest, year: int, slug: str, version: int) -> HttpResponse:
    """A published ranking version's OSCAL assessment results, for everyone: one result per
    listed cloud, from the public snapshot (no score of a list published without them)."""
    head = _head(request, year, slug, version)
    ranking = ranking_selectors.published_get(pk=head.pk)
    document = results.ranking_results(ranking=ranking)
    response = json_download(document, f"ranking-{year}-{slug}-v{version}-oscal.json")
    response["Cache-Control"] = "public, max-age=3600"
    return response
