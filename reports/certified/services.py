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
import secrets
import threading

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from assessments.models import Assessment
from audit.services import audit_record
from audit.transitions import transition
from reports.scoring import selectors as score_selectors
from reports.scoring.models import ScoreResult
from reports.scoring.tasks import score_assessment_task

from .content import report_content_build
from .models import Report, ReportNumberCounter
from .rendering import render_stale_after
from .tasks import report_render_task

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


# ----------------------------------------------------------------------------------------------
# Issue, re-issue, revoke


def _locked_assessment(pk: int, acting_user: User) -> Assessment:
    """The assessment, locked, if a report of it may be issued now (it is approved)."""
    assessment = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("campaign__framework", "cloud__owner", "approved_by")
        .get(pk=pk)
    )
    policy.require(acting_user, Action.REPORT_ISSUE, assessment)
    return assessment


def _current_result(assessment: Assessment) -> ScoreResult:
    """The score the report certifies. Scoring is a worker's job, never the request's: when the
    result is not there yet (approval queued it and the worker has not finished, or its message
    was lost), scoring is queued now and the admin asked to issue again in a moment. Approved
    assessments are locked, so that score is the one scoring gave when it was approved."""
    result = score_selectors.score_result_current(assessment=assessment)
    if result is None:
        # Sent at once, not on commit: this transaction is about to be rolled back by the
        # refusal, and the task only reads what approval committed. With tasks run in-process
        # (``make run``) the task has scored by the time ``delay`` returns.
        score_assessment_task.delay(assessment.pk)
        result = score_selectors.score_result_current(assessment=assessment)
    if result is None:
        raise ValidationError(
            _(
                "The score of this assessment is still being computed: issue the report again "
                "in a minute."
            )
        )
    return result


def _issue(
    assessment: Assessment, language: str, acting_user: User, supersedes: Report | None
) -> Report:
    if language not in Report.Language.values:
        raise ValidationError({"language": _("Choose Chinese or English.")})
    result = _current_result(assessment)
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
    policy.require(acting_user, Action.REPORT_ISSUE)
    assessment = _locked_assessment(assessment.pk, acting_user)
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
    policy.require(acting_user, Action.REPORT_MANAGE)
    if not reason.strip():
        raise ValidationError({"reason": _("Say what was corrected.")})
    assessment = _locked_assessment(report.assessment_id, acting_user)
    transition(
        report,
        field="status",
        from_states=[Report.Status.ISSUED],
        to_state=Report.Status.SUPERSEDED,
        extra={"superseded_at": timezone.now()},
        refusal=lambda current: _("Only a report in force can be re-issued."),
    )
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
    policy.require(acting_user, Action.REPORT_MANAGE)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the report is revoked.")})
    transition(
        report,
        field="status",
        from_states=[Report.Status.ISSUED],
        to_state=Report.Status.REVOKED,
        extra={
            "revoked_at": timezone.now(),
            "revoked_by": acting_user,
            "revocation_reason": reason[:2000],
        },
        refusal=lambda current: _("Only a report in force can be revoked."),
    )
    audit_record(
        action="reports.report.revoked",
        acting_user=acting_user,
        target=report,
        changes={"status": ["issued", "revoked"], "reason": reason},
    )
    report.refresh_from_db()
    return report


# A healthy worker takes a report's message within seconds. A report still ``pending`` after this
# long, with no rendering attempt since, lost its message (a flushed broker, or a worker that did
# not know the task): it is stuck, and is queued again by the sweeper or an admin.
RENDER_PENDING_GRACE = datetime.timedelta(minutes=2)


def report_render_stuck_q(
    *, now: datetime.datetime, pending_grace: datetime.timedelta = RENDER_PENDING_GRACE
) -> Q:
    """The reports whose rendering is stuck at ``now``: ``pending`` with nothing happening for
    longer than ``pending_grace`` (since the issue or the last rendering attempt), or
    ``rendering`` for longer than ``rendering.render_stale_after()`` (Celery's time limit has
    killed it, or its worker died: the rendering's claim takes such a report over).
    ``report_render_is_stuck`` is the same rule for one report."""
    waiting_since = now - pending_grace
    no_attempt_since = Q(render_started_at__isnull=True) | Q(render_started_at__lt=waiting_since)
    waiting = Q(state=Report.State.PENDING, issued_at__lt=waiting_since) & no_attempt_since
    abandoned = Q(state=Report.State.RENDERING, render_started_at__lt=now - render_stale_after())
    return waiting | abandoned


def report_render_is_stuck(
    report: Report,
    *,
    now: datetime.datetime | None = None,
    pending_grace: datetime.timedelta = RENDER_PENDING_GRACE,
) -> bool:
    """``report_render_stuck_q`` for a report in memory."""
    now = now or timezone.now()
    if report.state == Report.State.PENDING:
        waiting_since = now - pending_grace
        return report.issued_at < waiting_since and (
            report.render_started_at is None or report.render_started_at < waiting_since
        )
    if report.state == Report.State.RENDERING:
        started = report.render_started_at
        return started is not None and started < now - render_stale_after()
    return False


def report_render_retryable(report: Report, *, now: datetime.datetime | None = None) -> bool:
    """Whether ``report_render_retry`` accepts the report now: its rendering failed or is stuck."""
    return report.state == Report.State.FAILED or report_render_is_stuck(report, now=now)


@transaction.atomic
def report_render_retry(*, report: Report, acting_user: User) -> Report:
    """Queues the rendering of a report again, when the current transaction commits. Admins only
    (``PermissionDenied``).

    A report whose rendering failed goes back to ``pending`` (a guarded update: of two admins
    clicking at once, the second is refused). A stuck report (``report_render_is_stuck``) keeps
    its state: it is queued again, and the rendering's claim takes it over; two clicks queue it
    twice, which renders it once. Anything else (ready, or pending or rendering within the grace
    period) raises ``ValidationError``. Each retry writes ``reports.report.render_retried``.
    """
    policy.require(acting_user, Action.REPORT_MANAGE)
    if (
        Report.objects.filter(pk=report.pk, state=Report.State.FAILED).update(
            state=Report.State.PENDING
        )
        == 1
    ):
        changes: dict[str, object] = {"state": ["failed", "pending"]}
    else:
        state = (
            Report.objects.filter(report_render_stuck_q(now=timezone.now()), pk=report.pk)
            .values_list("state", flat=True)
            .first()
        )
        if state is None:
            raise ValidationError(
                _("Only a report whose rendering failed or is stuck can be rendered again.")
            )
        changes = {"state": state, "stuck": True}
    audit_record(
        action="reports.report.render_retried",
        acting_user=acting_user,
        target=report,
        changes=changes,
    )
    report_render_enqueue(report.pk)
    report.refresh_from_db()
    return report


# ----------------------------------------------------------------------------------------------
# Queueing


def report_render_enqueue(report_id: int) -> None:
    """Queues the rendering of a report once the current transaction commits.

    Without a worker (``CELERY_TASK_ALWAYS_EAGER``: ``make run``) the task runs in a thread of
    its own, so the request that issued the report answers at once and the page follows the
    rendering (``certified:status``) as it would with a worker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: _render_in_thread(report_id))
    else:
        transaction.on_commit(lambda: report_render_task.delay(report_id))


def _render_in_thread(report_id: int) -> None:
    def run() -> None:
        try:
            report_render_task.apply(args=(report_id,))
        finally:
            connection.close()  # the thread's own connection

    # Not a daemon: a command that issued reports (load_demo) waits for them before exiting.
    threading.Thread(target=run, name=f"report-render-{report_id}").start()
