"""Ranking pages: the provisional ranking of a campaign for admins (settings, tie decisions,
publishing, objections), the objection page of cloud owners, and the public pages (no login).

Public pages render a frozen snapshot and are cached twice: conditional GETs (ETag and
Last-Modified from one small query) and the rendered list in the Django cache, keyed by the
version's SHA-256 and the language. They read the same number of queries however many clouds a
ranking lists.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from accounts.requests import AuthenticatedRequest
from assessments.models import Assessment, Campaign
from assessments.selectors import campaign_get_for
from govcloud_eval.forms import posted_id
from govcloud_eval.limits import max_body
from govcloud_eval.storage import open_stream
from indicators.templatetags.catalog_tags import bilingual

from . import exports, objections, open_data, rules, selectors, services
from .models import (
    LOCALIZED_LANGUAGES,
    OPEN_DATA_FORMATS,
    Objection,
    Ranking,
    RankingAdjustment,
    RankingExport,
    notice_phase,
)
from .snapshot import public_view

# Published versions never change: the rendered list may stay in the cache for a day (the key
# names the version's SHA-256, so a stale entry can never be served for another version).
CACHE_SECONDS = 24 * 3600


def _campaign_for_admin(request: AuthenticatedRequest, pk: int) -> tuple[User, Campaign]:
    """The campaign, for those who manage rankings (admins); 404 for everyone else."""
    user = request.user
    if not policy.can(user, Action.RANKING_MANAGE):
        raise Http404
    return user, campaign_get_for(user=user, pk=pk)


REASONS = {
    rules.NOT_APPROVED: gettext_lazy("not approved"),
    rules.NOT_SCORED: gettext_lazy("no score yet"),
    rules.VETOED: gettext_lazy("veto applies (一票否决)"),
    rules.LEVEL_TOO_LOW: gettext_lazy("level below the minimum"),
    rules.NOT_PASSED: gettext_lazy("did not pass"),
    rules.NO_POOL: gettext_lazy("no pool for this kind of cloud"),
}


# ----------------------------------------------------------------------------------------------
# Admin: the provisional ranking


class SettingsForm(forms.Form):
    quota_provincial = forms.IntegerField(
        label=gettext_lazy("Provincial clouds listed"), min_value=0, max_value=100
    )
    quota_municipal = forms.IntegerField(
        label=gettext_lazy("Municipal clouds listed"), min_value=0, max_value=100
    )
    min_level = forms.ChoiceField(label=gettext_lazy("Minimum level"), required=False)
    tie_break = forms.CharField(
        label=gettext_lazy("Tie-break dimensions, in order"),
        required=False,
        help_text=gettext_lazy("Dimension codes separated by commas, e.g. D2, D4, D1."),
    )
    public_form = forms.ChoiceField(
        label=gettext_lazy("Public form"), choices=Ranking.PublicForm.choices
    )
    notice_starts_on = forms.DateField(
        label=gettext_lazy("Public notice (公示) starts"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    notice_ends_on = forms.DateField(
        label=gettext_lazy("Public notice (公示) ends"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, levels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        min_level = self.fields["min_level"]
        assert isinstance(min_level, forms.ChoiceField)
        min_level.choices = levels

    @staticmethod
    def initial_for(ranking: Ranking) -> dict[str, Any]:
        return {
            "quota_provincial": ranking.quotas.get(rules.PROVINCIAL, 0),
            "quota_municipal": ranking.quotas.get(rules.MUNICIPAL, 0),
            "min_level": ranking.min_level,
            "tie_break": ", ".join(ranking.tie_break),
            "public_form": ranking.public_form,
            "notice_starts_on": ranking.notice_starts_on,
            "notice_ends_on": ranking.notice_ends_on,
        }


def _level_choices(provisional: selectors.Provisional) -> list[tuple[str, str]]:
    return [(lv.code, bilingual(lv, "name")) for lv in provisional.data.levels]


@login_required
@require_GET
def ranking_admin(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The provisional ranking with today's scores: pools, ties, exclusions and their reasons,
    the settings, published versions and objections."""
    _user, campaign = _campaign_for_admin(request, pk)
    return _admin_page(request, campaign)


