"""The pure scoring function: the worked example of docs/scoring.md, and the rules one by one."""

from __future__ import annotations

from decimal import Decimal as D

from reports.scoring.engine import (
    DimensionSpec,
    FrameworkSpec,
    IndicatorInput,
    IndicatorSpec,
    LevelSpec,
    PassRuleSpec,
    VetoSpec,
    inputs_sha256,
    round_half_up,
    score,
)


def example_framework() -> FrameworkSpec:
    """The framework of the worked example in docs/scoring.md."""
    return FrameworkSpec(
        id=1,
        code="example",
        version="2025.1",
        kind="comprehensive",
        max_rating=3,
        total_weight=D(100),
        dimensions=(DimensionSpec("D1", "平台能力"), DimensionSpec("D2", "上云与应用")),
        indicators=(
            IndicatorSpec(11, "1.1", "D1", D(25), "稳定性与可用性", is_key=True),
            IndicatorSpec(12, "1.2", "D1", D(15), "安全防护能力", is_key=True),
            IndicatorSpec(
                21,
                "2.1",
                "D2",
                D(35),
                "部门上云率",
                is_key=True,
                interpolate=True,
                anchors=((1, D(50)), (2, D(70)), (3, D(85))),
            ),
            IndicatorSpec(22, "2.2", "D2", D(25), "数据开放"),
        ),
        levels=(
            LevelSpec("basic", D(60), None, 1, "基础级"),
            LevelSpec("advanced", D(75), D("0.6"), 2, "先进级"),
            LevelSpec("excellent", D(90), D("0.8"), 3, "卓越级"),
        ),
        vetoes=(VetoSpec("major-security-incident", "basic", "近12个月内发生重大网络安全事件"),),
        unrated_name_zh="未达级",
    )


def example_inputs() -> dict[int, IndicatorInput]:
    return {
        11: IndicatorInput(rating=D("2.50")),  # assessors: 2 and 3
        12: IndicatorInput(rating=D("2.00")),  # 2 and 2
        21: IndicatorInput(rating=D("2.00"), value=D("78")),  # 2 and 2; the vendor measured 78%
        22: IndicatorInput(rating=D("1"), settled=True),  # 1 and 3, settled by the lead at 1
    }


def test_it_reproduces_the_worked_example_of_the_documentation() -> None:
    breakdown = score(example_framework(), example_inputs())

    d1, d2 = breakdown["dimensions"]
    points = {row["code"]: row["points"] for d in (d1, d2) for row in d["indicators"]}
    assert points == {"1.1": D("20.83"), "1.2": D("10.00"), "2.1": D("29.56"), "2.2": D("8.33")}
    interpolation = d2["indicators"][0]["interpolation"]
    assert interpolation is not None and interpolation["applied"]
    assert interpolation["fraction"] == D("0.53")
    assert d2["indicators"][0]["scored_rating"] == D("2.53")
    assert (d1["points"], d1["share"]) == (D("30.83"), D("77.08"))
    assert (d2["points"], d2["share"]) == (D("37.89"), D("63.15"))
    assert breakdown["total"] == D("68.72")
    assert [lv["reached"] for lv in breakdown["levels"]] == [True, False, False]
    advanced = breakdown["levels"][1]["checks"]
    assert [(c["rule"], c["met"]) for c in advanced] == [
        ("min_total", False),
        ("min_dimension_share", True),
        ("min_key_rating", True),
    ]
    assert breakdown["level"] is not None and breakdown["level"]["name_zh"] == "基础级"


def test_a_veto_caps_the_level_it_names() -> None:
    inputs = {i: IndicatorInput(rating=D(3)) for i in (11, 12, 21, 22)}

    free = score(example_framework(), inputs)
    vetoed = score(example_framework(), inputs, {"major-security-incident"})

    assert free["level"] is not None and free["level"]["code"] == "excellent"
    before_veto = vetoed["level_before_veto"]
    assert before_veto is not None and before_veto["code"] == "excellent"
    assert vetoed["level"] is not None and vetoed["level"]["code"] == "basic"
    assert vetoed["vetoes"][0]["applies"] is True


def test_a_key_indicator_rated_zero_leaves_the_result_unrated() -> None:
    inputs = {i: IndicatorInput(rating=D(3)) for i in (11, 21, 22)}
    inputs[12] = IndicatorInput(rating=D(0))

    breakdown = score(example_framework(), inputs)

    assert breakdown["total"] == D("85.00")
    assert breakdown["level"] is None
    basic = breakdown["levels"][0]["checks"]
    assert basic[1]["rule"] == "min_key_rating" and basic[1]["missed_by"] == ["1.2"]


