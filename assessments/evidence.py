"""Evidence files: upload validation, streaming into storage, versions, deletion, expiry.

A file is never read whole into memory. Over HTTP, ``EvidenceUploadHandler`` writes each chunk
to a temporary file as it arrives, hashing and counting it on the way and stopping the upload as
soon as ``settings.EVIDENCE_MAX_BYTES`` is exceeded; ``evidence_upload`` then checks the type by
content (the first 64 KiB, and for ZIP files the central directory), and hands the file to the
FileField's storage, which moves it (local disk) or streams it in parts (S3 via django-storages).

Once an assessment has been submitted its evidence is never deleted or replaced: uploading a file
of the same name adds a version that points to the one it supersedes.
"""

from __future__ import annotations

import codecs
import datetime
import hashlib
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from audit.services import audit_record
from indicators.models import Indicator

from .models import Assessment, Campaign, Evidence

# Content sniffing reads at most this much from the start of a file.
HEAD_BYTES = 64 * 1024
# Room for the multipart boundaries, part headers and the date fields around the file itself.
MULTIPART_SLACK = 64 * 1024
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class Kind:
    """A kind of file evidence may be, recognised by its content."""

    label: Promise
    content_type: str
    extensions: tuple[str, ...]
    previewable: bool = False


KINDS: dict[str, Kind] = {
    "pdf": Kind(gettext_lazy("a PDF document"), "application/pdf", (".pdf",), previewable=True),
    "docx": Kind(
        gettext_lazy("a Word document"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    "xlsx": Kind(
        gettext_lazy("an Excel workbook"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
    ),
    "pptx": Kind(
        gettext_lazy("a PowerPoint presentation"),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
    ),
    "doc": Kind(gettext_lazy("a Word 97–2003 document"), "application/msword", (".doc",)),
    "xls": Kind(gettext_lazy("an Excel 97–2003 workbook"), "application/vnd.ms-excel", (".xls",)),
    "ppt": Kind(
        gettext_lazy("a PowerPoint 97–2003 presentation"),
        "application/vnd.ms-powerpoint",
        (".ppt",),
    ),
    "png": Kind(gettext_lazy("a PNG image"), "image/png", (".png",), previewable=True),
    "jpeg": Kind(gettext_lazy("a JPEG image"), "image/jpeg", (".jpg", ".jpeg"), previewable=True),
    "gif": Kind(gettext_lazy("a GIF image"), "image/gif", (".gif",), previewable=True),
    "webp": Kind(gettext_lazy("a WebP image"), "image/webp", (".webp",), previewable=True),
    "text": Kind(gettext_lazy("plain text"), "text/plain", (".txt", ".csv")),
    "zip": Kind(gettext_lazy("a ZIP archive"), "application/zip", (".zip",)),
    # Recognised but never accepted: named so that the error says what the file really is.
    "ooxml": Kind(gettext_lazy("another Office Open XML file"), "application/zip", ()),
    "ole": Kind(gettext_lazy("another OLE2 compound file"), "application/x-ole-storage", ()),
}
# Office Open XML files are ZIP archives too: a .zip may hold one.
_ALSO_ACCEPTED = {".zip": {"docx", "xlsx", "pptx", "ooxml"}}
EXTENSION_KIND = {ext: key for key, kind in KINDS.items() for ext in kind.extensions}
PREVIEWABLE_TYPES = frozenset(k.content_type for k in KINDS.values() if k.previewable)
ALLOWED_EXTENSIONS = tuple(EXTENSION_KIND)


def max_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_BYTES", 2 * 1024**3))


# ----------------------------------------------------------------------------------------------
# Upload handler: hash, count and stop as the bytes arrive


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file into a temporary file, computing its SHA-256 and size on the
    way, and stops the upload the moment a file grows past ``EVIDENCE_MAX_BYTES``.

    After parsing, ``too_large`` says whether it stopped; the completed file carries
    ``evidence_sha256`` and ``client_name`` (the name as sent, before Django shortens names
    over 255 characters, so that the service can refuse them with a clear message).
    """

    chunk_size = 256 * 1024

    def __init__(self, request: Any = None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = limit if limit is not None else max_bytes()
        self.too_large = False
        self.client_name = ""
        self._hasher = hashlib.sha256()
        self._received = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.client_name = file_name
        self._hasher = hashlib.sha256()
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._received += len(raw_data)
        if self._received > self.limit:
            self.too_large = True
            # The parser closes (and so deletes) the temporary file. It then drains what is
            # left of the body, which the view has bounded by checking Content-Length first,
            # so that the browser reads our answer instead of a reset connection.
            raise StopUpload(connection_reset=False)
        self._hasher.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        upload = super().file_complete(file_size)
        upload.evidence_sha256 = self._hasher.hexdigest()  # type: ignore[attr-defined]
        upload.client_name = self.client_name  # type: ignore[attr-defined]
        return upload


# ----------------------------------------------------------------------------------------------
# Names


def clean_file_name(name: str) -> str:
    """The name to show for an upload: NFC-normalised and checked. Raises ValidationError."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise ValidationError(_("The file has no name."))
    shown = name if len(name) <= 80 else f"{name[:60]}…{name[-12:]}"
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            _(
                "The file name “%(name)s” is %(length)s characters long; "
                "shorten it to %(max)s characters or fewer."
            )
            % {"name": shown, "length": len(name), "max": MAX_NAME_LENGTH}
        )
    if "/" in name or "\\" in name:
        raise ValidationError(
            _("The file name “%(name)s” contains a path separator (/ or \\); rename the file.")
            % {"name": shown}
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise ValidationError(
            _("The file name “%(name)s” contains control characters; rename the file.")
            % {"name": shown.encode("unicode_escape").decode("ascii")}
        )
    if ".." in name:
        raise ValidationError(
            _("The file name “%(name)s” contains “..”; rename the file.") % {"name": shown}
        )
    return name


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


# ----------------------------------------------------------------------------------------------
# Content sniffing


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def detect_kind(handle: IO[bytes]) -> str | None:
    """The key in ``KINDS`` that the content of ``handle`` shows, or None when it is none of
    them. Reads the first 64 KiB and, for ZIP and OLE2 files, their directories; never the
    whole file. Leaves the position at the start."""
    try:
        handle.seek(0)
        head = handle.read(HEAD_BYTES)
        at_end = len(head) < HEAD_BYTES or not handle.read(1)
        kind = _detect(handle, head, at_end)
    finally:
        handle.seek(0)
    return kind


def _detect(handle: IO[bytes], head: bytes, at_end: bool) -> str | None:
    # PDF readers accept the header anywhere in the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(_OLE2):
        return _ole2_kind(handle)
    if head[:4] in _ZIP_SIGNATURES:
        return _zip_kind(handle)
    if _is_text(head, at_end):
        return "text"
    return None


def _text_encoding(head: bytes, at_end: bool) -> str | None:
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            text = decoder.decode(head, final=at_end)
        except UnicodeDecodeError:
            continue
        # Text has line breaks and tabs, not other control characters.
        if any(ord(c) < 32 and c not in "\t\n\r\f\v\x1a" for c in text):
            return None
        return "utf-8" if encoding == "utf-8-sig" else encoding
    return None


def _is_text(head: bytes, at_end: bool) -> bool:
    return bool(head) and _text_encoding(head, at_end) is not None


def _zip_kind(handle: IO[bytes]) -> str | None:
    """Reads the ZIP central directory entry by entry (never the member data, never every
    entry at once) and tells an Office Open XML file from any other archive."""
    try:
        names = _zip_names(handle)
        has_types = False
        parts: set[str] = set()
        for name in names:
            top = name.split("/", 1)[0]
            if name == "[Content_Types].xml":
                has_types = True
            elif top in ("word", "xl", "ppt") and "/" in name:
                parts.add(top)
            if has_types and parts:
                break
    except (OSError, ValueError, struct.error):
        return None
    if has_types:
        return {"word": "docx", "xl": "xlsx", "ppt": "pptx"}.get(
            next(iter(parts)) if len(parts) == 1 else "", "ooxml"
        )
    return "zip"


def _zip_names(handle: IO[bytes]) -> Iterable[str]:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_start = max(0, size - (22 + 65535))
    handle.seek(tail_start)
    tail = handle.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        raise ValueError("no end of central directory")
    entries, cd_size, cd_offset = struct.unpack("<HII", tail[end + 10 : end + 20])
    if entries == 0xFFFF or cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        locator = tail[end - 20 : end] if end >= 20 else b""
        if locator[:4] != b"PK\x06\x07":
            raise ValueError("no ZIP64 locator")
        (zip64_end,) = struct.unpack("<Q", locator[8:16])
        handle.seek(zip64_end)
        record = handle.read(56)
        if record[:4] != b"PK\x06\x06":
            raise ValueError("no ZIP64 end of central directory")
        entries, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
    if cd_offset + cd_size > size:
        raise ValueError("central directory outside the file")
    handle.seek(cd_offset)
    for _index in range(entries):
        header = handle.read(46)
        if len(header) < 46 or header[:4] != b"PK\x01\x02":
            raise ValueError("damaged central directory")
        flags = struct.unpack("<H", header[8:10])[0]
        name_length, extra_length, comment_length = struct.unpack("<HHH", header[28:34])
        raw = handle.read(name_length)
        handle.seek(extra_length + comment_length, os.SEEK_CUR)
        yield raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


_OLE_STREAMS = {
    "WordDocument": "doc",
    "Workbook": "xls",
    "Book": "xls",
    "PowerPoint Document": "ppt",
}
_OLE_END = 0xFFFFFFFA  # sector numbers from here on are markers, not sectors


def _ole2_kind(handle: IO[bytes]) -> str:
    """Follows the compound file's directory chain to find the stream that names the
    application (WordDocument, Workbook, PowerPoint Document); "ole" when none does."""
    try:
        handle.seek(0)
        header = handle.read(512)
        (shift,) = struct.unpack("<H", header[30:32])
        if shift not in (9, 12):
            return "ole"
        sector_size = 1 << shift
        (first_directory,) = struct.unpack("<I", header[48:52])
        fat_sectors = [s for s in struct.unpack("<109I", header[76:512]) if s < _OLE_END]
        per_fat = sector_size // 4

        def read_sector(number: int) -> bytes:
            handle.seek((number + 1) * sector_size)
            return handle.read(sector_size)

        sector = first_directory
        for _step in range(4096):  # a bounded walk, whatever the file claims
            if sector >= _OLE_END:
                break
            data = read_sector(sector)
            for offset in range(0, len(data) - 127, 128):
                entry = data[offset : offset + 128]
                (length,) = struct.unpack("<H", entry[64:66])
                if 2 <= length <= 64:
                    name = entry[: length - 2].decode("utf-16-le", "replace")
                    if name in _OLE_STREAMS:
                        return _OLE_STREAMS[name]
            fat_index, position = divmod(sector, per_fat)
            if fat_index >= len(fat_sectors):
                break
            fat = read_sector(fat_sectors[fat_index])
            (sector,) = struct.unpack("<I", fat[position * 4 : position * 4 + 4])
    except (OSError, struct.error):
        return "ole"
    return "ole"


def _check_type(name: str, handle: IO[bytes]) -> tuple[str, str]:
    """The detected kind and the content type to record; ValidationError when the type is not
    allowed or the extension and the content disagree."""
    extension = _extension(name)
    expected = EXTENSION_KIND.get(extension)
    allowed = ", ".join(ALLOWED_EXTENSIONS)
    if expected is None:
        raise ValidationError(
            _("“%(name)s”: files of this type cannot be uploaded. Allowed: %(allowed)s.")
            % {"name": name, "allowed": allowed}
        )
    detected = detect_kind(handle)
    if detected is None:
        raise ValidationError(
            _(
                "“%(name)s”: the extension %(extension)s means %(expected)s, but the content is "
                "not a file type that can be uploaded."
            )
            % {"name": name, "extension": extension, "expected": KINDS[expected].label}
        )
    if detected != expected and detected not in _ALSO_ACCEPTED.get(extension, ()):
        raise ValidationError(
            _(
                "“%(name)s”: the extension %(extension)s means %(expected)s, but the content is "
                "%(detected)s."
            )
            % {
                "name": name,
                "extension": extension,
                "expected": KINDS[expected].label,
                "detected": KINDS[detected].label,
            }
        )
    content_type = KINDS[expected].content_type
    if expected == "text":
        handle.seek(0)
        head = handle.read(HEAD_BYTES)
        handle.seek(0)
        encoding = _text_encoding(head, at_end=True) or "utf-8"
        if extension == ".csv":
            content_type = "text/csv"
        content_type = f"{content_type}; charset={encoding}"
    return expected, content_type


# ----------------------------------------------------------------------------------------------
# Who may upload


def _is_cloud_vendor(user: User, assessment: Assessment) -> bool:
    return (
        user is not None
        and user.role == User.Role.VENDOR
        and user.organisation_id is not None
        and assessment.cloud.vendors.filter(pk=user.organisation_id).exists()
    )


def evidence_upload_refusal(*, assessment: Assessment, user: User) -> str | None:
    """Why ``user`` may not upload evidence to ``assessment`` now; None when it may.

    Views ask before reading a request body, so that a refused upload costs nothing."""
    if not _is_cloud_vendor(user, assessment):
        return _("Only the cloud's vendors upload its evidence.")
    if not assessment.vendor_can_edit:
        return _("The self-assessment was submitted; evidence can be added only if it is returned.")
    if assessment.campaign.state != Campaign.State.OPEN:
        return _("The campaign is not open for self-assessments.")
    return None


def _check_may_upload(user: User, assessment: Assessment) -> None:
    refusal = evidence_upload_refusal(assessment=assessment, user=user)
    if refusal is None:
        return
    if not _is_cloud_vendor(user, assessment):
        raise PermissionDenied(refusal)
    raise ValidationError(refusal)


# ----------------------------------------------------------------------------------------------
# Writes


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
            raise _too_large(name, limit)
        hasher.update(chunk)
    upload.seek(0)
    return size, hasher.hexdigest()


def _too_large(name: str, limit: int) -> ValidationError:
    return ValidationError(
        _("“%(name)s” is larger than the limit of %(limit)s.")
        % {"name": name, "limit": filesizeformat(limit)}
    )


def too_large_error(name: str) -> ValidationError:
    """The error for a file the upload handler stopped receiving."""
    return _too_large(name or _("The file"), max_bytes())


def _stored_name(extension: str) -> str:
    # Nothing of the user's name reaches the storage but the checked extension.
    return f"{secrets.token_hex(16)}{extension}"


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
        _check_may_upload(acting_user, assessment)
        if indicator.framework_id != assessment.campaign.framework_id:
            raise ValidationError(_("This indicator is not in the campaign's framework."))
        shown = clean_file_name(name if name is not None else _client_name(upload))
        limit = max_bytes()
        if upload.size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        if upload.size is not None and upload.size > limit:
            raise _too_large(shown, limit)
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
        )
        evidence.full_clean(exclude=["file", "size", "sha256", "content_type", "replaces"])
        _kind, content_type = _check_type(shown, upload)
        size, digest = _size_and_digest(upload, shown, limit)
        if size == 0:
            raise ValidationError(_("“%(name)s” is empty.") % {"name": shown})
        evidence.size = size
        evidence.sha256 = digest
        evidence.content_type = content_type
        # The slow part (moving or streaming the file into storage) happens outside the
        # transaction; the row is written under a lock on the assessment afterwards.
        upload.seek(0)
        evidence.file.save(_stored_name(_extension(shown)), upload, save=False)
        stored = evidence.file.name
        return _evidence_record(evidence=evidence, acting_user=acting_user)
    except BaseException:
        if stored:
            storage.delete(stored)
        upload.close()
        raise


def _client_name(upload: UploadedFile) -> str:
    return getattr(upload, "client_name", None) or upload.name or ""


@transaction.atomic
def _evidence_record(*, evidence: Evidence, acting_user: User) -> Evidence:
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("campaign", "cloud")
        .get(pk=evidence.assessment_id)
    )
    # The state may have changed while the file was being stored.
    _check_may_upload(acting_user, assessment)
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
    evidence.full_clean()
    evidence.save()
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
        },
    )
    return evidence


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
    if not _is_cloud_vendor(acting_user, assessment):
        raise PermissionDenied(_("Only the cloud's vendors delete its evidence."))
    if assessment.submitted_at is not None:
        raise ValidationError(
            _(
                "“%(name)s” cannot be deleted: the self-assessment has been submitted and its "
                "evidence is kept. Upload a file of the same name to add a new version."
            )
            % {"name": evidence.original_name}
        )
    _check_may_upload(acting_user, assessment)
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
    transaction.on_commit(lambda: storage.delete(stored))


