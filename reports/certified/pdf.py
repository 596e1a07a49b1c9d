"""The certified report as PDF bytes: one pure function, ``render_report_pdf(content)``.

``content`` is the snapshot ``reports.certify`` freezes when a report is issued; the function
reads nothing else (no database, no clock, no request), so rendering the same snapshot again
gives the same document. Signing is not done here (see ``reports.signing``).

The report is a formal document: a cover, a statement page (报告声明), the basis of the
evaluation (评估依据), the results, and a last page with the sign-off box (the issuing body, the
date) at ``SIGNATURE_BOX_MM``, its left part left blank: the signer lays the visible signature
over the box, and its appearance puts the seal there. Drawing the text here rather than in the
appearance keeps one set of font subsets in the file (a second set costs about 200 KiB).

The layout avoids WeasyPrint's slow paths: one small table per dimension instead of one table
running over many pages, block layout rather than nested flexboxes, and an inline SVG for the
radar chart and the QR code. The font is Noto Sans CJK **SC** with ``lang="zh-CN"`` so that
Simplified glyph forms are chosen; WeasyPrint embeds subsets of them (with HarfBuzz; see
``govcloud_eval.health.harfbuzz_subsetting_available``), which ``reports.certified.cff`` then
rebuilds with only the glyphs used (a sixth of their size). docs/performance.md has the costs.
"""

from __future__ import annotations

import base64
import datetime
import gc
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple, NotRequired, TypedDict

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from indicators.models import EvidenceMethod, Framework
from indicators.templatetags.catalog_tags import bilingual, is_chinese
from reports.scoring.charts import radar_for

from .cff import compact_cid_fonts

STYLESHEET = Path(settings.BASE_DIR) / "templates" / "certified" / "pdf" / "report.css"

MM = 72 / 25.4  # PDF points per millimetre
PAGE_WIDTH_MM = 210  # A4, as report.css's @page says


class SignatureBoxMM(NamedTuple):
    """Where the visible signature goes on the last page, in millimetres from the page's right
    and bottom edges, and where its seal goes inside it: ``seal_width`` wide at ``padding`` from
    the box's left edge, vertically centred. The template draws the box (``.signoff__signature``,
    absolutely placed at the bottom right of a last section as tall as the page's content area)
    with the text to the right of the seal; the test of the layout checks that WeasyPrint put it
    here."""

    width: float
    height: float
    right: float
    bottom: float
    seal_width: float
    padding: float


SIGNATURE_BOX_MM = SignatureBoxMM(
    width=120, height=34, right=18, bottom=28, seal_width=44, padding=3
)


def signature_box() -> tuple[int, int, int, int]:
    """``SIGNATURE_BOX_MM`` in PDF points (left, bottom, right, top), as the signer takes it."""
    box = SIGNATURE_BOX_MM
    left = PAGE_WIDTH_MM - box.right - box.width
    return (
        round(left * MM),
        round(box.bottom * MM),
        round((left + box.width) * MM),
        round((box.bottom + box.height) * MM),
    )


class EvidenceRef(TypedDict):
    name: str
    sha256: str
    size: int
    version: int


class AssessorNote(TypedDict):
    assessor: str
    rating: str | None
    met: bool | None
    rationale: str


class SettlementNote(TypedDict):
    rating: str | None
    met: bool | None
    reason: str
    by: str


class CloudRef(TypedDict):
    name: str
    name_en: str
    level: str  # assessments.models.Cloud.Level
    division_code: str


class CampaignRef(TypedDict):
    name: str
    year: int
    # The campaign's window for submissions, ISO dates (absent in reports issued before).
    opens_on: NotRequired[str]
    closes_on: NotRequired[str]


class RatingName(TypedDict):
    rating: int
    name_zh: str  # "未达标"
    name_en: str


class FrameworkRef(TypedDict):
    code: str
    version: str
    kind: str
    name_zh: str
    name_en: str
    rating_names: list[RatingName]
    # Absent in reports issued before the formal report (the keys below, and in ReportContent).
    provenance: NotRequired[str]
    report_validity_months: NotRequired[int]
    # indicators.models.EvidenceMethod codes the catalog's indicators use, in that enum's order.
    evidence_methods: NotRequired[list[str]]


class ScoreRef(TypedDict):
    version: int
    inputs_sha256: str
    computed_at: str


class ReportContent(TypedDict):
    """Everything a report shows, frozen at issue. Indicator ids are strings (JSON keys)."""

    language: str  # "zh-hans" | "en"
    number: str
    verification_code: str  # as printed, in groups of four
    verify_url: str  # absolute
    issued_on: str  # ISO date
    supersedes: str | None  # the number of the report this one replaces
    demo: bool
    cloud: CloudRef
    owner: str
    vendors: list[str]
    campaign: CampaignRef
    framework: FrameworkRef
    score: ScoreRef
    breakdown: dict[str, Any]  # reports.scoring.Breakdown as stored (decimals as strings)
    notes: dict[str, list[AssessorNote]]
    settlements: dict[str, SettlementNote]
    evidence: dict[str, list[EvidenceRef]]
    assessors: list[str]
    approved_by: str
    approved_on: str  # ISO date
    # The approval date plus the catalog's report_validity_months, ISO date. The verification
    # page reads it under this name.
    valid_until: NotRequired[str]
    issuer: NotRequired[str]  # the issuing body's full name, in the report's language


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as an SVG document: one path, a rectangle per horizontal run of dark
    modules (qrcode's own SVG draws one per module, four times the path commands for WeasyPrint
    to parse and draw), with a quiet zone of two modules."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()  # rows of booleans, quiet zone included
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    size = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}mm" height="{size}mm" shape-rendering="crispEdges">'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def _css_string(text: str) -> str:
    """``text`` as a quoted CSS string that is safe inside a <style> element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return '"' + escaped.replace("\n", " ") + '"'


def page_counter_css(template: str) -> str:
    """A CSS ``content`` value from a translated "Page {page} of {pages}": the placeholders
    become the page counters ("第 {page} 页 共 {pages} 页" → "第 " counter(page) " 页 共 " …)."""
    parts: list[str] = []
    for piece in re.split(r"(\{page\}|\{pages\})", template):
        if piece == "{page}":
            parts.append("counter(page)")
        elif piece == "{pages}":
            parts.append("counter(pages)")
        elif piece:
            parts.append(_css_string(piece))
    return " ".join(parts)


def _whole(value: Any) -> str:
    """ "2.00" → "2"; "2.50" → "" (a mean of two ratings has no name)."""
    number = _decimal(value)
    if number is None or number != number.to_integral_value():
        return ""
    return str(int(number))


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(iso: str) -> str:
    if not iso:
        return ""
    return date_format(datetime.date.fromisoformat(iso), "DATE_FORMAT")


def _rating_names(framework: FrameworkRef) -> dict[str, str]:
    """Rating → its name in the active language, for whole ratings ("2" → "先进")."""
    names = {}
    for entry in framework.get("rating_names", []):
        chinese = entry.get("name_zh", "")
        english = entry.get("name_en", "") or chinese
        names[str(entry.get("rating"))] = chinese if is_chinese() else english
    return names


def _interpolation_moved(row: dict[str, Any]) -> bool:
    """Whether interpolating the measured value changed the rating the points come from: an
    applied interpolation from exactly the lower anchor leaves it where the assessors put it,
    and the report then says nothing about it."""
    note = row.get("interpolation") or {}
    if not note.get("applied"):
        return False
    scored, rating = _decimal(row.get("scored_rating")), _decimal(row.get("rating"))
    return scored is not None and rating is not None and scored != rating


def issuer(content: ReportContent) -> str:
    """The issuing body of ``content``; the generic name for reports issued before it was
    frozen into them (call within the report's language)."""
    return content.get("issuer") or _("Government Cloud Evaluation Office")


def _result(content: ReportContent) -> str:
    """The result as the statement names it: the level, or passed / not passed."""
    breakdown = content["breakdown"]
    if breakdown.get("pass_check") is not None:
        return _("Passed") if breakdown["pass_check"].get("passed") else _("Not passed")
    if breakdown.get("level"):
        return bilingual(breakdown["level"], "name")
    return bilingual(breakdown, "unrated_name") or _("Below the lowest level")


def _evidence_methods(codes: list[str]) -> str:
    """ "问卷（Q）、文档审查（D）" in Chinese, "Questionnaire (Q), Document review (D)" else."""
    known = [code for code in codes if code in EvidenceMethod.values]
    if is_chinese():
        return "、".join(f"{EvidenceMethod(code).label}（{code}）" for code in known)
    return ", ".join(f"{EvidenceMethod(code).label} ({code})" for code in known)


def _context(content: ReportContent) -> dict[str, Any]:
    breakdown = content["breakdown"]
    framework = content["framework"]
    rating_names = _rating_names(framework)
    dimensions = []
    for dimension in breakdown.get("dimensions", []):
        rows = []
        for row in dimension["indicators"]:
            key = str(row["id"])
            rows.append(
                {
                    **row,
                    "notes": content["notes"].get(key, []),
                    "settlement": content["settlements"].get(key),
                    "evidence": content["evidence"].get(key, []),
                    "rating_name": rating_names.get(_whole(row.get("rating")), ""),
                    "interpolation_moved": _interpolation_moved(row),
                }
            )
        dimensions.append({**dimension, "indicators": rows})
    radar = radar_for(breakdown)
    qr = base64.b64encode(qr_svg(content["verify_url"]).encode()).decode()
    cloud = content["cloud"]["name"]
    campaign = content["campaign"]
    kind = framework.get("kind", "")
    box = SIGNATURE_BOX_MM
    return {
        "c": content,
        "b": breakdown,
        "dimensions": dimensions,
        "radar": radar,
        "weighted": breakdown.get("total") is not None,
        "trusted": breakdown.get("pass_check") is not None,
        "qr_data_uri": f"data:image/svg+xml;base64,{qr}",
        "page_counter": page_counter_css(_("Page {page} of {pages}")),
        "header_left": _css_string(f"{_('Report number')} {content['number']}"),
        "header_right": _css_string(cloud),
        "issued_on": _date(content["issued_on"]),
        "approved_on": _date(content["approved_on"]),
        "valid_until": _date(content.get("valid_until", "")),
        "opens_on": _date(campaign.get("opens_on", "")),
        "closes_on": _date(campaign.get("closes_on", "")),
        "issuer": issuer(content),
        "result": _result(content),
        "framework_name": bilingual(framework, "name"),
        "kind_label": Framework.Kind(kind).label if kind in Framework.Kind.values else "",
        "evidence_methods": _evidence_methods(framework.get("evidence_methods", [])),
        # The seal's cell: the padding, the seal and a gap before the text.
        "signature_box": {**box._asdict(), "seal_cell": box.padding + box.seal_width + 3},
        "html_lang": "zh-CN" if content["language"].startswith("zh") else "en",
        "total": _decimal(breakdown.get("total")),
    }


def report_html(content: ReportContent) -> str:
    """The HTML the PDF is made from (for tests and for looking at it in a browser)."""
    with translation.override(content["language"]):
        return render_to_string("certified/pdf/report.html", _context(content))


_LOCAL = threading.local()


def _fonts_and_stylesheet() -> tuple[Any, Any]:
    """One font configuration and parsed print stylesheet per thread, reused across renders
    (creating them costs about a tenth of a render). The stylesheet declares no @font-face, so
    nothing of one document stays in them."""
    # (weasyprint FontConfiguration, weasyprint CSS): WeasyPrint ships no types, so Any.
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    mtime = STYLESHEET.stat().st_mtime
    cached = getattr(_LOCAL, "fonts", None)
    if cached is None or cached[2] != mtime:
        fonts = FontConfiguration()
        cached = (fonts, CSS(filename=str(STYLESHEET), font_config=fonts), mtime)
        _LOCAL.fonts = cached
    return cached[0], cached[1]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block, and back as it was after it, even
    on an error.

    A report allocates about a million short-lived objects (boxes, styles, drawing operators):
    enough to set off a dozen collections of the oldest generation on the way, each a walk over
    every object of the process (Django, the stylesheet, the fonts), a third of the report's
    CPU time. Paused, the report's garbage is collected once, by the first collection after the
    block. Other threads' allocations go uncollected meanwhile (a render takes under a second)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def render_report_pdf(content: ReportContent) -> bytes:
    """The unsigned PDF of ``content``. Raises whatever WeasyPrint raises on a broken template."""
    from weasyprint import HTML

    with collector_paused():
        html = report_html(content)
        fonts, stylesheet = _fonts_and_stylesheet()
        out = io.BytesIO()
        HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
            out, stylesheets=[stylesheet], font_config=fonts, finisher=compact_cid_fonts
        )
        return out.getvalue()
