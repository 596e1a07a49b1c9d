"""The frozen content of a published ranking version: built from the provisional ranking,
named by the SHA-256 of its canonical JSON, compared with the version it supersedes.

Publishing (``reports.rankings.services.ranking_publish``) stores what ``snapshot_build``
returns; later changes to scores, clouds or organisations never alter a published version.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any, TypedDict

from reports.certified.models import Report

from . import rules, selectors
from .models import Ranking

SNAPSHOT_FORMAT = 1


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


# A cloud listed in both versions at another position ("from" is a keyword: functional form).
VersionMove = TypedDict("VersionMove", {"cloud": str, "from": int, "to": int})


class VersionChanges(TypedDict):
    from_version: int
    added: list[str]
    removed: list[str]
    moved: list[VersionMove]


class CampaignRef(TypedDict):
    id: int
    name: str


class FrameworkRef(TypedDict):
    code: str
    version: str
    name_zh: str
    name_en: str


class NoticePeriod(TypedDict):
    starts_on: str  # ISO dates
    ends_on: str


class EditionRef(TypedDict):
    """The previous year's edition a snapshot compares with."""

    year: int
    slug: str
    version: int


class Snapshot(TypedDict):
    format: int
    kind: str
    year: int
    title: str  # Chinese
    title_en: str
    demo: bool
    campaign: CampaignRef
    framework: FrameworkRef
    public_form: str
    min_level: LevelName | None
    quotas: dict[str, int]
    tie_break: list[str]
    notice: NoticePeriod | None
    pools: list[SnapshotPool]
    awards: list[SnapshotAward]
    listed: int
    previous_year: EditionRef | None
    changes: VersionChanges | None
    change_note: str
    version: int
    published_at: str


def snapshot_of(ranking: Ranking) -> Snapshot:
    """The frozen snapshot of a published version (as stored: the JSON of a ``Snapshot``)."""
    # The constraint ranking_published_is_frozen: every published version has its snapshot.
    assert ranking.snapshot is not None, f"ranking {ranking.pk} is not published"
    return ranking.snapshot


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
    previous_entries: dict[int, SnapshotEntry] = {}
    edition: EditionRef | None = None
    if previous is not None:
        # The constraint ranking_published_is_frozen: a published version has its number.
        assert previous.version is not None
        edition = {"year": previous.year, "slug": previous.slug, "version": previous.version}
        previous_snapshot = snapshot_of(previous)
        for old_pool in previous_snapshot.get("pools", []):
            for old in old_pool["entries"]:
                previous_entries[old["cloud_id"]] = old
        for old_award in previous_snapshot.get("awards", []):
            for old in old_award["entries"]:
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
        candidate: rules.Candidate, position: int, tied: bool, adjusted: str | None
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
        "previous_year": edition,
        "changes": None,
        "change_note": change_note,
        "version": version,
        "published_at": now.isoformat(),
    }
    return snapshot


def version_changes(old: Snapshot, new: Snapshot, from_version: int) -> VersionChanges:
    def listed(snap: Snapshot) -> dict[int, tuple[str, int]]:
        found: dict[int, tuple[str, int]] = {}
        for pool in snap.get("pools", []):
            for e in pool["entries"]:
                found[e["cloud_id"]] = (e["cloud"], e["position"])
        for award in snap.get("awards", []):
            for e in award["entries"]:
                found[e["cloud_id"]] = (e["cloud"], e["position"])
        return found

    before, after = listed(old), listed(new)
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
