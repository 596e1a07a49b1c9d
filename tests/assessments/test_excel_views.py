"""Score sheet pages: only the assigned assessor downloads and uploads; errors are listed."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from pytest_django import Settings

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Rating
from assessments.scoresheet.workbook import CONTENT_TYPE, SHEET, score_sheet_build
from tests.assessments.conftest import answer_everything
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings: Settings) -> None:
    """Pages answer in English (no Accept-Language from the test client): messages are asserted
    in English."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def scoring(assessment: Assessment, assignments: list[Assignment], vendor: User) -> Assignment:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    return assignments[0]


def _download_url(assessment: Assessment) -> str:
    return reverse("assessments:score_sheet_download", args=[assessment.pk])


def _upload_url(assessment: Assessment) -> str:
    return reverse("assessments:score_sheet_upload", args=[assessment.pk])


def _file(data: bytes, name: str = "评分表.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=CONTENT_TYPE)


def _filled(assignment: Assignment, **cells: str | int) -> bytes:
    workbook = load_workbook(io.BytesIO(score_sheet_build(assignment=assignment)))
    for ref, value in cells.items():
        workbook[SHEET][ref] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_urls_are_where_the_scoring_page_links_to(assessment: Assessment) -> None:
    assert _download_url(assessment) == f"/assessments/{assessment.pk}/score-sheet.xlsx"
    assert _upload_url(assessment) == f"/assessments/{assessment.pk}/score-sheet/"


def test_the_assigned_assessor_downloads_the_sheet_with_a_chinese_file_name(
    scoring: Assignment, assessor: User
) -> None:
    response = client_for(assessor).get(_download_url(scoring.assessment))

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith(
        f'attachment; filename="score-sheet-{scoring.assessment.pk}.xlsx"; '
    )
    assert f"filename*=UTF-8''{quote('评分表_济南政务云计算中心_')}" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook[SHEET]["C2"].value == "济南政务云计算中心"


def test_the_sheet_can_be_downloaded_before_and_after_scoring(
    assignments: list[Assignment], assessor: User
) -> None:
    response = client_for(assessor).get(_download_url(assignments[0].assessment))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "who", ["unassigned_assessor", "admin", "vendor", "outsider_vendor", "owner", "auditor"]
)
def test_everyone_but_the_assigned_assessor_gets_404(
    scoring: Assignment, who: str, request: pytest.FixtureRequest
) -> None:
    if who == "unassigned_assessor":
        user = UserFactory.create(username="expert3", role=User.Role.ASSESSOR)
    else:
        user = request.getfixturevalue(who)
    client = client_for(user)
    data = _filled(scoring, G11=1, H11="理由")

    assert client.get(_download_url(scoring.assessment)).status_code == 404
    response = client.post(_upload_url(scoring.assessment), {"sheet": _file(data)})

    assert response.status_code == 404
    assert not Rating.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(scoring: Assignment) -> None:
    client = client_for(None)

    for response in (
        client.get(_download_url(scoring.assessment)),
        client.post(_upload_url(scoring.assessment), {}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_an_unknown_assessment_is_404(scoring: Assignment, assessor: User) -> None:
    assert client_for(assessor).get("/assessments/999999/score-sheet.xlsx").status_code == 404


def test_a_good_sheet_is_saved_and_the_assessor_goes_back_to_scoring(
    scoring: Assignment, assessor: User
) -> None:
    data = _filled(scoring, G11=3, H11="完整服务目录。", G12=2, H12="可用性99.9%。")
    client = client_for(assessor)

    response = client.post(_upload_url(scoring.assessment), {"sheet": _file(data)})

    assert response.status_code == 302
    assert response["Location"] == f"/assessments/{scoring.assessment.pk}/score/"
    assert Rating.objects.filter(assignment=scoring).count() == 2
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Score sheet imported: 2 ratings saved."]


def test_a_bad_sheet_lists_every_error_and_saves_nothing(
    scoring: Assignment, assessor: User
) -> None:
    data = _filled(scoring, G11=7, H11="理由", G12=2)

    response = client_for(assessor).post(
        _upload_url(scoring.assessment), {"sheet": _file(data, "我的评分表.xlsx")}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "评分表!G11" in page
    assert "评分表!H12" in page
    assert "我的评分表.xlsx" in page
    assert f'href="/assessments/{scoring.assessment.pk}/score/"' in page
    assert 'name="sheet"' in page  # the form to try again
    assert not Rating.objects.exists()


def test_a_file_that_is_not_a_sheet_is_refused(scoring: Assignment, assessor: User) -> None:
    response = client_for(assessor).post(
        _upload_url(scoring.assessment), {"sheet": _file(b"%PDF-1.7 not excel", "报告.pdf")}
    )

    assert response.status_code == 400
    assert "not an Excel workbook" in response.content.decode()


def test_an_upload_without_a_file_says_so(scoring: Assignment, assessor: User) -> None:
    response = client_for(assessor).post(_upload_url(scoring.assessment), {})

    assert response.status_code == 400
    assert "Choose the score sheet" in response.content.decode()


def test_a_huge_file_is_refused_unread(
    scoring: Assignment, assessor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assessments.views.excel.MAX_UPLOAD_BYTES", 100)

    response = client_for(assessor).post(
        _upload_url(scoring.assessment), {"sheet": _file(score_sheet_build(assignment=scoring))}
    )

    assert response.status_code == 400
    assert "larger than 5 MB" in response.content.decode()


def test_upload_answers_post_only(scoring: Assignment, assessor: User) -> None:
    assert client_for(assessor).get(_upload_url(scoring.assessment)).status_code == 405


def test_the_upload_form_is_hidden_when_scoring_is_closed(
    assignments: list[Assignment], assessor: User
) -> None:
    from django.template.loader import render_to_string

    assessment = assignments[0].assessment  # a draft: the vendor has not submitted
    html = render_to_string(
        "assessments/partials/_score_sheet.html",
        {"assessment": assessment, "assignment": assignments[0]},
    )

    assert _download_url(assessment) in html
    assert 'name="sheet"' not in html
