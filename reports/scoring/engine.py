"""The scoring rules, as one pure function.

``score(framework, inputs, vetoes)`` turns a framework version and the consolidated ratings of one
assessment into a typed breakdown: points per indicator, per dimension, the total, the key
indicator and veto checks, every level rule with what was met or missed, and for trusted-platform
frameworks pass or fail with the reasons. It reads no database, no clock and no settings: the same
arguments always give the same breakdown, and ``inputs_sha256`` names those arguments.

Arithmetic is exact (``fractions.Fraction`` built from the ``Decimal`` inputs); every published
figure is rounded once, at the end, to two places, half up. Level and pass rules are then checked
against the published figures, so that anyone re-checking a report against the catalog's rules
with the numbers printed on it reaches the same level. ``docs/scoring.md`` explains the rules with
a worked example that ``tests/reports/test_scoring.py`` reproduces.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypedDict

# Part of every input hash: changing how scores are computed on purpose gives new versions.
# 2: consolidated ratings are exact means (no rounding to two places before the points), and
# levels and pass rules are judged on exact values.
SCORING_METHOD = "2"

COMPREHENSIVE = "comprehensive"
TRUSTED_PLATFORM = "trusted_platform"
MANDATORY = "M"
GRADED = "G"


# ----------------------------------------------------------------------------------------------
# Inputs: plain frozen values, built from the catalog by ``reports.selectors.framework_spec``


@dataclass(frozen=True)
class IndicatorSpec:
    id: int
    code: str
    dimension_code: str
    weight: Decimal | None
    name_zh: str = ""
    name_en: str = ""
    is_key: bool = False
    requirement_type: str = ""  # "M", "G" or "" (comprehensive)
    interpolate: bool = False
    # (rating, anchor value) for the ratings that have an anchor (1..max_rating), by rating.
    anchors: tuple[tuple[int, Decimal], ...] = ()


@dataclass(frozen=True)
class DimensionSpec:
    code: str
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class LevelSpec:
    code: str
    min_total: Decimal
    min_dimension_share: Decimal | None = None  # 0..1
    min_key_rating: int | None = None
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class VetoSpec:
    code: str
    cap_level: str | None  # a level code; None: the result is not rated at all
    description_zh: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class PassRuleSpec:
    min_graded_share: Decimal  # 0..1
    require_all_mandatory: bool = True
    min_graded_rating: int = 1
    validity_months: int = 36


@dataclass(frozen=True)
class FrameworkSpec:
    id: int
    code: str
    version: str
    kind: str
    max_rating: int
    total_weight: Decimal | None
    dimensions: tuple[DimensionSpec, ...]
    indicators: tuple[IndicatorSpec, ...]
    levels: tuple[LevelSpec, ...] = ()  # from the lowest
    vetoes: tuple[VetoSpec, ...] = ()
    pass_rule: PassRuleSpec | None = None
    content_sha256: str = ""
    unrated_name_zh: str = ""
    unrated_name_en: str = ""


@dataclass(frozen=True)
class IndicatorInput:
    """What the assessors concluded about one indicator, and the vendor's measured value."""

    # Consolidated: the exact mean of the assessors' ratings (8/3, never 2.67), or the settled
    # one. A Decimal is taken as the exact value it writes.
    rating: Fraction | Decimal | None = None
    met: bool | None = None  # mandatory items
    settled: bool = False
    value: Decimal | None = None  # only read where the indicator interpolates


# ----------------------------------------------------------------------------------------------
# The breakdown (stored as JSON with decimals as strings)


class Interpolation(TypedDict):
    applied: bool
    # "applied"; or why not: "no_value", "no_step" (rated 0 or the top rating), "outside_step"
    # (the value lies outside the band of the step the assessors confirmed)
    reason: str
    from_anchor: Decimal | None
    to_anchor: Decimal | None
    fraction: Decimal | None  # how far the value lies from one anchor to the next, 0..1


