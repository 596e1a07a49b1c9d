"""What a certified report shows, read from the database and frozen into ``Report.content``
when the report is issued: the PDF is rendered from this snapshot alone."""

from __future__ import annotations

import calendar
import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from assessments.evidence.selectors import evidence_current
from assessments.models import Assessment, Evidence, Rating, Settlement
from indicators.models import EvidenceMethod, Framework
from reports.scoring.models import ScoreResult

from .models import Report
from .pdf import AssessorNote, EvidenceRef, ReportContent, SettlementNote


def verification_code_display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def public_base_url() -> str:
    return getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def verify_url(code: str) -> str:
    """The absolute address of the public verification page of ``code`` (the QR code's)."""
    return public_base_url() + reverse("certified:verify", args=[code])


def verify_url_prefix() -> str:
    """What ``verify_url`` gives every report before its code: shown on the issue form, so
    that an admin sees a wrong ``PUBLIC_BASE_URL`` before it is frozen into a report."""
    return public_base_url() + reverse("certified:verify_lookup")


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return str(user)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day
    (2026-01-31 + 1 → 2026-02-28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last_day))


def issuer_name(language: str) -> str:
    """The issuing body's full name as printed in a report of ``language``: the settings'
    ``REPORT_ISSUER_NAME`` (``REPORT_ISSUER_NAME_EN`` in English when set), else the generic
    name of the office in that language."""
    chinese = getattr(settings, "REPORT_ISSUER_NAME", "")
    english = getattr(settings, "REPORT_ISSUER_NAME_EN", "")
    if not language.startswith("zh") and english:
        return english
    if chinese:
        return chinese
    with translation.override(language):
        return _("Government Cloud Evaluation Office")


def _evidence_methods(framework: Framework) -> list[str]:
    used: set[str] = set()
    for methods in framework.indicators.values_list("evidence_methods", flat=True):
        used.update(methods or [])
    return [method.value for method in EvidenceMethod if method.value in used]


def report_content_build(
    *,
    assessment: Assessment,
    result: ScoreResult,
    number: str,
    code: str,
    language: str,
    issued_on: datetime.date,
    supersedes: Report | None,
) -> ReportContent:
    """Everything the report shows, read now and frozen: the cloud, the campaign, the score
    breakdown, each assessor's rationale, settlements, the current evidence files with their
    SHA-256, the assessors and the approver."""
    cloud = assessment.cloud
    framework = assessment.campaign.framework
    notes: dict[str, list[AssessorNote]] = {}
    ratings = (
        # The ratings that count: a removed or replaced assessor's stay in the record only.
        Rating.objects.filter(assignment__assessment=assessment, assignment__removed_at=None)
        .select_related("assignment__assessor")
        .order_by("assignment__assigned_at", "assignment_id")
    )
    for rating in ratings:
        notes.setdefault(str(rating.indicator_id), []).append(
            {
                "assessor": _name(rating.assignment.assessor),
                "rating": str(rating.rating) if rating.rating is not None else None,
                "met": rating.met,
                "rationale": rating.rationale,
            }
        )
    settlements: dict[str, SettlementNote] = {
        str(s.indicator_id): {
            "rating": str(s.rating) if s.rating is not None else None,
            "met": s.met,
            "reason": s.reason,
            "by": _name(s.settled_by),
        }
        for s in Settlement.objects.filter(assessment=assessment).select_related("settled_by")
    }
    evidence: dict[str, list[EvidenceRef]] = {}
    # A file found infected was removed from storage: it is no evidence the report can cite.
    for item in (
        evidence_current(assessment=assessment)
        .exclude(scan_state=Evidence.ScanState.INFECTED)
        .order_by("indicator_id", "original_name", "version")
    ):
        evidence.setdefault(str(item.indicator_id), []).append(
            {
                "name": item.original_name,
                "sha256": item.sha256,
                "size": item.size,
                "version": item.version,
            }
        )
    assessors = [
        _name(a.assessor)
        for a in assessment.assignments.filter(removed_at=None)
        .select_related("assessor")
        .order_by("assigned_at", "pk")
    ]
    campaign = assessment.campaign
    approved_on = timezone.localdate(assessment.approved_at) if assessment.approved_at else None
    return {
        "language": language,
        "number": number,
        "verification_code": verification_code_display(code),
        "verify_url": verify_url(code),
        "issued_on": issued_on.isoformat(),
        "supersedes": supersedes.number if supersedes else None,
        "demo": bool(assessment.campaign.is_demo or cloud.is_demo),
        "cloud": {
            "name": cloud.name,
            "name_en": cloud.name_en,
            "level": cloud.level,
            "division_code": cloud.owner.division_code,
        },
        "owner": cloud.owner.name,
        "vendors": [v.name for v in cloud.vendors.order_by("name")],
        "campaign": {
            "name": campaign.name,
            "year": campaign.year,
            "opens_on": campaign.opens_on.isoformat(),
            "closes_on": campaign.closes_on.isoformat(),
        },
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "kind": framework.kind,
            "name_zh": framework.name_zh,
            "name_en": framework.name_en,
            "rating_names": list(framework.rating_names or []),
            "provenance": framework.provenance,
            "report_validity_months": framework.report_validity_months,
            "evidence_methods": _evidence_methods(framework),
        },
        "score": {
            "version": result.version,
            "inputs_sha256": result.inputs_sha256,
            "computed_at": result.computed_at.isoformat(),
        },
        "breakdown": result.breakdown,
        "notes": notes,
        "settlements": settlements,
        "evidence": evidence,
        "assessors": assessors,
        "approved_by": _name(assessment.approved_by),
        "approved_on": approved_on.isoformat() if approved_on else "",
        # Validity runs from the approval (from the issue, for an assessment never approved).
        "valid_until": add_months(
            approved_on or issued_on, framework.report_validity_months
        ).isoformat(),
        "issuer": issuer_name(language),
    }
