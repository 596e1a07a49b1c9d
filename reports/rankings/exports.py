"""A published ranking as people read it: the presentation of a frozen snapshot (shared by the
public page and the PDF), and the exports: CSV, XLSX and a one-page PDF bulletin.

Everything here reads only the snapshot (``reports.rankings.snapshot.Snapshot``): no database,
so the same version always gives the same page and the same files. Scores are shown, and
exported, only when the ranking's public form is "ranked"; the customary form hides them.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assessments.models import Cloud
from indicators.templatetags.catalog_tags import is_chinese
from reports.scoring.charts import Radar, radar_for

from .charts import BarChart, bar_chart
from .snapshot import DimensionShare, LevelName, Snapshot, SnapshotEntry

BULLETIN_STYLESHEET = Path(settings.BASE_DIR) / "templates" / "rankings" / "pdf" / "bulletin.css"


@dataclass(frozen=True)
class Change:
    """A cloud's change against the previous year's edition (only for clouds in both)."""

    previous_position: int
    previous_level: str
    level_changed: bool
    moved: int  # positive: up that many places
    delta_total: Decimal | None


@dataclass
class ShownEntry:
    raw: SnapshotEntry
    name: str
    position: int
    tied: bool
    level: str
    level_rank: int
    total: Decimal | None
    division_code: str
    vendors: list[str]
    change: Change | None
    verify_url: str | None
    adjusted: str | None
    adjustment_reason: str

    @property
    def radar(self) -> Radar:
        return radar_for(
            {
                "dimensions": [
                    {**d, "name_zh": d["name_zh"], "name_en": d["name_en"]}
                    for d in self.raw.get("dimensions", [])
                ]
            }
        )

    @property
    def dimensions(self) -> list[DimensionShare]:
        return self.raw.get("dimensions", [])


@dataclass
class ShownGroup:
    level: str
    entries: list[ShownEntry]


@dataclass
class ShownPool:
    code: str
    label: str
    quota: int
    entries: list[ShownEntry]
    groups: list[ShownGroup] = field(default_factory=list)
    chart: BarChart | None = None


@dataclass
class ShownAward:
    vendor: str
    entries: list[ShownEntry]


@dataclass
class Presentation:
    snapshot: Snapshot
    title: str
    ranked: bool  # scores shown
    pools: list[ShownPool]
    awards: list[ShownAward]
    min_level: str
    tie_break: list[str]
    notice_starts: datetime.date | None
    notice_ends: datetime.date | None
    previous_year: int | None
    published_on: str

    @property
    def is_awards(self) -> bool:
        return self.snapshot.get("kind") == "awards"


def _level_name(level: LevelName | None) -> str:
    if not level:
        return ""
    chinese = level.get("name_zh", "")
    return chinese if is_chinese() else (level.get("name_en") or chinese)


def _pool_label(code: str) -> str:
    labels: dict[str, str] = {
        Cloud.Level.PROVINCIAL: _("Provincial clouds"),
        Cloud.Level.MUNICIPAL: _("Municipal clouds"),
    }
    return labels.get(code, code)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _level_code(level: LevelName | None) -> str | None:
    return level.get("code") if level else None


def _change(entry: SnapshotEntry) -> Change | None:
    old = entry.get("previous_year")
    if not old:
        return None
    total, old_total = _decimal(entry.get("total")), _decimal(old.get("total"))
    old_level = old.get("level")
    return Change(
        previous_position=old["position"],
        previous_level=_level_name(old_level),
        level_changed=_level_code(old_level) != _level_code(entry.get("level")),
        moved=old["position"] - entry["position"],
        delta_total=(total - old_total) if total is not None and old_total is not None else None,
    )


def _shown(entry: SnapshotEntry) -> ShownEntry:
    name = entry["cloud"]
    if not is_chinese() and entry.get("cloud_en"):
        name = entry["cloud_en"]
    code = entry.get("verification_code")
    level = entry.get("level")
    return ShownEntry(
        raw=entry,
        name=name,
        position=entry["position"],
        tied=entry["tied"],
        level=_level_name(level),
        level_rank=int(level.get("rank", -1)) if level else -1,
        total=_decimal(entry.get("total")),
        division_code=entry.get("division_code", ""),
        vendors=entry.get("vendors", []),
        change=_change(entry),
        verify_url=reverse("certified:verify", args=[code]) if code else None,
        adjusted=entry.get("adjusted"),
        adjustment_reason=entry.get("adjustment_reason", ""),
    )


def _date(iso: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(iso) if iso else None


def presentation(snapshot: Snapshot, *, charts: bool = True) -> Presentation:
    """What the page and the bulletin show, in the active language."""
    ranked = snapshot.get("public_form") == "ranked"
    pools = []
    for pool in snapshot.get("pools", []):
        entries = [_shown(e) for e in pool["entries"]]
        shown = ShownPool(pool["code"], _pool_label(pool["code"]), pool["quota"], entries)
        if ranked:
            if charts and entries:
                shown.chart = bar_chart([(e.name, e.total or Decimal(0), e.tied) for e in entries])
        else:
            # The customary form: by level, the highest first, then by division code.
            ordered = sorted(entries, key=lambda e: (-e.level_rank, e.division_code, e.name))
            for entry in ordered:
                if not shown.groups or shown.groups[-1].level != entry.level:
                    shown.groups.append(ShownGroup(entry.level, []))
                shown.groups[-1].entries.append(entry)
        pools.append(shown)
    awards = [
        ShownAward(award["vendor"], [_shown(e) for e in award["entries"]])
        for award in snapshot.get("awards", [])
    ]
    notice = snapshot.get("notice")
    previous = snapshot.get("previous_year")
    published = snapshot.get("published_at", "")
    return Presentation(
        snapshot=snapshot,
        title=snapshot["title"] if is_chinese() else snapshot.get("title_en") or snapshot["title"],
        ranked=ranked,
        pools=pools,
        awards=awards,
        min_level=_level_name(snapshot.get("min_level")),
        tie_break=snapshot.get("tie_break", []),
        notice_starts=_date(notice.get("starts_on")) if notice else None,
        notice_ends=_date(notice.get("ends_on")) if notice else None,
        previous_year=previous.get("year") if previous else None,
        published_on=date_format(
            timezone.localtime(datetime.datetime.fromisoformat(published)).date(), "DATE_FORMAT"
        )
        if published
        else "",
    )


# ----------------------------------------------------------------------------------------------
# Tables


def table(snapshot: Snapshot) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the list in the active language; the totals only in the ranked
    form."""
    shown = presentation(snapshot, charts=False)
    header = [
        _("Pool"),
        _("Position"),
        _("Tied"),
        _("Cloud"),
        _("Cloud owner"),
        _("Division code"),
        _("Level"),
    ]
    if shown.ranked:
        header.append(_("Total"))
    header += [_("Operating vendors"), _("Verification code")]
    if shown.previous_year:
        header.append(_("Position in %(year)s") % {"year": shown.previous_year})
    rows: list[list[Any]] = []

    def row(pool: str, e: ShownEntry) -> list[Any]:
        values: list[Any] = [
            pool,
            e.position if shown.ranked else "",
            _("tied") if e.tied and shown.ranked else "",
            e.name,
            e.raw.get("owner", ""),
            e.division_code,
            e.level,
        ]
        if shown.ranked:
            values.append(e.total)
        values += ["、".join(e.vendors), e.raw.get("verification_code") or ""]
        if shown.previous_year:
            values.append(e.change.previous_position if e.change else "")
        return values

    for pool in shown.pools:
        entries = pool.entries if shown.ranked else [e for g in pool.groups for e in g.entries]
        rows += [row(pool.label, e) for e in entries]
    for award in shown.awards:
        rows += [row(award.vendor, e) for e in award.entries]
    return header, rows


