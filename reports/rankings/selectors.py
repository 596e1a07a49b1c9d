"""Reads for rankings: the candidates of a campaign, the provisional ranking of a draft, the
published versions the public pages show, and objections, scoped to the user where a person asks.

Every function reads a fixed number of queries, whatever the number of clouds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TypedDict

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts import policy
from accounts.models import User
from assessments.models import Assessment, Campaign, Cloud
from indicators.models import Dimension, Framework, LevelRule
from reports.scoring.models import ScoreResult

from . import rules
from .models import Objection, Ranking, RankingAdjustment, RankingExport, list_titles

PUBLISHED_STATES = (Ranking.State.NOTICE, Ranking.State.FINAL)


def kind_for(campaign: Campaign) -> str:
    """The ranking a campaign's framework gives: the top ten, or the awards by vendor."""
    if campaign.framework.kind == Framework.Kind.TRUSTED_PLATFORM:
        return Ranking.Kind.AWARDS
    return Ranking.Kind.TOP_TEN


# ----------------------------------------------------------------------------------------------
# Candidates and the provisional ranking


@dataclass(frozen=True)
class CampaignRankingData:
    """Everything a ranking of one campaign is computed from, read in four queries (and the
    dimensions in a fifth, when asked: only publishing names them)."""

    campaign: Campaign
    candidates: list[rules.Candidate]
    assessments: dict[int, Assessment]  # with cloud and owner loaded (vendors: candidates)
    results: dict[int, ScoreResult]  # current results
    levels: list[LevelRule]  # from the lowest

    @cached_property
    def dimensions(self) -> list[Dimension]:
        return list(
            Dimension.objects.filter(framework_id=self.campaign.framework_id).order_by("order")
        )

    @property
    def level_order(self) -> list[str]:
        return [lv.code for lv in self.levels]

    def level(self, code: str | None) -> LevelRule | None:
        return next((lv for lv in self.levels if lv.code == code), None)

    @property
    def unfinished(self) -> list[Assessment]:
        """The campaign's assessments not approved yet (none of them can be listed), by cloud
        name: publishing asks the admin to acknowledge them."""
        return sorted(
            (a for a in self.assessments.values() if a.state != Assessment.State.APPROVED),
            key=lambda a: (a.cloud.name, a.pk),
        )


def _points(result: ScoreResult) -> dict[str, Decimal]:
    found = {}
    for dimension in result.breakdown.get("dimensions", []):
        if dimension.get("points") is not None:
            found[dimension["code"]] = Decimal(str(dimension["points"]))
    return found


def campaign_ranking_data(*, campaign: Campaign) -> CampaignRankingData:
    # Excluded clouds are out of the campaign: neither candidates nor unfinished.
    in_campaign = campaign.assessments.exclude(state=Assessment.State.EXCLUDED)
    # Only the columns a ranking reads (hundreds of rows, three objects each).
    assessments = {
        a.pk: a
        for a in in_campaign.select_related("cloud", "cloud__owner")
        .only(
            "campaign_id",
            "state",
            "cloud__name",
            "cloud__name_en",
            "cloud__level",
            "cloud__owner__name",
            "cloud__owner__division_code",
        )
        .order_by("pk")
    }
    # The vendors' names of every cloud, from the link table in one query (a prefetch would
    # build 400 vendor objects and send 400 cloud ids back to the database).
    vendors: dict[int, list[str]] = {}
    links = (
        Cloud.vendors.through.objects.filter(cloud_id__in=in_campaign.values("cloud_id"))
        .order_by("organisation__name", "organisation_id")
        .values_list("cloud_id", "organisation__name")
    )
    for cloud_id, name in links:
        vendors.setdefault(cloud_id, []).append(name)
    results = {
        r.assessment_id: r
        for r in ScoreResult.objects.filter(assessment__campaign=campaign, is_current=True).exclude(
            assessment__state=Assessment.State.EXCLUDED
        )
    }
    levels = list(LevelRule.objects.filter(framework_id=campaign.framework_id).order_by("order"))
    candidates = []
    for assessment in assessments.values():
        result = results.get(assessment.pk)
        candidates.append(
            rules.Candidate(
                assessment_id=assessment.pk,
                name=assessment.cloud.name,
                pool=assessment.cloud.level,
                approved=assessment.state == Assessment.State.APPROVED,
                scored=result is not None,
                total=result.total if result else None,
                level=(result.level_code or None) if result else None,
                vetoed=bool(result and result.vetoed),
                passed=result.passed if result else None,
                dimension_points=_points(result) if result else {},
                vendors=tuple(vendors.get(assessment.cloud_id, ())),
            )
        )
    return CampaignRankingData(campaign, candidates, assessments, results, levels)


