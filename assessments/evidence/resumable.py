"""Resumable, chunked evidence uploads (the tus protocol's core, with its creation, checksum,
expiration and termination extensions): the writes behind ``assessments.api.uploads``.

An upload is created with the whole file's length and SHA-256, its name, indicator and dates;
who may upload and the size limit are asked then, so that a refused upload costs nothing. Each
chunk then arrives with its own SHA-256 and must start where the last good one ended: it is
received into a temporary file (never held whole in memory), checked, and stored through the
evidence files' storage (the file system, or S3 when configured) as its own object
``uploads/<id>/<offset>-<random>``, with a ``ResumableUploadChunk`` row. A chunk cut off, longer
than announced or with the wrong checksum is discarded: the offset stays where it was, and the
client resumes from there.

When the last byte has arrived, the chunks are streamed from storage into one temporary file,
computing the whole file's SHA-256, which must be the one declared; then the file goes through
``services.evidence_upload`` like a browser upload (name, size, type by content, inspection, the
malware scan's state, versions) and lands in the same storage. The chunks are deleted whatever
the outcome: the upload ends ``complete`` (with its evidence) or ``failed`` (with the message).

An upload that receives no good chunk for ``RESUMABLE_UPLOAD_EXPIRY`` (24 hours by default)
expires: ``resumable_uploads_expire`` (a Celery beat task, hourly) deletes its chunks and marks it
``expired``; rows that ended (complete, failed, expired) are deleted ``KEEP_ENDED`` later.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import re
import secrets
import tempfile
import uuid
from collections.abc import Callable
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from govcloud_eval.storage import storage_stream
from indicators.models import Indicator

from ..models import Assessment, Evidence, ResumableUpload, ResumableUploadChunk
from .services import evidence_upload, evidence_upload_refusal
from .sniffing import ALLOWED_EXTENSIONS, file_extension
from .uploads import EvidenceUploadedFile, clean_file_name, max_bytes, too_large_error

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_EXPIRY = datetime.timedelta(hours=24)
# How long an ended upload (complete, failed, expired) stays to be asked about before its row is
# deleted.
KEEP_ENDED = datetime.timedelta(days=7)
# How much of a request body, or of a stored chunk, is read at a time.
READ_BYTES = 1024 * 1024
PREFIX = "uploads"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_OPEN = (ResumableUpload.State.RECEIVING, ResumableUpload.State.ASSEMBLING)


def chunk_max_bytes() -> int:
    """The largest chunk one PATCH may carry (``settings.RESUMABLE_CHUNK_MAX_BYTES``)."""
    return int(getattr(settings, "RESUMABLE_CHUNK_MAX_BYTES", DEFAULT_CHUNK_MAX_BYTES))


def upload_expiry() -> datetime.timedelta:
    """How long an upload waits for its next chunk (``settings.RESUMABLE_UPLOAD_EXPIRY``, a
    timedelta or a number of seconds)."""
    value = getattr(settings, "RESUMABLE_UPLOAD_EXPIRY", DEFAULT_EXPIRY)
    if isinstance(value, datetime.timedelta):
        return value
    return datetime.timedelta(seconds=float(value))


def _storage() -> Storage:
    # The evidence files' storage: the default one (S3 when S3_BUCKET is set).
    return Evidence._meta.get_field("file").storage


def upload_path(upload_id: uuid.UUID | str) -> str:
    """The upload's URL in the API."""
    return f"/api/v1/uploads/{upload_id}/"


def evidence_path(evidence_id: int) -> str:
    """The evidence file's URL in the API."""
    return f"/api/v1/evidence/{evidence_id}/"


