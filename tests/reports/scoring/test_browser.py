"""The score in the browser: the breakdown with its radar chart, and scoring a whole campaign
with a progress bar that moves without reloading."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment
from indicators.models import Indicator
from reports.scoring import results
from tests.browser_support import screenshot, sign_in


@pytest.mark.browser
def test_an_admin_reads_why_the_cloud_reached_its_level(
    page: Page, live_server: LiveServer, scored: Assessment, admin: User
) -> None:
    workflow.settlement_save(
        assessment=scored,
        indicator=Indicator.objects.get(framework=scored.campaign.framework, code="1.3"),
        rating=3,
        reason="现场核查确认已建成安全运营中心。",
        acting_user=admin,
    )
    results.assessment_score(assessment_id=scored.pk)
    sign_in(page, live_server.url, admin.username)

    page.goto(f"{live_server.url}/assessments/{scored.pk}/result/")

    assert page.locator(".score__level").first.inner_text() == "基础级"
    assert page.locator("svg .radar__shape").count() == 1
    assert page.locator(".score__rule--missed").count() == 2  # 先进级 and 卓越级 missed
    page.locator(".score__dimension summary").nth(1).click()
    screenshot(page, "scoring_result_zh")


@pytest.mark.browser
def test_an_admin_scores_the_whole_campaign_and_watches_the_bar(
    page: Page, live_server: LiveServer, scored: Assessment, admin: User
) -> None:
    sign_in(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/campaigns/{scored.campaign.pk}/scoring/")
    # Waits with expect, not wait_for_function: its polling evaluates with eval(), which the
    # pages' Content-Security-Policy refuses.
    expect(page.locator("[data-scoring-status]")).not_to_be_empty(timeout=15_000)
    assert page.locator("[data-scoring-bar]").is_hidden()  # never scored as a whole yet

    page.locator("[data-scoring-start] button").click()

    expect(page.locator("[data-scoring-bar]")).to_have_attribute(
        "aria-valuenow", "100", timeout=15_000
    )
    assert "1" in page.locator("[data-scoring-status]").inner_text()
    assert page.url.endswith(f"/campaigns/{scored.campaign.pk}/scoring/")  # no reload, no redirect
    # The results table is refreshed in place once the run has finished.
    expect(page.locator("#campaign-scores")).to_contain_text("v1", timeout=15_000)
    screenshot(page, "scoring_campaign_zh")
