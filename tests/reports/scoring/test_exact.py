"""Exact consolidation and levels judged on exact values (docs/scoring.md, "Exact values").

The two worked examples of the documentation, the exact boundary of every threshold (changing a
``>=`` into ``>`` anywhere fails here), and a property: the level equals the one an independent
exact computation reaches, whatever the rounding of the published figures.
"""

from __future__ import annotations

import random
from decimal import Decimal as D
from fractions import Fraction

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from assessments.models import Rating
from assessments.selectors import consolidate
from indicators.models import Framework, Indicator
from indicators.templatetags.catalog_tags import level_check_text
from reports.scoring.engine import (
    DimensionSpec,
    FrameworkSpec,
    IndicatorInput,
    IndicatorSpec,
    LevelSpec,
    PassRuleSpec,
    score,
)
from reports.scoring.selectors import framework_spec

from .test_engine_properties import EXAMPLES, Scenario, scenarios

# Worked example A: three assessors on each indicator of the default catalog, rating
# (k, k+1, k+1), so that every consolidated rating is k + 2/3.
EXAMPLE_A = {
    "1.1": 1, "1.2": 2, "1.3": 2, "1.4": 1, "1.5": 1,
    "2.1": 2, "2.2": 2, "2.3": 1, "2.4": 1, "2.5": 1,
    "3.1": 2, "3.2": 2, "3.3": 1, "3.4": 1, "3.5": 2,
    "4.1": 2, "4.2": 2, "4.3": 2, "4.4": 1, "4.5": 2,
}  # fmt: skip
# Worked example B: two assessors agreeing on each indicator; 2.1 (部门上云率, interpolating,
# anchors 50 / 70 / 85 %) rated 2 with a measured value of 80.695 %.
EXAMPLE_B = {
    "1.1": 2, "1.2": 2, "1.3": 2, "1.4": 3, "1.5": 2,
    "2.1": 2, "2.2": 2, "2.3": 2, "2.4": 2, "2.5": 2,
    "3.1": 2, "3.2": 2, "3.3": 3, "3.4": 3, "3.5": 2,
    "4.1": 2, "4.2": 3, "4.3": 2, "4.4": 2, "4.5": 3,
}  # fmt: skip


def _consolidated(indicator: Indicator, ratings: list[int]) -> Fraction | None:
    rows = [Rating(rating=r) for r in ratings]
    return consolidate(indicator=indicator, ratings=rows, settlement=None).rating


def _levels(breakdown: dict[str, object]) -> str | None:
    level = breakdown["level"]
    return level["code"] if isinstance(level, dict) else None


@pytest.mark.django_db
def test_worked_example_a_three_assessors_are_averaged_exactly(comprehensive: Framework) -> None:
    spec = framework_spec(framework=comprehensive)
    by_code = {i.code: i for i in Indicator.objects.filter(framework=comprehensive)}
    inputs = {}
    for code, k in EXAMPLE_A.items():
        rating = _consolidated(by_code[code], [k, k + 1, k + 1])
        assert rating == Fraction(3 * k + 2, 3)  # 8/3, never 2.67
        inputs[by_code[code].pk] = IndicatorInput(rating=rating)

    breakdown = score(spec, inputs)

    assert breakdown["total"] == D("74.89")  # exactly 674/9
    assert breakdown["total_precise"] is None  # 74.89 tells the truth
    assert breakdown["level"] is not None and breakdown["level"]["code"] == "basic"
    advanced = breakdown["levels"][1]
    assert [(c["rule"], c["met"]) for c in advanced["checks"]] == [
        ("min_total", False),
        ("min_dimension_share", True),
        ("min_key_rating", True),
    ]
    # The old rule (each mean rounded to two places before the points) published 75.00 先进级.
    rounded = {
        pk: IndicatorInput(rating=D(str(round(float(inp.rating or 0), 2))))
        for pk, inp in inputs.items()
    }
    old = score(spec, rounded)
    assert (old["total"], _levels(dict(old))) == (D("75.00"), "advanced")


@pytest.mark.django_db
def test_worked_example_b_a_total_of_74_997_does_not_reach_75(comprehensive: Framework) -> None:
    spec = framework_spec(framework=comprehensive)
    by_code = {i.code: i for i in Indicator.objects.filter(framework=comprehensive)}
    inputs = {
        by_code[code].pk: IndicatorInput(
            rating=_consolidated(by_code[code], [r, r]),
            value=D("80.695") if code == "2.1" else None,
        )
        for code, r in EXAMPLE_B.items()
    }

    breakdown = score(spec, inputs)

    assert breakdown["total"] == D("75.00")  # as printed
    assert breakdown["total_precise"] == D("74.997")  # exactly 74997/1000
    assert breakdown["level"] is not None and breakdown["level"]["code"] == "basic"
    total_check = breakdown["levels"][1]["checks"][0]
    assert (total_check["met"], total_check["actual"], total_check["precise"]) == (
        False,
        D("75.00"),
        D("74.997"),
    )
    with translation.override("zh-hans"):
        assert level_check_text(dict(total_check)) == "总分不低于 75（实得 74.997，未达到 75）"
    with translation.override("en"):
        assert level_check_text(dict(total_check)) == "Total at least 75 (is 74.997: short of 75)"


# ----------------------------------------------------------------------------------------------
# Every threshold on its exact boundary


def _framework(
    weights: list[int], *, keys: tuple[int, ...] = (), level: LevelSpec, pass_rule: bool = False
) -> FrameworkSpec:
    return FrameworkSpec(
        id=1,
        code="boundary",
        version="1",
        kind="trusted_platform" if pass_rule else "comprehensive",
        max_rating=3,
        total_weight=D(sum(weights)) if not pass_rule else None,
        dimensions=(DimensionSpec("D1"), DimensionSpec("D2")),
        indicators=tuple(
            IndicatorSpec(
                n + 1,
                f"{n + 1}",
                "D1" if n % 2 == 0 else "D2",
                None if pass_rule else D(w),
                is_key=n + 1 in keys,
                requirement_type="G" if pass_rule else "",
            )
            for n, w in enumerate(weights)
        ),
        levels=(level,),
        pass_rule=PassRuleSpec(D("0.75"), True, 1, 12) if pass_rule else None,
    )


def test_a_total_exactly_on_the_line_reaches_the_level_and_a_hair_below_does_not() -> None:
    framework = _framework([50, 50], level=LevelSpec("advanced", D(75), None, None))
    # 50 × r / 3 + 50 × r / 3 = 75 exactly for r = 2.25 (ratings 2, 2, 2, 3).
    on_line = score(
        framework,
        {1: IndicatorInput(rating=Fraction(9, 4)), 2: IndicatorInput(rating=Fraction(9, 4))},
    )
    below = score(
        framework,
        {1: IndicatorInput(rating=Fraction(9, 4)), 2: IndicatorInput(rating=Fraction(224, 100))},
    )

    assert on_line["total"] == D("75.00") and on_line["level"] is not None
    assert below["total"] == D("74.83") and below["level"] is None


def test_a_dimension_share_exactly_on_the_line_meets_it() -> None:
    framework = _framework([30, 30], level=LevelSpec("advanced", D(0), D("0.6"), None))
    # 60 % of a dimension's weight: a rating of 1.8 out of 3 (ratings 2, 2, 2, 2, 1).
    on_line = score(
        framework,
        {1: IndicatorInput(rating=Fraction(9, 5)), 2: IndicatorInput(rating=Fraction(9, 5))},
    )
    below = score(
        framework,
        {1: IndicatorInput(rating=Fraction(9, 5)), 2: IndicatorInput(rating=Fraction(179, 100))},
    )

    assert [c["met"] for c in on_line["levels"][0]["checks"]] == [True, True]
    assert [c["met"] for c in below["levels"][0]["checks"]] == [True, False]
    assert below["levels"][0]["checks"][1]["missed_by"] == ["D2"]


def test_a_key_rating_exactly_on_the_line_meets_it_and_a_mean_just_below_does_not() -> None:
    framework = _framework([50, 50], keys=(1,), level=LevelSpec("advanced", D(0), None, 2))
    on_line = score(
        framework, {1: IndicatorInput(rating=Fraction(2)), 2: IndicatorInput(rating=Fraction(0))}
    )
    # The mean of 2, 2, 2, 2, 1 ... with 200 assessors: 1.995 prints as 2.00 yet misses 2.
    below = score(
        framework,
        {1: IndicatorInput(rating=Fraction(399, 200)), 2: IndicatorInput(rating=Fraction(0))},
    )

    assert on_line["level"] is not None
    check = below["levels"][0]["checks"][1]
    assert (check["met"], check["actual"], check["precise"]) == (False, D("2.00"), D("1.995"))
    assert below["level"] is None


def test_a_graded_share_exactly_on_the_pass_line_passes() -> None:
    level = LevelSpec("none", D(0), None, None)
    framework = _framework([1, 1, 1, 1], level=level, pass_rule=True)
    three_of_four = {n: IndicatorInput(rating=Fraction(1 if n < 4 else 0)) for n in range(1, 5)}
    two_of_four = {n: IndicatorInput(rating=Fraction(1 if n < 3 else 0)) for n in range(1, 5)}

    passing = score(framework, three_of_four)["pass_check"]
    failing = score(framework, two_of_four)["pass_check"]

    assert passing is not None and (passing["graded_share"], passing["passed"]) == (
        D("75.00"),
        True,
    )
    assert failing is not None and (failing["graded_share"], failing["passed"]) == (
        D("50.00"),
        False,
    )


