"""Evidence over HTTP: who may upload, download, preview and delete (outsiders get 404), the
headers files are served with, and the upload handler's limits."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django import Settings

from accounts.models import Organisation, User
from assessments import services
from assessments.evidence.services import evidence_upload
from assessments.models import Assessment, Assignment, Evidence
from assessments.selectors import indicators_of
from indicators.models import Indicator
from tests.assessments.conftest import answer_everything, stored_files
from tests.assessments.evidence_files import PDF, PNG, ooxml
from tests.factories import UserFactory

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "media")]

XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return indicators_of(assessment=assessment)[0]


@pytest.fixture
def unassigned_assessor(office: Organisation) -> User:
    return UserFactory.create(
        username="expert_elsewhere", role=User.Role.ASSESSOR, organisation=office
    )


@pytest.fixture
def pdf_evidence(assessment: Assessment, indicator: Indicator, vendor: User) -> Evidence:
    return evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile("等保测评报告 2025.pdf", PDF),
        acting_user=vendor,
    )


@pytest.fixture
def docx_evidence(assessment: Assessment, indicator: Indicator, vendor: User) -> Evidence:
    return evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile("说明.docx", ooxml("word")),
        acting_user=vendor,
    )


def client_for(user: User | None) -> Client:
    """A client signed in as ``user`` that reads the portal in English, so that the assertions
    hold whatever the translations say."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def upload_url(assessment: Assessment, indicator: Indicator) -> str:
    return reverse("assessments:evidence_upload", args=[assessment.pk, indicator.pk])


def post_file(client: Client, url: str, name: str, content: bytes, **data: str) -> TestResponse:
    handle = io.BytesIO(content)
    handle.name = name
    return client.post(url, {"file": handle, **data}, headers=XHR)


# ----------------------------------------------------------------------------------------------
# Upload


