"""Writes for rankings: the draft and its settings, tie decisions, publishing a frozen version,
objections during the public notice (公示) and their answers, and the demo rankings.

Every write takes ``acting_user``, runs in one transaction, checks the rules here (the models
hold single-row rules only) and leaves an audit record with a dotted action code.

Publishing freezes everything the public pages show into ``Ranking.snapshot`` and names it by
the SHA-256 of its canonical JSON: later changes to scores, clouds or organisations never alter a
published version. A correction, or the final list after the notice, is a new version that
supersedes the previous one and says what changed (the admin's note, and the entries added,
removed or moved, computed here).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from assessments.models import Assessment, Campaign
from audit.services import audit_record

from . import rankings
from . import selectors_rankings as selectors
from .models import Objection, Ranking, RankingAdjustment, Report

SNAPSHOT_FORMAT = 1
# Evidence of an objection: a PDF or an image, at most this many bytes.
OBJECTION_EVIDENCE_KINDS = ("pdf", "png", "jpeg")
OBJECTION_EVIDENCE_MAX_BYTES = 20 * 1024 * 1024


def _require_admin(user: User | None) -> User:
    if user is None or user.role != User.Role.ADMIN:
        raise PermissionDenied(_("Your role may not do this."))
    return user


# ----------------------------------------------------------------------------------------------
# The draft


def _default_min_level(level_order: list[str]) -> str:
    if rankings.DEFAULT_MIN_LEVEL in level_order:
        return rankings.DEFAULT_MIN_LEVEL
    return level_order[-1] if level_order else ""


def ranking_defaults(*, campaign: Campaign) -> tuple[Ranking, Ranking | None]:
    """An unsaved draft for the campaign, and the latest published version it starts from (or
    None): that version's settings, otherwise the defaults (6 provincial and 4 municipal clouds,
    先进级 at least, ties broken by D2, D4, D1). Reads only; the admin page previews with it."""
    kind = selectors.kind_for(campaign)
    latest = (
        Ranking.objects.filter(campaign=campaign, kind=kind, state__in=selectors.PUBLISHED_STATES)
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
    levels = list(campaign.framework.levels.order_by("order").values_list("code", flat=True))
    dimensions = set(campaign.framework.dimensions.values_list("code", flat=True))
    draft = Ranking(
        campaign=campaign,
        kind=kind,
        year=campaign.year,
        slug=_free_slug(campaign, kind),
        quotas=dict(rankings.DEFAULT_QUOTAS),
        min_level=_default_min_level(levels),
        tie_break=[c for c in rankings.DEFAULT_TIE_BREAK if c in dimensions],
        is_demo=campaign.is_demo,
    )
    return draft, None


@transaction.atomic
def ranking_draft_get_or_create(*, campaign: Campaign, acting_user: User) -> Ranking:
    """The campaign's draft ranking, made on first use from ``ranking_defaults`` (carrying the
    tie decisions of the version it starts from). Safe to call again: returns the existing
    draft; concurrent calls make one (the campaign row is locked)."""
    _require_admin(acting_user)
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
    repeated tie-break dimension, a quota out of range, or a half or reversed notice period."""
    _require_admin(acting_user)
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
    if set(quotas) - set(rankings.POOLS):
        raise ValidationError({"quotas": _("Quotas are set for provincial and municipal clouds.")})
    before = {
        "quotas": draft.quotas,
        "min_level": draft.min_level,
        "tie_break": draft.tie_break,
        "public_form": draft.public_form,
        "notice_starts_on": str(draft.notice_starts_on or ""),
        "notice_ends_on": str(draft.notice_ends_on or ""),
    }
    draft.quotas = {pool: quotas.get(pool, 0) for pool in rankings.POOLS}
    draft.min_level = min_level if draft.kind == Ranking.Kind.TOP_TEN else draft.min_level
    draft.tie_break = list(tie_break)
    draft.public_form = public_form
    draft.notice_starts_on = notice_starts_on
    draft.notice_ends_on = notice_ends_on
    draft.full_clean()
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
    _require_admin(acting_user)
    draft = _locked_draft(ranking)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision.")})
    if move not in (rankings.IN, rankings.OUT):
        raise ValidationError({"move": _("Move the entry in or out.")})
    provisional = selectors.ranking_provisional(ranking=draft)
    entry = None
    for pool in provisional.result.pools if provisional.result else ():
        entry = next((e for e in pool.entries if e.candidate.assessment_id == assessment.pk), entry)
    if entry is None or not entry.boundary_tie:
        raise ValidationError(_("Only an entry tied across the quota line can be moved in or out."))
    previous = RankingAdjustment.objects.filter(ranking=draft, assessment=assessment).first()
    default_selected = entry.selected if entry.adjusted is None else entry.adjusted == rankings.IN
    if previous is None and default_selected == (move == rankings.IN):
        raise ValidationError(
            _("The entry is already in the list.")
            if move == rankings.IN
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
    _require_admin(acting_user)
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
# The snapshot


class LevelName(TypedDict):
    code: str
    name_zh: str
    name_en: str
    rank: int  # 0 for the lowest level


class DimensionShare(TypedDict):
    code: str
    name_zh: str
    name_en: str
    share: str | None
    points: str | None


class YearChange(TypedDict):
    """How a cloud listed in both editions fared a year earlier."""

    position: int
    total: str | None
    level: LevelName | None


class SnapshotEntry(TypedDict):
    assessment_id: int
    cloud_id: int
    cloud: str
    cloud_en: str
    owner: str
    division_code: str
    pool: str
    position: int
    tied: bool
    adjusted: str | None
    adjustment_reason: str
    total: str | None
    level: LevelName | None
    dimensions: list[DimensionShare]
    vendors: list[str]
    verification_code: str | None
    score_version: int
    inputs_sha256: str
    previous_year: YearChange | None


class SnapshotPool(TypedDict):
    code: str
    quota: int
    entries: list[SnapshotEntry]


class SnapshotAward(TypedDict):
    vendor: str
    entries: list[SnapshotEntry]


class VersionChanges(TypedDict):
    from_version: int
    added: list[str]
    removed: list[str]
    moved: list[dict[str, Any]]  # {"cloud", "from", "to"}


class Snapshot(TypedDict):
    format: int
    kind: str
    year: int
    title: str  # Chinese
    title_en: str
    demo: bool
    campaign: dict[str, Any]  # {"id", "name"}
    framework: dict[str, Any]  # {"code", "version", "name_zh", "name_en"}
    public_form: str
    min_level: LevelName | None
    quotas: dict[str, int]
    tie_break: list[str]
    notice: dict[str, str] | None  # {"starts_on", "ends_on"}
    pools: list[SnapshotPool]
    awards: list[SnapshotAward]
    listed: int
    previous_year: dict[str, Any] | None  # {"year", "slug", "version"}
    changes: VersionChanges | None
    change_note: str
    version: int
    published_at: str


def snapshot_sha256(snapshot: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


def _titles(kind: str, year: int, demo: bool) -> tuple[str, str]:
    if kind == Ranking.Kind.AWARDS:
        zh, en = f"{year}年度可信云行业服务奖（政务）", f"Trusted-platform awards {year}"
    else:
        zh, en = f"{year}年度十佳政务云", f"Top ten government clouds {year}"
    if demo:
        zh, en = f"{zh}（演示）", f"{en} (demo)"
    return zh, en


def _verification_codes(assessment_ids: list[int]) -> dict[int, str]:
    """The verification code of each assessment's report in force, Chinese first."""
    codes: dict[int, str] = {}
    for assessment_id, language, code in (
        Report.objects.filter(assessment_id__in=assessment_ids, status=Report.Status.ISSUED)
        .order_by("-issued_at")
        .values_list("assessment_id", "language", "verification_code")
    ):
        if assessment_id not in codes or language == Report.Language.CHINESE:
            codes[assessment_id] = code
    return codes


def snapshot_build(
    *, provisional: selectors.Provisional, version: int, change_note: str, now: datetime.datetime
) -> Snapshot:
    """The frozen content of a version: the listed entries with their public summary, the
    change against the previous year's edition and against the version it supersedes."""
    ranking, data = provisional.ranking, provisional.data
    levels = {lv.code: lv for lv in data.levels}
    ranks = {lv.code: n for n, lv in enumerate(data.levels)}
    dimension_names = {d.code: d for d in data.dimensions}
    adjustments = {a.assessment_id: a for a in provisional.adjustments}

    def level_name(code: str | None) -> LevelName | None:
        if not code or code not in levels:
            return None
        lv = levels[code]
        return {"code": code, "name_zh": lv.name_zh, "name_en": lv.name_en, "rank": ranks[code]}

    previous = selectors.ranking_previous_year(year=ranking.year, kind=ranking.kind)
    previous_entries: dict[int, dict[str, Any]] = {}
    if previous is not None:
        for pool in previous.snapshot.get("pools", []):
            for old in pool["entries"]:
                previous_entries[old["cloud_id"]] = old
        for award in previous.snapshot.get("awards", []):
            for old in award["entries"]:
                previous_entries.setdefault(old["cloud_id"], old)

    listed_ids: list[int] = []
    if provisional.result is not None:
        for pool in provisional.result.pools:
            listed_ids += [e.candidate.assessment_id for e in pool.selected]
    if provisional.awards is not None:
        for award in provisional.awards.vendors:
            listed_ids += [c.assessment_id for c in award.candidates]
    codes = _verification_codes(listed_ids)

    def entry(
        candidate: rankings.Candidate, position: int, tied: bool, adjusted: str | None
    ) -> SnapshotEntry:
        assessment = data.assessments[candidate.assessment_id]
        result = data.results[candidate.assessment_id]
        cloud = assessment.cloud
        old = previous_entries.get(cloud.pk)
        dimensions: list[DimensionShare] = []
        for dim in result.breakdown.get("dimensions", []):
            named = dimension_names.get(dim["code"])
            dimensions.append(
                {
                    "code": dim["code"],
                    "name_zh": named.name_zh if named else dim.get("name_zh", ""),
                    "name_en": named.name_en if named else dim.get("name_en", ""),
                    "share": _dec(dim.get("share")),
                    "points": _dec(dim.get("points")),
                }
            )
        return {
            "assessment_id": assessment.pk,
            "cloud_id": cloud.pk,
            "cloud": cloud.name,
            "cloud_en": cloud.name_en,
            "owner": cloud.owner.name,
            "division_code": cloud.owner.division_code,
            "pool": cloud.level,
            "position": position,
            "tied": tied,
            "adjusted": adjusted,
            "adjustment_reason": adjustments[assessment.pk].reason if adjusted else "",
            "total": _dec(result.total),
            "level": level_name(result.level_code),
            "dimensions": dimensions,
            "vendors": list(candidate.vendors),
            "verification_code": codes.get(assessment.pk),
            "score_version": result.version,
            "inputs_sha256": result.inputs_sha256,
            "previous_year": {
                "position": old["position"],
                "total": old["total"],
                "level": old["level"],
            }
            if old is not None
            else None,
        }

    pools: list[SnapshotPool] = []
    awards: list[SnapshotAward] = []
    if provisional.result is not None:
        for pool in provisional.result.pools:
            pools.append(
                {
                    "code": pool.code,
                    "quota": pool.quota,
                    "entries": [
                        entry(e.candidate, e.position, e.tied, e.adjusted) for e in pool.selected
                    ],
                }
            )
    if provisional.awards is not None:
        for award in provisional.awards.vendors:
            awards.append(
                {
                    "vendor": award.vendor,
                    "entries": [entry(c, 0, False, None) for c in award.candidates],
                }
            )
    framework = data.campaign.framework
    title, title_en = _titles(ranking.kind, ranking.year, ranking.is_demo)
    snapshot: Snapshot = {
        "format": SNAPSHOT_FORMAT,
        "kind": ranking.kind,
        "year": ranking.year,
        "title": title,
        "title_en": title_en,
        "demo": ranking.is_demo,
        "campaign": {"id": data.campaign.pk, "name": data.campaign.name},
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "name_zh": framework.name_zh,
            "name_en": framework.name_en,
        },
        "public_form": ranking.public_form,
        "min_level": level_name(ranking.min_level),
        "quotas": {k: int(v) for k, v in ranking.quotas.items()},
        "tie_break": list(ranking.tie_break),
        "notice": {
            "starts_on": ranking.notice_starts_on.isoformat(),
            "ends_on": ranking.notice_ends_on.isoformat(),
        }
        if ranking.notice_ends_on and ranking.notice_starts_on
        else None,
        "pools": pools,
        "awards": awards,
        "listed": len(set(listed_ids)),
        "previous_year": {"year": previous.year, "slug": previous.slug, "version": previous.version}
        if previous is not None
        else None,
        "changes": None,
        "change_note": change_note,
        "version": version,
        "published_at": now.isoformat(),
    }
    return snapshot


def _version_changes(old: dict[str, Any], new: Snapshot, from_version: int) -> VersionChanges:
    def listed(snap: dict[str, Any]) -> dict[int, tuple[str, int]]:
        found: dict[int, tuple[str, int]] = {}
        for pool in snap.get("pools", []):
            for e in pool["entries"]:
                found[e["cloud_id"]] = (e["cloud"], e["position"])
        for award in snap.get("awards", []):
            for e in award["entries"]:
                found[e["cloud_id"]] = (e["cloud"], e["position"])
        return found

    before, after = listed(old), listed(dict(new))
    return {
        "from_version": from_version,
        "added": sorted(after[c][0] for c in after.keys() - before.keys()),
        "removed": sorted(before[c][0] for c in before.keys() - after.keys()),
        "moved": [
            {"cloud": after[c][0], "from": before[c][1], "to": after[c][1]}
            for c in sorted(after.keys() & before.keys(), key=lambda c: after[c][1])
            if before[c][1] != after[c][1]
        ],
    }


# ----------------------------------------------------------------------------------------------
# Publishing


@transaction.atomic
def ranking_publish(*, ranking: Ranking, change_note: str = "", acting_user: User) -> Ranking:
    """Publishes the draft: freezes its snapshot, numbers the version, and marks it as the
    public-notice list (when the draft has a notice period) or the final list.

    Raises ValidationError when: the ranking is already published (two admins clicking at once
    publish once); a tie across a quota line is undecided; nothing would be listed; a later
    version does not say what changed; a notice period is already over; or, for a final list
    after a notice, the notice has not ended or objections are still open.
    """
    _require_admin(acting_user)
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
    if not final and draft.notice_ends_on < today:
        raise ValidationError({"notice_ends_on": _("The public notice period is already over.")})
    notice_running = (
        latest is not None
        and latest.state == Ranking.State.NOTICE
        and latest.notice_ends_on is not None
        and latest.notice_ends_on >= today
    )
    if final and notice_running:
        raise ValidationError(
            _("The public notice runs until %(date)s; publish the final list after it.")
            % {"date": latest.notice_ends_on.isoformat()}
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
    now = timezone.now()
    version = latest.version + 1 if latest is not None else 1
    snapshot = snapshot_build(
        provisional=provisional, version=version, change_note=change_note, now=now
    )
    if not snapshot["listed"]:
        raise ValidationError(_("No cloud is eligible: there is nothing to publish."))
    if latest is not None:
        snapshot["changes"] = _version_changes(latest.snapshot, snapshot, latest.version)
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
        },
    )
    return draft


