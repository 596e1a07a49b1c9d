"""The open data of a published ranking version: a JSON document and a CSV of stable columns,
both language-neutral (Chinese and English names side by side), with the framework version and
the scoring rules the list was computed with. Documented in docs/open-data.md; the JSON Schema
(draft 2020-12) is ``open_data_schema.json`` beside this module, served unchanged at
``/rankings/open-data/schema.json``, and every document this module makes validates against it.

Like the other exports (``reports.rankings.exports``) it reads the snapshot as the public pages
may read it (``snapshot.public_view``) and keeps to the public form: a list published without
scores says nothing of them, whatever its snapshot holds: no position, tie mark, total,
dimension points or shares, verification code or previous position, neither in the JSON (the
keys are absent, and the schema refuses them) nor in the CSV (the columns stay, empty).

The framework's rules (level thresholds, dimension weights, vetoes, the trusted-platform pass
rule) are read from the framework version the snapshot names: a published framework version
never changes, so the file, rendered once by a worker, stays true.

Stability: ``SCHEMA_VERSION`` is "MAJOR.MINOR". A new optional field raises the minor number; a
removed or renamed field, or a changed meaning, raises the major number and the schema's URL
(``/rankings/open-data/v2/schema.json``). ``CSV_COLUMNS`` only ever grows at its end within a
major version.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from govcloud_eval.listing import csv_safe
from indicators.models import Framework

from .models import Ranking
from .snapshot import LevelName, Snapshot, SnapshotEntry, shows_scores

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("open_data_schema.json")
# The schema's own identifier: the same on every deployment (its URL depends on the host).
SCHEMA_ID = "urn:govcloud-eval:ranking-open-data:1"

# The CSV's columns, in order, whatever the list shows: a score column of a list published
# without scores is empty. See docs/open-data.md.
CSV_COLUMNS: tuple[str, ...] = (
    "schema_version",
    "year",
    "slug",
    "version",
    "kind",
    "state",
    "published_at",
    "framework_code",
    "framework_version",
    "public_form",
    "scores_shown",
    "min_level",
    "tie_break",
    "level_rules",
    "dimension_weights",
    "group_type",
    "group",
    "quota",
    "position",
    "tied",
    "total",
    "dimension_points",
    "verification_code",
    "cloud",
    "cloud_en",
    "owner",
    "division_code",
    "level_code",
    "level_name_zh",
    "level_name_en",
    "vendors",
    "listed_years",
    "previous_position",
)


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the document, as committed (and served)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema_bytes() -> bytes:
    return SCHEMA_PATH.read_bytes()


def _absolute(path: str) -> str:
    base = str(getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{path}"


def _level(level: LevelName | None) -> dict[str, Any] | None:
    if not level:
        return None
    return {
        "code": level["code"],
        "name_zh": level.get("name_zh", ""),
        "name_en": level.get("name_en", ""),
        "rank": int(level.get("rank", 0)),
    }


def _decimal(value: Any) -> str | None:
    """A figure as the text of a decimal number (exact, as published): "92.50"."""
    if value is None or value == "":
        return None
    return str(Decimal(str(value)))


def framework_rules(code: str, version: str) -> dict[str, Any]:
    """The framework version a list was computed with and its scoring rules: four queries."""
    framework = (
        Framework.objects.prefetch_related("dimensions", "levels", "vetoes__cap_level")
        .select_related("pass_rule")
        .get(code=code, version=version)
    )
    levels = sorted(framework.levels.all(), key=lambda lv: lv.order)
    pass_rule = getattr(framework, "pass_rule", None)
    return {
        "code": framework.code,
        "version": framework.version,
        "kind": framework.kind,
        "name_zh": framework.name_zh,
        "name_en": framework.name_en,
        "max_rating": framework.max_rating,
        "total_weight": _decimal(framework.total_weight),
        "dimensions": [
            {
                "code": d.code,
                "name_zh": d.name_zh,
                "name_en": d.name_en,
                "weight": _decimal(d.weight),
            }
            for d in sorted(framework.dimensions.all(), key=lambda d: d.order)
        ],
        "levels": [
            {
                "code": lv.code,
                "name_zh": lv.name_zh,
                "name_en": lv.name_en,
                "rank": rank,
                "min_total": _decimal(lv.min_total),
                "min_dimension_share": _decimal(lv.min_dimension_share),
                "min_key_rating": lv.min_key_rating,
            }
            for rank, lv in enumerate(levels)
        ],
        "unrated_name_zh": framework.unrated_name_zh,
        "unrated_name_en": framework.unrated_name_en,
        "vetoes": [
            {
                "code": v.code,
                "description_zh": v.description_zh,
                "description_en": v.description_en,
                "cap_level": v.cap_level.code if v.cap_level else None,
            }
            for v in sorted(framework.vetoes.all(), key=lambda v: (v.order, v.code))
        ],
        "pass_rule": {
            "require_all_mandatory": pass_rule.require_all_mandatory,
            "min_graded_share": _decimal(pass_rule.min_graded_share),
            "min_graded_rating": pass_rule.min_graded_rating,
            "validity_months": pass_rule.validity_months,
        }
        if pass_rule is not None
        else None,
    }


def _entry(entry: SnapshotEntry, *, ranked: bool, compared: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "cloud": entry["cloud"],
        "cloud_en": entry.get("cloud_en", ""),
        "owner": entry.get("owner", ""),
        "division_code": entry.get("division_code", ""),
        "pool": entry.get("pool") or None,
        "level": _level(entry.get("level")),
        "vendors": list(entry.get("vendors", [])),
        "listed_years": entry.get("listed_years") or 1,
    }
    if ranked:
        old = entry.get("previous_year") if compared else None
        found.update(
            {
                "position": entry.get("position"),
                "tied": bool(entry.get("tied")),
                "total": _decimal(entry.get("total")),
                "dimension_scores": [
                    {
                        "code": d["code"],
                        "points": _decimal(d.get("points")),
                        "share": _decimal(d.get("share")),
                    }
                    for d in entry.get("dimensions", [])
                ],
                "verification_code": entry.get("verification_code") or None,
                "previous_position": old.get("position") if old else None,
            }
        )
    return found


def document(ranking: Ranking, view: Snapshot) -> dict[str, Any]:
    """The open-data document of published version ``ranking`` (``view``: its public view)."""
    ranked = shows_scores(view)
    previous = view.get("previous_year")
    compared = ranked and previous is not None and previous.get("public_form") == "ranked"
    framework = view["framework"]
    notice = view.get("notice")
    year, slug, version = view["year"], ranking.slug, view["version"]
    return {
        "$schema": _absolute(reverse("rankings:open_data_schema")),
        "schema_version": SCHEMA_VERSION,
        "ranking": {
            "title_zh": view["title"],
            "title_en": view.get("title_en", ""),
            "campaign": view.get("campaign", {}).get("name", ""),
            "kind": view["kind"],
            "year": year,
            "slug": slug,
            "version": version,
            "state": ranking.state,
            "published_at": view["published_at"],
            "demo": bool(view.get("demo")),
            "public_form": view.get("public_form", ""),
            "scores_shown": ranked,
            "notice": {"starts_on": notice["starts_on"], "ends_on": notice["ends_on"]}
            if notice
            else None,
            "snapshot_sha256": ranking.snapshot_sha256,
            "url": _absolute(reverse("rankings:public_version", args=[year, slug, version])),
            "previous_edition": {
                "year": previous["year"],
                "slug": previous["slug"],
                "version": previous["version"],
                "scores_shown": previous.get("public_form") == "ranked",
            }
            if previous
            else None,
        },
        "framework": framework_rules(framework["code"], framework["version"]),
        "rules": {
            "min_level": _level(view.get("min_level")),
            "quotas": {str(k): int(v) for k, v in view.get("quotas", {}).items()},
            "tie_break": list(view.get("tie_break", [])),
            "order": "ranked" if ranked else "grouped",
        },
        "pools": [
            {
                "code": pool["code"],
                "quota": int(pool["quota"]),
                "entries": [_entry(e, ranked=ranked, compared=compared) for e in pool["entries"]],
            }
            for pool in view.get("pools", [])
        ],
        "awards": [
            {
                "vendor": award["vendor"],
                "entries": [_entry(e, ranked=ranked, compared=compared) for e in award["entries"]],
            }
            for award in view.get("awards", [])
        ],
        "listed": int(view.get("listed", 0)),
    }


def json_bytes(ranking: Ranking, view: Snapshot) -> bytes:
    """The document as UTF-8 JSON (indented, keys in a fixed order: the same bytes every time)."""
    text = json.dumps(document(ranking, view), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


def _joined(pairs: list[tuple[str, str | None]]) -> str:
    return ";".join(f"{code}={value}" for code, value in pairs if value is not None)


def csv_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row a listed entry (a cloud listed under two vendors' awards is two rows), each with
    every column of ``CSV_COLUMNS``."""
    head, framework, rules = doc["ranking"], doc["framework"], doc["rules"]
    common: dict[str, Any] = {
        "schema_version": doc["schema_version"],
        "year": head["year"],
        "slug": head["slug"],
        "version": head["version"],
        "kind": head["kind"],
        "state": head["state"],
        "published_at": head["published_at"],
        "framework_code": framework["code"],
        "framework_version": framework["version"],
        "public_form": head["public_form"],
        "scores_shown": "true" if head["scores_shown"] else "false",
        "min_level": rules["min_level"]["code"] if rules["min_level"] else "",
        "tie_break": ";".join(rules["tie_break"]),
        "level_rules": _joined([(lv["code"], lv["min_total"]) for lv in framework["levels"]]),
        "dimension_weights": _joined([(d["code"], d["weight"]) for d in framework["dimensions"]]),
    }
    groups: list[tuple[str, str, Any, list[dict[str, Any]]]] = [
        ("pool", pool["code"], pool["quota"], pool["entries"]) for pool in doc["pools"]
    ] + [("award", award["vendor"], "", award["entries"]) for award in doc["awards"]]
    rows = []
    for group_type, group, quota, entries in groups:
        for e in entries:
            level = e["level"] or {}
            tied = e.get("tied")
            rows.append(
                {
                    **common,
                    "group_type": group_type,
                    "group": group,
                    "quota": quota,
                    "position": e.get("position"),
                    "tied": "" if tied is None else ("true" if tied else "false"),
                    "total": e.get("total"),
                    "dimension_points": _joined(
                        [(d["code"], d["points"]) for d in e.get("dimension_scores", [])]
                    ),
                    "verification_code": e.get("verification_code"),
                    "cloud": e["cloud"],
                    "cloud_en": e["cloud_en"],
                    "owner": e["owner"],
                    "division_code": e["division_code"],
                    "level_code": level.get("code", ""),
                    "level_name_zh": level.get("name_zh", ""),
                    "level_name_en": level.get("name_en", ""),
                    "vendors": ";".join(e["vendors"]),
                    "listed_years": e["listed_years"],
                    "previous_position": e.get("previous_position"),
                }
            )
    return rows


def csv_bytes(ranking: Ranking, view: Snapshot) -> bytes:
    """The CSV of ``CSV_COLUMNS``: UTF-8 with a byte-order mark (Excel then reads the Chinese
    names right; read it as ``utf-8-sig``), a text that starts like a formula quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(document(ranking, view)):
        values = [row[c] for c in CSV_COLUMNS]
        writer.writerow(
            ["" if v is None else csv_safe(v) if isinstance(v, str) else str(v) for v in values]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