class UploadError(Exception):
    """A request about a resumable upload that is refused, with the HTTP status and the
    machine-readable code of the answer, and the message for the user."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _gone(upload: ResumableUpload) -> UploadError:
    return UploadError(
        _(
            "This upload expired: no chunk arrived for %(hours)s hours and its chunks were "
            "deleted. Start a new upload."
        )
        % {"hours": f"{upload_expiry().total_seconds() / 3600:g}"},
        code="upload_expired",
        status=410,
    )


# ----------------------------------------------------------------------------------------------
# Reading


def resumable_upload_get_for(*, user: User, pk: uuid.UUID) -> ResumableUpload:
    """The upload if ``user`` created it; Http404 otherwise (never the object)."""
    upload = (
        ResumableUpload.objects.select_related("indicator", "evidence")
        .filter(pk=pk, created_by=user)
        .first()
    )
    if upload is None:
        raise Http404
    return upload


def is_expired(upload: ResumableUpload, now: datetime.datetime | None = None) -> bool:
    """Whether the upload expired, or is due to (the sweep has not run yet)."""
    if upload.state == ResumableUpload.State.EXPIRED:
        return True
    return upload.state in _OPEN and upload.expires_at <= (now or timezone.now())


def refuse_if_expired(upload: ResumableUpload) -> None:
    """Raises UploadError (410) when the upload expired; one past its expiry that the sweep
    has not reached yet is expired now (its chunks deleted)."""
    if is_expired(upload):
        if upload.state != ResumableUpload.State.EXPIRED:
            _expire(upload.pk, timezone.now())
        raise _gone(upload)


# ----------------------------------------------------------------------------------------------
# Creation


def resumable_upload_create(
    *,
    assessment: Assessment,
    indicator_code: str,
    filename: str,
    length: int,
    sha256: str,
    issued_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    acting_user: User,
) -> ResumableUpload:
    """Starts a resumable upload of one evidence file of ``length`` bytes whose SHA-256 (hex)
    is ``sha256``, for the indicator coded ``indicator_code`` of ``assessment``.

    Raises PermissionDenied when the user may not upload evidence to the assessment now,
    ``UploadError`` (413) for a file over the size limit, ValidationError for the rest (name,
    type by extension, indicator, checksum, dates); nothing is stored then."""
    refusal = evidence_upload_refusal(assessment=assessment, user=acting_user)
    if refusal is not None:
        raise PermissionDenied(refusal)
    shown = clean_file_name(filename)
    if file_extension(shown) not in ALLOWED_EXTENSIONS:
        raise ValidationError(
            _("“%(name)s”: files of this type cannot be uploaded. Allowed: %(allowed)s.")
            % {"name": shown, "allowed": ", ".join(ALLOWED_EXTENSIONS)}
        )
    if length <= 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
    limit = max_bytes()
    if length > limit:
        raise UploadError(too_large_error(shown, limit).messages[0], code="too_large", status=413)
    indicator = Indicator.objects.filter(
        framework_id=assessment.campaign.framework_id, code=indicator_code
    ).first()
    if indicator is None:
        raise ValidationError(
            {
                "indicator": _("The campaign's framework has no indicator “%(code)s”.")
                % {"code": indicator_code}
            }
        )
    sha256 = sha256.strip().lower()
    if not _SHA256_HEX.match(sha256):
        raise ValidationError(
            {"sha256": _("Give the whole file's SHA-256 as 64 hexadecimal digits.")}
        )
    # The evidence's own rule about its dates, asked now rather than after the whole file.
    Evidence(issued_on=issued_on, valid_until=valid_until).clean()
    return ResumableUpload.objects.create(
        assessment=assessment,
        indicator=indicator,
        created_by=acting_user,
        filename=filename,
        length=length,
        sha256=sha256,
        issued_on=issued_on,
        valid_until=valid_until,
        expires_at=timezone.now() + upload_expiry(),
    )


# ----------------------------------------------------------------------------------------------
# Chunks


def _refuse_closed(upload: ResumableUpload, *, expire: bool = True) -> None:
    """Raises UploadError unless the upload still takes chunks; one past its expiry is expired
    now (unless ``expire`` is false: inside a transaction that the error rolls back)."""
    if not expire and is_expired(upload):
        raise _gone(upload)
    refuse_if_expired(upload)
    if upload.state == ResumableUpload.State.ASSEMBLING:
        raise UploadError(
            _("This upload is complete and its file is being checked; ask for its status."),
            code="upload_assembling",
            status=409,
        )
    if upload.state != ResumableUpload.State.RECEIVING:
        raise UploadError(
            _("This upload has ended (%(state)s); start a new upload to send the file again.")
            % {"state": upload.get_state_display()},
            code="upload_ended",
            status=409,
        )


def _offset_mismatch(current: int) -> UploadError:
    return UploadError(
        _("This chunk starts at the wrong offset: the upload has %(offset)s bytes.")
        % {"offset": current},
        code="offset_mismatch",
        status=409,
    )


def resumable_chunk_check(*, upload: ResumableUpload, offset: int, size: int) -> None:
    """Refuses, before its body is read, a chunk of ``size`` bytes at ``offset``: the upload
    ended or expired, another offset, too large, past the declared length."""
    _refuse_closed(upload)
    if offset != upload.offset:
        raise _offset_mismatch(upload.offset)
    limit = chunk_max_bytes()
    if size > limit:
        raise UploadError(
            _("A chunk may hold at most %(limit)s bytes; this one declares %(size)s.")
            % {"limit": limit, "size": size},
            code="too_large",
            status=413,
        )
    if offset + size > upload.length:
        raise UploadError(
            _("This chunk ends after the %(length)s bytes the upload declared.")
            % {"length": upload.length},
            code="beyond_length",
            status=400,
        )


def _receive(read: Callable[[int], bytes], size: int, into: IO[bytes]) -> str:
    """Copies ``size`` bytes from ``read`` into ``into``, hashing them; raises UploadError when
    fewer arrive (the client went away) or reading fails."""
    hasher = hashlib.sha256()
    left = size
    try:
        while left > 0:
            data = read(min(READ_BYTES, left))
            if not data:
                break
            hasher.update(data)
            into.write(data)
            left -= len(data)
    except OSError:
        left = max(left, 1)
    if left > 0:
        raise UploadError(
            _("The chunk arrived incomplete and was discarded: send it again."),
            code="incomplete_chunk",
            status=400,
        )
    return hasher.hexdigest()


def resumable_chunk_receive(
    *,
    upload: ResumableUpload,
    offset: int,
    size: int,
    checksum: bytes,
    read: Callable[[int], bytes],
    acting_user: User,
) -> ResumableUpload:
    """Receives one chunk of ``size`` bytes starting at ``offset``, read from ``read`` (a
    request's ``read``), whose SHA-256 must be ``checksum`` (the raw digest), and stores it.
    When it completes the file, assembles it and hands it to ``evidence_upload``.

    Of two chunks sent at once at the same offset exactly one is kept; the other is refused
    (409, ``offset_mismatch``). Raises UploadError (nothing kept, the offset unchanged) for a
    chunk refused by ``resumable_chunk_check``, cut off, or with another checksum (460); and,
    for the last chunk, UploadError, ValidationError or PermissionDenied when the file is
    refused (the upload has failed then, its chunks deleted). Returns the upload as it is now.
    """
    resumable_chunk_check(upload=upload, offset=offset, size=size)
    storage = _storage()
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        digest = _receive(read, size, spool)
        if digest != checksum.hex():
            raise UploadError(
                _("The chunk's SHA-256 is not the one sent in Upload-Checksum; it was discarded."),
                code="checksum_mismatch",
                status=460,
            )
        if size > 0:
            spool.seek(0)
            stored = storage.save(
                f"{PREFIX}/{upload.pk}/{offset:020d}-{secrets.token_hex(4)}", File(spool)
            )
            try:
                _chunk_record(upload.pk, offset, size, digest, stored)
            except BaseException:
                _delete_quietly(storage, stored)
                _remove_folder(storage, upload.pk)
                raise
    upload = _current(upload.pk)
    if upload.state == ResumableUpload.State.RECEIVING and upload.offset == upload.length:
        _finish(upload, acting_user)
        upload = _current(upload.pk)
    return upload


def _current(upload_id: uuid.UUID) -> ResumableUpload:
    """The upload as it is now; Http404 once deleted (ended by its creator meanwhile)."""
    upload = (
        ResumableUpload.objects.select_related("assessment", "indicator")
        .filter(pk=upload_id)
        .first()
    )
    if upload is None:
        raise Http404
    return upload


@transaction.atomic
def _chunk_record(upload_id: uuid.UUID, offset: int, size: int, digest: str, stored: str) -> None:
    current = ResumableUpload.objects.select_for_update().filter(pk=upload_id).first()
    if current is None:
        raise Http404  # ended (DELETE) while this chunk was arriving
    # Another chunk may have been kept, or the upload ended, while this one was arriving.
    _refuse_closed(current, expire=False)
    if current.offset != offset:
        raise _offset_mismatch(current.offset)
    now = timezone.now()
    # Conditional as well as locked: where the database does not lock rows (SQLite), the
    # update of one of two chunks at the same offset finds nothing to change.
    moved = ResumableUpload.objects.filter(
        pk=upload_id, offset=offset, state=ResumableUpload.State.RECEIVING
    ).update(offset=offset + size, expires_at=now + upload_expiry(), updated_at=now)
    if moved != 1:
        raise _offset_mismatch(current.offset)
    ResumableUploadChunk.objects.create(
        upload_id=upload_id, offset=offset, size=size, sha256=digest, stored_name=stored
    )


# ----------------------------------------------------------------------------------------------
# The whole file


def _finish(upload: ResumableUpload, acting_user: User) -> None:
    """Assembles a complete upload and stores it as evidence (see the module)."""
    claimed = ResumableUpload.objects.filter(
        pk=upload.pk, state=ResumableUpload.State.RECEIVING, offset=F("length")
    ).update(
        state=ResumableUpload.State.ASSEMBLING,
        expires_at=timezone.now() + upload_expiry(),
        updated_at=timezone.now(),
    )
    if claimed != 1:
        return  # another request finishes it
    storage = _storage()
    chunks = list(ResumableUploadChunk.objects.filter(upload_id=upload.pk).order_by("offset"))
    file = EvidenceUploadedFile(upload.filename, "application/octet-stream", None, None)
    try:
        try:
            whole = _assemble(storage, chunks, upload.length, file)
        except (OSError, ValueError) as error:
            logger.warning("assembling upload %s failed: %s", upload.pk, error)
            raise UploadError(
                _("The upload's chunks could not be read back; send the file again."),
                code="assembly_failed",
                status=400,
            ) from error
        if whole != upload.sha256:
            raise UploadError(
                _(
                    "“%(name)s”: the file received has the SHA-256 %(received)s, not the "
                    "%(declared)s declared when the upload was created; it was discarded."
                )
                % {"name": upload.filename, "received": whole, "declared": upload.sha256},
                code="checksum_mismatch",
                status=400,
            )
        file.size = upload.length
        file.evidence_sha256 = whole
        file.seek(0)
        evidence = evidence_upload(
            assessment=upload.assessment,
            indicator=upload.indicator,
            upload=file,
            issued_on=upload.issued_on,
            valid_until=upload.valid_until,
            acting_user=acting_user,
            name=upload.filename,
        )
    except UploadError as error:
        _end(upload.pk, ResumableUpload.State.FAILED, error.message)
        raise
    except ValidationError as error:
        _end(upload.pk, ResumableUpload.State.FAILED, " ".join(error.messages))
        raise
    except PermissionDenied as error:
        _end(upload.pk, ResumableUpload.State.FAILED, str(error))
        raise
    except BaseException:
        # Storage or database trouble: the chunks stay, and a PATCH with an empty body at the
        # end of the file finishes it again.
        ResumableUpload.objects.filter(pk=upload.pk, state=ResumableUpload.State.ASSEMBLING).update(
            state=ResumableUpload.State.RECEIVING, updated_at=timezone.now()
        )
        raise
    finally:
        file.close()
    _end(upload.pk, ResumableUpload.State.COMPLETE, "", evidence=evidence)


def _assemble(
    storage: Storage, chunks: list[ResumableUploadChunk], length: int, into: IO[bytes]
) -> str:
    """Streams the chunks, in order, into ``into``, checking each against its SHA-256; returns
    the whole file's SHA-256. Raises ValueError when they do not make up the file."""
    whole = hashlib.sha256()
    expected = 0
    for chunk in chunks:
        if chunk.offset != expected:
            raise ValueError(f"chunk at {chunk.offset}, expected {expected}")
        part = hashlib.sha256()
        size = 0
        stream = storage_stream(storage, chunk.stored_name)
        try:
            while data := stream.read(READ_BYTES):
                part.update(data)
                whole.update(data)
                into.write(data)
                size += len(data)
        finally:
            stream.close()
        if size != chunk.size or part.hexdigest() != chunk.sha256:
            raise ValueError(f"stored chunk at {chunk.offset} changed")
        expected += size
    if expected != length:
        raise ValueError(f"{expected} bytes stored of {length}")
    into.flush()
    return whole.hexdigest()


def _end(
    upload_id: uuid.UUID,
    state: ResumableUpload.State,
    error: str,
    evidence: Evidence | None = None,
) -> None:
    """Records how the upload ended and deletes its chunks (rows now, objects after)."""
    with transaction.atomic():
        ResumableUpload.objects.filter(pk=upload_id).update(
            state=state, error=error[:1000], evidence=evidence, updated_at=timezone.now()
        )
        ResumableUploadChunk.objects.filter(upload_id=upload_id).delete()
    _delete_objects(upload_id)


def _delete_quietly(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception:
        logger.exception("deleting the upload chunk %s failed", name)


def _delete_objects(upload_id: uuid.UUID) -> None:
    """Deletes every stored object of the upload, whatever the rows say (a chunk kept by no
    row, stored while the upload ended, included). Logs, never raises: the expiry sweep tries
    again for the rows it deletes."""
    storage = _storage()
    folder = f"{PREFIX}/{upload_id}"
    try:
        _, names = storage.listdir(folder)
    except FileNotFoundError:
        return
    except Exception:
        logger.exception("listing the chunks of upload %s failed", upload_id)
        return
    for name in names:
        _delete_quietly(storage, f"{folder}/{name}")
    _remove_folder(storage, upload_id)


def _remove_folder(storage: Storage, upload_id: uuid.UUID) -> None:
    """Removes the upload's folder once empty: the file system keeps empty folders; object
    stores have none."""
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(storage.path(f"{PREFIX}/{upload_id}"))


def chunk_names(upload_id: uuid.UUID) -> list[str]:
    """The names of the objects stored for the upload now."""
    folder = f"{PREFIX}/{upload_id}"
    try:
        _, names = _storage().listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(f"{folder}/{name}" for name in names)


# ----------------------------------------------------------------------------------------------
# Termination and expiry


def resumable_upload_terminate(*, upload: ResumableUpload, acting_user: User) -> None:
    """Ends the upload (tus termination): its chunks and its row are deleted. An evidence file
    it already made stays. Raises UploadError (409) while the file is being assembled."""
    if upload.created_by_id != acting_user.pk:
        raise Http404
    deleted, _counts = (
        ResumableUpload.objects.filter(pk=upload.pk)
        .exclude(state=ResumableUpload.State.ASSEMBLING)
        .delete()
    )
    if not deleted and ResumableUpload.objects.filter(pk=upload.pk).exists():
        raise UploadError(
            _("This upload is complete and its file is being checked; ask for its status."),
            code="upload_assembling",
            status=409,
        )
    _delete_objects(upload.pk)


def _expire(upload_id: uuid.UUID, now: datetime.datetime) -> bool:
    expired = ResumableUpload.objects.filter(
        pk=upload_id, state__in=_OPEN, expires_at__lte=now
    ).update(
        state=ResumableUpload.State.EXPIRED,
        error=_("No chunk arrived before the upload expired."),
        updated_at=now,
    )
    if expired != 1:
        return False
    ResumableUploadChunk.objects.filter(upload_id=upload_id).delete()
    _delete_objects(upload_id)
    return True


def resumable_uploads_expire(now: datetime.datetime | None = None) -> int:
    """Expires the uploads that received no good chunk within ``RESUMABLE_UPLOAD_EXPIRY``
    (their chunks are deleted from storage; they answer 410 from now on) and deletes the rows
    of uploads that ended more than ``KEEP_ENDED`` ago. Returns how many expired now.

    Safe to run twice or concurrently with chunks arriving: a chunk kept just before is kept
    (its upload's expiry moved), one arriving just after is refused."""
    now = now or timezone.now()
    due = list(
        ResumableUpload.objects.filter(state__in=_OPEN, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:1000]
    )
    count = sum(1 for upload_id in due if _expire(upload_id, now))
    ended = list(
        ResumableUpload.objects.exclude(state__in=_OPEN)
        .filter(updated_at__lt=now - KEEP_ENDED)
        .values_list("pk", flat=True)[:1000]
    )
    for upload_id in ended:
        _delete_objects(upload_id)
    ResumableUpload.objects.filter(pk__in=ended).delete()
    return count
