"""The ranking rules, as pure functions: who is eligible, in which pool, in what order, and where
ties remain (并列).

``rank(candidates, ...)`` takes plain values (one ``Candidate`` per assessment of a campaign,
built by ``reports.rankings.selectors``) and the ranking's settings, and returns every pool's full
order with the entries its quota lists, and every exclusion with its reasons. It reads no
database, no clock and no settings; the input order of the candidates never changes the result.

Order: the total, then the points of the tie-break dimensions in turn (by default D2, then D4,
then D1: ``DEFAULT_TIE_BREAK``; the catalog format carries no tie-break data, so the order is a
setting of each ranking). Entries whose total and tie-break points are all equal are tied; they
share a position (competition ranking: 1, 2, 2, 4). Comparisons are exact, on the published
figures (two decimal places), so that anyone checking the list against the reports reaches the
same order. A tie across a pool's quota line is left to the admin, who moves a tied entry in or
out with a reason (``adjustments``); until then the entries of the tie are listed in name order.

``awards(candidates)`` lists the trusted-platform results that pass, by vendor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# Tie-break dimensions, in order, when a ranking does not say otherwise (DOMAIN.md: "ties broken
# by D2, then D4, then D1").
DEFAULT_TIE_BREAK: tuple[str, ...] = ("D2", "D4", "D1")
# Pools are the clouds' levels (assessments.models.Cloud.Level); the 2018 list was 6 + 4.
PROVINCIAL = "provincial"
MUNICIPAL = "municipal"
POOLS: tuple[str, ...] = (PROVINCIAL, MUNICIPAL)
DEFAULT_QUOTAS: dict[str, int] = {PROVINCIAL: 6, MUNICIPAL: 4}
DEFAULT_MIN_LEVEL = "advanced"

# Why an assessment is not ranked (a candidate may have several).
NOT_APPROVED = "not_approved"
NOT_SCORED = "not_scored"
VETOED = "vetoed"
LEVEL_TOO_LOW = "level_too_low"
NOT_PASSED = "not_passed"
NO_POOL = "no_pool"

IN = "in"
OUT = "out"


@dataclass(frozen=True)
class Candidate:
    """One assessment of the campaign, as far as ranking is concerned."""

    assessment_id: int
    name: str  # the cloud's name: orders tied entries for display, never decides a tie
    pool: str
    approved: bool
    scored: bool = True  # has a current score result
    total: Decimal | None = None
    level: str | None = None  # the level code after vetoes; None: below the lowest level
    vetoed: bool = False
    passed: bool | None = None  # trusted-platform results
    dimension_points: Mapping[str, Decimal] = field(default_factory=dict)
    vendors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exclusion:
    candidate: Candidate
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    candidate: Candidate
    key: tuple[Decimal, ...]  # the total, then the tie-break points: what the order compares
    position: int  # 1-based, shared by tied entries
    tied: bool  # another entry of the pool has the same key
    boundary_tie: bool  # tied with an entry on the other side of the quota line
    selected: bool  # listed (within the quota, after the admin's decisions)
    adjusted: str | None = None  # IN or OUT when the admin moved it


@dataclass(frozen=True)
class PoolResult:
    code: str
    quota: int
    entries: tuple[Entry, ...]  # the full order of the eligible entries

    @property
    def selected(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.selected)

    @property
    def boundary_tie(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.boundary_tie)

    @property
    def undecided(self) -> bool:
        """A tie straddles the quota line and the admin has not moved any of its entries."""
        tie = self.boundary_tie
        return bool(tie) and not any(e.adjusted for e in tie)


@dataclass(frozen=True)
class RankingResult:
    pools: tuple[PoolResult, ...]
    excluded: tuple[Exclusion, ...]

    def pool(self, code: str) -> PoolResult | None:
        return next((p for p in self.pools if p.code == code), None)

    @property
    def undecided(self) -> tuple[PoolResult, ...]:
        return tuple(p for p in self.pools if p.undecided)


def exclusion_reasons(
    candidate: Candidate, *, level_order: Sequence[str], min_level: str, pools: Iterable[str]
) -> tuple[str, ...]:
    """Every reason ``candidate`` is not ranked; empty when it is eligible."""
    reasons: list[str] = []
    if not candidate.approved:
        reasons.append(NOT_APPROVED)
    if not candidate.scored:
        reasons.append(NOT_SCORED)
        return tuple(reasons)
    if candidate.vetoed:
        reasons.append(VETOED)
    minimum = level_order.index(min_level) if min_level in level_order else len(level_order)
    reached = level_order.index(candidate.level) if candidate.level in level_order else -1
    if reached < minimum:
        reasons.append(LEVEL_TOO_LOW)
    if candidate.pool not in pools:
        reasons.append(NO_POOL)
    return tuple(reasons)


def sort_key(candidate: Candidate, tie_break: Sequence[str]) -> tuple[Decimal, ...]:
    total = candidate.total if candidate.total is not None else Decimal(0)
    return (total, *(candidate.dimension_points.get(code, Decimal(0)) for code in tie_break))


def _order(
    entries: Iterable[tuple[tuple[Decimal, ...], Candidate]],
) -> list[tuple[tuple[Decimal, ...], Candidate]]:
    # Highest key first; equal keys by name, then id, so that the input order never matters.
    return sorted(
        entries, key=lambda kc: (tuple(-v for v in kc[0]), kc[1].name, kc[1].assessment_id)
    )


def rank(
    candidates: Iterable[Candidate],
    *,
    quotas: Mapping[str, int],
    level_order: Sequence[str],
    min_level: str,
    tie_break: Sequence[str] = DEFAULT_TIE_BREAK,
    adjustments: Mapping[int, str] | None = None,
) -> RankingResult:
    """The ranking of ``candidates``.

    ``quotas``: pool code → entries listed, pools in this order; ``level_order``: level codes
    from the lowest; ``min_level``: the lowest level ranked; ``adjustments``: assessment id →
    IN or OUT, the admin's decisions on entries tied across a quota line (decisions on entries
    that are not, or no longer, in such a tie are ignored; the service refuses to record them).
    """
    adjustments = adjustments or {}
    excluded: list[Exclusion] = []
    by_pool: dict[str, list[tuple[tuple[Decimal, ...], Candidate]]] = {p: [] for p in quotas}
    for candidate in candidates:
        reasons = exclusion_reasons(
            candidate, level_order=level_order, min_level=min_level, pools=quotas
        )
        if reasons:
            excluded.append(Exclusion(candidate, reasons))
        else:
            by_pool[candidate.pool].append((sort_key(candidate, tie_break), candidate))
    pools = tuple(
        _pool(code, quotas[code], _order(members), adjustments) for code, members in by_pool.items()
    )
    excluded.sort(key=lambda x: (x.candidate.pool, x.candidate.name, x.candidate.assessment_id))
    return RankingResult(pools, tuple(excluded))


def _pool(
    code: str,
    quota: int,
    ordered: list[tuple[tuple[Decimal, ...], Candidate]],
    adjustments: Mapping[int, str],
) -> PoolResult:
    counts: dict[tuple[Decimal, ...], int] = {}
    first_index: dict[tuple[Decimal, ...], int] = {}
    for index, (key, _candidate) in enumerate(ordered):
        counts[key] = counts.get(key, 0) + 1
        first_index.setdefault(key, index)
    # The key of a group that has members on both sides of the line.
    line_key = None
    if 0 < quota < len(ordered) and ordered[quota - 1][0] == ordered[quota][0]:
        line_key = ordered[quota][0]
    entries = []
    for index, (key, candidate) in enumerate(ordered):
        boundary = key == line_key
        selected = index < quota
        adjusted = None
        move = adjustments.get(candidate.assessment_id)
        if boundary and move in (IN, OUT):
            adjusted = move
            selected = move == IN
        entries.append(
            Entry(
                candidate=candidate,
                key=key,
                position=first_index[key] + 1,
                tied=counts[key] > 1,
                boundary_tie=boundary,
                selected=selected,
                adjusted=adjusted,
            )
        )
    return PoolResult(code, quota, tuple(entries))


# ----------------------------------------------------------------------------------------------
# Trusted-platform awards


@dataclass(frozen=True)
class VendorAward:
    vendor: str
    candidates: tuple[Candidate, ...]  # the vendor's clouds that passed, by name


@dataclass(frozen=True)
class AwardsResult:
    vendors: tuple[VendorAward, ...]
    excluded: tuple[Exclusion, ...]


def awards_reasons(candidate: Candidate) -> tuple[str, ...]:
    reasons: list[str] = []
    if not candidate.approved:
        reasons.append(NOT_APPROVED)
    if not candidate.scored:
        reasons.append(NOT_SCORED)
        return tuple(reasons)
    if candidate.vetoed:
        reasons.append(VETOED)
    if not candidate.passed:
        reasons.append(NOT_PASSED)
    return tuple(reasons)


def awards(candidates: Iterable[Candidate]) -> AwardsResult:
    """The trusted-platform results that pass (approved, passed, no veto), by vendor: a cloud
    run by two vendors counts for both. Vendors and their clouds in name order."""
    excluded: list[Exclusion] = []
    by_vendor: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        reasons = awards_reasons(candidate)
        if reasons:
            excluded.append(Exclusion(candidate, reasons))
            continue
        for vendor in candidate.vendors:
            by_vendor.setdefault(vendor, []).append(candidate)
    vendors = tuple(
        VendorAward(vendor, tuple(sorted(found, key=lambda c: (c.name, c.assessment_id))))
        for vendor, found in sorted(by_vendor.items())
    )
    excluded.sort(key=lambda x: (x.candidate.name, x.candidate.assessment_id))
    return AwardsResult(vendors, tuple(excluded))
