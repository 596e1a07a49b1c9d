"""A published ranking as people read it: the presentation of a frozen snapshot (shared by the
public page and the PDF), and the exports: CSV, XLSX and a one-page PDF bulletin.

Everything here reads only the snapshot it is given (``reports.rankings.snapshot.Snapshot``, as
``snapshot.public_view`` gives it to the pages): no database, so the same version always gives
the same page and the same files.

Scores are shown, and exported, only when the ranking's public form is "ranked". A list published
without scores shows none, ever: no total, point, share, dimension meter, position, tie mark or
verification link. The change in position and score against the previous year is shown only
when both editions show scores; otherwise a cloud is only newly listed (新上榜) or listed n years
in a row (连续上榜 n 年). Whatever a snapshot holds, this module keeps to that.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
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
from govcloud_eval.listing import csv_safe, is_formula_like
from indicators.templatetags.catalog_tags import is_chinese

from .charts import BarChart, bar_chart
from .snapshot import DimensionShare, LevelName, Snapshot, SnapshotEntry, VersionChanges

BULLETIN_STYLESHEET = Path(settings.BASE_DIR) / "templates" / "rankings" / "pdf" / "bulletin.css"


@dataclass(frozen=True)
class Change:
    """A cloud's standing against the previous year's edition: in how many editions in a row it
    is listed (1: newly listed) and, only when both editions show scores, how it moved."""

    listed_years: int
    previous_position: int | None = None
    moved: int | None = None  # positive: up that many places
    delta_total: Decimal | None = None

    @property
    def is_new(self) -> bool:
        return self.listed_years <= 1


@dataclass
class ShownEntry:
    name: str
    owner: str
    division_code: str
    vendors: list[str]
    level: str
    level_rank: int
    scores_shown: bool
    position: int | None  # None: scores hidden, or an award
    tied: bool
    total: Decimal | None
    dimensions: list[DimensionShare]  # shares and points blank when scores are hidden
    change: Change | None  # None: no previous edition to compare with
    verification_code: str | None
    verify_url: str | None
    adjusted: str | None


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
    title: str
    kind: str
    campaign_name: str
    demo: bool
    version: int
    ranked: bool  # scores shown
    pools: list[ShownPool]
    awards: list[ShownAward]
    min_level: str
    tie_break: list[str]
    notice_starts: datetime.date | None
    notice_ends: datetime.date | None
    previous_year: int | None
    compared: bool  # the change in position and score against previous_year is shown
    changes: VersionChanges | None
    change_note: str
    published_on: str

    @property
    def is_awards(self) -> bool:
        return self.kind == "awards"


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


def _change(entry: SnapshotEntry, *, compared: bool) -> Change:
    old = entry.get("previous_year") if compared else None
    # public_view gives every entry its count; a bare format-1 entry only says "listed before".
    years = entry.get("listed_years") or (2 if entry.get("previous_year") else 1)
    position = entry.get("position")
    if old is None or position is None or old.get("position") is None:
        return Change(listed_years=years)
    total, old_total = _decimal(entry.get("total")), _decimal(old.get("total"))
    return Change(
        listed_years=years,
        previous_position=old["position"],
        moved=old["position"] - position,
        delta_total=(total - old_total) if total is not None and old_total is not None else None,
    )


def _shown(entry: SnapshotEntry, *, ranked: bool, compared: bool, previous: bool) -> ShownEntry:
    name = entry["cloud"]
    if not is_chinese() and entry.get("cloud_en"):
        name = entry["cloud_en"]
    code = entry.get("verification_code") if ranked else None
    level = entry.get("level")
    dimensions: list[DimensionShare] = [
        d if ranked else {**d, "share": None, "points": None} for d in entry.get("dimensions", [])
    ]
    return ShownEntry(
        name=name,
        owner=entry.get("owner", ""),
        division_code=entry.get("division_code", ""),
        vendors=entry.get("vendors", []),
        level=_level_name(level),
        level_rank=int(level.get("rank", -1)) if level else -1,
        scores_shown=ranked,
        position=entry.get("position") if ranked else None,
        tied=bool(entry.get("tied")) and ranked,
        total=_decimal(entry.get("total")) if ranked else None,
        dimensions=dimensions,
        change=_change(entry, compared=compared) if previous else None,
        verification_code=code,
        verify_url=reverse("certified:verify", args=[code]) if code else None,
        adjusted=entry.get("adjusted") if ranked else None,
    )


def _date(iso: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(iso) if iso else None


def presentation(snapshot: Snapshot, *, charts: bool = True) -> Presentation:
    """What the page and the bulletin show, in the active language."""
    ranked = snapshot.get("public_form") == "ranked"
    previous = snapshot.get("previous_year")
    compared = ranked and previous is not None and previous.get("public_form") == "ranked"

    def shown(entry: SnapshotEntry) -> ShownEntry:
        return _shown(entry, ranked=ranked, compared=compared, previous=previous is not None)

    pools = []
    for pool in snapshot.get("pools", []):
        entries = [shown(e) for e in pool["entries"]]
        if not ranked:
            # The customary form: by level, the highest first, then by division code.
            entries.sort(key=lambda e: (-e.level_rank, e.division_code, e.name))
        listed = ShownPool(pool["code"], _pool_label(pool["code"]), pool["quota"], entries)
        if ranked:
            if charts and entries:
                listed.chart = bar_chart([(e.name, e.total or Decimal(0), e.tied) for e in entries])
        else:
            for entry in entries:
                if not listed.groups or listed.groups[-1].level != entry.level:
                    listed.groups.append(ShownGroup(entry.level, []))
                listed.groups[-1].entries.append(entry)
        pools.append(listed)
    awards = [
        ShownAward(award["vendor"], [shown(e) for e in award["entries"]])
        for award in snapshot.get("awards", [])
    ]
    changes = snapshot.get("changes")
    if changes is not None and not ranked:
        changes = {**changes, "moved": []}
    notice = snapshot.get("notice")
    published = snapshot.get("published_at", "")
    return Presentation(
        title=snapshot["title"] if is_chinese() else snapshot.get("title_en") or snapshot["title"],
        kind=snapshot.get("kind", ""),
        campaign_name=snapshot.get("campaign", {}).get("name", ""),
        demo=bool(snapshot.get("demo")),
        version=snapshot.get("version", 0),
        ranked=ranked,
        pools=pools,
        awards=awards,
        min_level=_level_name(snapshot.get("min_level")),
        tie_break=snapshot.get("tie_break", []),
        notice_starts=_date(notice.get("starts_on")) if notice else None,
        notice_ends=_date(notice.get("ends_on")) if notice else None,
        previous_year=previous.get("year") if previous else None,
        compared=compared,
        changes=changes,
        change_note=snapshot.get("change_note", ""),
        published_on=date_format(
            timezone.localtime(datetime.datetime.fromisoformat(published)).date(), "DATE_FORMAT"
        )
        if published
        else "",
    )


# ----------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Column:
    header: str
    width: int  # in the XLSX
    value: Callable[[str, ShownEntry], Any]  # of (the pool or vendor, the entry)


def _columns(shown: Presentation) -> list[Column]:
    """The columns of the list in the active language: positions, totals and verification
    codes only in the ranked form; the change against the previous year as the presentation
    allows it."""
    ranked, year = shown.ranked, shown.previous_year
    columns = [Column(_("Pool"), 12, lambda pool, e: pool)]
    if ranked:
        columns += [
            Column(_("Position"), 8, lambda pool, e: e.position or ""),
            Column(_("Tied"), 8, lambda pool, e: _("tied") if e.tied else ""),
        ]
    columns += [
        Column(_("Cloud"), 34, lambda pool, e: e.name),
        Column(_("Cloud owner"), 30, lambda pool, e: e.owner),
        Column(_("Division code"), 12, lambda pool, e: e.division_code),
        Column(_("Level"), 10, lambda pool, e: e.level),
    ]
    if ranked:
        columns.append(Column(_("Total"), 10, lambda pool, e: e.total))
    columns.append(Column(_("Operating vendors"), 30, lambda pool, e: "、".join(e.vendors)))
    if ranked:
        columns.append(Column(_("Verification code"), 22, lambda pool, e: e.verification_code))
    if year and shown.compared:
        columns.append(
            Column(
                _("Position in %(year)s") % {"year": year},
                12,
                lambda pool, e: e.change.previous_position if e.change else None,
            )
        )
    if year:
        columns.append(
            Column(
                _("Years listed in a row"),
                12,
                lambda pool, e: e.change.listed_years if e.change else None,
            )
        )
    return columns


def _table(snapshot: Snapshot) -> tuple[list[Column], list[list[Any]]]:
    shown = presentation(snapshot, charts=False)
    columns = _columns(shown)
    listed: list[tuple[str, ShownEntry]] = []
    for pool in shown.pools:
        entries = pool.entries if shown.ranked else [e for g in pool.groups for e in g.entries]
        listed += [(pool.label, e) for e in entries]
    for award in shown.awards:
        listed += [(award.vendor, e) for e in award.entries]
    return columns, [[c.value(label, e) for c in columns] for label, e in listed]


def table(snapshot: Snapshot) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the list in the active language (see ``_columns``)."""
    columns, rows = _table(snapshot)
    return [c.header for c in columns], rows


def csv_bytes(snapshot: Snapshot) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    header, rows = table(snapshot)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for r in rows:
        # A cloud named "=HYPERLINK(…)" stays a name in the reader's spreadsheet.
        writer.writerow(
            [csv_safe(v) if isinstance(v, str) else "" if v is None else str(v) for v in r]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(snapshot: Snapshot, *, sha256: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    columns, rows = _table(snapshot)
    book = Workbook()
    sheet = book.active
    # A new workbook starts with one worksheet, the active one.
    assert isinstance(sheet, Worksheet)
    sheet.title = str(snapshot.get("year", ""))[:31] or "ranking"
    sheet.append([presentation(snapshot, charts=False).title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            _("Version %(version)s, SHA-256 %(sha)s")
            % {"version": snapshot.get("version"), "sha": sha256}
        ]
    )
    sheet.append([])
    sheet.append([c.header for c in columns])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in r])
    for line in sheet.iter_rows():
        for cell in line:
            # openpyxl makes a formula of a string starting with "="; names stay text.
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = is_formula_like(cell.value)
    for n, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = column.width
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
