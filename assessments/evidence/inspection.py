"""What an evidence file holds, checked before it is accepted: archives that would hurt whoever
unpacks them, and PDFs that carry scripts or commands.

- **ZIP archives** (and the Office Open XML files that are ZIP archives) are judged by their
  central directory alone, never decompressed here: no more than ``MAX_MEMBERS`` entries; the
  unpacked size no more than twice the largest upload (``EXPANDED_FACTOR``); no entry, and not
  the whole, expanding more than ``MAX_RATIO`` times once it is larger than ``RATIO_FLOOR`` (a
  4 MB archive that unpacks to 4 GiB is a zip bomb, a 2 MB text file that unpacks to 20 MB is
  not). Plain archives (``.zip``) also may not hold absolute names, ``..`` segments, control
  characters in names, symbolic links, encrypted entries, or archives inside them (which could
  not be inspected without unpacking them).
- **PDF documents** may not hold JavaScript or launch actions: the names that make them
  (``/JavaScript``, the type of every script action and of the document's script tree;
  ``/Launch``; ``/JS`` beside ``/Rendition``, a rendition that runs a script) are looked for
  outside the streams' data, hex escapes (``/J#61vaScript``) decoded, and in the compressed
  object streams (``/ObjStm``) that could hide them, inflated up to ``OBJECT_STREAM_BUDGET``
  bytes each. Short names are not looked for alone: in a file of random bytes (a scan saved
  without structure) a three-byte ``/JS`` turns up by chance every 20 MB or so. A "PDF" whose
  first kilobyte holds HTML markup is refused too.

Each check raises ValidationError naming the file and the problem. What is not checked: the
sizes a ZIP central directory states are taken as they are (a local header may claim others);
the evidence is never opened by the server, and the reader's unpacker meets those.
"""

from __future__ import annotations

import mmap
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .sniffing import ZIP_READ_BUDGET, BudgetedReader, file_extension, size_of
from .uploads import max_bytes

MAX_MEMBERS = 10_000
EXPANDED_FACTOR = 2
MAX_RATIO = 100
RATIO_FLOOR = 64 * 1024 * 1024
NESTED_ARCHIVES = frozenset(
    {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".cab", ".jar", ".iso"}
)
OBJECT_STREAM_BUDGET = 16 * 1024 * 1024
ACTIVE_NAMES = {b"JavaScript": "JavaScript", b"Launch": "launch"}
_HTML_MARKUP = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|script|iframe|svg)\b", re.I)


# ----------------------------------------------------------------------------------------------
# Archives


def inspect_archive(name: str, handle: IO[bytes], *, plain: bool) -> None:
    """Refuses a ZIP archive that is a bomb (see the module), and when ``plain`` (a ``.zip``
    rather than an Office file) one whose entries are unsafe to unpack. Leaves the position of
    ``handle`` at the start."""
    try:
        handle.seek(0)
        archive_size = size_of(handle)
        try:
            with zipfile.ZipFile(BudgetedReader(handle, ZIP_READ_BUDGET)) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            # The kind check read this directory already: one that fails now is not accepted.
            raise ValidationError(
                _("“%(name)s”: the archive is damaged and cannot be checked.") % {"name": name}
            ) from None
    finally:
        handle.seek(0)
    if len(entries) > MAX_MEMBERS:
        raise ValidationError(
            _("“%(name)s” holds %(count)s files; an archive may hold at most %(max)s.")
            % {"name": name, "count": len(entries), "max": MAX_MEMBERS}
        )
    _refuse_bombs(name, entries, archive_size)
    if plain:
        for entry in entries:
            _refuse_entry(name, entry)


def _bomb_error(name: str, packed: int, unpacked: int) -> ValidationError:
    return ValidationError(
        _(
            "“%(name)s” unpacks from %(packed)s to %(unpacked)s: an archive that expands this "
            "much is refused (a “zip bomb”). Upload the files it holds instead."
        )
        % {
            "name": name,
            "packed": filesizeformat(packed),
            "unpacked": filesizeformat(unpacked),
        }
    )


def _refuse_bombs(name: str, entries: list[zipfile.ZipInfo], archive_size: int) -> None:
    total = sum(entry.file_size for entry in entries)
    limit = EXPANDED_FACTOR * max_bytes()
    if total > limit:
        raise ValidationError(
            _("“%(name)s” unpacks to %(unpacked)s, more than the %(limit)s an archive may hold.")
            % {"name": name, "unpacked": filesizeformat(total), "limit": filesizeformat(limit)}
        )
    if total > RATIO_FLOOR and total > MAX_RATIO * max(archive_size, 1):
        raise _bomb_error(name, archive_size, total)
    for entry in entries:
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise _bomb_error(name, entry.compress_size, entry.file_size)


