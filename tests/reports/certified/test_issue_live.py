"""Issuing a report answers at once; the reports table follows the rendering through a small
status endpoint (pending → rendering → ready | failed, with "render again") without a reload."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from accounts.models import User
from assessments.models import Assessment
from reports.certified import rendering
from reports.certified import services as certify
from reports.models import Report
from tests.conftest import client_for
from tests.reports.certified.fixtures import *  # noqa: F403


def _status(client: Client, report: Report, next_url: str = "/assessments/") -> dict[str, Any]:
    response = client.get(reverse("certified:status", args=[report.pk]), {"next": next_url})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    payload: dict[str, Any] = response.json()
    return payload


@pytest.fixture
def pending(approved: Assessment, admin: User, monkeypatch: pytest.MonkeyPatch) -> Report:
    """An issued report nobody has rendered yet (no worker took it)."""
    monkeypatch.setattr(certify, "report_render_enqueue", lambda report_id: None)
    return certify.report_issue(assessment=approved, acting_user=admin)


@pytest.mark.django_db
def test_the_status_says_pending_then_offers_the_download_once_rendered(
    pending: Report, admin: User
) -> None:
    client = client_for(admin)
    waiting = _status(client, pending)
    assert waiting["state"] == "pending"
    assert waiting["done"] is False
    assert 'data-report-state="pending"' in waiting["html"]
    assert reverse("certified:download", args=[pending.pk]) not in waiting["html"]

    rendering.report_render(report_id=pending.pk)

    ready = _status(client, pending)
    assert ready["state"] == "ready"
    assert ready["done"] is True
    assert reverse("certified:download", args=[pending.pk]) in ready["html"]
    pending.refresh_from_db()
    assert reverse("certified:verify", args=[pending.verification_code]) in ready["html"]


@pytest.mark.django_db
def test_a_failed_rendering_offers_render_again_to_admins_returning_to_the_page(
    pending: Report, admin: User, vendor: User
) -> None:
    Report.objects.filter(pk=pending.pk).update(
        state=Report.State.FAILED, error="RuntimeError: 字体缺失"
    )
    retry = reverse("certified:retry", args=[pending.pk])

    for_admin = _status(client_for(admin), pending, next_url="/assessments/7/reports/")
    assert for_admin["state"] == "failed" and for_admin["done"] is True
    assert retry in for_admin["html"]
    assert 'name="next" value="/assessments/7/reports/"' in for_admin["html"]
    assert "字体缺失" in for_admin["html"]

    for_vendor = _status(client_for(vendor), pending)
    assert for_vendor["done"] is True
    assert retry not in for_vendor["html"]
    assert "字体缺失" not in for_vendor["html"]


@pytest.mark.django_db
def test_a_foreign_return_address_is_replaced_by_the_reports_page(
    pending: Report, admin: User
) -> None:
    Report.objects.filter(pk=pending.pk).update(state=Report.State.FAILED, error="x")
    html = _status(client_for(admin), pending, next_url="https://evil.example/")["html"]
    assert "evil.example" not in html
    reports_page = reverse("certified:assessment_reports", args=[pending.assessment_id])
    assert f'name="next" value="{reports_page}"' in html


@pytest.mark.django_db
def test_those_who_may_not_read_the_report_get_404(
    pending: Report, assessor: User, outsider_vendor: User, auditor: User
) -> None:
    url = reverse("certified:status", args=[pending.pk])
    for user in (assessor, outsider_vendor, auditor):
        assert client_for(user).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302  # to sign in


@pytest.mark.django_db
def test_the_reports_table_polls_while_the_pdf_is_rendered(pending: Report, admin: User) -> None:
    page = client_for(admin).get(
        reverse("certified:assessment_reports", args=[pending.assessment_id])
    )
    html = page.content.decode()
    assert f'data-report-status="{reverse("certified:status", args=[pending.pk])}"' in html
    assert "js/report-status.js" in html
    assert "data-busy-form" in html  # the English report may still be issued, with feedback

    rendering.report_render(report_id=pending.pk)
    page = client_for(admin).get(
        reverse("certified:assessment_reports", args=[pending.assessment_id])
    )
    assert "data-report-status=" not in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_issue_answers_before_the_pdf_is_rendered(
    approved: Assessment, admin: User, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # `make run`: no worker, tasks in-process
    started, release = threading.Event(), threading.Event()
    real_bytes = rendering.report_pdf_bytes

    def slow_bytes(content: Any) -> bytes:
        started.set()
        assert release.wait(60), "the test never released the rendering"
        return real_bytes(content)

    monkeypatch.setattr(rendering, "report_pdf_bytes", slow_bytes)
    client = client_for(admin)

    response = client.post(reverse("certified:issue", args=[approved.pk]), {"confirm": "yes"})

    assert response.status_code == 302  # answered while the PDF is still being rendered
    assert started.wait(30), "the rendering never started"
    report = Report.objects.get(assessment=approved)
    rendering_now = _status(client, report)
    assert rendering_now["state"] == "rendering" and rendering_now["done"] is False

    release.set()
    for thread in threading.enumerate():
        if thread.name == f"report-render-{report.pk}":
            thread.join(120)
    finished = _status(client, report)
    assert finished["state"] == "ready", finished
    assert finished["done"] is True