@dataclass(frozen=True)
class Provisional:
    ranking: Ranking
    data: CampaignRankingData
    result: rules.RankingResult | None  # the top ten
    awards: rules.AwardsResult | None  # trusted-platform awards
    adjustments: list[RankingAdjustment]

    @property
    def excluded(self) -> tuple[rules.Exclusion, ...]:
        found = self.result or self.awards
        return found.excluded if found else ()

    @property
    def stale_adjustments(self) -> list[RankingAdjustment]:
        """Decisions on entries that are no longer tied across a quota line (scores changed)."""
        if self.result is None:
            return self.adjustments
        live = {
            e.candidate.assessment_id for p in self.result.pools for e in p.entries if e.adjusted
        }
        return [a for a in self.adjustments if a.assessment_id not in live]


def ranking_provisional(*, ranking: Ranking) -> Provisional:
    """The ranking the draft's settings give with today's scores."""
    data = campaign_ranking_data(campaign=ranking.campaign)
    adjustments = (
        list(RankingAdjustment.objects.filter(ranking=ranking).select_related("decided_by"))
        if ranking.pk
        else []
    )
    if ranking.kind == Ranking.Kind.AWARDS:
        return Provisional(ranking, data, None, rules.awards(data.candidates), adjustments)
    result = rules.rank(
        data.candidates,
        quotas={pool: int(ranking.quotas.get(pool, 0)) for pool in rules.POOLS},
        level_order=data.level_order,
        min_level=ranking.min_level,
        tie_break=ranking.tie_break,
        adjustments={a.assessment_id: a.move for a in adjustments},
    )
    return Provisional(ranking, data, result, None, adjustments)


def ranking_draft_of(*, campaign: Campaign, kind: str) -> Ranking | None:
    return (
        Ranking.objects.filter(campaign=campaign, kind=kind, state=Ranking.State.DRAFT)
        .select_related("campaign__framework")
        .first()
    )


def rankings_published_of(*, campaign: Campaign, kind: str) -> QuerySet[Ranking]:
    """The published versions of a campaign's ranking, newest first (snapshots deferred), each
    with how many of its files are ready, failed, or in all (``exports_ready``,
    ``exports_failed``, ``exports_total``), in the same query."""
    ready, failed = RankingExport.State.READY, RankingExport.State.FAILED
    return (
        Ranking.objects.filter(campaign=campaign, kind=kind, state__in=PUBLISHED_STATES)
        .defer("snapshot")
        .select_related("published_by")
        .annotate(
            exports_total=Count("exports"),
            exports_ready=Count("exports", filter=Q(exports__state=ready)),
            exports_failed=Count("exports", filter=Q(exports__state=failed)),
        )
        .order_by("-version")
    )


class ExportCounts(TypedDict):
    exports_total: int
    exports_ready: int
    exports_failed: int


def export_counts(versions: list[Ranking]) -> list[ExportCounts]:
    """The file counts ``rankings_published_of`` annotated on each version, typed."""
    return [
        {
            "exports_total": getattr(r, "exports_total", 0),
            "exports_ready": getattr(r, "exports_ready", 0),
            "exports_failed": getattr(r, "exports_failed", 0),
        }
        for r in versions
    ]


def ranking_latest_published(*, campaign: Campaign, kind: str) -> Ranking | None:
    return rankings_published_of(campaign=campaign, kind=kind).first()


def other_campaign_published(*, ranking: Ranking) -> bool:
    """Whether another campaign has published a ranking of the same kind for the same year
    (its lists then carry the plain title: ``models.list_titles``)."""
    return (
        Ranking.objects.filter(year=ranking.year, kind=ranking.kind, state__in=PUBLISHED_STATES)
        .exclude(campaign_id=ranking.campaign_id)
        .exists()
    )


def title_taken(*, ranking: Ranking, titles: tuple[str, str]) -> bool:
    """Whether a published list of the same year, other than the versions of ``ranking``'s own
    (campaign, kind), already carries one of ``titles`` (Chinese, English)."""
    zh, en = titles
    return (
        Ranking.objects.filter(year=ranking.year, state__in=PUBLISHED_STATES)
        .exclude(campaign_id=ranking.campaign_id, kind=ranking.kind)
        .filter(Q(snapshot__title=zh) | Q(snapshot__title_en=en))
        .exists()
    )


