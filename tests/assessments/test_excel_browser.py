"""The score sheet in Chromium: a sheet with bad cells lists them; the corrected sheet saves."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Rating
from assessments.scoresheet.workbook import SHEET, score_sheet_build
from tests.assessments.conftest import answer_everything
from tests.browser_support import SCREENSHOT_DIR, screenshot, sign_in

pytestmark = pytest.mark.browser


def _sheet_with(assignment: Assignment, path: Path, **cells: str | int) -> Path:
    workbook = load_workbook(io.BytesIO(score_sheet_build(assignment=assignment)))
    for ref, value in cells.items():
        workbook[SHEET][ref] = value
    workbook.save(path)
    return path


def test_an_assessor_sees_every_bad_cell_then_uploads_the_corrected_sheet(
    page: Page,
    live_server: LiveServer,
    assessment: Assessment,
    assignments: list[Assignment],
    vendor: User,
    assessor: User,
    tmp_path: Path,
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assignment = assignments[0]
    bad = _sheet_with(
        assignment,
        tmp_path / "评分表-有错.xlsx",
        G11=4,
        H11="服务目录完整。",
        G12=2,
        B13="9.9",
        G14="优秀",
        H14="理由",
    )
    good = _sheet_with(
        assignment, tmp_path / "评分表.xlsx", G11=3, H11="服务目录完整。", G12=2, H12="可用性达标。"
    )

    sign_in(page, live_server.url, assessor.username)
    scoring_url = f"{live_server.url}/assessments/{assessment.pk}/score/"
    page.goto(scoring_url)
    card = page.locator("[data-testid=score-sheet]")
    assert card.is_visible()
    with page.expect_download() as download:
        card.locator("[data-testid=score-sheet-download]").click()
    assert download.value.suggested_filename.startswith("评分表_济南政务云计算中心_")
    page.locator(".submit-card").screenshot(path=str(SCREENSHOT_DIR / "excel_score_sheet_card.png"))

    page.set_input_files("#score-sheet-file", str(bad))
    card.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=score-sheet-errors]")

    errors = page.locator("[data-testid=score-sheet-errors] li").all_inner_texts()
    assert [e.split("：")[0].split(":")[0] for e in errors] == [
        "评分表!G11",
        "评分表!H12",
        "评分表!B13",
        "评分表!G14",
    ]
    screenshot(page, "excel_upload_errors")
    assert not Rating.objects.exists()

    page.set_input_files("#score-sheet-file", str(good))
    page.locator("[data-testid=score-sheet] button[type=submit]").click()
    page.wait_for_url(scoring_url)

    assert page.locator(".message--success").is_visible()
    assert Rating.objects.filter(assignment=assignment).count() == 2
    page.locator(".submit-card").screenshot(path=str(SCREENSHOT_DIR / "excel_imported.png"))
