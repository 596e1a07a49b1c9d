"""One broken file per rule: the error names the file, the path and the problem, and nothing is
written."""

from __future__ import annotations

from typing import Any

import pytest

from indicators.catalog import CatalogInvalid, catalog_parse
from indicators.models import Dimension, Framework, Indicator, RubricLevel
from indicators.services import framework_import

from .conftest import as_yaml

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _errors_of(doc: Any, filename: str = "broken.yaml") -> list[str]:
    source = doc if isinstance(doc, str) else as_yaml(doc)
    with pytest.raises(CatalogInvalid) as caught:
        framework_import(source=source, filename=filename, acting_user=None)
    assert Framework.objects.count() == 0
    assert (
        Dimension.objects.count() == Indicator.objects.count() == RubricLevel.objects.count() == 0
    )
    return [str(error) for error in caught.value.errors]


def _assert_one_error_containing(errors: list[str], *fragments: str) -> None:
    matching = [e for e in errors if all(f in e for f in fragments)]
    assert matching, f"no error contains {fragments!r}: {errors!r}"


def test_the_small_catalog_is_valid(small_catalog: dict) -> None:
    doc = catalog_parse(as_yaml(small_catalog), filename="small.yaml")
    assert doc["code"] == "small"


def test_it_names_file_path_and_problem_when_indicator_weights_miss_the_total(
    small_catalog: dict,
) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = 50
    errors = _errors_of(small_catalog, "weights.yaml")
    _assert_one_error_containing(
        errors, "weights.yaml: total_weight:", "indicator weights sum to 90", "total_weight is 100"
    )


def test_it_rejects_a_dimension_whose_indicators_miss_its_declared_weight(
    small_catalog: dict,
) -> None:
    small_catalog["dimensions"][0]["indicators"][1]["weight"] = 10
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = 65
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "broken.yaml: dimensions[0].weight:", "dimension D1 weigh 35", "declares 40"
    )


def test_it_rejects_dimension_weights_that_miss_the_total(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["weight"] = 50
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "broken.yaml: dimensions:", "dimension weights sum to 90", "total_weight is 100"
    )
    _assert_one_error_containing(errors, "dimensions[1].weight:", "declares 50")


def test_it_rejects_an_indicator_without_a_weight_in_a_weighted_framework(
    small_catalog: dict,
) -> None:
    del small_catalog["dimensions"][0]["indicators"][1]["weight"]
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "dimensions[0].indicators[1].weight:", "indicator 1.2 needs a weight"
    )


def test_it_rejects_duplicate_indicator_codes(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["code"] = "1.1"
    errors = _errors_of(small_catalog)
    assert errors == ["broken.yaml: dimensions[1].indicators[0].code: duplicate code 1.1"]


def test_it_rejects_duplicate_dimension_and_level_codes(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["code"] = "D1"
    small_catalog["levels"][1]["code"] = "basic"
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "dimensions[1].code:", "duplicate code D1")
    _assert_one_error_containing(errors, "levels[1].code:", "duplicate code basic")


def test_it_rejects_a_rubric_missing_a_rating(small_catalog: dict) -> None:
    del small_catalog["dimensions"][0]["indicators"][1]["rubric"][3]
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors,
        "dimensions[0].indicators[1].rubric:",
        "must have exactly the ratings 0, 1, 2, 3, found 0, 1, 2",
    )


def test_it_rejects_a_rubric_with_a_rating_twice(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["rubric"][2]["rating"] = 1
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "dimensions[1].indicators[0].rubric:", "found 0, 1, 1, 3")


def test_it_follows_a_declared_highest_rating(small_catalog: dict) -> None:
    small_catalog["max_rating"] = 4
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "ratings:", "exactly the ratings 0, 1, 2, 3, 4")
    _assert_one_error_containing(errors, "indicators[0].rubric:", "0, 1, 2, 3, 4")


def test_it_rejects_level_thresholds_that_are_not_monotonic(small_catalog: dict) -> None:
    small_catalog["levels"][1]["min_total"] = 55
    small_catalog["levels"][1]["min_key_rating"] = 0
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "levels[1].min_total:", "min_total of level advanced (55) is not above", "(60)"
    )
    _assert_one_error_containing(errors, "levels[1].min_key_rating:", "is below")


def test_it_rejects_an_unknown_evidence_method(small_catalog: dict) -> None:
    small_catalog["dimensions"][0]["indicators"][0]["evidence"] = ["T", "X"]
    errors = _errors_of(small_catalog)
    assert errors == [
        'broken.yaml: dimensions[0].indicators[0].evidence[1]: unknown evidence method "X"; '
        "use one of Q, D, S, T, I, U"
    ]


def test_it_rejects_an_unknown_key_and_names_it(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["weigth"] = 3
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "dimensions[1].indicators[0].weigth:", "unknown key weigth", "allowed keys are"
    )


