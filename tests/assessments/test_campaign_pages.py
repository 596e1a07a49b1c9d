"""The admin's campaign pages: the list, creating a campaign, the cockpit, adding clouds and
assigning assessors."""

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
from assessments import services
from assessments.models import Assessment, Assignment, Campaign, Cloud, Evidence
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Framework
from indicators.services import framework_new_draft
from tests.assessments.conftest import answer_everything
from tests.conftest import client_for as _client_for
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    """A signed-in client reading the pages in English, so that messages can be matched."""
    client = _client_for(user)
    client.cookies["django_language"] = "en"
    return client


TODAY = datetime.date.today()


def _campaign_data(framework: Framework, **overrides: str) -> dict[str, str]:
    data = {
        "name": "2027年政务云综合水平评估",
        "year": "2027",
        "framework": str(framework.pk),
        "opens_on": "2027-03-01",
        "closes_on": "2027-05-31",
        "reference_date": "",
        "assessors_per_assessment": "2",
    }
    data.update(overrides)
    return data


# ----------------------------------------------------------------------------------------------
# List and create


def test_the_list_shows_each_campaign_with_its_framework_window_and_progress(
    admin: User, campaign: Campaign, assessment: Assessment
) -> None:
    response = client_for(admin).get(reverse("assessments:campaign_list"))

    page = response.content.decode()
    assert campaign.name in page
    assert campaign.framework.version in page
    assert campaign.closes_on.strftime("%Y-%m-%d") in page
    assert response.context["campaigns"][0].n_total == 1
    assert response.context["campaigns"][0].n_draft == 1


def test_an_admin_creates_a_campaign_in_draft_and_lands_on_its_cockpit(
    admin: User, comprehensive: Framework
) -> None:
    response = client_for(admin).post(
        reverse("assessments:campaign_create"), _campaign_data(comprehensive)
    )

    campaign = Campaign.objects.get(name="2027年政务云综合水平评估")
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:campaign_detail", args=[campaign.pk])
    assert campaign.state == Campaign.State.DRAFT
    assert campaign.assessors_per_assessment == 2
    assert campaign.created_by == admin


def test_the_form_offers_only_published_frameworks_and_two_assessors_by_default(
    admin: User, comprehensive: Framework, trusted: Framework
) -> None:
    draft = framework_new_draft(framework=comprehensive, version="2027-draft", acting_user=None)

    form = client_for(admin).get(reverse("assessments:campaign_create")).context["form"]

    offered = set(form.fields["framework"].queryset)
    assert offered == {comprehensive, trusted}
    assert draft not in offered
    assert form["assessors_per_assessment"].value() == 2


