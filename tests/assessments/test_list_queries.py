"""The assessor's assessment list costs what the admin's does: a fixed number of queries
whatever the number of rows, no more than the admin's, and one row per assessment although the
assessor's scope joins the assignments (a join that used to multiply the rows the list counted
answers and indicators over: the list was four times slower than the admin's)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from assessments.models import Assessment, Assignment, Campaign
from indicators.models import Framework
from tests.conftest import client_for
from tests.test_dashboards import DAY, TODAY, make_assessments

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_campaign(admin: User, comprehensive: Framework) -> Campaign:
    return Campaign.objects.create(
        name="2026年政务云综合水平评估",
        year=TODAY.year,
        framework=comprehensive,
        opens_on=TODAY - 30 * DAY,
        closes_on=TODAY + 10 * DAY,
        scoring_due_on=TODAY + 20 * DAY,
        state=Campaign.State.OPEN,
        created_by=admin,
    )


def _list(client: Client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("assessments:list"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def _assign(
    campaign: Campaign, owner: Organisation, n: int, assessors: list[User]
) -> list[Assessment]:
    assessments = make_assessments(campaign, owner, n, Assessment.State.SUBMITTED)
    for assessment in assessments:
        for assessor in assessors:
            Assignment.objects.create(assessment=assessment, assessor=assessor)
    return assessments


def test_the_assessors_list_runs_a_constant_number_of_queries_no_more_than_the_admins(
    admin: User,
    assessor: User,
    assessor2: User,
    government_org: Organisation,
    open_campaign: Campaign,
) -> None:
    # Two assessors on every assessment: the join on assignments has two rows per assessment.
    _assign(open_campaign, government_org, 5, [assessor, assessor2])
    assessor_client, admin_client = client_for(assessor), client_for(admin)
    assessor_at_5, _html = _list(assessor_client)
    admin_at_5, _html = _list(admin_client)

    _assign(open_campaign, government_org, 35, [assessor, assessor2])
    assessor_at_40, html = _list(assessor_client)
    admin_at_40, _html = _list(admin_client)

    assert assessor_at_40 == assessor_at_5
    assert admin_at_40 == admin_at_5
    assert assessor_at_40 <= admin_at_40
    listed = Assessment.objects.filter(assignments__assessor=assessor).distinct()
    assert all(f'href="{reverse("assessments:score", args=[a.pk])}"' in html for a in listed)


def test_each_assessment_is_listed_once_with_its_own_counts_despite_removed_assignments(
    admin: User,
    assessor: User,
    assessor2: User,
    government_org: Organisation,
    open_campaign: Campaign,
) -> None:
    (assessment,) = _assign(open_campaign, government_org, 1, [assessor, assessor2])
    # An earlier, removed assignment of the same assessor: one more joined row, not another
    # list row.
    Assignment.objects.filter(assessment=assessment, assessor=assessor).update(
        removed_at=timezone.now(), removed_by=admin, removed_reason="（测试）更换"
    )
    Assignment.objects.create(assessment=assessment, assessor=assessor)

    _queries, html = _list(client_for(assessor))

    score_url = reverse("assessments:score", args=[assessment.pk])
    assert html.count(f'href="{score_url}"') == 1
    indicators = open_campaign.framework.indicators.count()
    assert f"0 / {indicators}" in html
