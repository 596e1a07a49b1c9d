"""The admin's journey in Chromium: read the cockpit, settle a disagreement, approve."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import Organisation, User
from assessments import services
from assessments.models import Assessment, Campaign, Cloud, Evidence
from assessments.selectors import indicators_of
from indicators.models import Framework, Indicator
from indicators.services import default_catalogs_load
from tests.assessments.conftest import answer_everything, rate_everything
from tests.browser_support import screenshot as _screenshot
from tests.browser_support import sign_in
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.browser

OTHER_CLOUDS = [
    ("湖北省政务云楚天云平台", "湖北省人民政府办公厅", "420000", Cloud.Level.PROVINCIAL),
    ("数字广东政务云", "广东省政务服务数据管理局", "440000", Cloud.Level.PROVINCIAL),
    ("嘉兴政务云", "嘉兴市大数据发展管理局", "330400", Cloud.Level.MUNICIPAL),
    ("宿迁政务云", "宿迁市大数据管理局", "321300", Cloud.Level.MUNICIPAL),
]


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot taken with a viewport as tall as the page: Chromium's stitched
    full-page captures of long tables can repeat rows."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    _screenshot(page, name)
    page.set_viewport_size({"width": 1280, "height": 860})


def _evidence(assessment: Assessment, vendor: User, indicators: list[Indicator]) -> None:
    """Evidence rows for the heat map (the upload itself is another journey's test)."""
    for indicator in indicators:
        Evidence.objects.create(
            assessment=assessment,
            indicator=indicator,
            file=f"evidence/{assessment.pk}/{indicator.pk}/report.pdf",
            original_name=f"{indicator.code} 证明材料.pdf",
            size=1024,
            sha256="0" * 64,
            content_type="application/pdf",
            uploaded_by=vendor,
        )


def _scored_with_a_disagreement(
    admin: User, vendor: User, assessors: list[User], owner: Organisation
) -> tuple[Campaign, Assessment, Indicator]:
    """An open campaign of five clouds in several states; 济南's two assessors rate one
    indicator 3 and 1, two steps apart. Everything goes through the workflow services."""
    vendor_org = vendor.organisation
    assert vendor_org is not None
    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
    )
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="2026年政务云综合水平评估",
        year=today.year,
        framework=framework,
        opens_on=today - datetime.timedelta(days=40),
        closes_on=today + datetime.timedelta(days=20),
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state="open", acting_user=admin)
    jinan = services.cloud_create(
        name="济南政务云计算中心",
        owner=owner,
        vendors=[vendor_org],
        level=Cloud.Level.MUNICIPAL,
        acting_user=None,
    )
    others = [
        services.cloud_create(
            name=name,
            owner=OrganisationFactory.create(
                kind=Organisation.Kind.GOVERNMENT, name=org, division_code=code
            ),
            vendors=[vendor_org],
            level=level,
            acting_user=None,
        )
        for name, org, code, level in OTHER_CLOUDS
    ]
    assessment, *rest = services.campaign_add_clouds(
        campaign=campaign, clouds=[jinan, *others], acting_user=admin
    )
    for a in [assessment, *rest[:2]]:
        for assessor in assessors:
            services.assignment_create(assessment=a, assessor=assessor, acting_user=admin)

    answer_everything(assessment, vendor)
    _evidence(assessment, vendor, indicators_of(assessment=assessment)[:16])
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    indicator = next(i for i in indicators_of(assessment=assessment) if i.is_key)
    for assignment, rating, why in zip(
        assessment.assignments.order_by("assigned_at", "id"),
        (3, 1),
        ("双活数据中心，年度容灾演练报告齐全。", "仅见容灾方案，未见演练记录。"),
        strict=True,
    ):
        rate_everything(assignment, rating=2)
        services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=rating,
            rationale=why,
            acting_user=assignment.assessor,
        )
        services.assignment_submit(assignment=assignment, acting_user=assignment.assessor)

    # The others: one submitted and half rated, one half answered, two untouched.
    answer_everything(rest[0], vendor)
    _evidence(rest[0], vendor, indicators_of(assessment=rest[0])[::2])
    services.assessment_submit(assessment=rest[0], acting_user=vendor)
    first = rest[0].assignments.order_by("id").first()
    assert first is not None
    for i in indicators_of(assessment=rest[0])[:9]:
        services.rating_save(
            assignment=first,
            indicator=i,
            rating=None if i.is_mandatory else 2,
            rationale="核实。",
            acting_user=first.assessor,
        )
    for i in indicators_of(assessment=rest[1])[:8]:
        services.answer_save(
            assessment=rest[1],
            indicator=i,
            self_rating=2,
            explanation="自评说明。",
            acting_user=vendor,
        )
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SCORED
    return campaign, assessment, indicator