class IndicatorBreakdown(TypedDict):
    id: int
    code: str
    name_zh: str
    name_en: str
    requirement_type: str
    is_key: bool
    weight: Decimal | None
    rating: Decimal | None
    met: bool | None
    settled: bool
    value: Decimal | None
    interpolation: Interpolation | None
    scored_rating: Decimal | None  # the rating the points are computed from
    points: Decimal | None
    satisfied: bool  # met (M), or rated at least the pass rule's rating (G), or rated above 0


class DimensionBreakdown(TypedDict):
    code: str
    name_zh: str
    name_en: str
    weight: Decimal | None
    points: Decimal | None
    # Percent: points of the dimension's weight; without weights, share of satisfied items.
    share: Decimal | None
    items: int
    satisfied: int
    indicators: list[IndicatorBreakdown]


class RuleCheck(TypedDict):
    rule: str  # "min_total" | "min_dimension_share" | "min_key_rating"
    required: Decimal
    actual: Decimal | None  # the total; the lowest dimension share; the lowest key rating
    # Judged on the exact value: where ``actual`` (two places) seems to meet ``required`` but the
    # exact value misses it, the exact value to as many places as show it (74.997), else None.
    precise: Decimal | None
    met: bool
    missed_by: list[str]  # codes of the dimensions or key indicators that miss it


class LevelCheck(TypedDict):
    code: str
    name_zh: str
    name_en: str
    reached: bool
    checks: list[RuleCheck]


class LevelRef(TypedDict):
    code: str
    name_zh: str
    name_en: str


class VetoCheck(TypedDict):
    code: str
    description_zh: str
    description_en: str
    cap_level: str | None
    applies: bool


class PassCheck(TypedDict):
    passed: bool
    require_all_mandatory: bool
    mandatory_total: int
    mandatory_not_met: list[str]  # codes rated "not met"
    mandatory_undecided: list[str]  # codes without a decision
    graded_total: int
    graded_reached: int
    graded_share: Decimal | None  # percent
    graded_share_precise: Decimal | None  # as ``RuleCheck.precise``
    required_share: Decimal  # percent
    min_graded_rating: int
    graded_met: bool
    validity_months: int


class FrameworkRef(TypedDict):
    id: int
    code: str
    version: str
    kind: str


class Breakdown(TypedDict):
    method: str
    framework: FrameworkRef
    max_rating: int
    total_weight: Decimal | None
    total: Decimal | None
    # The exact total to as many places as needed, where the two-place total seems to reach a
    # level's minimum total that the exact one misses (75.00 printed, 74.997 exact); else None.
    total_precise: Decimal | None
    total_share: Decimal | None  # percent of the total weight
    dimensions: list[DimensionBreakdown]
    key_indicators: list[str]  # codes, in catalog order
    levels: list[LevelCheck]  # every level rule, from the lowest
    level_before_veto: LevelRef | None
    vetoes: list[VetoCheck]
    level: LevelRef | None  # None: below the lowest level (未达级)
    unrated_name_zh: str
    unrated_name_en: str
    pass_check: PassCheck | None


# ----------------------------------------------------------------------------------------------
# Rounding


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """``value`` rounded to ``places`` decimals, halves away from zero (2.345 → 2.35)."""
    if not isinstance(value, Fraction):
        value = Fraction(value)
    # floor(|n/d| × 10^places + 1/2) in integers: a campaign rounds tens of thousands of
    # figures, and Fraction arithmetic is slow.
    numerator, denominator = value.numerator, value.denominator
    whole = (2 * abs(numerator) * 10**places + denominator) // (2 * denominator)
    sign = -1 if numerator < 0 else 1
    return Decimal(sign * whole).scaleb(-places)


def _r(value: Fraction | None) -> Decimal | None:
    return None if value is None else round_half_up(value)


