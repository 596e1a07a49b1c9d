"""Writes for rankings: the draft and its settings, tie decisions, and publishing a frozen
version. Objections are ``reports.rankings.objections``; the snapshot a version freezes is
``reports.rankings.snapshot``.

Every write takes ``acting_user``, runs in one transaction, checks the rules here (the models
hold single-row rules only) and leaves an audit record with a dotted action code.

Publishing freezes everything the public pages show into ``Ranking.snapshot`` and names it by
the SHA-256 of its canonical JSON: later changes to scores, clouds or organisations never alter a
published version. A correction, or the final list after the notice, is a new version that
supersedes the previous one and says what changed (the admin's note, and the entries added,
removed or moved, computed here).

Publishing guards what the public reads: the campaign's unfinished (not approved) assessments are
listed and must be acknowledged with a reason; a notice never starts before the list is
published; a list published without scores keeps them hidden in every later version; no two
public lists share a title (``models.list_titles``).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Collection

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment, Campaign, Cloud
from audit.services import audit_record
from reports.scoring.selectors import framework_spec

from . import rules, selectors
from .models import EXPORT_FILES, Ranking, RankingAdjustment, RankingExport
from .rendering import renderable_q
from .snapshot import snapshot_build, snapshot_of, snapshot_sha256, version_changes
from .tasks import ranking_exports_render_task

# How many unfinished clouds a refusal names before it says "…".
UNFINISHED_NAMED = 5

# ----------------------------------------------------------------------------------------------
# The draft


def _default_min_level(level_order: list[str]) -> str:
    if rules.DEFAULT_MIN_LEVEL in level_order:
        return rules.DEFAULT_MIN_LEVEL
    return level_order[-1] if level_order else ""


def ranking_defaults(
    *, campaign: Campaign, published: list[Ranking] | None = None
) -> tuple[Ranking, Ranking | None]:
    """An unsaved draft for the campaign, and the latest published version it starts from (or
    None): that version's settings, otherwise the defaults (6 provincial and 4 municipal clouds,
    先进级 at least, ties broken by D2, D4, D1). Reads only; the admin page previews with it,
    passing the published versions it has read (``published``, newest first)."""
    kind = selectors.kind_for(campaign)
    if published is not None:
        latest = published[0] if published else None
    else:
        latest = (
            Ranking.objects.filter(
                campaign=campaign, kind=kind, state__in=selectors.PUBLISHED_STATES
            )
            .defer("snapshot")
            .order_by("-version")
            .first()
        )
    if latest is not None:
        draft = Ranking(
            campaign=campaign,
            kind=kind,
            year=campaign.year,
            slug=latest.slug,
            quotas=latest.quotas,
            min_level=latest.min_level,
            tie_break=latest.tie_break,
            public_form=latest.public_form,
            is_demo=campaign.is_demo,
        )
        # A correction during a notice that is still running keeps its period; after it, the
        # next version is the final list unless the admin sets a new period.
        if latest.notice_ends_on and latest.notice_ends_on >= timezone.localdate():
            draft.notice_starts_on = latest.notice_starts_on
            draft.notice_ends_on = latest.notice_ends_on
        return draft, latest
    # From the framework's spec, kept per process once read (a published framework never
    # changes): no query on a page that shows the defaults.
    spec = framework_spec(framework=campaign.framework)
    levels = [level.code for level in spec.levels]
    dimensions = {dimension.code for dimension in spec.dimensions}
    draft = Ranking(
        campaign=campaign,
        kind=kind,
        year=campaign.year,
        slug=_free_slug(campaign, kind),
        quotas=dict(rules.DEFAULT_QUOTAS),
        min_level=_default_min_level(levels),
        tie_break=[c for c in rules.DEFAULT_TIE_BREAK if c in dimensions],
        is_demo=campaign.is_demo,
    )
    return draft, None


@transaction.atomic
def ranking_draft_get_or_create(*, campaign: Campaign, acting_user: User) -> Ranking:
    """The campaign's draft ranking, made on first use from ``ranking_defaults`` (carrying the
    tie decisions of the version it starts from). Safe to call again: returns the existing
    draft; concurrent calls make one (the campaign row is locked)."""
    policy.require(acting_user, Action.RANKING_MANAGE)
    Campaign.objects.select_for_update().get(pk=campaign.pk)
    existing = selectors.ranking_draft_of(campaign=campaign, kind=selectors.kind_for(campaign))
    if existing is not None:
        return existing
    draft, latest = ranking_defaults(campaign=campaign)
    draft.full_clean()
    draft.save()
    if latest is not None:
        RankingAdjustment.objects.bulk_create(
            RankingAdjustment(
                ranking=draft,
                assessment_id=a.assessment_id,
                move=a.move,
                reason=a.reason,
                decided_by_id=a.decided_by_id,
            )
            for a in latest.adjustments.all()
        )
    audit_record(
        action="reports.ranking.created",
        acting_user=acting_user,
        target=draft,
        changes={
            "campaign": campaign.pk,
            "kind": draft.kind,
            "from_version": latest.version if latest is not None else None,
        },
    )
    return draft


def _free_slug(campaign: Campaign, kind: str) -> str:
    base = "top-ten" if kind == Ranking.Kind.TOP_TEN else "awards"
    taken = set(
        Ranking.objects.filter(year=campaign.year)
        .exclude(campaign=campaign)
        .values_list("slug", flat=True)
    )
    return base if base not in taken else f"{base}-{campaign.pk}"


def _locked_draft(ranking: Ranking) -> Ranking:
    draft = (
        Ranking.objects.select_for_update()
        .select_related("campaign__framework")
        .filter(pk=ranking.pk)
        .first()
    )
    if draft is None or draft.state != Ranking.State.DRAFT:
        raise ValidationError(
            _("This ranking is already published; changes go into a new version.")
        )
    return draft


def _latest_published(draft: Ranking) -> Ranking | None:
    return (
        Ranking.objects.filter(
            campaign=draft.campaign_id, kind=draft.kind, state__in=selectors.PUBLISHED_STATES
        )
        .defer("snapshot")
        .order_by("-version")
        .first()
    )


def notice_start_refusal(
    *, draft: Ranking, latest: Ranking | None, today: datetime.date
) -> str | None:
    """Why the draft's notice may not start when it says (None when it may): a notice never
    starts before the list is published. The one exception is the notice a correction carries
    over from the version it corrects (``ranking_defaults``): that notice was announced, and
    checked, when that version was published."""
    if draft.notice_starts_on is None or draft.notice_starts_on >= today:
        return None
    carried = (
        latest is not None
        and latest.state == Ranking.State.NOTICE
        and (latest.notice_starts_on, latest.notice_ends_on)
        == (draft.notice_starts_on, draft.notice_ends_on)
    )
    if carried:
        return None
    return _(
        "The public notice cannot start before the list is published: "
        "choose %(today)s or a later day to start it."
    ) % {"today": today.isoformat()}


def public_form_refusal(*, draft: Ranking, latest: Ranking | None) -> str | None:
    """Why the draft may not show scores (None when it may): a list published without scores
    keeps them hidden in every later version, or its corrections would reveal them."""
    if (
        latest is not None
        and latest.public_form != Ranking.PublicForm.RANKED
        and draft.public_form == Ranking.PublicForm.RANKED
    ):
        return _(
            "Version %(version)s was published without scores; "
            "later versions of this list keep them hidden."
        ) % {"version": latest.version}
    return None


@transaction.atomic
def ranking_settings_save(
    *,
    ranking: Ranking,
    quotas: dict[str, int],
    min_level: str,
    tie_break: list[str],
    public_form: str,
    notice_starts_on: datetime.date | None,
    notice_ends_on: datetime.date | None,
    acting_user: User,
) -> Ranking:
    """Saves the draft's settings. Raises ValidationError on an unknown level or dimension, a
    repeated tie-break dimension, a quota out of range, a half or reversed notice period, a
    notice starting before today (``notice_start_refusal``), or scores shown after a version
    that hid them (``public_form_refusal``)."""
    policy.require(acting_user, Action.RANKING_MANAGE)
    draft = _locked_draft(ranking)
    framework = draft.campaign.framework
    levels = set(framework.levels.values_list("code", flat=True))
    dimensions = set(framework.dimensions.values_list("code", flat=True))
    if draft.kind == Ranking.Kind.TOP_TEN and min_level not in levels:
        raise ValidationError({"min_level": _("Choose one of the catalog's levels.")})
    unknown = [code for code in tie_break if code not in dimensions]
    if unknown:
        raise ValidationError(
            {"tie_break": _("Unknown dimensions: %(codes)s") % {"codes": ", ".join(unknown)}}
        )
    if len(set(tie_break)) != len(tie_break):
        raise ValidationError({"tie_break": _("Name each dimension once.")})
    if set(quotas) - set(rules.POOLS):
        raise ValidationError({"quotas": _("Quotas are set for provincial and municipal clouds.")})
    before = {
        "quotas": draft.quotas,
        "min_level": draft.min_level,
        "tie_break": draft.tie_break,
        "public_form": draft.public_form,
        "notice_starts_on": str(draft.notice_starts_on or ""),
        "notice_ends_on": str(draft.notice_ends_on or ""),
    }
    draft.quotas = {pool: quotas.get(pool, 0) for pool in rules.POOLS}
    draft.min_level = min_level if draft.kind == Ranking.Kind.TOP_TEN else draft.min_level
    draft.tie_break = list(tie_break)
    draft.public_form = public_form
    draft.notice_starts_on = notice_starts_on
    draft.notice_ends_on = notice_ends_on
    draft.full_clean()
    latest = _latest_published(draft)
    refused = notice_start_refusal(draft=draft, latest=latest, today=timezone.localdate())
    if refused:
        raise ValidationError({"notice_starts_on": refused})
    refused = public_form_refusal(draft=draft, latest=latest)
    if refused:
        raise ValidationError({"public_form": refused})
    draft.save()
    after = {
        "quotas": draft.quotas,
        "min_level": draft.min_level,
        "tie_break": draft.tie_break,
        "public_form": draft.public_form,
        "notice_starts_on": str(draft.notice_starts_on or ""),
        "notice_ends_on": str(draft.notice_ends_on or ""),
    }
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit_record(
            action="reports.ranking.settings_changed",
            acting_user=acting_user,
            target=draft,
            changes=changes,
        )
    return draft


# ----------------------------------------------------------------------------------------------
# Tie decisions


@transaction.atomic
def ranking_adjustment_save(
    *, ranking: Ranking, assessment: Assessment, move: str, reason: str, acting_user: User
) -> RankingAdjustment:
    """Moves an entry tied (并列) across its pool's quota line into the list or out of it, with
    the reason. Raises ValidationError when the entry is not in such a tie, the move changes
    nothing, or the reason is empty. Deciding again on the same entry replaces the decision."""
    policy.require(acting_user, Action.RANKING_MANAGE)
    draft = _locked_draft(ranking)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision.")})
    if move not in (rules.IN, rules.OUT):
        raise ValidationError({"move": _("Move the entry in or out.")})
    provisional = selectors.ranking_provisional(ranking=draft)
    entry = None
    for pool in provisional.result.pools if provisional.result else ():
        entry = next((e for e in pool.entries if e.candidate.assessment_id == assessment.pk), entry)
    if entry is None or not entry.boundary_tie:
        raise ValidationError(_("Only an entry tied across the quota line can be moved in or out."))
    previous = RankingAdjustment.objects.filter(ranking=draft, assessment=assessment).first()
    default_selected = entry.selected if entry.adjusted is None else entry.adjusted == rules.IN
    if previous is None and default_selected == (move == rules.IN):
        raise ValidationError(
            _("The entry is already in the list.")
            if move == rules.IN
            else _("The entry is already out of the list.")
        )
    adjustment = previous or RankingAdjustment(ranking=draft, assessment=assessment)
    adjustment.move = move
    adjustment.reason = reason
    adjustment.decided_by = acting_user
    adjustment.full_clean()
    adjustment.save()
    audit_record(
        action="reports.ranking.adjusted",
        acting_user=acting_user,
        target=draft,
        changes={
            "assessment": assessment.pk,
            "cloud": str(assessment.cloud),
            "move": move,
            "reason": reason,
        },
    )
    return adjustment


@transaction.atomic
def ranking_adjustment_withdraw(*, adjustment: RankingAdjustment, acting_user: User) -> None:
    policy.require(acting_user, Action.RANKING_MANAGE)
    draft = _locked_draft(adjustment.ranking)
    deleted, _rows = RankingAdjustment.objects.filter(pk=adjustment.pk, ranking=draft).delete()
    if deleted != 1:
        raise ValidationError(_("The decision was already withdrawn."))
    audit_record(
        action="reports.ranking.adjustment_withdrawn",
        acting_user=acting_user,
        target=draft,
        changes={"assessment": adjustment.assessment_id, "move": adjustment.move},
    )


# ----------------------------------------------------------------------------------------------
# Publishing


def _unfinished_refusal(
    unfinished: list[Assessment], total: int, acknowledged: Collection[int], reason: str
) -> str | None:
    if not unfinished:
        return None
    seen = set(acknowledged)
    if reason and all(a.pk in seen for a in unfinished):
        return None
    names = [a.cloud.name for a in unfinished[:UNFINISHED_NAMED]]
    if len(unfinished) > UNFINISHED_NAMED:
        names.append("…")
    return ngettext(
        "%(count)s of the campaign's %(total)s assessments is not approved, so it cannot be "
        "listed: %(clouds)s. To publish now, acknowledge it and give the reason.",
        "%(count)s of the campaign's %(total)s assessments are not approved, so they cannot be "
        "listed: %(clouds)s. To publish now, acknowledge them and give the reason.",
        len(unfinished),
    ) % {"count": len(unfinished), "total": total, "clouds": "、".join(names)}


@transaction.atomic
def ranking_publish(
    *,
    ranking: Ranking,
    change_note: str = "",
    unfinished_acknowledged: Collection[int] = (),
    unfinished_reason: str = "",
    acting_user: User,
) -> Ranking:
    """Publishes the draft: freezes its snapshot, numbers the version, and marks it as the
    public-notice list (when the draft has a notice period) or the final list.

    When assessments of the campaign are not approved yet, the admin acknowledges them:
    ``unfinished_acknowledged`` holds the ids of those the admin was shown (every one still
    unfinished must be among them: one added since was not seen) and ``unfinished_reason`` says
    why the list is published now; both go into the audit record.

    Raises ValidationError when: the ranking is already published (two admins clicking at once
    publish once); unfinished assessments are not acknowledged with a reason; a tie across a
    quota line is undecided; nothing would be listed; a later version does not say what
    changed; a notice period is already over, or starts before today (``notice_start_refusal``);
    a version would show the scores an earlier one hid (``public_form_refusal``); another
    published list of the year has the same title; or, for a final list after a notice, the
    notice has not ended or objections are still open.
    """
    policy.require(acting_user, Action.RANKING_MANAGE)
    draft = _locked_draft(ranking)
    change_note = (change_note or "").strip()
    today = timezone.localdate()
    latest = (
        Ranking.objects.select_for_update()
        .filter(campaign=draft.campaign, kind=draft.kind, state__in=selectors.PUBLISHED_STATES)
        .order_by("-version")
        .first()
    )
    if latest is not None and not change_note:
        raise ValidationError(
            {
                "change_note": _("Say what changed since version %(version)s.")
                % {"version": latest.version}
            }
        )
    final = draft.notice_ends_on is None
    if draft.notice_ends_on is not None and draft.notice_ends_on < today:
        raise ValidationError({"notice_ends_on": _("The public notice period is already over.")})
    refused = notice_start_refusal(draft=draft, latest=latest, today=today)
    if refused:
        raise ValidationError({"notice_starts_on": refused})
    refused = public_form_refusal(draft=draft, latest=latest)
    if refused:
        raise ValidationError({"public_form": refused})
    # The end of the previous version's notice, while that notice still runs.
    notice_runs_until = (
        latest.notice_ends_on
        if latest is not None
        and latest.state == Ranking.State.NOTICE
        and latest.notice_ends_on is not None
        and latest.notice_ends_on >= today
        else None
    )
    if final and notice_runs_until is not None:
        raise ValidationError(
            _("The public notice runs until %(date)s; publish the final list after it.")
            % {"date": notice_runs_until.isoformat()}
        )
    if final and selectors.objections_open_count(campaign=draft.campaign, kind=draft.kind):
        raise ValidationError(_("Answer every objection before publishing the final list."))
    provisional = selectors.ranking_provisional(ranking=draft)
    if provisional.result is not None:
        undecided = provisional.result.undecided
        if undecided:
            raise ValidationError(
                _(
                    "A tie (并列) straddles the quota line of %(pools)s: "
                    "move a tied entry in or out first."
                )
                % {"pools": ", ".join(str(_pool_label(p.code)) for p in undecided)}
            )
    unfinished = provisional.data.unfinished
    unfinished_reason = (unfinished_reason or "").strip()
    refused = _unfinished_refusal(
        unfinished,
        len(provisional.data.assessments),
        unfinished_acknowledged,
        unfinished_reason,
    )
    if refused:
        raise ValidationError({"unfinished_reason": refused})
    now = timezone.now()
    latest_version = latest.version if latest is not None else 0
    # The constraint ranking_published_is_frozen: a published version has its number.
    assert latest_version is not None
    version = latest_version + 1
    snapshot = snapshot_build(
        provisional=provisional, version=version, change_note=change_note, now=now
    )
    if not snapshot["listed"]:
        raise ValidationError(_("No cloud is eligible: there is nothing to publish."))
    if selectors.title_taken(ranking=draft, titles=(snapshot["title"], snapshot["title_en"])):
        raise ValidationError(
            _("Another published list of %(year)s already has the title “%(title)s”.")
            % {"year": draft.year, "title": snapshot["title"]}
        )
    if latest is not None:
        snapshot["changes"] = version_changes(snapshot_of(latest), snapshot, latest_version)
    draft.state = Ranking.State.FINAL if final else Ranking.State.NOTICE
    draft.version = version
    draft.slug = latest.slug if latest is not None else draft.slug
    draft.supersedes = latest
    draft.change_note = change_note
    draft.snapshot = snapshot
    draft.snapshot_sha256 = snapshot_sha256(dict(snapshot))
    draft.published_at = now
    draft.published_by = acting_user
    draft.full_clean()
    draft.save()
    audit_record(
        action="reports.ranking.published",
        acting_user=acting_user,
        target=draft,
        changes={
            "version": version,
            "state": draft.state,
            "snapshot_sha256": draft.snapshot_sha256,
            "supersedes": latest.version if latest is not None else None,
            "listed": snapshot["listed"],
            "change_note": change_note,
            "title": snapshot["title"],
            "public_form": draft.public_form,
            "unfinished": {
                "count": len(unfinished),
                "of": len(provisional.data.assessments),
                "reason": unfinished_reason,
                "assessments": [
                    {"id": a.pk, "cloud": a.cloud.name, "state": a.state} for a in unfinished
                ],
            }
            if unfinished
            else None,
        },
    )
    ranking_exports_create(ranking=draft)
    return draft


# ----------------------------------------------------------------------------------------------
# The files of a published version


def ranking_exports_create(*, ranking: Ranking, enqueue: bool = True) -> list[RankingExport]:
    """The rows of every file a published version offers (PDF, CSV and XLSX in each language,
    and the language-neutral open data: ``models.EXPORT_FILES``), pending, and (``enqueue``)
    their rendering queued once the transaction commits. Rows that exist are kept: safe to run
    twice. Raises ValueError for a draft (only published versions have files)."""
    if not ranking.is_published:
        raise ValueError("Only a published version has files.")
    RankingExport.objects.bulk_create(
        [
            RankingExport(ranking=ranking, format=fmt, language=language)
            for fmt, language in EXPORT_FILES
        ],
        ignore_conflicts=True,
    )
    if enqueue:
        ranking_exports_enqueue(ranking.pk)
    return list(RankingExport.objects.filter(ranking=ranking))


def ranking_exports_missing() -> list[int]:
    """The published versions with a file to render: without every row yet (published before
    files were rendered at publication, or before the open data), or with a file waiting,
    failed or abandoned."""
    without = Ranking.objects.filter(state__in=selectors.PUBLISHED_STATES).exclude(
        pk__in=RankingExport.objects.values("ranking_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=len(EXPORT_FILES))
        .values("ranking_id")
    )
    waiting = Ranking.objects.filter(
        pk__in=RankingExport.objects.filter(renderable_q()).values("ranking_id")
    )
    return sorted(
        set(without.values_list("pk", flat=True)) | set(waiting.values_list("pk", flat=True))
    )


def ranking_exports_requeue(
    *, acting_user: User | None, campaign: Campaign | None = None, enqueue: bool = True
) -> list[Ranking]:
    """Creates the missing file rows of every published version (of ``campaign``, or all) and
    queues the rendering of every file not ready (waiting, failed or abandoned by a dead
    worker); ``enqueue=False`` leaves the queueing to the caller (a command rendering in its
    own process). Idempotent: ready files are never rendered again. Returns the versions
    concerned. ``acting_user``: the admin who asked (None for a command), who must be allowed to
    manage rankings."""
    if acting_user is not None:
        policy.require(acting_user, Action.RANKING_MANAGE)
    queued = []
    with transaction.atomic():
        versions = Ranking.objects.filter(pk__in=ranking_exports_missing())
        if campaign is not None:
            versions = versions.filter(campaign=campaign)
        for ranking in versions.order_by("pk"):
            ranking_exports_create(ranking=ranking, enqueue=enqueue)
            audit_record(
                action="reports.ranking.exports_queued",
                acting_user=acting_user,
                target=ranking,
                changes={"version": ranking.version},
            )
            queued.append(ranking)
    return queued


def ranking_exports_enqueue(ranking_id: int) -> None:
    """Queues the rendering of a version's files once the current transaction commits.

    Without a worker (``CELERY_TASK_ALWAYS_EAGER``: ``make run``) the task runs in a thread of
    its own, as certified reports do, so that publishing answers at once."""
    if settings.CELERY_TASK_ALWAYS_EAGER:

        def run() -> None:
            try:
                ranking_exports_render_task.apply(args=(ranking_id,))
            finally:
                connection.close()  # the thread's own connection

        # Not a daemon: a command that published (load_demo) waits for the files.
        transaction.on_commit(
            lambda: threading.Thread(target=run, name=f"ranking-exports-{ranking_id}").start()
        )
    else:
        transaction.on_commit(lambda: ranking_exports_render_task.delay(ranking_id))


def _pool_label(code: str) -> str:
    return str(Cloud.Level(code).label) if code in Cloud.Level.values else code
