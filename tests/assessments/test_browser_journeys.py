"""The vendor and assessor journeys in Chromium: autosave, reload, submit, score."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments import selectors, services
from assessments.models import Answer, Assessment, Assignment, Rating
from tests.assessments.conftest import answer_everything, rate_everything
from tests.browser_support import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_a_vendor_answers_with_autosave_survives_a_reload_and_submits(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
) -> None:
    first = selectors.indicators_of(assessment=assessment)[0]
    sign_in(page, live_server.url, vendor.username)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    card = page.locator(f"#ind-{first.pk}")

    card.get_by_label("2 先进").check()
    card.get_by_label("情况说明").fill("提供IaaS与数据库、中间件等基础PaaS服务。")
    card.locator("[data-autosave-status][data-state=saved]").wait_for()

    page.reload()
    card = page.locator(f"#ind-{first.pk}")
    assert card.get_by_label("2 先进").is_checked()
    assert card.get_by_label("情况说明").input_value() == "提供IaaS与数据库、中间件等基础PaaS服务。"
    assert page.locator("[data-missing-count]").inner_text() == "19"

    answer_everything(assessment, vendor)  # the other 19 indicators, as the page would
    page.reload()
    screenshot(page, "vendor-self-assessment-zh")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="提交自评").click()

    assert page.get_by_text("已提交", exact=False).first.is_visible()
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED
    assert page.locator("form[data-autosave]").count() == 0


def test_a_draft_typed_while_offline_is_kept_and_saved_when_the_page_comes_back(
    page: Page, live_server: LiveServer, assessment: Assessment, vendor: User
) -> None:
    first = selectors.indicators_of(assessment=assessment)[0]
    sign_in(page, live_server.url, vendor.username)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    page.route("**/answers/**", lambda route: route.abort())

    card = page.locator(f"#ind-{first.pk}")
    card.get_by_label("情况说明").fill("断网时写下的草稿")
    card.locator("[data-autosave-status][data-state=offline]").wait_for()
    page.unroute("**/answers/**")
    page.reload()

    page.locator(f"#ind-{first.pk} [data-autosave-status][data-state=saved]").wait_for()
    assert (
        Answer.objects.get(assessment=assessment, indicator=first).explanation == "断网时写下的草稿"
    )


def test_two_assessors_score_and_the_assessment_becomes_scored(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    first_indicator = selectors.indicators_of(assessment=assessment)[0]

    for assignment in assignments:
        page.context.clear_cookies()
        sign_in(page, live_server.url, assignment.assessor.username)
        page.goto(f"{live_server.url}/assessments/{assessment.pk}/score/")
        card = page.locator(f"#ind-{first_indicator.pk}")
        card.get_by_label("3 卓越").check()
        card.get_by_label("评分理由（必填）").fill("服务目录完整，支持自助开通。")
        card.locator("[data-autosave-status][data-state=saved]").wait_for()
        rate_everything(assignment)  # the remaining indicators
        services.rating_save(
            assignment=assignment,
            indicator=first_indicator,
            rating=3,
            rationale="服务目录完整，支持自助开通。",
            acting_user=assignment.assessor,
        )
        page.reload()
        if assignment == assignments[0]:
            screenshot(page, "assessor-scoring-zh")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="提交评分").click()
        page.get_by_role("heading", name="您的评分已提交").wait_for()

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    assert set(Assignment.objects.values_list("state", flat=True)) == {"submitted"}
    assert Rating.objects.get(assignment=assignments[0], indicator=first_indicator).rating == 3
