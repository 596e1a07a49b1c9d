"""Every page and action of the admin's journey, tried by every role, an outsider vendor and an
anonymous visitor: admins get in, everyone else gets 404 (anonymous: the sign-in page) and
changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from assessments.models import Assessment, Assignment, Campaign, ReviewComment, Settlement
from assessments.views import campaigns as campaign_views
from indicators.models import Framework
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

VISITORS = ["admin", "assessor", "vendor", "outsider_vendor", "owner", "auditor", "anonymous"]

# url name → (what the pk is of, POST data or None for a page read with GET)
ROUTES: dict[str, tuple[str | None, dict[str, str] | None]] = {
    "campaign_list": (None, None),
    "campaign_create": (None, None),
    "campaign_detail": ("campaign", None),
    "campaign_add_clouds": ("campaign", None),
    "assessment_assessors": ("assessment", None),
    "assessment_review": ("assessment", None),
    "campaign_set_state": ("campaign", {"state": "reviewing"}),
    "assessment_settle": ("assessment", {"reason": "依据材料"}),
    "assessment_return": ("assessment", {"comment": "请补充材料"}),
    "assessment_approve": ("assessment", {}),
    "campaign_edit": ("campaign", None),
    "campaign_close": ("campaign", None),
    "assessment_reopen": ("assessment", None),
    "assessment_exclude": ("assessment", None),
    "assessment_include": ("assessment", {}),
    "assignment_replace": ("assignment", None),
}


def test_the_access_table_covers_every_route_of_the_module() -> None:
    assert {p.name for p in campaign_views.urlpatterns} == set(ROUTES)


def _visitor(request: pytest.FixtureRequest, who: str) -> User | None:
    return None if who == "anonymous" else request.getfixturevalue(who)


def _url(name: str, of: str | None, assessment: Assessment) -> str:
    if of is None:
        return reverse(f"assessments:{name}")
    pk = assessment.campaign_id if of == "campaign" else assessment.pk
    if of == "assignment":
        first = assessment.assignments.first()
        assert first is not None
        pk = first.pk
    return reverse(f"assessments:{name}", args=[pk])


def _snapshot(assessment: Assessment) -> tuple[object, ...]:
    assessment.refresh_from_db()
    return (
        assessment.state,
        Campaign.objects.get(pk=assessment.campaign_id).state,
        Assignment.objects.count(),
        Settlement.objects.count(),
        ReviewComment.objects.count(),
        Campaign.objects.count(),
    )


@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize("name", [n for n, (_of, data) in ROUTES.items() if data is None])
def test_each_page_opens_for_admins_only(
    request: pytest.FixtureRequest,
    who: str,
    name: str,
    assessment: Assessment,
    assignments: list[Assignment],
) -> None:
    of, _data = ROUTES[name]
    url = _url(name, of, assessment)

    response = client_for(_visitor(request, who)).get(url)

    if who == "admin":
        assert response.status_code == 200
    elif who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize("name", [n for n, (_of, data) in ROUTES.items() if data is not None])
def test_each_action_is_refused_to_everyone_but_admins(
    request: pytest.FixtureRequest,
    who: str,
    name: str,
    assessment: Assessment,
    assignments: list[Assignment],
    comprehensive: Framework,
) -> None:
    of, data = ROUTES[name]
    assert data is not None
    url = _url(name, of, assessment)
    if name == "assessment_settle":
        indicator = comprehensive.indicators.first()
        assert indicator is not None
        data = {**data, "indicator": str(indicator.pk)}
    before = _snapshot(assessment)

    response = client_for(_visitor(request, who)).post(url, data)

    if who == "admin":
        assert response.status_code in (200, 302, 400)
        return
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    else:
        assert response.status_code == 404
    assert _snapshot(assessment) == before


@pytest.mark.parametrize("who", ["vendor", "assessor", "owner", "auditor"])
@pytest.mark.parametrize("name", [n for n, (_of, data) in ROUTES.items() if data is not None])
def test_a_get_on_an_action_is_404_for_other_roles_and_405_for_admins(
    request: pytest.FixtureRequest, who: str, name: str, assessment: Assessment
) -> None:
    of, _data = ROUTES[name]
    url = _url(name, of, assessment)

    assert client_for(request.getfixturevalue(who)).get(url).status_code == 404
    assert client_for(request.getfixturevalue("admin")).get(url).status_code == 405


def test_an_admin_gets_404_for_a_campaign_or_assessment_that_does_not_exist(admin: User) -> None:
    client = client_for(admin)

    assert client.get(reverse("assessments:campaign_detail", args=[999999])).status_code == 404
    assert client.get(reverse("assessments:assessment_review", args=[999999])).status_code == 404
