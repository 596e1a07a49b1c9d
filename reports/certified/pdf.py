"""The certified report as PDF bytes: one pure function, ``render_report_pdf(content)``.

``content`` is the snapshot ``reports.certify`` freezes when a report is issued; the function
reads nothing else (no database, no clock, no request), so rendering the same snapshot again
gives the same document. Signing is not done here (see ``reports.signing``).

The layout avoids WeasyPrint's slow paths: one small table per dimension instead of one table
running over many pages, block layout rather than nested flexboxes, and an inline SVG for the
radar chart and the QR code. The font is Noto Sans CJK **SC** with ``lang="zh-CN"`` so that
Simplified glyph forms are chosen; WeasyPrint embeds subsets of them (with HarfBuzz; see
``govcloud_eval.health.harfbuzz_subsetting_available``).
"""

from __future__ import annotations

import base64
import datetime
import io
import re
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from indicators.templatetags.catalog_tags import is_chinese
from reports.scoring.charts import radar_for

STYLESHEET = Path(settings.BASE_DIR) / "templates" / "certified" / "pdf" / "report.css"


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


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as an SVG document (one path, no raster)."""
    import qrcode
    import qrcode.image.svg

    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=2,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image()
    return image.to_string(encoding="unicode")


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


def _context(content: ReportContent) -> dict[str, Any]:
    breakdown = content["breakdown"]
    rating_names = _rating_names(content["framework"])
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
                }
            )
        dimensions.append({**dimension, "indicators": rows})
    radar = radar_for(breakdown)
    qr = base64.b64encode(qr_svg(content["verify_url"]).encode()).decode()
    cloud = content["cloud"]["name"]
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


def render_report_pdf(content: ReportContent) -> bytes:
    """The unsigned PDF of ``content``. Raises whatever WeasyPrint raises on a broken template."""
    from weasyprint import HTML

    html = report_html(content)
    fonts, stylesheet = _fonts_and_stylesheet()
    out = io.BytesIO()
    HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
        out, stylesheets=[stylesheet], font_config=fonts
    )
    return out.getvalue()