def test_the_vendor_uploads_through_xhr_and_gets_the_new_row_as_json(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    response = post_file(
        client_for(vendor),
        upload_url(assessment, indicator),
        "等保测评报告.pdf",
        PDF,
        issued_on="2025-01-01",
        valid_until="2027-12-31",
    )

    assert response.status_code == 201
    data = response.json()
    item = Evidence.objects.get()
    assert data["id"] == item.pk
    assert data["name"] == "等保测评报告.pdf"
    assert data["size"] == len(PDF)
    assert data["sha256"] == hashlib.sha256(PDF).hexdigest() == item.sha256
    assert data["version"] == 1
    assert data["download_url"] == reverse("assessments:evidence_download", args=[item.pk])
    assert "等保测评报告.pdf" in data["html"]
    assert item.valid_until is not None and item.valid_until.isoformat() == "2027-12-31"
    assert len(stored_files(media)) == 1


def test_a_refused_upload_answers_400_with_the_errors_and_stores_nothing(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    response = post_file(client_for(vendor), upload_url(assessment, indicator), "x.pdf", PNG)

    assert response.status_code == 400
    assert "a PNG image" in response.json()["errors"][0]
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_a_300_character_name_sent_over_http_is_refused_not_shortened(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path
) -> None:
    response = post_file(
        client_for(vendor), upload_url(assessment, indicator), "报" * 296 + ".pdf", PDF
    )

    assert response.status_code == 400
    assert "300 characters" in response.json()["errors"][0]
    assert stored_files(media) == []


def test_the_upload_handler_stops_a_file_over_the_limit(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 300 * 1024

    response = post_file(
        client_for(vendor), upload_url(assessment, indicator), "big.pdf", PDF + b"0" * 301 * 1024
    )

    assert response.status_code == 400
    assert "“big.pdf” is larger than the limit of 300.0" in response.json()["errors"][0]
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    assessment: Assessment, indicator: Indicator, vendor: User, media: Path, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024

    response = post_file(
        client_for(vendor), upload_url(assessment, indicator), "big.pdf", PDF + b"0" * 200_000
    )

    assert response.status_code == 413
    assert "larger than this page accepts (at most 1.0" in response.json()["errors"][0]
    assert response["Connection"] == "close"
    assert stored_files(media) == []


def test_the_upload_handler_hashes_while_receiving(rf: RequestFactory, settings: Settings) -> None:
    from assessments.evidence.uploads import EvidenceUploadedFile, EvidenceUploadHandler

    content = b"%PDF-1.4\n" + bytes(range(256)) * 4000
    request = rf.post("/", {"file": SimpleUploadedFile("a.pdf", content)})
    handler = EvidenceUploadHandler(request)
    request.upload_handlers = [handler]

    upload = request.FILES["file"]

    assert isinstance(upload, EvidenceUploadedFile)
    assert upload.evidence_sha256 == hashlib.sha256(content).hexdigest()
    assert upload.size == len(content)
    assert hasattr(upload, "temporary_file_path")
    assert not handler.too_large


def test_upload_checks_the_csrf_token(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(vendor)
    url = upload_url(assessment, indicator)

    without = post_file(client, url, "a.pdf", PDF)
    client.get(reverse("assessments:evidence_list", args=[assessment.pk]))
    token = client.cookies["csrftoken"].value
    handle = io.BytesIO(PDF)
    handle.name = "a.pdf"
    with_token = client.post(url, {"file": handle}, headers={**XHR, "X-CSRFToken": token})

    assert without.status_code == 403
    assert with_token.status_code == 201
    assert Evidence.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("vendor", 201),
        ("owner", 403),
        ("assessor", 403),
        ("admin", 403),
        ("outsider_vendor", 404),
        ("auditor", 404),
        ("unassigned_assessor", 404),
    ],
)
def test_who_may_upload(
    assessment: Assessment,
    indicator: Indicator,
    assignments: list[Assignment],
    who: str,
    status: int,
    request: pytest.FixtureRequest,
    media: Path,
) -> None:
    user = request.getfixturevalue(who)

    response = post_file(client_for(user), upload_url(assessment, indicator), "a.pdf", PDF)

    assert response.status_code == status
    assert Evidence.objects.count() == (1 if status == 201 else 0)
    if status == 403:
        assert response.json()["errors"] == ["Only the cloud's vendors upload its evidence."]


def test_an_anonymous_visitor_is_sent_to_sign_in(
    assessment: Assessment, indicator: Indicator
) -> None:
    response = post_file(client_for(None), upload_url(assessment, indicator), "a.pdf", PDF)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_plain_form_upload_redirects_back_with_a_message(
    assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    handle = io.BytesIO(PDF)
    handle.name = "a.pdf"
    response = client_for(vendor).post(
        upload_url(assessment, indicator), {"file": handle}, follow=True
    )

    assert response.redirect_chain[-1][0].startswith(
        reverse("assessments:evidence_list", args=[assessment.pk])
    )
    assert "a.pdf" in response.content.decode()
    assert Evidence.objects.count() == 1


# ----------------------------------------------------------------------------------------------
# Download and preview


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("vendor", 200),
        ("owner", 200),
        ("assessor", 200),
        ("admin", 200),
        ("outsider_vendor", 404),
        ("unassigned_assessor", 404),
        ("auditor", 404),
    ],
)
def test_who_may_download(
    pdf_evidence: Evidence,
    assignments: list[Assignment],
    who: str,
    status: int,
    request: pytest.FixtureRequest,
) -> None:
    user = request.getfixturevalue(who)

    response = client_for(user).get(
        reverse("assessments:evidence_download", args=[pdf_evidence.pk])
    )

    assert response.status_code == status
    if status == 200:
        assert response.streaming and response.getvalue() == PDF
        response.close()


def test_a_download_is_an_attachment_with_the_utf8_name_and_nosniff(
    pdf_evidence: Evidence, vendor: User
) -> None:
    response = client_for(vendor).get(
        reverse("assessments:evidence_download", args=[pdf_evidence.pk])
    )

    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert (
        "filename*=UTF-8''%E7%AD%89%E4%BF%9D%E6%B5%8B%E8%AF%84%E6%8A%A5%E5%91%8A%202025.pdf"
        in disposition
    )
    assert 'filename="2025.pdf"' in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert int(response["Content-Length"]) == len(PDF)
    response.close()


def test_a_missing_object_or_stored_file_is_404(
    pdf_evidence: Evidence, vendor: User, media: Path
) -> None:
    client = client_for(vendor)
    for path in stored_files(media):
        path.unlink()

    assert client.get(reverse("assessments:evidence_download", args=[999999])).status_code == 404
    assert (
        client.get(reverse("assessments:evidence_download", args=[pdf_evidence.pk])).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("assessor", 200),
        ("admin", 200),
        ("vendor", 200),
        ("owner", 200),
        ("outsider_vendor", 404),
        ("unassigned_assessor", 404),
        ("auditor", 404),
    ],
)
def test_who_may_preview(
    pdf_evidence: Evidence,
    assignments: list[Assignment],
    who: str,
    status: int,
    request: pytest.FixtureRequest,
) -> None:
    user = request.getfixturevalue(who)

    response = client_for(user).get(reverse("assessments:evidence_preview", args=[pdf_evidence.pk]))

    assert response.status_code == status
    if status == 200:
        response.close()


