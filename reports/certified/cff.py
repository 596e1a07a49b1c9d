"""Compact font subsets for the report's PDF: a WeasyPrint finisher.

WeasyPrint embeds each font as an OpenType subset that keeps the glyph ids of the full font
(HarfBuzz's ``RETAIN_GIDS``: its content streams show glyphs by their original ids), with every
glyph up to the highest one used left in place, empty. Noto Sans CJK SC has 65,535 glyphs and
its Simplified-Chinese forms sit near the end, so a subset of 400 glyphs still carries 63,000
empty charstrings: their offsets alone (3 bytes each, each one different) are about 140 KB
compressed per font, two thirds of the report's file.

The Compact Font Format has the answer built in. A CID-keyed CFF font (Noto Sans CJK is one:
``ROS Adobe-Identity-0``, CID = glyph id) names each of its glyphs' CIDs in its ``charset``, and
a PDF CIDFont of type 0 finds glyphs by CID through that charset (ISO 32000-1, 9.7.4.2), which is
how Acrobat Distiller has always embedded subsets of Adobe-GB1 fonts. So ``compact_cid_fonts``
rebuilds each such subset with only the glyphs used, each keeping its CID, and embeds the bare
CFF program (``FontFile3`` of subtype ``CIDFontType0C``) instead of the OpenType wrapper: the
content streams, the widths and the text extraction maps (all by CID) stay as they are. Fonts of
any other shape are left alone.
"""

from __future__ import annotations

import bisect
import struct
from typing import Any

# Top DICT and Font DICT operators whose operands are offsets (one byte, or 12 followed by one).
CHARSET = (15,)
CHARSTRINGS = (17,)
PRIVATE = (18,)
SUBRS = (19,)
FDARRAY = (12, 36)
FDSELECT = (12, 37)
ROS = (12, 30)


class UnsupportedFont(ValueError):
    """The font is not a CID-keyed CFF font this module knows how to compact."""


def _index(data: bytes, pos: int) -> tuple[list[bytes], int]:
    """The items of the CFF INDEX at ``pos``, and the position after it."""
    count = int.from_bytes(data[pos : pos + 2], "big")
    if count == 0:
        return [], pos + 2
    size = data[pos + 2]
    base = pos + 3
    offsets = [
        int.from_bytes(data[base + i * size : base + (i + 1) * size], "big")
        for i in range(count + 1)
    ]
    start = base + (count + 1) * size - 1
    return [data[start + a : start + b] for a, b in zip(offsets, offsets[1:], strict=False)], (
        start + offsets[-1]
    )


def _index_item(data: bytes, pos: int, item: int) -> bytes:
    """One item of the INDEX at ``pos`` without reading the others (charstrings by glyph id)."""
    count = int.from_bytes(data[pos : pos + 2], "big")
    if not 0 <= item < count:
        raise UnsupportedFont(f"glyph {item} is not in the font ({count} glyphs)")
    size = data[pos + 2]
    base = pos + 3
    first = base + item * size
    a = int.from_bytes(data[first : first + size], "big")
    b = int.from_bytes(data[first + size : first + 2 * size], "big")
    start = base + (count + 1) * size - 1
    return data[start + a : start + b]


def _make_index(items: list[bytes]) -> bytes:
    if not items:
        return b"\x00\x00"
    offsets = [1]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    last = offsets[-1]
    size = 1 if last < 1 << 8 else 2 if last < 1 << 16 else 3 if last < 1 << 24 else 4
    return (
        struct.pack(">HB", len(items), size)
        + b"".join(offset.to_bytes(size, "big") for offset in offsets)
        + b"".join(items)
    )


def _dict(data: bytes) -> list[tuple[tuple[int, ...], list[bytes]]]:
    """A DICT as (operator, raw operands) pairs, operands kept as their encoded bytes."""
    entries: list[tuple[tuple[int, ...], list[bytes]]] = []
    operands: list[bytes] = []
    pos = 0
    while pos < len(data):
        b0 = data[pos]
        if b0 <= 21:
            if b0 == 12:
                op: tuple[int, ...] = (12, data[pos + 1])
                pos += 2
            else:
                op = (b0,)
                pos += 1
            entries.append((op, operands))
            operands = []
            continue
        if b0 == 28:
            end = pos + 3
        elif b0 == 29:
            end = pos + 5
        elif b0 == 30:  # a real: nibbles up to one that is 0xf
            end = pos + 1
            while data[end] >> 4 != 0xF and data[end] & 0xF != 0xF:
                end += 1
            end += 1
        elif 32 <= b0 <= 246:
            end = pos + 1
        elif 247 <= b0 <= 254:
            end = pos + 2
        else:
            raise UnsupportedFont(f"unexpected DICT byte {b0}")
        operands.append(data[pos:end])
        pos = end
    return entries