def precise_below(value: Fraction | None, threshold: Fraction) -> Decimal | None:
    """``value`` to three places or more, as many as it takes to show it below ``threshold``,
    when its two-place figure seems to reach the threshold that it misses (74.997 for a total of
    74.997 against 75: it prints as 75.00); None when the two-place figure tells the truth."""
    if value is None or value >= threshold or round_half_up(value) < threshold:
        return None
    places = 3
    while round_half_up(value, places) >= threshold and places < 12:
        places += 1
    return round_half_up(value, places)


# ----------------------------------------------------------------------------------------------
# Interpolation


def _interpolate(
    spec: IndicatorSpec, inp: IndicatorInput, rating: Fraction, max_rating: int
) -> tuple[Fraction, Interpolation]:
    """The rating to compute points from, for an indicator that interpolates.

    The assessors' rating decides the step reached, k = ⌊rating⌋; the vendor's measured value
    moves the score from there towards the next step, by the share of the way from anchor k to
    anchor k+1 the value covers. A value outside that band contradicts the assessors' rating and
    adds nothing; so do ratings without a next step (0, and the top rating).
    """
    anchors = dict(spec.anchors)
    step = math.floor(rating)
    note: Interpolation = {
        "applied": False,
        "reason": "no_step",
        "from_anchor": None,
        "to_anchor": None,
        "fraction": None,
    }
    if step < 1 or step >= max_rating or step not in anchors or step + 1 not in anchors:
        return rating, note
    low, high = anchors[step], anchors[step + 1]
    note["from_anchor"], note["to_anchor"] = low, high
    if inp.value is None:
        note["reason"] = "no_value"
        return rating, note
    fraction = (Fraction(inp.value) - Fraction(low)) / (Fraction(high) - Fraction(low))
    if not 0 <= fraction < 1:
        note["reason"] = "outside_step"
        return rating, note
    note["applied"], note["reason"] = True, "applied"
    note["fraction"] = round_half_up(fraction)
    return rating + fraction * (step + 1 - rating), note


# ----------------------------------------------------------------------------------------------
# The function


@dataclass(frozen=True)
class ExactPoints:
    """The unrounded figures behind a breakdown: indicator id → (scored rating, weight, points),
    and the points per dimension code and in total (None without weights)."""

    indicators: dict[int, tuple[Fraction | None, Fraction | None, Fraction | None]]
    dimensions: dict[str, Fraction]
    dimension_weights: dict[str, Fraction]
    total: Fraction | None
    total_weight: Fraction | None
    notes: dict[int, Interpolation | None]


def exact_points(framework: FrameworkSpec, inputs: Mapping[int, IndicatorInput]) -> ExactPoints:
    """Points before any rounding: weight × scored rating / max rating, weights taken as shares
    of the framework's total weight (see ``score``)."""
    weights = [Fraction(i.weight) for i in framework.indicators if i.weight is not None]
    sum_weights = sum(weights, Fraction(0))
    has_weights = sum_weights > 0
    # Points are out of the framework's total weight whatever the weights add up to, so that
    # weights scaled together change nothing (the catalog checks that they add up anyway).
    total_weight = (
        Fraction(framework.total_weight) if framework.total_weight is not None else sum_weights
    )
    scale = total_weight / sum_weights if has_weights else Fraction(0)
    rows: dict[int, tuple[Fraction | None, Fraction | None, Fraction | None]] = {}
    notes: dict[int, Interpolation | None] = {}
    dimensions = {d.code: Fraction(0) for d in framework.dimensions}
    dimension_weights = {d.code: Fraction(0) for d in framework.dimensions}
    for spec in framework.indicators:
        inp = inputs.get(spec.id, IndicatorInput())
        rating = Fraction(inp.rating) if inp.rating is not None else None
        scored, note = rating, None
        if rating is not None and spec.interpolate:
            scored, note = _interpolate(spec, inp, rating, framework.max_rating)
        points = weight = None
        if spec.weight is not None and has_weights:
            weight = Fraction(spec.weight) * scale
            points = weight * (scored or 0) / framework.max_rating
            dimensions[spec.dimension_code] += points
            dimension_weights[spec.dimension_code] += weight
        rows[spec.id] = (scored, weight, points)
        notes[spec.id] = note
    return ExactPoints(
        indicators=rows,
        dimensions=dimensions,
        dimension_weights=dimension_weights,
        total=sum(dimensions.values(), Fraction(0)) if has_weights else None,
        total_weight=total_weight if has_weights else None,
        notes=notes,
    )


