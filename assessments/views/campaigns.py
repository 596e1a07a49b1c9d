"""The admin's journey: campaigns, the cockpit, adding clouds, assigning assessors, and the
lead's review (settle, return, approve).

Every page and action here is for admins only; any other role gets 404, for GET and POST alike,
as if the page did not exist. The views parse input and call ``services``; the rules live there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from accounts import policy
from accounts.divisions import division_lookup
from accounts.models import User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from govcloud_eval.listing import annotated, export_format, export_response, paginate
from indicators.models import Framework, Indicator

from .. import selectors, services
from ..forms import (
    AddCloudsForm,
    AssignForm,
    CampaignEditForm,
    CampaignForm,
    ReasonForm,
    ReopenForm,
    ReplaceAssessorForm,
    ReturnForm,
    SettleForm,
    StateForm,
    add_service_error,
)
from ..models import Assessment, Assignment, Campaign, Cloud, Settlement
from . import lists

View = Callable[..., HttpResponse]


def post_only(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, *args, **kwargs)

    return wrapper


def _posted(request: HttpRequest) -> QueryDict | None:
    """The posted data, or None on GET: an empty POST is still a submission to validate."""
    return request.POST if request.method == "POST" else None


def _is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def _local(obj: Any, field: str) -> str:
    """The Chinese or English text of catalog data, falling back to Chinese."""
    get = obj.get if isinstance(obj, dict) else lambda key, default="": getattr(obj, key, default)
    chinese = get(f"{field}_zh", "") or ""
    return chinese if _is_chinese() else (get(f"{field}_en", "") or chinese)


def _rating_choices(framework: Framework) -> list[tuple[str, str]]:
    names = {entry.get("rating"): _local(entry, "name") for entry in framework.rating_names}
    return [
        (str(r), f"{r} · {names[r]}" if names.get(r) else str(r))
        for r in range(framework.max_rating + 1)
    ]


# ----------------------------------------------------------------------------------------------
# Campaigns


@policy.requires(Action.CAMPAIGN_VIEW)
def campaign_list(request: AuthenticatedRequest) -> HttpResponseBase:
    """The campaigns with their progress, filtered by state and year, searched by name,
    paginated, and exported as XLSX or CSV (``?format=xlsx``); the same few queries whatever
    the number of campaigns."""
    user = request.user
    listing = lists.campaign_listing(request.GET, user=user)
    rows = listing.apply(selectors.campaign_list_with_progress(user=user)).order_by(
        "-year", "-opens_on", "name", "pk"
    )
    fmt = export_format(request)
    if fmt is not None:
        return export_response(fmt, _("campaigns"), *lists.campaign_table(rows))
    page = paginate(request, rows)
    campaigns = list(page.object_list)
    states = Assessment.State.values
    # Each campaign with its count of assessments in every state, in the header's order.
    counts = [(c, [annotated(c, f"n_{state}") for state in states]) for c in campaigns]
    return render(
        request,
        "assessments/campaign_list.html",
        {
            "page": page,
            "campaigns": campaigns,
            "campaign_rows": counts,
            "listing": listing,
            "states": Assessment.State.choices,
        },
    )


@policy.requires(Action.CAMPAIGN_CREATE)
def campaign_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    form = CampaignForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_create(
                name=data["name"].strip(),
                year=data["year"],
                framework=data["framework"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
                reference_date=data["reference_date"],
                assessors_per_assessment=data["assessors_per_assessment"],
                scoring_due_on=data["scoring_due_on"],
                acting_user=user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Campaign %(name)s created in draft. Add clouds, assign assessors, then open it.")
                % {"name": campaign.name},
            )
            return redirect("assessments:campaign_detail", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "assessments/campaign_form.html", {"form": form}, status=status)


@policy.requires(Action.CAMPAIGN_CREATE)
def campaign_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The campaign's name, dates (the vendors' and the assessors' deadlines) and number of
    assessors."""
    user = request.user
    campaign = selectors.campaign_get_for(user=user, pk=pk)
    initial = {name: getattr(campaign, name) for name in services.CAMPAIGN_EDITABLE_FIELDS}
    form = CampaignEditForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if isinstance(data.get("name"), str):
            data["name"] = data["name"].strip()
        try:
            services.campaign_update(
                campaign=campaign,
                acting_user=user,
                **{name: data[name] for name in services.CAMPAIGN_EDITABLE_FIELDS},
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The campaign is saved."))
            return redirect("assessments:campaign_detail", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "assessments/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=status,
    )


# The button that moves a campaign on, and what it asks before doing so.
_NEXT_STATE: dict[str, tuple[str, Promise, Promise]] = {
    Campaign.State.DRAFT: (
        Campaign.State.OPEN,
        gettext_lazy("Open for submissions"),
        gettext_lazy(
            "Open the campaign? Vendors will see it and can fill in their self-assessments."
        ),
    ),
    Campaign.State.OPEN: (
        Campaign.State.REVIEWING,
        gettext_lazy("Start the review"),
        gettext_lazy("Start the review? The campaign stops taking new clouds."),
    ),
    Campaign.State.REVIEWING: (
        Campaign.State.CLOSED,
        gettext_lazy("Close the campaign"),
        gettext_lazy(
            "Close the campaign? Every assessment must be approved or excluded first; a closed "
            "campaign never changes."
        ),
    ),
}


def _next_state(campaign: Campaign) -> dict[str, str] | None:
    step = _NEXT_STATE.get(campaign.state)
    if step is None:
        return None
    state, label, question = step
    found = {"state": state, "label": str(label), "question": str(question)}
    if state == Campaign.State.CLOSED:
        # Closing goes through its page, which lists what still keeps the campaign open.
        found["url"] = reverse("assessments:campaign_close", args=[campaign.pk])
    return found


def _progress_bars(progress: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(progress.values())
    return [
        {
            "state": state,
            "label": label,
            "count": progress[state],
            "percent": round(100 * progress[state] / total, 1) if total else 0,
        }
        for state, label in Assessment.State.choices
    ]


# The cockpit's table shows this many clouds a page; the heat map shows all that match.
COCKPIT_PER_PAGE = 50


@policy.requires(Action.CAMPAIGN_VIEW)
def campaign_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The cockpit: state, progress, overdue items, the completeness heat map of every cloud
    that matches the filters (drawn by static/js/campaign-heatmap.js from a JSON payload), and
    those clouds' assessments, a page at a time. The same queries whatever the campaign's size:
    the heat map's rows are read once and the table pages through them."""
    user = request.user
    campaign = selectors.campaign_get_for(user=user, pk=pk)
    progress = selectors.campaign_progress(campaign=campaign)
    listing = lists.cockpit_listing(request.GET, campaign=campaign)
    heatmap = selectors.campaign_heatmap(
        campaign=campaign,
        assessments=listing.apply(selectors.cockpit_assessments(campaign=campaign)),
    )
    page = paginate(request, heatmap.rows, per_page=COCKPIT_PER_PAGE)
    rows: list[selectors.HeatRow] = list(page.object_list)
    selectors.cockpit_assignments(rows=rows)
    return render(
        request,
        "assessments/campaign_detail.html",
        {
            "campaign": campaign,
            "framework": campaign.framework,
            "next_state": _next_state(campaign),
            "can_add_clouds": policy.can(user, Action.CAMPAIGN_ADD_CLOUDS, campaign),
            "progress": _progress_bars(progress),
            "total": sum(progress.values()),
            "heatmap": heatmap,
            "heatmap_data": _heatmap_data(heatmap),
            "overdue": selectors.campaign_overdue(campaign=campaign, today=timezone.localdate()),
            "listing": listing,
            "page": page,
            "rows": rows,
        },
    )


def _heatmap_data(heatmap: selectors.Heatmap) -> dict[str, Any]:
    """The heat map's JSON payload: the indicators (code and name), the states' names, the
    review page's address (``{id}`` standing for the assessment), and per cloud its id, name,
    state, current assessors and cells (``HeatRow.cells``): about 150 bytes a cloud."""
    return {
        "indicators": [{"code": i.code, "name": _local(i, "name")} for i in heatmap.indicators],
        "states": {state: str(label) for state, label in Assessment.State.choices},
        "review_url": reverse("assessments:assessment_review", args=[0]).replace("/0/", "/{id}/"),
        "rows": [
            {
                "id": row.assessment_id,
                "cloud": row.cloud,
                "state": row.state,
                "expected": row.expected,
                "cells": row.cells,
            }
            for row in heatmap.rows
        ],
    }


@policy.requires(Action.CAMPAIGN_SET_STATE)
def campaign_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Closing a campaign: the assessments neither approved nor excluded, each with what it
    lacks and what to do about it; the campaign closes once there are none."""
    user = request.user
    campaign = selectors.campaign_get_for(user=user, pk=pk)
    if request.method == "POST":
        try:
            services.campaign_set_state(
                campaign=campaign, state=Campaign.State.CLOSED, acting_user=user
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("The campaign is closed."))
            return redirect("assessments:campaign_detail", pk=campaign.pk)
    unfinished = selectors.campaign_unfinished(campaign=campaign)
    return render(
        request,
        "assessments/campaign_close.html",
        {
            "campaign": campaign,
            "unfinished": unfinished,
            "is_reviewing": campaign.state == Campaign.State.REVIEWING,
        },
        status=400 if request.method == "POST" else 200,
    )


@policy.requires(Action.CAMPAIGN_SET_STATE)
@post_only
def campaign_set_state(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.campaign_get_for(user=user, pk=pk)
    form = StateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown campaign state."))
        return redirect("assessments:campaign_detail", pk=campaign.pk)
    try:
        services.campaign_set_state(
            campaign=campaign, state=form.cleaned_data["state"], acting_user=user
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The campaign is now %(state)s.") % {"state": campaign.get_state_display()},
        )
    return redirect("assessments:campaign_detail", pk=campaign.pk)


def _cloud_groups(clouds: list[Cloud]) -> list[tuple[str, list[tuple[int, str]]]]:
    """Clouds grouped by the province of their owner, labelled with the city and level."""
    groups: dict[str, list[tuple[int, str]]] = {}
    names: dict[str, str] = {}
    for cloud in clouds:
        code = cloud.owner.division_code or ""
        province_code = code[:2] + "0000" if code else ""
        if province_code not in names:
            province = division_lookup(province_code)
            names[province_code] = (
                (province.name_zh if _is_chinese() else province.name_en or province.name_zh)
                if province
                else _("Other")
            )
        division = division_lookup(code)
        place = ""
        if division and division.code != province_code:
            place = division.name_zh if _is_chinese() else division.name_en or division.name_zh
        label = " · ".join(p for p in (cloud.name, place, cloud.get_level_display()) if p)
        groups.setdefault(province_code, []).append((cloud.pk, label))
    return [(names[code], choices) for code, choices in sorted(groups.items())]


@policy.requires(Action.CAMPAIGN_ADD_CLOUDS)
def campaign_add_clouds(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.campaign_get_for(user=user, pk=pk)
    clouds = list(selectors.clouds_not_in_campaign(campaign=campaign))
    groups = _cloud_groups(clouds)
    late = campaign.state == Campaign.State.REVIEWING
    form = AddCloudsForm(_posted(request), groups=groups, late=late)
    if request.method == "POST" and form.is_valid():
        chosen = set(form.cleaned_ids())
        try:
            created = services.campaign_add_clouds(
                campaign=campaign,
                clouds=[c for c in clouds if c.pk in chosen],
                acting_user=user,
                due_on=form.cleaned_data["due_on"],
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s cloud added to the campaign.",
                    "%(n)s clouds added to the campaign.",
                    len(created),
                )
                % {"n": len(created)},
            )
            return redirect("assessments:campaign_detail", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "assessments/campaign_add_clouds.html",
        {
            "campaign": campaign,
            "form": form,
            "groups": groups,
            "chosen": {str(v) for v in (request.POST.getlist("clouds") if form.is_bound else [])},
            "open_for_clouds": policy.can(user, Action.CAMPAIGN_ADD_CLOUDS, campaign),
        },
        status=status,
    )


# ----------------------------------------------------------------------------------------------
# Assessors of one assessment


def _assign_choices(
    candidates: list[tuple[User, list[str]]],
) -> list[tuple[str, list[tuple[str, str]]]]:
    free = [
        (str(a.pk), f"{a} · {a.organisation or '—'}") for a, reasons in candidates if not reasons
    ]
    conflicted = [
        (str(a.pk), _("⚠ %(user)s · conflict of interest") % {"user": a})
        for a, reasons in candidates
        if reasons
    ]
    choices = [("", [("", "—")])]
    if free:
        choices.append((_("Available"), free))
    if conflicted:
        choices.append((_("In conflict of interest"), conflicted))
    return choices


@policy.requires(Action.ASSIGNMENT_CREATE)
def assessment_assessors(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Assign assessors to one assessment, seeing who is in conflict of interest and why."""
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    everyone = list(
        assessment.assignments.select_related(
            "assessor", "assessor__organisation", "removed_by", "replaced_by__assessor"
        )
    )
    assigned = [a for a in everyone if a.removed_at is None]
    removed = [a for a in everyone if a.removed_at is not None]
    assigned_ids = {a.assessor_id for a in assigned}
    candidates = [
        (assessor, reasons)
        for assessor, reasons in selectors.assessors_with_conflicts(cloud=assessment.cloud)
        if assessor.pk not in assigned_ids
    ]
    form = AssignForm(_posted(request), choices=_assign_choices(candidates))
    if request.method == "POST" and form.is_valid():
        chosen = next(
            (a for a, _reasons in candidates if str(a.pk) == form.cleaned_data["assessor"]), None
        )
        if chosen is None:
            form.add_error("assessor", _("Choose an assessor."))
        else:
            try:
                services.assignment_create(assessment=assessment, assessor=chosen, acting_user=user)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request,
                    _("%(user)s will score %(cloud)s.")
                    % {"user": chosen, "cloud": assessment.cloud},
                )
                return redirect("assessments:assessment_assessors", pk=assessment.pk)
    needed = assessment.campaign.assessors_per_assessment
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "assessments/campaign_assessors.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "assigned": assigned,
            "removed": removed,
            "can_replace": policy.can(user, Action.ASSIGNMENT_REPLACE, assessment),
            "needed": needed,
            "is_full": len(assigned) >= needed,
            "can_assign": policy.can(user, Action.ASSIGNMENT_CREATE, assessment),
            "conflicted": [(a, reasons) for a, reasons in candidates if reasons],
            "form": form,
        },
        status=status,
    )


