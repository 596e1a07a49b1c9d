"""The list toolkit every long list uses: filters and search read from the query string and
validated, server-side pagination, and the export of the filtered rows to XLSX or CSV.

A list view reads like this::

    listing = ListQuery(request.GET, filters=[...], search=Search(["cloud__name"]))
    rows = listing.apply(selectors.thing_list_for(user=user))
    if fmt := export_format(request):
        return export_response(fmt, "things", header, (row_values(r) for r in rows.iterator()))
    return render(request, "...", {"page": paginate(request, rows), "listing": listing})

Everything stays in the URL (``?state=draft&q=济南&page=2``), so a filtered page can be
bookmarked and shared. A value that is not allowed never raises: the filter is ignored, the
list is shown unfiltered on that field, and ``listing.errors`` names the problem for the page.

Exports write cells that start with ``=``, ``+``, ``-`` or ``@`` as text, never as formulas
(CSV/formula injection: a cloud named ``=HYPERLINK(...)`` must not run in the reader's Excel).
"""

from __future__ import annotations

import csv
import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Literal, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

M = TypeVar("M", bound=Model)

ExportFormat = Literal["xlsx", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("xlsx", "csv")

# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"); tab and
# carriage return too, which some spreadsheet programs strip before looking at the first one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

MAX_SEARCH_LENGTH = 100
DEFAULT_PER_PAGE = 50


# ----------------------------------------------------------------------------------------------
# Filters and search


@dataclass(frozen=True)
class Filter:
    """One filter read from the query string parameter ``name``.

    ``choices`` lists the allowed values and their labels (shown in the filter bar); a value
    not among them is refused with a message. ``apply`` narrows the queryset with the value;
    by default it is ``queryset.filter(**{lookup: value})``. ``kind="text"`` accepts any short
    text (e.g. a division-code prefix) that ``validate`` accepts.
    """

    name: str
    label: str | Promise
    lookup: str = ""
    choices: Sequence[tuple[str, str | Promise]] = ()
    kind: Literal["choice", "text"] = "choice"
    apply: Callable[[QuerySet[Any], str], QuerySet[Any]] | None = None
    validate: Callable[[str], bool] | None = None
    placeholder: str | Promise = ""

    def narrow(self, queryset: QuerySet[M], value: str) -> QuerySet[M]:
        if self.apply is not None:
            return self.apply(queryset, value)
        return queryset.filter(**{self.lookup or self.name: value})

    def accepts(self, value: str) -> bool:
        if self.kind == "choice" and value not in {str(v) for v, _label in self.choices}:
            return False
        return self.validate is None or self.validate(value)


@dataclass(frozen=True)
class Search:
    """Free-text search over some fields (``icontains`` on each, any may match), from ``?q=``."""

    fields: Sequence[str]
    label: str | Promise = ""
    param: str = "q"

    def narrow(self, queryset: QuerySet[M], text: str) -> QuerySet[M]:
        condition = Q()
        for name in self.fields:
            condition |= Q(**{f"{name}__icontains": text})
        return queryset.filter(condition)


@dataclass
class ActiveFilter:
    """A filter as the filter bar shows it: its control, its allowed values, its current value."""

    name: str
    label: str | Promise
    kind: str
    choices: Sequence[tuple[str, str | Promise]]
    value: str
    placeholder: str | Promise


@dataclass
class ListQuery:
    """The filters and search of one list, read from ``data`` (``request.GET``) and validated.

    ``values`` holds the accepted values, ``errors`` one message per refused value; refused
    values are left out, so a bad link shows the whole list with a message, never a 500.
    """

    data: Mapping[str, str]
    filters: Sequence[Filter] = ()
    search: Search | None = None
    values: dict[str, str] = field(init=False, default_factory=dict)
    query: str = field(init=False, default="")
    errors: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        for f in self.filters:
            raw = (self.data.get(f.name) or "").strip()
            if not raw:
                continue
            if len(raw) > MAX_SEARCH_LENGTH or not f.accepts(raw):
                self.errors.append(
                    _("“%(value)s” is not a valid value for %(filter)s; that filter is ignored.")
                    % {"value": raw[:40], "filter": f.label}
                )
                continue
            self.values[f.name] = raw
        if self.search is not None:
            text = (self.data.get(self.search.param) or "").strip()
            if len(text) > MAX_SEARCH_LENGTH:
                self.errors.append(
                    _("The search text is longer than %(max)d characters; it was shortened.")
                    % {"max": MAX_SEARCH_LENGTH}
                )
                text = text[:MAX_SEARCH_LENGTH]
            self.query = text

    def apply(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """The queryset narrowed by every accepted filter and the search text."""
        for f in self.filters:
            if f.name in self.values:
                queryset = f.narrow(queryset, self.values[f.name])
        if self.search is not None and self.query:
            queryset = self.search.narrow(queryset, self.query)
        return queryset

    @property
    def is_filtered(self) -> bool:
        return bool(self.values or self.query)

    @property
    def bar(self) -> list[ActiveFilter]:
        """The filters for ``partials/_filters.html``."""
        return [
            ActiveFilter(
                name=f.name,
                label=f.label,
                kind=f.kind,
                choices=f.choices,
                value=self.values.get(f.name, ""),
                placeholder=f.placeholder,
            )
            for f in self.filters
        ]


def annotated(row: object, name: str) -> Any:
    """The value of a queryset annotation on a row (``.annotate(answered=...)``), which the
    type checker cannot see on the model."""
    return getattr(row, name)


# ----------------------------------------------------------------------------------------------
# Pagination


def paginate(
    request: HttpRequest, queryset: QuerySet[M] | Sequence[Any], per_page: int = DEFAULT_PER_PAGE
) -> Page[Any]:
    """The page named by ``?page=``: a number out of range or not a number gives the nearest
    page (the last, or the first), never an error. Two queries: the count and the page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


# ----------------------------------------------------------------------------------------------
# Exports


def export_format(request: HttpRequest) -> ExportFormat | None:
    """``"xlsx"`` or ``"csv"`` when the list is asked for as a file (``?format=xlsx``), else None.

    An unknown format is not an export: the page is shown as HTML."""
    value = request.GET.get("format", "")
    for fmt in EXPORT_FORMATS:
        if value == fmt:
            return fmt
    return None


def cell_value(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers and dates stay typed, everything else is text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime.datetime):
        # Excel has no time zones: local time, as the pages show it.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, datetime.date):
        return value
    return str(value)


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_safe(value: Any) -> str:
    """A CSV field that no spreadsheet runs as a formula: a leading ``'`` where needed."""
    value = cell_value(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if not isinstance(value, str):
        return str(value)  # a number: "-5" is minus five, not a formula
    return "'" + value if is_formula_like(value) else value


def _stamped(filename: str, extension: str) -> str:
    return f"{filename}_{timezone.localdate().isoformat()}.{extension}"


def xlsx_response(
    filename: str, header: Sequence[str | Promise], rows: Iterable[Sequence[Any]]
) -> FileResponse:
    """An XLSX download of ``rows`` under ``header``, named ``<filename>_<date>.xlsx``.

    ``rows`` is consumed once, row by row, into a write-only workbook spooled to a temporary
    file, so a long queryset (pass ``.iterator()``) never sits in memory as a whole. Strings
    that look like formulas are stored as text cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    bold = Font(bold=True)
    head = []
    for title in header:
        cell = _xlsx_cell(sheet, str(title))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    sheet.freeze_panes = "A2"
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=_stamped(filename, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    value = cell_value(value)
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    # openpyxl turns a string starting with "=" into a formula; a string cell is only text.
    cell.data_type = "s"
    if is_formula_like(value):
        # Excel's own mark for "typed with a leading apostrophe": shown as text, kept as text
        # when the reader edits the cell.
        cell.quotePrefix = True
    return cell


class _Echo:
    """A file-like object whose ``write`` returns the line, for a streamed CSV."""

    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: Sequence[str | Promise], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download (UTF-8 with a byte-order mark, so Excel reads the Chinese),
    named ``<filename>_<date>.csv``; formula-like fields get a leading apostrophe."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"
        yield writer.writerow([csv_safe(str(title)) for title in header])
        for row in rows:
            yield writer.writerow([csv_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = _stamped(filename, "csv")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def export_response(
    fmt: ExportFormat,
    filename: str,
    header: Sequence[str | Promise],
    rows: Iterable[Sequence[Any]],
) -> FileResponse | StreamingHttpResponse:
    """The download in the asked format (see ``export_format``)."""
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, header, rows)
