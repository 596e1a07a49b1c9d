"""Writes of evidence files: upload (and so versions) and deletion, with who may make them.

``evidence_upload`` checks the name, size and type by content (``sniffing``) of a file already
received (``uploads``), then hands it to the FileField's storage, which moves it (local disk) or
streams it in parts (S3 via django-storages).

Once an assessment has been submitted its evidence is never deleted or replaced: uploading a file
of the same name adds a version that points to the one it supersedes.

With a malware scanner configured (``scanning``), a new file is stored as ``pending_scan`` and a
worker scans it once the upload commits (``evidence_scan``): ``clean``, ``infected`` (the content
is deleted from storage, the row keeps the signature) or ``scan_failed`` (the sweep,
``evidence_scan_sweep``, asks again; an admin may too, ``evidence_rescan``).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from audit.services import audit_record
from govcloud_eval.storage import open_stream
from indicators.models import Indicator

from ..models import Assessment, Evidence
from .inspection import inspect_content
from .scanning import ScanError, scanner_from_settings, scanning_enabled
from .sniffing import check_type, file_extension
from .uploads import clean_file_name, max_bytes, too_large_error

logger = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# Who may upload


def evidence_upload_refusal(*, assessment: Assessment, user: User) -> str | None:
    """Why ``user`` may not upload evidence to ``assessment`` now (``evidence.upload``); None
    when it may. Views ask before reading a request body, so that a refused upload costs
    nothing."""
    return policy.refusal(user, Action.EVIDENCE_UPLOAD, assessment)


# ----------------------------------------------------------------------------------------------
# Upload


def _size_and_digest(upload: UploadedFile, name: str, limit: int) -> tuple[int, str]:
    """Size and SHA-256 of the upload, from the upload handler when it computed them while
    receiving, otherwise by reading the file once in chunks."""
    precomputed = getattr(upload, "evidence_sha256", None)
    if precomputed and upload.size is not None:
        return upload.size, precomputed
    hasher = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise too_large_error(name, limit)
        hasher.update(chunk)
    upload.seek(0)
    return size, hasher.hexdigest()


def _stored_name(extension: str) -> str:
    # Nothing of the user's name reaches the storage but the checked extension.
    return f"{secrets.token_hex(16)}{extension}"


def _client_name(upload: UploadedFile) -> str:
    return getattr(upload, "client_name", None) or upload.name or ""


def evidence_upload(
    *,
    assessment: Assessment,
    indicator: Indicator,
    upload: UploadedFile,
    issued_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    acting_user: User,
    name: str | None = None,
) -> Evidence:
    """Stores one evidence file for one indicator and returns its Evidence row.

    ``name`` is the file's name as the user gave it (by default the upload's; the upload handler
    keeps the untruncated one). Only the cloud's vendors may upload, while the self-assessment
    is editable and the campaign open. A file with the same name as an earlier one for the same
    indicator becomes its next version (``replaces`` points to the previous one), which keeps
    every submitted file.

    Raises PermissionDenied for anyone but the cloud's vendors and ValidationError, naming the
    file and the problem, for everything else. On any error nothing is stored: no row, no file
    in storage, and the upload's temporary file is removed.
    """
    stored: str | None = None
    storage = Evidence._meta.get_field("file").storage
    try:
        assessment = Assessment.objects.select_related("campaign", "cloud").get(pk=assessment.pk)
        policy.require(acting_user, Action.EVIDENCE_UPLOAD, assessment)
        if indicator.framework_id != assessment.campaign.framework_id:
            raise ValidationError(_("This indicator is not in the campaign's framework."))
        shown = clean_file_name(name if name is not None else _client_name(upload))
        limit = max_bytes()
        if upload.size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        if upload.size is not None and upload.size > limit:
            raise too_large_error(shown, limit)
        evidence = Evidence(
            assessment=assessment,
            indicator=indicator,
            original_name=shown,
            issued_on=issued_on,
            valid_until=valid_until,
            uploaded_by=acting_user,
            size=0,
            sha256="",
            content_type="",
            # Decided now, with the file: one configured later does not hold back older files.
            scan_state=(
                Evidence.ScanState.PENDING if scanning_enabled() else Evidence.ScanState.NOT_SCANNED
            ),
        )
        evidence.full_clean(exclude=["file", "size", "sha256", "content_type", "replaces"])
        kind, content_type = check_type(shown, upload)
        inspect_content(shown, upload, kind)
        size, digest = _size_and_digest(upload, shown, limit)
        if size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        evidence.size = size
        evidence.sha256 = digest
        evidence.content_type = content_type
        # The slow part (moving or streaming the file into storage) happens outside the
        # transaction; the row is written under a lock on the assessment afterwards.
        upload.seek(0)
        evidence.file.save(_stored_name(file_extension(shown)), upload, save=False)
        stored = evidence.file.name
        return _evidence_record(evidence=evidence, acting_user=acting_user)
    except BaseException:
        if stored:
            storage.delete(stored)
        upload.close()
        raise


@transaction.atomic
def _evidence_record(*, evidence: Evidence, acting_user: User) -> Evidence:
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=evidence.assessment_id)
    )
    # The state may have changed while the file was being stored.
    policy.require(acting_user, Action.EVIDENCE_UPLOAD, assessment)
    previous = (
        Evidence.objects.filter(
            assessment=assessment,
            indicator_id=evidence.indicator_id,
            original_name=evidence.original_name,
        )
        .order_by("-version")
        .first()
    )
    evidence.assessment = assessment
    evidence.version = previous.version + 1 if previous else 1
    evidence.replaces = previous
    if evidence.scan_state == Evidence.ScanState.PENDING:
        evidence.scan_queued_at = timezone.now()
    evidence.full_clean()
    evidence.save()
    if evidence.scan_state == Evidence.ScanState.PENDING:
        evidence_scan_enqueue(evidence.pk)
    audit_record(
        action="assessments.evidence.uploaded",
        acting_user=acting_user,
        target=evidence,
        changes={
            "indicator": evidence.indicator.code,
            "name": evidence.original_name,
            "size": evidence.size,
            "sha256": evidence.sha256,
            "content_type": evidence.content_type,
            "version": evidence.version,
            "replaces": previous.pk if previous else None,
            "issued_on": evidence.issued_on.isoformat() if evidence.issued_on else None,
            "valid_until": evidence.valid_until.isoformat() if evidence.valid_until else None,
            "scan_state": evidence.scan_state,
        },
    )
    return evidence


# ----------------------------------------------------------------------------------------------
# Delete


@transaction.atomic
def evidence_delete(*, evidence: Evidence, acting_user: User) -> None:
    """Deletes an evidence file the cloud's vendor uploaded, before the assessment's first
    submission only; afterwards every file is kept (upload a new version instead).

    The stored file is removed once the transaction commits. Deleting a file already gone does
    nothing. Raises PermissionDenied for anyone but the cloud's vendors and ValidationError
    after the first submission or when the campaign is not open.
    """
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=evidence.assessment_id)
    )
    evidence.assessment = assessment
    policy.require(acting_user, Action.EVIDENCE_DELETE, evidence)
    current = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
    if current is None:
        return
    # A later version now follows the one before this (versions before submission only).
    Evidence.objects.filter(replaces=current).update(replaces=current.replaces_id)
    stored = current.file.name
    storage = current.file.storage
    audit_record(
        action="assessments.evidence.deleted",
        acting_user=acting_user,
        target=current,
        changes={
            "indicator": current.indicator.code,
            "name": current.original_name,
            "size": current.size,
            "sha256": current.sha256,
            "version": current.version,
        },
    )
    current.delete()
    # The field is required: a stored row always has a name (the stubs allow None).
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))


def evidence_record_download(*, evidence: Evidence, acting_user: User, preview: bool) -> None:
    """Records who fetched an evidence file (downloaded, or opened in the browser's preview);
    the response is already being served, so this only writes the audit record."""
    audit_record(
        action="assessments.evidence.previewed" if preview else "assessments.evidence.downloaded",
        acting_user=acting_user,
        target=evidence,
        changes={"sha256": evidence.sha256, "size": evidence.size},
    )


# ----------------------------------------------------------------------------------------------
# Malware scan

# Where a scan may be asked for again: waiting, or failed.
_WAITING = (Evidence.ScanState.PENDING, Evidence.ScanState.FAILED)
# How long a pending file's scan may take (queued and run) before the sweep asks again: no task
# outlives Celery's hard time limit, and a queue is rarely longer than this.
SCAN_STALE_MARGIN = datetime.timedelta(minutes=10)
SCAN_DETAIL_MAX = 500


def evidence_scan_enqueue(evidence_id: int) -> None:
    """Queues the scan of a file once the current transaction commits."""
    # Imported here: the task module calls this module's ``evidence_scan``.
    from .tasks import evidence_scan_task

    transaction.on_commit(lambda: evidence_scan_task.delay(evidence_id))


@dataclass(frozen=True)
class ScanOutcome:
    # "clean", "infected", "scan_failed": recorded now; "skipped": nothing to scan (not
    # waiting, or another scan recorded first); "missing": no such file.
    status: str
    detail: str = ""


def _claim(evidence_id: int) -> Evidence.ScanState | None:
    """Marks one more attempt on a waiting file; returns the state it was in (a failed file
    becomes pending again while it is scanned), None when it is not waiting."""
    for state in _WAITING:
        claimed = Evidence.objects.filter(pk=evidence_id, scan_state=state).update(
            scan_state=Evidence.ScanState.PENDING,
            scan_attempts=F("scan_attempts") + 1,
            scan_queued_at=timezone.now(),
        )
        if claimed == 1:
            return state
    return None


def evidence_scan(*, evidence_id: int) -> ScanOutcome:
    """Scans a waiting evidence file (``pending_scan`` or ``scan_failed``) with the configured
    scanner, streaming it from storage, and records the verdict.

    - clean: ``clean``, the file may be downloaded;
    - infected: ``infected`` with the signature; the stored content is deleted once the verdict
      commits, and the row's ``file`` emptied (``assessments.evidence.infected``);
    - the scanner could not finish (unreachable, timed out, refused the file), the stored file
      is missing, or no scanner is configured here: ``scan_failed`` with the reason, for the
      sweep to try again.

    Audited as ``assessments.evidence.scanned`` with the verdict (a failure only when the file
    was pending, not at each retry of a failed one). Safe to run twice or concurrently: a file
    no longer waiting is skipped, and a verdict is recorded only over a waiting state (a
    failure only over ``pending_scan``). Storage errors other than a missing file propagate,
    like database errors (the task retries those).
    """
    previous = _claim(evidence_id)
    if previous is None:
        exists = Evidence.objects.filter(pk=evidence_id).exists()
        return ScanOutcome("skipped" if exists else "missing")
    evidence = Evidence.objects.select_related("indicator").get(pk=evidence_id)
    scanner = scanner_from_settings()
    if scanner is None:
        return _scan_failed(evidence, previous, _("No malware scanner is configured."), "")
    try:
        stream = open_stream(evidence.file)
        try:
            verdict = scanner.scan(stream)
        finally:
            stream.close()
    except ScanError as error:
        logger.warning("scanning evidence %s failed: %s", evidence_id, error)
        return _scan_failed(evidence, previous, str(error), scanner.description)
    except FileNotFoundError:
        return _scan_failed(
            evidence, previous, _("The stored file is missing."), scanner.description
        )
    if verdict.infected:
        return _record_infected(evidence, verdict.signature, scanner.description)
    return _record_clean(evidence, scanner.description)


def _changes(evidence: Evidence, verdict: str, scanner: str, detail: str = "") -> dict[str, object]:
    return {
        "name": evidence.original_name,
        "sha256": evidence.sha256,
        "scan_state": verdict,
        "scan_detail": detail,
        "scanner": scanner,
        "attempt": evidence.scan_attempts,
    }


@transaction.atomic
def _record_clean(evidence: Evidence, scanner: str) -> ScanOutcome:
    done = Evidence.objects.filter(pk=evidence.pk, scan_state__in=_WAITING).update(
        scan_state=Evidence.ScanState.CLEAN, scan_detail="", scanned_at=timezone.now()
    )
    if done != 1:
        return ScanOutcome("skipped")
    audit_record(
        action="assessments.evidence.scanned",
        acting_user=None,
        target=evidence,
        changes=_changes(evidence, Evidence.ScanState.CLEAN, scanner),
    )
    return ScanOutcome(Evidence.ScanState.CLEAN)


@transaction.atomic
def _record_infected(evidence: Evidence, signature: str, scanner: str) -> ScanOutcome:
    signature = signature[:SCAN_DETAIL_MAX] or "?"
    stored = evidence.file.name or ""
    storage = evidence.file.storage
    done = Evidence.objects.filter(pk=evidence.pk, scan_state__in=_WAITING).update(
        scan_state=Evidence.ScanState.INFECTED,
        scan_detail=signature,
        scanned_at=timezone.now(),
        file="",
    )
    if done != 1:
        return ScanOutcome("skipped")
    audit_record(
        action="assessments.evidence.scanned",
        acting_user=None,
        target=evidence,
        changes=_changes(evidence, Evidence.ScanState.INFECTED, scanner, signature),
    )
    audit_record(
        action="assessments.evidence.infected",
        acting_user=None,
        target=evidence,
        changes={
            "name": evidence.original_name,
            "indicator": evidence.indicator.code,
            "sha256": evidence.sha256,
            "scan_detail": signature,
            "scanner": scanner,
            # Where the content was, should its deletion below fail (it is logged).
            "stored_name": stored,
        },
    )
    if stored:
        transaction.on_commit(lambda: _delete_infected(storage, stored, evidence.pk))
    return ScanOutcome(Evidence.ScanState.INFECTED, signature)


def _delete_infected(storage: object, name: str, evidence_id: int) -> None:
    from django.core.files.storage import Storage

    assert isinstance(storage, Storage)
    try:
        storage.delete(name)
    except Exception:
        # The row no longer names the file: nobody can download it; an operator can remove it.
        logger.exception(
            "evidence %s is infected; deleting %s from storage failed", evidence_id, name
        )


@transaction.atomic
def _scan_failed(
    evidence: Evidence, previous: Evidence.ScanState, reason: str, scanner: str
) -> ScanOutcome:
    reason = reason[:SCAN_DETAIL_MAX]
    done = Evidence.objects.filter(pk=evidence.pk, scan_state=Evidence.ScanState.PENDING).update(
        scan_state=Evidence.ScanState.FAILED, scan_detail=reason, scanned_at=timezone.now()
    )
    if done != 1:
        return ScanOutcome("skipped")
    if previous == Evidence.ScanState.PENDING:
        audit_record(
            action="assessments.evidence.scanned",
            acting_user=None,
            target=evidence,
            changes=_changes(evidence, Evidence.ScanState.FAILED, scanner, reason),
        )
    return ScanOutcome(Evidence.ScanState.FAILED, reason)


# ----------------------------------------------------------------------------------------------
# Scanning again


def evidence_scan_sweep() -> list[int]:
    """Queues again the scans of the files that failed, and of the pending files whose scan was
    asked for longer ago than a scan can take (the message was lost); returns their ids.

    Does nothing without a configured scanner. Safe to run twice or concurrently: a scan asked
    for twice is done once (``evidence_scan`` skips a file no longer waiting)."""
    if not scanning_enabled():
        return []
    stale = timezone.now() - (
        datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + SCAN_STALE_MARGIN
    )
    waiting = Q(scan_state=Evidence.ScanState.FAILED) | Q(
        Q(scan_queued_at__lt=stale) | Q(scan_queued_at__isnull=True),
        scan_state=Evidence.ScanState.PENDING,
    )
    with transaction.atomic():
        ids = list(
            Evidence.objects.filter(waiting).order_by("pk").values_list("pk", flat=True)[:1000]
        )
        Evidence.objects.filter(pk__in=ids).update(scan_queued_at=timezone.now())
        for evidence_id in ids:
            evidence_scan_enqueue(evidence_id)
    return ids


@transaction.atomic
def evidence_rescan(*, evidence: Evidence, acting_user: User) -> Evidence:
    """Asks for a new scan of a file whose scan failed or is still pending (``evidence.rescan``,
    the admins): it becomes ``pending_scan`` and is queued once this commits.

    Raises PermissionDenied for anyone but an admin, and ValidationError when no scanner is
    configured or the file is not waiting for a scan (clean, infected, or never scanned)."""
    current = (
        Evidence.objects.select_for_update(of=("self",))
        .select_related("assessment", "indicator")
        .get(pk=evidence.pk)
    )
    policy.require(acting_user, Action.EVIDENCE_RESCAN, current)
    if not scanning_enabled():
        raise ValidationError(_("No malware scanner is configured."), code="state")
    before = current.scan_state
    done = Evidence.objects.filter(pk=current.pk, scan_state__in=_WAITING).update(
        scan_state=Evidence.ScanState.PENDING, scan_queued_at=timezone.now()
    )
    if done != 1:
        raise ValidationError(
            _("“%(name)s” is not waiting for a virus scan.") % {"name": current.original_name},
            code="state",
        )
    audit_record(
        action="assessments.evidence.rescan_requested",
        acting_user=acting_user,
        target=current,
        changes={
            "name": current.original_name,
            "state": [before, Evidence.ScanState.PENDING],
            "scan_detail": current.scan_detail,
        },
    )
    evidence_scan_enqueue(current.pk)
    current.refresh_from_db()
    return current
