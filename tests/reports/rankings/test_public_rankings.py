"""The public ranking pages: no login, the customary and the ranked forms, the public notice,
superseded versions, conditional requests and the server-side cache, a constant number of
queries, the exports, and a Chromium run in Chinese and English."""

from __future__ import annotations

import csv
import datetime
import io
import re
import subprocess
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page
from pytest_django import DjangoAssertNumQueries
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments.models import Assessment, Campaign, Cloud
from indicators.models import Framework
from reports.models import Ranking, RankingExport
from reports.rankings import rendering, services
from tests.browser_support import screenshot, sign_in
from tests.conftest import client_for

from .test_hidden_scores import CLOUDS, build_world
from .test_rankings import add_cloud, make_campaign, publish

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


def fill(campaign: Campaign, provincial: int, municipal: int) -> Campaign:
    for n in range(provincial):
        add_cloud(campaign, f"{campaign.year}省级云{n:03d}", total=f"{95 - n * 0.5:.2f}")
    for n in range(municipal):
        add_cloud(
            campaign,
            f"{campaign.year}市级云{n:03d}",
            pool=Cloud.Level.MUNICIPAL,
            total=f"{90 - n * 0.25:.2f}",
            level="excellent" if n % 3 == 0 else "advanced",
        )
    return campaign


@pytest.fixture
def grouped(admin: User, comprehensive: Framework) -> Ranking:
    return publish(fill(make_campaign(admin, comprehensive, 2025), 7, 5), admin)


@pytest.fixture
def ranked(admin: User, comprehensive: Framework, grouped: Ranking) -> Ranking:
    today = timezone.localdate()
    return publish(
        fill(make_campaign(admin, comprehensive, 2026), 6, 4),
        admin,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=today,
        notice_ends_on=today + datetime.timedelta(days=9),
    )


def page(
    url: str, user: User | None = None, headers: Mapping[str, str] | None = None
) -> TestResponse:
    return client_for(user).get(url, headers=headers)


def rendered(ranking: Ranking, fmt: str) -> Ranking:
    """Renders and stores a version's files in ``fmt``, as the worker does after publication
    (test set-up: the task is tested in test_ranking_exports.py)."""
    for export in RankingExport.objects.filter(ranking=ranking, format=fmt):
        assert rendering.ranking_export_render(export_id=export.pk) == "ready"
    return ranking


def test_the_index_lists_published_rankings_by_year_without_login(
    grouped: Ranking, ranked: Ranking
) -> None:
    response = page("/rankings/")
    assert response.status_code == 200
    text = response.getvalue().decode()
    assert "2025年度十佳政务云" in text and "2026年度十佳政务云" in text
    assert text.index("2026年度") < text.index("2025年度")


def test_the_customary_form_groups_by_level_and_division_code_and_hides_scores(
    grouped: Ranking,
) -> None:
    text = page("/rankings/2025/top-ten/").content.decode()
    assert "2025省级云000" in text and "2025市级云003" in text
    assert "2025市级云004" not in text  # below the quota of 4
    assert "95.00" not in text
    assert "rk-bars" not in text
    municipal = text[text.index('id="rk-pool-municipal"') :]
    assert municipal.index("卓越级") < municipal.index("先进级")
    # Within a level, by administrative-division code.
    excellent = municipal[: municipal.index("先进级")]
    codes = re.findall(r"<td>(\d{6})</td>", excellent)
    assert codes == sorted(codes) and codes


def test_the_ranked_form_shows_positions_scores_a_bar_chart_and_the_change_against_last_year(
    ranked: Ranking,
) -> None:
    text = page("/rankings/2026/top-ten/").content.decode()
    assert "95.00" in text
    assert 'class="rk-bars"' in text
    assert "2026省级云000" in text
    assert "新" in text or "new" in text  # 2026 clouds were not in the 2025 list


def test_during_the_notice_the_page_says_so_with_the_end_date(ranked: Ranking) -> None:
    text = page("/rankings/2026/top-ten/").content.decode()
    assert 'data-testid="notice"' in text
    end = ranked.notice_ends_on
    assert end is not None
    assert f"{end.year}年{end.month}月{end.day}日" in text