def test_a_window_that_closes_before_it_opens_is_shown_and_nothing_is_saved(
    admin: User, comprehensive: Framework
) -> None:
    response = client_for(admin).post(
        reverse("assessments:campaign_create"),
        _campaign_data(comprehensive, opens_on="2027-05-31", closes_on="2027-03-01"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["closes_on"] == ["The window closes before it opens."]
    assert "The window closes before it opens." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_draft_framework_is_refused_and_nothing_is_saved(
    admin: User, comprehensive: Framework
) -> None:
    draft = framework_new_draft(framework=comprehensive, version="2027-draft", acting_user=None)

    response = client_for(admin).post(reverse("assessments:campaign_create"), _campaign_data(draft))

    assert response.status_code == 400
    assert "framework" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_missing_fields_and_a_taken_name_are_shown_beside_their_fields(
    admin: User, comprehensive: Framework, campaign: Campaign
) -> None:
    response = client_for(admin).post(
        reverse("assessments:campaign_create"),
        _campaign_data(comprehensive, name=campaign.name, opens_on=""),
    )

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert "opens_on" in errors
    assert Campaign.objects.count() == 1

    response = client_for(admin).post(
        reverse("assessments:campaign_create"), _campaign_data(comprehensive, name=campaign.name)
    )
    assert "name" in response.context["form"].errors
    assert Campaign.objects.count() == 1


# ----------------------------------------------------------------------------------------------
# The cockpit


def _add_clouds(campaign: Campaign, admin: User, vendor_org: Organisation, n: int) -> list[Cloud]:
    owner = Organisation.objects.filter(kind=Organisation.Kind.GOVERNMENT).first() or (
        OrganisationFactory.create(
            kind=Organisation.Kind.GOVERNMENT, name="济南市大数据局", division_code="370100"
        )
    )
    start = Cloud.objects.count()
    clouds = [
        services.cloud_create(
            name=f"测试政务云{start + i}",
            owner=owner,
            vendors=[vendor_org],
            level=Cloud.Level.MUNICIPAL,
            acting_user=None,
        )
        for i in range(n)
    ]
    services.campaign_add_clouds(campaign=campaign, clouds=clouds, acting_user=admin)
    return clouds


def _fill(clouds: list[Cloud], vendor: User, admin: User, assessors: list[User]) -> None:
    """Answers, an evidence file and assessors on each cloud's assessment."""
    for cloud in clouds:
        assessment = cloud.assessments.get()
        answer_everything(assessment, vendor)
        Evidence.objects.create(
            assessment=assessment,
            indicator=indicators_of(assessment=assessment)[0],
            file=f"evidence/{assessment.pk}/report.pdf",
            original_name="report.pdf",
            size=10,
            sha256="0" * 64,
            content_type="application/pdf",
            uploaded_by=vendor,
        )
        for assessor in assessors:
            services.assignment_create(assessment=assessment, assessor=assessor, acting_user=admin)


def _heatmap_payload(page: str) -> dict[str, Any]:
    """The heat map's JSON payload (json_script) from the cockpit's HTML."""
    found = re.search(r'<script id="heatmap-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    return cast(dict[str, Any], json.loads(found.group(1)))


def _cockpit_queries(admin: User, campaign: Campaign) -> int:
    client = client_for(admin)
    url = reverse("assessments:campaign_detail", args=[campaign.pk])
    client.get(url)  # warm the session and any per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_cockpit_loads_in_the_same_number_of_queries_for_two_or_six_clouds(
    admin: User,
    campaign: Campaign,
    vendor: User,
    vendor_org: Organisation,
    assessor: User,
    assessor2: User,
) -> None:
    _fill(_add_clouds(campaign, admin, vendor_org, 2), vendor, admin, [assessor, assessor2])
    with_two = _cockpit_queries(admin, campaign)

    _fill(_add_clouds(campaign, admin, vendor_org, 4), vendor, admin, [assessor, assessor2])
    with_six = _cockpit_queries(admin, campaign)

    assert campaign.assessments.count() == 6
    assert with_six == with_two


def test_the_heat_map_shows_answer_evidence_and_ratings_per_cloud_and_indicator(
    admin: User, assessment: Assessment, assignments: list[Assignment], vendor: User
) -> None:
    answer_everything(assessment, vendor)
    first, second = indicators_of(assessment=assessment)[:2]
    Evidence.objects.create(
        assessment=assessment,
        indicator=first,
        file="evidence/x/report.pdf",
        original_name="report.pdf",
        size=10,
        sha256="0" * 64,
        content_type="application/pdf",
        uploaded_by=vendor,
    )
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    services.rating_save(
        assignment=assignments[0],
        indicator=first,
        rating=2,
        rationale="核实。",
        acting_user=assignments[0].assessor,
    )

    response = client_for(admin).get(
        reverse("assessments:campaign_detail", args=[assessment.campaign_id])
    )

    (row,) = response.context["heatmap"].rows
    cell_1, cell_2 = row.cell(0), row.cell(1)
    assert (cell_1.answer, cell_1.evidence, cell_1.rated, cell_1.expected) == ("complete", 1, 1, 2)
    assert (cell_2.answer, cell_2.evidence, cell_2.rated) == ("complete", 0, 0)
    assert cell_1.rated_level == "some"
    # The page's script draws the map from the JSON payload: three digits per indicator.
    payload = _heatmap_payload(response.content.decode())
    assert payload["indicators"][0]["code"] == first.code
    (drawn,) = payload["rows"]
    assert drawn["cloud"] == str(assessment.cloud)
    review = payload["review_url"].replace("{id}", str(drawn["id"]))
    assert review == reverse("assessments:assessment_review", args=[assessment.pk])
    assert drawn["expected"] == 2
    assert drawn["cells"][:6] == "211200"


def test_the_cockpit_counts_assessments_by_state(
    admin: User, campaign: Campaign, vendor: User, vendor_org: Organisation
) -> None:
    _add_clouds(campaign, admin, vendor_org, 3)
    submitted = campaign.assessments.first()
    assert submitted is not None
    answer_everything(submitted, vendor)
    services.assessment_submit(assessment=submitted, acting_user=vendor)

    response = client_for(admin).get(reverse("assessments:campaign_detail", args=[campaign.pk]))

    counts = {bar["state"]: bar["count"] for bar in response.context["progress"]}
    assert counts == {
        "draft": 2,
        "submitted": 1,
        "in_review": 0,
        "returned": 0,
        "scored": 0,
        "approved": 0,
        "excluded": 0,
    }
    assert '<dd data-state="submitted">1</dd>' in response.content.decode()


def test_the_cockpit_lists_self_assessments_overdue_after_the_window_closed(
    admin: User, campaign: Campaign, vendor: User, vendor_org: Organisation
) -> None:
    late, on_time = _add_clouds(campaign, admin, vendor_org, 2)
    answer_everything(on_time.assessments.get(), vendor)
    services.assessment_submit(assessment=on_time.assessments.get(), acting_user=vendor)
    Campaign.objects.filter(pk=campaign.pk).update(closes_on=TODAY - datetime.timedelta(days=4))

    response = client_for(admin).get(reverse("assessments:campaign_detail", args=[campaign.pk]))

    assert [(a.cloud, days) for a, days in response.context["overdue"]] == [(late, 4)]
    assert "4 days" in response.content.decode()


def test_nothing_is_overdue_while_the_window_is_open(admin: User, assessment: Assessment) -> None:
    response = client_for(admin).get(
        reverse("assessments:campaign_detail", args=[assessment.campaign_id])
    )

    assert response.context["overdue"] == []
    assert 'data-testid="overdue"' not in response.content.decode()


def test_the_cockpit_lists_each_assessment_with_its_assessors_and_links(
    admin: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    response = client_for(admin).get(
        reverse("assessments:campaign_detail", args=[assessment.campaign_id])
    )

    page = response.content.decode()
    assert str(assignments[0].assessor) in page and str(assignments[1].assessor) in page
    assert reverse("assessments:assessment_review", args=[assessment.pk]) in page
    assert reverse("assessments:assessment_assessors", args=[assessment.pk]) in page


# ----------------------------------------------------------------------------------------------
# Moving the campaign on


def test_the_cockpit_offers_the_next_state_and_moves_the_campaign_on(
    admin: User, campaign: Campaign
) -> None:
    client = client_for(admin)
    url = reverse("assessments:campaign_detail", args=[campaign.pk])
    assert client.get(url).context["next_state"]["state"] == Campaign.State.REVIEWING

    response = client.post(
        reverse("assessments:campaign_set_state", args=[campaign.pk]), {"state": "reviewing"}
    )

    campaign.refresh_from_db()
    assert response.status_code == 302
    assert campaign.state == Campaign.State.REVIEWING
    assert AuditEvent.objects.filter(action="assessments.campaign.reviewing").exists()


def test_closing_with_unapproved_assessments_shows_the_services_message(
    admin: User, campaign: Campaign, assessment: Assessment
) -> None:
    client = client_for(admin)
    client.post(
        reverse("assessments:campaign_set_state", args=[campaign.pk]), {"state": "reviewing"}
    )

    response = client.post(
        reverse("assessments:campaign_set_state", args=[campaign.pk]),
        {"state": "closed"},
        follow=True,
    )

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.REVIEWING
    assert any(
        str(m).startswith("Every assessment must be approved or excluded before the campaign")
        for m in response.context["messages"]
    )


def test_a_state_that_skips_a_step_is_refused(admin: User, campaign: Campaign) -> None:
    response = client_for(admin).post(
        reverse("assessments:campaign_set_state", args=[campaign.pk]),
        {"state": "closed"},
        follow=True,
    )

    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.OPEN
    assert any("approved" in str(m) or "cannot" in str(m) for m in response.context["messages"])


# ----------------------------------------------------------------------------------------------
# Adding clouds


def test_add_clouds_offers_clouds_not_yet_in_the_campaign_grouped_by_province(
    admin: User, campaign: Campaign, assessment: Assessment, vendor_org: Organisation
) -> None:
    hubei = OrganisationFactory.create(
        kind=Organisation.Kind.GOVERNMENT, name="湖北省政务管理办", division_code="420000"
    )
    chutian = services.cloud_create(
        name="湖北省政务云楚天云平台",
        owner=hubei,
        vendors=[vendor_org],
        level=Cloud.Level.PROVINCIAL,
        acting_user=None,
    )

    response = client_for(admin).get(reverse("assessments:campaign_add_clouds", args=[campaign.pk]))

    groups = dict(response.context["groups"])
    assert set(groups) == {"Hubei"}
    assert [pk for pk, _label in groups["Hubei"]] == [chutian.pk]
    assert assessment.cloud.name not in response.content.decode()


def test_adding_clouds_creates_one_assessment_each(
    admin: User, campaign: Campaign, vendor_org: Organisation, government_org: Organisation
) -> None:
    owner = government_org
    clouds = [
        services.cloud_create(
            name=n, owner=owner, vendors=[vendor_org], level="municipal", acting_user=None
        )
        for n in ("甲政务云", "乙政务云")
    ]

    response = client_for(admin).post(
        reverse("assessments:campaign_add_clouds", args=[campaign.pk]),
        {"clouds": [str(c.pk) for c in clouds]},
    )

    assert response.status_code == 302
    assert set(campaign.assessments.values_list("cloud__name", flat=True)) == {
        "甲政务云",
        "乙政务云",
    }


def test_adding_no_cloud_says_so_and_saves_nothing(
    admin: User, campaign: Campaign, cloud: Cloud
) -> None:
    response = client_for(admin).post(
        reverse("assessments:campaign_add_clouds", args=[campaign.pk]), {}
    )

    assert response.status_code == 400
    assert "Choose at least one cloud." in response.content.decode()
    assert not campaign.assessments.exists()


def test_a_cloud_joining_after_the_review_started_needs_a_deadline_for_its_vendors(
    admin: User, campaign: Campaign, cloud: Cloud
) -> None:
    services.campaign_set_state(campaign=campaign, state="reviewing", acting_user=admin)
    url = reverse("assessments:campaign_add_clouds", args=[campaign.pk])

    refused = client_for(admin).post(url, {"clouds": [str(cloud.pk)]})

    assert refused.status_code == 400
    assert "give the vendors of the clouds you add a deadline" in refused.content.decode()
    assert not campaign.assessments.exists()

    past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    refused = client_for(admin).post(url, {"clouds": [str(cloud.pk)], "due_on": past})
    assert refused.status_code == 400
    assert "The deadline cannot be in the past." in refused.content.decode()
    assert not campaign.assessments.exists()

    due = timezone.localdate() + datetime.timedelta(days=10)
    added = client_for(admin).post(url, {"clouds": [str(cloud.pk)], "due_on": due.isoformat()})

    assert added.status_code == 302
    (assessment,) = campaign.assessments.all()
    assert assessment.state == Assessment.State.DRAFT and assessment.due_on == due
    event = AuditEvent.objects.get(action="assessments.assessment.created")
    assert event.changes["due_on"] == due.isoformat()


def test_clouds_cannot_be_added_to_a_closed_campaign(
    admin: User, campaign: Campaign, cloud: Cloud
) -> None:
    services.campaign_set_state(campaign=campaign, state="reviewing", acting_user=admin)
    services.campaign_set_state(campaign=campaign, state="closed", acting_user=admin)

    response = client_for(admin).post(
        reverse("assessments:campaign_add_clouds", args=[campaign.pk]), {"clouds": [str(cloud.pk)]}
    )

    assert response.status_code == 400
    assert "Clouds cannot be added to a closed campaign." in response.content.decode()
    assert not campaign.assessments.exists()


# ----------------------------------------------------------------------------------------------
# Assessors and conflicts of interest


def test_assessors_in_conflict_are_marked_with_the_reason(
    admin: User,
    assessment: Assessment,
    assessor: User,
    vendor_org: Organisation,
    government_org: Organisation,
) -> None:
    insider = UserFactory.create(
        username="insider", role=User.Role.ASSESSOR, organisation=vendor_org
    )
    services.conflict_declare(
        assessor=assessor, organisation=government_org, reason="曾任该局顾问", acting_user=admin
    )

    response = client_for(admin).get(
        reverse("assessments:assessment_assessors", args=[assessment.pk])
    )

    conflicted = {a.username: reasons for a, reasons in response.context["conflicted"]}
    assert set(conflicted) == {"insider", "expert"}
    page = response.content.decode()
    assert "曾任该局顾问" in page
    assert f"belongs to {vendor_org.name}" in page
    choices = dict(response.context["form"].fields["assessor"].choices)
    assert {pk for pk, _label in choices["In conflict of interest"]} == {
        str(insider.pk),
        str(assessor.pk),
    }


def test_assigning_an_assessor_in_conflict_shows_the_services_message_and_saves_nothing(
    admin: User, assessment: Assessment, vendor_org: Organisation
) -> None:
    insider = UserFactory.create(
        username="insider", role=User.Role.ASSESSOR, organisation=vendor_org
    )

    response = client_for(admin).post(
        reverse("assessments:assessment_assessors", args=[assessment.pk]),
        {"assessor": str(insider.pk)},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Conflict of interest:" in page
    assert vendor_org.name in page
    assert not Assignment.objects.exists()


def test_an_admin_assigns_assessors_up_to_the_campaigns_number(
    admin: User, assessment: Assessment, assessor: User, assessor2: User
) -> None:
    client = client_for(admin)
    url = reverse("assessments:assessment_assessors", args=[assessment.pk])
    third = UserFactory.create(username="expert3", role=User.Role.ASSESSOR)

    for who in (assessor, assessor2):
        assert client.post(url, {"assessor": str(who.pk)}).status_code == 302
    response = client.get(url)
    assert response.context["is_full"]
    assert "the campaign's number" in response.content.decode()

    response = client.post(url, {"assessor": str(third.pk)})
    assert response.status_code == 400
    assert "already has 2 assessors" in response.content.decode()
    assert set(assessment.assignments.values_list("assessor__username", flat=True)) == {
        "expert",
        "expert2",
    }


def test_a_user_who_is_not_an_assessor_cannot_be_chosen(
    admin: User, assessment: Assessment, vendor: User
) -> None:
    response = client_for(admin).post(
        reverse("assessments:assessment_assessors", args=[assessment.pk]),
        {"assessor": str(vendor.pk)},
    )

    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_assessments_states_are_not_changed_by_reading_the_cockpit(
    admin: User, assessment: Assessment
) -> None:
    client_for(admin).get(reverse("assessments:campaign_detail", args=[assessment.campaign_id]))

    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT
