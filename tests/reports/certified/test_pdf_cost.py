"""What keeps a report small and cheap: compact font programs, a QR code of few path commands,
a signer that parses its key once, and the garbage collector paused while rendering."""

from __future__ import annotations

import gc
import io
import re
from pathlib import Path
from typing import Any

import pytest
from fontTools.cffLib import CFFFontSet
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.recordingPen import RecordingPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.reader import PdfFileReader

from reports.certified import signing
from reports.certified.cff import UnsupportedFont, compact_cff, compact_cid_fonts
from reports.certified.pdf import (
    STYLESHEET,
    _fonts_and_stylesheet,
    collector_paused,
    qr_svg,
    render_report_pdf,
    report_html,
)
from reports.certified.rendering import report_pdf_bytes
from reports.models import Report
from tests.reports.certified.fixtures import *  # noqa: F403


def cid_fonts(data: bytes) -> dict[frozenset[int], Any]:
    """Each CIDFont of type 0 in ``data``: the CIDs its widths list, and its font program."""
    reader = PdfFileReader(io.BytesIO(data))
    found = {}
    for page in reader.root["/Pages"]["/Kids"]:
        # pyHanko's dictionaries resolve references on [], arrays do not.
        fonts = page.get_object()["/Resources"]["/Font"]
        for name in fonts:
            font = fonts[name]
            if "/DescendantFonts" not in font:
                continue
            for descendant in font["/DescendantFonts"]:
                descendant = descendant.get_object()
                if descendant["/Subtype"] != "/CIDFontType0":
                    continue
                widths = list(descendant["/W"])
                cids: set[int] = set()
                for first, run in zip(widths[::2], widths[1::2], strict=True):
                    cids.update(range(int(first), int(first) + len(run)))
                found[frozenset(cids)] = descendant["/FontDescriptor"]["/FontFile3"]
    return found


def uncompacted_pdf(content: Any) -> bytes:
    """The same report as WeasyPrint makes it, without the finisher."""
    from weasyprint import HTML

    fonts, stylesheet = _fonts_and_stylesheet()
    out = io.BytesIO()
    HTML(string=report_html(content), base_url=str(STYLESHEET.parent)).write_pdf(
        out, stylesheets=[stylesheet], font_config=fonts
    )
    return out.getvalue()


def outlines(charstrings: Any, names: list[str]) -> dict[str, Any]:
    drawn = {}
    for name in names:
        pen = RecordingPen()
        charstrings[name].draw(pen)
        drawn[name] = pen.value
    return drawn


def test_each_font_program_holds_only_the_glyphs_shown_under_their_cids(issued: Report) -> None:
    pdf = render_report_pdf(issued.content)
    fonts = cid_fonts(pdf)
    assert len(fonts) == 2  # regular and bold
    for cids, program in fonts.items():
        assert program["/Subtype"] == "/CIDFontType0C"
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(program.data), None)
        top = cff.topDictIndex[0]
        assert top.ROS == ("Adobe", "Identity", 0)  # CID-keyed
        # .notdef and exactly the glyphs shown, each under its own CID.
        assert top.charset == [".notdef"] + [f"cid{cid:05d}" for cid in sorted(cids)]


def test_compact_glyphs_draw_as_weasyprints_subsets_did(issued: Report) -> None:
    compact = {
        cids: program.data for cids, program in cid_fonts(render_report_pdf(issued.content)).items()
    }
    original = {
        cids: program.data for cids, program in cid_fonts(uncompacted_pdf(issued.content)).items()
    }
    assert compact.keys() == original.keys()
    for cids, data in compact.items():
        opentype = TTFont(io.BytesIO(original[cids]))
        assert opentype["maxp"].numGlyphs > 1000  # WeasyPrint keeps the glyph ids of the font
        bare = CFFFontSet()
        bare.decompile(io.BytesIO(data), None)
        names = bare.topDictIndex[0].charset[1:]
        assert outlines(bare.topDictIndex[0].CharStrings, names) == outlines(
            opentype.getGlyphSet(), names
        )
        assert len(data) * 3 < len(original[cids])


def test_the_signed_report_stays_well_under_400_kb(issued: Report) -> None:
    assert issued.size is not None and issued.size < 400_000
    with issued.file.open("rb") as handle:
        assert len(handle.read()) == issued.size


def _non_cid_cff() -> bytes:
    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder([".notdef", "a"])
    builder.setupCharacterMap({ord("a"): "a"})
    pen = T2CharStringPen(500, None)
    pen.moveTo((0, 0))
    pen.lineTo((0, 500))
    pen.lineTo((500, 0))
    pen.closePath()
    glyph = pen.getCharString()
    builder.setupCFF("Plain", {"FullName": "Plain"}, {".notdef": glyph, "a": glyph}, {})
    out = io.BytesIO()
    builder.save(out)
    return TTFont(io.BytesIO(out.getvalue())).reader["CFF "]


def test_a_font_that_is_not_cid_keyed_is_refused() -> None:
    with pytest.raises(UnsupportedFont):
        compact_cff(_non_cid_cff(), {1})


def test_the_finisher_leaves_other_fonts_alone() -> None:
    class Stream:
        def __init__(self, data: bytes, subtype: str) -> None:
            self.stream = [data]
            self.extra = {"Subtype": subtype}

    class Pdf:
        objects: list[Any] = []

    truetype = Stream(b"\x00\x01\x00\x00", "/OpenType")
    plain = Stream(b"OTTO", "/OpenType")
    pdf = Pdf()
    pdf.objects = [
        {"Subtype": "/CIDFontType2", "FontDescriptor": b"1 0 R"},
        {"FontFile2": b"2 0 R"},
        truetype,
        {"Subtype": "/CIDFontType0", "FontDescriptor": b"4 0 R", "W": [1, [500]]},
        {"FontFile3": b"5 0 R"},
        plain,  # not an OpenType font with a CFF table: left as it is
    ]
    compact_cid_fonts(None, pdf)
    assert truetype.stream == [b"\x00\x01\x00\x00"] and plain.stream == [b"OTTO"]
    assert plain.extra["Subtype"] == "/OpenType"


def test_the_qr_code_draws_every_dark_module_once() -> None:
    import qrcode

    url = "https://verify.example.gov.cn/verify/ABCDEFGHIJKLMNOPQRSTUVWX/"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(url)
    code.make(fit=True)
    expected = code.get_matrix()
    drawn = [[False] * len(expected) for _ in expected]
    svg = qr_svg(url)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", svg):
        for column in range(int(x), int(x) + int(w)):
            assert not drawn[int(y)][column]
            drawn[int(y)][column] = True
    assert drawn == expected


def test_the_signer_parses_its_key_once(
    issued: Report, monkeypatch: pytest.MonkeyPatch, signing_key: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    parsed = []
    real = serialization.load_der_private_key

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_der_private_key", counting)
    monkeypatch.setattr(signing, "_SIGNERS", {})
    report_pdf_bytes(issued.content)
    report_pdf_bytes(issued.content)
    assert len(parsed) == 1


def test_the_collector_is_back_after_a_failing_render() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("broken template")
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
