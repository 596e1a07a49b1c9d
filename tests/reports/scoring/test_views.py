"""Scoring pages and endpoints: who may see and do what, and what they see."""

from __future__ import annotations

import pytest
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment
from indicators.models import VetoRule
from reports.models import CampaignScoringRun, VetoFinding
from reports.scoring import results
from tests.conftest import client_for


@pytest.fixture
def result_of(scored: Assessment) -> Assessment:
    results.assessment_score(assessment_id=scored.pk)
    return scored


def test_an_admin_sees_the_score_the_level_and_why(result_of: Assessment, admin: User) -> None:
    response = client_for(admin).get(
        reverse("scoring:assessment_result", args=[result_of.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    text = response.content.decode()
    result = result_of.score_results.get()
    assert str(result.total) in text
    assert ">Basic<" in text
    assert "<svg" in text and "radar__shape" in text
    assert "Record the veto" in text


def test_an_assigned_assessor_sees_the_score_without_the_veto_form(
    result_of: Assessment, assessor: User
) -> None:
    response = client_for(assessor).get(reverse("scoring:assessment_result", args=[result_of.pk]))

    assert response.status_code == 200
    assert 'name="veto_rule"' not in response.content.decode()


@pytest.mark.parametrize("role", ["vendor", "owner", "auditor", "outsider_vendor"])
def test_others_get_404_before_approval(
    result_of: Assessment, role: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(role)

    response = client_for(user).get(reverse("scoring:assessment_result", args=[result_of.pk]))

    assert response.status_code == 404


def test_the_vendor_and_the_owner_see_the_score_once_approved(
    result_of: Assessment, admin: User, vendor: User, owner: User, outsider_vendor: User
) -> None:
    workflow.assessment_approve(assessment=result_of, acting_user=admin)
    url = reverse("scoring:assessment_result", args=[result_of.pk])

    assert client_for(vendor).get(url).status_code == 200
    assert client_for(owner).get(url).status_code == 200
    assert client_for(outsider_vendor).get(url).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(result_of: Assessment) -> None:
    response = client_for(None).get(reverse("scoring:assessment_result", args=[result_of.pk]))

    assert response.status_code == 302 and "login" in response["Location"]


def test_an_admin_records_and_withdraws_a_veto(
    result_of: Assessment,
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    veto = VetoRule.objects.get(framework=result_of.campaign.framework)
    client = client_for(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scoring:veto_record", args=[result_of.pk]),
            {"veto_rule": veto.pk, "note": "2025年发生重大网络安全事件。"},
        )
    assert response.status_code == 302
    finding = VetoFinding.objects.get()
    assert result_of.score_results.get(is_current=True).vetoed is True

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("scoring:veto_withdraw", args=[result_of.pk, finding.pk]),
            {"reason": "误报。"},
        )
    assert not VetoFinding.objects.exists()
    assert result_of.score_results.get(is_current=True).vetoed is False


@pytest.mark.parametrize("chosen", ["abc", "-1", "1.5", "１", "99999999999999999999", ""])
def test_a_malformed_or_unknown_veto_is_answered_400_with_a_message_and_nothing_recorded(
    result_of: Assessment, admin: User, chosen: str
) -> None:
    response = client_for(admin).post(
        reverse("scoring:veto_record", args=[result_of.pk]), {"veto_rule": chosen, "note": "x"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "请选择本指标体系中的一票否决项。" in page or "Choose a veto of this framework." in page
    assert not VetoFinding.objects.exists()


@pytest.mark.parametrize("role", ["assessor", "vendor", "owner", "auditor", "outsider_vendor"])
def test_only_admins_record_vetoes(
    result_of: Assessment, role: str, request: pytest.FixtureRequest
) -> None:
    veto = VetoRule.objects.get(framework=result_of.campaign.framework)
    user = request.getfixturevalue(role)

    response = client_for(user).post(
        reverse("scoring:veto_record", args=[result_of.pk]), {"veto_rule": veto.pk, "note": "x"}
    )

    assert response.status_code == 404
    assert not VetoFinding.objects.exists()


def test_an_admin_starts_campaign_scoring_and_reads_its_progress(
    scored: Assessment,
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    client = client_for(admin)
    progress_url = reverse("scoring:campaign_scoring_progress", args=[scored.campaign.pk])
    assert client.get(progress_url).json()["state"] == "none"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scoring:campaign_scoring", args=[scored.campaign.pk]),
            HTTP_ACCEPT="application/json",
        )

    assert response.status_code == 200 and response.json()["total"] == 1
    progress = client.get(progress_url).json()
    assert progress | {"started_at": "", "finished_at": ""} == {
        "run": CampaignScoringRun.objects.get().pk,
        "state": "finished",
        "total": 1,
        "done": 1,
        "failed": 0,
        "percent": 100,
        "started_at": "",
        "finished_at": "",
    }
    assert scored.score_results.filter(is_current=True).count() == 1


def test_a_plain_form_post_goes_back_to_the_campaign_page(scored: Assessment, admin: User) -> None:
    response = client_for(admin).post(
        reverse("scoring:campaign_scoring", args=[scored.campaign.pk]),
        {"next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:campaign_detail", args=[scored.campaign.pk])


@pytest.mark.parametrize("role", ["assessor", "vendor", "owner", "auditor", "outsider_vendor"])
def test_only_admins_score_a_campaign_or_read_its_progress(
    scored: Assessment, role: str, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(role))
    pk = scored.campaign.pk

    assert client.post(reverse("scoring:campaign_scoring", args=[pk])).status_code == 404
    assert client.get(reverse("scoring:campaign_scoring", args=[pk])).status_code == 404
    assert client.get(reverse("scoring:campaign_scoring_progress", args=[pk])).status_code == 404
    assert not CampaignScoringRun.objects.exists()


def test_the_progress_endpoint_refuses_posts(scored: Assessment, admin: User) -> None:
    client = client_for(admin)
    pk = scored.campaign.pk

    assert client.put(reverse("scoring:campaign_scoring", args=[pk])).status_code == 405
    assert client.post(reverse("scoring:campaign_scoring_progress", args=[pk])).status_code == 405


def test_the_campaign_partial_renders_the_button_for_admins(
    scored: Assessment, admin: User
) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/campaigns/1/")
    request.user = admin
    html = render_to_string(
        "scoring/partials/_campaign_scoring.html", {"campaign": scored.campaign}, request=request
    )

    assert reverse("scoring:campaign_scoring_progress", args=[scored.campaign.pk]) in html
    assert "data-scoring-start" in html


def test_the_campaign_scores_page_lists_each_cloud_with_its_level(
    result_of: Assessment, admin: User
) -> None:
    response = client_for(admin).get(
        reverse("scoring:campaign_scoring", args=[result_of.campaign.pk])
    )

    text = response.content.decode()
    assert response.status_code == 200
    assert result_of.cloud.name in text and "基础级" in text
    assert "data-scoring-progress-url" in text