# ----------------------------------------------------------------------------------------------
# Properties


def _reference_rank(scenario: Scenario) -> int:
    """The level climbed with exact arithmetic only, written apart from the engine: the total,
    every dimension's share and every key rating against each level's thresholds."""
    framework, inputs, vetoes = scenario
    total_weight = sum(Fraction(i.weight or 0) for i in framework.indicators)
    scale = Fraction(framework.total_weight or 0) / total_weight
    points: dict[str, Fraction] = {d.code: Fraction(0) for d in framework.dimensions}
    weights: dict[str, Fraction] = {d.code: Fraction(0) for d in framework.dimensions}
    for spec in framework.indicators:
        inp = inputs.get(spec.id, IndicatorInput())
        rating = Fraction(inp.rating) if inp.rating is not None else None
        scored = rating
        if rating is not None and spec.interpolate and inp.value is not None:
            anchors, step = dict(spec.anchors), int(rating)
            if 1 <= step < framework.max_rating and step in anchors and step + 1 in anchors:
                low, high = Fraction(anchors[step]), Fraction(anchors[step + 1])
                fraction = (Fraction(inp.value) - low) / (high - low)
                if 0 <= fraction < 1:
                    scored = rating + fraction * (step + 1 - rating)
        weight = Fraction(spec.weight or 0) * scale
        points[spec.dimension_code] += weight * (scored or 0) / framework.max_rating
        weights[spec.dimension_code] += weight
    total = sum(points.values(), Fraction(0))
    shares = [points[c] / weights[c] * 100 for c in points if weights[c] > 0]
    keys = [
        inputs[s.id].rating if s.id in inputs else None for s in framework.indicators if s.is_key
    ]
    rank = -1
    for n, level in enumerate(framework.levels):
        ok = total >= Fraction(level.min_total)
        if level.min_dimension_share is not None:
            ok = ok and all(share >= Fraction(level.min_dimension_share) * 100 for share in shares)
        if level.min_key_rating is not None:
            ok = ok and all(k is not None and Fraction(k) >= level.min_key_rating for k in keys)
        if not ok:
            break
        rank = n
    order = {level.code: n for n, level in enumerate(framework.levels)}
    for veto in framework.vetoes:
        if veto.code in vetoes:
            rank = min(rank, order.get(veto.cap_level, -1) if veto.cap_level else -1)
    return rank


@EXAMPLES
@given(scenarios())
def test_the_level_is_the_one_exact_arithmetic_reaches_whatever_the_rounding(
    scenario: Scenario,
) -> None:
    framework = scenario[0]
    breakdown = score(*scenario)
    codes = [level.code for level in framework.levels]
    rank = codes.index(breakdown["level"]["code"]) if breakdown["level"] else -1

    assert rank == _reference_rank(scenario)


@EXAMPLES
@given(st.lists(st.integers(0, 3), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_permuting_the_assessors_never_changes_a_result(
    ratings: list[int], rnd: random.Random
) -> None:
    indicator = Indicator(pk=1, requirement_type="")
    shuffled = list(ratings)
    rnd.shuffle(shuffled)
    framework = _framework([100], level=LevelSpec("basic", D(60), None, None))

    def result(order: list[int]) -> object:
        rating = _consolidated(indicator, order)
        return score(framework, {1: IndicatorInput(rating=rating)})

    assert _consolidated(indicator, shuffled) == Fraction(sum(ratings), len(ratings))
    assert result(shuffled) == result(ratings)


@pytest.mark.django_db
def test_the_score_page_prints_the_exact_total_where_rounding_would_mislead(
    comprehensive: Framework,
) -> None:
    from django.template.loader import render_to_string

    from reports.scoring.engine import breakdown_json
    from reports.scoring.models import ScoreResult

    spec = framework_spec(framework=comprehensive)
    by_code = {i.code: i for i in Indicator.objects.filter(framework=comprehensive)}
    inputs = {
        by_code[code].pk: IndicatorInput(
            rating=Fraction(r), value=D("80.695") if code == "2.1" else None
        )
        for code, r in EXAMPLE_B.items()
    }
    result = ScoreResult(
        version=1, inputs_sha256="0" * 64, breakdown=breakdown_json(score(spec, inputs))
    )

    with translation.override("zh-hans"):
        html = render_to_string("scoring/partials/_score_breakdown.html", {"result": result})

    assert 'data-testid="total-precise"' in html
    assert "74.997" in html
    assert "总分不低于 75（实得 74.997，未达到 75）" in html
