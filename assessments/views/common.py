"""Pieces shared by the workflow pages: the indicator rows of an assessment, parsing posted
answers and ratings, and JSON replies for autosave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from govcloud_eval.forms import wants_json
from indicators.models import Dimension, Indicator

from .. import selectors
from ..models import Answer, Assessment, Evidence, Rating, ReviewComment


@dataclass
class IndicatorRow:
    indicator: Indicator
    answer: Answer | None = None
    rating: Rating | None = None
    evidence: list[Evidence] = field(default_factory=list)
    comments: list[ReviewComment] = field(default_factory=list)


@dataclass
class DimensionBlock:
    dimension: Dimension
    rows: list[IndicatorRow]


def indicator_blocks(
    *,
    assessment: Assessment,
    indicators: list[Indicator],
    ratings: dict[int, Rating] | None = None,
    comments_returned_only: bool = False,
) -> list[DimensionBlock]:
    """Groups the indicators by dimension with the answer, rating, evidence and comments of
    each, in a fixed number of queries."""
    answers = {a.indicator_id: a for a in Answer.objects.filter(assessment=assessment)}
    evidence = selectors.evidence_by_indicator(assessment=assessment)
    comments: dict[int, list[ReviewComment]] = {}
    comment_qs = ReviewComment.objects.filter(assessment=assessment, indicator__isnull=False)
    if comments_returned_only:
        comment_qs = comment_qs.filter(returned_at__isnull=False)
    for comment in comment_qs.select_related("author"):
        assert comment.indicator_id is not None  # filtered above
        comments.setdefault(comment.indicator_id, []).append(comment)
    blocks: list[DimensionBlock] = []
    for indicator in indicators:
        row = IndicatorRow(
            indicator=indicator,
            answer=answers.get(indicator.pk),
            rating=(ratings or {}).get(indicator.pk),
            evidence=evidence.get(indicator.pk, []),
            comments=comments.get(indicator.pk, []),
        )
        if not blocks or blocks[-1].dimension.pk != indicator.dimension_id:
            blocks.append(DimensionBlock(indicator.dimension, []))
        blocks[-1].rows.append(row)
    return blocks


def parse_rating(raw: str | None, field_name: str = "rating") -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(
            {field_name: _("A rating is a whole number, not “%(value)s”.") % {"value": raw}}
        ) from None


def parse_met(raw: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(raw or "")


def parse_value(raw: str | None) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(
            {"value": _("“%(value)s” is not a number.") % {"value": raw}}
        ) from None
    if not value.is_finite():
        raise ValidationError({"value": _("“%(value)s” is not a number.") % {"value": raw}})
    return value


def json_errors(error: ValidationError, status: int = 400) -> JsonResponse:
    return JsonResponse({"ok": False, "errors": error.messages}, status=status)


def json_ok(**payload: Any) -> JsonResponse:
    return JsonResponse({"ok": True, **payload})


def autosave_response(
    request: HttpRequest,
    *,
    indicator: Indicator,
    page_url: str,
    save: Callable[[], Answer | Rating],
    progress: Callable[[], dict[str, Any]],
) -> HttpResponse:
    """Runs one autosave (an answer or a rating) and replies in kind.

    JSON for the page's script: ``{"ok": true, "saved_at": ..., **progress()}`` or the errors
    with status 400. A plain form post (no JavaScript) is redirected back to the indicator with
    a message. Refusals by role become 404.
    """
    back = f"{page_url}#ind-{indicator.pk}"
    try:
        saved = save()
    except PermissionDenied:  # policy.Denied: as if the page did not exist
        raise Http404 from None
    except ValidationError as error:
        if wants_json(request):
            return json_errors(error)
        for message in error.messages:
            messages.error(request, f"{indicator.code}: {message}")
        return redirect(back)
    if wants_json(request):
        saved_at = timezone.localtime(saved.updated_at).strftime("%H:%M:%S")
        return json_ok(saved_at=saved_at, **progress())
    messages.success(request, _("%(code)s saved.") % {"code": indicator.code})
    return redirect(back)
