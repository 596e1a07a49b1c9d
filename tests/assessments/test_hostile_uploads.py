"""A corpus of hostile evidence uploads: each is refused with a message naming the file and the
problem, and nothing is stored (no row, no file). Genuine files of the same kinds still pass."""

from __future__ import annotations

import io
import random
import stat
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from pytest_django import Settings

from accounts.models import User
from assessments.evidence.inspection import inspect_pdf
from assessments.models import Assessment, Evidence
from indicators.models import Indicator
from tests.assessments.evidence_files import PDF, ooxml, plain_zip
from tests.assessments.test_evidence import (  # noqa: F401 (fixtures)
    assert_refused,
    indicator,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english", "media")]
MIB = 1024 * 1024


def _zip(*members: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def _zeros_zip(name: str, mib: int) -> bytes:
    """An archive of ``mib`` MiB of zeros, written in pieces (never held whole)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(mib):
            member.write(bytes(MIB))
    return buffer.getvalue()


def _refused(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
    name: str,
    content: bytes,
    *fragments: str,
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        upload(assessment, indicator, vendor, name, content)
    assert_refused(media, excinfo, *fragments)


# ----------------------------------------------------------------------------------------------
# Archives


def test_a_zip_bomb_is_refused_with_both_sizes(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
) -> None:
    bomb = _zeros_zip("zeros.bin", 80)
    assert len(bomb) < MIB  # 80 MiB packed into well under 1 MiB
    sizes = "80.0\xa0MB"  # filesizeformat joins with a no-break space
    _refused(assessment, indicator, vendor, media, "材料.zip", bomb, "zip bomb", sizes)


def test_an_archive_unpacking_past_twice_the_upload_limit_is_refused(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
    settings: Settings,
) -> None:
    settings.EVIDENCE_MAX_BYTES = MIB
    archive = _zeros_zip("log.txt", 3)
    unpacked, limit = "unpacks to 3.0\xa0MB", "2.0\xa0MB"
    _refused(assessment, indicator, vendor, media, "logs.zip", archive, unpacked, limit)


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _flag_encrypted(archive: bytes, member: str) -> bytes:
    """``archive`` with ``member`` marked encrypted (bit 0 of its flags, in the local header and
    the central directory): zipfile writes no encrypted entries itself."""
    data = bytearray(archive)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        name_at = {b"PK\x03\x04": 30, b"PK\x01\x02": 46}[signature]
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at : at + name_at + len(member)] == member.encode():
                data[at + flags_at] |= 0x1
            at = data.find(signature, at + 4)
    return bytes(data)


@pytest.mark.parametrize(
    ("member", "data", "problem"),
    [
        ("../../etc/cron.d/job", b"x", "leads out of the folder"),
        ("evidence/../../outside.txt", b"x", "leads out of the folder"),
        ("/etc/passwd", b"x", "absolute path"),
        ("C:\\Windows\\win.ini", b"x", "absolute path"),
        ("..\\..\\boot.ini", b"x", "leads out of the folder"),
        ("report\u202efdp.exe", b"x", "control characters"),
        ("bell\x07.txt", b"x", "control characters"),
        (_link("shortcut"), b"/etc/shadow", "symbolic link"),
        ("secret.txt", b"x", "encrypted"),
        ("inner/more.zip", plain_zip(), "archive inside the archive"),
        ("backup.tar.gz", b"x", "archive inside the archive"),
    ],
)
def test_an_archive_with_an_unsafe_entry_is_refused_naming_it(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
    member: zipfile.ZipInfo | str,
    data: bytes,
    problem: str,
) -> None:
    archive = _zip(("readme.txt", b"evidence bundle"), (member, data))
    if problem == "encrypted":
        archive = _flag_encrypted(archive, "secret.txt")
    _refused(assessment, indicator, vendor, media, "bundle.zip", archive, "“bundle.zip”", problem)


def test_genuine_archives_and_office_files_are_accepted(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
) -> None:
    text = "部门,系统\n办公厅,12\n".encode() * 20_000  # 600 KB of text, packs well: not a bomb
    archive = _zip(("截图/控制台.txt", b"hello"), ("数据/清单.csv", text), ("目录/", b""))
    assert upload(assessment, indicator, vendor, "材料包.zip", archive).size == len(archive)
    assert upload(assessment, indicator, vendor, "plain.zip", plain_zip()).content_type
    assert upload(assessment, indicator, vendor, "方案.docx", ooxml("word")).content_type
    assert Evidence.objects.count() == 3


# ----------------------------------------------------------------------------------------------
# PDF


def _pdf(body: bytes) -> bytes:
    return b"%PDF-1.7\n" + body + b"\ntrailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"


def _object_stream(objects: bytes) -> bytes:
    packed = zlib.compress(objects)
    return (
        b"5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(packed)).encode()
        + b" >>\nstream\n"
        + packed
        + b"\nendstream\nendobj"
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "script.pdf",
            _pdf(b"1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj"),
            "JavaScript",
        ),
        ("escaped.pdf", _pdf(b"1 0 obj << /OpenAction << /S /J#61vaScript >> >> endobj"), "Java"),
        (
            "launch.pdf",
            _pdf(b"1 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >> endobj"),
            "a launch action",
        ),
        (
            "hidden.pdf",
            _pdf(_object_stream(b"6 0 << /S /JavaScript /JS (this.exportDataObject()) >>")),
            "JavaScript",
        ),
        (
            "rendition.pdf",
            _pdf(b"1 0 obj << /OpenAction << /S /Rendition /JS (app.alert(1)) >> >> endobj"),
            "JavaScript",
        ),
        ("page.pdf", b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>", "HTML"),
    ],
)
def test_a_pdf_with_scripts_actions_or_html_is_refused(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
    name: str,
    content: bytes,
    problem: str,
) -> None:
    _refused(assessment, indicator, vendor, media, name, content, f"“{name}”", problem)


def test_compressed_page_data_that_happens_to_spell_a_script_name_is_no_script(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
) -> None:
    """Only dictionaries hold actions: the bytes of a stream are skipped (an image's deflated
    data spells ``/JS`` by chance about once in 16 MB), object streams aside."""
    content = _pdf(
        b"4 0 obj << /Length 24 /Filter /DCTDecode >>\nstream\n\xff\xd8/JS (x) /Launch\xff\xd9"
        b"\nendstream\nendobj\n" + _object_stream(b"6 0 << /Type /Page /Contents 4 0 R >>")
    )
    assert upload(assessment, indicator, vendor, "扫描件.pdf", content).size == len(content)
    assert upload(assessment, indicator, vendor, "plain.pdf", PDF).size == len(PDF)
    # Random bytes after a PDF header (an unstructured scan): 48 MB of them spell ``/JS``
    # followed by a delimiter a couple of times, and are no script.
    noise = b"%PDF-1.7\n" + random.Random(7).randbytes(48 * MIB)
    assert noise.count(b"/JS") > 0
    assert upload(assessment, indicator, vendor, "噪声.pdf", noise).size == len(noise)


def test_the_pdf_check_reads_a_temporary_file_mapped_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        for _ in range(8):
            handle.write(b"% filler\n" * (MIB // 9))
        handle.write(b"1 0 obj << /AA << /O << /S /Launch >> >> >> endobj\n%%EOF\n")
    with path.open("rb") as handle, pytest.raises(ValidationError, match="launch action"):
        inspect_pdf("big.pdf", handle)


# ----------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    "name", ["report\x00.pdf", "report\u202efdp.pdf", "\u202eevil.pdf", "line\nbreak.pdf"]
)
def test_names_with_nul_or_right_to_left_characters_are_refused(
    assessment: Assessment,
    indicator: Indicator,  # noqa: F811
    vendor: User,
    media: Path,
    name: str,
) -> None:
    _refused(assessment, indicator, vendor, media, name, PDF, "control characters")