def test_it_rejects_a_wrong_type_at_the_path_of_the_example(small_catalog: dict) -> None:
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = "sixty"
    errors = _errors_of(small_catalog)
    assert errors == [
        "broken.yaml: dimensions[1].indicators[0].weight: wrong type: expected a number, "
        'got "sixty"'
    ]


def test_it_suggests_quotes_for_a_code_yaml_reads_as_a_number(small_catalog: dict) -> None:
    small_catalog["dimensions"][0]["indicators"][0]["code"] = 1.1
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "dimensions[0].indicators[0].code:", "expected text", "(put it in quotes)"
    )


def test_it_rejects_a_missing_required_key(small_catalog: dict) -> None:
    del small_catalog["dimensions"][0]["name_zh"]
    errors = _errors_of(small_catalog)
    assert errors == ["broken.yaml: dimensions[0].name_zh: required key name_zh is missing"]


def test_it_collects_every_error_not_only_the_first(small_catalog: dict) -> None:
    small_catalog["dimensions"][0]["indicators"][0]["evidence"] = ["X"]
    small_catalog["dimensions"][1]["indicators"][0]["weight"] = "many"
    small_catalog["levels"][0]["colour"] = "red"
    errors = _errors_of(small_catalog)
    assert len(errors) == 3


def test_it_rejects_anchors_that_do_not_improve_in_the_declared_direction(
    small_catalog: dict,
) -> None:
    small_catalog["dimensions"][0]["indicators"][0]["quantity"]["direction"] = "lower_is_better"
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(
        errors, "dimensions[0].indicators[0].rubric[2].anchor:", "must be lower than"
    )


def test_it_rejects_a_quantitative_indicator_without_anchors(small_catalog: dict) -> None:
    del small_catalog["dimensions"][0]["indicators"][0]["rubric"][3]["anchor"]
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "rubric[3].anchor:", "needs an anchor for rating 3")


def test_it_rejects_a_veto_capping_at_an_unknown_level(small_catalog: dict) -> None:
    small_catalog["vetoes"][0]["cap_level"] = "gold"
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "vetoes[0].cap_level:", "gold is not the code of a level")


def test_it_rejects_a_comprehensive_framework_with_requirement_types(small_catalog: dict) -> None:
    small_catalog["dimensions"][0]["indicators"][0]["type"] = "M"
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "indicators[0].type:", "only trusted-platform")


def test_it_requires_a_pass_rule_and_types_for_a_trusted_platform_framework(
    small_catalog: dict,
) -> None:
    small_catalog["kind"] = "trusted_platform"
    errors = _errors_of(small_catalog)
    _assert_one_error_containing(errors, "broken.yaml: pass_rule:", "needs a pass rule")
    _assert_one_error_containing(errors, "indicators[0].type:", "requirement 1.1 needs a type")


def test_it_reports_yaml_syntax_errors_with_the_line() -> None:
    errors = _errors_of("code: x\n  bad: [\n", "syntax.yaml")
    assert len(errors) == 1
    assert errors[0].startswith("syntax.yaml: line ")
    assert "not valid YAML" in errors[0]


def test_it_rejects_a_key_given_twice_which_yaml_would_silently_drop() -> None:
    errors = _errors_of("code: a\ncode: b\n")
    assert "duplicate key 'code'" in errors[0]


def _laughs(levels: int) -> str:
    """The "billion laughs": each level an alias list of ten of the level before it."""
    lines = ["code: laughs", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_it_refuses_anchors_expanding_to_billions_of_values_without_expanding_them() -> None:
    source = _laughs(10)  # 5 × 10⁹ strings from a file of under 1 KB
    assert len(source.encode()) < 1024
    errors = _errors_of(source, "laughs.yaml")
    assert len(errors) == 1
    assert errors[0].startswith("laughs.yaml: (top level): the document expands to more than")
    assert "anchors and aliases" in errors[0]


def test_a_few_anchors_and_aliases_are_still_fine() -> None:
    from indicators.catalog import _load_yaml

    doc = _load_yaml(_laughs(3), "a.yaml")  # 500 values: read as YAML always read them
    assert doc["a2"][9][9] == ["lol"] * 5


def test_it_rejects_a_file_that_is_not_a_mapping() -> None:
    errors = _errors_of("- just\n- a list\n")
    assert errors == ["broken.yaml: (top level): the file must hold one YAML mapping"]


def test_it_rejects_a_file_that_is_not_utf8() -> None:
    with pytest.raises(CatalogInvalid) as caught:
        framework_import(source="名称".encode("gbk"), filename="gbk.yaml", acting_user=None)
    assert "not UTF-8" in str(caught.value.errors[0])
    assert Framework.objects.count() == 0
