"""The pages that list assessments, campaigns and clouds cost the same number of queries at 10
and at 400 assessments, for every role that sees them; the campaign cockpit stays small at 400
clouds, and its heat map still says, cloud by cloud and indicator by indicator, what is done.

The campaigns are written with ``tests/reports/bulk.py`` (bulk_create: 20 indicators, two
assessors, answers and ratings everywhere, then spread over the workflow's states), so a
campaign of 400 takes a few seconds, not minutes of workflow."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, cast

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from assessments.models import Answer, Assessment, Assignment, Campaign, Evidence, Rating
from indicators.models import Framework, Indicator
from tests.conftest import client_for as _client_for
from tests.reports.bulk import bulk_scored_campaign, bulk_spread_states

pytestmark = pytest.mark.django_db

QUERY_LIMIT = 12
COCKPIT_MAX_BYTES = 400 * 1024


def client_for(user: User) -> Client:
    client = _client_for(user)
    client.cookies["django_language"] = "zh-hans"
    return client


def _campaign(
    size: int,
    name: str,
    framework: Framework,
    admin: User,
    assessors: list[User],
    owner: Organisation,
    vendor: Organisation,
) -> Campaign:
    campaign = bulk_scored_campaign(
        framework=framework,
        size=size,
        assessors=assessors,
        admin=admin,
        name=name,
        owner=owner,
        vendor=vendor,
    )
    bulk_spread_states(campaign=campaign)
    return campaign


def _queries(client: Client, url: str) -> int:
    assert client.get(url).status_code == 200  # warm the session and per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def _heatmap_payload(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="heatmap-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    return cast(dict[str, Any], json.loads(found.group(1)))


@pytest.fixture
def people(
    admin: User,
    assessor: User,
    assessor2: User,
    vendor: User,
    owner: User,
    auditor: User,
) -> dict[str, User]:
    return {
        "admin": admin,
        "assessor": assessor,
        "assessor2": assessor2,
        "vendor": vendor,
        "owner": owner,
        "auditor": auditor,
    }


# Every list of assessments, campaigns or clouds, and the cockpit, for each role that sees it.
LIST_PAGES = [
    ("assessments:list", ["admin", "assessor", "vendor", "owner"]),
    ("assessments:campaign_list", ["admin"]),
    ("assessments:cloud_list", ["admin", "auditor"]),
    ("dashboard", ["admin", "assessor", "vendor", "owner", "auditor"]),
    ("audit:event_list", ["auditor"]),
    ("notifications:list", ["admin", "vendor"]),
    ("certified:report_list", ["admin"]),
    ("assessments_api:assessment_list", ["admin", "assessor", "vendor", "owner"]),
]


def _counts(people: dict[str, User], campaign: Campaign) -> dict[str, int]:
    counts = {}
    clients = {role: client_for(user) for role, user in people.items()}
    for name, roles in LIST_PAGES:
        for role in roles:
            counts[f"{name} as {role}"] = _queries(clients[role], reverse(name))
    for name in ("assessments:campaign_detail", "scoring:campaign_scoring"):
        counts[f"{name} as admin"] = _queries(clients["admin"], reverse(name, args=[campaign.pk]))
    return counts


def test_every_list_and_the_cockpit_run_as_many_queries_at_400_assessments_as_at_10(
    people: dict[str, User],
    comprehensive: Framework,
    government_org: Organisation,
    vendor_org: Organisation,
) -> None:
    assessors = [people["assessor"], people["assessor2"]]
    build = (comprehensive, people["admin"], assessors, government_org, vendor_org)
    small = _campaign(10, "2026年政务云评估（10）", *build)
    at_10 = _counts(people, small)

    large = _campaign(400, "2026年政务云评估（400）", *build)
    at_400 = _counts(people, large)

    assert Assessment.objects.count() == 410
    assert at_400 == at_10
    cockpit = at_400["assessments:campaign_detail as admin"]
    assert cockpit <= QUERY_LIMIT
    lists = {
        page: n
        for page, n in at_400.items()
        if page.startswith(("assessments:list", "assessments:campaign_list", "assessments:cloud"))
    }
    assert max(lists.values()) <= QUERY_LIMIT, lists


def test_the_cockpit_of_400_clouds_is_small_and_pages_its_table_but_maps_every_cloud(
    people: dict[str, User],
    comprehensive: Framework,
    government_org: Organisation,
    vendor_org: Organisation,
) -> None:
    campaign = _campaign(
        400,
        "2026年政务云评估（400）",
        comprehensive,
        people["admin"],
        [people["assessor"], people["assessor2"]],
        government_org,
        vendor_org,
    )
    client = client_for(people["admin"])
    url = reverse("assessments:campaign_detail", args=[campaign.pk])

    response = client.get(url)
    second = client.get(url, {"page": "2"})
    drafts = client.get(url, {"state": "draft"})

    assert response.status_code == 200
    assert len(response.content) <= COCKPIT_MAX_BYTES, len(response.content)
    assert len(_heatmap_payload(response.content.decode())["rows"]) == 400
    assert len(response.context["rows"]) == 50
    assert response.context["page"].paginator.count == 400
    assert [r.assessment_id for r in second.context["rows"]] == [
        r.assessment_id for r in response.context["heatmap"].rows[50:100]
    ]
    draft_rows = _heatmap_payload(drafts.content.decode())["rows"]
    expected = campaign.assessments.filter(state=Assessment.State.DRAFT).count()
    assert len(draft_rows) == expected > 0
    assert {row["state"] for row in draft_rows} == {"draft"}


def _expected_cells(assessment: Assessment, indicators: list[Indicator]) -> str:
    """The heat map's three digits per indicator, worked out from the rows one by one."""
    current = set(
        Assignment.objects.filter(assessment=assessment, removed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    digits = []
    for indicator in indicators:
        answer = Answer.objects.filter(assessment=assessment, indicator=indicator).first()
        if answer is None:
            digits.append("0")
        else:
            decided = answer.self_rating is not None or answer.self_met is not None
            digits.append("2" if decided and answer.explanation.strip() else "1")
        files = Evidence.objects.filter(assessment=assessment, indicator=indicator).count()
        digits.append(str(min(files, 9)))
        rated = sum(
            1
            for r in Rating.objects.filter(assignment__assessment=assessment, indicator=indicator)
            if r.assignment_id in current and (r.rating is not None or r.met is not None)
        )
        digits.append(str(min(rated, 9)))
    return "".join(digits)


def test_the_heat_map_payload_says_what_each_cloud_has_done_per_indicator(
    people: dict[str, User],
    comprehensive: Framework,
    government_org: Organisation,
    vendor_org: Organisation,
) -> None:
    campaign = _campaign(
        12,
        "2026年政务云评估（12）",
        comprehensive,
        people["admin"],
        [people["assessor"], people["assessor2"]],
        government_org,
        vendor_org,
    )
    indicators = list(
        Indicator.objects.filter(framework=comprehensive).order_by("dimension__order", "order")
    )
    scored = campaign.assessments.filter(state=Assessment.State.SCORED).order_by("pk")
    first, second = scored[0], scored[1]
    # An answer without its explanation is only started; files count, up to "9"; a rating
    # left undecided and a removed assessor's ratings do not count.
    Answer.objects.filter(assessment=first, indicator=indicators[0]).update(explanation="")
    Evidence.objects.bulk_create(
        Evidence(
            assessment=first,
            indicator=indicators[1],
            file=f"evidence/x/{n}.pdf",
            original_name=f"{n}.pdf",
            size=10,
            sha256="0" * 64,
            content_type="application/pdf",
            uploaded_by=people["vendor"],
        )
        for n in range(11)
    )
    Rating.objects.filter(
        assignment__assessment=first, assignment__assessor=people["assessor"]
    ).filter(indicator=indicators[2]).update(rating=None, met=None)
    Assignment.objects.filter(assessment=second, assessor=people["assessor2"]).update(
        removed_at=timezone.now(), removed_by=people["admin"], removed_reason="（测试）更换"
    )

    response = client_for(people["admin"]).get(
        reverse("assessments:campaign_detail", args=[campaign.pk])
    )

    payload = _heatmap_payload(response.content.decode())
    assert [i["code"] for i in payload["indicators"]] == [i.code for i in indicators]
    rows = {row["id"]: row for row in payload["rows"]}
    assert set(rows) == set(campaign.assessments.values_list("pk", flat=True))
    for assessment in campaign.assessments.all():
        row = rows[assessment.pk]
        assert row["cells"] == _expected_cells(assessment, indicators), assessment.state
        assert row["state"] == assessment.state
        assert row["cloud"] == assessment.cloud.name
    assert rows[first.pk]["cells"][0] == "1"  # started, not complete
    assert rows[first.pk]["cells"][4] == "9"  # eleven files
    assert rows[first.pk]["cells"][8] == "1"  # one of two assessors decided
    assert rows[second.pk]["expected"] == 1
    assert set(rows[second.pk]["cells"][2::3]) <= {"0", "1"}
    assert rows[first.pk]["expected"] == 2


def test_the_cockpit_shows_ten_overdue_clouds_and_filters_to_all_of_them(
    people: dict[str, User],
    comprehensive: Framework,
    government_org: Organisation,
    vendor_org: Organisation,
) -> None:
    campaign = _campaign(
        14,
        "2026年政务云评估（14）",
        comprehensive,
        people["admin"],
        [people["assessor"], people["assessor2"]],
        government_org,
        vendor_org,
    )
    # One submitted (not overdue), thirteen drafts (overdue): set here, whatever state the
    # spread gave each (it goes by id, so which one is a draft depends on the sequence).
    first = campaign.assessments.order_by("pk")[0].pk
    campaign.assessments.filter(pk=first).update(state=Assessment.State.SUBMITTED)
    campaign.assessments.exclude(pk=first).update(state=Assessment.State.DRAFT)
    Campaign.objects.filter(pk=campaign.pk).update(
        closes_on=timezone.localdate() - datetime.timedelta(days=3)
    )
    client = client_for(people["admin"])
    url = reverse("assessments:campaign_detail", args=[campaign.pk])

    page = client.get(url)
    overdue = client.get(url, {"deadline": "overdue"})
    refused = client.get(url, {"deadline": "soon"})

    assert len(page.context["overdue"]) == 13
    assert page.content.decode().count('class="is-overdue"') == 10
    assert 'data-testid="all-overdue"' in page.content.decode()
    assert {r.state for r in overdue.context["heatmap"].rows} == {Assessment.State.DRAFT}
    assert overdue.context["page"].paginator.count == 13
    assert refused.context["listing"].errors
    assert refused.context["page"].paginator.count == 14
