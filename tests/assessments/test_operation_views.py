"""The pages of the campaign rescues: exclude and re-include, reopen, replace or remove an
assessor, close a campaign, edit its deadlines, and "what happens next" on assessment pages."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign
from audit.models import AuditEvent
from indicators.models import Framework
from tests.assessments.conftest import answer_everything, rate_everything
from tests.conftest import client_for
from tests.factories import UserFactory

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _english_client(user: User) -> Client:
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client


def _late_and_reviewing(assessment: Assessment, admin: User) -> None:
    Campaign.objects.filter(pk=assessment.campaign_id).update(
        opens_on=TODAY - datetime.timedelta(days=40), closes_on=TODAY - datetime.timedelta(days=4)
    )
    services.campaign_set_state(
        campaign=assessment.campaign, state=Campaign.State.REVIEWING, acting_user=admin
    )


# ----------------------------------------------------------------------------------------------
# Exclude and re-include


def test_the_admin_excludes_a_cloud_with_a_reason(admin: User, assessment: Assessment) -> None:
    client = _english_client(admin)
    url = reverse("assessments:assessment_exclude", args=[assessment.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="operation-form"' in page.content.decode()
    assert "data-confirm=" in page.content.decode()

    response = client.post(url, {"reason": "该云平台已停止运营。"})

    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.EXCLUDED
    assert AuditEvent.objects.filter(action="assessments.assessment.excluded").count() == 1


def test_an_exclusion_without_a_reason_says_so_and_changes_nothing(
    admin: User, assessment: Assessment
) -> None:
    response = _english_client(admin).post(
        reverse("assessments:assessment_exclude", args=[assessment.pk]), {"reason": "  "}
    )

    assert response.status_code == 400
    assert "Give the reason." in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


def test_the_admin_re_includes_an_excluded_cloud(admin: User, assessment: Assessment) -> None:
    services.assessment_exclude(assessment=assessment, reason="待核实", acting_user=admin)
    client = _english_client(admin)

    page = client.get(reverse("assessments:assessment_exclude", args=[assessment.pk]))
    assert 'data-testid="include-form"' in page.content.decode()
    assert "待核实" in page.content.decode()
    response = client.post(reverse("assessments:assessment_include", args=[assessment.pk]))

    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


@pytest.mark.parametrize("who", ["vendor", "owner", "assessor"])
def test_others_never_see_the_rescue_pages(
    request: pytest.FixtureRequest, who: str, assessment: Assessment, assignments: list[Assignment]
) -> None:
    user = request.getfixturevalue(who)
    client = client_for(user)

    for name, args in [
        ("assessments:assessment_exclude", [assessment.pk]),
        ("assessments:assessment_reopen", [assessment.pk]),
        ("assessments:assignment_replace", [assignments[0].pk]),
        ("assessments:campaign_close", [assessment.campaign_id]),
        ("assessments:campaign_edit", [assessment.campaign_id]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404
        assert client.post(reverse(name, args=args), {"reason": "x"}).status_code == 404
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT


# ----------------------------------------------------------------------------------------------
# Reopen


def test_the_admin_reopens_a_late_draft_and_the_vendor_sees_why_and_until_when(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    _late_and_reviewing(assessment, admin)
    vendor_client = _english_client(vendor)
    locked = vendor_client.get(reverse("assessments:detail", args=[assessment.pk]))
    assert locked.context["can_edit"] is False
    assert "has passed" in locked.content.decode()
    due = TODAY + datetime.timedelta(days=7)

    response = _english_client(admin).post(
        reverse("assessments:assessment_reopen", args=[assessment.pk]),
        {"reason": "系统故障，延期一周。", "due_on": due.isoformat()},
    )

    assert response.status_code == 302
    page = vendor_client.get(reverse("assessments:detail", args=[assessment.pk]))
    assert page.context["can_edit"] is True
    notice = page.context["next_actions"].notice
    assert "系统故障，延期一周。" in notice and due.isoformat() in notice
    assert 'data-testid="next-notice"' in page.content.decode()


def test_a_reopening_without_a_deadline_is_refused_with_its_reason(
    admin: User, assessment: Assessment
) -> None:
    response = _english_client(admin).post(
        reverse("assessments:assessment_reopen", args=[assessment.pk]), {"reason": "延期"}
    )

    assert response.status_code == 400
    assert "Give the vendor a new deadline." in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.self_assessment_due_on is None


def test_the_reopen_page_says_why_a_submitted_assessment_cannot_be_reopened(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)

    page = _english_client(admin).get(
        reverse("assessments:assessment_reopen", args=[assessment.pk])
    )

    assert "Only a draft or returned self-assessment can be reopened." in page.content.decode()
    assert 'data-testid="operation-form"' not in page.content.decode()


def test_a_return_takes_a_new_deadline(admin: User, vendor: User, assessment: Assessment) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    due = TODAY + datetime.timedelta(days=40)

    response = _english_client(admin).post(
        reverse("assessments:assessment_return", args=[assessment.pk]),
        {"comment": "请补充材料", "due_on": due.isoformat()},
    )

    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.RETURNED
    assert assessment.self_assessment_due_on == due


# ----------------------------------------------------------------------------------------------
# Replace or remove an assessor


def test_the_admin_replaces_an_assessor_and_the_review_strikes_out_the_old_ratings(
    admin: User,
    vendor: User,
    assessor: User,
    assessment: Assessment,
    assignments: list[Assignment],
) -> None:
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    rate_everything(assignments[0], rating=1)
    newcomer = UserFactory.create(username="expert9", role=User.Role.ASSESSOR)
    client = _english_client(admin)
    url = reverse("assessments:assignment_replace", args=[assignments[0].pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"reason": "回避", "replacement": str(newcomer.pk)})

    assert response.status_code == 302
    review = client.get(reverse("assessments:assessment_review", args=[assessment.pk]))
    body = review.content.decode()
    assert 'data-testid="removed-assessor"' in body
    assert 'class="is-removed"' in body
    assert f"<del>{assessor}</del>" in body
    # The removed assessor no longer opens it; the newcomer does.
    assert (
        client_for(assessor).get(reverse("assessments:score", args=[assessment.pk])).status_code
        == 404
    )
    assert (
        client_for(newcomer).get(reverse("assessments:score", args=[assessment.pk])).status_code
        == 200
    )
    assessors_page = client.get(reverse("assessments:assessment_assessors", args=[assessment.pk]))
    assert 'data-testid="removed"' in assessors_page.content.decode()


def test_a_removal_without_a_reason_is_refused(
    admin: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    response = _english_client(admin).post(
        reverse("assessments:assignment_replace", args=[assignments[0].pk]), {"reason": ""}
    )

    assert response.status_code == 400
    assert "Give the reason." in response.content.decode()
    assert not Assignment.objects.filter(removed_at__isnull=False).exists()


# ----------------------------------------------------------------------------------------------
# Close a campaign


def test_the_close_page_lists_what_keeps_the_campaign_open_then_closes_it(
    admin: User, assessment: Assessment
) -> None:
    campaign = assessment.campaign
    services.campaign_set_state(
        campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
    )
    client = _english_client(admin)
    url = reverse("assessments:campaign_close", args=[campaign.pk])

    page = client.get(url)
    body = page.content.decode()
    assert [u.assessment for u in page.context["unfinished"]] == [assessment]
    assert "The vendor has not submitted the self-assessment" in body
    assert reverse("assessments:assessment_exclude", args=[assessment.pk]) in body
    assert reverse("assessments:assessment_reopen", args=[assessment.pk]) in body
    refused = client.post(url)
    assert refused.status_code == 400
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.REVIEWING

    services.assessment_exclude(assessment=assessment, reason="逾期", acting_user=admin)
    assert 'data-testid="close-form"' in client.get(url).content.decode()
    response = client.post(url)

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CLOSED


def test_the_cockpit_sends_closing_through_the_close_page(
    admin: User, assessment: Assessment
) -> None:
    campaign = assessment.campaign
    services.campaign_set_state(
        campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
    )

    page = _english_client(admin).get(reverse("assessments:campaign_detail", args=[campaign.pk]))

    assert page.context["next_state"]["url"] == reverse(
        "assessments:campaign_close", args=[campaign.pk]
    )


# ----------------------------------------------------------------------------------------------
# The campaign's deadlines


def test_the_admin_sets_the_scoring_deadline_and_the_cockpit_shows_both(
    admin: User, campaign: Campaign
) -> None:
    client = _english_client(admin)
    url = reverse("assessments:campaign_edit", args=[campaign.pk])
    data = {
        "name": campaign.name,
        "opens_on": campaign.opens_on.isoformat(),
        "closes_on": campaign.closes_on.isoformat(),
        "reference_date": "",
        "assessors_per_assessment": "2",
    }

    early = client.post(
        url,
        {**data, "scoring_due_on": (campaign.closes_on - datetime.timedelta(days=1)).isoformat()},
    )
    assert early.status_code == 400
    assert "Scoring is due on or after the day submissions close." in early.content.decode()

    due = campaign.closes_on + datetime.timedelta(days=15)
    response = client.post(url, {**data, "scoring_due_on": due.isoformat()})

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.scoring_due_on == due
    cockpit = client.get(reverse("assessments:campaign_detail", args=[campaign.pk])).content
    assert due.isoformat() in cockpit.decode()
    assert campaign.closes_on.isoformat() in cockpit.decode()


def test_a_new_campaign_takes_a_scoring_deadline(admin: User, comprehensive: Framework) -> None:
    response = _english_client(admin).post(
        reverse("assessments:campaign_create"),
        {
            "name": "2027年评估",
            "year": "2027",
            "framework": str(comprehensive.pk),
            "opens_on": "2027-03-01",
            "closes_on": "2027-05-31",
            "assessors_per_assessment": "2",
            "scoring_due_on": "2027-06-30",
        },
    )

    assert response.status_code == 302
    assert Campaign.objects.get(name="2027年评估").scoring_due_on == datetime.date(2027, 6, 30)


# ----------------------------------------------------------------------------------------------
# What happens next, on each assessment page


def test_each_assessment_page_says_what_can_happen_next(
    admin: User, vendor: User, assessor: User, assessment: Assessment, assignments: list[Assignment]
) -> None:
    pages = {
        admin: reverse("assessments:assessment_review", args=[assessment.pk]),
        vendor: reverse("assessments:detail", args=[assessment.pk]),
        assessor: reverse("assessments:score", args=[assessment.pk]),
    }
    for user, url in pages.items():
        body = _english_client(user).get(url).content.decode()
        assert 'data-testid="next-actions"' in body, user
        assert 'data-allowed="no"' in body, user  # each disabled action says why
    admin_body = _english_client(admin).get(pages[admin]).content.decode()
    assert "Only a scored assessment can be approved." in admin_body


def test_a_late_submission_is_refused_with_the_deadline_not_a_list_of_missing_answers(
    admin: User, vendor: User, assessment: Assessment
) -> None:
    answer_everything(assessment, vendor)
    _late_and_reviewing(assessment, admin)

    response = _english_client(vendor).post(
        reverse("assessments:submit", args=[assessment.pk]), follow=True
    )

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("The deadline for the self-assessment")
    assessment.refresh_from_db()
    assert assessment.state == Assessment.State.DRAFT
