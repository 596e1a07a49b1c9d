"""The workflow API: campaigns, clouds, assessments and their transitions, through personal
tokens, calling the same services as the pages (their messages, their refusals)."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Organisation, User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign, Cloud
from indicators.models import Framework
from tests.assessments.conftest import answer_everything, rate_everything

from .clients import client_of, fresh_clients  # noqa: F401 (fresh_clients: autouse)

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


def _url(assessment: Assessment, action: str = "") -> str:
    return f"/api/v1/assessments/{assessment.pk}/{action}"


def _error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) <= {"code", "message", "fields"}
    assert body["code"] and body["message"]
    return body


# ----------------------------------------------------------------------------------------------
# The vendor's submission


def test_a_vendor_submits_a_complete_self_assessment_and_an_incomplete_one_is_refused(
    assessment: Assessment, vendor: User
) -> None:
    client = client_of(vendor)
    body = _error(client.post(_url(assessment, "submit/")))
    assert body["code"] == "validation_error"
    first = assessment.campaign.framework.indicators.order_by("dimension__order", "order").first()
    assert first is not None and first.code in body["message"]
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT

    answer_everything(assessment, vendor)
    response = client.post(_url(assessment, "submit/"))
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == assessment.pk
    assert data["state"] == "submitted" and data["submitted_at"]
    assert len(data["answers"]) == assessment.answers.count()
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.SUBMITTED
    # Submitted once: a second submission is a state problem, with the service's message.
    assert _error(client.post(_url(assessment, "submit/")))["code"] == "validation_error"


def test_the_detail_says_what_can_happen_next_and_why_not(
    assessment: Assessment, vendor: User, admin: User
) -> None:
    data = client_of(vendor).get(_url(assessment)).json()
    assert data["due_on"] == assessment.campaign.closes_on.isoformat()
    assert data["self_assessment_due_on"] is None and data["excluded"] is False
    actions = {a["action"]: a for a in data["next_actions"]}
    assert actions["answer"]["allowed"] is True
    missing = str(assessment.campaign.framework.indicators.count())
    assert actions["submit"]["allowed"] is False and missing in actions["submit"]["reason"]
    assert data["assignments"] == []  # the vendor is not told who scores it
    assert data["summary"]

    data = client_of(admin).get(_url(assessment)).json()
    actions = {a["action"]: a for a in data["next_actions"]}
    assert set(actions) >= {"approve", "return", "reopen", "assign", "replace", "exclude"}
    assert actions["approve"]["allowed"] is False and actions["approve"]["reason"]
    assert actions["assign"]["allowed"] is True


# ----------------------------------------------------------------------------------------------
# The evaluation office: return, reopen, approve, exclude, include


@pytest.fixture
def submitted(assessment: Assessment, vendor: User) -> Assessment:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    assessment.refresh_from_db()
    return assessment


def test_admin_returns_with_a_reason_and_a_deadline_then_reopens(
    submitted: Assessment, admin: User, vendor: User
) -> None:
    client = client_of(admin)
    due = (TODAY + 14 * DAY).isoformat()
    # A blank reason: the service's message, under the API's field name; nothing saved.
    body = _error(client.post(_url(submitted, "return/"), {"reason": " ", "due_on": due}))
    assert set(body["fields"]) == {"reason"}
    body = _error(client.post(_url(submitted, "return/"), {"due_on": due}, format="json"))
    assert "reason" in body["fields"]
    past = (TODAY - DAY).isoformat()
    body = _error(client.post(_url(submitted, "return/"), {"reason": "补充", "due_on": past}))
    assert "due_on" in body["fields"]
    submitted.refresh_from_db()
    assert submitted.state == Assessment.State.SUBMITTED

    response = client.post(
        _url(submitted, "return/"), {"reason": "请补充等保测评报告。", "due_on": due}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "returned"
    assert data["due_on"] == due and data["self_assessment_due_on"] == due
    # The vendor reads why.
    vendor_view = client_of(vendor).get(_url(submitted)).json()
    assert "请补充等保测评报告。" in vendor_view["notice"]

    later = (TODAY + 20 * DAY).isoformat()
    body = _error(client.post(_url(submitted, "reopen/"), {"reason": "延期"}, format="json"))
    assert "due_on" in body["fields"]
    response = client.post(
        _url(submitted, "reopen/"), {"reason": "厂商申请延期。", "due_on": later}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "returned"
    assert response.json()["due_on"] == later
    # Reopening needs a draft or returned self-assessment: refused once resubmitted.
    services.assessment_submit(assessment=submitted, acting_user=vendor)
    body = _error(
        client.post(_url(submitted, "reopen/"), {"reason": "x", "due_on": later}, format="json")
    )
    assert body["code"] == "validation_error"


def test_assessors_finish_scoring_and_the_admin_approves(
    submitted: Assessment, assignments: list[Assignment], admin: User
) -> None:
    first, second = assignments
    rate_everything(first)
    response = client_of(first.assessor).post(_url(submitted, "scoring/submit/"))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "in_review"
    first.refresh_from_db()
    assert first.state == Assignment.State.SUBMITTED

    # The second has rated nothing yet: the service names what is missing.
    body = _error(client_of(second.assessor).post(_url(submitted, "scoring/submit/")))
    codes = [i.code for i in submitted.campaign.framework.indicators.all()]
    assert any(code in body["message"] for code in codes)
    rate_everything(second)
    response = client_of(second.assessor).post(_url(submitted, "scoring/submit/"))
    assert response.status_code == 200
    assert response.json()["state"] == "scored"

    # Submitted once: the assessor cannot submit again.
    assert client_of(second.assessor).post(_url(submitted, "scoring/submit/")).status_code in (
        400,
        403,
    )
    client = client_of(admin)
    response = client.post(_url(submitted, "approve/"))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "approved" and data["approved_at"]
    # Approved never changes.
    assert _error(client.post(_url(submitted, "approve/")))["code"] == "validation_error"
    assert client.post(_url(submitted, "return/"), {"reason": "x"}).status_code == 400


def test_approving_an_assessment_not_scored_is_a_400_with_the_reason(
    submitted: Assessment, admin: User
) -> None:
    body = _error(client_of(admin).post(_url(submitted, "approve/")))
    assert body["code"] == "validation_error"
    submitted.refresh_from_db()
    assert submitted.state == Assessment.State.SUBMITTED


def test_admin_excludes_with_a_reason_and_includes_again(
    submitted: Assessment, admin: User
) -> None:
    client = client_of(admin)
    body = _error(client.post(_url(submitted, "exclude/"), {"reason": ""}, format="json"))
    assert set(body["fields"]) == {"reason"}
    submitted.refresh_from_db()
    assert submitted.state == Assessment.State.SUBMITTED

    response = client.post(_url(submitted, "exclude/"), {"reason": "该云已停止运营。"})
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "excluded" and data["excluded"] is True
    assert data["excluded_reason"] == "该云已停止运营。" and data["excluded_at"]
    actions = {a["action"] for a in data["next_actions"]}
    assert "include" in actions and "exclude" not in actions
    assert _error(client.post(_url(submitted, "exclude/"), {"reason": "again"}))

    response = client.post(_url(submitted, "include/"))
    assert response.status_code == 200
    assert response.json()["state"] == "submitted"
    assert response.json()["excluded"] is False
    assert _error(client.post(_url(submitted, "include/")))["code"] == "validation_error"


def test_admin_assigns_removes_and_replaces_assessors(
    assessment: Assessment, admin: User, assessor: User, assessor2: User, vendor: User
) -> None:
    client = client_of(admin)
    # Not an assessor, or nobody: refused, nothing assigned.
    for who in (vendor.pk, 999_999):
        body = _error(client.post(_url(assessment, "assignments/"), {"assessor": who}))
        assert "assessor" in body["fields"]
    assert _error(client.post(_url(assessment, "assignments/"), {"assessor": "x"}))
    assert not Assignment.objects.filter(assessment=assessment).exists()

    response = client.post(_url(assessment, "assignments/"), {"assessor": assessor.pk})
    assert response.status_code == 200, response.content
    (row,) = response.json()["assignments"]
    assert row["assessor"] == assessor.pk and row["removed_at"] is None
    body = _error(client.post(_url(assessment, "assignments/"), {"assessor": assessor.pk}))
    assert body["code"] == "validation_error"  # already assigned

    remove = _url(assessment, f"assignments/{row['id']}/remove/")
    body = _error(client.post(remove, {"reason": " "}, format="json"))
    assert "reason" in body["fields"]
    body = _error(client.post(remove, {"reason": "回避", "replacement": vendor.pk}, format="json"))
    assert "replacement" in body["fields"]
    assert Assignment.objects.get(pk=row["id"]).removed_at is None

    response = client.post(remove, {"reason": "回避", "replacement": assessor2.pk}, format="json")
    assert response.status_code == 200, response.content
    rows = {r["assessor"]: r for r in response.json()["assignments"]}
    assert rows[assessor.pk]["removed_at"] and rows[assessor.pk]["removed_reason"] == "回避"
    assert rows[assessor2.pk]["removed_at"] is None
    # Removed already: a state problem.
    assert _error(client.post(remove, {"reason": "again"}, format="json"))
    # An assignment of this id on another assessment: 404.
    assert (
        client.post(_url(assessment, "assignments/999999/remove/"), {"reason": "x"}).status_code
        == 404
    )


# ----------------------------------------------------------------------------------------------
# Campaigns


def _campaign_body(framework: Framework, **extra: Any) -> dict[str, Any]:
    return {
        "name": "2027年政务云综合水平评估",
        "year": TODAY.year + 1,
        "framework_code": framework.code,
        "framework_version": framework.version,
        "opens_on": (TODAY + DAY).isoformat(),
        "closes_on": (TODAY + 30 * DAY).isoformat(),
        **extra,
    }


def test_admin_creates_updates_and_moves_a_campaign_on(
    admin: User, comprehensive: Framework, cloud: Cloud
) -> None:
    client = client_of(admin)
    before = Campaign.objects.count()
    # Bad input: the error shape, the field named, nothing saved.
    body = _error(
        client.post(
            "/api/v1/campaigns/",
            _campaign_body(
                comprehensive, closes_on=TODAY.isoformat(), opens_on=(TODAY + DAY).isoformat()
            ),
            format="json",
        )
    )
    assert body["code"] == "validation_error" and "closes_on" in body["fields"]
    body = _error(
        client.post(
            "/api/v1/campaigns/",
            _campaign_body(comprehensive, framework_version="0"),
            format="json",
        )
    )
    assert "framework_code" in body["fields"]
    body = _error(client.post("/api/v1/campaigns/", {"name": ""}, format="json"))
    assert {"name", "year", "opens_on"} <= set(body["fields"])
    assert Campaign.objects.count() == before

    response = client.post("/api/v1/campaigns/", _campaign_body(comprehensive), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["state"] == "draft" and data["framework_code"] == comprehensive.code
    assert data["assessors_per_assessment"] == 2 and data["scoring_due_on"] is None
    assert data["progress"]["total"] == 0
    pk = data["id"]

    response = client.patch(
        f"/api/v1/campaigns/{pk}/",
        {"name": "2027年评估（修订）", "assessors_per_assessment": 3},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "2027年评估（修订）"
    assert response.json()["assessors_per_assessment"] == 3
    body = _error(
        client.patch(
            f"/api/v1/campaigns/{pk}/", {"scoring_due_on": TODAY.isoformat()}, format="json"
        )
    )
    assert "scoring_due_on" in body["fields"]
    assert Campaign.objects.get(pk=pk).scoring_due_on is None
    assert _error(
        client.patch(f"/api/v1/campaigns/{pk}/", {"year": "x", "name": " "}, format="json")
    )

    # Clouds: unknown ids are named, nothing added.
    body = _error(
        client.post(
            f"/api/v1/campaigns/{pk}/clouds/", {"clouds": [cloud.pk, 987654]}, format="json"
        )
    )
    assert "987654" in body["message"] and "clouds" in body["fields"]
    assert not Assessment.objects.filter(campaign_id=pk).exists()
    response = client.post(f"/api/v1/campaigns/{pk}/clouds/", {"clouds": [cloud.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["progress"]["total"] == 1
    assert response.json()["progress"]["draft"] == 1

    # States: one step at a time, an unknown one refused.
    assert _error(client.post(f"/api/v1/campaigns/{pk}/state/", {"state": "closed"}))
    assert _error(client.post(f"/api/v1/campaigns/{pk}/state/", {"state": "nonsense"}))
    response = client.post(f"/api/v1/campaigns/{pk}/state/", {"state": "open"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "open"
    response = client.post(f"/api/v1/campaigns/{pk}/state/", {"state": "reviewing"})
    assert response.json()["state"] == "reviewing"
    # Closing: every assessment approved or excluded first; the message names the cloud.
    body = _error(client.post(f"/api/v1/campaigns/{pk}/state/", {"state": "closed"}))
    assert cloud.name in body["message"]
    assert Campaign.objects.get(pk=pk).state == Campaign.State.REVIEWING
    # A late cloud needs a deadline now.
    other = services.cloud_create(
        name="青岛政务云",
        owner=cloud.owner,
        vendors=list(cloud.vendors.all()),
        level=Cloud.Level.MUNICIPAL,
        acting_user=None,
    )
    body = _error(
        client.post(f"/api/v1/campaigns/{pk}/clouds/", {"clouds": [other.pk]}, format="json")
    )
    assert "due_on" in body["fields"]


def test_the_campaign_detail_counts_its_assessments_by_state(
    admin: User, campaign: Campaign, submitted: Assessment
) -> None:
    data = client_of(admin).get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert data["state"] == "open"
    assert data["progress"]["total"] == 1 and data["progress"]["submitted"] == 1
    assert data["progress"]["draft"] == 0
    listed = client_of(admin).get("/api/v1/campaigns/?state=open").json()
    assert [c["id"] for c in listed["results"]] == [campaign.pk]
    assert client_of(admin).get("/api/v1/campaigns/?state=closed").json()["count"] == 0
    assert _error(client_of(admin).get("/api/v1/campaigns/?state=nonsense"))


# ----------------------------------------------------------------------------------------------
# Clouds and the assessment list's filters


def test_clouds_are_listed_filtered_and_read(
    admin: User, cloud: Cloud, assessment: Assessment
) -> None:
    client = client_of(admin)
    data = client.get("/api/v1/clouds/").json()
    (row,) = data["results"]
    assert row["id"] == cloud.pk and row["n_campaigns"] == 1
    assert [v["name"] for v in row["vendors"]] == [v.name for v in cloud.vendors.all()]
    assert client.get("/api/v1/clouds/?level=provincial").json()["count"] == 0
    assert client.get("/api/v1/clouds/?province=37").json()["count"] == 1
    assert client.get("/api/v1/clouds/?archived=true").json()["count"] == 0
    assert client.get("/api/v1/clouds/?q=济南").json()["count"] == 1
    assert client.get(f"/api/v1/clouds/{cloud.pk}/").json()["name"] == cloud.name
    assert client.get("/api/v1/clouds/999999/").status_code == 404


def test_the_assessment_list_filters_and_orders(
    admin: User, assessment: Assessment, campaign: Campaign, cloud: Cloud
) -> None:
    client = client_of(admin)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/assessments/{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [assessment.pk]
    assert ids(f"?campaign={campaign.pk}&state=draft&cloud={cloud.pk}&year={campaign.year}") == [
        assessment.pk
    ]
    assert ids("?state=approved") == []
    assert ids(f"?year={campaign.year - 1}") == []
    assert ids("?campaign=999999") == []
    assert ids("?ordering=-submitted_at") == [assessment.pk]
    row = client.get("/api/v1/assessments/").json()["results"][0]
    assert row["due_on"] == campaign.closes_on.isoformat() and row["excluded"] is False
    assert _error(client.get("/api/v1/assessments/?state=nonsense"))
    assert _error(client.get("/api/v1/assessments/?campaign=x"))


# ----------------------------------------------------------------------------------------------
# Query counts: the same at 10 and at 400 rows


_serial = itertools.count(1)


def _many(campaign: Campaign, owner: Organisation, vendor_org: Organisation, n: int) -> None:
    """``n`` clouds of ``vendor_org`` in ``campaign``, written in bulk."""
    clouds = Cloud.objects.bulk_create(
        [
            Cloud(name=f"批量云{next(_serial)}", owner=owner, level=Cloud.Level.MUNICIPAL)
            for _ in range(n)
        ]
    )
    Cloud.vendors.through.objects.bulk_create(
        [Cloud.vendors.through(cloud=c, organisation=vendor_org) for c in clouds]
    )
    Assessment.objects.bulk_create(
        [Assessment(campaign=campaign, cloud=c, state=Assessment.State.DRAFT) for c in clouds]
    )


def _campaigns(framework: Framework, admin: User, n: int) -> None:
    Campaign.objects.bulk_create(
        [
            Campaign(
                name=f"批量评估{next(_serial)}",
                year=TODAY.year,
                framework=framework,
                opens_on=TODAY,
                closes_on=TODAY + 30 * DAY,
                state=Campaign.State.OPEN,
                created_by=admin,
            )
            for _ in range(n)
        ]
    )


def _count(client: APIClient, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()["count"]


@pytest.mark.parametrize("page_size", [50, 200])
def test_every_list_costs_the_same_queries_at_10_and_at_400_rows(
    page_size: int,
    admin: User,
    vendor: User,
    campaign: Campaign,
    government_org: Organisation,
    vendor_org: Organisation,
    comprehensive: Framework,
) -> None:
    lists = {
        "/api/v1/campaigns/": [admin],
        "/api/v1/clouds/": [admin],
        "/api/v1/assessments/": [admin, vendor],
    }
    clients = {user.pk: client_of(user) for users in lists.values() for user in users}
    for client in clients.values():  # the token's first use is recorded once: not counted
        client.get("/api/v1/assessments/")
    _many(campaign, government_org, vendor_org, 10)
    _campaigns(comprehensive, admin, 9)
    small = {
        (url, user.pk): _count(clients[user.pk], f"{url}?page_size={page_size}")
        for url, users in lists.items()
        for user in users
    }
    _many(campaign, government_org, vendor_org, 390)
    _campaigns(comprehensive, admin, 390)
    for url, users in lists.items():
        for user in users:
            queries, count = _count(clients[user.pk], f"{url}?page_size={page_size}&ordering=-id")
            assert count == 400, (url, user.username)
            assert small[url, user.pk][1] == 10
            assert queries == small[url, user.pk][0], (url, user.username)


# ----------------------------------------------------------------------------------------------
# Odd input: a 400 or a 404, never a 500


def test_huge_ids_and_odd_values_are_refused_cleanly(
    admin: User, assessment: Assessment, campaign: Campaign
) -> None:
    client = client_of(admin)
    huge = 2**70
    for url in (
        f"/api/v1/assessments/{huge}/",
        f"/api/v1/campaigns/{huge}/",
        f"/api/v1/clouds/{huge}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/assessments/{huge}/approve/").status_code == 404
    for query in (f"?campaign={huge}", f"?cloud={huge}", "?campaign=-1", "?year=x"):
        assert client.get(f"/api/v1/assessments/{query}").status_code == 400, query
    assert client.get("/api/v1/assessments/?year=99999").json()["count"] == 0
    assert client.get("/api/v1/campaigns/?year=99999").json()["count"] == 0
    assert client.get("/api/v1/assessments/?ordering=nonsense,-id").status_code == 200
    bodies: list[dict[str, Any]] = [{"clouds": [huge]}, {"clouds": []}, {"clouds": "x"}, {}]
    for body in bodies:
        response = client.post(f"/api/v1/campaigns/{campaign.pk}/clouds/", body, format="json")
        assert response.status_code == 400, body
    assignments: list[dict[str, Any]] = [{"assessor": huge}, {"assessor": None}, {}]
    for body in assignments:
        url = _url(assessment, "assignments/")
        assert client.post(url, body, format="json").status_code == 400, body
    reopen = {"reason": "x", "due_on": "2026-02-30"}
    assert client.post(_url(assessment, "reopen/"), reopen, format="json").status_code == 400
    assert (
        client.post(_url(assessment, "exclude/"), "[]", content_type="application/json").status_code
        == 400
    )
