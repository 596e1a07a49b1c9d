"""Catalog fixtures: a small valid catalog to break one rule at a time, and the defaults."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml
from django.utils import translation

from indicators.models import Framework
from indicators.services import CATALOG_DIR, framework_import

COMPREHENSIVE_FILE = CATALOG_DIR / "comprehensive-model.yaml"
TRUSTED_FILE = CATALOG_DIR / "trusted-platform-model.yaml"


def _rubric(texts: list[str], anchors: list[float | None] | None = None) -> list[dict[str, Any]]:
    levels = []
    for rating, text in enumerate(texts):
        level: dict[str, Any] = {"rating": rating, "zh": f"{text}（中文）", "en": text}
        if anchors and anchors[rating] is not None:
            level["anchor"] = anchors[rating]
        levels.append(level)
    return levels


SMALL_CATALOG: dict[str, Any] = {
    "format": 1,
    "code": "small",
    "version": "1.0",
    "kind": "comprehensive",
    "name_zh": "小型测试指标体系",
    "name_en": "Small test framework",
    "provenance": "Written for the tests.",
    "total_weight": 100,
    "ratings": [
        {"rating": 0, "name_zh": "未达标", "name_en": "Not met"},
        {"rating": 1, "name_zh": "基础", "name_en": "Basic"},
        {"rating": 2, "name_zh": "先进", "name_en": "Advanced"},
        {"rating": 3, "name_zh": "卓越", "name_en": "Excellent"},
    ],
    "unrated_level": {"name_zh": "未达级", "name_en": "Not rated"},
    "dimensions": [
        {
            "code": "D1",
            "name_zh": "平台能力",
            "name_en": "Platform",
            "weight": 40,
            "indicators": [
                {
                    "code": "1.1",
                    "name_zh": "可用性",
                    "name_en": "Availability",
                    "weight": 25,
                    "key": True,
                    "evidence": ["T", "D"],
                    "quantity": {"unit": "%", "direction": "higher_is_better"},
                    "rubric": _rubric(
                        ["below", "99.5", "99.9", "99.95"], [None, 99.5, 99.9, 99.95]
                    ),
                },
                {
                    "code": "1.2",
                    "name_zh": "安全",
                    "name_en": "Security",
                    "weight": 15,
                    "evidence": ["D", "S"],
                    "rubric": _rubric(["none", "level 2", "level 3", "level 3 and SOC"]),
                },
            ],
        },
        {
            "code": "D2",
            "name_zh": "应用",
            "name_en": "Adoption",
            "weight": 60,
            "indicators": [
                {
                    "code": "2.1",
                    "name_zh": "部门上云率",
                    "name_en": "Departments on cloud",
                    "weight": 60,
                    "evidence": ["Q"],
                    "rubric": _rubric(["<50%", "50%", "70%", "85%"]),
                },
            ],
        },
    ],
    "levels": [
        {
            "code": "basic",
            "name_zh": "基础级",
            "name_en": "Basic",
            "min_total": 60,
            "min_key_rating": 1,
        },
        {
            "code": "advanced",
            "name_zh": "先进级",
            "name_en": "Advanced",
            "min_total": 75,
            "min_dimension_share": 0.6,
            "min_key_rating": 2,
        },
    ],
    "vetoes": [
        {
            "code": "incident",
            "description_zh": "重大安全事件",
            "description_en": "Incident",
            "cap_level": "basic",
        },
    ],
}


@pytest.fixture
def small_catalog() -> dict[str, Any]:
    """A fresh, valid comprehensive catalog to break one rule at a time."""
    return copy.deepcopy(SMALL_CATALOG)


def as_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English, whatever the compiled Chinese catalog says."""
    with translation.override("en"):
        yield


class ImportDoc(Protocol):
    """The ``import_doc`` fixture: imports a catalog document, published or as a draft."""

    def __call__(
        self, doc: dict[str, Any], *, publish: bool = ..., name: str = ...
    ) -> Framework: ...


@pytest.fixture
def import_doc(db: None) -> ImportDoc:
    def _import(
        doc: dict[str, Any], *, publish: bool = False, name: str = "small.yaml"
    ) -> Framework:
        return framework_import(
            source=as_yaml(doc), filename=name, acting_user=None, publish=publish
        ).framework

    return _import


@pytest.fixture
def comprehensive(db: None) -> Framework:
    """The default comprehensive catalog, published."""
    return framework_import(
        source=COMPREHENSIVE_FILE.read_bytes(),
        filename=COMPREHENSIVE_FILE.name,
        acting_user=None,
        publish=True,
    ).framework


@pytest.fixture
def trusted(db: None) -> Framework:
    """The default trusted-platform catalog, published."""
    return framework_import(
        source=TRUSTED_FILE.read_bytes(),
        filename=TRUSTED_FILE.name,
        acting_user=None,
        publish=True,
    ).framework


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
