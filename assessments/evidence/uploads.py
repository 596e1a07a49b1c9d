"""Receiving an evidence file over HTTP, and the limits every upload must meet (size, name).

A file is never read whole into memory. ``EvidenceUploadHandler`` writes each chunk to a
temporary file as it arrives, hashing and counting it on the way and stopping the upload as soon
as ``settings.EVIDENCE_MAX_BYTES`` is exceeded. ``services.evidence_upload`` then checks the rest.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Room for the multipart boundaries, part headers and the date fields around the file itself.
MULTIPART_SLACK = 64 * 1024
MAX_NAME_LENGTH = 255


def max_bytes() -> int:
    """The largest evidence file accepted, in bytes (``settings.EVIDENCE_MAX_BYTES``)."""
    return int(getattr(settings, "EVIDENCE_MAX_BYTES", 2 * 1024**3))


def too_large_error(name: str, limit: int | None = None) -> ValidationError:
    """The error for a file larger than ``limit`` (by default ``max_bytes()``), naming it, or
    "The file" when its name is not known (the request was refused before it was read)."""
    return ValidationError(
        _("“%(name)s” is larger than the limit of %(limit)s.")
        % {
            "name": name or _("The file"),
            "limit": filesizeformat(max_bytes() if limit is None else limit),
        }
    )


class EvidenceUploadedFile(TemporaryUploadedFile):
    """A file streamed to a temporary file by ``EvidenceUploadHandler``, with what it learnt on
    the way: ``evidence_sha256`` (set once complete) and ``client_name``, the name as sent."""

    def __init__(
        self,
        name: str,
        content_type: str | None,
        charset: str | None,
        content_type_extra: dict[str, bytes] | None,
    ) -> None:
        super().__init__(name, content_type, 0, charset, content_type_extra)
        # ``name`` is shortened by Django when over 255 characters; this is kept as sent.
        self.client_name = name
        self.evidence_sha256 = ""


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file into a temporary file, computing its SHA-256 and size on the
    way, and stops the upload the moment a file grows past ``EVIDENCE_MAX_BYTES``.

    After parsing, ``too_large`` says whether it stopped; the completed file carries
    ``evidence_sha256`` and ``client_name`` (the name as sent, before Django shortens names
    over 255 characters, so that the service can refuse them with a clear message).
    """

    chunk_size = 256 * 1024
    file: EvidenceUploadedFile

    def __init__(self, request: Any = None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = limit if limit is not None else max_bytes()
        self.too_large = False
        self.client_name = ""
        self._hasher = hashlib.sha256()
        self._received = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        # What TemporaryFileUploadHandler.new_file does, with our file class: calling it would
        # open a temporary file only to replace it.
        FileUploadHandler.new_file(self, field_name, file_name, *args, **kwargs)
        self.file = EvidenceUploadedFile(
            file_name, self.content_type, self.charset, self.content_type_extra
        )
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

    def file_complete(self, file_size: int) -> EvidenceUploadedFile:
        super().file_complete(file_size)  # rewinds ``self.file`` and records its size
        self.file.evidence_sha256 = self._hasher.hexdigest()
        return self.file


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
