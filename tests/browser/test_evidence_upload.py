# ruff: noqa: F811 (the workflow fixtures are imported, then requested by name)
"""The vendor uploads evidence in the browser: a real progress bar while the bytes go up, the
new row (with its SHA-256) without a reload, several files dropped at once with errors shown
inline; the assessor then sees the files with preview links."""

from __future__ import annotations

import datetime
import hashlib
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments.evidence.services import evidence_upload
from assessments.models import Assessment, Assignment, Evidence
from assessments.selectors import indicators_of
from tests.assessments.conftest import (  # noqa: F401 (fixtures)
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
)
from tests.assessments.evidence_files import PDF, PNG
from tests.browser_support import SCREENSHOT_DIR, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def section_screenshot(locator: Locator, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    locator.screenshot(path=str(path))
    return path


def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Slows the browser's uploads so that the progress bar has time to be seen."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def test_the_vendor_uploads_a_file_with_a_visible_progress_bar(
    page: Page, live_server: LiveServer, assessment: Assessment, vendor: User, tmp_path: Path
) -> None:
    indicator = indicators_of(assessment=assessment)[0]
    content = b"%PDF-1.7\n" + os.urandom(4 * 1024 * 1024)
    path = tmp_path / "等保三级测评报告.pdf"
    path.write_bytes(content)
    sign_in(page, live_server.url, vendor.username)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    section = page.locator(f"#evidence-{indicator.pk}")
    section.locator("[data-evidence-valid]").fill("2027-12-31")
    throttle_uploads(page, 1024 * 1024)

    section.locator("[data-evidence-input]").set_input_files(str(path))

    bar = section.locator(".upload-item progress")
    expect(bar).to_be_visible()
    # Polled from here, not with wait_for_function: its polling evaluates with eval(), which
    # the pages' Content-Security-Policy refuses.
    deadline = time.monotonic() + 20
    while not 20 <= bar.evaluate("bar => bar.value") < 90:
        assert time.monotonic() < deadline, "the bar never showed the upload under way"
        page.wait_for_timeout(50)
    status = section.locator(".upload-item__status")
    expect(status).to_contain_text("%")
    expect(status).to_contain_text("MB / 4.0 MB")
    section.scroll_into_view_if_needed()
    section_screenshot(section, "evidence-upload-progress")

    sha256 = hashlib.sha256(content).hexdigest()
    row = section.locator("[data-evidence-id]")
    expect(row).to_have_count(1, timeout=30_000)
    assert bar.evaluate("bar => bar.value") == 100
    expect(row).to_contain_text("等保三级测评报告.pdf")
    expect(row).to_contain_text("4.0 MB")
    expect(row.locator(f'code[title="{sha256}"]')).to_be_visible()
    expect(section.locator(".upload-item--done")).to_be_visible()
    section_screenshot(section, "evidence-upload-done")
    item = Evidence.objects.get()
    assert item.sha256 == sha256
    assert item.size == len(content)
    assert item.valid_until == datetime.date(2027, 12, 31)


def test_several_dropped_files_upload_one_by_one_and_errors_show_inline(
    page: Page, live_server: LiveServer, assessment: Assessment, vendor: User
) -> None:
    indicator = indicators_of(assessment=assessment)[1]
    sign_in(page, live_server.url, vendor.username)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    section = page.locator(f"#evidence-{indicator.pk}")
    zone = section.locator("[data-dropzone]")

    data_transfer = page.evaluate_handle(
        """([pdf, png]) => {
            const dt = new DataTransfer();
            const file = (parts, name) => new File(parts, name);
            dt.items.add(file([new Uint8Array(pdf)], "机房巡检记录.pdf"));
            dt.items.add(file([new Uint8Array(png)], "伪装成PDF.pdf"));
            dt.items.add(file(["部门,系统数\\n办公厅,12\\n"], "上云统计.csv"));
            return dt;
        }""",
        [list(PDF), list(PNG)],
    )
    zone.dispatch_event("dragover", {"dataTransfer": data_transfer})
    expect(zone).to_have_class("dropzone dropzone--over")
    zone.dispatch_event("drop", {"dataTransfer": data_transfer})

    rows = section.locator("[data-evidence-id]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("机房巡检记录.pdf")
    expect(rows.nth(1)).to_contain_text("上云统计.csv")
    error = section.locator(".upload-item--error [role=alert]")
    expect(error).to_contain_text("伪装成PDF.pdf")
    expect(error).to_contain_text(".pdf")
    expect(section.locator("[data-evidence-count]")).to_have_text("2")
    section.scroll_into_view_if_needed()
    section_screenshot(section, "evidence-upload-several")
    assert Evidence.objects.count() == 2


def test_the_assessor_sees_the_evidence_with_preview_links_and_expiry_warnings(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    vendor: User,
    assessor: User,
    assignments: list[Assignment],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    indicators = indicators_of(assessment=assessment)
    reference = assessment.campaign.evidence_reference_date
    evidence_upload(
        assessment=assessment,
        indicator=indicators[0],
        upload=SimpleUploadedFile("等保备案证明.pdf", PDF),
        issued_on=reference - datetime.timedelta(days=700),
        valid_until=reference - datetime.timedelta(days=3),
        acting_user=vendor,
    )
    evidence_upload(
        assessment=assessment,
        indicator=indicators[0],
        upload=SimpleUploadedFile("控制台截图.png", PNG),
        acting_user=vendor,
    )
    sign_in(page, live_server.url, assessor.username)

    page.goto(f"{live_server.url}/assessments/{assessment.pk}/evidence/")

    section = page.locator(f"#evidence-{indicators[0].pk}")
    expect(section.locator(".badge--warn")).to_have_count(1)
    expect(section.locator('a[href$="/preview/"]')).to_have_count(2)
    expect(page.locator("[data-dropzone]")).to_have_count(0)
    screenshot(page, "evidence-page-assessor")

    with page.context.expect_page() as opened:
        section.locator('a[href$="/preview/"]').first.click()
    preview = opened.value
    preview.wait_for_load_state()
    assert "/preview/" in preview.url
    preview.wait_for_timeout(2500)
    screenshot(preview, "evidence-preview-assessor")


def test_a_real_pdf_opens_in_the_browsers_viewer(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    vendor: User,
    assessor: User,
    assignments: list[Assignment],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from weasyprint import HTML

    pdf = HTML(string="<h1>等保三级测评报告</h1><p>预览测试</p>").write_pdf()
    item = evidence_upload(
        assessment=assessment,
        indicator=indicators_of(assessment=assessment)[0],
        upload=SimpleUploadedFile("测评报告.pdf", pdf),
        acting_user=vendor,
    )
    sign_in(page, live_server.url, assessor.username)

    # A sandboxed PDF never finishes loading in Chromium; this one must.
    response = page.goto(f"{live_server.url}/evidence/{item.pk}/preview/")

    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    page.wait_for_timeout(2500)  # the viewer draws the page a moment after the load
    screenshot(page, "evidence-preview-pdf")
