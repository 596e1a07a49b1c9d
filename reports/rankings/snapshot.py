"""The frozen content of a published ranking version: built from the provisional ranking,
named by the SHA-256 of its canonical JSON, compared with the version it supersedes.

Publishing (``reports.rankings.services.ranking_publish``) stores what ``snapshot_build``
returns; later changes to scores, clouds or organisations never alter a published version.

Format 2 (``SNAPSHOT_FORMAT``): a version published without scores (public form "grouped")
holds none: no total, point, share, position, tie mark, tie decision or verification code (the
verification page shows the score), and lists its entries in the public order (level, division
code, name). Every entry says in how many editions in a row its cloud is listed
(``listed_years``); the change in position and score against the previous year
(``previous_year``) is recorded only when both editions show scores. Format 1 snapshots,
published before, hold all of it; they are never rewritten (their SHA-256 stays true), and
``public_view`` gives the pages and exports what format 2 would have let them read.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
from typing import Any, NotRequired, TypedDict

from reports.certified.models import Report

from . import rules, selectors
from .models import Ranking, list_titles

SNAPSHOT_FORMAT = 2
RANKED = Ranking.PublicForm.RANKED.value
# How far back a chain of format-1 editions is followed to count the years a cloud is listed.
MAX_EDITIONS = 50


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
    """How a cloud listed in both editions fared a year earlier (format 2: only when both
    editions show scores)."""

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
    position: int | None  # format 2: None when scores are hidden, and for awards
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
    listed_years: NotRequired[int]  # format 2: editions in a row listing the cloud, this one too


class SnapshotPool(TypedDict):
    code: str
    quota: int
    entries: list[SnapshotEntry]


class SnapshotAward(TypedDict):
    vendor: str
    entries: list[SnapshotEntry]


# A cloud listed in both versions at another position ("from" is a keyword: functional form).
VersionMove = TypedDict("VersionMove", {"cloud": str, "from": int | None, "to": int | None})


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
    public_form: NotRequired[str]  # format 2: whether that edition showed scores


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


def _entries(snapshot: Snapshot) -> list[SnapshotEntry]:
    found = [e for pool in snapshot.get("pools", []) for e in pool["entries"]]
    return found + [e for award in snapshot.get("awards", []) for e in award["entries"]]


def shows_scores(snapshot: Snapshot) -> bool:
    return snapshot.get("public_form") == RANKED


def _without_scores(entry: SnapshotEntry) -> None:
    """Removes, in place, everything of an entry that tells its score or its position. The
    level stays: the customary form groups the list by level."""
    entry["position"] = None
    entry["tied"] = False
    entry["adjusted"] = None
    entry["adjustment_reason"] = ""  # the office's reason names the tie, hence the position
    entry["total"] = None
    entry["verification_code"] = None  # the verification page shows the report's score
    entry["previous_year"] = None
    for dimension in entry["dimensions"]:
        dimension["share"] = None
        dimension["points"] = None


def _public_order(entry: SnapshotEntry) -> tuple[int, str, str, int]:
    level = entry.get("level")
    return (
        -(level["rank"] if level else -1),
        entry["division_code"],
        entry["cloud"],
        entry["cloud_id"],
    )


def _edition(ref: EditionRef | None) -> Snapshot | None:
    """The published snapshot an edition reference names: one query."""
    if ref is None:
        return None
    found: Snapshot | None = (
        Ranking.objects.filter(
            year=ref["year"],
            slug=ref["slug"],
            version=ref["version"],
            state__in=selectors.PUBLISHED_STATES,
        )
        .values_list("snapshot", flat=True)
        .first()
    )
    return found


def listed_years(snapshot: Snapshot | None) -> dict[int, int]:
    """Cloud id → in how many editions in a row, ending with ``snapshot``, the cloud is listed
    (clouds ``snapshot`` does not list are absent). A format-2 snapshot records the counts; for
    format 1 the editions it compares with are read, one query a year, back to a format-2 one
    or the first edition."""
    chain: list[Snapshot] = []
    current = snapshot
    while current is not None and len(chain) < MAX_EDITIONS:
        chain.append(current)
        if current.get("format", 1) >= 2:
            break
        current = _edition(current.get("previous_year"))
    counts: dict[int, int] = {}
    for edition in reversed(chain):
        entries = _entries(edition)
        if edition.get("format", 1) >= 2:
            counts = {e["cloud_id"]: e.get("listed_years", 1) for e in entries}
        else:
            counts = {e["cloud_id"]: counts.get(e["cloud_id"], 0) + 1 for e in entries}
    return counts


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

    ranked = ranking.public_form == Ranking.PublicForm.RANKED
    previous = selectors.ranking_previous_year(year=ranking.year, kind=ranking.kind)
    previous_entries: dict[int, SnapshotEntry] = {}
    previous_counts: dict[int, int] = {}
    edition: EditionRef | None = None
    if previous is not None:
        # The constraint ranking_published_is_frozen: a published version has its number.
        assert previous.version is not None
        edition = {
            "year": previous.year,
            "slug": previous.slug,
            "version": previous.version,
            "public_form": previous.public_form,
        }
        previous_snapshot = snapshot_of(previous)
        previous_counts = listed_years(previous_snapshot)
        # The change in position and score only between two editions that both show scores.
        if ranked and shows_scores(previous_snapshot):
            for old in reversed(_entries(previous_snapshot)):
                previous_entries[old["cloud_id"]] = old

    listed_ids: list[int] = []
    if provisional.result is not None:
        for pool in provisional.result.pools:
            listed_ids += [e.candidate.assessment_id for e in pool.selected]
    if provisional.awards is not None:
        for award in provisional.awards.vendors:
            listed_ids += [c.assessment_id for c in award.candidates]
    codes = _verification_codes(listed_ids) if ranked else {}

    def entry(
        candidate: rules.Candidate, position: int | None, tied: bool, adjusted: str | None
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
        found: SnapshotEntry = {
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
            if old is not None and old["position"] is not None
            else None,
            "listed_years": previous_counts.get(cloud.pk, 0) + 1,
        }
        if not ranked:
            _without_scores(found)
        return found

    pools: list[SnapshotPool] = []
    awards: list[SnapshotAward] = []
    if provisional.result is not None:
        for pool in provisional.result.pools:
            entries = [entry(e.candidate, e.position, e.tied, e.adjusted) for e in pool.selected]
            if not ranked:
                entries.sort(key=_public_order)  # the order of the totals is not published
            pools.append({"code": pool.code, "quota": pool.quota, "entries": entries})
    if provisional.awards is not None:
        for award in provisional.awards.vendors:
            awards.append(
                {
                    "vendor": award.vendor,
                    "entries": [entry(c, None, False, None) for c in award.candidates],
                }
            )
    framework = data.campaign.framework
    title, title_en = list_titles(
        kind=ranking.kind,
        year=ranking.year,
        demo=ranking.is_demo,
        notice=ranking.notice_ends_on is not None,
        campaign=data.campaign.name if selectors.other_campaign_published(ranking=ranking) else "",
    )
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
    """The entries added, removed and (only when both versions show scores) moved."""

    def listed(snap: Snapshot) -> dict[int, tuple[str, int]]:
        return {e["cloud_id"]: (e["cloud"], e["position"] or 0) for e in _entries(snap)}

    before, after = listed(old), listed(new)
    both_ranked = shows_scores(old) and shows_scores(new)
    return {
        "from_version": from_version,
        "added": sorted(after[c][0] for c in after.keys() - before.keys()),
        "removed": sorted(before[c][0] for c in before.keys() - after.keys()),
        "moved": [
            {"cloud": after[c][0], "from": before[c][1], "to": after[c][1]}
            for c in sorted(after.keys() & before.keys(), key=lambda c: after[c][1])
            if both_ranked and before[c][1] != after[c][1]
        ],
    }


def public_view(ranking: Ranking) -> Snapshot:
    """What the public pages and exports may read of a published version's snapshot: a format-2
    snapshot as it is (no query); a copy of a format-1 snapshot brought to format 2's rules: without
    scores when it hid them, without the change against a previous edition or version that hid
    them, with the years each cloud is listed in a row, and a notice list titled as one. Reads,
    for format 1 only, the editions it compares with (one query a year) and the version it
    supersedes (one query). Never alters the stored snapshot: its SHA-256 stays true."""
    snapshot = snapshot_of(ranking)
    if snapshot.get("format", 1) >= 2:
        return snapshot
    shown: Snapshot = copy.deepcopy(snapshot)
    ranked = shows_scores(shown)
    ref = shown.get("previous_year")
    previous = _edition(ref)
    counts = listed_years(previous)
    if ref is not None:
        ref["public_form"] = previous.get("public_form", "") if previous else ""
    compare = ranked and previous is not None and shows_scores(previous)
    for entry in _entries(shown):
        entry["listed_years"] = counts.get(entry["cloud_id"], 0) + 1
        if not compare:
            entry["previous_year"] = None
        if not ranked:
            _without_scores(entry)
    if not ranked:
        for pool in shown.get("pools", []):
            pool["entries"].sort(key=_public_order)
    changes = shown.get("changes")
    if changes and changes["moved"]:
        superseded = (
            Ranking.objects.filter(pk=ranking.supersedes_id).values_list("public_form", flat=True)
            if ranking.supersedes_id is not None
            else []
        )
        if not ranked or list(superseded) != [RANKED]:
            changes["moved"] = []
    if shown.get("notice"):
        shown["title"], shown["title_en"] = list_titles(
            kind=shown["kind"], year=shown["year"], demo=shown.get("demo", False), notice=True
        )
    return shown
