"""The public verification page and the reports card in Chromium, with screenshots."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from reports.models import Report
from tests.browser_support import screenshot, sign_in
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.pdf_variants import append_annotation

pytestmark = pytest.mark.browser


def test_a_visitor_verifies_a_report_and_compares_its_pdf(
    page: Page,
    live_server: LiveServer,
    issued: Report,
    tmp_path: Path,  # noqa: F811
) -> None:
    page.goto(f"{live_server.url}/verify/")
    page.fill("#code", issued.verification_code_display.lower())
    page.click(".verify__form button[type=submit]")
    page.wait_for_url(f"**/verify/{issued.verification_code}/")
    assert issued.number in page.inner_text("h1")
    copy = tmp_path / "copy.pdf"
    with issued.file.open("rb") as handle:
        copy.write_bytes(handle.read())
    page.set_input_files("#file", str(copy))
    page.click(".verify__compare button[type=submit]")
    page.wait_for_selector(".verify__compare .verify__verdict--ok")
    screenshot(page, "verify_identical")


def test_a_visitor_uploads_a_report_changed_after_signing_and_is_told_so(
    page: Page,
    live_server: LiveServer,
    issued: Report,
    tmp_path: Path,  # noqa: F811
) -> None:
    with issued.file.open("rb") as handle:
        tampered = append_annotation(handle.read())
    forged = tmp_path / f"{issued.number}.pdf"
    forged.write_bytes(tampered)
    page.goto(f"{live_server.url}/verify/{issued.verification_code}/")

    page.set_input_files("#file", str(forged))
    page.click(".verify__compare button[type=submit]")

    page.wait_for_selector(".verify__compare .verify__verdict--bad[data-verdict=modified]")
    signature = page.inner_text(".verify__signature")
    assert "CN=govcloud_eval tests" in signature
    assert hashlib.sha256(tampered).hexdigest() in signature
    screenshot(page, "verify_modified_after_signing")


def test_the_admin_sees_the_reports_card(
    page: Page,
    live_server: LiveServer,
    issued: Report,
    admin: User,  # noqa: F811
) -> None:
    sign_in(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/assessments/{issued.assessment_id}/reports/")
    assert issued.number in page.inner_text("#certified-reports")
    screenshot(page, "certified_reports_admin")