# ----------------------------------------------------------------------------------------------
# The lead's review: settle, return, approve


def _rating_text(indicator: Indicator, rating: Any, met: bool | None, names: dict[str, str]) -> str:
    if indicator.is_mandatory:
        if met is None:
            return ""
        return _("Met") if met else _("Not met")
    if rating is None:
        return ""
    return names.get(str(rating), str(rating))


def _settle_form(
    indicator: Indicator, choices: list[tuple[str, str]], settlement: Settlement | None
) -> SettleForm:
    initial: dict[str, Any] = {}
    if settlement is not None:
        initial = {
            "rating": settlement.rating,
            "met": {None: "", True: "yes", False: "no"}[settlement.met],
            "reason": settlement.reason,
        }
    return SettleForm(indicator=indicator, rating_choices=choices, initial=initial)


def _review_page(
    request: AuthenticatedRequest,
    assessment: Assessment,
    *,
    settle_form: SettleForm | None = None,
    return_form: ReturnForm | None = None,
    status: int = 200,
) -> HttpResponse:
    framework = assessment.campaign.framework
    choices = _rating_choices(framework)
    names = dict(choices)
    assignments, review_rows = selectors.assessment_review_rows(assessment=assessment)
    user = request.user
    can_settle = policy.can(user, Action.ASSESSMENT_SETTLE, assessment)
    rows = []
    for row in review_rows:
        indicator, consolidated = row.indicator, row.consolidated
        form = None
        if can_settle and consolidated.disagreement:
            if settle_form is not None and settle_form.indicator.pk == indicator.pk:
                form = settle_form
            else:
                form = _settle_form(indicator, choices, row.settlement)
        if indicator.is_mandatory:
            result = _rating_text(indicator, None, consolidated.met, names)
        elif consolidated.rating is None:
            result = ""
        elif consolidated.settled:
            result = names.get(str(int(consolidated.rating)), str(consolidated.rating_shown))
        else:
            result = str(consolidated.rating_shown)
        rows.append(
            {
                "indicator": indicator,
                "name": _local(indicator, "name"),
                "self": _rating_text(
                    indicator,
                    row.answer.self_rating if row.answer else None,
                    row.answer.self_met if row.answer else None,
                    names,
                ),
                "ratings": [
                    {
                        "text": _rating_text(indicator, r.rating, r.met, names) if r else "",
                        "rationale": r.rationale if r else "",
                        # A removed assessor's rating: shown struck out, no longer counted.
                        "removed": a.removed_at is not None,
                    }
                    for a, r in zip(assignments, row.ratings, strict=True)
                ],
                "result": result,
                "settled": consolidated.settled,
                "settlement": row.settlement,
                "disagreement": consolidated.disagreement,
                "unsettled": consolidated.disagreement and not consolidated.settled,
                "form": form,
            }
        )
    unsettled = [r for r in rows if r["unsettled"]]
    return render(
        request,
        "assessments/campaign_review.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "framework": framework,
            "assignments": assignments,
            "rows": rows,
            "unsettled": unsettled,
            "disagreements": sum(1 for r in rows if r["disagreement"]),
            "pending_comments": list(selectors.review_comments_pending(assessment=assessment)),
            "can_return": policy.can(user, Action.ASSESSMENT_RETURN, assessment),
            "can_approve": policy.can(user, Action.ASSESSMENT_APPROVE, assessment),
            "return_form": return_form or ReturnForm(),
            "next_actions": selectors.next_actions(
                user=user, assessment=assessment, unsettled=len(unsettled)
            ),
        },
        status=status,
    )


