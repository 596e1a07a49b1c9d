"""How long a certified report is valid: ``report_validity_months`` of the catalog format, its
defaults for each kind of framework, its bound by the pass rule, and the content hash."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from indicators.catalog import CatalogInvalid, catalog_parse, content_sha256, document_dump
from indicators.models import Framework
from indicators.services import framework_import

from .conftest import COMPREHENSIVE_FILE, TRUSTED_FILE, ImportDoc, as_yaml

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _trusted(small_catalog: dict[str, Any], *, pass_months: int) -> dict[str, Any]:
    """The small catalog turned into a trusted-platform framework with a pass rule."""
    doc = {**small_catalog, "kind": "trusted_platform", "total_weight": None, "levels": []}
    doc["vetoes"] = []
    for dimension in doc["dimensions"]:
        dimension.pop("weight", None)
        for indicator in dimension["indicators"]:
            indicator.pop("weight", None)
            indicator.pop("key", None)
            indicator["type"] = "G"
    doc["pass_rule"] = {"min_graded_share": 0.7, "validity_months": pass_months}
    return doc


def test_a_comprehensive_report_is_valid_12_months_unless_the_catalog_says_otherwise(
    small_catalog: dict[str, Any], import_doc: ImportDoc
) -> None:
    assert catalog_parse(as_yaml(small_catalog), filename="a.yaml")["report_validity_months"] == 12
    assert import_doc(small_catalog).report_validity_months == 12

    small_catalog["report_validity_months"] = 24
    assert import_doc(small_catalog, name="b.yaml").report_validity_months == 24


def test_a_trusted_platform_report_is_valid_as_long_as_the_pass_by_default(
    small_catalog: dict[str, Any], import_doc: ImportDoc
) -> None:
    framework = import_doc(_trusted(small_catalog, pass_months=36))
    assert framework.report_validity_months == 36


def test_a_trusted_platform_report_may_be_valid_shorter_than_the_pass_but_never_longer(
    small_catalog: dict[str, Any], import_doc: ImportDoc
) -> None:
    shorter = _trusted(small_catalog, pass_months=36)
    shorter["report_validity_months"] = 12
    assert import_doc(shorter).report_validity_months == 12

    longer = _trusted(small_catalog, pass_months=24)
    longer["report_validity_months"] = 36
    with pytest.raises(CatalogInvalid) as caught:
        catalog_parse(as_yaml(longer), filename="longer.yaml")
    (error,) = [str(e) for e in caught.value.errors]
    assert error.startswith("longer.yaml: report_validity_months: 36 months is longer than")
    assert "pass_rule.validity_months: 24" in error


@pytest.mark.parametrize("months", [0, 241, "twelve"])
def test_it_rejects_a_validity_outside_1_to_240_months(
    small_catalog: dict[str, Any], months: Any
) -> None:
    small_catalog["report_validity_months"] = months
    with pytest.raises(CatalogInvalid) as caught:
        catalog_parse(as_yaml(small_catalog), filename="v.yaml")
    assert [str(e) for e in caught.value.errors][0].startswith("v.yaml: report_validity_months:")


def test_a_validity_at_its_default_does_not_change_the_content_hash(
    small_catalog: dict[str, Any],
) -> None:
    """Catalogs imported before the key existed keep their hash: importing their file again
    is still a no-op."""
    without = content_sha256(catalog_parse(as_yaml(small_catalog), filename="a.yaml"))
    small_catalog["report_validity_months"] = 12
    at_default = content_sha256(catalog_parse(as_yaml(small_catalog), filename="a.yaml"))
    small_catalog["report_validity_months"] = 18
    changed = content_sha256(catalog_parse(as_yaml(small_catalog), filename="a.yaml"))
    assert without == at_default != changed


def test_the_validity_survives_an_export_and_an_import(
    small_catalog: dict[str, Any], import_doc: ImportDoc
) -> None:
    from indicators.catalog import framework_document

    small_catalog["report_validity_months"] = 18
    framework = import_doc(small_catalog, publish=True)
    exported = document_dump(framework_document(framework))
    assert "report_validity_months: 18" in exported
    again = framework_import(source=exported, filename="export.yaml", acting_user=None)
    assert again.outcome == "unchanged"


def test_the_default_catalogs_say_how_long_their_reports_are_valid(
    comprehensive: Framework, trusted: Framework
) -> None:
    assert comprehensive.report_validity_months == 12
    assert trusted.report_validity_months == trusted.pass_rule.validity_months == 36
    # Both files name it at its default: they hash as they did before the key existed.
    for path in (COMPREHENSIVE_FILE, TRUSTED_FILE):
        assert "report_validity_months:" in path.read_text(encoding="utf-8")
        again = framework_import(source=path.read_bytes(), filename=path.name, acting_user=None)
        assert again.outcome == "unchanged"


def test_the_migration_gives_stored_trusted_frameworks_the_validity_of_their_pass(
    trusted: Framework, comprehensive: Framework
) -> None:
    migration = importlib.import_module(
        "indicators.migrations.0002_framework_report_validity_months"
    )
    Framework.objects.update(report_validity_months=12)  # as the new column leaves them

    migration.fill_from_pass_rules(apps, None)

    trusted.refresh_from_db()
    comprehensive.refresh_from_db()
    assert trusted.report_validity_months == 36
    assert comprehensive.report_validity_months == 12