def _integer(raw: bytes) -> int:
    b0 = raw[0]
    if b0 == 28:
        return int.from_bytes(raw[1:3], "big", signed=True)
    if b0 == 29:
        return int.from_bytes(raw[1:5], "big", signed=True)
    if 32 <= b0 <= 246:
        return b0 - 139
    if 247 <= b0 <= 250:
        return (b0 - 247) * 256 + raw[1] + 108
    if 251 <= b0 <= 254:
        return -(b0 - 251) * 256 - raw[1] - 108
    raise UnsupportedFont("an offset is not an integer")


def _int32(value: int) -> bytes:
    """A DICT integer in the fixed five-byte form, so that sizes are known before offsets."""
    return b"\x1d" + value.to_bytes(4, "big", signed=True)


def _make_dict(entries: list[tuple[tuple[int, ...], list[bytes]]]) -> bytes:
    return b"".join(b"".join(operands) + bytes(op) for op, operands in entries)


def _fd_of(data: bytes, pos: int, glyphs: list[int]) -> list[int]:
    """The font DICT index of each of ``glyphs`` (sorted), from the FDSelect at ``pos``
    (format 0 or 3)."""
    fmt = data[pos]
    if fmt == 0:
        return [data[pos + 1 + gid] for gid in glyphs]
    if fmt != 3:
        raise UnsupportedFont(f"FDSelect format {fmt}")
    ranges = int.from_bytes(data[pos + 1 : pos + 3], "big")
    starts = [int.from_bytes(data[pos + 3 + 3 * i : pos + 5 + 3 * i], "big") for i in range(ranges)]
    return [data[pos + 5 + 3 * (bisect.bisect_right(starts, gid) - 1)] for gid in glyphs]


def _cids_are_gids(data: bytes, pos: int, glyphs: int) -> bool:
    """Whether the charset at ``pos`` (formats 0, 1 and 2) gives every glyph its id as CID."""
    fmt = data[pos]
    at = pos + 1
    if fmt == 0:
        return all(
            int.from_bytes(data[at + 2 * i : at + 2 * i + 2], "big") == i + 1
            for i in range(glyphs - 1)
        )
    if fmt not in (1, 2):
        raise UnsupportedFont(f"charset format {fmt}")
    width = 1 if fmt == 1 else 2
    gid = 1
    while gid < glyphs:
        first = int.from_bytes(data[at : at + 2], "big")
        if first != gid:
            return False
        gid += int.from_bytes(data[at + 2 : at + 2 + width], "big") + 1
        at += 2 + width
    return True


