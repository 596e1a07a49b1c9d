"""Acceptance: who may read and write the records of an assessment over the API. Another vendor
never reads or writes them (404, even by guessing ids), an assessor rates only what is assigned
to them now, an owner reads but never writes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Organisation, User
from assessments import services
from assessments.evidence.services import evidence_upload
from assessments.models import Answer, Assessment, Assignment, Campaign, Evidence, Rating
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Indicator
from tests.assessments.conftest import answer_everything, other_vendors_assessment
from tests.assessments.evidence_files import PDF
from tests.factories import UserFactory

from .conftest import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "media")]

# The evidence tests' fixtures, from tests/assessments/conftest.py.


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return next(i for i in indicators_of(assessment=assessment) if not i.is_mandatory)


@pytest.fixture
def foreign(
    campaign: Campaign,
    government_org: Organisation,
    other_vendor_org: Organisation,
    outsider_vendor: User,
    admin: User,
) -> Assessment:
    """Another vendor's cloud in the same campaign, with an answer and an evidence file."""
    assessment = other_vendors_assessment(
        campaign, government_org, other_vendor_org, admin, on_internet=True
    )
    first = indicators_of(assessment=assessment)[1]
    services.answer_save(
        assessment=assessment,
        indicator=first,
        self_rating=3,
        explanation="另一厂商",
        acting_user=outsider_vendor,
    )
    evidence_upload(
        assessment=assessment,
        indicator=first,
        upload=SimpleUploadedFile("foreign.pdf", PDF),
        acting_user=outsider_vendor,
    )
    return assessment


def own_evidence(assessment: Assessment, indicator: Indicator, vendor: User) -> list[Evidence]:
    return [
        evidence_upload(
            assessment=assessment,
            indicator=indicator,
            upload=SimpleUploadedFile(f"own-{n}.pdf", PDF),
            acting_user=vendor,
        )
        for n in range(3)
    ]


def records_urls(assessment: Assessment, code: str) -> list[str]:
    base = f"/api/v1/assessments/{assessment.pk}"
    return [
        f"{base}/answers/",
        f"{base}/answers/{code}/",
        f"{base}/evidence/",
        f"{base}/ratings/",
        f"{base}/ratings/{code}/",
    ]


def test_a_vendor_cannot_read_or_write_another_vendors_answers_or_evidence(
    foreign: Assessment, vendor: User, indicator: Indicator
) -> None:
    client = token_client(vendor)
    code = indicators_of(assessment=foreign)[1].code
    answers_before = list(Answer.objects.filter(assessment=foreign).values())

    for url in records_urls(foreign, code)[:3]:
        assert client.get(url).status_code == 404, url
    put = client.put(
        f"/api/v1/assessments/{foreign.pk}/answers/{code}/", {"self_rating": 0}, format="json"
    )
    patch = client.patch(
        f"/api/v1/assessments/{foreign.pk}/answers/{code}/", {"self_rating": 0}, format="json"
    )
    posted = client.post(
        f"/api/v1/assessments/{foreign.pk}/evidence/",
        {"file": SimpleUploadedFile("x.pdf", PDF), "indicator": code},
        format="multipart",
    )

    assert (put.status_code, patch.status_code, posted.status_code) == (404, 404, 404)
    assert put.json()["code"] == "not_found"
    assert list(Answer.objects.filter(assessment=foreign).values()) == answers_before
    assert Evidence.objects.filter(assessment=foreign).count() == 1


def test_guessing_evidence_ids_never_reaches_another_vendors_files(
    foreign: Assessment, assessment: Assessment, vendor: User, indicator: Indicator
) -> None:
    mine = {item.pk for item in own_evidence(assessment, indicator, vendor)}
    theirs = set(Evidence.objects.filter(assessment=foreign).values_list("pk", flat=True))
    client = token_client(vendor)

    seen: dict[int, tuple[int, int, int]] = {}
    for pk in range(min(mine | theirs) - 5, max(mine | theirs) + 20):
        seen[pk] = (
            client.get(f"/api/v1/evidence/{pk}/").status_code,
            client.get(f"/api/v1/evidence/{pk}/download/").status_code,
            client.delete(f"/api/v1/evidence/{pk}/").status_code if pk not in mine else 0,
        )

    for pk, (detail, download, delete) in seen.items():
        if pk in mine:
            assert (detail, download) == (200, 200)
        else:
            assert (detail, download, delete) == (404, 404, 404), pk
    assert Evidence.objects.filter(pk__in=theirs).count() == len(theirs)
    downloads = AuditEvent.objects.filter(action="assessments.evidence.downloaded")
    assert {event.target_id for event in downloads} == {str(pk) for pk in mine}
    own_list = client.get(f"/api/v1/assessments/{assessment.pk}/evidence/").json()
    assert {row["id"] for row in own_list["results"]} == mine