# ----------------------------------------------------------------------------------------------
# Reads


@dataclass
class EvidenceRow:
    """One evidence file as the list shows it."""

    evidence: Evidence
    superseded: bool
    expires_early: bool
    previewable: bool


def evidence_rows(
    *, evidence_files: Iterable[Evidence], reference_date: datetime.date | None
) -> list[EvidenceRow]:
    """The files of one indicator with what the list shows about each: whether a later version
    supersedes it, whether it stops being valid before the campaign's reference date, whether
    it can be previewed."""
    files = list(evidence_files)
    replaced = {e.replaces_id for e in files if e.replaces_id}
    return [
        EvidenceRow(
            evidence=e,
            superseded=e.pk in replaced,
            expires_early=reference_date is not None and e.expires_before(reference_date),
            previewable=is_previewable(e),
        )
        for e in files
    ]


def is_previewable(evidence: Evidence) -> bool:
    return evidence.content_type.split(";")[0].strip() in PREVIEWABLE_TYPES


def evidence_expiring(*, assessment: Assessment) -> list[Evidence]:
    """The current (not superseded) files of an assessment that stop being valid before the
    campaign's evidence reference date, in catalog order."""
    reference = assessment.campaign.evidence_reference_date
    files = list(
        Evidence.objects.filter(assessment=assessment).select_related("indicator__dimension")
    )
    replaced = {e.replaces_id for e in files if e.replaces_id}
    return sorted(
        (e for e in files if e.pk not in replaced and e.expires_before(reference)),
        key=lambda e: (e.indicator.dimension.order, e.indicator.order, e.original_name),
    )
