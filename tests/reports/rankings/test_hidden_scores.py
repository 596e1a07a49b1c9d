"""A ranking published without scores reveals none, anywhere, ever.

Two years of the same clouds: 2025 published without scores (a list on public notice, then a
corrected final list), 2026 published with scores (on public notice). Every public page and export
of both (the page of each version and the latest, the index, CSV, XLSX, the PDF bulletin's text;
in Chinese and in English; and the stored snapshots they are made from) is scanned for any figure
that could give a 2025 score back: its totals, dimension points and shares, the coordinates a
radar or bar chart would draw them at, the differences with 2026's totals, and its positions (the
order of the list, position columns, moves). The totals are distinctive numbers, so that a figure
found is a leak and not a coincidence. There is no public JSON of a ranking; the snapshots are
what every page and export is made from.

The same scan runs over snapshots stored in format 1 (published before this rule, holding every
score), which the presentation layer must hide.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import io
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from assessments.models import Assessment, Campaign, Cloud
from indicators.models import Framework
from reports.certified.models import Report
from reports.models import Ranking, RankingExport, ScoreResult
from reports.rankings import selectors, services, snapshot
from reports.rankings.charts import bar_chart
from reports.rankings.models import list_titles
from reports.scoring.charts import radar_for

from .test_rankings import add_cloud, breakdown, dims_for, make_campaign, publish

P, M = Cloud.Level.PROVINCIAL, Cloud.Level.MUNICIPAL
# (cloud, pool, level, 2025 total, 2026 total). No two figures of a year look alike, nor any
# difference between the years; the order by division code is not the order by score.
CLOUDS = [
    ("甲省政务云", P, "excellent", "93.47", "90.58"),
    ("乙省政务云", P, "advanced", "91.86", "94.27"),
    ("丙省政务云", P, "excellent", "89.23", "88.64"),
    ("丁省政务云", P, "advanced", "87.59", "92.15"),
    ("戊省政务云", P, "advanced", "86.31", None),
    ("己省政务云", P, "excellent", "84.72", "85.49"),
    ("庚省政务云", P, "advanced", "82.13", None),  # below the 2025 quota of 6
    ("午省政务云", P, "advanced", None, "87.02"),  # newly listed in 2026
    ("子市政务云", M, "advanced", "88.17", "86.73"),
    ("丑市政务云", M, "excellent", "85.94", "89.91"),
    ("寅市政务云", M, "advanced", "83.61", None),
    ("卯市政务云", M, "advanced", "81.38", "84.35"),
    ("辰市政务云", M, "advanced", "81.38", None),  # tied with 卯 on the 2025 quota line
    ("未市政务云", M, "advanced", None, "82.88"),
]
# 2025's final list corrects one score after the notice.
CORRECTED = ("丙省政务云", "92.64")
TIE_REASON = "（测试）并列第四名，评估办公室决定两者均入选。"
HIDDEN_CODE = "HIDDEN2025"
SHOWN_CODE = "SHOWN2026"
DECIMAL = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")


@dataclass
class World:
    hidden: list[Ranking]  # 2025: v1 (notice), v2 (final), scores hidden
    shown: Ranking  # 2026: v1 (notice), scores shown
    hidden_results: list[ScoreResult]  # every 2025 score, the corrected one and its correction
    shown_results: list[ScoreResult]
    hidden_codes: list[str]  # verification codes of 2025's reports (the page shows the score)


def _report(assessment: Assessment, admin: User, code: str, n: int) -> None:
    result = ScoreResult.objects.get(assessment=assessment, is_current=True)
    Report.objects.create(
        number=f"TEST-{assessment.campaign.year}-{n:04d}",
        year=assessment.campaign.year,
        sequence=n,
        verification_code=code,
        assessment=assessment,
        score_result=result,
        content={},
        issued_at=timezone.now(),
        issued_by=admin,
    )


def _correct(campaign: Campaign, name: str, total: str) -> None:
    """Test set-up: the corrected score of a cloud, as a new current result."""
    old = ScoreResult.objects.get(assessment__campaign=campaign, assessment__cloud__name=name)
    ScoreResult.objects.filter(pk=old.pk).update(is_current=False)
    value = Decimal(total)
    ScoreResult.objects.create(
        assessment=old.assessment,
        version=2,
        inputs_sha256="c" * 64,
        framework=campaign.framework,
        method="1",
        total=value,
        level_code=old.level_code,
        breakdown=breakdown(value, dims_for(value), old.level_code),
        current_since=timezone.now(),
    )


def build_world(admin: User, framework: Framework, *, format_1: bool = False) -> World:
    """The two years, published through the services. ``format_1``: each version's snapshot is
    then stored as format 1 would have stored it (test set-up: what older versions look like)."""
    today = timezone.localdate()
    last = make_campaign(admin, framework, 2025)
    this = make_campaign(admin, framework, 2026)
    for name, pool, level, old, new in CLOUDS:
        if old:
            add_cloud(last, name, pool=pool, total=old, level=level)
        if new:
            add_cloud(this, name, pool=pool, total=new, level=level)
    for n, assessment in enumerate(last.assessments.order_by("pk"), start=1):
        _report(assessment, admin, f"{HIDDEN_CODE}{n:03d}", n)
    for n, assessment in enumerate(this.assessments.order_by("pk"), start=1):
        _report(assessment, admin, f"{SHOWN_CODE}{n:03d}", n)

    draft = services.ranking_draft_get_or_create(campaign=last, acting_user=admin)
    services.ranking_adjustment_save(
        ranking=draft,
        assessment=last.assessments.get(cloud__name="辰市政务云"),
        move="in",
        reason=TIE_REASON,
        acting_user=admin,
    )
    notice = publish(
        last, admin, notice_starts_on=today, notice_ends_on=today + datetime.timedelta(days=5)
    )
    if format_1:
        store_as_format_1(notice)
    # Test set-up: the notice has since ended, and one score was corrected.
    Ranking.objects.filter(pk=notice.pk).update(
        notice_starts_on=today - datetime.timedelta(days=10),
        notice_ends_on=today - datetime.timedelta(days=3),
    )
    _correct(last, *CORRECTED)
    final = publish(last, admin, note="公示期满；丙省政务云的评分经复核更正。")
    if format_1:
        store_as_format_1(final)
    shown = publish(
        this,
        admin,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=today,
        notice_ends_on=today + datetime.timedelta(days=7),
    )
    if format_1:
        store_as_format_1(shown)
    for ranking in (notice, final, shown):
        ranking.refresh_from_db()
    return World(
        hidden=[notice, final],
        shown=shown,
        hidden_results=list(ScoreResult.objects.filter(assessment__campaign=last)),
        shown_results=list(ScoreResult.objects.filter(assessment__campaign=this)),
        hidden_codes=list(
            Report.objects.filter(assessment__campaign=last).values_list(
                "verification_code", flat=True
            )
        ),
    )


# ----------------------------------------------------------------------------------------------
# Format 1, as it was stored


def store_as_format_1(ranking: Ranking) -> None:
    """Test set-up: replaces a version's stored snapshot by the one format 1 stored: every score
    whatever the public form (positions, totals, shares, tie decisions, verification codes),
    entries in the order of the totals, the previous year's position and total of every cloud
    listed in both, the moves since the version superseded, and the plain title."""
    stored = snapshot.snapshot_of(ranking)
    twin = copy.copy(ranking)
    twin.public_form = Ranking.PublicForm.RANKED
    provisional = dataclasses.replace(selectors.ranking_provisional(ranking=ranking), ranking=twin)
    old: dict[str, Any] = dict(
        snapshot.snapshot_build(
            provisional=provisional,
            version=stored["version"],
            change_note=stored["change_note"],
            now=datetime.datetime.fromisoformat(stored["published_at"]),
        )
    )
    old["format"] = 1
    old["public_form"] = ranking.public_form
    old["title"], old["title_en"] = list_titles(
        kind=ranking.kind, year=ranking.year, demo=ranking.is_demo, notice=False
    )
    previous_entries: dict[int, Any] = {}
    if old["previous_year"] is not None:
        old["previous_year"].pop("public_form")
        previous = selectors.ranking_previous_year(year=ranking.year, kind=ranking.kind)
        assert previous is not None and previous.snapshot is not None
        previous_entries = {
            e["cloud_id"]: e for pool in previous.snapshot["pools"] for e in pool["entries"]
        }
    for pool in old["pools"]:
        for entry in pool["entries"]:
            entry.pop("listed_years")
            was = previous_entries.get(entry["cloud_id"])
            entry["previous_year"] = (
                {"position": was["position"], "total": was["total"], "level": was["level"]}
                if was
                else None
            )
    old["changes"] = None
    if ranking.supersedes is not None:
        before = {
            e["cloud_id"]: (e["cloud"], e["position"])
            for pool in snapshot.snapshot_of(ranking.supersedes)["pools"]
            for e in pool["entries"]
        }
        after = {
            e["cloud_id"]: (e["cloud"], e["position"]) for p in old["pools"] for e in p["entries"]
        }
        old["changes"] = {
            "from_version": ranking.supersedes.version,
            "added": sorted(after[c][0] for c in after.keys() - before.keys()),
            "removed": sorted(before[c][0] for c in before.keys() - after.keys()),
            "moved": [
                {"cloud": after[c][0], "from": before[c][1], "to": after[c][1]}
                for c in sorted(after.keys() & before.keys(), key=lambda c: after[c][1])
                if before[c][1] != after[c][1]
            ],
        }
    Ranking.objects.filter(pk=ranking.pk).update(
        snapshot=old, snapshot_sha256=snapshot.snapshot_sha256(old)
    )
    ranking.refresh_from_db()


# ----------------------------------------------------------------------------------------------
# What may not appear, and where to look


def _figures(results: list[ScoreResult]) -> set[str]:
    """Every figure the pages and exports could show of these results, or draw them at."""
    found: set[str] = set()
    for result in results:
        assert result.total is not None
        found.add(f"{result.total:.2f}")
        for dim in result.breakdown["dimensions"]:
            found |= {str(dim["points"]), str(dim["share"])}
        radar = radar_for(result.breakdown)
        for axis in radar.axes:
            found |= {str(axis.dot_x), str(axis.dot_y)}
    for pool in (P, M):
        totals = sorted(
            (r.total for r in results if r.assessment.cloud.level == pool and r.total),
            reverse=True,
        )
        chart = bar_chart([("", total, False) for total in totals])
        found |= {str(bar.width) for bar in chart.bars} | {bar.value_text for bar in chart.bars}
    return found


def _chart_geometry(results: list[ScoreResult]) -> set[str]:
    """The figures the pages legitimately draw for results that show their scores: the radar's
    rings, axes and labels, and the bar chart's scale and rows."""
    found: set[str] = set()
    for result in results:
        radar = radar_for(result.breakdown)
        for _ring, points in radar.rings:
            found |= set(re.split(r"[ ,]", points))
        for axis in radar.axes:
            found |= {str(v) for v in (axis.x, axis.y, axis.label_x, axis.label_y)}
    chart = bar_chart([("", Decimal(90), False)] * 10)
    found |= {str(t.x) for t in chart.ticks}
    found |= {str(v) for bar in chart.bars for v in (bar.y, bar.text_y)}
    return found


