"""The records of an assessment over the API: answers, ratings and evidence files, saved through
the pages' services, with the same messages, and lists in a constant number of queries."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http.multipartparser import MultiPartParser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from accounts.models import User
from assessments import services
from assessments.models import Answer, Assessment, Assignment, Evidence, Rating
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Indicator
from tests.assessments.conftest import answer_everything, stored_files
from tests.assessments.evidence_files import PDF, PNG
from tests.conftest import client_for

from .conftest import token_client as any_language_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "media")]

# The evidence tests' fixtures, from tests/assessments/conftest.py.

EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" * 64


@pytest.fixture
def indicators(assessment: Assessment) -> list[Indicator]:
    return indicators_of(assessment=assessment)


@pytest.fixture
def rated(indicators: list[Indicator]) -> Indicator:
    """An indicator rated on a scale (not a mandatory requirement)."""
    return next(i for i in indicators if not i.is_mandatory)


def token_client(user: User) -> APIClient:
    """``tests.api.conftest.token_client``, asking for English messages."""
    client = any_language_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def answers_url(assessment: Assessment, code: str | None = None) -> str:
    base = f"/api/v1/assessments/{assessment.pk}/answers/"
    return f"{base}{code}/" if code else base


def ratings_url(assessment: Assessment, code: str | None = None) -> str:
    base = f"/api/v1/assessments/{assessment.pk}/ratings/"
    return f"{base}{code}/" if code else base


def evidence_url(assessment: Assessment) -> str:
    return f"/api/v1/assessments/{assessment.pk}/evidence/"


def upload(
    client: APIClient, assessment: Assessment, code: str, name: str, content: bytes, **extra: str
) -> Any:
    return client.post(
        evidence_url(assessment),
        {"file": SimpleUploadedFile(name, content), "indicator": code, **extra},
        format="multipart",
    )


def submitted(assessment: Assessment, vendor: User) -> Assessment:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assessment.refresh_from_db()
    return assessment


def count_queries(client: APIClient, url: str) -> tuple[int, dict[str, Any]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


# ----------------------------------------------------------------------------------------------
# Answers


def test_a_vendor_saves_an_answer_and_reads_it_back(
    assessment: Assessment, vendor: User, rated: Indicator
) -> None:
    client = token_client(vendor)
    response = client.put(
        answers_url(assessment, rated.code),
        {"self_rating": 2, "value": "99.5", "explanation": "  两地三中心。 "},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["indicator"] == rated.code
    assert body["dimension"] == rated.dimension.code
    assert body["self_rating"] == 2
    assert body["self_met"] is None
    assert Decimal(body["value"]) == Decimal("99.5")
    assert body["explanation"] == "两地三中心。"
    answer = Answer.objects.get(assessment=assessment, indicator=rated)
    assert (answer.self_rating, answer.value, answer.updated_by) == (2, Decimal("99.5"), vendor)
    assert AuditEvent.objects.filter(action="assessments.answer.saved").count() == 1
    again = client.get(answers_url(assessment, rated.code))
    assert again.status_code == 200
    assert again.json() == body


def test_put_clears_the_fields_left_out_and_patch_keeps_them(
    assessment: Assessment, vendor: User, rated: Indicator
) -> None:
    client = token_client(vendor)
    url = answers_url(assessment, rated.code)
    client.put(url, {"self_rating": 3, "explanation": "说明"}, format="json")

    patched = client.patch(url, {"self_rating": 1}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["self_rating"], patched.json()["explanation"]) == (1, "说明")

    replaced = client.put(url, {"explanation": "新说明"}, format="json")
    assert replaced.status_code == 200
    assert (replaced.json()["self_rating"], replaced.json()["explanation"]) == (None, "新说明")


@pytest.mark.parametrize("rating", [99, -1, "two"])
def test_an_invalid_rating_is_refused_naming_the_field_and_nothing_is_saved(
    assessment: Assessment, vendor: User, rated: Indicator, rating: object
) -> None:
    response = token_client(vendor).put(
        answers_url(assessment, rated.code),
        {"self_rating": rating, "explanation": "x"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["self_rating"]
    assert not Answer.objects.exists()
    assert not AuditEvent.objects.filter(action="assessments.answer.saved").exists()


def test_an_indicator_outside_the_framework_is_404(assessment: Assessment, vendor: User) -> None:
    client = token_client(vendor)
    assert client.put(answers_url(assessment, "9.99"), {}, format="json").status_code == 404
    assert client.get(answers_url(assessment, "9.99")).status_code == 404
    assert not Answer.objects.exists()


def test_the_answers_list_is_in_catalog_order_and_filters_by_indicator_and_dimension(
    assessment: Assessment, vendor: User, owner: User, indicators: list[Indicator]
) -> None:
    answer_everything(assessment, vendor)
    client = token_client(owner)

    listed = client.get(answers_url(assessment), {"page_size": 100}).json()
    assert [row["indicator"] for row in listed["results"]] == [i.code for i in indicators]
    assert listed["count"] == len(indicators)

    one = client.get(answers_url(assessment), {"indicator": indicators[0].code}).json()
    assert [row["indicator"] for row in one["results"]] == [indicators[0].code]
    dimension = indicators[-1].dimension
    of_dimension = client.get(answers_url(assessment), {"dimension": dimension.code}).json()
    assert {row["dimension"] for row in of_dimension["results"]} == {dimension.code}
    assert of_dimension["count"] == sum(1 for i in indicators if i.dimension_id == dimension.pk)


def test_after_submission_the_vendors_put_is_refused_with_the_services_message(
    assessment: Assessment, vendor: User, rated: Indicator
) -> None:
    submitted(assessment, vendor)
    before = Answer.objects.get(assessment=assessment, indicator=rated)

    response = token_client(vendor).put(
        answers_url(assessment, rated.code), {"self_rating": 0}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error",
        "message": "The self-assessment was submitted; it can change only if it is returned.",
    }
    after = Answer.objects.get(assessment=assessment, indicator=rated)
    assert (after.self_rating, after.updated_at) == (before.self_rating, before.updated_at)


def test_the_answers_list_takes_the_same_number_of_queries_at_2_and_20_answers(
    assessment: Assessment, vendor: User, indicators: list[Indicator]
) -> None:
    # Answers are bounded by the catalog's 20 indicators (one per indicator): 2 and 20 rows
    # stand for "few" and "many" here.
    assert len(indicators) == 20
    client = token_client(vendor)
    for indicator in indicators[:2]:
        services.answer_save(
            assessment=assessment, indicator=indicator, explanation="x", acting_user=vendor
        )
    url = f"{answers_url(assessment)}?page_size=200"
    client.get(url)  # the token's first use writes its last use
    few, body = count_queries(client, url)
    assert body["count"] == 2

    answer_everything(assessment, vendor)
    many, body = count_queries(client, url)
    assert body["count"] == 20
    assert many == few


# ----------------------------------------------------------------------------------------------
# Ratings


def test_an_assigned_assessor_rates_and_lists_only_their_own_ratings(
    assessment: Assessment,
    vendor: User,
    assessor: User,
    assessor2: User,
    admin: User,
    assignments: list[Assignment],
    rated: Indicator,
) -> None:
    submitted(assessment, vendor)
    services.rating_save(
        assignment=assignments[1], indicator=rated, rating=1, acting_user=assessor2
    )
    client = token_client(assessor)

    response = client.put(
        ratings_url(assessment, rated.code),
        {"rating": 3, "rationale": " 依据测评报告。 "},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["indicator"], body["rating"], body["met"]) == (rated.code, 3, None)
    assert (body["rationale"], body["assessor"]) == ("依据测评报告。", assessor.username)
    assert (body["assignment"], body["assignment_current"]) == (assignments[0].pk, True)
    record = Rating.objects.get(assignment=assignments[0], indicator=rated)
    assert record.rating == 3
    own = client.get(ratings_url(assessment)).json()
    assert [(r["assessor"], r["rating"]) for r in own["results"]] == [(assessor.username, 3)]
    assert client.get(ratings_url(assessment, rated.code)).json() == body

    patched = client.patch(ratings_url(assessment, rated.code), {"rating": 2}, format="json")
    assert (patched.json()["rating"], patched.json()["rationale"]) == (2, "依据测评报告。")

    # The office's reviewers see every assessor's ratings, as on the review page.
    everyone = token_client(admin).get(ratings_url(assessment), {"indicator": rated.code}).json()
    assert sorted((r["assessor"], r["rating"]) for r in everyone["results"]) == [
        (assessor.username, 2),
        (assessor2.username, 1),
    ]


def test_an_invalid_rating_by_an_assessor_is_refused_and_nothing_is_saved(
    assessment: Assessment,
    vendor: User,
    assessor: User,
    assignments: list[Assignment],
    rated: Indicator,
) -> None:
    submitted(assessment, vendor)
    response = token_client(assessor).put(
        ratings_url(assessment, rated.code), {"rating": 42, "rationale": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["rating"]
    assert not Rating.objects.exists()


def test_ratings_wait_for_the_submission(
    assessment: Assessment, assessor: User, assignments: list[Assignment], rated: Indicator
) -> None:
    response = token_client(assessor).put(
        ratings_url(assessment, rated.code), {"rating": 2}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["message"] == "This assessment is not open for scoring now."
    assert not Rating.objects.exists()


def test_the_ratings_lists_take_the_same_number_of_queries_whatever_their_length(
    assessment: Assessment,
    vendor: User,
    assessor: User,
    assessor2: User,
    admin: User,
    assignments: list[Assignment],
    indicators: list[Indicator],
) -> None:
    submitted(assessment, vendor)
    url = f"{ratings_url(assessment)}?page_size=200"
    mine, everyone = token_client(assessor), token_client(admin)

    # The assessor's own ratings are bounded by the 20 indicators: 2 and 20 rows.
    for indicator in indicators[:2]:
        services.rating_save(
            assignment=assignments[0], indicator=indicator, rating=1, acting_user=assessor
        )
    mine.get(url)
    own_few, body = count_queries(mine, url)
    assert body["count"] == 2
    for indicator in indicators[2:]:
        services.rating_save(
            assignment=assignments[0], indicator=indicator, rating=1, acting_user=assessor
        )
    own_many, body = count_queries(mine, url)
    assert body["count"] == 20
    assert own_many == own_few

    # A reviewer sees every assessor's ratings (removed assessors' too): 10, then 400 rows.
    Rating.objects.all().delete()
    Rating.objects.bulk_create(
        Rating(assignment=assignments[1], indicator=indicator, rating=2)
        for indicator in indicators[:10]
    )
    everyone.get(url)
    all_few, body = count_queries(everyone, url)
    assert body["count"] == 10
    removed_at = assignments[0].assigned_at
    earlier = Assignment.objects.bulk_create(
        Assignment(assessment=assessment, assessor=assessor, removed_at=removed_at)
        for _ in range(18)
    )
    Rating.objects.bulk_create(
        Rating(assignment=assignment, indicator=indicator, rating=2)
        for assignment in [assignments[0], *earlier]
        for indicator in indicators
    )
    Rating.objects.bulk_create(
        Rating(assignment=assignments[1], indicator=indicator, rating=2)
        for indicator in indicators[10:]
    )
    all_many, body = count_queries(everyone, url)
    assert body["count"] == 400
    assert len(body["results"]) == 200
    assert all_many == all_few


# ----------------------------------------------------------------------------------------------
# Evidence


def test_a_vendor_uploads_lists_reads_downloads_and_deletes_a_file(
    assessment: Assessment,
    vendor: User,
    owner: User,
    rated: Indicator,
    media: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = token_client(vendor)

    response = upload(
        client,
        assessment,
        rated.code,
        "等保测评报告.pdf",
        PDF,
        issued_on="2026-01-05",
        valid_until="2027-01-04",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    item = Evidence.objects.get()
    assert body == {
        "id": item.pk,
        "assessment": assessment.pk,
        "indicator": rated.code,
        "original_name": "等保测评报告.pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "content_type": "application/pdf",
        "scan_state": "not_scanned",
        "downloadable": True,
        "version": 1,
        "replaces": None,
        "current": True,
        "uploaded_at": body["uploaded_at"],
        "issued_on": "2026-01-05",
        "valid_until": "2027-01-04",
        "download_url": f"/api/v1/evidence/{item.pk}/download/",
    }
    assert item.issued_on == datetime.date(2026, 1, 5)
    assert len(stored_files(media)) == 1

    owners = token_client(owner)
    listed = owners.get(evidence_url(assessment)).json()
    assert [row["id"] for row in listed["results"]] == [item.pk]
    assert listed["results"][0] == body
    assert client.get(f"/api/v1/evidence/{item.pk}/").json() == body

    for accept in ("application/octet-stream", "*/*"):
        download = owners.get(body["download_url"], HTTP_ACCEPT=accept)
        assert download.status_code == 200, download.content
        assert download["Content-Type"] == "application/octet-stream"
        assert "attachment;" in download["Content-Disposition"]
        assert download["Cache-Control"] == "private, no-store"
        assert download.getvalue() == PDF
    downloads = AuditEvent.objects.filter(action="assessments.evidence.downloaded")
    assert downloads.count() == 2
    assert {event.actor_id for event in downloads} == {owner.pk}

    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"/api/v1/evidence/{item.pk}/")
    assert deleted.status_code == 204
    assert not Evidence.objects.exists()
    assert stored_files(media) == []
    assert AuditEvent.objects.filter(action="assessments.evidence.deleted").count() == 1


def test_a_file_of_the_same_name_becomes_the_next_version(
    assessment: Assessment, vendor: User, rated: Indicator
) -> None:
    client = token_client(vendor)
    first = upload(client, assessment, rated.code, "证书.png", PNG).json()
    second = upload(client, assessment, rated.code, "证书.png", PNG).json()

    assert (second["version"], second["replaces"], second["current"]) == (2, first["id"], True)
    listed = client.get(evidence_url(assessment)).json()["results"]
    assert [(row["id"], row["current"]) for row in listed] == [
        (first["id"], False),
        (second["id"], True),
    ]
    current = client.get(evidence_url(assessment), {"current": "true"}).json()["results"]
    assert [row["id"] for row in current] == [second["id"]]
    old = client.get(evidence_url(assessment), {"current": "false"}).json()["results"]
    assert [row["id"] for row in old] == [first["id"]]
    by_indicator = client.get(evidence_url(assessment), {"indicator": "9.99"}).json()
    assert by_indicator["count"] == 0


def test_a_renamed_executable_is_refused_with_the_pages_message(
    assessment: Assessment, vendor: User, rated: Indicator, media: Path
) -> None:
    response = upload(token_client(vendor), assessment, rated.code, "report.pdf", EXECUTABLE)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    page_client = client_for(vendor)
    page_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = page_client.post(
        reverse("assessments:evidence_upload", args=[assessment.pk, rated.pk]),
        {"file": SimpleUploadedFile("report.pdf", EXECUTABLE)},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert page.status_code == 400
    assert page.json()["errors"] == [body["message"]]
    assert "report.pdf" in body["message"]
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_an_upload_without_one_file_or_with_an_unknown_indicator_is_refused(
    assessment: Assessment, vendor: User, rated: Indicator, media: Path
) -> None:
    client = token_client(vendor)
    no_file = client.post(evidence_url(assessment), {"indicator": rated.code}, format="multipart")
    assert no_file.status_code == 400
    assert no_file.json()["fields"] == {"file": ["Choose one file to upload."]}

    unknown = upload(client, assessment, "9.99", "a.pdf", PDF)
    assert unknown.status_code == 400
    assert list(unknown.json()["fields"]) == ["indicator"]

    bad_date = upload(client, assessment, rated.code, "a.pdf", PDF, issued_on="yesterday")
    assert bad_date.status_code == 400
    assert list(bad_date.json()["fields"]) == ["issued_on"]

    backwards = upload(
        client,
        assessment,
        rated.code,
        "a.pdf",
        PDF,
        issued_on="2026-02-01",
        valid_until="2026-01-01",
    )
    assert backwards.status_code == 400
    assert list(backwards.json()["fields"]) == ["valid_until"]

    as_json = client.post(evidence_url(assessment), {"indicator": rated.code}, format="json")
    assert as_json.status_code == 415
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_a_file_over_the_limit_is_stopped_by_the_upload_handler(
    assessment: Assessment, vendor: User, rated: Indicator, media: Path, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 100
    response = upload(token_client(vendor), assessment, rated.code, "big.pdf", PDF + b"0" * 200)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "big.pdf" in response.json()["message"]
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_a_refused_upload_is_answered_before_the_body_is_read(
    assessment: Assessment,
    vendor: User,
    owner: User,
    rated: Indicator,
    media: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the body of a refused upload was read")

    monkeypatch.setattr(MultiPartParser, "parse", unread)
    submitted(assessment, vendor)

    late = upload(token_client(vendor), assessment, rated.code, "late.pdf", PDF)
    assert late.status_code == 400
    assert late.json()["message"] == (
        "The self-assessment was submitted; evidence can be added only if it is returned."
    )
    not_theirs = upload(token_client(owner), assessment, rated.code, "x.pdf", PDF)
    assert not_theirs.status_code == 403
    assert not Evidence.objects.exists()


def test_a_session_upload_needs_the_csrf_token(
    assessment: Assessment, vendor: User, rated: Indicator, media: Path
) -> None:
    client = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(vendor)

    refused = upload(client, assessment, rated.code, "a.pdf", PDF)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    assert not Evidence.objects.exists()

    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        evidence_url(assessment),
        {"file": SimpleUploadedFile("a.pdf", PDF), "indicator": rated.code},
        format="multipart",
        HTTP_X_CSRFTOKEN=secret,
    )
    assert accepted.status_code == 201, accepted.content
    assert Evidence.objects.count() == 1


@pytest.mark.parametrize(
    ("state", "code", "fragment"),
    [
        (Evidence.ScanState.PENDING, "pending_scan", "being scanned"),
        (Evidence.ScanState.INFECTED, "infected", "Eicar-Test-Signature"),
        (Evidence.ScanState.FAILED, "scan_failed", "could not be completed"),
    ],
)
def test_a_file_not_found_clean_is_not_served(
    assessment: Assessment,
    vendor: User,
    owner: User,
    rated: Indicator,
    state: str,
    code: str,
    fragment: str,
) -> None:
    body = upload(token_client(vendor), assessment, rated.code, "a.pdf", PDF).json()
    Evidence.objects.filter(pk=body["id"]).update(
        scan_state=state, scan_detail="Eicar-Test-Signature"
    )

    owners = token_client(owner)
    for accept in ("application/octet-stream", "*/*"):
        response = owners.get(body["download_url"], HTTP_ACCEPT=accept)
        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == code
        assert fragment in response.json()["message"]
    assert not AuditEvent.objects.filter(action="assessments.evidence.downloaded").exists()


def test_the_evidence_list_takes_the_same_number_of_queries_at_10_and_400_files(
    assessment: Assessment, vendor: User, indicators: list[Indicator]
) -> None:
    def add(count: int, versions: int, start: int) -> None:
        rows = Evidence.objects.bulk_create(
            Evidence(
                assessment=assessment,
                indicator=indicators[n % len(indicators)],
                file=f"evidence/{assessment.pk}/{n}.pdf",
                original_name=f"file-{n}.pdf",
                size=n + 1,
                sha256=f"{n:064x}",
                content_type="application/pdf",
                uploaded_by=vendor,
            )
            for n in range(start, start + count)
        )
        # Some files get a later version, so that "current" is computed both ways.
        Evidence.objects.bulk_create(
            Evidence(
                assessment=assessment,
                indicator=row.indicator,
                file=row.file.name,
                original_name=row.original_name,
                size=row.size,
                sha256=row.sha256,
                content_type=row.content_type,
                uploaded_by=vendor,
                version=2,
                replaces=row,
            )
            for row in rows[:versions]
        )

    client = token_client(vendor)
    url = f"{evidence_url(assessment)}?page_size=200"
    add(8, 2, start=0)  # 8 files and 2 later versions: 10 rows
    client.get(url)
    few, body = count_queries(client, url)
    assert body["count"] == 10

    add(260, 130, start=100)  # 260 more files and 130 versions: 400 rows
    many, body = count_queries(client, url)
    assert body["count"] == 400
    assert len(body["results"]) == 200
    assert many == few
