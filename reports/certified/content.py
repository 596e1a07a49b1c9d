"""What a certified report shows, read from the database and frozen into ``Report.content``
when the report is issued: the PDF is rendered from this snapshot alone."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from assessments.evidence.selectors import evidence_current
from assessments.models import Assessment, Rating, Settlement
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
        Rating.objects.filter(assignment__assessment=assessment)
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
    for item in evidence_current(assessment=assessment).order_by(
        "indicator_id", "original_name", "version"
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
        for a in assessment.assignments.select_related("assessor").order_by("assigned_at", "pk")
    ]
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
        "campaign": {"name": assessment.campaign.name, "year": assessment.campaign.year},
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "kind": framework.kind,
            "name_zh": framework.name_zh,
            "name_en": framework.name_en,
            "rating_names": list(framework.rating_names or []),
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
        "approved_on": timezone.localdate(assessment.approved_at).isoformat()
        if assessment.approved_at
        else "",
    }