def score(
    framework: FrameworkSpec,
    inputs: Mapping[int, IndicatorInput],
    vetoes: Collection[str] = (),
) -> Breakdown:
    """The breakdown of one assessment.

    ``inputs`` maps indicator id → its consolidated rating; a missing indicator counts as
    unrated (no points, fails key and pass rules). ``vetoes`` holds the codes of the framework's
    veto rules found to apply. Raises nothing for incomplete inputs: it scores what is there.
    """
    exact = exact_points(framework, inputs)
    has_weights = exact.total is not None
    pass_rule = framework.pass_rule
    graded_bar = pass_rule.min_graded_rating if pass_rule else 1

    rows_by_dimension: dict[str, list[IndicatorBreakdown]] = {
        d.code: [] for d in framework.dimensions
    }
    for spec in framework.indicators:
        inp = inputs.get(spec.id, IndicatorInput())
        scored, weight, points = exact.indicators[spec.id]
        if spec.requirement_type == MANDATORY:
            satisfied = inp.met is True
        elif spec.requirement_type == GRADED:
            satisfied = inp.rating is not None and inp.rating >= graded_bar
        else:
            satisfied = inp.rating is not None and inp.rating > 0
        rows_by_dimension[spec.dimension_code].append(
            {
                "id": spec.id,
                "code": spec.code,
                "name_zh": spec.name_zh,
                "name_en": spec.name_en,
                "requirement_type": spec.requirement_type,
                "is_key": spec.is_key,
                "weight": _r(weight),
                # The consolidated rating as published: two places (8/3 → 2.67, 3 → 3.00).
                "rating": _r(Fraction(inp.rating)) if inp.rating is not None else None,
                "met": inp.met,
                "settled": inp.settled,
                "value": inp.value if spec.interpolate else None,
                "interpolation": exact.notes[spec.id],
                "scored_rating": _r(scored),
                "points": _r(points),
                "satisfied": satisfied,
            }
        )

    dimensions: list[DimensionBreakdown] = []
    exact_shares: dict[str, Fraction | None] = {}
    for spec_d in framework.dimensions:
        rows = rows_by_dimension[spec_d.code]
        n_satisfied = sum(1 for row in rows if row["satisfied"])
        d_weight = exact.dimension_weights[spec_d.code]
        d_points = exact.dimensions[spec_d.code]
        if has_weights:
            share = d_points / d_weight * 100 if d_weight > 0 else None
        else:
            share = Fraction(n_satisfied, len(rows)) * 100 if rows else None
        exact_shares[spec_d.code] = share
        dimensions.append(
            {
                "code": spec_d.code,
                "name_zh": spec_d.name_zh,
                "name_en": spec_d.name_en,
                "weight": _r(d_weight) if has_weights else None,
                "points": _r(d_points) if has_weights else None,
                "share": _r(share),
                "items": len(rows),
                "satisfied": n_satisfied,
                "indicators": rows,
            }
        )

    published_total = _r(exact.total)
    key_rows = [row for d in dimensions for row in d["indicators"] if row["is_key"]]
    # Key ratings are judged exactly: the consolidated rating, not the interpolated one.
    key_ratings: dict[str, Fraction | None] = {}
    for spec in framework.indicators:
        if spec.is_key:
            rating = inputs.get(spec.id, IndicatorInput()).rating
            key_ratings[spec.code] = Fraction(rating) if rating is not None else None
    levels = [
        _level_check(level, exact.total, exact_shares, dimensions, key_ratings)
        for level in framework.levels
    ]
    total_precise = next(
        (
            check["precise"]
            for level in levels
            for check in level["checks"]
            if check["rule"] == "min_total" and check["precise"] is not None
        ),
        None,
    )
    reached = level_reached(framework.levels, [c["reached"] for c in levels])
    final = level_after_vetoes(framework, reached, vetoes)
    total = exact.total
    total_weight = exact.total_weight
    return {
        "method": SCORING_METHOD,
        "framework": {
            "id": framework.id,
            "code": framework.code,
            "version": framework.version,
            "kind": framework.kind,
        },
        "max_rating": framework.max_rating,
        "total_weight": _r(total_weight),
        "total": published_total,
        "total_precise": total_precise,
        "total_share": _r(total / total_weight * 100)
        if total is not None and total_weight
        else None,
        "dimensions": dimensions,
        "key_indicators": [row["code"] for row in key_rows],
        "levels": levels,
        "level_before_veto": _level_ref(reached),
        "vetoes": [
            {
                "code": veto.code,
                "description_zh": veto.description_zh,
                "description_en": veto.description_en,
                "cap_level": veto.cap_level,
                "applies": veto.code in vetoes,
            }
            for veto in framework.vetoes
        ],
        "level": _level_ref(final),
        "unrated_name_zh": framework.unrated_name_zh,
        "unrated_name_en": framework.unrated_name_en,
        "pass_check": _pass_check(pass_rule, dimensions) if pass_rule else None,
    }


