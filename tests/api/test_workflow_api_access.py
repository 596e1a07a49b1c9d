"""Acceptance: a vendor token cannot read or write another vendor's objects, including by
guessing ids, and an assessor cannot rate or finish scoring an assessment not assigned to it.
The owner reads its clouds' assessments and changes nothing; the auditor and the security
administrator get what docs/permissions.md gives them (the clouds' register for the auditor)
and nothing else."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organisation, User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign
from tests.assessments.conftest import (
    answer_everything,
    other_vendors_assessment,
    rate_everything,
)
from tests.factories import UserFactory

from .clients import client_of, fresh_clients  # noqa: F401 (fresh_clients: autouse)

pytestmark = pytest.mark.django_db

LATER = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()


def _writes(
    assessment: Assessment, assignment: Assignment | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Every write on one assessment, each with a valid body."""
    pk = assessment.pk
    found: list[tuple[str, dict[str, Any]]] = [
        (f"/api/v1/assessments/{pk}/submit/", {}),
        (f"/api/v1/assessments/{pk}/return/", {"reason": "退回", "due_on": LATER}),
        (f"/api/v1/assessments/{pk}/reopen/", {"reason": "重开", "due_on": LATER}),
        (f"/api/v1/assessments/{pk}/approve/", {}),
        (f"/api/v1/assessments/{pk}/exclude/", {"reason": "移出"}),
        (f"/api/v1/assessments/{pk}/include/", {}),
        (f"/api/v1/assessments/{pk}/scoring/submit/", {}),
        (f"/api/v1/assessments/{pk}/assignments/", {"assessor": 1}),
    ]
    if assignment is not None:
        found.append(
            (f"/api/v1/assessments/{pk}/assignments/{assignment.pk}/remove/", {"reason": "x"})
        )
    return found


def _snapshot(assessment: Assessment) -> tuple[Any, ...]:
    assessment.refresh_from_db()
    return (
        assessment.state,
        assessment.self_assessment_due_on,
        assessment.excluded_at,
        list(
            assessment.assignments.order_by("pk").values_list("assessor_id", "state", "removed_at")
        ),
    )


@pytest.fixture
def other_assessment(
    campaign: Campaign, government_org: Organisation, other_vendor_org: Organisation, admin: User
) -> Assessment:
    """A cloud of the outsider vendor's organisation in the same campaign: it sees this one."""
    return other_vendors_assessment(campaign, government_org, other_vendor_org, admin)


def test_a_vendor_token_never_reads_or_writes_another_vendors_assessment(
    assessment: Assessment,
    assignments: list[Assignment],
    other_assessment: Assessment,
    outsider_vendor: User,
    vendor: User,
) -> None:
    answer_everything(assessment, vendor)
    client = client_of(outsider_vendor)
    before = _snapshot(assessment)

    assert client.get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
    for url, body in _writes(assessment, assignments[0]):
        response = client.post(url, body, format="json")
        assert response.status_code == 404, (url, response.status_code)
        assert response.json()["code"] == "not_found"
    assert _snapshot(assessment) == before

    # Its own is there; the other vendor's is in no list, under no filter.
    for query in ("", f"?cloud={assessment.cloud_id}", f"?campaign={assessment.campaign_id}"):
        listed = client.get(f"/api/v1/assessments/{query}").json()
        ids = {row["id"] for row in listed["results"]}
        assert assessment.pk not in ids
    assert client.get("/api/v1/assessments/").json()["count"] == 1

    # Guessing: every id around the real ones, on the detail and the actions.
    top = max(assessment.pk, other_assessment.pk)
    for pk in range(max(1, top - 20), top + 30):
        response = client.get(f"/api/v1/assessments/{pk}/")
        if response.status_code == 200:
            assert pk == other_assessment.pk
            assert response.json()["cloud"]["id"] == other_assessment.cloud_id
        else:
            assert response.status_code == 404
        if pk != other_assessment.pk:
            assert client.post(f"/api/v1/assessments/{pk}/submit/").status_code == 404
            assert client.post(f"/api/v1/assessments/{pk}/scoring/submit/").status_code == 404
    assert _snapshot(assessment) == before

    # The campaigns and the register of clouds are the office's: refused whatever the id.
    for url in (
        "/api/v1/campaigns/",
        f"/api/v1/campaigns/{assessment.campaign_id}/",
        "/api/v1/clouds/",
        f"/api/v1/clouds/{assessment.cloud_id}/",
    ):
        assert client.get(url).status_code == 403, url
    for url, body in (
        ("/api/v1/campaigns/", {"name": "x"}),
        (f"/api/v1/campaigns/{assessment.campaign_id}/state/", {"state": "reviewing"}),
        (f"/api/v1/campaigns/{assessment.campaign_id}/clouds/", {"clouds": [1]}),
    ):
        assert client.post(url, body, format="json").status_code == 403, url
    assert (
        client.patch(f"/api/v1/campaigns/{assessment.campaign_id}/", {"name": "x"}).status_code
        == 403
    )
    assert Campaign.objects.get(pk=assessment.campaign_id).state == Campaign.State.OPEN


