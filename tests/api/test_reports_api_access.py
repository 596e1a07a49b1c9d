"""Who may read what through the reports API: a vendor never reaches another vendor's scores or
reports, whatever ids it tries; anonymous clients read rankings and verification only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db.models import Max
from pytest_django import Settings

from accounts.models import User
from assessments.models import Assessment
from reports.models import Report
from reports.scoring import results
from tests.api.conftest import token_client
from tests.reports.certified.fixtures import *  # noqa: F403  (approved, issued, signing_key, …)

API = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_another_vendor_reaches_no_score_or_report_whatever_ids_it_tries(
    issued: Report, vendor: User, outsider_vendor: User, owner: User, settings: Settings
) -> None:
    # Hundreds of guesses: more than the per-user throttle allows in a minute.
    settings.API_THROTTLE_RATES = {"user": "100000/minute", "anon": "100000/minute"}
    results.assessment_score(assessment_id=issued.assessment_id)
    mine = token_client(vendor)
    # The cloud's vendor and owner read them (the assessment is approved) …
    for client in (mine, token_client(owner)):
        assert client.get(f"{API}/assessments/{issued.assessment_id}/score/").status_code == 200
        assert client.get(f"{API}/reports/{issued.pk}/").status_code == 200
        assert client.get(f"{API}/reports/{issued.pk}/download/").status_code == 200
    # … another vendor reaches nothing, by any id.
    other = token_client(outsider_vendor)
    assert other.get(f"{API}/reports/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    last_report = Report.objects.aggregate(m=Max("pk"))["m"]
    last_assessment = Assessment.objects.aggregate(m=Max("pk"))["m"]
    # Every id around the real ones (ids keep growing over the suite: not from 1).
    low = min(issued.pk, issued.assessment_id)
    for pk in range(max(1, low - 30), max(last_report, last_assessment) + 30):
        for url in (
            f"{API}/reports/{pk}/",
            f"{API}/reports/{pk}/download/",
            f"{API}/assessments/{pk}/score/",
        ):
            response = other.get(url)
            assert response.status_code == 404, url
            assert response.json()["code"] == "not_found"
    assert other.get(f"{API}/reports/", {"assessment": issued.assessment_id}).json()["count"] == 0


def test_only_admins_issue_reports(
    approved: Assessment, vendor: User, outsider_vendor: User, assessor: User
) -> None:
    for user in (vendor, outsider_vendor, assessor):
        response = token_client(user).post(
            f"{API}/assessments/{approved.pk}/reports/", {"language": "zh-hans"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert not Report.objects.filter(assessment=approved).exists()


def test_roles_without_reports_or_scores_are_refused(
    issued: Report, assessor: User, auditor: User, security_admin: User
) -> None:
    results.assessment_score(assessment_id=issued.assessment_id)
    clients = {user.role: token_client(user) for user in (assessor, auditor, security_admin)}
    # Reports: admins, the cloud's vendors and owner only (assessors too are outsiders).
    for client in clients.values():
        assert client.get(f"{API}/reports/").status_code == 403
        assert client.get(f"{API}/reports/{issued.pk}/").status_code == 403
        assert client.get(f"{API}/reports/{issued.pk}/download/").status_code == 403
    # Scores: the assigned assessor reads it; not the auditor or the security administrator.
    score = f"{API}/assessments/{issued.assessment_id}/score/"
    assert clients[assessor.role].get(score).status_code == 200
    for user in (auditor, security_admin):
        assert clients[user.role].get(score).status_code == 403


def test_anonymous_clients_read_rankings_and_verification_only(issued: Report) -> None:
    anonymous = token_client(None)
    assert anonymous.get(f"{API}/rankings/").status_code == 200
    assert anonymous.get(f"{API}/verify/{issued.verification_code}/").status_code == 200
    for url in (
        f"{API}/reports/",
        f"{API}/reports/{issued.pk}/",
        f"{API}/reports/{issued.pk}/download/",
        f"{API}/assessments/{issued.assessment_id}/score/",
    ):
        response = anonymous.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"
    response = anonymous.post(f"{API}/assessments/{issued.assessment_id}/reports/", {})
    assert response.status_code == 401


def test_a_wrong_token_is_refused_even_where_anonymous_clients_are_welcome(
    issued: Report,
) -> None:
    client = token_client(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer gce_not-a-token")
    assert client.get(f"{API}/rankings/").status_code == 401
    assert client.get(f"{API}/verify/{issued.verification_code}/").status_code == 401


def test_a_session_is_not_asked_for_a_csrf_token_to_compare_a_file(
    issued: Report, vendor: User
) -> None:
    """The verification reads tokens only: a browser session posting without a CSRF token is
    served as anyone is (the comparison changes nothing)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(vendor)
    response = client.post(
        f"{API}/verify/{issued.verification_code}/",
        {"file": SimpleUploadedFile("x.txt", b"hello", "text/plain")},
        format="multipart",
    )
    assert response.status_code == 200
    assert response.json()["verdict"] == "not_pdf"