def test_a_measured_value_outside_the_confirmed_step_adds_nothing() -> None:
    inputs = example_inputs()
    inputs[21] = IndicatorInput(rating=D(2), value=D(90))  # claims step 3; assessors said 2

    row = score(example_framework(), inputs)["dimensions"][1]["indicators"][0]

    assert row["interpolation"] is not None
    assert row["interpolation"]["reason"] == "outside_step"
    assert row["scored_rating"] == D("2.00")


def test_lower_is_better_anchors_interpolate_the_other_way() -> None:
    framework = FrameworkSpec(
        id=2,
        code="hours",
        version="1",
        kind="comprehensive",
        max_rating=3,
        total_weight=D(100),
        dimensions=(DimensionSpec("D"),),
        indicators=(
            IndicatorSpec(
                1,
                "1",
                "D",
                D(100),
                interpolate=True,
                anchors=((1, D(120)), (2, D(24)), (3, D(2))),
            ),
        ),
    )

    row = score(framework, {1: IndicatorInput(rating=D(2), value=D(13))})["dimensions"][0][
        "indicators"
    ][0]

    assert row["scored_rating"] == D("2.50")  # 13 h is half-way from 24 h to 2 h


def test_rounding_is_half_up_to_two_places() -> None:
    from fractions import Fraction

    assert round_half_up(Fraction("2.345")) == D("2.35")
    assert round_half_up(Fraction("2.3449999")) == D("2.34")
    assert round_half_up(Fraction(1, 3)) == D("0.33")
    assert round_half_up(Fraction(2, 3)) == D("0.67")
    assert str(round_half_up(Fraction(0))) == "0.00"


def trusted_framework() -> FrameworkSpec:
    return FrameworkSpec(
        id=3,
        code="trusted",
        version="1",
        kind="trusted_platform",
        max_rating=3,
        total_weight=None,
        dimensions=(DimensionSpec("1"), DimensionSpec("2")),
        indicators=(
            IndicatorSpec(1, "1.1", "1", None, requirement_type="M"),
            IndicatorSpec(2, "1.2", "1", None, requirement_type="M"),
            IndicatorSpec(3, "2.1", "2", None, requirement_type="G"),
            IndicatorSpec(4, "2.2", "2", None, requirement_type="G"),
            IndicatorSpec(5, "2.3", "2", None, requirement_type="G"),
        ),
        pass_rule=PassRuleSpec(min_graded_share=D("0.7"), validity_months=36),
    )


def test_a_trusted_platform_passes_with_every_gate_met_and_enough_graded_items() -> None:
    inputs = {
        1: IndicatorInput(met=True),
        2: IndicatorInput(met=True),
        3: IndicatorInput(rating=D(1)),
        4: IndicatorInput(rating=D(2)),
        5: IndicatorInput(rating=D("0.50")),
    }

    check = score(trusted_framework(), inputs)["pass_check"]

    assert check is not None
    assert check["graded_share"] == D("66.67") and check["required_share"] == D("70.0")
    assert check["passed"] is False and check["graded_met"] is False
    inputs[5] = IndicatorInput(rating=D(1))
    check = score(trusted_framework(), inputs)["pass_check"]
    assert check is not None and check["passed"] is True


def test_a_trusted_platform_fails_on_a_mandatory_item_and_names_it() -> None:
    inputs = {1: IndicatorInput(met=False), 3: IndicatorInput(rating=D(3))}

    breakdown = score(trusted_framework(), inputs)

    check = breakdown["pass_check"]
    assert check is not None and check["passed"] is False
    assert check["mandatory_not_met"] == ["1.1"]
    assert check["mandatory_undecided"] == ["1.2"]
    assert breakdown["total"] is None
    assert breakdown["dimensions"][0]["share"] == D("0.00")


def test_the_input_hash_ignores_order_and_notation_but_not_values() -> None:
    framework = example_framework()
    inputs = example_inputs()
    reordered = dict(reversed(list(inputs.items())))
    renotated = {**inputs, 12: IndicatorInput(rating=D("2"))}

    assert inputs_sha256(framework, inputs) == inputs_sha256(framework, reordered)
    assert inputs_sha256(framework, inputs) == inputs_sha256(framework, renotated)
    changed = {**inputs, 12: IndicatorInput(rating=D("2.50"))}
    assert inputs_sha256(framework, inputs) != inputs_sha256(framework, changed)
    assert inputs_sha256(framework, inputs) != inputs_sha256(
        framework, inputs, {"major-security-incident"}
    )