@policy.requires(Action.ASSESSMENT_REVIEW)
def assessment_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    return _review_page(request, assessment)


@policy.requires(Action.ASSESSMENT_SETTLE)
@post_only
def assessment_settle(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    indicators = {i.pk: i for i in selectors.indicators_of(assessment=assessment)}
    try:
        indicator = indicators[int(request.POST.get("indicator", ""))]
    except (KeyError, ValueError):
        raise Http404 from None
    form = SettleForm(
        request.POST,
        indicator=indicator,
        rating_choices=_rating_choices(assessment.campaign.framework),
    )
    if form.is_valid():
        try:
            services.settlement_save(
                assessment=assessment,
                indicator=indicator,
                rating=form.cleaned_data.get("rating"),
                met=form.cleaned_data.get("met"),
                reason=form.cleaned_data["reason"],
                acting_user=user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(code)s settled.") % {"code": indicator.code})
            return redirect(f"{_review_url(assessment)}#indicator-{indicator.pk}")
    return _review_page(request, assessment, settle_form=form, status=400)


def _review_url(assessment: Assessment) -> str:
    return reverse("assessments:assessment_review", args=[assessment.pk])


@policy.requires(Action.ASSESSMENT_RETURN)
@post_only
def assessment_return(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            services.assessment_return(
                assessment=assessment,
                comment=form.cleaned_data["comment"],
                due_on=form.cleaned_data.get("due_on"),
                acting_user=user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("%(cloud)s went back to the vendor with the comments.")
                % {"cloud": assessment.cloud},
            )
            return redirect("assessments:assessment_review", pk=assessment.pk)
    return _review_page(request, assessment, return_form=form, status=400)


@policy.requires(Action.ASSESSMENT_APPROVE)
@post_only
def assessment_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    try:
        services.assessment_approve(assessment=assessment, acting_user=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(cloud)s approved. It is now read-only.") % {"cloud": assessment.cloud},
        )
    return redirect("assessments:assessment_review", pk=assessment.pk)


# ----------------------------------------------------------------------------------------------
# Rescues: reopen a self-assessment, replace or remove an assessor, exclude or re-include a cloud


def _operation_page(
    request: AuthenticatedRequest,
    assessment: Assessment,
    *,
    form: Any,
    title: str,
    intro: str,
    submit: str,
    question: str,
    refusal: str | None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
    destructive: bool = True,
) -> HttpResponse:
    """The page of one rescue: what it does, a form, and a confirmation; or why not now.
    ``destructive`` actions (exclusion, removal) get the danger button."""
    return render(
        request,
        "assessments/campaign_operation.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "form": form,
            "title": title,
            "intro": intro,
            "submit": submit,
            "question": question,
            "refusal": refusal,
            "destructive": destructive,
            **(extra or {}),
        },
        status=status,
    )


@policy.requires(Action.ASSESSMENT_REOPEN)
def assessment_reopen(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    form = ReopenForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.assessment_reopen(
                assessment=assessment,
                reason=form.cleaned_data["reason"],
                due_on=form.cleaned_data["due_on"],
                acting_user=user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("The self-assessment of %(cloud)s is open to its vendor until %(date)s.")
                % {"cloud": assessment.cloud, "date": assessment.due_on.isoformat()},
            )
            return redirect("assessments:assessment_review", pk=assessment.pk)
    return _operation_page(
        request,
        assessment,
        form=form,
        title=_("Reopen the self-assessment"),
        intro=_(
            "The vendor can fill in and submit the self-assessment again until the new "
            "deadline, even while the campaign is in review. The reason is shown to the vendor."
        ),
        submit=_("Reopen for the vendor"),
        question=_("Reopen the self-assessment for the vendor?"),
        refusal=policy.refusal(user, Action.ASSESSMENT_REOPEN, assessment),
        status=400 if request.method == "POST" else 200,
        destructive=False,
    )


@policy.requires(Action.ASSESSMENT_EXCLUDE)
def assessment_exclude(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.assessment_exclude(
                assessment=assessment, reason=form.cleaned_data["reason"], acting_user=user
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("%(cloud)s is excluded from the campaign.") % {"cloud": assessment.cloud},
            )
            return redirect("assessments:campaign_detail", pk=assessment.campaign_id)
    is_excluded = assessment.state == Assessment.State.EXCLUDED
    return _operation_page(
        request,
        assessment,
        form=form,
        title=_("Exclude from the campaign"),
        intro=_(
            "An excluded cloud stays in the record with its answers and ratings, but it is not "
            "scored, ranked or reported, and it no longer keeps the campaign from closing. It "
            "can be re-included while the campaign is not closed. An approved assessment with a "
            "certified report in force is excluded only after the report is revoked."
        ),
        submit=_("Exclude"),
        question=_("Exclude this cloud from the campaign?"),
        refusal=None
        if is_excluded
        else policy.refusal(user, Action.ASSESSMENT_EXCLUDE, assessment),
        status=400 if request.method == "POST" else 200,
        extra={
            "is_excluded": is_excluded,
            "can_include": policy.can(user, Action.ASSESSMENT_INCLUDE, assessment),
            "include_refusal": policy.refusal(user, Action.ASSESSMENT_INCLUDE, assessment),
        },
    )


@policy.requires(Action.ASSESSMENT_INCLUDE)
@post_only
def assessment_include(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    assessment = selectors.assessment_get_for(user=user, pk=pk)
    try:
        services.assessment_include(assessment=assessment, acting_user=user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("assessments:assessment_exclude", pk=assessment.pk)
    messages.success(
        request,
        _("%(cloud)s is back in the campaign (%(state)s).")
        % {"cloud": assessment.cloud, "state": assessment.get_state_display()},
    )
    return redirect("assessments:assessment_review", pk=assessment.pk)


@policy.requires(Action.ASSIGNMENT_REPLACE)
def assignment_replace(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Replace an assessor by another (who must pass the conflict-of-interest rule), or remove
    them; their ratings stay in the record but no longer count."""
    user = request.user
    assignment = Assignment.objects.select_related("assessor").filter(pk=pk).first()
    if assignment is None:
        raise Http404
    assessment = selectors.assessment_get_for(user=user, pk=assignment.assessment_id)
    assignment.assessment = assessment
    current_ids = set(
        assessment.assignments.filter(removed_at__isnull=True).values_list("assessor_id", flat=True)
    )
    candidates = [
        (assessor, reasons)
        for assessor, reasons in selectors.assessors_with_conflicts(cloud=assessment.cloud)
        if assessor.pk not in current_ids
    ]
    choices = _assign_choices(candidates)
    choices[0] = ("", [("", _("— nobody: only remove —"))])
    form = ReplaceAssessorForm(_posted(request), choices=choices)
    if request.method == "POST" and form.is_valid():
        chosen = next(
            (a for a, _r in candidates if str(a.pk) == form.cleaned_data["replacement"]), None
        )
        try:
            new = services.assignment_remove(
                assignment=assignment,
                reason=form.cleaned_data["reason"],
                replacement=chosen,
                acting_user=user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            if new is not None:
                messages.success(
                    request,
                    _("%(new)s replaces %(old)s.")
                    % {"new": new.assessor, "old": assignment.assessor},
                )
            else:
                messages.success(
                    request, _("%(old)s no longer scores it.") % {"old": assignment.assessor}
                )
            return redirect("assessments:assessment_assessors", pk=assessment.pk)
    return _operation_page(
        request,
        assessment,
        form=form,
        title=_("Replace or remove %(user)s") % {"user": assignment.assessor},
        intro=_(
            "The assessor's ratings stay in the record, shown struck out, but no longer count; "
            "they can no longer open or rate this assessment. A replacement starts scoring "
            "afresh and must have no conflict of interest with the cloud."
        ),
        submit=_("Replace or remove"),
        question=_("Remove this assessor from the assessment?"),
        refusal=policy.refusal(user, Action.ASSIGNMENT_REPLACE, assignment),
        status=400 if request.method == "POST" else 200,
    )


urlpatterns: list[URLPattern] = [
    path("campaigns/", campaign_list, name="campaign_list"),
    path("campaigns/new/", campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/state/", campaign_set_state, name="campaign_set_state"),
    path("campaigns/<int:pk>/close/", campaign_close, name="campaign_close"),
    path("campaigns/<int:pk>/clouds/", campaign_add_clouds, name="campaign_add_clouds"),
    path("assessments/<int:pk>/assessors/", assessment_assessors, name="assessment_assessors"),
    path("assessments/<int:pk>/review/", assessment_review, name="assessment_review"),
    path("assessments/<int:pk>/review/settle/", assessment_settle, name="assessment_settle"),
    path("assessments/<int:pk>/review/return/", assessment_return, name="assessment_return"),
    path("assessments/<int:pk>/review/approve/", assessment_approve, name="assessment_approve"),
    path("assessments/<int:pk>/reopen/", assessment_reopen, name="assessment_reopen"),
    path("assessments/<int:pk>/exclude/", assessment_exclude, name="assessment_exclude"),
    path("assessments/<int:pk>/include/", assessment_include, name="assessment_include"),
    path("assignments/<int:pk>/replace/", assignment_replace, name="assignment_replace"),
]