def forbidden(world: World) -> set[str]:
    """The figures of the hidden year, and their differences with the next year's totals, that
    the next year's own figures do not also produce."""
    hidden = _figures(world.hidden_results)
    shown_totals = {r.assessment.cloud_id: r.total for r in world.shown_results}
    for result in world.hidden_results:
        new = shown_totals.get(result.assessment.cloud_id)
        if new is not None and result.total is not None:
            hidden.add(f"{abs(new - result.total):.2f}")
    allowed = _figures(world.shown_results) | _chart_geometry(world.shown_results)
    return hidden - allowed


def leaks(text: str, figures: set[str]) -> set[str]:
    return set(DECIMAL.findall(text)) & figures


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _xlsx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return "\n".join(book.read(name).decode("utf-8") for name in book.namelist())


def _csv_header(text: str) -> str:
    return text.lstrip("\ufeff").splitlines()[0]


def _get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.getvalue()


def _stored(ranking: Ranking, fmt: str, language: str) -> bytes:
    """The file stored for a version, as the export view serves it; its hash holds."""
    export = RankingExport.objects.get(ranking=ranking, format=fmt, language=language)
    assert export.state == RankingExport.State.READY, export.error
    with export.file.open("rb") as handle:
        content = handle.read()
    assert hashlib.sha256(content).hexdigest() == export.sha256
    return content


