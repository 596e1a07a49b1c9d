"""Rendering the files of a published version once: its PDF bulletin, CSV and XLSX, in Chinese
and English, and its open data (JSON and CSV, language-neutral: ``open_data``)
(``RankingExport``: ``pending → rendering → ready | failed``). The render task calls
``ranking_exports_render``; nothing here queues a task (``services.ranking_exports_enqueue``
does).

A file is claimed with a guarded update, so a redelivered message renders nothing twice, and a
ready file is never rendered again: the version it comes from is frozen.
"""

from __future__ import annotations

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from audit.services import audit_record

from . import exports, open_data
from .models import Ranking, RankingExport
from .snapshot import public_view

logger = logging.getLogger(__name__)

ERROR_MAX = 4000
# How long after Celery's hard time limit a rendering still counts as running (as certified
# reports: the limit kills the task's process; this covers the kill and the clocks).
RENDER_STALE_MARGIN = datetime.timedelta(seconds=30)


def render_stale_after() -> datetime.timedelta:
    """How long after its claim a rendering is abandoned and may be taken over."""
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + RENDER_STALE_MARGIN


def export_bytes(ranking: Ranking, *, fmt: str, language: str) -> bytes:
    """The file of a published version in ``fmt`` and ``language``: a pure function of its
    snapshot (the presentation hides every score of a list published without them)."""
    view = public_view(ranking)
    if fmt == RankingExport.Format.JSON:
        return open_data.json_bytes(ranking, view)
    if fmt == RankingExport.Format.DATA_CSV:
        return open_data.csv_bytes(ranking, view)
    with translation.override(language):
        if fmt == RankingExport.Format.CSV:
            return exports.csv_bytes(view)
        if fmt == RankingExport.Format.XLSX:
            return exports.xlsx_bytes(view, sha256=ranking.snapshot_sha256)
        if fmt == RankingExport.Format.PDF:
            return exports.bulletin_pdf(view, language=language, sha256=ranking.snapshot_sha256)
    raise ValueError(f"Unknown export format {fmt!r}.")


def _stale_q() -> Q:
    return Q(
        state=RankingExport.State.RENDERING,
        render_started_at__lt=timezone.now() - render_stale_after(),
    )


def renderable_q() -> Q:
    """Files a worker may (re)render now: waiting, failed, or abandoned by a dead worker."""
    return Q(state__in=[RankingExport.State.PENDING, RankingExport.State.FAILED]) | _stale_q()


def _claim(export_id: int) -> bool:
    return (
        RankingExport.objects.filter(renderable_q(), pk=export_id).update(
            state=RankingExport.State.RENDERING,
            render_started_at=timezone.now(),
            attempts=F("attempts") + 1,
            error="",
        )
        == 1
    )


def ranking_export_render(*, export_id: int) -> str:
    """Renders and stores one file: "ready", "failed" (the error is stored on the row),
    "skipped" (ready already, or another worker has it) or "missing". Safe to run twice;
    database errors propagate (the task retries those)."""
    if not _claim(export_id):
        exists = RankingExport.objects.filter(pk=export_id).exists()
        return "skipped" if exists else "missing"
    export = RankingExport.objects.select_related("ranking").get(pk=export_id)
    ranking = export.ranking
    try:
        data = export_bytes(ranking, fmt=export.format, language=export.language)
    except Exception as exc:  # any failure of the template, WeasyPrint or openpyxl
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        logger.exception("rendering %s of ranking %s failed", export.format, ranking.pk)
        with transaction.atomic():
            RankingExport.objects.filter(pk=export_id, state=RankingExport.State.RENDERING).update(
                state=RankingExport.State.FAILED, error=error
            )
            audit_record(
                action="reports.ranking.export_failed",
                acting_user=None,
                target=ranking,
                changes={"format": export.format, "language": export.language, "error": error},
            )
        return "failed"
    sha256 = hashlib.sha256(data).hexdigest()
    export.file.save(f"ranking.{export.format}", ContentFile(data), save=False)
    stored_name = export.file.name
    assert stored_name is not None  # FieldFile.save sets the name the storage chose
    with transaction.atomic():
        changed = RankingExport.objects.filter(
            pk=export_id, state=RankingExport.State.RENDERING
        ).update(
            state=RankingExport.State.READY,
            file=stored_name,
            sha256=sha256,
            size=len(data),
            rendered_at=timezone.now(),
        )
        if changed != 1:
            # Taken over as dead while we rendered: keep the other file, drop ours.
            transaction.on_commit(lambda: export.file.storage.delete(stored_name))
            return "skipped"
        audit_record(
            action="reports.ranking.export_rendered",
            acting_user=None,
            target=ranking,
            changes={
                "format": export.format,
                "language": export.language,
                "sha256": sha256,
                "size": len(data),
            },
        )
    return "ready"


def ranking_exports_render(*, ranking_id: int) -> dict[str, int]:
    """Renders every file of a published version that is not ready (see
    ``ranking_export_render``); returns how many ended in each status (empty when the version
    is gone or has no files to render)."""
    counts: dict[str, int] = {}
    ids = RankingExport.objects.filter(renderable_q(), ranking_id=ranking_id).values_list(
        "pk", flat=True
    )
    for export_id in list(ids):
        status = ranking_export_render(export_id=export_id)
        counts[status] = counts.get(status, 0) + 1
    return counts
