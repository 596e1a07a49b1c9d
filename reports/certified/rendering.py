"""Rendering of certified reports: ``pending → rendering → ready | failed``. The render task
calls ``report_render``; nothing here queues a task.

A report is claimed with a guarded update, so a redelivered message (after a worker died)
renders nothing twice, and a ready report is never rendered again.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record

from .models import Report
from .pdf import (
    MM,
    SIGNATURE_BOX_MM,
    ReportContent,
    collector_paused,
    render_report_pdf,
    signature_box,
)
from .signing import Appearance, sign_pdf

logger = logging.getLogger(__name__)

# How long after Celery's hard time limit a rendering still counts as running: the limit kills
# the task's process, and this covers the kill and the clocks of two machines.
RENDER_STALE_MARGIN = datetime.timedelta(seconds=30)
ERROR_MAX = 4000


def render_stale_after() -> datetime.timedelta:
    """How long after its claim a rendering is abandoned and may be taken over: no rendering
    outlives Celery's hard time limit (``CELERY_TASK_TIME_LIMIT``, read now, so a changed
    setting applies at once), plus ``RENDER_STALE_MARGIN``. The claim below, the stuck rule
    (``services.report_render_stuck_q``) and so the sweeper all use it."""
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + RENDER_STALE_MARGIN


@dataclass(frozen=True)
class RenderOutcome:
    # "ready": rendered now; "skipped": nothing to do (ready already, or another worker is on
    # it); "missing": no such report; "failed": rendering raised, the error is stored.
    status: str
    error: str = ""


def _claim(report_id: int) -> bool:
    """Moves the report to ``rendering`` if it waits (or a worker died on it): one claimant."""
    stale = timezone.now() - render_stale_after()
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


def seal_png() -> bytes | None:
    """The seal image of the visible signature (``REPORT_SEAL_IMAGE``), or None when unset.
    Raises ``ImproperlyConfigured`` when it names a file that is not there."""
    name = getattr(settings, "REPORT_SEAL_IMAGE", "") or ""
    if not name:
        return None
    path = Path(name)
    if not path.is_file():
        raise ImproperlyConfigured(f"REPORT_SEAL_IMAGE ({path}) does not exist.")
    return path.read_bytes()


def report_pdf_bytes(content: ReportContent) -> bytes:
    """The signed PDF of a snapshot: render, then sign, with the visible signature over the
    sign-off box of the last page (the issuing body, the date), its appearance the seal."""
    with collector_paused():
        pdf = render_report_pdf(content)
        appearance = Appearance(
            box=signature_box(),
            image=seal_png(),
            image_width=SIGNATURE_BOX_MM.seal_width * MM,
            padding=SIGNATURE_BOX_MM.padding * MM,
        )
        with translation.override(content["language"]):
            reason = _("Certified evaluation report %(number)s") % {"number": content["number"]}
        return sign_pdf(pdf, reason=reason, appearance=appearance)


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
    # ``FieldFile.save`` sets the name the storage chose; it is never None afterwards.
    stored_name = report.file.name
    assert stored_name is not None
    with transaction.atomic():
        changed = Report.objects.filter(pk=report_id, state=Report.State.RENDERING).update(
            state=Report.State.READY,
            file=stored_name,
            sha256=sha256,
            size=len(data),
            rendered_at=timezone.now(),
        )
        if changed != 1:
            # Someone else finished first (we were taken for dead): keep theirs, drop ours.
            transaction.on_commit(lambda: report.file.storage.delete(stored_name))
            return RenderOutcome("skipped")
        audit_record(
            action="reports.report.rendered",
            acting_user=None,
            target=report,
            changes={"state": ["rendering", "ready"], "sha256": sha256, "size": len(data)},
        )
    return RenderOutcome("ready")
