"""Certified reports (评估报告): issue, render, re-issue, revoke. Writes only.

Guarantees:

- A report is issued only for an approved assessment, by an admin, in one transaction that
  takes the next number of the year from ``ReportNumberCounter`` (a row-locking increment, not
  ``last() + 1``), freezes everything the PDF shows in ``Report.content``, writes an audit
  record and queues the rendering when the transaction commits.
- Numbers are unique by constraint and never handed out twice; verification codes carry 120
  random bits.
- At most one report per assessment and language is in force (``status = issued``): issuing
  again is refused, re-issuing supersedes it with a new number.
- An issued report's content never changes, and once its file is ready it is never rendered
  again; reports are never deleted (``ReportImmutableError``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from assessments.models import Assessment, Campaign, Evidence, Rating, Settlement
from audit.services import audit_record

from . import selectors
from .models import Report, ReportNumberCounter, ScoreResult
from .pdf import ReportContent, render_report_pdf

logger = logging.getLogger(__name__)

# A rendering that started longer ago than this was lost with its worker and may be taken over.
RENDER_STALE_AFTER = datetime.timedelta(minutes=15)
ERROR_MAX = 4000


def _require_admin(user: User | None) -> None:
    if user is None or user.role != User.Role.ADMIN:
        raise PermissionDenied(_("Your role may not do this."))


# ----------------------------------------------------------------------------------------------
# Numbers and codes


def number_prefix() -> str:
    return getattr(settings, "REPORT_NUMBER_PREFIX", "GCE")


def report_number_format(year: int, sequence: int) -> str:
    """GCE-2026-0001; numbers past 9999 simply grow a digit."""
    return f"{number_prefix()}-{year}-{sequence:04d}"


def report_number_allocate(*, year: int) -> int:
    """The next sequence number of ``year``. Call inside the issuing transaction.

    The increment is one UPDATE: it holds the counter row's lock until the transaction ends,
    so concurrent issuers wait for each other and each reads its own increment. The first
    report of a year inserts the row (ON CONFLICT DO NOTHING, so two first issuers cannot both
    create it).
    """
    ReportNumberCounter.objects.bulk_create(
        [ReportNumberCounter(year=year, last=0)], ignore_conflicts=True
    )
    ReportNumberCounter.objects.filter(year=year).update(last=F("last") + 1)
    return ReportNumberCounter.objects.filter(year=year).values_list("last", flat=True).get()


def verification_code_new() -> str:
    """24 characters of base32: 120 random bits, so guessing a code is hopeless."""
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii")


def verification_code_display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def public_base_url() -> str:
    return getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def verify_url(code: str) -> str:
    """The absolute address of the public verification page of ``code`` (the QR code's)."""
    return public_base_url() + reverse("certified:verify", args=[code])


# ----------------------------------------------------------------------------------------------
# The snapshot


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
    notes: dict[str, list] = {}
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
    settlements = {
        str(s.indicator_id): {
            "rating": str(s.rating) if s.rating is not None else None,
            "met": s.met,
            "reason": s.reason,
            "by": _name(s.settled_by),
        }
        for s in Settlement.objects.filter(assessment=assessment).select_related("settled_by")
    }
    # The current version of each file: those no later version replaces.
    replaced = Evidence.objects.filter(assessment=assessment, replaces__isnull=False).values_list(
        "replaces_id", flat=True
    )
    evidence: dict[str, list] = {}
    for item in (
        Evidence.objects.filter(assessment=assessment)
        .exclude(pk__in=list(replaced))
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


# ----------------------------------------------------------------------------------------------
# Issue, re-issue, revoke


def _locked_assessment(pk: int) -> Assessment:
    assessment = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework", "cloud__owner", "approved_by")
        .get(pk=pk)
    )
    if assessment.state != Assessment.State.APPROVED:
        raise ValidationError(_("Only an approved assessment gets a report."))
    return assessment


def _current_result(assessment: Assessment, acting_user: User) -> ScoreResult:
    result = selectors.score_result_current(assessment=assessment)
    if result is None:
        # Approved assessments are locked, so scoring now gives the result scoring gave when
        # it was approved (or would have, had scoring run).
        from .services import assessment_score

        result = assessment_score(assessment_id=assessment.pk, acting_user=acting_user).result
    if result is None:
        raise ValidationError(_("This assessment has no score yet."))
    return result


def _issue(
    assessment: Assessment, language: str, acting_user: User, supersedes: Report | None
) -> Report:
    if language not in Report.Language.values:
        raise ValidationError({"language": _("Choose Chinese or English.")})
    result = _current_result(assessment, acting_user)
    now = timezone.now()
    issued_on = timezone.localdate(now)
    sequence = report_number_allocate(year=issued_on.year)
    number = report_number_format(issued_on.year, sequence)
    code = verification_code_new()
    report = Report(
        number=number,
        year=issued_on.year,
        sequence=sequence,
        verification_code=code,
        assessment=assessment,
        score_result=result,
        language=language,
        content=report_content_build(
            assessment=assessment,
            result=result,
            number=number,
            code=code,
            language=language,
            issued_on=issued_on,
            supersedes=supersedes,
        ),
        issued_at=now,
        issued_by=acting_user,
        supersedes=supersedes,
    )
    # Uniqueness is the database's to enforce: validate everything else.
    report.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("A report of this assessment in this language is already in force.")
        ) from exc
    report_render_enqueue(report.pk)
    return report


