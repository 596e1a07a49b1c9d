"""Rescuing a live campaign in Chromium: a late vendor's draft reopened after the review started
(the vendor then submits), an assessor replaced mid-campaign (the new one rates; the old one's
ratings no longer count), a cloud registered in the browser and added late, then excluded with
a reason, and the campaign closed."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import Organisation, User
from assessments import selectors, services
from assessments.models import Assessment, Assignment, Campaign, Cloud
from audit.models import AuditEvent
from indicators.models import Framework
from indicators.services import default_catalogs_load
from tests.assessments.conftest import answer_everything, rate_everything
from tests.browser_support import screenshot, sign_in
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.browser


def _page_for(browser: Browser, base_url: str, user: User) -> Page:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, base_url, user.username)
    return page


def _campaign_in_review(
    admin: User, vendor: User, owner: Organisation, assessors: list[User]
) -> tuple[Campaign, Assessment, Assessment]:
    """A campaign whose window closed three days ago, now in review: 济南 is a complete draft
    its vendor never submitted; 嘉兴 is scored by one assessor (2 everywhere) while the other,
    who rated 0 everywhere, has not submitted."""
    vendor_org = vendor.organisation
    assert vendor_org is not None
    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
    )
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="2026年政务云综合水平评估（补救演练）",
        year=today.year,
        framework=framework,
        opens_on=today - datetime.timedelta(days=40),
        closes_on=today - datetime.timedelta(days=3),
        scoring_due_on=today + datetime.timedelta(days=20),
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state="open", acting_user=admin)
    clouds = [
        services.cloud_create(
            name=name,
            owner=owner
            if code == "370100"
            else OrganisationFactory.create(
                kind=Organisation.Kind.GOVERNMENT, name=org, division_code=code
            ),
            vendors=[vendor_org],
            level=Cloud.Level.MUNICIPAL,
            acting_user=None,
        )
        for name, org, code in (
            ("济南政务云计算中心", "", "370100"),
            ("嘉兴政务云", "嘉兴市大数据发展管理局", "330400"),
        )
    ]
    late, rated = services.campaign_add_clouds(campaign=campaign, clouds=clouds, acting_user=admin)
    for assessment in (late, rated):
        for assessor in assessors[:2]:
            services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)
    answer_everything(late, vendor)  # complete, but never submitted
    answer_everything(rated, vendor)
    services.assessment_submit(assessment=rated, acting_user=vendor)
    first, second = rated.assignments.order_by("assigned_at", "id")
    rate_everything(first, rating=0)  # the assessor about to be replaced
    rate_everything(second, rating=2)
    services.assignment_submit(assignment=second, acting_user=second.assessor)
    services.campaign_set_state(campaign=campaign, state="reviewing", acting_user=admin)
    return campaign, late, rated


def test_the_office_rescues_a_stuck_campaign_and_closes_it(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    admin: User,
    vendor: User,
    government_org: Organisation,
) -> None:
    assessors = [
        UserFactory.create(username="expert_li", display_name="李专家", role=User.Role.ASSESSOR),
        UserFactory.create(username="expert_wang", display_name="王专家", role=User.Role.ASSESSOR),
        UserFactory.create(username="expert_zhao", display_name="赵专家", role=User.Role.ASSESSOR),
    ]
    campaign, late, rated = _campaign_in_review(admin, vendor, government_org, assessors)
    base = live_server.url
    vendor_page = _page_for(browser, base, vendor)

    # The late vendor's form is locked, and the page says why.
    vendor_page.goto(f"{base}/assessments/{late.pk}/")
    answer = vendor_page.locator('[data-testid=next-actions] [data-action="answer"]')
    assert answer.get_attribute("data-allowed") == "no"
    assert late.campaign.closes_on.isoformat() in answer.inner_text()

    # 1. The office reopens the draft with a reason and a new deadline.
    sign_in(page, base, admin.username)
    page.goto(f"{base}/assessments/{late.pk}/review/")
    page.click('[data-testid=next-actions] [data-action="reopen"] a')
    new_deadline = datetime.date.today() + datetime.timedelta(days=7)
    page.fill("#id_reason", "云服务商系统割接导致逾期，同意延期一周。")
    page.fill("#id_due_on", new_deadline.isoformat())
    screenshot(page, "rescue-reopen-zh")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=operation-form] button[type=submit]")
    page.wait_for_url(f"{base}/assessments/{late.pk}/review/")

    # The vendor sees why and until when, and submits.
    vendor_page.goto(f"{base}/assessments/{late.pk}/")
    notice = vendor_page.locator("[data-testid=next-notice]").inner_text()
    assert "云服务商系统割接导致逾期" in notice and new_deadline.isoformat() in notice
    screenshot(vendor_page, "rescue-vendor-reopened-zh")
    vendor_page.once("dialog", lambda dialog: dialog.accept())
    vendor_page.click("#submit button[type=submit]")
    vendor_page.wait_for_load_state()
    late.refresh_from_db()
    assert late.state == Assessment.State.SUBMITTED

    # 2. The office replaces the assessor who never submitted on 嘉兴.
    old = rated.assignments.order_by("assigned_at", "id")[0]
    page.goto(f"{base}/assessments/{rated.pk}/assessors/")
    page.click(f"[data-testid=replace-{old.assessor.username}]")
    page.select_option("#id_replacement", str(assessors[2].pk))
    page.fill("#id_reason", "李专家长期出差，无法按期完成评分。")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=operation-form] button[type=submit]")
    page.wait_for_url(f"{base}/assessments/{rated.pk}/assessors/")
    assert "李专家" in page.locator("[data-testid=removed]").inner_text()
    screenshot(page, "rescue-assessor-replaced-zh")

    # The old assessor can no longer open it; the new one rates and submits.
    old_page = _page_for(browser, base, old.assessor)
    response = old_page.goto(f"{base}/assessments/{rated.pk}/score/")
    assert response is not None and response.status == 404
    new = Assignment.objects.get(assessment=rated, assessor=assessors[2])
    rate_everything(new, rating=2)
    new_page = _page_for(browser, base, assessors[2])
    new_page.goto(f"{base}/assessments/{rated.pk}/score/")
    new_page.once("dialog", lambda dialog: dialog.accept())
    new_page.click(f"form[action='/assessments/{rated.pk}/score/submit/'] button")
    new_page.wait_for_load_state()
    rated.refresh_from_db()
    assert rated.state == Assessment.State.SCORED
    # The old 0s would be a disagreement with the 2s; they no longer count.
    assert selectors.unsettled_disagreements(assessment=rated) == []

    page.goto(f"{base}/assessments/{rated.pk}/review/")
    assert page.locator("[data-testid=removed-assessor]").count() == 1
    assert page.locator("td.is-removed").count() > 0
    screenshot(page, "rescue-review-struck-out-zh")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approved]")

    # 济南's assessors score it; the office approves it.
    for assignment in late.assignments.all():
        rate_everything(assignment, rating=2)
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)
    services.assessment_approve(assessment=late, acting_user=admin)

    # 3. A new city joins late: the office registers 宿迁's cloud in the browser and adds it to
    # the campaign in review, with a deadline for its vendor.
    assert vendor.organisation is not None
    page.goto(f"{base}/clouds/new/")
    page.fill("#id_name", "宿迁政务云")
    page.check("input[name=level][value=municipal]")
    page.fill("#id_new_owner_name", "宿迁市大数据管理局")
    page.fill("#id_new_owner_division_code", "321300")
    page.check(f"input[name=vendors][value='{vendor.organisation.pk}']")
    page.click("[data-testid=cloud-save]")
    page.wait_for_url(f"{base}/clouds/*/")
    joined = Cloud.objects.get(name="宿迁政务云")
    page.goto(f"{base}/campaigns/{campaign.pk}/clouds/")
    # The page says the cloud joins late, and asks for its vendor's deadline.
    assert page.locator("[data-testid=joins-late]").count() == 1
    assert page.locator("#id_due_on").get_attribute("required") is not None
    joined_due = datetime.date.today() + datetime.timedelta(days=14)
    page.check(f"input[name=clouds][value='{joined.pk}']")
    page.fill("#id_due_on", joined_due.isoformat())
    page.click("[data-testid=add-clouds] button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/")
    dropped = Assessment.objects.get(campaign=campaign, cloud=joined)
    assert dropped.state == Assessment.State.DRAFT and dropped.due_on == joined_due
    # Its vendor may fill it in, although the campaign's own window has closed.
    vendor_page.goto(f"{base}/assessments/{dropped.pk}/")
    answer = vendor_page.locator('[data-testid=next-actions] [data-action="answer"]')
    assert answer.get_attribute("data-allowed") == "yes"

    # 4. Closing lists 宿迁, which the office excludes with a reason; then the campaign closes.
    page.goto(f"{base}/campaigns/{campaign.pk}/")
    page.click("[data-testid=next-state]")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/close/")
    rows = page.locator("[data-testid=unfinished] tbody tr")
    assert rows.count() == 1 and "宿迁政务云" in rows.inner_text()
    screenshot(page, "rescue-close-blocked-zh")
    page.click(f"[data-testid=exclude-{dropped.pk}]")
    page.fill("#id_reason", "该云平台本年度停止运营，退出评估。")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=operation-form] button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/")

    page.goto(f"{base}/campaigns/{campaign.pk}/close/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=close-form] button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/")
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CLOSED
    dropped.refresh_from_db()
    assert dropped.state == Assessment.State.EXCLUDED
    assert dropped.excluded_reason == "该云平台本年度停止运营，退出评估。"
    assert [
        e.action
        for e in AuditEvent.objects.filter(
            action__in=[
                "assessments.assessment.reopened",
                "assessments.assignment.replaced",
                "assessments.assessment.excluded",
                "assessments.campaign.closed",
            ]
        ).order_by("pk")
    ] == [
        "assessments.assessment.reopened",
        "assessments.assignment.replaced",
        "assessments.assessment.excluded",
        "assessments.campaign.closed",
    ]
    screenshot(page, "rescue-campaign-closed-zh")