def _admin_page(
    request: AuthenticatedRequest,
    campaign: Campaign,
    *,
    form: SettingsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The ranking admin page; ``form`` is a settings form the admin posted and must correct
    (re-shown as typed, with its errors)."""
    kind = selectors.kind_for(campaign)
    published = list(selectors.rankings_published_of(campaign=campaign, kind=kind))
    draft = selectors.ranking_draft_of(campaign=campaign, kind=kind)
    if draft is None:
        draft, _latest = services.ranking_defaults(campaign=campaign, published=published)
    provisional = selectors.ranking_provisional(ranking=draft)
    if form is None:
        form = SettingsForm(
            initial=SettingsForm.initial_for(draft), levels=_level_choices(provisional)
        )
    levels = {lv.code: lv for lv in provisional.data.levels}
    exclusions = [
        {
            "assessment": provisional.data.assessments[x.candidate.assessment_id],
            "result": provisional.data.results.get(x.candidate.assessment_id),
            "level": levels.get(x.candidate.level or ""),
            "reasons": [REASONS.get(r, r) for r in x.reasons],
        }
        for x in provisional.excluded
    ]
    adjustments = {a.assessment_id: a for a in provisional.adjustments}
    # Each entry links to its result: the address built once, not reversed for 400 rows; the
    # levels' names likewise.
    level_names = {code: bilingual(lv, "name") for code, lv in levels.items()}
    before, _sep, after = reverse("scoring:assessment_result", args=[0]).rpartition("/0/")
    pools = [
        (
            pool,
            [
                (
                    e,
                    level_names.get(e.candidate.level or "", ""),
                    adjustments.get(e.candidate.assessment_id),
                    f"{before}/{e.candidate.assessment_id}/{after}",
                )
                for e in pool.entries
            ],
        )
        for pool in (provisional.result.pools if provisional.result else ())
    ]
    today = timezone.localdate()
    final_published = any(r.state == Ranking.State.FINAL for r in published)
    latest = published[0] if published else None
    return render(
        request,
        "rankings/admin.html",
        {
            "campaign": campaign,
            "draft": draft,
            "provisional": provisional,
            "levels": levels,
            "assessments": provisional.data.assessments,
            "exclusions": exclusions,
            "form": form,
            "published": [
                (
                    r,
                    notice_phase(
                        state=r.state,
                        starts_on=r.notice_starts_on,
                        ends_on=r.notice_ends_on,
                        final_published=final_published,
                        today=today,
                    ),
                )
                for r in published
            ],
            "latest": latest,
            "exports_waiting": any(
                r["exports_total"] == 0 or r["exports_ready"] < r["exports_total"]
                for r in selectors.export_counts(published)
            ),
            "unfinished": provisional.data.unfinished,
            "campaign_size": len(provisional.data.assessments),
            "publish_refusals": [
                refused
                for refused in (
                    services.notice_start_refusal(draft=draft, latest=latest, today=today),
                    services.public_form_refusal(draft=draft, latest=latest),
                )
                if refused
            ],
            "objections": list(selectors.objections_of(campaign=campaign, kind=kind)),
            "settled_states": [
                (s.value, s.label) for s in Objection.State if s != Objection.State.OPEN
            ],
            "pools": pools,
        },
        status=status,
    )


@login_required
@require_POST
def ranking_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user, campaign = _campaign_for_admin(request, pk)
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=user)
    provisional = selectors.ranking_provisional(ranking=draft)
    form = SettingsForm(request.POST, levels=_level_choices(provisional))
    if not form.is_valid():
        # Shown again as typed, each error beside its field: nothing is saved.
        messages.error(request, _("The settings were not saved: correct the fields marked below."))
        return _admin_page(request, campaign, form=form, status=400)
    data = form.cleaned_data
    try:
        services.ranking_settings_save(
            ranking=draft,
            quotas={
                rules.PROVINCIAL: data["quota_provincial"],
                rules.MUNICIPAL: data["quota_municipal"],
            },
            min_level=data["min_level"] or draft.min_level,
            tie_break=[
                c.strip() for c in data["tie_break"].replace("，", ",").split(",") if c.strip()
            ],
            public_form=data["public_form"],
            notice_starts_on=data["notice_starts_on"],
            notice_ends_on=data["notice_ends_on"],
            acting_user=user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _admin_page(request, campaign, form=form, status=400)
    messages.success(request, _("Settings saved."))
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_POST
def ranking_adjust(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user, campaign = _campaign_for_admin(request, pk)
    chosen = posted_id(request.POST.get("assessment"))
    assessment = (
        Assessment.objects.filter(pk=chosen, campaign=campaign).first()
        if chosen is not None
        else None
    )
    if assessment is None:
        # Nothing is recorded: the page again, with the message, answered 400.
        messages.error(request, _("Choose a cloud of this campaign."))
        return _admin_page(request, campaign, status=400)
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=user)
    try:
        services.ranking_adjustment_save(
            ranking=draft,
            assessment=assessment,
            move=request.POST.get("move", ""),
            reason=request.POST.get("reason", ""),
            acting_user=user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_POST
def ranking_adjustment_withdraw(
    request: AuthenticatedRequest, pk: int, adjustment_pk: int
) -> HttpResponse:
    user, campaign = _campaign_for_admin(request, pk)
    adjustment = get_object_or_404(RankingAdjustment, pk=adjustment_pk, ranking__campaign=campaign)
    try:
        services.ranking_adjustment_withdraw(adjustment=adjustment, acting_user=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Decision withdrawn."))
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_POST
def ranking_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user, campaign = _campaign_for_admin(request, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Confirm that a published ranking is final."))
        return redirect("rankings:admin", campaign.pk)
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=user)
    # The unfinished assessments the page listed count as acknowledged only when the box is
    # ticked; the service refuses without them and a reason.
    acknowledged = request.POST.get("acknowledge_unfinished") == "yes"
    try:
        published = services.ranking_publish(
            ranking=draft,
            change_note=request.POST.get("change_note", ""),
            unfinished_acknowledged=[
                int(pk) for pk in request.POST.getlist("unfinished") if pk.isdigit()
            ]
            if acknowledged
            else [],
            unfinished_reason=request.POST.get("unfinished_reason", "") if acknowledged else "",
            acting_user=user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("rankings:admin", campaign.pk)
    messages.success(
        request, _("Version %(version)s is published.") % {"version": published.version}
    )
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_POST
def ranking_exports_requeue(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Queues again the files of the campaign's published versions that are not stored (failed,
    waiting, or never created for a version published before files were stored)."""
    user, campaign = _campaign_for_admin(request, pk)
    queued = services.ranking_exports_requeue(acting_user=user, campaign=campaign)
    if queued:
        messages.success(
            request,
            _("The files of %(versions)s are queued for rendering.")
            % {"versions": ", ".join(f"v{r.version}" for r in queued)},
        )
    else:
        messages.info(request, _("Every file is stored already."))
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_POST
def objection_answer(request: AuthenticatedRequest, pk: int, objection_pk: int) -> HttpResponse:
    user, campaign = _campaign_for_admin(request, pk)
    objection = get_object_or_404(Objection, pk=objection_pk, ranking__campaign=campaign)
    try:
        objections.objection_answer(
            objection=objection,
            state=request.POST.get("state", ""),
            answer=request.POST.get("answer", ""),
            acting_user=user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Answer recorded."))
    return redirect("rankings:admin", campaign.pk)


@login_required
@require_GET
def objection_evidence(request: AuthenticatedRequest, pk: int) -> FileResponse:
    """The evidence of an objection, for admins and the cloud's owner (404 otherwise)."""
    objection = selectors.objection_get_for(user=request.user, pk=pk)
    if not objection.evidence:
        raise Http404
    try:
        handle = open_stream(objection.evidence)
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=objection.evidence_name,
        content_type=objection.evidence_content_type,
    )
    if "Content-Length" not in response and objection.evidence_size is not None:
        response["Content-Length"] = str(objection.evidence_size)  # an object store's stream
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# ----------------------------------------------------------------------------------------------
# Owners: objections during the public notice


class CloudChoiceField(forms.ModelChoiceField):
    """Assessments, each shown by its cloud's name."""

    def label_from_instance(self, obj: Assessment) -> str:
        return obj.cloud.name


class ObjectionForm(forms.Form):
    assessment = CloudChoiceField(label=gettext_lazy("Cloud"), queryset=Assessment.objects.none())
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    evidence = forms.FileField(
        label=gettext_lazy("Evidence (PDF, PNG or JPEG, at most 20 MB)"), required=False
    )

    def __init__(self, *args: Any, assessments: QuerySet[Assessment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assessment = self.fields["assessment"]
        assert isinstance(assessment, CloudChoiceField)
        assessment.queryset = assessments


@max_body(objections.OBJECTION_EVIDENCE_MAX_BYTES)
@login_required
@require_http_methods(["GET", "POST"])
def objections_owner(request: AuthenticatedRequest, year: int, slug: str) -> HttpResponse:
    """A cloud owner's objections against a ranking, and the form to lodge one while the list
    is on public notice. Anyone but an owner with a cloud in the campaign gets 404."""
    user = request.user
    head = selectors.published_head(year=year, slug=slug)
    ranking = selectors.published_get(pk=head.pk)
    assessments = selectors.owner_assessments(user=user, campaign=ranking.campaign)
    if not assessments.exists():
        raise Http404
    refusal = objections.objection_refusal(ranking=ranking, user=user)
    form = ObjectionForm(request.POST or None, request.FILES or None, assessments=assessments)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            objections.objection_lodge(
                ranking=ranking,
                assessment=form.cleaned_data["assessment"],
                reason=form.cleaned_data["reason"],
                evidence=form.cleaned_data["evidence"],
                acting_user=user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your objection was lodged. The office will answer it."))
            return redirect("rankings:objections", year, slug)
    return render(
        request,
        "rankings/objections.html",
        {
            "ranking": ranking,
            "head": head,
            "form": form,
            "refusal": refusal,
            "objections": selectors.objections_for_owner(user=user, ranking=ranking),
            "title": exports.presentation(public_view(ranking), charts=False).title,
        },
    )


# ----------------------------------------------------------------------------------------------
# Public pages


def _head(
    request: HttpRequest, year: int, slug: str, version: int | None = None
) -> selectors.PublishedHead:
    """The version asked for, read once per request (the ETag, the Last-Modified and the view
    all need it)."""
    # Kept on the request (HttpRequest declares no such attribute, hence its __dict__).
    memo = vars(request)
    cached: selectors.PublishedHead | None = memo.get("_ranking_head")
    if cached is None:
        cached = selectors.published_head(year=year, slug=slug, version=version)
        memo["_ranking_head"] = cached
    return cached


def _notice_phase(head: selectors.PublishedHead) -> str:
    """Part of what the page says about a notice depends on the date: before it starts, while
    it runs, after it (while the final list is awaited), or once the final list is out."""
    return notice_phase(
        state=head.state,
        starts_on=head.notice_starts_on,
        ends_on=head.notice_ends_on,
        final_published=head.latest_state == Ranking.State.FINAL,
        today=timezone.localdate(),
    )


def _user_tag(request: HttpRequest) -> str:
    # The page header names the signed-in user: a signed-in view is a different page.
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else "0"


def _ranking_etag(request: HttpRequest, year: int, slug: str, version: int | None = None) -> str:
    head = _head(request, year, slug, version)
    parts = (
        head.snapshot_sha256[:24],
        str(head.latest_version),
        get_language() or "",
        _notice_phase(head),
        "files" if head.exports_ready else "preparing",
        _user_tag(request),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _ranking_modified(
    request: HttpRequest, year: int, slug: str, version: int | None = None
) -> datetime.datetime:
    return _head(request, year, slug, version).latest_published_at


def _fragment_key(head: selectors.PublishedHead) -> str:
    return ":".join(
        (
            "rankings",
            "page",
            str(head.pk),
            head.snapshot_sha256[:16],
            str(head.latest_version),
            get_language() or "",
            _notice_phase(head),
            "files" if head.exports_ready else "preparing",
        )
    )


def _published_fragment(head: selectors.PublishedHead) -> str:
    """The rendered list of a version: from the cache, or rendered from its snapshot."""
    key = _fragment_key(head)
    html = cache.get(key)
    if html is None:
        ranking = selectors.published_get(pk=head.pk)
        html = render_to_string(
            "rankings/partials/_published.html",
            {
                # The presentation only: the stored snapshot of an older format holds scores.
                "p": exports.presentation(public_view(ranking), charts=False),
                "head": head,
                "phase": _notice_phase(head),
            },
        )
        cache.set(key, html, CACHE_SECONDS)
    return html


# Where the CSRF token of the language switcher goes in a page kept in the cache: each request
# puts its own there (``get_token``), so that no reader is ever served another's token.
CSRF_PLACEHOLDER = "__rankings-csrf-token-placeholder__"


def _page_key(request: HttpRequest, head: selectors.PublishedHead) -> str | None:
    """The cache key of the whole page for an anonymous reader: the rendered list's key (version,
    language, notice phase, files ready) and the path (the switcher sends the reader back to it);
    None when the page must be rendered for this request: a signed-in reader (the header names
    them), a query string (the switcher repeats it), or a session or messages cookie (the page
    would show its messages)."""
    if (
        _user_tag(request) != "0"
        or request.GET
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or "messages" in request.COOKIES
    ):
        return None
    return f"{_fragment_key(head)}:{request.path}"


# Compressed here rather than by a site-wide GZipMiddleware: this page is large, public and the
# same for every visitor but for the header, so it gains most; pages that carry a user's secrets
# are left alone (BREACH; Django's middleware pads against it since 4.2, but no padding is
# needed for what is not compressed). gzip_page sits outside ``condition``: a 304 has no body.
@gzip_page
@require_GET
@condition(etag_func=_ranking_etag, last_modified_func=_ranking_modified)
def ranking_public(
    request: HttpRequest, year: int, slug: str, version: int | None = None
) -> HttpResponse:
    """A published ranking, for everyone: its latest version, or the version asked for.

    The whole page of anonymous readers is cached (keyed as ``_page_key``, the CSRF token of the
    language switcher filled in per request), so that such a request costs the one query of its
    ETag; other readers get the shell rendered around the cached list."""
    head = _head(request, year, slug, version)
    key = _page_key(request, head)
    html: str | None = cache.get(key) if key else None
    if html is None:
        context: dict[str, Any] = {
            "head": head,
            "fragment": mark_safe(_published_fragment(head)),  # noqa: S308
        }
        if key:
            context["csrf_token"] = CSRF_PLACEHOLDER
        html = render_to_string("rankings/public.html", context, request=request)
        if key:
            cache.set(key, html, CACHE_SECONDS)
    if key:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    response = HttpResponse(html)
    # Browsers ask again each time and get a 304 while the ETag holds; the page carries a CSRF
    # token (the language switcher), so shared caches must not keep it.
    response["Cache-Control"] = "private, no-cache"
    return response


def _index_version(request: HttpRequest) -> tuple[int, datetime.datetime | None]:
    # Kept on the request, as in ``_head``.
    memo = vars(request)
    cached: tuple[int, datetime.datetime | None] | None = memo.get("_index_version")
    if cached is None:
        cached = selectors.published_index_version()
        memo["_index_version"] = cached
    return cached


def _index_key(request: HttpRequest) -> str:
    count, last = _index_version(request)
    stamp = int(last.timestamp() * 1000) if last else 0
    # The date is part of it: whether a notice is still running changes with the day.
    return f"{count}-{stamp}-{get_language()}-{timezone.localdate().isoformat()}"


def _index_etag(request: HttpRequest) -> str:
    return f"{_index_key(request)}-{_user_tag(request)}"


def _index_modified(request: HttpRequest) -> datetime.datetime | None:
    return _index_version(request)[1]


@require_GET
@condition(etag_func=_index_etag, last_modified_func=_index_modified)
def ranking_index(request: HttpRequest) -> HttpResponse:
    """Every published ranking by year (the latest version of each), for everyone; admins also
    see the campaigns whose ranking they can prepare."""
    key = f"rankings:index:{_index_key(request)}"
    html = cache.get(key)
    if html is None:
        rows = selectors.published_index()
        years: list[tuple[int, list[selectors.IndexRow]]] = []
        for row in rows:
            if not years or years[-1][0] != row.year:
                years.append((row.year, []))
            years[-1][1].append(row)
        html = render_to_string(
            "rankings/partials/_index.html", {"years": years, "today": timezone.localdate()}
        )
        cache.set(key, html, CACHE_SECONDS)
    campaigns = []
    if policy.can(request.user, Action.RANKING_MANAGE):
        campaigns = list(Campaign.objects.order_by("-year", "name"))
    return render(
        request,
        "rankings/index.html",
        {"fragment": mark_safe(html), "campaigns": campaigns},  # noqa: S308
    )


EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    # The open data (docs/open-data.md): one language-neutral file each.
    "json": "application/json",
    "data.csv": "text/csv; charset=utf-8; header=present",
}
# How long a reader waits before asking again for a file being prepared.
EXPORT_RETRY_SECONDS = 30


def _export_language(fmt: str) -> str:
    if fmt in OPEN_DATA_FORMATS:
        return RankingExport.Language.NEUTRAL.value
    language = get_language() or ""
    return language if language in LOCALIZED_LANGUAGES else "zh-hans"


def _export(
    request: HttpRequest, year: int, slug: str, version: int, fmt: str
) -> RankingExport | None:
    """The stored file asked for, read once per request (kept on it, as in ``_head``)."""
    memo = vars(request)
    if "_ranking_export" not in memo:
        if fmt not in EXPORTS:
            raise Http404
        head = _head(request, year, slug, version)
        memo["_ranking_export"] = selectors.published_export(
            ranking_id=head.pk, fmt=fmt, language=_export_language(fmt)
        )
    found: RankingExport | None = memo["_ranking_export"]
    return found


def _export_etag(request: HttpRequest, year: int, slug: str, version: int, fmt: str) -> str | None:
    # The stored file's own hash: the ETag names exactly the bytes served.
    export = _export(request, year, slug, version, fmt)
    return export.sha256 if export is not None and export.is_ready else None


def _export_modified(
    request: HttpRequest, year: int, slug: str, version: int, fmt: str
) -> datetime.datetime | None:
    export = _export(request, year, slug, version, fmt)
    return export.rendered_at if export is not None and export.is_ready else None


@require_GET
@condition(etag_func=_export_etag, last_modified_func=_export_modified)
def ranking_export(
    request: HttpRequest, year: int, slug: str, version: int, fmt: str
) -> HttpResponse | FileResponse:
    """A published version as CSV, XLSX or a one-page PDF bulletin, or its open data (JSON,
    CSV of stable columns: ``open_data``), for everyone: the file stored when it was published
    (two queries and a stream; nothing is rendered here). While the file is not rendered yet, a
    page that says it is being prepared (503, Retry-After)."""
    head = _head(request, year, slug, version)
    export = _export(request, year, slug, version, fmt)
    if export is None or not export.is_ready:
        pending = render(
            request,
            "rankings/export_pending.html",
            {
                "head": head,
                "fmt": fmt,
                "failed": export is not None and export.state == RankingExport.State.FAILED,
            },
            status=503,
        )
        pending["Retry-After"] = str(EXPORT_RETRY_SECONDS)
        pending["Cache-Control"] = "no-store"
        return pending
    try:
        handle = open_stream(export.file)
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=fmt != "pdf",
        filename=f"ranking-{year}-{slug}-v{version}.{fmt}",
        content_type=EXPORTS[fmt],
    )
    if "Content-Length" not in response and export.size is not None:
        response["Content-Length"] = str(export.size)  # an object store's stream
    response["X-Content-Type-Options"] = "nosniff"
    if fmt in OPEN_DATA_FORMATS:
        # The same bytes for every reader, in any language.
        response["Cache-Control"] = "public, max-age=3600"
        response["Access-Control-Allow-Origin"] = "*"
        return response
    # Private: the language comes from a cookie as well as Accept-Language.
    response["Cache-Control"] = "private, max-age=3600"
    response["Vary"] = "Accept-Language, Cookie"
    return response


@require_GET
def open_data_schema(request: HttpRequest) -> HttpResponse:
    """The JSON Schema (draft 2020-12) of every ranking's open data, for everyone, at a stable
    address: the file committed beside ``open_data`` (docs/open-data.md). No query."""
    response = HttpResponse(open_data.schema_bytes(), content_type="application/schema+json")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