@transaction.atomic
def report_issue(
    *, assessment: Assessment, acting_user: User, language: str = Report.Language.CHINESE
) -> Report:
    """Issues the report of an approved assessment and queues its rendering.

    Admins only (``PermissionDenied``). Raises ``ValidationError`` when the assessment is not
    approved, has no score, or already has a report in force in this language (re-issue it
    instead). Never reuses a number, even under concurrent issues.
    """
    _require_admin(acting_user)
    assessment = _locked_assessment(assessment.pk)
    if Report.objects.filter(
        assessment=assessment, language=language, status=Report.Status.ISSUED
    ).exists():
        raise ValidationError(
            _(
                "A report of this assessment in this language is already in force. "
                "Re-issue it to correct it."
            )
        )
    report = _issue(assessment, language, acting_user, supersedes=None)
    audit_record(
        action="reports.report.issued",
        acting_user=acting_user,
        target=report,
        changes={"number": report.number, "assessment": assessment.pk, "language": language},
    )
    return report


@transaction.atomic
def report_reissue(*, report: Report, reason: str, acting_user: User) -> Report:
    """Issues a corrected report with a new number from the assessment's current data, and marks
    ``report`` superseded. Only a report in force can be re-issued. Admins only."""
    _require_admin(acting_user)
    if not reason.strip():
        raise ValidationError({"reason": _("Say what was corrected.")})
    assessment = _locked_assessment(report.assessment_id)
    now = timezone.now()
    changed = Report.objects.filter(pk=report.pk, status=Report.Status.ISSUED).update(
        status=Report.Status.SUPERSEDED, superseded_at=now
    )
    if changed != 1:
        raise ValidationError(_("Only a report in force can be re-issued."))
    old = Report.objects.get(pk=report.pk)
    new = _issue(assessment, old.language, acting_user, supersedes=old)
    audit_record(
        action="reports.report.superseded",
        acting_user=acting_user,
        target=old,
        changes={"status": ["issued", "superseded"], "by": new.number, "reason": reason.strip()},
    )
    audit_record(
        action="reports.report.issued",
        acting_user=acting_user,
        target=new,
        changes={
            "number": new.number,
            "assessment": assessment.pk,
            "language": new.language,
            "supersedes": old.number,
            "reason": reason.strip(),
        },
    )
    return new


@transaction.atomic
def report_revoke(*, report: Report, reason: str, acting_user: User) -> Report:
    """Revokes a report in force: the verification page says so from now on, with the date.
    Admins only; a reason is required; a superseded or revoked report cannot be revoked."""
    _require_admin(acting_user)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the report is revoked.")})
    changed = Report.objects.filter(pk=report.pk, status=Report.Status.ISSUED).update(
        status=Report.Status.REVOKED,
        revoked_at=timezone.now(),
        revoked_by=acting_user,
        revocation_reason=reason[:2000],
    )
    if changed != 1:
        raise ValidationError(_("Only a report in force can be revoked."))
    audit_record(
        action="reports.report.revoked",
        acting_user=acting_user,
        target=report,
        changes={"status": ["issued", "revoked"], "reason": reason},
    )
    report.refresh_from_db()
    return report


@transaction.atomic
def report_render_retry(*, report: Report, acting_user: User) -> Report:
    """Queues again the rendering of a report whose rendering failed. Admins only."""
    _require_admin(acting_user)
    changed = Report.objects.filter(pk=report.pk, state=Report.State.FAILED).update(
        state=Report.State.PENDING
    )
    if changed != 1:
        raise ValidationError(_("Only a report whose rendering failed can be rendered again."))
    audit_record(
        action="reports.report.render_retried",
        acting_user=acting_user,
        target=report,
        changes={"state": ["failed", "pending"]},
    )
    report_render_enqueue(report.pk)
    report.refresh_from_db()
    return report


# ----------------------------------------------------------------------------------------------
# Rendering