def test_an_assessor_cannot_rate_an_assessment_not_assigned_to_it(
    assessment: Assessment,
    vendor: User,
    assignments: list[Assignment],
    office: Organisation,
    indicator: Indicator,
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    elsewhere = UserFactory.create(
        username="expert_elsewhere", role=User.Role.ASSESSOR, organisation=office
    )
    client = token_client(elsewhere)

    response = client.put(
        f"/api/v1/assessments/{assessment.pk}/ratings/{indicator.code}/",
        {"rating": 3, "rationale": "x"},
        format="json",
    )

    assert response.status_code == 404
    for url in records_urls(assessment, indicator.code):
        assert client.get(url).status_code == 404, url
    assert not Rating.objects.exists()
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED


def test_an_owner_reads_the_records_but_writes_none(
    assessment: Assessment,
    vendor: User,
    owner: User,
    indicator: Indicator,
) -> None:
    services.answer_save(
        assessment=assessment, indicator=indicator, self_rating=2, acting_user=vendor
    )
    (item, *_rest) = own_evidence(assessment, indicator, vendor)
    client = token_client(owner)
    base = f"/api/v1/assessments/{assessment.pk}"

    assert client.get(f"{base}/answers/").json()["count"] == 1
    assert client.get(f"{base}/answers/{indicator.code}/").json()["self_rating"] == 2
    assert client.get(f"{base}/evidence/").json()["count"] == 3
    assert client.get(f"/api/v1/evidence/{item.pk}/").status_code == 200
    assert client.get(f"/api/v1/evidence/{item.pk}/download/").status_code == 200

    writes = [
        client.put(f"{base}/answers/{indicator.code}/", {"self_rating": 0}, format="json"),
        client.patch(f"{base}/answers/{indicator.code}/", {"self_rating": 0}, format="json"),
        client.post(
            f"{base}/evidence/",
            {"file": SimpleUploadedFile("x.pdf", PDF), "indicator": indicator.code},
            format="multipart",
        ),
        client.delete(f"/api/v1/evidence/{item.pk}/"),
        client.put(f"{base}/ratings/{indicator.code}/", {"rating": 0}, format="json"),
    ]
    assert [w.status_code for w in writes] == [403] * 5
    assert {w.json()["code"] for w in writes} == {"permission_denied"}
    assert Answer.objects.get().self_rating == 2
    assert Evidence.objects.count() == 3
    # Ratings are the assessors' and the office's: not listed to owners or vendors.
    assert client.get(f"{base}/ratings/").status_code == 403
    assert token_client(vendor).get(f"{base}/ratings/").status_code == 403


def test_a_removed_assessor_can_no_longer_rate_or_read_the_ratings(
    assessment: Assessment,
    vendor: User,
    assessor: User,
    admin: User,
    assignments: list[Assignment],
    indicator: Indicator,
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    client = token_client(assessor)
    url = f"/api/v1/assessments/{assessment.pk}/ratings/{indicator.code}/"
    assert client.put(url, {"rating": 1, "rationale": "x"}, format="json").status_code == 200

    services.assignment_remove(assignment=assignments[0], reason="回避", acting_user=admin)

    refused = client.put(url, {"rating": 3, "rationale": "y"}, format="json")
    assert refused.status_code == 404
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/assessments/{assessment.pk}/ratings/").status_code == 404
    assert Rating.objects.get().rating == 1
    # The office still sees the removed assessor's rating, marked as no longer counting.
    rows = token_client(admin).get(f"/api/v1/assessments/{assessment.pk}/ratings/").json()
    assert [(r["assessor"], r["assignment_current"]) for r in rows["results"]] == [
        (assessor.username, False)
    ]


def test_anonymous_and_unrelated_roles_are_refused(
    assessment: Assessment, vendor: User, auditor: User, indicator: Indicator
) -> None:
    (item, *_rest) = own_evidence(assessment, indicator, vendor)
    urls = [
        *records_urls(assessment, indicator.code),
        f"/api/v1/evidence/{item.pk}/",
        f"/api/v1/evidence/{item.pk}/download/",
    ]
    anonymous = APIClient()
    for url in urls:
        assert anonymous.get(url).status_code == 401, url
    auditors = token_client(auditor)
    for url in urls:
        assert auditors.get(url).status_code == 403, url
