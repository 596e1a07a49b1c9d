"""No page is wider than the screen: every role's main pages at 1366×768 (an office laptop) and
390×844 (a phone, for on-site inspections), on the demo data (37 clouds in every state).

A page fails when ``document.documentElement.scrollWidth`` exceeds ``window.innerWidth``; the
message names the widest elements that stick out, so the culprit is found without a screenshot.
The key pages are also saved under var/screenshots/ for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments.models import Assessment, Campaign, Cloud
from demo.accounts import DEMO_PASSWORD
from indicators.models import Framework
from reports.models import Ranking, Report
from tests.browser_support import screenshot, sign_in
from tests.reports.certified.fixtures import signing_files, signing_key  # noqa: F401

pytestmark = pytest.mark.browser

SIZES = [(1366, 768), (390, 844)]

# The elements that reach past the right edge, widest first (a fixed-size list keeps the
# message short).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      const classes = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes;
      out.push([Math.round(box.right), name]);
    }
  }
  out.sort((a, b) => b[0] - a[0]);
  return {scroll: document.documentElement.scrollWidth, width: width, widest: out.slice(0, 5)};
}"""

# Pages worth a look at both sizes (the long forms, the review, the tables).
SHOTS = {"score", "vendor_form", "review", "campaign", "audit", "ranking_admin", "reports"}


def _url(name: str, *args: object) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a page another part of the portal does not have (yet)
        return None


def _pages() -> dict[str | None, dict[str, str | None]]:
    """Each role's main pages on the demo data: {username: {label: path}}."""
    campaign = Campaign.objects.filter(is_demo=True).order_by("-year").first()
    assert campaign is not None, "load_demo made no campaign"
    demo = Assessment.objects.filter(campaign=campaign)
    vendor, owner = (User.objects.get(username=u) for u in ("vendor1", "owner1"))
    in_review = demo.filter(state=Assessment.State.IN_REVIEW).first()
    submitted = demo.filter(state=Assessment.State.SUBMITTED).first()
    approved = demo.filter(state=Assessment.State.APPROVED).first()
    assert in_review and submitted and approved
    vendor_clouds = Cloud.objects.filter(vendors=vendor.organisation)
    vendor_draft = demo.filter(
        cloud__in=vendor_clouds, state__in=[Assessment.State.DRAFT, Assessment.State.RETURNED]
    ).first()
    vendor_any = demo.filter(cloud__in=vendor_clouds).exclude(pk=getattr(vendor_draft, "pk", 0))
    owned = demo.filter(cloud__owner=owner.organisation).first()
    report = Report.objects.filter(state=Report.State.READY).first()
    ranking = Ranking.objects.exclude(state=Ranking.State.DRAFT).order_by("-year").first()
    framework = Framework.objects.filter(state=Framework.State.PUBLISHED).first()
    assert vendor_draft and owned and report and ranking and framework
    reports_of = report.assessment_id
    return {
        "admin": {
            "dashboard": _url("dashboard"),
            "assessments": _url("assessments:list"),
            "campaigns": _url("assessments:campaign_list"),
            "campaign": _url("assessments:campaign_detail", campaign.pk),
            "scoring": _url("scoring:campaign_scoring", campaign.pk),
            "ranking_admin": _url("rankings:admin", campaign.pk),
            "review": _url("assessments:assessment_review", in_review.pk),
            "assessment": _url("assessments:detail", approved.pk),
            "assessors": _url("assessments:assessment_assessors", in_review.pk),
            "reports": _url("certified:assessment_reports", reports_of),
            "report_list": _url("certified:report_list"),
            "result": _url("scoring:assessment_result", approved.pk),
            "evidence": _url("assessments:evidence_list", submitted.pk),
            "catalogs": _url("indicators:framework_list"),
            "catalog": _url("indicators:framework_detail", framework.code, framework.version),
            "clouds": _url("assessments:cloud_list"),
        },
        "assessor1": {
            "dashboard": _url("dashboard"),
            "assessments": _url("assessments:list"),
            "score": _url("assessments:score", submitted.pk),
            "score_read_only": _url("assessments:score", approved.pk),
            "assessment": _url("assessments:detail", submitted.pk),
        },
        "vendor1": {
            "dashboard": _url("dashboard"),
            "assessments": _url("assessments:list"),
            "vendor_form": _url("assessments:detail", vendor_draft.pk),
            **{f"vendor_{a.pk}": _url("assessments:detail", a.pk) for a in vendor_any[:2]},
        },
        "owner1": {
            "dashboard": _url("dashboard"),
            "assessments": _url("assessments:list"),
            "owned": _url("assessments:detail", owned.pk),
            "objections": _url("rankings:objections", ranking.year, ranking.slug),
        },
        "auditor": {
            "dashboard": _url("dashboard"),
            "audit": _url("audit:event_list"),
        },
        None: {
            "sign_in": _url("accounts:login"),
            "rankings": _url("rankings:index"),
            "ranking": _url("rankings:public", ranking.year, ranking.slug),
            "verify_lookup": _url("certified:verify_lookup"),
            "verify": _url("certified:verify", report.verification_code),
        },
    }


