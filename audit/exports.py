"""The filtered audit trail as a spreadsheet: CSV and XLSX, one row per event.

Columns: time in UTC, actor, action code, the action in words, object type, id and name, and the
change as one "field: before → after" line per field. Recorded text comes from users (names,
reasons, file names), so no cell may run as a formula in a spreadsheet program: a value starting
with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is written as text, behind a ``'``
in the CSV and as a text cell (with Excel's quote prefix) in the XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from .describe import action_label, changes_text, sentence, utc_text
from .models import AuditEvent

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The rows an export reads from the database at a time (the file itself is built in memory).
CHUNK = 2000


def header() -> list[str]:
    return [
        _("Time (UTC)"),
        _("Actor"),
        _("Action code"),
        _("Action"),
        _("What happened"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Changes (before → after)"),
    ]


def rows(events: Iterable[AuditEvent]) -> Iterator[list[str]]:
    for e in events:
        yield [
            utc_text(e.at),
            e.actor_label or _("The system"),
            e.action,
            action_label(e.action),
            sentence(e),
            e.target_type,
            e.target_id,
            e.target_label,
            changes_text(e),
        ]


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def csv_safe(value: str) -> str:
    return "'" + value if is_formula_like(value) else value


def csv_bytes(events: Iterable[AuditEvent]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header())
    for row in rows(events):
        writer.writerow([csv_safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(events: Iterable[AuditEvent]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Audit trail")[:31])
    for column, width in zip("ABCDEFGHI", (20, 16, 34, 26, 50, 24, 10, 36, 60), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    titles = []
    for title in header():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        titles.append(cell)
    sheet.append(titles)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows(events):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if is_formula_like(value):
                # openpyxl would store "=..." as a formula: keep it a string, shown as typed.
                cell.data_type = "s"
                cell.quotePrefix = True
            if "\n" in value:
                cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
