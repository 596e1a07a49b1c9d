"""An admin renders again a report whose rendering failed or is stuck, from the reports page.

(A failed rendering retried: test_services.py. The sweeper doing the same unasked:
tests/reports/test_sweeper.py.)
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from assessments.models import Assessment
from audit.models import AuditEvent
from reports.certified import services as certify
from reports.certified.rendering import render_stale_after
from reports.models import Report
from tests.conftest import client_for
from tests.reports.certified.fixtures import *  # noqa: F403

LONG_AGO = datetime.timedelta(minutes=3)  # longer than the grace period


@pytest.fixture
def pending(approved: Assessment, admin: User) -> Report:
    """An issued report whose rendering message never reached a worker."""
    return certify.report_issue(assessment=approved, acting_user=admin)


def stuck(report: Report, **fields: object) -> Report:
    Report.objects.filter(pk=report.pk).update(issued_at=report.issued_at - LONG_AGO, **fields)
    report.refresh_from_db()
    return report


def retry_events(report: Report) -> list[dict[str, Any]]:
    return list(
        AuditEvent.objects.filter(
            action="reports.report.render_retried", target_id=str(report.pk)
        ).values_list("changes", flat=True)
    )


def test_an_admin_renders_again_a_report_pending_longer_than_the_grace_period(
    pending: Report, admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    stuck(pending)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        certify.report_render_retry(report=pending, acting_user=admin)

    # One rendering queued (the rendered report's notifications are queued after it).
    renders = [c for c in queued if "report_render_enqueue" in getattr(c, "__qualname__", "")]
    assert len(renders) == 1
    pending.refresh_from_db()
    assert pending.state == Report.State.READY
    assert retry_events(pending) == [{"state": "pending", "stuck": True}]


def test_an_admin_renders_again_a_report_whose_worker_died(
    pending: Report, admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    started = timezone.now() - render_stale_after() - datetime.timedelta(seconds=1)
    stuck(pending, state=Report.State.RENDERING, render_started_at=started)

    with django_capture_on_commit_callbacks(execute=True):
        certify.report_render_retry(report=pending, acting_user=admin)

    pending.refresh_from_db()
    assert pending.state == Report.State.READY
    assert retry_events(pending) == [{"state": "rendering", "stuck": True}]


def test_a_report_waiting_or_rendering_within_the_grace_period_or_ready_is_refused(
    pending: Report, admin: User
) -> None:
    states: list[dict[str, Any]] = [
        {},  # pending, just issued
        {"state": Report.State.RENDERING, "render_started_at": timezone.now()},
    ]
    for fields in states:
        Report.objects.filter(pk=pending.pk).update(**fields)
        with pytest.raises(ValidationError):
            certify.report_render_retry(report=pending, acting_user=admin)
    assert retry_events(pending) == []


def test_a_ready_report_is_never_rendered_again(issued: Report, admin: User) -> None:
    stuck(issued)
    with pytest.raises(ValidationError):
        certify.report_render_retry(report=issued, acting_user=admin)


def test_only_admins_render_again(pending: Report, vendor: User, owner: User) -> None:
    stuck(pending)
    for user in (vendor, owner):
        with pytest.raises(PermissionDenied):
            certify.report_render_retry(report=pending, acting_user=user)


def _reports_page(user: User, report: Report) -> str:
    url = reverse("certified:assessment_reports", args=[report.assessment_id])
    response = client_for(user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_reports_page_offers_render_again_for_a_stuck_report_to_admins_only(
    pending: Report, admin: User, vendor: User
) -> None:
    retry_url = reverse("certified:retry", args=[pending.pk])
    page = _reports_page(admin, pending)
    assert pending.number in page and retry_url not in page  # just issued: not stuck yet

    stuck(pending)

    assert retry_url in _reports_page(admin, pending)
    assert retry_url not in _reports_page(vendor, pending)


def test_the_admin_button_queues_a_stuck_report_again(
    pending: Report, admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    stuck(pending)
    page = reverse("certified:assessment_reports", args=[pending.assessment_id])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(
            reverse("certified:retry", args=[pending.pk]), {"next": page}, follow=True
        )

    assert response.redirect_chain[-1][0] == page
    assert pending.number in " ".join(str(m) for m in response.context["messages"])
    pending.refresh_from_db()
    assert pending.state == Report.State.READY