@pytest.fixture
def demo(settings: Settings, tmp_path: Path, signing_key: Path) -> None:  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("load_default_catalogs", verbosity=0)
    call_command("load_demo", verbosity=0)


def test_no_page_of_any_role_is_wider_than_the_screen(
    demo: None, browser: Browser, live_server: LiveServer, transactional_db: None
) -> None:
    from notifications.models import Notification

    # The demo's history is listed in the notifications, as read: the menu counts none.
    assert Notification.objects.exists()
    assert not Notification.objects.filter(read_at=None).exists()
    pages = _pages()
    problems: list[str] = []
    visited = 0
    for width, height in SIZES:
        for username, urls in pages.items():
            context = browser.new_context(
                locale="zh-CN", viewport={"width": width, "height": height}
            )
            context.set_default_timeout(20_000)
            page: Page = context.new_page()
            if username:
                sign_in(page, live_server.url, username, DEMO_PASSWORD)
            for label, path in urls.items():
                if path is None:
                    continue
                response = page.goto(live_server.url + path)
                assert response is not None and response.status == 200, (username, path)
                page.wait_for_load_state("load")
                measured = page.evaluate(OVERFLOW)
                visited += 1
                if measured["scroll"] > measured["width"]:
                    problems.append(
                        f"{width}×{height} {username or 'anonymous'} {path}: "
                        f"{measured['scroll']} px wide in {measured['width']}; "
                        f"widest: {measured['widest']}"
                    )
                if label in SHOTS:
                    screenshot(page, f"width-{width}-{username or 'anonymous'}-{label}")
            context.close()
    assert visited >= 2 * 30
    assert not problems, "\n".join(problems)


@pytest.fixture
def vendor_draft(transactional_db: None) -> Assessment:
    """The demo accounts and one open campaign in which vendor1 has a draft (the whole demo is
    not needed here, and takes a minute to load)."""
    import datetime

    from assessments import services

    call_command("load_default_catalogs", verbosity=0)
    call_command("load_demo", "--accounts-only", verbosity=0)
    admin = User.objects.get(username="admin")
    vendor = User.objects.get(username="vendor1")
    assert vendor.organisation is not None
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="导航测试批次",
        year=today.year,
        framework=Framework.objects.get(
            kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
        ),
        opens_on=today - datetime.timedelta(days=5),
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state="open", acting_user=admin)
    owner = User.objects.get(username="owner1").organisation
    assert owner is not None
    cloud = services.cloud_create(
        name="导航测试政务云",
        owner=owner,
        vendors=[vendor.organisation],
        level=Cloud.Level.MUNICIPAL,
        acting_user=admin,
    )
    (draft,) = services.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
    return draft


def test_the_long_forms_navigation_follows_the_autosave(
    vendor_draft: Assessment, browser: Browser, live_server: LiveServer
) -> None:
    """The vendor's form on a phone: the indicator list starts folded at the top of the screen;
    answering an indicator turns its mark from missing to answered once the autosave saved."""
    draft = vendor_draft
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server.url, "vendor1", DEMO_PASSWORD)
    page.goto(live_server.url + reverse("assessments:detail", args=[draft.pk]))

    nav_box = page.locator("[data-indicator-nav-box]")
    assert nav_box.get_attribute("open") is None  # folded on a phone
    first_todo = page.locator("[data-nav-item][data-state='todo']").first
    indicator_id = first_todo.get_attribute("data-nav-item")
    done_before = int(page.locator("[data-nav-done-count]").inner_text())

    article = page.locator(f"#ind-{indicator_id}")
    radios = article.locator("input[type=radio]")
    radios.last.check()
    value = article.locator("input[name=value]")
    if value.count():
        value.fill("99.9")
    article.locator("textarea[name=explanation]").fill("（测试）已按要求提供全部佐证材料。")
    # Not wait_for_function: its polling evaluates with eval(), which the pages'
    # Content-Security-Policy refuses.
    expect(page.locator(f"[data-nav-item='{indicator_id}']")).to_have_attribute(
        "data-state", "done", timeout=15_000
    )
    assert int(page.locator("[data-nav-done-count]").inner_text()) == done_before + 1

    page.locator(".indicator-nav__summary").click()  # unfold, then jump
    page.locator(f"[data-nav-item='{indicator_id}'] a").click()
    assert nav_box.get_attribute("open") is None  # folded again to show the form
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