def level_reached(levels: Sequence[LevelSpec], met: Sequence[bool]) -> LevelSpec | None:
    """Levels are climbed from the lowest; the first one missed stops the climb."""
    reached = None
    for level, ok in zip(levels, met, strict=True):
        if not ok:
            break
        reached = level
    return reached


def level_after_vetoes(
    framework: FrameworkSpec, reached: LevelSpec | None, vetoes: Collection[str]
) -> LevelSpec | None:
    """Each veto that applies caps the level at its ``cap_level`` (no cap level: not rated)."""
    order = {level.code: n for n, level in enumerate(framework.levels)}
    rank = order[reached.code] if reached else -1
    for veto in framework.vetoes:
        if veto.code in vetoes:
            rank = min(rank, order.get(veto.cap_level, -1) if veto.cap_level else -1)
    return framework.levels[rank] if rank >= 0 else None


def _level_ref(level: LevelSpec | None) -> LevelRef | None:
    if level is None:
        return None
    return {"code": level.code, "name_zh": level.name_zh, "name_en": level.name_en}


def _level_check(
    level: LevelSpec,
    total: Fraction | None,
    shares: dict[str, Fraction | None],
    dimensions: list[DimensionBreakdown],
    key_ratings: dict[str, Fraction | None],
) -> LevelCheck:
    """One level's thresholds, each judged on the exact value (the total, every dimension's
    share, every key indicator's consolidated rating); the published two-place figures are
    shown, with the precise one where they would seem to meet a threshold the exact value
    misses."""
    required_total = Fraction(level.min_total)
    checks: list[RuleCheck] = [
        {
            "rule": "min_total",
            "required": level.min_total,
            "actual": _r(total),
            "precise": precise_below(total, required_total),
            "met": total is not None and total >= required_total,
            "missed_by": [],
        }
    ]
    if level.min_dimension_share is not None:
        required = level.min_dimension_share * 100
        exact = {code: share for code, share in shares.items() if share is not None}
        missed = [code for code, share in exact.items() if share < Fraction(required)]
        lowest = min(exact.values(), default=None)
        published = [d["share"] for d in dimensions if d["share"] is not None]
        checks.append(
            {
                "rule": "min_dimension_share",
                "required": required,
                "actual": min(published, default=None),
                "precise": precise_below(lowest, Fraction(required)),
                "met": not missed,
                "missed_by": missed,
            }
        )
    if level.min_key_rating is not None:
        required_rating = Decimal(level.min_key_rating)
        missed = [
            code
            for code, rating in key_ratings.items()
            if rating is None or rating < level.min_key_rating
        ]
        rated = [rating for rating in key_ratings.values() if rating is not None]
        complete = bool(rated) and len(rated) == len(key_ratings)
        lowest_rating = min(rated) if complete else None
        checks.append(
            {
                "rule": "min_key_rating",
                "required": required_rating,
                "actual": _r(lowest_rating),
                "precise": precise_below(lowest_rating, Fraction(level.min_key_rating)),
                "met": not missed,
                "missed_by": missed,
            }
        )
    return {
        "code": level.code,
        "name_zh": level.name_zh,
        "name_en": level.name_en,
        "reached": all(c["met"] for c in checks),
        "checks": checks,
    }