def test_an_image_preview_is_inline_sandboxed_and_nosniff(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    assessor: User,
    assignments: list[Assignment],
) -> None:
    image = evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile("控制台.png", PNG),
        acting_user=vendor,
    )

    response = client_for(assessor).get(reverse("assessments:evidence_preview", args=[image.pk]))

    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    response.close()


def test_a_pdf_preview_is_inline_with_a_policy_that_allows_nothing(
    pdf_evidence: Evidence, assessor: User, assignments: list[Assignment]
) -> None:
    response = client_for(assessor).get(
        reverse("assessments:evidence_preview", args=[pdf_evidence.pk])
    )

    assert response["Content-Disposition"].startswith("inline;")
    # Not "sandbox": Chromium will not show a PDF in a sandboxed document.
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    response.close()


def test_office_documents_are_not_previewed(
    docx_evidence: Evidence, assessor: User, assignments: list[Assignment]
) -> None:
    response = client_for(assessor).get(
        reverse("assessments:evidence_preview", args=[docx_evidence.pk])
    )

    assert response.status_code == 404


def test_downloads_and_previews_accept_only_get(pdf_evidence: Evidence, vendor: User) -> None:
    client = client_for(vendor)

    assert (
        client.post(reverse("assessments:evidence_download", args=[pdf_evidence.pk])).status_code
        == 405
    )


# ----------------------------------------------------------------------------------------------
# Delete


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("vendor", 200),
        ("owner", 403),
        ("assessor", 403),
        ("admin", 403),
        ("outsider_vendor", 404),
        ("unassigned_assessor", 404),
        ("auditor", 404),
    ],
)
def test_who_may_delete(
    pdf_evidence: Evidence,
    assignments: list[Assignment],
    who: str,
    status: int,
    request: pytest.FixtureRequest,
) -> None:
    user = request.getfixturevalue(who)

    response = client_for(user).post(
        reverse("assessments:evidence_delete", args=[pdf_evidence.pk]), headers=XHR
    )

    assert response.status_code == status
    assert Evidence.objects.filter(pk=pdf_evidence.pk).exists() == (status != 200)


def test_deleting_after_submission_answers_400_with_the_reason(
    pdf_evidence: Evidence, assessment: Assessment, vendor: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)

    response = client_for(vendor).post(
        reverse("assessments:evidence_delete", args=[pdf_evidence.pk]), headers=XHR
    )

    assert response.status_code == 400
    assert "cannot be deleted" in response.json()["errors"][0]
    assert Evidence.objects.filter(pk=pdf_evidence.pk).exists()


# ----------------------------------------------------------------------------------------------
# The evidence page and the partial


def test_the_vendor_sees_the_drop_zone_and_no_preview_links(
    pdf_evidence: Evidence, assessment: Assessment, vendor: User
) -> None:
    response = client_for(vendor).get(reverse("assessments:evidence_list", args=[assessment.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "data-dropzone" in page
    assert "等保测评报告 2025.pdf" in page
    assert pdf_evidence.sha256[:12] in page
    assert f'title="{pdf_evidence.sha256}"' in page
    assert reverse("assessments:evidence_preview", args=[pdf_evidence.pk]) not in page
    assert reverse("assessments:evidence_delete", args=[pdf_evidence.pk]) in page


def test_an_assessor_sees_preview_links_and_no_drop_zone(
    pdf_evidence: Evidence, assessment: Assessment, assessor: User, assignments: list[Assignment]
) -> None:
    response = client_for(assessor).get(reverse("assessments:evidence_list", args=[assessment.pk]))

    page = response.content.decode()
    assert "data-dropzone" not in page
    assert reverse("assessments:evidence_preview", args=[pdf_evidence.pk]) in page
    assert reverse("assessments:evidence_delete", args=[pdf_evidence.pk]) not in page


def test_expiring_evidence_is_flagged_to_vendor_and_assessor(
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    assessor: User,
    assignments: list[Assignment],
) -> None:
    import datetime

    reference = assessment.campaign.evidence_reference_date
    evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile("old-cert.pdf", PDF),
        valid_until=reference - datetime.timedelta(days=1),
        acting_user=vendor,
    )

    for user in (vendor, assessor):
        page = (
            client_for(user)
            .get(reverse("assessments:evidence_list", args=[assessment.pk]))
            .content.decode()
        )
        assert "expires before the reference date" in page
        assert "1 file expires before the reference date" in page


def test_the_evidence_page_is_404_to_outsiders(
    assessment: Assessment, outsider_vendor: User, auditor: User
) -> None:
    url = reverse("assessments:evidence_list", args=[assessment.pk])

    assert client_for(outsider_vendor).get(url).status_code == 404
    assert client_for(auditor).get(url).status_code == 404
