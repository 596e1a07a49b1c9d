from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django import Settings

from accounts.divisions import division_lookup
from accounts.models import User
from assessments.models import Assessment, Cloud, Evidence
from demo.accounts import load_demo_accounts
from demo.campaigns import DEMO_CLOUDS, load_demo_campaign

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_runs_every_state_through_the_workflow_and_runs_once(
    settings: Settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    load_demo_accounts()

    campaign = load_demo_campaign(year=2026)
    again = load_demo_campaign(year=2026)

    assert again.pk == campaign.pk
    assert campaign.is_demo
    assessments = list(campaign.assessments.select_related("cloud__owner"))
    assert len(assessments) == len(DEMO_CLOUDS) >= 30
    assert {a.state for a in assessments} == set(Assessment.State.values)
    for assessment in assessments:
        division = division_lookup(assessment.cloud.owner.division_code)
        assert division is not None, assessment.cloud
        assert assessment.cloud.is_demo
    vendors = {u.username: u for u in User.objects.filter(username__in=["vendor1", "vendor2"])}
    for vendor in vendors.values():
        assert Cloud.objects.filter(vendors=vendor.organisation).exists()
    assert {a.assessor.username for a in assessments[0].assignments.select_related("assessor")} == {
        "assessor1",
        "assessor2",
    }
    submitted = [a for a in assessments if a.state != Assessment.State.DRAFT]
    assert Evidence.objects.filter(assessment__in=submitted).count() == 2 * len(submitted)
    jinan = next(a for a in assessments if a.cloud.name == "济南政务云计算中心")
    assert jinan.state == Assessment.State.DRAFT
    assert jinan.cloud.owner.name == "济南市大数据局"
    assert jinan.cloud.vendors.get() == vendors["vendor1"].organisation