def test_the_admin_reads_the_cockpit_settles_a_disagreement_and_approves(
    page: Page,
    live_server: LiveServer,
    admin: User,
    vendor: User,
    government_org: Organisation,
) -> None:
    assessors = [
        UserFactory.create(username="expert_li", display_name="李专家", role=User.Role.ASSESSOR),
        UserFactory.create(username="expert_wang", display_name="王专家", role=User.Role.ASSESSOR),
    ]
    campaign, assessment, indicator = _scored_with_a_disagreement(
        admin, vendor, assessors, government_org
    )
    sign_in(page, live_server.url, admin.username)

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    assert page.get_by_role("heading", name=campaign.name).is_visible()
    assert page.locator("[data-testid=heatmap] li.hm-row").count() == 5
    assert page.locator('[data-testid=progress] dd[data-state="scored"]').inner_text() == "1"
    screenshot(page, "admin-cockpit-zh")

    page.click(f"a[href='/assessments/{assessment.pk}/review/'] >> nth=0")
    page.wait_for_url(f"{live_server.url}/assessments/{assessment.pk}/review/")
    disputed = page.locator(f"#indicator-{indicator.pk}")
    assert "is-disagreement" in (disputed.get_attribute("class") or "")
    assert page.locator("[data-testid=unsettled]").is_visible()
    screenshot(page, "admin-review-zh")

    settle = page.locator(f'[data-testid="settle-{indicator.code}"]')
    settle.locator("select").select_option("2")
    settle.locator("textarea").fill("演练方案完备但演练记录不全，取先进级。")
    settle.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "is-settled" in (disputed.get_attribute("class") or "")
    assert page.locator("[data-testid=unsettled]").count() == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approved]")

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.APPROVED
    assert page.locator("main form").count() == 0
    screenshot(page, "admin-review-approved-zh")


def test_the_admin_creates_a_campaign_adds_clouds_and_assigns_assessors(
    page: Page,
    live_server: LiveServer,
    admin: User,
    vendor: User,
    government_org: Organisation,
) -> None:
    vendor_org = vendor.organisation
    assert vendor_org is not None
    default_catalogs_load(acting_user=None)
    jinan = services.cloud_create(
        name="济南政务云计算中心",
        owner=government_org,
        vendors=[vendor_org],
        level=Cloud.Level.MUNICIPAL,
        acting_user=None,
    )
    for name, org, code, level in OTHER_CLOUDS:
        services.cloud_create(
            name=name,
            owner=OrganisationFactory.create(
                kind=Organisation.Kind.GOVERNMENT, name=org, division_code=code
            ),
            vendors=[vendor_org],
            level=level,
            acting_user=None,
        )
    li = UserFactory.create(username="expert_li", display_name="李专家", role=User.Role.ASSESSOR)
    UserFactory.create(username="expert_wang", display_name="王专家", role=User.Role.ASSESSOR)
    UserFactory.create(
        username="expert_zhao",
        display_name="赵专家",
        role=User.Role.ASSESSOR,
        organisation=vendor_org,
    )
    services.conflict_declare(
        assessor=li, organisation=government_org, reason="曾任济南市大数据局顾问", acting_user=admin
    )
    sign_in(page, live_server.url, admin.username)

    page.goto(f"{live_server.url}/campaigns/new/")
    page.fill("#id_name", "2027年政务云综合水平评估")
    page.fill("#id_year", "2027")
    page.fill("#id_opens_on", "2027-05-31")
    page.fill("#id_closes_on", "2027-03-01")
    page.click("[data-testid=campaign-form] button[type=submit]")
    assert page.locator(".field--error").count() == 1
    assert not Campaign.objects.exists()
    screenshot(page, "admin-campaign-form-error-zh")

    page.fill("#id_opens_on", "2027-03-01")
    page.fill("#id_closes_on", "2027-05-31")
    page.click("[data-testid=campaign-form] button[type=submit]")
    campaign = Campaign.objects.get()
    page.wait_for_url(f"{live_server.url}/campaigns/{campaign.pk}/")

    page.click(f"a[href='/campaigns/{campaign.pk}/clouds/']")
    screenshot(page, "admin-add-clouds-zh")
    page.check(f"input[name=clouds][value='{jinan.pk}']")
    page.locator("fieldset", has_text="湖北").locator("[data-select-group]").check()
    page.click("[data-testid=add-clouds] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/campaigns/{campaign.pk}/")
    assert campaign.assessments.count() == 2

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=next-state]")
    page.wait_for_load_state()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.OPEN

    assessment = campaign.assessments.get(cloud=jinan)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/assessors/")
    conflicts = page.locator("[data-testid=conflicts]")
    assert "曾任济南市大数据局顾问" in conflicts.inner_text()
    assert "赵专家" in conflicts.inner_text()
    page.select_option("#id_assessor", str(li.pk))
    page.click("[data-testid=assign-form] button[type=submit]")
    assert "利益冲突" in page.locator("[role=alert]").first.inner_text()
    screenshot(page, "admin-assessors-conflict-zh")

    page.select_option("#id_assessor", label="王专家 · —")
    page.click("[data-testid=assign-form] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/assessments/{assessment.pk}/assessors/")
    assert [a.assessor.username for a in assessment.assignments.all()] == ["expert_wang"]

    page.goto(f"{live_server.url}/campaigns/")
    assert page.locator("[data-testid=campaign-list]").is_visible()
    screenshot(page, "admin-campaign-list-zh")