def ranking_previous_year(*, year: int, kind: str) -> Ranking | None:
    """The edition of the year before: its latest published version (final preferred)."""
    return (
        Ranking.objects.filter(year=year - 1, kind=kind, state__in=PUBLISHED_STATES)
        .order_by("state", "-published_at", "-pk")  # "final" sorts before "notice"
        .first()
    )


# ----------------------------------------------------------------------------------------------
# The public pages


@dataclass(frozen=True)
class PublishedHead:
    """What a conditional request needs, without the snapshot: one query."""

    pk: int
    year: int
    slug: str
    version: int
    latest_version: int
    state: str
    latest_state: str
    snapshot_sha256: str
    published_at: datetime.datetime
    latest_published_at: datetime.datetime
    notice_starts_on: datetime.date | None
    notice_ends_on: datetime.date | None
    # Every file of the version (PDF, CSV, XLSX, each language) is rendered and stored.
    exports_ready: bool = False

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version


# The one query of every public request, and of the 304s: written out, because building it with
# the ORM (two correlated subqueries) cost more CPU than everything else such a request does.
_HEAD_SQL = """
SELECT r.id, r.version, r.state, r.snapshot_sha256, r.published_at, r.notice_starts_on,
       r.notice_ends_on,
       (EXISTS (SELECT 1 FROM {exports} e WHERE e.ranking_id = r.id)
        AND NOT EXISTS (SELECT 1 FROM {exports} e WHERE e.ranking_id = r.id AND e.state <> %s))
       AS exports_ready
FROM {rankings} r
WHERE r.year = %s AND r.slug = %s AND r.state IN (%s, %s)
ORDER BY r.version DESC
"""


def published_head(*, year: int, slug: str, version: int | None = None) -> PublishedHead:
    """The published version asked for (the latest when ``version`` is None); Http404. One
    query, whose row also says whether every file of each version is stored."""
    sql = _HEAD_SQL.format(exports=RankingExport._meta.db_table, rankings=Ranking._meta.db_table)
    params = [RankingExport.State.READY.value, year, slug, *(s.value for s in PUBLISHED_STATES)]
    rows = [
        (
            r.pk,
            r.version,
            r.state,
            r.snapshot_sha256,
            r.published_at,
            r.notice_starts_on,
            r.notice_ends_on,
            bool(getattr(r, "exports_ready", False)),
        )
        for r in Ranking.objects.raw(sql, params)
    ]
    if not rows:
        raise Http404
    latest = rows[0]
    chosen = latest if version is None else next((r for r in rows if r[1] == version), None)
    if chosen is None:
        raise Http404
    pk, chosen_version, state, sha256, published_at, notice_starts_on, notice_ends_on, ready = (
        chosen
    )
    latest_version, latest_state, latest_published_at = latest[1], latest[2], latest[4]
    # The constraint ranking_published_is_frozen: a published version has its number and time.
    assert chosen_version is not None and published_at is not None
    assert latest_version is not None and latest_published_at is not None
    return PublishedHead(
        pk=pk,
        year=year,
        slug=slug,
        version=chosen_version,
        latest_version=latest_version,
        state=state,
        latest_state=latest_state,
        snapshot_sha256=sha256,
        published_at=published_at,
        latest_published_at=latest_published_at,
        notice_starts_on=notice_starts_on,
        notice_ends_on=notice_ends_on,
        exports_ready=bool(ready),
    )


def published_export(*, ranking_id: int, fmt: str, language: str) -> RankingExport | None:
    """The stored file of a published version in a format and language: one query; None
    when the version has no such row (published before files were stored, not re-queued)."""
    return RankingExport.objects.filter(
        ranking_id=ranking_id, format=fmt, language=language
    ).first()


def ranking_exports_of(*, rankings: list[Ranking]) -> dict[int, list[RankingExport]]:
    """The file rows of these versions (deferred nothing: they are small), by version: one
    query."""
    found: dict[int, list[RankingExport]] = {r.pk: [] for r in rankings}
    for export in RankingExport.objects.filter(ranking__in=[r.pk for r in rankings]).order_by(
        "ranking_id", "language", "format"
    ):
        found[export.ranking_id].append(export)
    return found


