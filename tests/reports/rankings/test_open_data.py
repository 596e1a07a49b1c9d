"""The open data of a published ranking (docs/open-data.md): a JSON document and a CSV of
stable columns, rendered once by the worker's task like the other files, language-neutral,
with the framework version and scoring rules the list was computed with; a JSON Schema served
at a stable public address that every document validates against; a list published without
scores exposes none of them here either."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks

from accounts.models import User
from indicators.models import Framework
from reports.models import Ranking, RankingExport, ScoreResult
from reports.rankings import open_data, services
from reports.rankings.tasks import ranking_exports_render_task

from .test_public_rankings import fill
from .test_rankings import add_cloud, make_campaign, publish

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/rankings/open-data/schema.json"
DOC = Path(settings.BASE_DIR) / "docs" / "open-data.md"
SCORE_KEYS = {
    "position",
    "tied",
    "total",
    "dimension_scores",
    "verification_code",
    "previous_position",
}
SCORE_COLUMNS = ("position", "tied", "total", "dimension_points", "verification_code")


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions whose rendering was sent to the workers (test double of the broker)."""
    sent: list[int] = []
    monkeypatch.setattr(ranking_exports_render_task, "delay", sent.append)
    return sent


@pytest.fixture
def ranked(
    admin: User,
    comprehensive: Framework,
    queued: list[int],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Ranking:
    """A ranked list of 2026, its files rendered by the task the publication queued."""
    with django_capture_on_commit_callbacks(execute=True):
        ranking = publish(
            fill(make_campaign(admin, comprehensive, 2026), 7, 5),
            admin,
            quotas={"provincial": 6, "municipal": 4},
            public_form=Ranking.PublicForm.RANKED,
        )
    assert queued == [ranking.pk]
    assert ranking_exports_render_task.apply(args=(ranking.pk,)).get() == {"ready": 8}
    return ranking


@pytest.fixture
def grouped(admin: User, comprehensive: Framework, queued: list[int]) -> Ranking:
    """A list of 2025 published without scores (the default form), its files rendered."""
    ranking = publish(fill(make_campaign(admin, comprehensive, 2025), 7, 5), admin)
    assert ranking.public_form == Ranking.PublicForm.GROUPED
    assert ranking_exports_render_task.apply(args=(ranking.pk,)).get() == {"ready": 8}
    return ranking


def url(ranking: Ranking, fmt: str) -> str:
    return reverse("rankings:export", args=[ranking.year, ranking.slug, ranking.version, fmt])


def get(path: str, language: str = "zh-hans") -> Any:
    client = Client()
    client.cookies["django_language"] = language
    return client.get(path)


def served_schema() -> dict[str, Any]:
    response = get(SCHEMA_URL)
    assert response.status_code == 200
    loaded: dict[str, Any] = json.loads(response.content)
    return loaded


def served_json(ranking: Ranking) -> dict[str, Any]:
    response = get(url(ranking, "json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    loaded: dict[str, Any] = json.loads(response.getvalue())
    return loaded


def served_csv(ranking: Ranking) -> tuple[str, list[dict[str, str]]]:
    response = get(url(ranking, "data.csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.getvalue().decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def entries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e for pool in doc["pools"] for e in pool["entries"]]
    return found + [e for award in doc["awards"] for e in award["entries"]]


def documented_columns() -> list[str]:
    """The CSV columns docs/open-data.md lists, in its table's order."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## The CSV", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


# ----------------------------------------------------------------------------------------------
# The schema


def test_the_schema_is_public_at_a_stable_address_as_committed(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    assert reverse("rankings:open_data_schema") == SCHEMA_URL
    with django_assert_num_queries(0):
        response = Client().get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    assert "public" in response["Cache-Control"]
    assert response.content == open_data.SCHEMA_PATH.read_bytes()
    schema = json.loads(response.content)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == open_data.SCHEMA_ID
    # Signed-in readers get the same file.
    assert Client().post(SCHEMA_URL).status_code == 405


# ----------------------------------------------------------------------------------------------
# The JSON


def test_the_json_of_a_ranked_list_validates_and_carries_the_framework_and_its_rules(
    ranked: Ranking, comprehensive: Framework
) -> None:
    doc = served_json(ranked)
    Draft202012Validator(served_schema()).validate(doc)
    assert doc["$schema"].endswith(SCHEMA_URL)
    assert doc["schema_version"] == open_data.SCHEMA_VERSION

    head = doc["ranking"]
    assert (head["year"], head["slug"], head["version"], head["kind"]) == (
        2026,
        ranked.slug,
        1,
        "top_ten",
    )
    assert head["campaign"] == ranked.campaign.name
    assert head["scores_shown"] is True and head["public_form"] == "ranked"
    assert head["snapshot_sha256"] == ranked.snapshot_sha256
    assert ranked.published_at is not None
    assert head["published_at"] == ranked.published_at.isoformat()
    assert head["url"].endswith(f"/rankings/2026/{ranked.slug}/v1/")

    framework = doc["framework"]
    assert (framework["code"], framework["version"]) == (
        comprehensive.code,
        comprehensive.version,
    )
    levels = list(comprehensive.levels.order_by("order"))
    assert [lv["code"] for lv in framework["levels"]] == [lv.code for lv in levels]
    assert [lv["min_total"] for lv in framework["levels"]] == [str(lv.min_total) for lv in levels]
    assert [d["code"] for d in framework["dimensions"]] == list(
        comprehensive.dimensions.order_by("order").values_list("code", flat=True)
    )
    assert all(d["weight"] is not None for d in framework["dimensions"])

    rules = doc["rules"]
    assert rules["min_level"]["code"] == ranked.min_level
    assert rules["quotas"] == {"provincial": 6, "municipal": 4}
    assert rules["tie_break"] == ranked.tie_break
    assert rules["order"] == "ranked"

    # The entries are the published ones, with their scores, in the published order.
    assert ranked.snapshot is not None
    for pool, published in zip(doc["pools"], ranked.snapshot["pools"], strict=True):
        assert [(e["cloud"], e["position"], e["total"]) for e in pool["entries"]] == [
            (e["cloud"], e["position"], e["total"]) for e in published["entries"]
        ]
    first = doc["pools"][0]["entries"][0]
    assert first["cloud"] == "2026省级云000" and first["total"] == "95.00"
    assert first["position"] == 1 and first["tied"] is False
    assert [d["code"] for d in first["dimension_scores"]] == ["D1", "D2", "D3", "D4"]
    assert doc["listed"] == len(entries(doc)) == 10


def test_the_json_is_one_language_neutral_file_with_both_languages_names(ranked: Ranking) -> None:
    files = RankingExport.objects.filter(ranking=ranked, format__in=["json", "data.csv"])
    assert {(f.format, f.language) for f in files} == {("json", "mul"), ("data.csv", "mul")}
    chinese, english = get(url(ranked, "json")), get(url(ranked, "json"), "en")
    body = chinese.getvalue()  # a stream: read once
    assert body == english.getvalue()
    export = files.get(format="json")
    assert hashlib.sha256(body).hexdigest() == export.sha256
    assert chinese["ETag"] == f'"{export.sha256}"'
    assert chinese["Content-Disposition"] == (
        f'attachment; filename="ranking-2026-{ranked.slug}-v1.json"'
    )
    doc = json.loads(body)
    assert doc["ranking"]["title_zh"] == "2026年度十佳政务云"
    assert doc["ranking"]["title_en"] == "Top ten government clouds 2026"


def test_the_view_streams_the_stored_open_data_without_rendering_in_two_queries(
    ranked: Ranking,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered inside a request")

    monkeypatch.setattr(open_data, "json_bytes", refuse)
    monkeypatch.setattr(open_data, "csv_bytes", refuse)
    for fmt in ("json", "data.csv"):
        with django_assert_num_queries(2):  # the version's head, then its file's row
            response = get(url(ranked, fmt), "en")
            body = response.getvalue()
        assert response.status_code == 200 and body
        assert "public" in response["Cache-Control"]


def test_open_data_not_rendered_yet_is_being_prepared(
    admin: User, comprehensive: Framework, queued: list[int]
) -> None:
    ranking = publish(fill(make_campaign(admin, comprehensive, 2026), 3, 2), admin)
    for fmt in ("json", "data.csv"):
        response = get(url(ranking, fmt))
        assert response.status_code == 503 and response["Retry-After"] == "30"
    assert get(url(ranking, "yaml")).status_code == 404


def test_every_document_validates_whatever_the_list(
    ranked: Ranking, grouped: Ranking, admin: User, trusted: Framework, queued: list[int]
) -> None:
    campaign = make_campaign(admin, trusted, 2026, name="2026年可信政务云评估")
    passed = add_cloud(campaign, "甲政务云平台", total=None)
    ScoreResult.objects.create(
        assessment=passed,
        version=1,
        inputs_sha256=hashlib.sha256(str(passed.pk).encode()).hexdigest(),
        framework=trusted,
        method="1",
        passed=True,
        breakdown={"total": None, "dimensions": []},
        current_since=timezone.now(),
    )
    awards = publish(campaign, admin)
    assert ranking_exports_render_task.apply(args=(awards.pk,)).get() == {"ready": 8}
    validator = Draft202012Validator(open_data.schema())
    for ranking in (ranked, grouped, awards):
        validator.validate(served_json(ranking))
    doc = served_json(awards)
    assert doc["ranking"]["kind"] == "awards" and doc["pools"] == []
    assert doc["framework"]["code"] == trusted.code
    assert doc["framework"]["pass_rule"] is not None
    assert doc["awards"][0]["vendor"] == "甲政务云平台服务商"
    assert [e["cloud"] for e in doc["awards"][0]["entries"]] == ["甲政务云平台"]
    _, rows = served_csv(awards)
    assert [(r["group_type"], r["group"], r["cloud"]) for r in rows] == [
        ("award", "甲政务云平台服务商", "甲政务云平台")
    ]


# ----------------------------------------------------------------------------------------------
# The CSV


def test_the_csv_has_the_documented_header_and_the_rules(
    ranked: Ranking, comprehensive: Framework
) -> None:
    assert documented_columns() == list(open_data.CSV_COLUMNS)
    text, rows = served_csv(ranked)
    assert text.splitlines()[0] == ",".join(open_data.CSV_COLUMNS)
    assert len(rows) == 10
    first = rows[0]
    assert first["framework_code"] == comprehensive.code
    assert first["framework_version"] == comprehensive.version
    assert first["min_level"] == ranked.min_level
    assert first["tie_break"] == ";".join(ranked.tie_break)
    levels = comprehensive.levels.order_by("order")
    assert first["level_rules"] == ";".join(f"{lv.code}={lv.min_total}" for lv in levels)
    assert first["dimension_weights"].startswith("D1=")
    assert (first["group_type"], first["group"], first["quota"]) == ("pool", "provincial", "6")
    assert (first["cloud"], first["position"], first["total"]) == ("2026省级云000", "1", "95.00")
    assert first["scores_shown"] == "true" and first["tied"] == "false"
    assert first["dimension_points"].startswith("D1=")
    # The same entries as the JSON, in its order.
    doc = served_json(ranked)
    assert [r["cloud"] for r in rows] == [e["cloud"] for e in entries(doc)]


def test_a_name_that_looks_like_a_formula_stays_text(
    admin: User, comprehensive: Framework, queued: list[int]
) -> None:
    campaign = fill(make_campaign(admin, comprehensive, 2026), 2, 1)
    add_cloud(campaign, "=HYPERLINK(1)", total="99.00", level="excellent")
    ranking = publish(campaign, admin, public_form=Ranking.PublicForm.RANKED)
    ranking_exports_render_task.apply(args=(ranking.pk,))
    _, rows = served_csv(ranking)
    assert "'=HYPERLINK(1)" in [r["cloud"] for r in rows]
    assert "=HYPERLINK(1)" in [e["cloud"] for e in entries(served_json(ranking))]


# ----------------------------------------------------------------------------------------------
# What a list published without scores hides


def test_a_list_published_without_scores_exposes_none_in_json_or_csv(
    grouped: Ranking, comprehensive: Framework
) -> None:
    doc = served_json(grouped)
    Draft202012Validator(open_data.schema()).validate(doc)
    assert doc["ranking"]["scores_shown"] is False and doc["rules"]["order"] == "grouped"
    # The framework and the rules are there all the same.
    assert doc["framework"]["version"] == comprehensive.version
    assert doc["rules"]["min_level"]["code"] == grouped.min_level
    listed = entries(doc)
    assert len(listed) == 10
    for entry in listed:
        assert not SCORE_KEYS & entry.keys(), entry
        assert entry["level"] is not None and entry["division_code"]
    # The customary order: by level, the highest first, then by division code.
    ranks = [-e["level"]["rank"] for e in doc["pools"][1]["entries"]]
    assert ranks == sorted(ranks)

    text, rows = served_csv(grouped)
    assert text.splitlines()[0] == ",".join(open_data.CSV_COLUMNS)  # the same columns
    assert len(rows) == 10
    for row in rows:
        assert row["scores_shown"] == "false"
        assert all(row[c] == "" for c in SCORE_COLUMNS), row
        assert row["framework_version"] == comprehensive.version
    # No figure of the results appears anywhere (the totals run from 95.00 down to 89.00; 90.00
    # is a level's threshold, a rule, and may).
    body = json.dumps(doc)
    for total in ("95.00", "94.50", "92.00", "89.75", "89.50"):
        assert total not in body and total not in text


def test_the_schema_refuses_a_score_in_a_list_published_without_them(grouped: Ranking) -> None:
    validator = Draft202012Validator(open_data.schema())
    doc = served_json(grouped)
    for key, value in (("total", "95.00"), ("position", 1), ("dimension_scores", [])):
        leaked = copy.deepcopy(doc)
        leaked["pools"][0]["entries"][0][key] = value
        with pytest.raises(SchemaError):
            validator.validate(leaked)
    # And a ranked list must give them.
    shown = copy.deepcopy(doc)
    shown["ranking"]["scores_shown"] = True
    with pytest.raises(SchemaError):
        validator.validate(shown)


def test_a_format_1_snapshot_that_hid_scores_still_hides_them(grouped: Ranking) -> None:
    # Test set-up: a version as stored before format 2, its scores in the snapshot.
    assert grouped.snapshot is not None
    snapshot = copy.deepcopy(grouped.snapshot)
    snapshot["format"] = 1
    for entry in snapshot["pools"][0]["entries"]:
        entry["total"], entry["position"] = "95.00", 1
    Ranking.objects.filter(pk=grouped.pk).update(snapshot=snapshot)
    RankingExport.objects.filter(ranking=grouped, format="json").delete()
    services.ranking_exports_create(ranking=grouped, enqueue=False)
    assert ranking_exports_render_task.apply(args=(grouped.pk,)).get() == {"ready": 1}
    doc = served_json(grouped)
    Draft202012Validator(open_data.schema()).validate(doc)
    assert "95.00" not in json.dumps(doc)


# ----------------------------------------------------------------------------------------------
# Versions published before the open data, and the page


def test_the_command_gives_older_versions_their_open_data(
    ranked: Ranking, queued: list[int]
) -> None:
    # Test set-up: a version published before the open data: its six other files only.
    RankingExport.objects.filter(ranking=ranked, language="mul").delete()
    kept = dict(RankingExport.objects.filter(ranking=ranked).values_list("pk", "sha256"))
    assert get(url(ranked, "json")).status_code == 503
    assert ranked.pk in services.ranking_exports_missing()

    out = io.StringIO()
    call_command("render_ranking_exports", "--now", stdout=out)
    assert "'ready': 2" in out.getvalue()
    assert get(url(ranked, "json")).status_code == 200
    assert (
        dict(RankingExport.objects.filter(ranking=ranked, pk__in=kept).values_list("pk", "sha256"))
        == kept
    )
    assert services.ranking_exports_missing() == []


def test_the_public_page_offers_the_open_data_and_its_schema(ranked: Ranking) -> None:
    html = get(f"/rankings/2026/{ranked.slug}/", "en").getvalue().decode()
    nav = html.split('class="rk-exports"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{url(ranked, "json")}"' in nav
    assert f'href="{url(ranked, "data.csv")}"' in nav
    assert f'href="{SCHEMA_URL}"' in nav
    assert "Open data (JSON)" in nav and "Open data (CSV)" in nav