def test_the_vendor_may_only_submit_its_own_and_nothing_the_office_does(
    assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    client = client_of(vendor)
    before = _snapshot(assessment)
    for url, body in _writes(assessment, assignments[0]):
        if url.endswith("/submit/") and "scoring" not in url:
            continue
        response = client.post(url, body, format="json")
        assert response.status_code in (403, 404), (url, response.status_code)
    assert _snapshot(assessment) == before
    assert client.post(f"/api/v1/assessments/{assessment.pk}/submit/").status_code == 200


def test_the_owner_reads_its_clouds_assessments_and_changes_nothing(
    assessment: Assessment, assignments: list[Assignment], owner: User, vendor: User
) -> None:
    answer_everything(assessment, vendor)
    client = client_of(owner)
    response = client.get(f"/api/v1/assessments/{assessment.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["next_actions"] == [] and data["assignments"] == []
    assert [r["id"] for r in client.get("/api/v1/assessments/").json()["results"]] == [
        assessment.pk
    ]
    before = _snapshot(assessment)
    for url, body in _writes(assessment, assignments[0]):
        response = client.post(url, body, format="json")
        assert response.status_code in (403, 404), (url, response.status_code)
    assert _snapshot(assessment) == before
    assert client.get("/api/v1/campaigns/").status_code == 403
    assert client.get("/api/v1/clouds/").status_code == 403


def test_an_assessor_cannot_finish_scoring_an_assessment_not_assigned_to_it(
    assessment: Assessment,
    assignments: list[Assignment],
    other_assessment: Assessment,
    admin: User,
    vendor: User,
    outsider_vendor: User,
) -> None:
    # The first assessor scores the other assessment only; the idle one scores nothing.
    first, second = assignments
    services.assignment_create(
        assessment=other_assessment, assessor=first.assessor, acting_user=admin
    )
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    rate_everything(first)
    rate_everything(second)
    services.assignment_remove(assignment=first, reason="回避", acting_user=admin)
    idle = UserFactory.create(username="idle", role=User.Role.ASSESSOR)
    before = _snapshot(assessment)

    for user in (idle, first.assessor):  # never assigned; removed
        client = client_of(user)
        assert client.get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
        response = client.post(f"/api/v1/assessments/{assessment.pk}/scoring/submit/")
        assert response.status_code in (403, 404), user.username
        assert assessment.pk not in {
            r["id"] for r in client.get("/api/v1/assessments/").json()["results"]
        }
    assert _snapshot(assessment) == before

    # The assigned one sees it, may finish its own scoring, and nothing of the office's.
    client = client_of(second.assessor)
    for url, body in _writes(assessment, second):
        if url.endswith("/scoring/submit/"):
            continue
        response = client.post(url, body, format="json")
        assert response.status_code in (403, 404), (url, response.status_code)
    assert _snapshot(assessment) == before
    response = client.post(f"/api/v1/assessments/{assessment.pk}/scoring/submit/")
    assert response.status_code == 200
    assert response.json()["state"] == "scored"
    # No campaigns nor register for assessors.
    assert client.get("/api/v1/campaigns/").status_code == 403
    assert client.get("/api/v1/clouds/").status_code == 403


def test_the_auditor_and_the_security_administrator_get_only_what_the_policy_gives(
    assessment: Assessment,
    assignments: list[Assignment],
    auditor: User,
    security_admin: User,
    admin: User,
) -> None:
    campaign_pk, cloud_pk = assessment.campaign_id, assessment.cloud_id
    before = _snapshot(assessment)
    auditor_client = client_of(auditor)
    # cloud.view: the auditor reads the register, and nothing of the workflow.
    assert auditor_client.get("/api/v1/clouds/").status_code == 200
    assert auditor_client.get(f"/api/v1/clouds/{cloud_pk}/").status_code == 200
    for user in (auditor, security_admin):
        client = client_of(user)
        for url in (
            "/api/v1/assessments/",
            f"/api/v1/assessments/{assessment.pk}/",
            "/api/v1/campaigns/",
            f"/api/v1/campaigns/{campaign_pk}/",
        ):
            assert client.get(url).status_code == 403, (user.username, url)
        for url, body in _writes(assessment, assignments[0]):
            assert client.post(url, body, format="json").status_code == 403, (user.username, url)
        assert (
            client.post(
                f"/api/v1/campaigns/{campaign_pk}/state/", {"state": "reviewing"}
            ).status_code
            == 403
        )
    assert client_of(security_admin).get("/api/v1/clouds/").status_code == 403
    assert _snapshot(assessment) == before


def test_anonymous_requests_get_nothing(assessment: Assessment) -> None:
    client = APIClient()
    for url in (
        "/api/v1/campaigns/",
        "/api/v1/clouds/",
        "/api/v1/assessments/",
        f"/api/v1/assessments/{assessment.pk}/",
    ):
        assert client.get(url).status_code == 401, url
    for url, body in _writes(assessment):
        assert client.post(url, body, format="json").status_code == 401, url
