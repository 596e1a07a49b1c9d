"""What kind of file an evidence upload is, judged by its content, and whether that matches the
extension of its name.

Pure functions of a binary file handle (and a name): no database, no settings. A handle is never
read whole: only its first 64 KiB and, for ZIP and OLE2 compound files, their directories, each
within a fixed budget of bytes (see ``BudgetedReader``).
"""

from __future__ import annotations

import codecs
import os
import zipfile
from dataclasses import dataclass
from typing import IO, cast

import olefile
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Content sniffing reads at most this much from the start of a file.
HEAD_BYTES = 64 * 1024

# zipfile reads the whole central directory into memory and makes a ZipInfo of each entry, about
# 600 bytes apiece: measured here, 8 MiB of directory (85,000 entries) takes 0.6 s and 50 MiB for
# the moment of the check. Office files list a few dozen parts; an archive with a larger directory
# is not recognised rather than let one upload take hundreds of megabytes. The extra 128 KiB is
# for finding the end record, which may follow a comment of up to 64 KiB.
ZIP_READ_BUDGET = 8 * 1024 * 1024 + 128 * 1024

# olefile reads the 512-byte header, the whole FAT (4 bytes per sector: 1/128 of the file with
# 512-byte sectors, 1/1024 with 4 KiB ones) and the whole directory (128 bytes per entry) into
# memory, and no stream's data. It builds the FAT by concatenating arrays, quadratic in its length
# (decalage2/olefile#176): measured here, 0.5 s for a 500 MiB file, 13 s for 2 GiB; and a hostile
# FAT or DIFAT chain can make it re-read the same sectors without end, from a 2 KiB file. So it
# may read about twice what a genuine file of the same size needs (1 MiB for the directory, plus
# 1/64 of the size) and never more than 4 MiB: Word, Excel and PowerPoint 97–2003 files up to
# about 500 MiB are recognised in under a second and ~8 MiB of memory; beyond, or past the budget,
# the file counts as "another OLE2 compound file".
OLE_READ_BASE = 1024 * 1024
OLE_READ_CAP = 4 * 1024 * 1024


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


def file_extension(name: str) -> str:
    """The extension of ``name``, lower case, with its dot (``".pdf"``); "" when it has none."""
    return os.path.splitext(name)[1].lower()


# ----------------------------------------------------------------------------------------------
# Detection


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def detect_kind(handle: IO[bytes]) -> str | None:
    """The key in ``KINDS`` that the content of ``handle`` shows, or None when it is none of
    them (a damaged ZIP file included). Reads the first 64 KiB and, for ZIP and OLE2 files,
    their directories; never the whole file, never a ZIP member's data. Leaves the position at
    the start."""
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
    """The encoding ``head`` (the start of a file) decodes in as text, UTF-8 or GB 18030; None
    when it is not text. ``at_end`` says whether ``head`` is the whole file, so that a
    character cut at its end counts as an error."""
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


class _OverBudget(OSError):
    """A directory parser asked for more bytes than its budget."""


class BudgetedReader:
    """A read-only view of a binary handle that hands out at most ``budget`` bytes in all,
    re-reads of the same bytes included, and raises ``_OverBudget`` before reading (or letting
    the handle allocate) anything beyond it. Closing is left to the handle's owner."""

    def __init__(self, handle: IO[bytes], budget: int) -> None:
        self._handle = handle
        self._left = budget
        self.size = size_of(handle)

    @property
    def closed(self) -> bool:
        return bool(getattr(self._handle, "closed", False))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def read(self, size: int | None = -1) -> bytes:
        # A directory's size comes from the file itself: ask the handle for no more than is
        # there, so that a claimed size of terabytes is not allocated first.
        remaining = max(0, self.size - self._handle.tell())
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted > self._left:
            raise _OverBudget("the directory is larger than the read budget")
        data = self._handle.read(wanted)
        self._left -= len(data)
        return data


def size_of(handle: IO[bytes]) -> int:
    position = handle.tell()
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(position)
    return size


def _zip_kind(handle: IO[bytes]) -> str | None:
    """Lists the names in the ZIP central directory and tells an Office Open XML file from any
    other archive; None when the archive is damaged or its directory too large to read.

    Only the end record and the central directory are read: no member is ever decompressed,
    so a zip bomb costs no more than any archive with as many names."""
    try:
        # ZipFile leaves a file object it was given open; it needs only read, seek and tell.
        reader = BudgetedReader(handle, ZIP_READ_BUDGET)
        with zipfile.ZipFile(reader) as archive:
            names = archive.namelist()
    # BadZipFile for a damaged or truncated archive, UnicodeDecodeError (a ValueError) for a
    # name flagged UTF-8 that is not, OSError for one over the budget or unreadable.
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    has_types = False
    parts: set[str] = set()
    # In directory order, up to where both the content types entry and an Office part have
    # been seen: the Office parts seen so far decide (more than one: another OOXML file).
    for name in names:
        top = name.split("/", 1)[0]
        if name == "[Content_Types].xml":
            has_types = True
        elif top in ("word", "xl", "ppt") and "/" in name:
            parts.add(top)
        if has_types and parts:
            break
    if has_types:
        return {"word": "docx", "xl": "xlsx", "ppt": "pptx"}.get(
            next(iter(parts)) if len(parts) == 1 else "", "ooxml"
        )
    return "zip"


# The stream at the top of a compound file that names the application, in order of precedence.
# Only the top counts: a workbook may hold an embedded Word document in a storage of its own.
_OLE_STREAMS = {
    "WordDocument": "doc",
    "Workbook": "xls",
    "Book": "xls",  # Excel 5.0/95
    "PowerPoint Document": "ppt",
}


def _ole2_kind(handle: IO[bytes]) -> str:
    """Lists the streams at the top of the compound file with olefile and returns the kind that
    the application's stream (WordDocument, Workbook, PowerPoint Document) names; "ole" when
    there is none, or when the file is damaged, truncated or its directory too large to read.
    See ``OLE_READ_CAP`` for what olefile reads."""
    budget = min(OLE_READ_CAP, OLE_READ_BASE + size_of(handle) // 64)
    try:
        # OleFileIO leaves a file object it was given open. Its stubs ask for IO[bytes]; it uses
        # only read, seek and tell, which the reader provides.
        reader = cast(IO[bytes], BudgetedReader(handle, budget))
        with olefile.OleFileIO(reader) as ole:
            paths = ole.listdir(streams=True, storages=False)
        streams = {path[0] for path in paths if len(path) == 1}
    # olefile reports a damaged file with OleFileError (an OSError) when it notices, but a
    # hostile directory can also end in IndexError, RecursionError (a storage tree nested a
    # thousand deep), struct.error and more; to the person uploading they all mean the same.
    except Exception:
        return "ole"
    for name, kind in _OLE_STREAMS.items():
        if name in streams:
            return kind
    return "ole"


# ----------------------------------------------------------------------------------------------
# The name and the content together


def check_type(name: str, handle: IO[bytes]) -> tuple[str, str]:
    """The kind the file called ``name`` is and the content type to record for it.

    Raises ValidationError, naming the file, when the extension is not one that may be uploaded
    or when the content is not what the extension says (naming what it is, when known). Leaves
    the position of ``handle`` at the start."""
    extension = file_extension(name)
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