def test_a_superseded_version_says_so_and_links_to_the_current_one(
    grouped: Ranking, admin: User
) -> None:
    draft = services.ranking_draft_get_or_create(campaign=grouped.campaign, acting_user=admin)
    services.ranking_publish(ranking=draft, change_note="更正一处笔误。", acting_user=admin)
    old = page("/rankings/2025/top-ten/v1/").content.decode()
    assert "rk-alert--superseded" in old
    current = page("/rankings/2025/top-ten/").content.decode()
    assert "更正一处笔误。" in current
    assert 'data-ranking-version="2"' in current


def test_unknown_rankings_and_drafts_are_not_public(grouped: Ranking, admin: User) -> None:
    assert page("/rankings/2025/awards/").status_code == 404
    assert page("/rankings/2025/top-ten/v9/").status_code == 404
    services.ranking_draft_get_or_create(campaign=grouped.campaign, acting_user=admin)
    assert page("/rankings/2025/top-ten/").status_code == 200
    assert Ranking.objects.filter(state=Ranking.State.DRAFT).count() == 1


def test_a_repeated_request_gets_304_until_a_new_version_is_published(
    grouped: Ranking, admin: User
) -> None:
    first = page("/rankings/2025/top-ten/")
    etag = first["ETag"]
    assert first["Last-Modified"]
    assert page("/rankings/2025/top-ten/", headers={"If-None-Match": etag}).status_code == 304
    english = page(
        "/rankings/2025/top-ten/",
        headers={"If-None-Match": etag, "Cookie": "django_language=en"},
    )
    assert english.status_code == 200
    draft = services.ranking_draft_get_or_create(campaign=grouped.campaign, acting_user=admin)
    services.ranking_publish(ranking=draft, change_note="新版本。", acting_user=admin)
    assert page("/rankings/2025/top-ten/", headers={"If-None-Match": etag}).status_code == 200
    assert page("/rankings/2025/top-ten/v1/", headers={"If-None-Match": etag}).status_code == 200


def test_the_page_uses_the_same_queries_for_a_few_clouds_and_for_many(
    admin: User,
    comprehensive: Framework,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    small = publish(fill(make_campaign(admin, comprehensive, 2023), 2, 2), admin)
    large = publish(
        fill(make_campaign(admin, comprehensive, 2024), 40, 40),
        admin,
        quotas={"provincial": 40, "municipal": 40},
        public_form=Ranking.PublicForm.RANKED,
    )
    assert small.snapshot is not None and large.snapshot is not None
    assert (small.snapshot["listed"], large.snapshot["listed"]) == (4, 80)
    for ranking in (small, large):
        url = f"/rankings/{ranking.year}/{ranking.slug}/"
        cache.clear()
        with django_assert_num_queries(2):  # the version's head, then its snapshot
            assert page(url).status_code == 200
        with django_assert_num_queries(1):  # from the cache: the head only
            assert page(url).status_code == 200
    with django_assert_num_queries(2):  # the index: its version, then its rows
        page("/rankings/")


def test_the_csv_export_lists_the_entries_in_utf8_for_excel(ranked: Ranking) -> None:
    rendered(ranked, "csv")
    response = page("/rankings/2026/top-ten/v1/ranking.csv")
    assert response["Content-Type"].startswith("text/csv")
    content = response.getvalue().decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content[1:])))
    assert len(rows) == 1 + 10
    assert rows[1][3] == "2026省级云000" and rows[1][7] == "95.00"


def test_the_grouped_csv_hides_the_scores(grouped: Ranking) -> None:
    rendered(grouped, "csv")
    content = page("/rankings/2025/top-ten/v1/ranking.csv").getvalue().decode("utf-8")
    assert "95.00" not in content and "2025省级云000" in content


def test_the_xlsx_export_opens_in_openpyxl(ranked: Ranking) -> None:
    from openpyxl import load_workbook
    from openpyxl.worksheet.worksheet import Worksheet

    rendered(ranked, "xlsx")
    response = page("/rankings/2026/top-ten/v1/ranking.xlsx")
    book = load_workbook(io.BytesIO(response.getvalue()))
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    assert "2026年度十佳政务云" in sheet["A1"].value
    assert ranked.snapshot_sha256 in sheet["A2"].value
    names = [row[3] for row in sheet.iter_rows(min_row=5, values_only=True)]
    assert names[0] == "2026省级云000" and len(names) == 10


