"""The score sheet in Chromium: a sheet with bad cells lists them; the corrected sheet saves."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from accounts.models import User
from assessments import services
from assessments.excel import SHEET, score_sheet_build
from assessments.models import Assessment, Assignment, Rating
from tests.assessments.conftest import answer_everything
from tests.browser_support import screenshot, sign_in

pytestmark = pytest.mark.browser

# The scoring page (views/assessor.py) hosts the score-sheet card; until it is there this test
# posts its first upload from a form placed on the dashboard, as the card would.
POST_FROM_DASHBOARD = """
([action, token]) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.enctype = 'multipart/form-data';
  form.action = action;
  form.id = 'probe';
  form.innerHTML = '<input type="hidden" name="csrfmiddlewaretoken">' +
    '<input type="file" name="sheet" id="probe-file">';
  form.querySelector('[name=csrfmiddlewaretoken]').value = token;
  document.body.appendChild(form);
}
"""


def _sheet_with(assignment: Assignment, path: Path, **cells: object) -> Path:
    workbook = load_workbook(io.BytesIO(score_sheet_build(assignment=assignment)))
    for ref, value in cells.items():
        workbook[SHEET][ref] = value
    workbook.save(path)
    return path


def test_an_assessor_sees_every_bad_cell_then_uploads_the_corrected_sheet(
    page,  # type: ignore[no-untyped-def]
    live_server,  # type: ignore[no-untyped-def]
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
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    page.evaluate(POST_FROM_DASHBOARD, [f"/assessments/{assessment.pk}/score-sheet/", token])
    page.set_input_files("#probe-file", str(bad))
    page.eval_on_selector("#probe", "form => form.submit()")
    page.wait_for_selector("[data-testid=score-sheet-errors]")

    errors = page.locator("[data-testid=score-sheet-errors] li").all_inner_texts()
    assert [e.split("：")[0].split(":")[0] for e in errors] == [
        "评分表!G11",
        "评分表!H12",
        "评分表!B13",
        "评分表!G14",
    ]
    assert page.locator("[data-testid=score-sheet]").is_visible()
    screenshot(page, "excel_upload_errors")
    assert not Rating.objects.exists()

    page.set_input_files("#score-sheet-file", str(good))
    page.click("[data-testid=score-sheet] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/assessments/{assessment.pk}/score/")

    assert Rating.objects.filter(assignment=assignment).count() == 2