def _pass_check(rule: PassRuleSpec, dimensions: list[DimensionBreakdown]) -> PassCheck:
    rows = [row for d in dimensions for row in d["indicators"]]
    mandatory = [r for r in rows if r["requirement_type"] == MANDATORY]
    graded = [r for r in rows if r["requirement_type"] == GRADED]
    not_met = [r["code"] for r in mandatory if r["met"] is False]
    undecided = [r["code"] for r in mandatory if r["met"] is None]
    reached = sum(1 for r in graded if r["satisfied"])
    exact_share = Fraction(reached, len(graded)) * 100 if graded else None
    required = rule.min_graded_share * 100
    graded_met = exact_share is None or exact_share >= Fraction(required)
    mandatory_ok = not rule.require_all_mandatory or not (not_met or undecided)
    return {
        "passed": mandatory_ok and graded_met,
        "require_all_mandatory": rule.require_all_mandatory,
        "mandatory_total": len(mandatory),
        "mandatory_not_met": not_met,
        "mandatory_undecided": undecided,
        "graded_total": len(graded),
        "graded_reached": reached,
        "graded_share": _r(exact_share),
        "graded_share_precise": precise_below(exact_share, Fraction(required)),
        "required_share": required,
        "min_graded_rating": rule.min_graded_rating,
        "graded_met": graded_met,
        "validity_months": rule.validity_months,
    }


# ----------------------------------------------------------------------------------------------
# The name of the inputs


def _canonical(value: Fraction | Decimal | None) -> str | None:
    # 2, 2.0, 2.00 and 2/1 are the same rating and must hash the same; 8/3 is written as such.
    if value is None:
        return None
    exact = Fraction(value)
    return (
        str(exact.numerator) if exact.denominator == 1 else f"{exact.numerator}/{exact.denominator}"
    )


def inputs_sha256(
    framework: FrameworkSpec,
    inputs: Mapping[int, IndicatorInput],
    vetoes: Collection[str] = (),
) -> str:
    """SHA-256 of everything ``score`` reads, in a canonical form: the scoring method, the
    framework version (code, version and its content hash), every indicator's consolidated
    rating, met and settled flag, the measured value where the indicator interpolates, and the
    vetoes that apply. Independent of the order of ``inputs`` and ``vetoes``."""
    rows = []
    for spec in sorted(framework.indicators, key=lambda i: i.code):
        inp = inputs.get(spec.id, IndicatorInput())
        rows.append(
            [
                spec.code,
                _canonical(inp.rating),
                inp.met,
                inp.settled,
                _canonical(inp.value) if spec.interpolate else None,
            ]
        )
    known = {v.code for v in framework.vetoes}
    document = {
        "method": SCORING_METHOD,
        "framework": [framework.code, framework.version, framework.content_sha256],
        "ratings": rows,
        "vetoes": sorted(set(vetoes) & known),
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def breakdown_json(breakdown: Breakdown) -> dict[str, object]:
    """The breakdown with decimals as strings, ready for a JSONField."""
    return json.loads(json.dumps(breakdown, default=str))