def published_get(*, pk: int) -> Ranking:
    """A published version with its snapshot: one query."""
    ranking = Ranking.objects.filter(pk=pk, state__in=PUBLISHED_STATES).first()
    if ranking is None:
        raise Http404
    return ranking


@dataclass(frozen=True)
class IndexRow:
    year: int
    slug: str
    kind: str
    state: str
    version: int
    published_at: datetime.datetime
    notice_starts_on: datetime.date | None
    notice_ends_on: datetime.date | None
    title: str
    title_en: str
    is_demo: bool
    listed: int


def published_index() -> list[IndexRow]:
    """The latest published version of every ranking, newest year first: one query."""
    rows = (
        Ranking.objects.filter(state__in=PUBLISHED_STATES)
        .order_by("-year", "slug", "-version")
        .values_list(
            "year",
            "slug",
            "kind",
            "state",
            "version",
            "published_at",
            "notice_starts_on",
            "notice_ends_on",
            "snapshot__title",
            "snapshot__title_en",
            "is_demo",
            "snapshot__listed",
            "snapshot__format",
        )
    )
    seen: set[tuple[int, str]] = set()
    found = []
    for row in rows:
        year, slug, version, published_at = row[0], row[1], row[4], row[5]
        if (year, slug) in seen:
            continue
        seen.add((year, slug))
        # The constraint ranking_published_is_frozen: a published version has its number and time.
        assert version is not None and published_at is not None
        kind, state, title, title_en, is_demo = row[2], row[3], row[8] or "", row[9] or "", row[10]
        if state == Ranking.State.NOTICE and int(row[12] or 1) < 2:
            # A format-1 snapshot titled its notice list like the final list that follows it.
            title, title_en = list_titles(kind=kind, year=year, demo=is_demo, notice=True)
        found.append(
            IndexRow(
                year,
                slug,
                kind,
                state,
                version,
                published_at,
                row[6],
                row[7],
                title,
                title_en,
                is_demo,
                int(row[11] or 0),
            )
        )
    return found


def published_index_version() -> tuple[int, datetime.datetime | None]:
    """How many versions are published and the newest publication time: the index page's
    ETag and Last-Modified. One query."""
    from django.db.models import Count, Max

    found = Ranking.objects.filter(state__in=PUBLISHED_STATES).aggregate(
        n=Count("pk"), last=Max("published_at")
    )
    return found["n"], found["last"]


# ----------------------------------------------------------------------------------------------
# Objections


def objections_of(*, campaign: Campaign, kind: str) -> QuerySet[Objection]:
    """Every objection against any published version of a campaign's ranking."""
    return (
        Objection.objects.filter(ranking__campaign=campaign, ranking__kind=kind)
        .select_related("assessment__cloud", "lodged_by", "answered_by", "ranking")
        .order_by("state", "lodged_at", "pk")
    )


def objections_open_count(*, campaign: Campaign, kind: str) -> int:
    return Objection.objects.filter(
        ranking__campaign=campaign, ranking__kind=kind, state=Objection.State.OPEN
    ).count()


def owner_assessments(*, user: User, campaign: Campaign) -> QuerySet[Assessment]:
    """The assessments of the campaign the user may lodge objections about: their
    organisation's clouds', for owners (``accounts.policy.objection_assessment_scope``)."""
    scope = policy.objection_assessment_scope(user)
    if scope.is_empty:
        return Assessment.objects.none()
    return campaign.assessments.filter(scope.q).select_related("cloud").order_by("cloud__name")


def objections_for_owner(*, user: User, ranking: Ranking) -> QuerySet[Objection]:
    return (
        Objection.objects.filter(
            ranking__campaign_id=ranking.campaign_id,
            ranking__kind=ranking.kind,
            assessment__cloud__owner_id=user.organisation_id,
        )
        .select_related("assessment__cloud", "ranking")
        .order_by("-lodged_at")
    )


def objection_get_for(*, user: User, pk: int) -> Objection:
    """An objection for its evidence download: admins, and owners of the cloud
    (``accounts.policy.objection_scope``); Http404 for everyone else."""
    scope = policy.objection_scope(user)
    objection = (
        None
        if scope.is_empty
        else Objection.objects.filter(scope.q, pk=pk)
        .select_related("assessment__cloud", "ranking")
        .first()
    )
    if objection is None:
        raise Http404
    return objection