def _pool_label(code: str) -> str:
    from assessments.models import Cloud

    return str(Cloud.Level(code).label) if code in Cloud.Level.values else code


# ----------------------------------------------------------------------------------------------
# Objections


def _notice_running(ranking: Ranking, today: datetime.date) -> bool:
    return (
        ranking.state == Ranking.State.NOTICE
        and ranking.notice_starts_on is not None
        and ranking.notice_ends_on is not None
        and ranking.notice_starts_on <= today <= ranking.notice_ends_on
    )


def objection_refusal(*, ranking: Ranking, user: User) -> str | None:
    """Why ``user`` may not lodge an objection against ``ranking`` now; None when it may."""
    if user.role != User.Role.OWNER or user.organisation_id is None:
        return _("Only the owner of a cloud in the campaign can lodge an objection.")
    latest = selectors.ranking_latest_published(campaign=ranking.campaign, kind=ranking.kind)
    if (
        latest is None
        or latest.pk != ranking.pk
        or not _notice_running(ranking, timezone.localdate())
    ):
        return _("Objections can be lodged only while the list is on public notice.")
    return None


def _check_evidence(upload: UploadedFile) -> tuple[str, str, int, str]:
    """(shown name, content type, size, SHA-256) of an objection's evidence; ValidationError
    unless it is a PDF or an image whose content matches its extension."""
    from assessments.evidence import EXTENSION_KIND, KINDS, clean_file_name, detect_kind

    name = clean_file_name(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    expected = EXTENSION_KIND.get(extension)
    if expected not in OBJECTION_EVIDENCE_KINDS:
        raise ValidationError(
            {"evidence": _("Evidence of an objection is a PDF document or a PNG or JPEG image.")}
        )
    if upload.size is not None and upload.size > OBJECTION_EVIDENCE_MAX_BYTES:
        raise ValidationError({"evidence": _("The evidence file is larger than 20 MB.")})
    upload.seek(0)
    detected = detect_kind(upload)
    upload.seek(0)
    if detected != expected:
        raise ValidationError(
            {
                "evidence": _("“%(name)s” is not %(kind)s.")
                % {"name": name, "kind": KINDS[expected].label}
            }
        )
    hasher = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        hasher.update(chunk)
    upload.seek(0)
    return name, KINDS[expected].content_type, size, hasher.hexdigest()


@transaction.atomic
def objection_lodge(
    *,
    ranking: Ranking,
    assessment: Assessment,
    reason: str,
    evidence: UploadedFile | None = None,
    acting_user: User,
) -> Objection:
    """Records a cloud owner's objection (异议) against the list on public notice, with its
    evidence stored through the default storage. Raises PermissionDenied for anyone but the
    owner of the assessment's cloud, ValidationError outside the notice period, for an empty
    reason, or for evidence that is not a PDF or an image."""
    refusal = objection_refusal(ranking=ranking, user=acting_user)
    if refusal is not None:
        if acting_user.role != User.Role.OWNER:
            raise PermissionDenied(refusal)
        raise ValidationError(refusal)
    if (
        assessment.campaign_id != ranking.campaign_id
        or assessment.cloud.owner_id != acting_user.organisation_id
    ):
        raise PermissionDenied(_("You can object only about your own cloud."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the objection.")})
    objection = Objection(
        ranking=ranking, assessment=assessment, reason=reason, lodged_by=acting_user
    )
    stored = None
    if evidence is not None:
        name, content_type, size, digest = _check_evidence(evidence)
        objection.evidence_name = name
        objection.evidence_content_type = content_type
        objection.evidence_size = size
        objection.evidence_sha256 = digest
        extension = os.path.splitext(name)[1].lower()
        objection.evidence.save(f"{secrets.token_hex(16)}{extension}", evidence, save=False)
        stored = objection.evidence.name
    try:
        objection.full_clean()
        objection.save()
        audit_record(
            action="reports.objection.lodged",
            acting_user=acting_user,
            target=objection,
            changes={
                "ranking": ranking.pk,
                "assessment": assessment.pk,
                "evidence_sha256": objection.evidence_sha256,
            },
        )
    except Exception:
        if stored:
            objection.evidence.storage.delete(stored)
        raise
    return objection


SETTLED_STATES = (Objection.State.ANSWERED, Objection.State.UPHELD, Objection.State.REJECTED)


@transaction.atomic
def objection_answer(
    *, objection: Objection, state: str, answer: str, acting_user: User
) -> Objection:
    """Settles an open objection: answered (explained), upheld or rejected, with the answer the
    owner reads. An upheld objection is put right by a corrected version of the ranking. Raises
    ValidationError for an empty answer, an unknown outcome, or an objection already settled
    (two admins answering at once settle it once)."""
    _require_admin(acting_user)
    answer = (answer or "").strip()
    if state not in SETTLED_STATES:
        raise ValidationError({"state": _("Choose answered, upheld or rejected.")})
    if not answer:
        raise ValidationError({"answer": _("Write the answer the owner will read.")})
    now = timezone.now()
    updated = Objection.objects.filter(pk=objection.pk, state=Objection.State.OPEN).update(
        state=state, answer=answer, answered_by=acting_user, answered_at=now
    )
    if updated != 1:
        raise ValidationError(_("This objection was already answered."))
    objection.refresh_from_db()
    audit_record(
        action="reports.objection.answered",
        acting_user=acting_user,
        target=objection,
        changes={"from": "open", "to": state, "answer": answer},
    )
    return objection


# ----------------------------------------------------------------------------------------------
# Demo


def _demo_decide_ties(draft: Ranking, admin: User) -> None:
    provisional = selectors.ranking_provisional(ranking=draft)
    for pool in provisional.result.undecided if provisional.result else ():
        # The demo office keeps the list at its quota: the tied entries below the line stay out.
        outside = [e for e in pool.boundary_tie if not e.selected]
        ranking_adjustment_save(
            ranking=draft,
            assessment=draft.campaign.assessments.get(pk=outside[0].candidate.assessment_id),
            move=rankings.OUT,
            reason="（演示）并列于名额线，评估办公室合议后维持名额数。",
            acting_user=admin,
        )


def _demo_publish(campaign: Campaign, admin: User, **settings: Any) -> Ranking:
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
    return ranking_publish(ranking=draft, acting_user=admin)


def _demo_score(campaign: Campaign) -> None:
    """Scores approved assessments that have no result yet (when tasks did not run in-process):
    the scoring service writes nothing for inputs it has already scored."""
    from .services import assessments_score

    missing = list(
        campaign.assessments.filter(state=Assessment.State.APPROVED)
        .exclude(score_results__is_current=True)
        .values_list("pk", flat=True)
    )
    if missing:
        assessments_score(assessment_ids=missing)


def demo_rankings_publish() -> list[Ranking]:
    """Published demo rankings for two years, built through the real services: last year's
    final list (from a finished demo campaign, grouped by level as customary) and this year's
    list on public notice (ranked with scores, so that the change against last year shows).
    Idempotent: a year whose demo ranking is published is left as it is. Returns the latest
    published version of each year."""
    from assessments.demo import load_demo_campaign

    admin = User.objects.get(username="admin", is_demo=True)
    year = timezone.localdate().year
    today = timezone.localdate()
    published = []
    plans = [
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
                "notice_starts_on": today - datetime.timedelta(days=2),
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
