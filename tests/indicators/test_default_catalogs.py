"""The two catalogs shipped with the portal, as DOMAIN.md describes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from indicators.models import Framework, Indicator

pytestmark = pytest.mark.django_db


def _weight(indicator: Indicator) -> Decimal:
    assert indicator.weight is not None, f"indicator {indicator.code} carries no weight"
    return indicator.weight


def test_the_comprehensive_model_has_4_dimensions_20_indicators_and_weights_of_100(
    comprehensive: Framework,
) -> None:
    dimensions = list(comprehensive.dimensions.all())
    assert [(d.code, d.name_zh, d.weight) for d in dimensions] == [
        ("D1", "平台能力", 25),
        ("D2", "上云与应用", 30),
        ("D3", "管理与政策保障", 20),
        ("D4", "经济与发展成效", 25),
    ]
    indicators = Indicator.objects.filter(framework=comprehensive)
    assert indicators.count() == 20
    assert sum(_weight(i) for i in indicators) == Decimal(100)
    for dimension in dimensions:
        assert sum(_weight(i) for i in dimension.indicators.all()) == dimension.weight
    assert sorted(i.code for i in indicators if i.is_key) == ["1.2", "1.3", "2.1", "2.2"]
    assert all(i.rubric.count() == 4 for i in indicators)


def test_the_comprehensive_model_has_three_levels_unrated_and_the_security_veto(
    comprehensive: Framework,
) -> None:
    levels = list(comprehensive.levels.all())
    assert [
        (lv.name_zh, lv.min_total, lv.min_dimension_share, lv.min_key_rating) for lv in levels
    ] == [
        ("基础级", 60, None, 1),
        ("先进级", 75, Decimal("0.600"), 2),
        ("卓越级", 90, Decimal("0.800"), 3),
    ]
    assert comprehensive.unrated_name_zh == "未达级"
    veto = comprehensive.vetoes.get()
    assert "重大网络安全事件" in veto.description_zh
    assert veto.cap_level is not None
    assert veto.cap_level.name_zh == "基础级"


def test_the_comprehensive_model_keeps_the_anchors_of_domain_md(comprehensive: Framework) -> None:
    departments = Indicator.objects.get(framework=comprehensive, code="2.1")
    assert [r.anchor for r in departments.rubric.all()][1:] == [50, 70, 85]
    assert departments.interpolate
    provisioning = Indicator.objects.get(framework=comprehensive, code="1.4")
    assert provisioning.direction == Indicator.Direction.LOWER_IS_BETTER
    assert Indicator.objects.get(framework=comprehensive, code="4.3").evidence_methods == [
        "D",
        "T",
        "U",
    ]


def test_the_trusted_platform_model_has_9_domains_typed_items_and_the_pass_rule(
    trusted: Framework,
) -> None:
    assert trusted.dimensions.count() == 9
    assert trusted.total_weight is None
    items = Indicator.objects.filter(framework=trusted)
    assert {i.requirement_type for i in items} == {"M", "G"}
    assert all(i.weight is None for i in items)
    for item in items:
        expected = 2 if item.is_mandatory else 4
        assert item.rubric.count() == expected, item.code
    security = trusted.dimensions.get(code="5")
    assert security.indicators.filter(requirement_type="M").count() == 11
    assert security.indicators.filter(requirement_type="G").count() == 11
    rule = trusted.pass_rule
    assert rule.require_all_mandatory and rule.min_graded_share == Decimal("0.700")
    assert rule.min_graded_rating == 1 and rule.validity_months > 0


@pytest.mark.parametrize("fixture", ["comprehensive", "trusted"])
def test_both_defaults_say_they_are_a_model_not_the_official_text(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    framework: Framework = request.getfixturevalue(fixture)
    assert "A model built from public facts, not the official text" in framework.provenance
    assert "并非官方" in framework.provenance
    assert framework.state == Framework.State.PUBLISHED
