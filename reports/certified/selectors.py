"""Reads of certified reports: the public verification (look a report up by its verification
code, compare a PDF with the one issued) and the reports of an assessment as the portal's users
see them.

Codes carry 120 random bits, and each client address gets a fixed number of look-ups per window
(``reports.certified.ratelimit``), so walking the code space is hopeless.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment
from assessments.selectors import assessment_get_for

from .models import Report

_LOOKALIKES = str.maketrans("018", "OIB")
CODE_PATTERN = re.compile(r"^[A-Z2-7]{24}$")
# The largest file the comparison accepts; issued reports are far smaller.
UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def code_normalise(raw: str) -> str:
    """What a person typed or scanned → the stored form: upper case, no dashes or spaces."""
    # Base32 has no 0, 1 or 8: someone who typed one meant O, I or B.
    return re.sub(r"[\s\-]", "", raw or "").upper().translate(_LOOKALIKES)


def report_for_code(code: str) -> Report | None:
    """The report with this verification code, or None (also for malformed codes)."""
    code = code_normalise(code)
    if not CODE_PATTERN.match(code):
        return None
    return (
        Report.objects.select_related("assessment__cloud", "superseded_by")
        .filter(verification_code=code)
        .first()
    )


def sha256_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def digest_matches(report: Report, sha256: str) -> bool:
    """True when ``sha256`` is the issued file's. False while the file is not ready."""
    if not report.is_ready or not report.sha256:
        return False
    return hmac.compare_digest(sha256.lower(), report.sha256)


def file_matches(report: Report, chunks: Iterable[bytes]) -> bool:
    """True when the bytes are exactly the issued file's (same SHA-256)."""
    return digest_matches(report, sha256_of(chunks))


# ----------------------------------------------------------------------------------------------
# Reports as the portal's users see them


def assessment_for_reports(*, user: User, pk: int) -> Assessment:
    """The assessment, if the user may read its reports (``report.view``: admins, the cloud's
    vendor and owner); Http404 for everyone else, assessors and auditors included."""
    if not policy.can(user, Action.REPORT_VIEW):
        raise Http404
    assessment = assessment_get_for(user=user, pk=pk)
    if not policy.can(user, Action.REPORT_VIEW, assessment):
        raise Http404
    return assessment


def reports_of(*, assessment: Assessment) -> QuerySet[Report]:
    return (
        Report.objects.filter(assessment=assessment).select_related("supersedes").defer("content")
    )


def report_get_for(*, user: User, pk: int) -> Report:
    """A report the user may download; Http404 otherwise."""
    report = Report.objects.filter(pk=pk).defer("content").first()
    if report is None:
        raise Http404
    assessment_for_reports(user=user, pk=report.assessment_id)
    return report


def report_list_for(*, user: User) -> QuerySet[Report]:
    """Every certified report, for the office's list (``report.manage``: admins); none for
    anyone else. One query a page: the cloud, campaign and issuer come joined."""
    if not policy.can(user, Action.REPORT_MANAGE):
        return Report.objects.none()
    return (
        Report.objects.select_related("assessment__cloud", "assessment__campaign", "issued_by")
        .defer("content")
        .order_by("-issued_at", "-id")
    )