def _refuse_entry(name: str, entry: zipfile.ZipInfo) -> None:
    member = entry.filename
    shown = member.encode("unicode_escape").decode("ascii") if _has_controls(member) else member

    def refuse(problem: str) -> ValidationError:
        return ValidationError(
            _("“%(name)s” cannot be accepted: its entry “%(entry)s” %(problem)s.")
            % {"name": name, "entry": shown, "problem": problem}
        )

    path = member.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise refuse(_("has an absolute path"))
    if ".." in path.split("/"):
        raise refuse(_("leads out of the folder it is unpacked into (“..”)"))
    if _has_controls(member):
        raise refuse(_("has control characters in its name"))
    if entry.create_system == 3 and stat.S_ISLNK(entry.external_attr >> 16):
        raise refuse(_("is a symbolic link"))
    if entry.flag_bits & 0x1:
        raise refuse(_("is encrypted, so it cannot be read by the assessors"))
    if not entry.is_dir() and file_extension(path) in NESTED_ARCHIVES:
        raise refuse(_("is an archive inside the archive; upload it on its own"))


def _has_controls(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


# ----------------------------------------------------------------------------------------------
# PDF


def inspect_pdf(name: str, handle: IO[bytes]) -> None:
    """Refuses a PDF that holds JavaScript or a launch action, or HTML markup in its first
    kilobyte. Reads the whole file (mapped, not loaded, when it has a file descriptor). Leaves
    the position of ``handle`` at the start."""
    handle.seek(0)
    try:
        with _contents(handle) as data:
            if _HTML_MARKUP.search(data[:1024]):
                raise ValidationError(
                    _("“%(name)s” is not a PDF document: it holds HTML markup.") % {"name": name}
                )
            found = _active_content(data)
    finally:
        handle.seek(0)
    if found:
        raise ValidationError(
            _(
                "“%(name)s” holds %(what)s, which evidence may not: save or print it to PDF "
                "again without scripts and actions."
            )
            % {
                "name": name,
                "what": _("JavaScript") if found == "JavaScript" else _("a launch action"),
            }
        )


class _contents:
    """The bytes of a file: a read-only memory map of it when it has a file descriptor (an
    upload's temporary file), else what it reads to."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._map: mmap.mmap | None = None

    def __enter__(self) -> bytes | mmap.mmap:
        try:
            fileno = self._handle.fileno()
        except (AttributeError, OSError, ValueError):
            return self._handle.read()
        if size_of(self._handle) == 0:
            return b""
        self._map = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
        return self._map

    def __exit__(self, *exc: object) -> None:
        if self._map is not None:
            self._map.close()


# A PDF name: a slash and regular characters, ``#xx`` standing for a byte.
_NAME = re.compile(rb"/([A-Za-z0-9#._+-]{2,40})")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb">>\s*stream\r?\n")


def _active_content(data: bytes | mmap.mmap) -> str | None:
    names: set[bytes] = set()
    for part in _dictionaries(data):
        for match in _NAME.finditer(part):
            raw = match.group(1)
            if b"#" in raw:
                raw = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
            if raw in ACTIVE_NAMES:
                return ACTIVE_NAMES[raw]
            if raw in (b"JS", b"Rendition"):
                names.add(raw)
    return "JavaScript" if names == {b"JS", b"Rendition"} else None


def _dictionaries(data: bytes | mmap.mmap) -> Iterator[bytes]:
    """The file without its streams' data (where actions cannot be, and where compressed bytes
    would match short names like ``/JS`` by chance), plus the inflated data of each compressed
    object stream (``/Type /ObjStm``), where objects, actions included, may be stored."""
    position = 0
    while True:
        start = _STREAM_START.search(data, position)
        if start is None:
            yield bytes(data[position:])
            return
        yield bytes(data[position : start.end()])
        end = data.find(b"endstream", start.end())
        if end < 0:
            return
        header = bytes(data[max(position, start.start() - 4096) : start.start()])
        header = header[header.rfind(b"obj") + 1 :] if b"obj" in header else header
        if b"/ObjStm" in header and b"/FlateDecode" in header:
            body = bytes(data[start.end() : min(end, start.end() + OBJECT_STREAM_BUDGET)])
            yield _inflated(body)
        position = end


def _inflated(body: bytes) -> bytes:
    """The data of a Flate stream, at most ``OBJECT_STREAM_BUDGET`` bytes of it; a damaged
    stream gives what it inflates to before the damage (a reader may use that much too)."""
    inflater = zlib.decompressobj()
    out: list[bytes] = []
    left = OBJECT_STREAM_BUDGET
    for at in range(0, len(body), 64 * 1024):
        try:
            piece = inflater.decompress(body[at : at + 64 * 1024], left)
        except zlib.error:
            break
        out.append(piece)
        left -= len(piece)
        if left <= 0 or inflater.eof:
            break
    return b"".join(out)


# ----------------------------------------------------------------------------------------------
# Any file


def inspect_content(name: str, handle: IO[bytes], kind: str) -> None:
    """The checks of this module that apply to a file of ``kind`` (a key of
    ``sniffing.KINDS``, as ``check_type`` returned it)."""
    if kind == "pdf":
        inspect_pdf(name, handle)
    elif kind in ("zip", "docx", "xlsx", "pptx"):
        inspect_archive(name, handle, plain=kind == "zip")