def report_render_enqueue(report_id: int) -> None:
    """Queues the rendering of a report once the current transaction commits."""
    from .tasks_certified import report_render_task

    transaction.on_commit(lambda: report_render_task.delay(report_id))


@dataclass(frozen=True)
class RenderOutcome:
    # "ready": rendered now; "skipped": nothing to do (ready already, or another worker is on
    # it); "missing": no such report; "failed": rendering raised, the error is stored.
    status: str
    error: str = ""


def _claim(report_id: int) -> bool:
    """Moves the report to ``rendering`` if it waits (or a worker died on it): one claimant."""
    stale = timezone.now() - RENDER_STALE_AFTER
    return (
        Report.objects.filter(pk=report_id)
        .filter(
            Q(state__in=[Report.State.PENDING, Report.State.FAILED])
            | Q(state=Report.State.RENDERING, render_started_at__lt=stale)
        )
        .update(
            state=Report.State.RENDERING,
            render_started_at=timezone.now(),
            attempts=F("attempts") + 1,
            error="",
        )
        == 1
    )


def report_pdf_bytes(content: ReportContent) -> bytes:
    """The signed PDF of a snapshot: render, then sign."""
    from .signing import sign_pdf

    pdf = render_report_pdf(content)
    with translation.override(content["language"]):
        reason = _("Certified evaluation report %(number)s") % {"number": content["number"]}
    return sign_pdf(pdf, reason=reason)


def report_render(*, report_id: int) -> RenderOutcome:
    """Renders, signs and stores a report's PDF: ``pending → rendering → ready | failed``.

    Safe to run twice: a ready report is never rendered again, and of two concurrent runs only
    the one that claimed the report stores a file. Rendering errors are caught and stored on
    the report (the admin sees them and may retry); database errors propagate (the task
    retries those).
    """
    if not _claim(report_id):
        exists = Report.objects.filter(pk=report_id).exists()
        return RenderOutcome("skipped" if exists else "missing")
    report = Report.objects.get(pk=report_id)
    try:
        data = report_pdf_bytes(report.content)
    except Exception as exc:  # any failure of the template, WeasyPrint or the signer
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        logger.exception("rendering report %s failed", report.number)
        with transaction.atomic():
            Report.objects.filter(pk=report_id, state=Report.State.RENDERING).update(
                state=Report.State.FAILED, error=error
            )
            audit_record(
                action="reports.report.render_failed",
                acting_user=None,
                target=report,
                changes={"error": error},
            )
        return RenderOutcome("failed", error)
    sha256 = hashlib.sha256(data).hexdigest()
    report.file.save(f"{report.number}.pdf", ContentFile(data), save=False)
    with transaction.atomic():
        changed = Report.objects.filter(pk=report_id, state=Report.State.RENDERING).update(
            state=Report.State.READY,
            file=report.file.name,
            sha256=sha256,
            size=len(data),
            rendered_at=timezone.now(),
        )
        if changed != 1:
            # Someone else finished first (we were taken for dead): keep theirs, drop ours.
            transaction.on_commit(lambda: report.file.storage.delete(report.file.name))
            return RenderOutcome("skipped")
        audit_record(
            action="reports.report.rendered",
            acting_user=None,
            target=report,
            changes={"state": ["rendering", "ready"], "sha256": sha256, "size": len(data)},
        )
    return RenderOutcome("ready")


# ----------------------------------------------------------------------------------------------
# Demo


def demo_reports_issue(*, campaign: Campaign | None = None) -> list[Report]:
    """Issues and renders (in this process) the Chinese report of every approved assessment of
    the demo campaigns (or of ``campaign`` only) that has none in force, through the services
    above, as the demo admin. Idempotent. Creates the development signing certificate first when
    DEBUG is on and none is configured."""
    if settings.DEBUG:
        from django.core.management import call_command

        call_command("make_dev_certificate", verbosity=0)
    admin = User.objects.filter(is_demo=True, role=User.Role.ADMIN).order_by("pk").first()
    if admin is None:
        return []
    campaigns = Campaign.objects.filter(is_demo=True)
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    approved = Assessment.objects.filter(
        campaign__in=campaigns, state=Assessment.State.APPROVED
    ).exclude(
        certified_reports__status=Report.Status.ISSUED,
        certified_reports__language=Report.Language.CHINESE,
    )
    issued = []
    for assessment in approved.order_by("cloud__owner__division_code", "pk"):
        with transaction.atomic():
            report = report_issue(assessment=assessment, acting_user=admin)
        # Rendered here and now (a no-op if the eager on_commit task already did it).
        report_render(report_id=report.pk)
        report.refresh_from_db()
        issued.append(report)
    return issued