def test_the_pdf_bulletin_is_one_page_in_the_fonts_of_the_reports(
    ranked: Ranking, tmp_path: Path
) -> None:
    rendered(ranked, "pdf")
    response = page("/rankings/2026/top-ten/v1/ranking.pdf")
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(response.getvalue())
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.MULTILINE), info.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    lines = fonts.stdout.splitlines()[2:]
    assert any("Noto-Serif-CJK-SC" in line for line in lines), lines
    assert any("Noto-Sans-CJK-SC" in line for line in lines), lines
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "2026省级云000" in text and ranked.snapshot_sha256[:16] in text.replace("\n", "")


@pytest.mark.browser
def test_the_public_page_in_chinese_and_in_english(
    page: Page, live_server: LiveServer, admin: User, comprehensive: Framework
) -> None:
    last = make_campaign(admin, comprehensive, 2025, name="2025年政务云综合水平评估（浏览器）")
    for n, total in enumerate(["92.00", "90.00", "88.50", "86.00"]):
        add_cloud(last, f"浏览器省级云{n}", total=total)
    for n, total in enumerate(["89.00", "87.50"]):
        add_cloud(last, f"浏览器市级云{n}", pool=Cloud.Level.MUNICIPAL, total=total)
    publish(last, admin)
    this = make_campaign(admin, comprehensive, 2026, name="2026年政务云综合水平评估（浏览器）")
    for n, total in enumerate(["90.50", "93.00", "87.00", "86.00"]):
        add_cloud(
            this, f"浏览器省级云{n}", total=total, level="excellent" if n == 1 else "advanced"
        )
    for n, total in enumerate(["88.00", "88.00", "85.00"]):
        add_cloud(this, f"浏览器市级云{n}", pool=Cloud.Level.MUNICIPAL, total=total)
    today = timezone.localdate()
    publish(
        this,
        admin,
        quotas={"provincial": 6, "municipal": 3},
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=today,
        notice_ends_on=today + datetime.timedelta(days=7),
    )

    page.goto(f"{live_server.url}/rankings/")
    page.click("text=2026年度十佳政务云")
    page.wait_for_url("**/rankings/2026/top-ten/")
    assert page.locator("h1").inner_text() == "2026年度十佳政务云公示名单"
    assert page.get_by_test_id("notice").is_visible()
    page.locator("summary", has_text="浏览器省级云1").click()
    assert page.locator("details[open] .rk-dims meter").first.is_visible()
    screenshot(page, "rankings_public_zh")

    page.get_by_test_id("language-en").click()
    page.wait_for_load_state()
    assert (
        page.locator("h1").inner_text() == "Top ten government clouds 2026: list for public notice"
    )
    assert "public notice" in page.get_by_test_id("notice").inner_text()
    page.locator("summary", has_text="浏览器省级云1").click()
    screenshot(page, "rankings_public_en")