def public_outputs(versions: list[Ranking], tmp_path: Path) -> dict[str, str]:
    """Every public page and export of ``versions``, in Chinese and English: name → text. The
    exports are the files stored for each version (rendered here by the command a deployment
    runs for versions whose files a worker has not rendered), read through the public view."""
    call_command("render_ranking_exports", "--now", stdout=io.StringIO())
    outputs: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        client = Client()
        client.cookies["django_language"] = language
        outputs[f"{language} /rankings/"] = _get(client, "/rankings/").decode()
        for ranking in versions:
            base = f"/rankings/{ranking.year}/{ranking.slug}/"
            version = f"{base}v{ranking.version}/"
            outputs[f"{language} {base}"] = _get(client, base).decode()
            outputs[f"{language} {version}"] = _get(client, version).decode()
            for fmt in ("csv", "xlsx", "pdf"):
                content = _get(client, f"{version}ranking.{fmt}")
                assert content == _stored(ranking, fmt, language)
                outputs[f"{language} {version}ranking.{fmt}"] = (
                    content.decode()
                    if fmt == "csv"
                    else _xlsx_text(content)
                    if fmt == "xlsx"
                    else _pdf_text(content, tmp_path)
                )
    return outputs


def public_order(campaign: Campaign, listed: set[str]) -> list[str]:
    """The listed clouds in the order of the customary form: by pool, then the highest level
    first, then by administrative-division code: nothing to do with the totals."""
    rank = {"excellent": 0, "advanced": 1}
    rows = [
        (
            [str(P), str(M)].index(a.cloud.level),
            rank[ScoreResult.objects.get(assessment=a, is_current=True).level_code],
            a.cloud.owner.division_code,
            a.cloud.name,
        )
        for a in campaign.assessments.select_related("cloud__owner")
        if a.cloud.name in listed
    ]
    return [row[-1] for row in sorted(rows)]


