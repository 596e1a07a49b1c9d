"""Fixtures for certified reports: a signing certificate of the test session, an approved
assessment with evidence, and its issued (and rendered) report.

Import them into a test module: ``from tests.reports.certified.fixtures import *  # noqa``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from pytest_django import Settings

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Evidence
from reports.certified import rendering
from reports.certified import services as certify
from reports.certified.signing import dev_certificate_create
from reports.models import Report
from tests.reports.conftest import (  # noqa: F401  (fixtures)
    answer_everything,
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
    rate_everything,
    scored,
    trusted,
)

__all__ = [
    "answer_everything",
    "approved",
    "assessment",
    "assessor2",
    "assignments",
    "campaign",
    "cloud",
    "comprehensive",
    "frameworks",
    "issued",
    "rate_everything",
    "scored",
    "signing_files",
    "signing_key",
    "trusted",
    "approve",
    "issue_and_render",
]


@pytest.fixture(scope="session")
def signing_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("signing")
    key, cert = folder / "key.pem", folder / "cert.pem"
    dev_certificate_create(key_path=key, cert_path=cert, common_name="govcloud_eval tests")
    return key, cert


@pytest.fixture
def signing_key(settings: Settings, signing_files: tuple[Path, Path], tmp_path: Path) -> Path:
    """Reports are signed with the session's test certificate and stored under tmp_path."""
    settings.REPORT_SIGNING_KEY = str(signing_files[0])
    settings.REPORT_SIGNING_CERT = str(signing_files[1])
    settings.REPORT_SIGNING_PASSPHRASE = ""
    settings.PUBLIC_BASE_URL = "https://verify.example.gov.cn"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return signing_files[1]


def attach_evidence(target: Assessment, user: User, code: str, name: str, data: bytes) -> Evidence:
    indicator = target.campaign.framework.indicators.get(code=code)
    evidence = Evidence(
        assessment=target,
        indicator=indicator,
        original_name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type="application/pdf",
        uploaded_by=user,
    )
    evidence.file.save(name, ContentFile(data), save=False)
    evidence.save()
    return evidence


def approve(target: Assessment, admin: User) -> Assessment:
    workflow.assessment_approve(assessment=target, acting_user=admin)
    target.refresh_from_db()
    return target


@pytest.fixture
def approved(scored: Assessment, admin: User, vendor: User, signing_key: Path) -> Assessment:  # noqa: F811
    attach_evidence(scored, vendor, "1.2", "可用性监测报告2025.pdf", b"%PDF-1.4 availability")
    return approve(scored, admin)


def issue_and_render(
    target: Assessment, admin: User, language: str = Report.Language.CHINESE
) -> Report:
    report = certify.report_issue(assessment=target, acting_user=admin, language=language)
    rendering.report_render(report_id=report.pk)
    report.refresh_from_db()
    return report


@pytest.fixture
def issued(approved: Assessment, admin: User) -> Report:
    return issue_and_render(approved, admin)
