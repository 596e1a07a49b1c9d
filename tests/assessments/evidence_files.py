"""Small but genuine files of every kind the evidence upload takes, built in memory."""

from __future__ import annotations

import io
import struct
import zipfile

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 20
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + b"\x00" * 22
TEXT = "等保三级测评报告摘要\nGB/T 22239-2019\n".encode()
CSV_GB18030 = "部门,上云系统数\n办公厅,12\n发改委,8\n".encode("gb18030")


def ooxml(part: str) -> bytes:
    """A minimal Office Open XML package: ``word``, ``xl`` or ``ppt``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(f"{part}/document.xml", "<document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("截图/控制台.txt", "hello")
        archive.writestr("readme.txt", "bundle of evidence")
    return buffer.getvalue()


_END_OF_CHAIN, _FREE, _FAT_SECTOR, _DIFAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFC
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole2_header(
    *, fat_sectors: list[int], fat_count: int, directory: int, difat: int, difat_count: int
) -> bytes:
    header = bytearray(512)
    header[0:8] = _OLE2_MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)  # version 3, 512-byte sectors
    struct.pack_into("<II", header, 44, fat_count, directory)
    struct.pack_into("<III", header, 56, 4096, _END_OF_CHAIN, 0)  # no MiniFAT
    struct.pack_into("<II", header, 68, difat, difat_count)
    first = fat_sectors[:109]
    struct.pack_into("<109I", header, 76, *first, *([_FREE] * (109 - len(first))))
    return bytes(header)


def _ole2_entry(
    name: str, kind: int, *, child: int = _FREE, start: int = _END_OF_CHAIN, size: int = 0
) -> bytes:
    raw = bytearray(128)
    encoded = (name + "\x00").encode("utf-16-le")
    raw[: len(encoded)] = encoded
    struct.pack_into("<HBB", raw, 64, len(encoded), kind, 1)
    struct.pack_into("<III", raw, 68, _FREE, _FREE, child)  # left and right sibling, child
    struct.pack_into("<II", raw, 116, start, size)
    return bytes(raw)


def ole2(stream: str, stream_sectors: int = 0) -> bytes:
    """A compound file (the container of .doc/.xls/.ppt) holding one stream named ``stream`` at
    the top of its directory tree, of ``stream_sectors`` 512-byte sectors of zeros (0, or 8 and
    more: smaller streams would belong in the MiniFAT). Past 109 FAT sectors (files over about
    7 MB) the FAT is listed in DIFAT sectors as well, as in real large files."""
    assert stream_sectors == 0 or stream_sectors >= 8
    # Sectors in order: the FAT, the DIFAT, the directory, the stream.
    fat_count, difat_count = 1, 0
    while True:
        total = fat_count + difat_count + 1 + stream_sectors
        needed = (-(-total // 128), -(-max(0, -(-total // 128) - 109) // 127))
        if needed == (fat_count, difat_count):
            break
        fat_count, difat_count = needed
    directory = fat_count + difat_count
    chain = [directory + 2 + i for i in range(stream_sectors - 1)] + [_END_OF_CHAIN]
    fat = [_FAT_SECTOR] * fat_count + [_DIFAT_SECTOR] * difat_count + [_END_OF_CHAIN]
    fat += chain if stream_sectors else []
    fat += [_FREE] * (fat_count * 128 - len(fat))
    fat_sectors = list(range(fat_count))
    difat = b""
    for index in range(difat_count):
        listed = fat_sectors[109 + 127 * index : 109 + 127 * (index + 1)]
        following = fat_count + index + 1 if index + 1 < difat_count else _END_OF_CHAIN
        difat += struct.pack("<128I", *listed, *([_FREE] * (127 - len(listed))), following)
    header = _ole2_header(
        fat_sectors=fat_sectors,
        fat_count=fat_count,
        directory=directory,
        difat=fat_count if difat_count else _END_OF_CHAIN,
        difat_count=difat_count,
    )
    entries = _ole2_entry("Root Entry", 5, child=1) + _ole2_entry(
        stream,
        2,
        start=directory + 1 if stream_sectors else _END_OF_CHAIN,
        size=512 * stream_sectors,
    )
    return (
        header
        + struct.pack(f"<{len(fat)}I", *fat)
        + difat
        + entries
        + bytes(256)
        + bytes(512 * stream_sectors)
    )


def ole2_with_a_looping_difat() -> bytes:
    """A 2 KiB compound file whose header claims ten million DIFAT sectors and whose one DIFAT
    sector names itself as the next: a parser that follows it reads the same sectors forever."""
    difat_count = 10_000_000
    header = _ole2_header(
        fat_sectors=[0] * 109,
        fat_count=109 + 127 * difat_count,
        directory=2,
        difat=1,
        difat_count=difat_count,
    )
    fat = struct.pack("<128I", _FAT_SECTOR, _DIFAT_SECTOR, _END_OF_CHAIN, *([_FREE] * 125))
    difat = struct.pack("<128I", *([0] * 127), 1)
    entries = _ole2_entry("Root Entry", 5, child=1) + _ole2_entry("WordDocument", 2)
    return header + fat + difat + entries + bytes(256)