def listed_in(ranking: Ranking) -> set[str]:
    found = Ranking.objects.get(pk=ranking.pk).snapshot
    assert found is not None
    return {e["cloud"] for pool in found["pools"] for e in pool["entries"]}


def in_text_order(text: str, names: set[str]) -> list[str]:
    return sorted(names, key=text.index)


# ----------------------------------------------------------------------------------------------
# The scan


def assert_nothing_of_the_hidden_year_is_public(world: World, tmp_path: Path) -> None:
    figures = forbidden(world)
    assert len(figures) > 100  # totals, points, shares, coordinates, differences
    outputs = public_outputs([*world.hidden, world.shown], tmp_path)
    found = {name: leaks(text, figures) for name, text in outputs.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}
    for name, text in outputs.items():
        for code in world.hidden_codes:
            assert code not in text, (name, code)
        assert TIE_REASON not in text, name

    hidden_campaign = world.hidden[0].campaign
    for ranking in world.hidden:
        listed = listed_in(ranking)
        expected = public_order(hidden_campaign, listed)
        for language in ("zh-hans", "en"):
            version = f"{language} /rankings/2025/top-ten/v{ranking.version}/"
            page = outputs[version]
            markers = (
                "rk-pos",
                "rk-radar",
                "rk-dim",
                "<meter",
                "rk-bars",
                "rk-up",
                "rk-down",
                "验证报告",
                "Verify the",
            )
            for marker in markers:
                assert marker not in page, (version, marker)
            assert "tie decided by the office" not in page and "并列由评估办公室决定" not in page
            names = re.findall(r'class="rk-entry__name">([^<]+)<', page)
            assert names == expected, version  # the public order, not the order of the totals
            for export in ("ranking.csv", "ranking.xlsx"):
                header = outputs[f"{version}{export}"]
                header = _csv_header(header) if export.endswith("csv") else header
                for word in ("Position", "名次", "Total", "总分", "Tied", "并列", "核验码"):
                    assert word not in header, (version, export, word)
            csv_text = outputs[f"{version}ranking.csv"]
            assert in_text_order(csv_text, listed) == expected
            assert in_text_order(outputs[f"{version}ranking.pdf"], listed) == expected

    # The next year shows its own scores, and of 2025 only whether a cloud is listed again.
    page = outputs["zh-hans /rankings/2026/top-ten/v1/"]
    assert "94.27" in page and 'class="rk-bars"' in page and SHOWN_CODE in page
    assert 'class="rk-dims"' in page and "<meter" in page  # each cloud's dimension shares
    english = outputs["en /rankings/2026/top-ten/v1/"]
    for text in (page, english):
        for marker in ("rk-up", "rk-down", "上一届第", "last time"):
            assert marker not in text, marker
    cells = re.findall(r'<td class="rk-change">(.*?)</td>', english, re.S)
    labels = sorted(re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in cells)
    assert labels == ["listed 2 years in a row"] * 8 + ["new"] * 2
    for language in ("zh-hans", "en"):
        csv_text = outputs[f"{language} /rankings/2026/top-ten/v1/ranking.csv"]
        header = _csv_header(csv_text)
        assert "2025" not in header and "Position in" not in header, header
        assert header.endswith("Years listed in a row") or header.endswith("连续上榜年数")
        years = [row.rsplit(",", 1)[1] for row in csv_text.strip().splitlines()[1:]]
        assert sorted(years) == ["1"] * 2 + ["2"] * 8