@pytest.mark.browser
def test_a_year_without_scores_and_the_years_after_it_in_chromium(
    page: Page, live_server: LiveServer, admin: User, comprehensive: Framework
) -> None:
    world = build_world(admin, comprehensive)
    # 2027 shows scores as 2026 did: the change in position and score is shown against 2026.
    later = make_campaign(admin, comprehensive, 2027)
    for name, pool, level, _old, new in CLOUDS:
        if new:
            total = "95.33" if name == "甲省政务云" else f"{Decimal(new) - 1:.2f}"
            add_cloud(later, name, pool=pool, total=total, level=level)
    add_cloud(later, "申省政务云", total=None, state=Assessment.State.IN_REVIEW)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    publish(
        later,
        admin,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=tomorrow,
        notice_ends_on=tomorrow + datetime.timedelta(days=7),
    )
    base = live_server.url

    page.goto(f"{base}/rankings/2025/top-ten/")
    assert page.locator("h1").inner_text() == "2025年度十佳政务云"
    page.locator("summary", has_text="甲省政务云").click()
    opened = page.locator("details[open]")
    assert opened.is_visible() and opened.locator("svg").count() == 0
    assert page.locator(".rk-pos, .rk-bars, .rk-radar, .rk-dims").count() == 0
    screenshot(page, "rankings_hidden_2025_zh")

    page.goto(f"{base}/rankings/2026/top-ten/")
    assert page.locator("h1").inner_text() == "2026年度十佳政务云公示名单"
    changes = page.locator("td.rk-change").all_inner_texts()
    assert len(changes) == 10 and not any("▲" in c or "▼" in c for c in changes)
    page.locator("summary", has_text="乙省政务云").click()
    assert page.locator("details[open] .rk-dims meter").first.is_visible()
    screenshot(page, "rankings_next_year_2026_zh")
    page.get_by_test_id("language-en").click()
    page.wait_for_load_state()
    assert "listed 2 years in a row" in page.locator("td.rk-change").all_inner_texts()
    screenshot(page, "rankings_next_year_2026_en")

    page.goto(f"{base}/rankings/2027/top-ten/")
    assert page.get_by_test_id("notice").get_attribute("data-notice-phase") == "upcoming"
    assert "Public notice starts on" in page.get_by_test_id("notice-badge").inner_text()
    moves = page.locator("td.rk-change").all_inner_texts()
    assert any("▲" in c or "▼" in c or "＝" in c for c in moves)
    screenshot(page, "rankings_upcoming_2027_en")
    page.get_by_test_id("language-zh-hans").click()
    page.wait_for_load_state()
    assert "公示中" not in page.locator(".rk-head").inner_text()
    screenshot(page, "rankings_upcoming_2027_zh")
    page.goto(f"{base}/rankings/")
    screenshot(page, "rankings_index_zh")

    sign_in(page, base, admin.username)
    page.goto(f"{base}/campaigns/{later.pk}/ranking/")
    assert "申省政务云" in page.get_by_test_id("unfinished").inner_text()
    page.locator("#rk-publish-h").scroll_into_view_if_needed()
    screenshot(page, "rankings_admin_unfinished_zh")
    assert world.hidden[1].version == 2


def _csrf_input(text: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_an_anonymous_reader_gets_the_whole_page_from_the_cache_with_a_token_of_their_own(
    grouped: Ranking,
    admin: User,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    from django.test import Client

    url = "/rankings/2025/top-ten/"
    first = Client(enforce_csrf_checks=True)
    first_text = first.get(url).getvalue().decode()
    reader = Client(enforce_csrf_checks=True)
    with django_assert_num_queries(1):  # the ETag's head only: the page comes from the cache
        text = reader.get(url).getvalue().decode()
    assert text.replace(_csrf_input(text), "") == first_text.replace(_csrf_input(first_text), "")
    assert _csrf_input(text) != _csrf_input(first_text)
    # The language switcher of the cached page works with this reader's own cookie.
    switched = reader.post(
        "/i18n/setlang/", {"language": "en", "next": url, "csrfmiddlewaretoken": _csrf_input(text)}
    )
    assert switched.status_code == 302
    assert "Top ten government clouds 2025" in reader.get(url).getvalue().decode()
    # A signed-in reader's page names them; the anonymous page, cached, names nobody.
    signed_in = page(url, admin).getvalue().decode()
    assert str(admin) in signed_in
    assert str(admin) not in Client().get(url).getvalue().decode()
    # A query string, repeated by the switcher, is never served from another's page.
    tagged = Client().get(url + "?from=weibo").getvalue().decode()
    assert 'value="/rankings/2025/top-ten/?from=weibo"' in tagged
    assert "?from=weibo" not in Client().get(url).getvalue().decode()


def test_the_exports_keep_a_cloud_name_that_looks_like_a_formula_as_text(ranked: Ranking) -> None:
    """A cloud named like a formula stays a name in the reader's spreadsheet: a leading ``'``
    in the CSV, a text cell (marked typed-as-text) in the XLSX, never a formula."""
    import csv
    import io

    from openpyxl import load_workbook

    from reports.rankings import exports
    from reports.rankings.snapshot import public_view

    snapshot = public_view(ranked)
    snapshot["pools"][0]["entries"][0]["cloud"] = '=HYPERLINK("http://evil.invalid","点击")'
    rows = list(csv.reader(io.StringIO(exports.csv_bytes(snapshot).decode("utf-8-sig"))))
    names = [cell for row in rows for cell in row if "HYPERLINK" in cell]
    assert names and all(cell.startswith("'=") for cell in names)
    sheet = load_workbook(io.BytesIO(exports.xlsx_bytes(snapshot))).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