def csv_bytes(snapshot: Snapshot) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    header, rows = table(snapshot)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if v is None else str(v) for v in r])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(snapshot: Snapshot, *, sha256: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    header, rows = table(snapshot)
    book = Workbook()
    sheet = book.active
    # A new workbook starts with one worksheet, the active one.
    assert isinstance(sheet, Worksheet)
    sheet.title = str(snapshot.get("year", ""))[:31] or "ranking"
    title = snapshot["title"] if is_chinese() else snapshot.get("title_en") or snapshot["title"]
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            _("Version %(version)s, SHA-256 %(sha)s")
            % {"version": snapshot.get("version"), "sha": sha256}
        ]
    )
    sheet.append([])
    sheet.append(header)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in r])
    widths = [12, 8, 8, 34, 30, 12, 10, 10, 30, 22, 12]
    for n, width in enumerate(widths[: len(header)]):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    sheet.freeze_panes = "A5"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------
# The PDF bulletin


def bulletin_html(snapshot: Snapshot, *, language: str, sha256: str) -> str:
    with translation.override(language):
        return render_to_string(
            "rankings/pdf/bulletin.html",
            {
                "p": presentation(snapshot, charts=False),
                "sha256": sha256,
                "html_lang": "zh-CN" if language.startswith("zh") else "en",
            },
        )


def bulletin_pdf(snapshot: Snapshot, *, language: str, sha256: str) -> bytes:
    """The one-page bulletin (通报) in the fonts of the certified reports."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    stylesheet = CSS(filename=str(BULLETIN_STYLESHEET), font_config=fonts)
    out = io.BytesIO()
    HTML(
        string=bulletin_html(snapshot, language=language, sha256=sha256),
        base_url=str(BULLETIN_STYLESHEET.parent),
    ).write_pdf(out, stylesheets=[stylesheet], font_config=fonts)
    return out.getvalue()