def test_nothing_of_a_year_published_without_scores_is_public_on_its_pages_or_the_next_years(
    admin: User, comprehensive: Framework, tmp_path: Path
) -> None:
    world = build_world(admin, comprehensive)
    assert_nothing_of_the_hidden_year_is_public(world, tmp_path)
    # The snapshots every page and export is made from hold none of it either.
    figures = forbidden(world)
    for ranking in [*world.hidden, world.shown]:
        assert ranking.snapshot is not None and ranking.snapshot["format"] == 2
        stored = json.dumps(ranking.snapshot, ensure_ascii=False)
        assert leaks(stored, figures) == set(), ranking
        assert TIE_REASON not in stored
        assert not any(code in stored for code in world.hidden_codes)
    hidden = world.hidden[1].snapshot
    assert hidden is not None
    entries = [e for pool in hidden["pools"] for e in pool["entries"]]
    assert {e["position"] for e in entries} == {None}
    assert {e["total"] for e in entries} == {None}
    assert hidden["changes"] is not None and hidden["changes"]["moved"] == []


def test_older_snapshots_that_hold_the_hidden_scores_render_without_them(
    admin: User, comprehensive: Framework, tmp_path: Path
) -> None:
    world = build_world(admin, comprehensive, format_1=True)
    for ranking in [*world.hidden, world.shown]:
        assert ranking.snapshot is not None and ranking.snapshot["format"] == 1
        # Stored as it was, named by its own SHA-256, and shown with it.
        assert ranking.snapshot_sha256 == snapshot.snapshot_sha256(ranking.snapshot)
    figures = forbidden(world)
    hidden_stored = json.dumps(world.hidden[1].snapshot)
    assert leaks(hidden_stored, figures)  # the scan finds what format 1 holds
    assert world.hidden[1].snapshot is not None and world.hidden[1].snapshot["changes"]["moved"]
    assert_nothing_of_the_hidden_year_is_public(world, tmp_path)
    page = Client().get("/rankings/2025/top-ten/v2/").content.decode()
    assert world.hidden[1].snapshot_sha256 in page
    # A format-1 notice list is titled as one, on its page and on the index.
    notice = Client().get("/rankings/2025/top-ten/v1/").content.decode()
    assert "2025年度十佳政务云公示名单" in notice


def test_the_admin_page_shows_the_scores_the_scan_looks_for(
    admin: User, comprehensive: Framework
) -> None:
    """The scan is not blind: the admin's provisional ranking, which shows the scores, is full of
    the figures it looks for."""
    world = build_world(admin, comprehensive)
    client = Client()
    client.force_login(admin)
    text = client.get(f"/campaigns/{world.hidden[0].campaign_id}/ranking/").content.decode()
    assert len(leaks(text, forbidden(world))) >= 10


@pytest.mark.parametrize("public_form", ["grouped", "ranked"])
def test_a_list_that_hid_its_scores_keeps_them_hidden_in_every_later_version(
    admin: User, comprehensive: Framework, public_form: str
) -> None:
    campaign = make_campaign(admin, comprehensive, 2025)
    add_cloud(campaign, "甲省政务云", total="93.47")
    publish(campaign, admin, public_form=public_form)
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    assert draft.public_form == public_form  # a new version starts from the form published

    def show_scores() -> None:
        services.ranking_settings_save(
            ranking=draft,
            quotas=draft.quotas,
            min_level=draft.min_level,
            tie_break=draft.tie_break,
            public_form=Ranking.PublicForm.RANKED,
            notice_starts_on=None,
            notice_ends_on=None,
            acting_user=admin,
        )

    if public_form == "grouped":
        with pytest.raises(ValidationError) as refused:
            show_scores()
        assert "public_form" in refused.value.message_dict
        # Nor can a draft changed behind the settings form's back be published.
        Ranking.objects.filter(pk=draft.pk).update(public_form=Ranking.PublicForm.RANKED)
        draft.refresh_from_db()
        with pytest.raises(ValidationError) as refused:
            services.ranking_publish(ranking=draft, change_note="公布分数。", acting_user=admin)
        assert "public_form" in refused.value.message_dict
    else:
        show_scores()
        second = services.ranking_publish(ranking=draft, change_note="更正。", acting_user=admin)
        assert second.version == 2
