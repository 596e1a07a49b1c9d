from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from assessments import selectors, services
from assessments.models import Answer, Assessment, Assignment, Rating
from tests.assessments.conftest import answer_everything
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def people(
    users_by_role: dict[str, User],
    outsider_vendor: User,
    assignments: list[Assignment],
    assessor2: User,
) -> dict[str, User | None]:
    """Everyone who might knock: one per role, the second assessor, outsiders, nobody."""
    return {
        **users_by_role,
        "assessor2": assessor2,
        "outsider_vendor": outsider_vendor,
        "unassigned_assessor": UserFactory.create(username="idle", role=User.Role.ASSESSOR),
        "anonymous": None,
    }


def _status(user: User | None, method: str, url: str, data: dict | None = None) -> int:
    client = client_for(user)
    response = client.get(url) if method == "GET" else client.post(url, data or {}, headers=XHR)
    return response.status_code


def test_every_page_of_the_workflow_admits_exactly_the_people_it_should(
    people: dict[str, User | None], assessment: Assessment
) -> None:
    indicator = selectors.indicators_of(assessment=assessment)[0]
    pk = assessment.pk
    allowed = {
        ("GET", "/assessments/"): {
            "admin",
            "assessor",
            "assessor2",
            "vendor",
            "owner",
            "outsider_vendor",
            "unassigned_assessor",
        },
        ("GET", f"/assessments/{pk}/"): {"admin", "assessor", "assessor2", "vendor", "owner"},
        ("GET", f"/assessments/{pk}/score/"): {"assessor", "assessor2"},
        ("GET", f"/api/v1/assessments/{pk}/"): {
            "admin",
            "assessor",
            "assessor2",
            "vendor",
            "owner",
        },
        ("POST", f"/assessments/{pk}/answers/{indicator.pk}/"): {"vendor"},
    }
    for (method, url), who in allowed.items():
        for name, user in people.items():
            status = _status(user, method, url, {"self_rating": "1", "explanation": "x"})
            if user is None:
                # Pages send anonymous visitors to sign in; the API answers 401.
                expected = 401 if url.startswith("/api/") else 302
                assert status in (expected, 403), (method, url, name, status)
            elif name in who:
                assert status == 200, (method, url, name, status)
            else:
                assert status in (403, 404), (method, url, name, status)


def test_the_vendor_page_is_in_chinese_and_lists_what_is_missing(
    assessment: Assessment, vendor: User
) -> None:
    html = client_for(vendor).get(f"/assessments/{assessment.pk}/").content.decode()

    assert "提交自评" in html
    assert "<span data-missing-count>20</span> / 20 项指标尚待填写" in html
    assert "资源服务能力" in html and "稳定性与可用性" in html
    assert html.count("data-autosave>") == 20


def test_autosave_stores_a_draft_and_says_how_much_is_left(
    assessment: Assessment, vendor: User
) -> None:
    indicator = selectors.indicators_of(assessment=assessment)[0]

    response = client_for(vendor).post(
        f"/assessments/{assessment.pk}/answers/{indicator.pk}/",
        {"self_rating": "2", "explanation": "提供IaaS和基础PaaS服务"},
        headers=XHR,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["missing"] == 19 and body["complete"] is True
    answer = Answer.objects.get(assessment=assessment, indicator=indicator)
    assert answer.self_rating == 2 and answer.explanation == "提供IaaS和基础PaaS服务"


def test_autosave_rejects_a_bad_value_with_a_message_and_keeps_the_old_answer(
    assessment: Assessment, vendor: User
) -> None:
    indicator = next(i for i in selectors.indicators_of(assessment=assessment) if i.is_quantitative)
    client = client_for(vendor)
    client.post(
        f"/assessments/{assessment.pk}/answers/{indicator.pk}/",
        {"self_rating": "2", "value": "99.9", "explanation": "ok"},
        headers=XHR,
    )

    response = client.post(
        f"/assessments/{assessment.pk}/answers/{indicator.pk}/",
        {"self_rating": "2", "value": "九十九", "explanation": "changed"},
        headers=XHR,
    )

    assert response.status_code == 400
    assert "九十九" in response.json()["errors"][0]
    answer = Answer.objects.get(assessment=assessment, indicator=indicator)
    assert answer.explanation == "ok"


def test_submitting_too_early_lists_the_missing_indicators(
    assessment: Assessment, vendor: User
) -> None:
    response = client_for(vendor).post(f"/assessments/{assessment.pk}/submit/", follow=True)

    html = response.content.decode()
    assert "未能提交" in html and "1.1" in html
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


def test_a_submitted_self_assessment_is_read_only_for_the_vendor(
    assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    response = client_for(vendor).post(f"/assessments/{assessment.pk}/submit/", follow=True)
    assert "已提交" in response.content.decode()

    html = client_for(vendor).get(f"/assessments/{assessment.pk}/").content.decode()

    assert "data-autosave" not in html
    assert "提交自评" not in html


def test_the_assessor_rates_with_autosave_and_sees_the_vendors_answer(
    assessment: Assessment, assignments: list[Assignment], vendor: User, assessor: User
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    indicator = selectors.indicators_of(assessment=assessment)[0]
    client = client_for(assessor)

    html = client.get(f"/assessments/{assessment.pk}/score/").content.decode()
    assert "云服务商自评" in html and "资源服务能力：自评说明。" in html

    response = client.post(
        f"/assessments/{assessment.pk}/ratings/{indicator.pk}/",
        {"rating": "3", "rationale": "目录完整，可自助开通"},
        headers=XHR,
    )
    assert response.json()["ok"] is True
    assert Rating.objects.get(indicator=indicator, assignment=assignments[0]).rating == 3


def test_the_api_lists_only_what_the_user_may_see(
    assessment: Assessment, vendor: User, outsider_vendor: User
) -> None:
    mine = client_for(vendor).get("/api/v1/assessments/").json()
    theirs = client_for(outsider_vendor).get("/api/v1/assessments/").json()

    assert [a["id"] for a in mine["results"]] == [assessment.pk]
    assert mine["results"][0]["cloud"]["division_code"] == "370100"
    assert theirs["results"] == []
    assert (
        client_for(outsider_vendor).get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
    )
    assert Client().get("/api/v1/assessments/").status_code == 401
