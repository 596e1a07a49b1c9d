"""The history tab of the assessment, campaign and report pages: the object's latest events and
those of its children, shown to the admin who runs the evaluation; the whole trail behind it is
the auditor's (three-role separation)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from assessments.models import Evidence
from audit.services import audit_record
from reports.models import Report
from tests.conftest import client_for
from tests.reports.certified.fixtures import *  # noqa: F403 - fixtures
from tests.reports.certified.fixtures import signing_files, signing_key  # noqa: F401

pytestmark = pytest.mark.django_db


def _page(user: User, url: str) -> str:
    response = client_for(user).get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def _history(page: str) -> str:
    start = page.find('id="history"')
    return page[start : page.find("</section>", start)] if start >= 0 else ""


def test_the_assessment_page_shows_its_history_with_its_children(
    admin: User, vendor: User, auditor: User, issued: Report
) -> None:
    assessment = issued.assessment
    evidence = Evidence.objects.get(assessment=assessment)
    # Recorded against the evidence file, a child of the assessment.
    audit_record(
        action="assessments.evidence.uploaded", acting_user=vendor, target=evidence, changes={}
    )
    history = _history(_page(admin, reverse("assessments:detail", args=[assessment.pk])))
    assert "vendor_a uploaded the evidence file 可用性监测报告2025.pdf" in history
    # The report is a child of the assessment; its events are the latest.
    assert f"office_admin issued the report {issued}" in history
    assert "office_admin approved the assessment of" in history
    link = (
        f"{reverse('audit:event_list')}?object_type=assessments.assessment"
        f"&amp;object_id={assessment.pk}&amp;related=1"
    )
    # The admin is not led to the audit trail, which is the auditor's.
    assert reverse("audit:event_list") not in history
    whole = _page(auditor, link.replace("&amp;", "&"))
    assert "vendor_a submitted the self-assessment of" in whole


def test_people_who_may_not_read_the_trail_see_no_history(
    vendor: User, owner: User, issued: Report
) -> None:
    url = reverse("assessments:detail", args=[issued.assessment.pk])
    for user in (vendor, owner):
        assert _history(_page(user, url)) == ""


def test_the_campaign_page_shows_its_assessments_events(
    admin: User, auditor: User, issued: Report
) -> None:
    campaign = issued.assessment.campaign
    history = _history(_page(admin, reverse("assessments:campaign_detail", args=[campaign.pk])))
    assert "office_admin approved the assessment of" in history
    assert "office_admin issued the report" not in history  # not a child of the campaign
    # Only the latest are shown, with the way to the rest.
    assert history.count('class="audit-sentence"') == 10
    assert "Only the latest events are shown here." in history
    whole = _page(
        auditor,
        f"{reverse('audit:event_list')}?object_type=assessments.campaign"
        f"&object_id={campaign.pk}&related=1&per_page=200",
    )
    assert f"office_admin opened the campaign {campaign}" in whole


def test_the_report_page_shows_the_history_of_its_reports_only(admin: User, issued: Report) -> None:
    url = reverse("certified:assessment_reports", args=[issued.assessment.pk])
    history = _history(_page(admin, url))
    assert f"office_admin issued the report {issued}" in history
    assert f"The PDF of the report {issued} was generated" in history
    assert "approved the assessment" not in history