def compact_cff(cff: bytes, used: set[int]) -> bytes:
    """A CID-keyed CFF font with only the glyphs of ``used`` (by CID, which is the glyph id in
    ``cff`` too) and .notdef, each keeping its CID. Raises ``UnsupportedFont`` for a font that
    is not CID-keyed, or whose glyph ids are not its CIDs."""
    header_size = cff[2]
    names, pos = _index(cff, header_size)
    (top_raw,), pos = _index(cff, pos)
    strings, pos = _index(cff, pos)
    global_subrs, _end = _index(cff, pos)
    top = _dict(top_raw)
    ops = {op: operands for op, operands in top}
    if ROS not in ops or any(op not in ops for op in (CHARSET, CHARSTRINGS, FDARRAY, FDSELECT)):
        raise UnsupportedFont("not a CID-keyed CFF font")
    charstrings_at = _integer(ops[CHARSTRINGS][0])
    count = int.from_bytes(cff[charstrings_at : charstrings_at + 2], "big")
    keep = [0, *sorted(gid for gid in used if 0 < gid < count)]
    if not _cids_are_gids(cff, _integer(ops[CHARSET][0]), count):
        raise UnsupportedFont("glyph ids are not CIDs")
    fds = _fd_of(cff, _integer(ops[FDSELECT][0]), keep)
    charstrings = [_index_item(cff, charstrings_at, gid) for gid in keep]
    font_dicts, _end = _index(cff, _integer(ops[FDARRAY][0]))

    # The private DICTs, each with its local subroutines if it has any (their offset is from
    # the start of the private DICT: kept by copying both as one block).
    privates: list[tuple[bytes, int]] = []  # (block, size of the DICT itself)
    fd_entries = []
    for raw in font_dicts:
        entries = _dict(raw)
        fd_entries.append(entries)
        private = dict(entries).get(PRIVATE)
        if private is None:
            raise UnsupportedFont("a font DICT has no private DICT")
        size, offset = _integer(private[0]), _integer(private[1])
        block_end = offset + size
        subrs = dict(_dict(cff[offset : offset + size])).get(SUBRS)
        if subrs is not None:
            _items, block_end = _index(cff, offset + _integer(subrs[0]))
        privates.append((cff[offset:block_end], size))

    charset = b"\x00" + b"".join(gid.to_bytes(2, "big") for gid in keep[1:])
    fdselect = b"\x00" + bytes(fds)
    charstrings_index = _make_index(charstrings)

    def top_dict(charset_at: int, fdselect_at: int, charstrings_at: int, fdarray_at: int) -> bytes:
        replaced = {
            CHARSET: charset_at,
            FDSELECT: fdselect_at,
            CHARSTRINGS: charstrings_at,
            FDARRAY: fdarray_at,
        }
        return _make_dict(
            [(op, [_int32(replaced[op])] if op in replaced else operands) for op, operands in top]
        )

    def fd_array(private_at: int) -> bytes:
        items = []
        for entries, (block, size) in zip(fd_entries, privates, strict=True):
            items.append(
                _make_dict(
                    [
                        (op, [_int32(size), _int32(private_at)] if op == PRIVATE else operands)
                        for op, operands in entries
                    ]
                )
            )
            private_at += len(block)
        return _make_index(items)

    head = cff[:header_size] + _make_index(names)
    # Offsets are five-byte integers whatever their value: lay out once with zeros for sizes.
    top_size = len(_make_index([top_dict(0, 0, 0, 0)]))
    rest = _make_index(strings) + _make_index(global_subrs)
    charset_at = len(head) + top_size + len(rest)
    fdselect_at = charset_at + len(charset)
    charstrings_at = fdselect_at + len(fdselect)
    fdarray_at = charstrings_at + len(charstrings_index)
    private_at = fdarray_at + len(fd_array(0))
    return b"".join(
        [
            head,
            _make_index([top_dict(charset_at, fdselect_at, charstrings_at, fdarray_at)]),
            rest,
            charset,
            fdselect,
            charstrings_index,
            fd_array(private_at),
            *(block for block, _size in privates),
        ]
    )


def cff_table(font: bytes) -> bytes:
    """The ``CFF `` table of an OpenType font (``OTTO``)."""
    if font[:4] != b"OTTO":
        raise UnsupportedFont("not an OpenType font with CFF outlines")
    tables = int.from_bytes(font[4:6], "big")
    for i in range(tables):
        tag, _checksum, offset, length = struct.unpack(">4sIII", font[12 + 16 * i : 28 + 16 * i])
        if tag == b"CFF ":
            return font[offset : offset + length]
    raise UnsupportedFont("no CFF table")


def _number(reference: Any) -> int:
    """The object number of a pydyf reference (``b"12 0 R"``)."""
    return int(bytes(reference).split()[0])


def compact_cid_fonts(_document: Any, pdf: Any) -> None:
    """The WeasyPrint finisher: every CIDFont of type 0 whose program is a CID-keyed OpenType
    CFF subset gets a bare CFF program with only the glyphs it shows (its widths list them).
    ``pdf`` is WeasyPrint's ``pydyf.PDF``, before it is written; fonts this cannot compact are
    left as WeasyPrint made them."""
    objects = pdf.objects
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("Subtype") != "/CIDFontType0":
            continue
        descriptor = objects[_number(obj["FontDescriptor"])]
        if "FontFile3" not in descriptor:
            continue
        program = objects[_number(descriptor["FontFile3"])]
        if program.extra.get("Subtype") != "/OpenType":
            continue
        used: set[int] = set()
        widths = list(obj.get("W", []))
        for first, run in zip(widths[::2], widths[1::2], strict=False):
            used.update(range(first, first + len(run)))
        try:
            compact = compact_cff(cff_table(b"".join(program.stream)), used)
        except (UnsupportedFont, IndexError, ValueError):
            continue
        program.stream = [compact]
        program.extra["Subtype"] = "/CIDFontType0C"
        # Meaningful for TrueType CIDFonts only; a reader applying it to this one would no
        # longer find glyphs by CID.
        obj.pop("CIDToGIDMap", None)
