"""Properties of the scoring function, each checked on hundreds of generated frameworks."""

from __future__ import annotations

import math
import random
from decimal import Decimal as D
from fractions import Fraction
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.scoring.engine import (
    Breakdown,
    DimensionSpec,
    FrameworkSpec,
    IndicatorInput,
    IndicatorSpec,
    LevelSpec,
    VetoSpec,
    _level_check,
    exact_points,
    inputs_sha256,
    level_after_vetoes,
    level_reached,
    score,
)

EXAMPLES = settings(max_examples=200, deadline=None)
TWO = D("0.01")

# A framework, the consolidated inputs by indicator id, and the vetoes that apply.
Scenario = tuple[FrameworkSpec, dict[int, IndicatorInput], set[str]]
T = TypeVar("T")


def _present(value: T | None) -> T:
    """The generated frameworks always carry weights: their totals and points are never None."""
    assert value is not None
    return value


def _ratings(max_rating: int) -> st.SearchStrategy[Fraction]:
    """A consolidated rating: the exact mean of one to five assessors (8/3, never 2.67)."""
    return st.lists(st.integers(0, max_rating), min_size=1, max_size=5).map(
        lambda xs: Fraction(sum(xs), len(xs))
    )


@st.composite
def frameworks(draw: st.DrawFn) -> FrameworkSpec:
    max_rating = draw(st.integers(1, 5))
    n_dims = draw(st.integers(1, 5))
    dims = tuple(DimensionSpec(f"D{n}") for n in range(n_dims))
    indicators: list[IndicatorSpec] = []
    for d in dims:
        for _ in range(draw(st.integers(1, 5))):
            n = len(indicators) + 1
            interpolate = max_rating >= 2 and draw(st.booleans())
            anchors: tuple[tuple[int, D], ...] = ()
            if interpolate:
                steps = draw(
                    st.lists(st.integers(1, 50), min_size=max_rating - 1, max_size=max_rating - 1)
                )
                start = draw(st.integers(-100, 100))
                sign = draw(st.sampled_from([1, -1]))  # higher or lower is better
                values = [start]
                for step in steps:
                    values.append(values[-1] + sign * step)
                anchors = tuple((r + 1, D(v)) for r, v in enumerate(values))
            indicators.append(
                IndicatorSpec(
                    id=n,
                    code=f"{n}",
                    dimension_code=d.code,
                    weight=D(draw(st.integers(1, 5000))) / 100,
                    is_key=draw(st.booleans()),
                    interpolate=interpolate,
                    anchors=anchors,
                )
            )
    n_levels = draw(st.integers(0, 3))
    totals = sorted(
        draw(st.lists(st.integers(1, 99), min_size=n_levels, max_size=n_levels, unique=True))
    )
    levels = []
    share = key = 0
    for n, total in enumerate(totals):
        share = draw(st.integers(share, 100))
        key = draw(st.integers(key, max_rating))
        levels.append(
            LevelSpec(
                f"L{n}",
                D(total),
                D(share) / 100 if draw(st.booleans()) else None,
                key if draw(st.booleans()) else None,
            )
        )
    capped = bool(levels) and draw(st.booleans())
    vetoes = (VetoSpec("veto", levels[0].code if capped else None),)
    return FrameworkSpec(
        id=1,
        code="generated",
        version="1",
        kind="comprehensive",
        max_rating=max_rating,
        total_weight=D(100),
        dimensions=dims,
        indicators=tuple(indicators),
        levels=tuple(levels),
        vetoes=vetoes,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    framework = draw(frameworks())
    inputs: dict[int, IndicatorInput] = {}
    for spec in framework.indicators:
        if draw(st.integers(0, 9)) == 0:
            continue  # now and then an indicator nobody rated
        value = D(draw(st.integers(-300, 300))) if spec.interpolate else None
        inputs[spec.id] = IndicatorInput(rating=draw(_ratings(framework.max_rating)), value=value)
    vetoes: set[str] = {"veto"} if draw(st.booleans()) else set()
    return framework, inputs, vetoes


def _level_rank(framework: FrameworkSpec, breakdown: Breakdown) -> int:
    codes = [level.code for level in framework.levels]
    return codes.index(breakdown["level"]["code"]) if breakdown["level"] else -1


@EXAMPLES
@given(scenarios(), st.data())
def test_raising_any_rating_never_lowers_the_total(scenario: Scenario, data: st.DataObject) -> None:
    framework, inputs, vetoes = scenario
    spec = data.draw(st.sampled_from(framework.indicators))
    before = inputs.get(spec.id, IndicatorInput())
    lowest = Fraction(before.rating) if before.rating is not None else Fraction(0)
    raised = data.draw(
        st.integers(math.ceil(lowest * 100), framework.max_rating * 100).map(
            lambda n: Fraction(n, 100)
        )
    )
    higher = {**inputs, spec.id: IndicatorInput(rating=raised, value=before.value)}

    old, new = score(framework, inputs, vetoes), score(framework, higher, vetoes)

    assert _present(new["total"]) >= _present(old["total"])
    exact_new, exact_old = exact_points(framework, higher), exact_points(framework, inputs)
    assert _present(exact_new.total) >= _present(exact_old.total)
    # Shares and key ratings only rise too, so the level never drops either.
    assert _level_rank(framework, new) >= _level_rank(framework, old)


@EXAMPLES
@given(scenarios())
def test_the_total_equals_the_sum_of_dimension_points(scenario: Scenario) -> None:
    framework, inputs, vetoes = scenario

    exact = exact_points(framework, inputs)
    breakdown = score(framework, inputs, vetoes)

    assert exact.total == sum(exact.dimensions.values(), Fraction(0))
    assert all(
        exact.dimensions[d.code]
        == sum(
            (
                _present(exact.indicators[i.id][2])
                for i in framework.indicators
                if i.dimension_code == d.code
            ),
            Fraction(0),
        )
        for d in framework.dimensions
    )
    # Each published figure is rounded once from its exact value: they agree to half a cent each.
    total = _present(breakdown["total"])
    published = sum(_present(d["points"]) for d in breakdown["dimensions"])
    assert abs(published - total) <= D("0.005") * len(breakdown["dimensions"])


@EXAMPLES
@given(scenarios(), st.lists(st.integers(0, 10000), min_size=2, max_size=2))
def test_the_level_is_monotonic_in_the_total_when_the_other_rules_hold(
    scenario: Scenario, cents: list[int]
) -> None:
    framework, inputs, vetoes = scenario
    breakdown = score(framework, inputs, vetoes)
    dimensions = breakdown["dimensions"]
    shares = {
        d["code"]: Fraction(d["share"]) if d["share"] is not None else None for d in dimensions
    }
    key_ratings = {
        spec.code: Fraction(rating)
        if (rating := inputs.get(spec.id, IndicatorInput()).rating) is not None
        else None
        for spec in framework.indicators
        if spec.is_key
    }
    low, high = sorted(Fraction(c, 100) for c in cents)

    def rank(total: Fraction) -> int:
        # The same dimension shares and key ratings; only the total differs.
        met = [
            _level_check(level, total, shares, dimensions, key_ratings)["reached"]
            for level in framework.levels
        ]
        reached = level_after_vetoes(framework, level_reached(framework.levels, met), vetoes)
        return framework.levels.index(reached) if reached else -1

    assert rank(low) <= rank(high)


@EXAMPLES
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_order_of_ratings_never_changes_the_result(
    scenario: Scenario, rnd: random.Random
) -> None:
    framework, inputs, vetoes = scenario
    items = list(inputs.items())
    rnd.shuffle(items)
    shuffled = dict(items)

    assert score(framework, shuffled, vetoes) == score(framework, inputs, vetoes)
    assert inputs_sha256(framework, shuffled, vetoes) == inputs_sha256(framework, inputs, vetoes)


@EXAMPLES
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_the_order_of_the_assessors_never_changes_the_consolidated_rating(
    ratings: list[int], rnd: random.Random
) -> None:
    from assessments.models import Rating
    from assessments.selectors import consolidate
    from indicators.models import Indicator

    indicator = Indicator(pk=1, requirement_type="")
    shuffled = list(ratings)
    rnd.shuffle(shuffled)

    def mean(values: list[int]) -> Fraction | None:
        rows = [Rating(rating=v) for v in values]
        return consolidate(indicator=indicator, ratings=rows, settlement=None).rating

    assert mean(shuffled) == mean(ratings)


@EXAMPLES
@given(scenarios(), st.sampled_from([D("0.5"), D(2), D(3), D("7.25"), D(1000)]))
def test_weights_scaled_together_change_nothing(scenario: Scenario, factor: D) -> None:
    framework, inputs, vetoes = scenario
    scaled = FrameworkSpec(
        **{
            **framework.__dict__,
            "indicators": tuple(
                IndicatorSpec(**{**i.__dict__, "weight": _present(i.weight) * factor})
                for i in framework.indicators
            ),
        }
    )

    assert score(scaled, inputs, vetoes) == score(framework, inputs, vetoes)
