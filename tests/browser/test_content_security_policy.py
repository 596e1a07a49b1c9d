# ruff: noqa: F811 (the workflow fixtures are imported, then requested by name)
"""The pages that run scripts work under the Content-Security-Policy, in Chromium: nothing
they do is refused (an inline script, an inline handler or a style attribute, in the page or
added by a script later) and no script fails. Each role's JavaScript pages: the sign-in, the
vendor's answers with autosave and an evidence upload, the assessor's scoring with autosave,
the admin's cockpit with its heat map, the Django admin's two-list selector and an error page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment
from assessments.selectors import indicators_of
from tests.assessments.conftest import (  # noqa: F401 (fixtures)
    answer_everything,
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
)
from tests.assessments.evidence_files import PNG
from tests.browser_support import sign_in

pytestmark = pytest.mark.browser

# Added to every document before its own scripts: each violation the browser reports is kept
# on the page (read by ``Watcher.check``) and logged.
LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const what = `${event.effectiveDirective} refused ${event.blockedURI || "inline"}` +
    ` (${event.sourceFile || document.location.pathname}:${event.lineNumber})`;
  window.__cspViolations.push(what);
  console.error("csp-violation: " + what);
});
"""


class Watcher:
    """Collects what the policy refused and the scripts' uncaught errors on ``page``."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: list[str] = []
        page.add_init_script(LISTENER)
        page.on("console", self._console)
        page.on("pageerror", self._error)

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium's own report of a refusal, in case a page replaced the listener's document.
        text = message.text
        if "Content Security Policy" in text and not text.startswith("csp-violation: "):
            self.found.append(f"{self.page.url}: {text}")

    def _error(self, error: Error) -> None:
        self.found.append(f"{self.page.url}: uncaught {error}")

    def check(self) -> list[str]:
        """What was refused on the current page so far (and anything collected before)."""
        refused = self.page.evaluate("(window.__cspViolations || []).splice(0)")
        self.found.extend(f"{self.page.url}: {what}" for what in refused)
        return self.found


@pytest.fixture(autouse=True)
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def test_the_watcher_sees_what_the_policy_refuses(page: Page, live_server: LiveServer) -> None:
    watcher = Watcher(page)
    page.goto(f"{live_server.url}/login/")

    # As a careless script would: markup with a style attribute and an inline handler.
    page.evaluate(
        """() => document.body.insertAdjacentHTML("beforeend",
            '<span style="color: red">x</span><img src="data:," onload="window.ran = 1">')"""
    )
    # Polled with evaluate: wait_for_function's polling uses eval(), which the policy refuses.
    deadline = time.monotonic() + 10
    while page.evaluate("window.__cspViolations.length") < 2:
        assert time.monotonic() < deadline, "no violation was reported"
        page.wait_for_timeout(50)

    refused = " ".join(watcher.check())
    assert "style-src-attr" in refused and "script-src-attr" in refused
    assert page.evaluate("window.ran") is None


def test_the_javascript_pages_of_every_role_run_without_a_refusal(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    assessor: User,
    admin: User,
    tmp_path: Path,
) -> None:
    base = live_server.url
    watcher = Watcher(page)
    first, second = indicators_of(assessment=assessment)[:2]

    # Anyone: the sign-in page and an error page with its "Go back" button.
    page.goto(f"{base}/login/")
    page.goto(f"{base}/no-such-page/")
    expect(page.locator("[data-history-back]")).to_be_visible()
    assert watcher.check() == []

    # The vendor answers (autosave) and uploads evidence (the new row comes as HTML).
    sign_in(page, base, vendor.username)
    page.goto(f"{base}/assessments/{assessment.pk}/")
    card = page.locator(f"#ind-{second.pk}")
    card.locator("textarea").first.fill("提供IaaS与数据库、中间件等基础PaaS服务。")
    card.locator("[data-autosave-status][data-state=saved]").wait_for()
    section = page.locator(f"#evidence-{first.pk}")
    section.locator("[data-evidence-valid]").fill("2027-12-31")
    upload = tmp_path / "机房照片.png"
    upload.write_bytes(PNG)
    section.locator("[data-evidence-input]").set_input_files(str(upload))
    expect(section.locator("[data-evidence-id]")).to_have_count(1, timeout=30_000)
    assert watcher.check() == []

    # The assessor rates (autosave) once the vendor has submitted (the vendor's page closed
    # first: its autosave would post the half-typed answer again).
    page.goto(f"{base}/")
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    page.context.clear_cookies()
    sign_in(page, base, assessor.username)
    page.goto(f"{base}/assessments/{assessment.pk}/score/")
    card = page.locator(f"#ind-{second.pk}")
    card.locator("input[type=radio]").first.check()
    card.locator("textarea[name=rationale]").fill("依据佐证材料核实。")
    card.locator("[data-autosave-status][data-state=saved]").wait_for()
    assert watcher.check() == []

    # The admin: the cockpit's heat map and progress bar, then the Django admin's selector.
    page.context.clear_cookies()
    sign_in(page, base, admin.username)
    page.goto(f"{base}/campaigns/{assessment.campaign_id}/")
    expect(page.locator("[data-heatmap] canvas").first).to_be_visible()
    expect(page.locator(".progress-bar__part").first).to_be_visible()
    page.goto(f"{base}/admin/assessments/cloud/{assessment.cloud_id}/change/")
    expect(page.locator(".selector-available").first).to_be_visible()
    assert watcher.check() == []
