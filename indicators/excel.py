"""Indicator catalogs as Excel workbooks: build one from a framework, read one back.

A workbook is another spelling of the catalog file (docs/catalog-format.md): ``catalog_workbook``
writes the normalised document of a framework; ``workbook_catalog`` reads a workbook back into
the same catalog document the YAML import takes, and checks it with the same validation
(``catalog_parse``: the JSON Schema, then the rules). Every error a catalog validation reports
by its path in the document (``dimensions[1].indicators[3].weight``) is reported here by the
cell it came from (sheet, row, column); a few problems only a workbook can have (a missing
cell, a code given twice, an indicator of an unknown dimension, a misspelt column) are found
by the workbook reader itself, all in one pass. Pure functions: nothing touches the database.

Sheets (row 1: Chinese headers; row 2: the English header, which is the catalog key and
identifies the column; data from row 3; columns may be moved, not renamed)::

    说明 README            how to fill in (not read back)
    体系 Framework         one row per framework setting: 项目, key, 值 Value
    评分 Ratings           rating, name_zh, name_en
    维度 Dimensions        code, name_zh, name_en, weight
    指标 Indicators        dimension, code, names, descriptions, weight, key, type, evidence,
                           unit, direction, interpolate, then rubric.<r>.zh / .en / .anchor
                           for each rating r from 0 to max_rating
    等级规则 Levels        code, name_zh, name_en, min_total, min_dimension_share, min_key_rating
    一票否决 Vetoes        code, description_zh, description_en, cap_level

Headers are Chinese and English: they are data for the Chinese offices that keep indicator
tables in Excel (like the catalog's own names), not interface text, so they are not translated.
The error messages a person reads in the portal are.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .catalog import (
    EVIDENCE_CODES,
    CatalogError,
    CatalogInvalid,
    Document,
    canonical_number,
    catalog_parse,
    format_path,
)

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A workbook of the largest expected catalog is a few hundred kilobytes.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Decompressed, a real workbook is a few megabytes; anything far larger is a mistake or a bomb.
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
# Rows read per sheet: a catalog of a few hundred indicators is far below.
MAX_ROWS = 5000

README = "说明 README"
FRAMEWORK = "体系 Framework"
RATINGS = "评分 Ratings"
DIMENSIONS = "维度 Dimensions"
INDICATORS = "指标 Indicators"
LEVELS = "等级规则 Levels"
VETOES = "一票否决 Vetoes"

HEADER_ROW = 1  # Chinese headers
KEY_ROW = 2  # English headers: the catalog keys
FIRST_ROW = 3

# (key, Chinese header, width in character units)
Column = tuple[str, str, float]

FRAMEWORK_COLUMNS: list[Column] = [
    ("label", "项目", 30),
    ("key", "键", 34),
    ("value", "值", 80),
]
# (key, Chinese label) of each framework setting, in the order written.
FRAMEWORK_ROWS: list[tuple[str, str]] = [
    ("code", "体系编号"),
    ("version", "版本"),
    ("kind", "体系类型（comprehensive 综合水平评估 / trusted_platform 可信政务云评估）"),
    ("name_zh", "名称（中文）"),
    ("name_en", "名称（英文）"),
    ("provenance", "来源说明"),
    ("max_rating", "最高评分"),
    ("total_weight", "总权重（可信政务云评估留空）"),
    ("report_validity_months", "报告有效期（月）"),
    ("unrated_level.name_zh", "未达级名称（中文）"),
    ("unrated_level.name_en", "未达级名称（英文）"),
    ("pass_rule.require_all_mandatory", "通过规则：强制项须全部达标（仅可信政务云评估）"),
    ("pass_rule.min_graded_share", "通过规则：分级项达标比例 0–1（仅可信政务云评估）"),
    ("pass_rule.min_graded_rating", "通过规则：分级项达标的最低评分（仅可信政务云评估）"),
    ("pass_rule.validity_months", "通过规则：有效期（月）（仅可信政务云评估）"),
]
RATING_COLUMNS: list[Column] = [
    ("rating", "评分", 8),
    ("name_zh", "名称（中文）", 16),
    ("name_en", "名称（英文）", 16),
]
DIMENSION_COLUMNS: list[Column] = [
    ("code", "编号", 10),
    ("name_zh", "名称（中文）", 30),
    ("name_en", "名称（英文）", 30),
    ("weight", "权重", 8),
]
INDICATOR_COLUMNS: list[Column] = [
    ("dimension", "所属维度编号", 10),
    ("code", "指标编号", 10),
    ("name_zh", "名称（中文）", 26),
    ("name_en", "名称（英文）", 26),
    ("description_zh", "说明（中文）", 30),
    ("description_en", "说明（英文）", 30),
    ("weight", "权重", 8),
    ("key", "关键指标", 9),
    ("type", "类型（M 强制 / G 分级）", 9),
    ("evidence", "取证方式", 10),
    ("unit", "计量单位", 8),
    ("direction", "方向", 16),
    ("interpolate", "插值", 9),
]
RUBRIC_PARTS: list[tuple[str, str, float]] = [
    ("zh", "评分{r}标准（中文）", 30),
    ("en", "评分{r}标准（英文）", 30),
    ("anchor", "评分{r}锚点值", 9),
]
LEVEL_COLUMNS: list[Column] = [
    ("code", "编号", 12),
    ("name_zh", "名称（中文）", 14),
    ("name_en", "名称（英文）", 14),
    ("min_total", "最低总分", 10),
    ("min_dimension_share", "各维度最低得分率 0–1", 12),
    ("min_key_rating", "关键指标最低评分", 12),
]
VETO_COLUMNS: list[Column] = [
    ("code", "编号", 24),
    ("description_zh", "条件（中文）", 50),
    ("description_en", "条件（英文）", 50),
    ("cap_level", "最高可评等级编号（留空为不评级）", 16),
]
# Columns a sheet must have; the others may be left out (their values are then blank).
REQUIRED_COLUMNS: dict[str, set[str]] = {
    FRAMEWORK: {"key", "value"},
    RATINGS: {"rating", "name_zh"},
    DIMENSIONS: {"code", "name_zh"},
    INDICATORS: {"dimension", "code", "name_zh", "evidence"},
    LEVELS: {"code", "name_zh", "min_total"},
    VETOES: {"code", "description_zh"},
}
_RUBRIC_KEY = re.compile(r"^rubric\.(\d{1,2})\.(zh|en|anchor)$")
_TRUE = {"true", "yes", "y", "1", "是", "★", "✓", "√", "x"}
_FALSE = {"false", "no", "n", "0", "否"}

_BRAND = "1C4F8A"
_THIN = Side(style="thin", color="B8C4D0")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEADER_FILL = PatternFill("solid", fgColor=_BRAND)
_KEY_FILL = PatternFill("solid", fgColor="E8EEF5")


# ----------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class CellError:
    """One problem of an uploaded workbook, at a sheet, a row and a column when known."""

    sheet: str
    row: int | None
    column: str | None  # the column letter
    header: str  # the column's key (English header), or the framework setting
    message: str

    @property
    def place(self) -> tuple[str, int | None, str | None]:
        return (self.sheet, self.row, self.column)

    def __str__(self) -> str:
        if not self.sheet:
            return self.message
        values = {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "message": self.message,
        }
        if self.row is not None and self.column is not None:
            return (
                _("Sheet %(sheet)s, row %(row)s, column %(column)s (%(header)s): %(message)s")
                % values
            )
        if self.column is not None:
            return _("Sheet %(sheet)s, column %(column)s (%(header)s): %(message)s") % values
        if self.row is not None and self.header:
            return _("Sheet %(sheet)s, row %(row)s (%(header)s): %(message)s") % values
        if self.row is not None:
            return _("Sheet %(sheet)s, row %(row)s: %(message)s") % values
        if self.header:
            return _("Sheet %(sheet)s (%(header)s): %(message)s") % values
        return _("Sheet %(sheet)s: %(message)s") % values


class WorkbookInvalid(ValidationError):
    """A workbook that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[CellError]) -> None:
        self.errors = errors
        super().__init__([str(error) for error in errors])


# ----------------------------------------------------------------------------------------------
# Build


def workbook_filename(doc: Document) -> str:
    return f"{doc['code']}-{doc['version']}.xlsx"


def catalog_workbook(doc: Document) -> bytes:
    """The xlsx workbook of a normalised catalog document (``framework_document``)."""
    workbook = Workbook()
    readme = workbook.active
    # A new workbook holds one worksheet, active; the stubs allow for a chart sheet or none.
    assert isinstance(readme, Worksheet)
    readme.title = README
    _write_readme(readme, doc)

    sheet = _table(workbook, FRAMEWORK, FRAMEWORK_COLUMNS)
    unrated = doc["unrated_level"]
    rule = doc["pass_rule"] or {}
    values: dict[str, Any] = {
        **{key: doc[key] for key, _label in FRAMEWORK_ROWS if key in doc},
        "unrated_level.name_zh": unrated["name_zh"],
        "unrated_level.name_en": unrated["name_en"],
        **{f"pass_rule.{key}": value for key, value in rule.items()},
    }
    for row, (key, label) in enumerate(FRAMEWORK_ROWS, start=FIRST_ROW):
        _write_row(sheet, row, [label, key, values.get(key)], text={1, 2})
        sheet.cell(row=row, column=1).font = Font(bold=True, size=10)
        if key in ("code", "version"):
            sheet.cell(row=row, column=3).number_format = "@"
    sheet.freeze_panes = f"A{FIRST_ROW}"

    sheet = _table(workbook, RATINGS, RATING_COLUMNS)
    for row, rating in enumerate(doc["ratings"], start=FIRST_ROW):
        _write_row(sheet, row, [rating["rating"], rating["name_zh"], rating["name_en"]])

    sheet = _table(workbook, DIMENSIONS, DIMENSION_COLUMNS)
    for row, dimension in enumerate(doc["dimensions"], start=FIRST_ROW):
        _write_row(
            sheet,
            row,
            [dimension["code"], dimension["name_zh"], dimension["name_en"], dimension["weight"]],
            text={1},
        )

    columns = list(INDICATOR_COLUMNS)
    for rating in range(doc["max_rating"] + 1):
        columns += [
            (f"rubric.{rating}.{part}", zh.format(r=rating), w) for part, zh, w in RUBRIC_PARTS
        ]
    sheet = _table(workbook, INDICATORS, columns, freeze="C")
    row = FIRST_ROW
    for dimension in doc["dimensions"]:
        for indicator in dimension["indicators"]:
            quantity = indicator["quantity"] or {}
            rubric = {level["rating"]: level for level in indicator["rubric"]}
            cells: list[Any] = [
                dimension["code"],
                indicator["code"],
                indicator["name_zh"],
                indicator["name_en"],
                indicator["description_zh"],
                indicator["description_en"],
                indicator["weight"],
                indicator["key"],
                indicator["type"],
                ", ".join(indicator["evidence"]),
                quantity.get("unit"),
                quantity.get("direction"),
                quantity.get("interpolate") if quantity else None,
            ]
            for rating in range(doc["max_rating"] + 1):
                level = rubric.get(rating, {})
                cells += [level.get("zh"), level.get("en"), level.get("anchor")]
            _write_row(sheet, row, cells, text={1, 2})
            row += 1
    _validations(
        sheet,
        columns,
        last_row=max(row, FIRST_ROW) + 200,
        lists={
            "key": "TRUE,FALSE",
            "type": "M,G",
            "direction": "higher_is_better,lower_is_better",
            "interpolate": "TRUE,FALSE",
        },
    )

    sheet = _table(workbook, LEVELS, LEVEL_COLUMNS)
    for row, level in enumerate(doc["levels"], start=FIRST_ROW):
        _write_row(
            sheet,
            row,
            [
                level["code"],
                level["name_zh"],
                level["name_en"],
                level["min_total"],
                level["min_dimension_share"],
                level["min_key_rating"],
            ],
            text={1},
        )

    sheet = _table(workbook, VETOES, VETO_COLUMNS)
    for row, veto in enumerate(doc["vetoes"], start=FIRST_ROW):
        _write_row(
            sheet,
            row,
            [veto["code"], veto["description_zh"], veto["description_en"], veto["cap_level"]],
            text={1, 4},
        )

    workbook.properties.title = f"{doc['name_zh']} {doc['version']}"
    workbook.properties.creator = "govcloud_eval"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write_readme(sheet: Worksheet, doc: Document) -> None:
    lines = [
        f"政务云评估 · 指标体系  Indicator catalog: "
        f"{doc['name_zh']} {doc['version']}（{doc['code']}）",
        "",
        "本工作簿即指标体系文件（docs/catalog-format.md）的表格形式。修改后由管理员在“指标体系 → "
        "导入 Excel 指标体系”导入为新的草稿版本：先校验整个工作簿，任何一格有误则全部不保存，"
        "错误按工作表、行、列列出。",
        "This workbook is the catalog file (docs/catalog-format.md) as tables. An admin imports "
        "an edited copy as a new draft version; the whole workbook is checked first and every "
        "error is listed by sheet, row and column. If anything is wrong, nothing is saved.",
        "",
        "· 第 1 行为中文表头，第 2 行为英文键名（用于识别列，请勿修改）；数据从第 3 行开始。"
        "  Row 1: Chinese headers; row 2: the keys that identify the columns (do not change "
        "them); data from row 3.",
        "· 体系 Framework：体系设置，每行一项。  One framework setting a row.",
        "· 评分 Ratings：评分 0…最高评分 的名称。  The names of the ratings.",
        "· 维度 Dimensions：按显示顺序。  Dimensions in display order.",
        "· 指标 Indicators：按“所属维度编号”归入维度，按行序排列；每个评分一组标准列"
        "（强制项 M 只填评分 0 和 1）；取证方式写字母，以逗号分隔："
        + "、".join(EVIDENCE_CODES)
        + "。  Indicators join their dimension by its code, in row order; one rubric column "
        "group per rating (mandatory M items: ratings 0 and 1 only); evidence as letters "
        "separated by commas.",
        "· 等级规则 Levels：从最低等级起。  Level rules, from the lowest.",
        "· 一票否决 Vetoes：一票否决项。  One-vote vetoes.",
        "· 是/否 一栏填 TRUE 或 FALSE（也可填 是 / 否）。  Yes/no cells: TRUE or FALSE.",
    ]
    sheet.column_dimensions["A"].width = 120
    for row, line in enumerate(lines, start=1):
        cell = sheet.cell(row=row, column=1)
        _put(cell, line or None)
        cell.alignment = _WRAP
        if row == 1:
            cell.font = Font(bold=True, size=14, color=_BRAND)


def _table(workbook: Workbook, title: str, columns: list[Column], freeze: str = "A") -> Worksheet:
    sheet = workbook.create_sheet(title)
    for index, (key, zh, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        top = sheet.cell(row=HEADER_ROW, column=index, value=zh)
        top.font = Font(bold=True, color="FFFFFF", size=10)
        top.fill = _HEADER_FILL
        top.alignment = _WRAP
        top.border = _BORDER
        sub = sheet.cell(row=KEY_ROW, column=index, value=key)
        sub.font = Font(italic=True, color="4A5868", size=9)
        sub.fill = _KEY_FILL
        sub.border = _BORDER
    sheet.freeze_panes = f"{freeze}{FIRST_ROW}"
    return sheet


def _write_row(
    sheet: Worksheet, row: int, values: list[Any], *, text: Collection[int] = ()
) -> None:
    for index, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=index)
        _put(cell, None if value == "" else value)
        cell.alignment = _WRAP
        cell.border = _BORDER
        cell.font = Font(size=10)
        if index in text:
            cell.number_format = "@"


def _put(cell: Any, value: Any) -> None:
    """Writes ``value``; text always as text, never as a formula (a name starting with ``=``
    stays words in Excel and reads back as written)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _validations(
    sheet: Worksheet, columns: list[Column], *, last_row: int, lists: dict[str, str]
) -> None:
    for index, (key, _zh, _width) in enumerate(columns, start=1):
        if key not in lists:
            continue
        letter = get_column_letter(index)
        validation = DataValidation(type="list", formula1=f'"{lists[key]}"', allow_blank=True)
        validation.add(f"{letter}{FIRST_ROW}:{letter}{last_row}")
        sheet.add_data_validation(validation)


# ----------------------------------------------------------------------------------------------
# Read


@dataclass
class _Table:
    """One sheet read: its columns by key, and its non-blank rows by row number."""

    sheet: str
    columns: dict[str, str]  # key -> column letter
    rows: list[tuple[int, dict[str, Any]]]


@dataclass
class _Places:
    """Where each part of the built document came from, to name the cell of an error."""

    tables: dict[str, _Table]
    framework_rows: dict[str, int] = field(default_factory=dict)
    rating_rows: list[int] = field(default_factory=list)
    dimension_rows: list[int] = field(default_factory=list)
    indicator_rows: dict[tuple[int, int], int] = field(default_factory=dict)
    rubric_ratings: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    level_rows: list[int] = field(default_factory=list)
    veto_rows: list[int] = field(default_factory=list)

    def cell(self, sheet: str, row: int | None, key: str, message: str) -> CellError:
        table = self.tables.get(sheet)
        letter = table.columns.get(key) if table is not None else None
        return CellError(sheet, row, letter, key, message)


def _unreadable() -> WorkbookInvalid:
    return WorkbookInvalid(
        [
            CellError(
                "",
                None,
                None,
                "",
                _(
                    "The file is not an Excel workbook (.xlsx) or cannot be read. Upload the "
                    ".xlsx file downloaded from a framework page (or saved by Excel as .xlsx)."
                ),
            )
        ]
    )


def _open(data: bytes) -> Workbook:
    unreadable = _unreadable()
    if not data.startswith(b"PK\x03\x04"):
        raise unreadable
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                raise unreadable
        # openpyxl parses with defusedxml when it is installed (it is: see pyproject.toml).
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookInvalid:
        raise
    # openpyxl reports a damaged or foreign file with many kinds of error (BadZipFile, KeyError,
    # ValueError, TypeError, XML errors); to the person uploading they all mean the same thing.
    except Exception as exc:
        raise unreadable from exc


def _key_text(value: object) -> str:
    """A code or a key as typed: full-width characters made ASCII, spaces trimmed, and a number
    Excel made of ``1`` or ``1.1`` back as the text it was."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _words(value: object) -> str:
    """Prose (names, descriptions, rubric texts) as written; a blank cell is empty text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _number(value: object) -> Any:
    """A number cell: a number (canonical), None when blank; text that is not a number stays
    text, for the catalog validation to name ("expected a number, got ...")."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return canonical_number(value)
    text = _key_text(value)
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return str(value).strip()
    return canonical_number(number) if number.is_finite() else str(value).strip()


def _integer(value: object) -> Any:
    number = _number(value)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _boolean(value: object) -> Any:
    """A yes/no cell: True or False; None when blank; anything else stays as written."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _key_text(value).lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return str(value).strip()


def _read_table(workbook: Workbook, title: str, errors: list[CellError]) -> _Table | None:
    if title not in workbook.sheetnames:
        errors.append(CellError(title, None, None, "", _("the sheet is missing")))
        return None
    sheet = workbook[title]
    if not hasattr(sheet, "iter_rows"):  # a chart sheet
        errors.append(CellError(title, None, None, "", _("the sheet is missing")))
        return None
    rows = sheet.iter_rows(values_only=True)
    keys: tuple[Any, ...] = ()
    for number, values in enumerate(rows, start=1):
        if number == KEY_ROW:
            keys = values
            break
    columns: dict[str, str] = {}
    for index, raw in enumerate(keys, start=1):
        key = _key_text(raw)
        letter = get_column_letter(index)
        if not key:
            continue
        if key in columns:
            errors.append(
                CellError(
                    title,
                    KEY_ROW,
                    letter,
                    key,
                    _("the column %(key)s is already in column %(other)s")
                    % {"key": key, "other": columns[key]},
                )
            )
            continue
        if not _known_column(title, key):
            errors.append(
                CellError(
                    title,
                    KEY_ROW,
                    letter,
                    key,
                    _("unknown column %(key)s; the English header in row 2 names the column")
                    % {"key": key},
                )
            )
            continue
        columns[key] = letter
    for key in sorted(REQUIRED_COLUMNS[title] - set(columns)):
        errors.append(
            CellError(
                title,
                KEY_ROW,
                None,
                key,
                _("the column %(key)s is missing (row 2 must name it)") % {"key": key},
            )
        )
    by_index = {key: _column_index(letter) for key, letter in columns.items()}
    table_rows: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(rows, start=KEY_ROW + 1):
        if number > MAX_ROWS + KEY_ROW:
            errors.append(
                CellError(
                    title, number, None, "", _("more than %(max)s rows") % {"max": f"{MAX_ROWS:,}"}
                )
            )
            break
        record = {
            key: values[index] if index < len(values) else None for key, index in by_index.items()
        }
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in record.values()):
            continue
        table_rows.append((number, record))
    return _Table(title, columns, table_rows)


def _column_index(letter: str) -> int:
    index = 0
    for char in letter:
        index = index * 26 + ord(char) - 64
    return index - 1


def _known_column(title: str, key: str) -> bool:
    known = {
        FRAMEWORK: FRAMEWORK_COLUMNS,
        RATINGS: RATING_COLUMNS,
        DIMENSIONS: DIMENSION_COLUMNS,
        INDICATORS: INDICATOR_COLUMNS,
        LEVELS: LEVEL_COLUMNS,
        VETOES: VETO_COLUMNS,
    }[title]
    if any(key == k for k, _zh, _w in known):
        return True
    return title == INDICATORS and _RUBRIC_KEY.match(key) is not None


def workbook_document(
    data: bytes, *, version: str = ""
) -> tuple[Document, _Places, list[CellError]]:
    """Reads a workbook into a raw catalog document (not yet validated), where each part came
    from, and the problems only a workbook can have. ``version``, if given, replaces the
    workbook's version. Raises ``WorkbookInvalid`` when the workbook's layout is wrong (a sheet
    or a column missing): its cells could not be read in the right place."""
    workbook = _open(data)
    errors: list[CellError] = []
    try:
        tables = {
            title: _read_table(workbook, title, errors)
            for title in (FRAMEWORK, RATINGS, DIMENSIONS, INDICATORS, LEVELS, VETOES)
        }
    # A read-only workbook parses each sheet while its rows are read: a damaged sheet fails here.
    except Exception as exc:
        raise _unreadable() from exc
    finally:
        workbook.close()
    if errors:
        raise WorkbookInvalid(errors)
    ready = {title: table for title, table in tables.items() if table is not None}
    places = _Places(tables=ready)
    doc, problems = _build(ready, places, version=version.strip())
    return doc, places, problems


def _build(
    tables: dict[str, _Table], places: _Places, *, version: str
) -> tuple[Document, list[CellError]]:
    problems: list[CellError] = []

    def missing(sheet: str, row: int, key: str, what: str) -> None:
        problems.append(places.cell(sheet, row, key, _("%(what)s is missing") % {"what": what}))

    # Framework settings.
    settings: dict[str, Any] = {}
    for row, record in tables[FRAMEWORK].rows:
        key = _key_text(record.get("key"))
        if not key:
            continue
        if key not in dict(FRAMEWORK_ROWS):
            problems.append(
                places.cell(
                    FRAMEWORK,
                    row,
                    "key",
                    _("unknown setting %(key)s; allowed are %(allowed)s")
                    % {"key": key, "allowed": ", ".join(k for k, _l in FRAMEWORK_ROWS)},
                )
            )
            continue
        if key in places.framework_rows:
            problems.append(
                places.cell(
                    FRAMEWORK,
                    row,
                    "key",
                    _("the setting %(key)s is already in row %(row)s")
                    % {"key": key, "row": places.framework_rows[key]},
                )
            )
            continue
        places.framework_rows[key] = row
        settings[key] = record.get("value")

    doc: Document = {"format": 1}
    for key in ("code", "version", "kind"):
        doc[key] = _key_text(settings.get(key))
    if version:
        doc["version"] = version
    for key in ("name_zh", "name_en", "provenance"):
        if key in settings:
            doc[key] = _words(settings[key])
    for key in ("max_rating", "report_validity_months"):
        value = _integer(settings.get(key))
        if value is not None:
            doc[key] = value
    # Absent, a comprehensive framework's total weight is 100; blank in a workbook means none.
    doc["total_weight"] = _number(settings.get("total_weight"))
    unrated = {
        "name_zh": _words(settings.get("unrated_level.name_zh")),
        "name_en": _words(settings.get("unrated_level.name_en")),
    }
    if any(unrated.values()):
        doc["unrated_level"] = unrated
    rule_values = {
        "require_all_mandatory": _boolean(settings.get("pass_rule.require_all_mandatory")),
        "min_graded_share": _number(settings.get("pass_rule.min_graded_share")),
        "min_graded_rating": _integer(settings.get("pass_rule.min_graded_rating")),
        "validity_months": _integer(settings.get("pass_rule.validity_months")),
    }
    if any(value is not None for value in rule_values.values()):
        doc["pass_rule"] = {k: v for k, v in rule_values.items() if v is not None}
    max_rating = doc.get("max_rating", 3)
    max_rating = max_rating if isinstance(max_rating, int) and 0 < max_rating <= 10 else 3

    # Ratings.
    ratings = []
    for row, record in tables[RATINGS].rows:
        places.rating_rows.append(row)
        rating = {
            "rating": _integer(record.get("rating")),
            "name_zh": _words(record.get("name_zh")),
        }
        if "name_en" in record:
            rating["name_en"] = _words(record.get("name_en"))
        ratings.append(rating)
    if ratings:
        doc["ratings"] = ratings

    # Dimensions, then their indicators (joined by the dimension's code, in row order).
    seen: dict[str, int] = {}

    def duplicate(sheet: str, row: int, code: str, scope: dict[str, int]) -> None:
        if code in scope:
            problems.append(
                places.cell(
                    sheet,
                    row,
                    "code",
                    _("duplicate code %(code)s; it is already in row %(row)s")
                    % {"code": code, "row": scope[code]},
                )
            )
        else:
            scope[code] = row

    dimensions: list[Document] = []
    dimension_index: dict[str, int] = {}
    for row, record in tables[DIMENSIONS].rows:
        code = _key_text(record.get("code"))
        if not code:
            missing(DIMENSIONS, row, "code", _("the code"))
        else:
            duplicate(DIMENSIONS, row, code, seen)
            dimension_index.setdefault(code, len(dimensions))
        dimension: Document = {
            "code": code,
            "name_zh": _words(record.get("name_zh")),
            "indicators": [],
        }
        if "name_en" in record:
            dimension["name_en"] = _words(record.get("name_en"))
        weight = _number(record.get("weight"))
        if weight is not None:
            dimension["weight"] = weight
        places.dimension_rows.append(row)
        dimensions.append(dimension)
    doc["dimensions"] = dimensions

    indicator_codes: dict[str, int] = {}
    for row, record in tables[INDICATORS].rows:
        owner = _key_text(record.get("dimension"))
        code = _key_text(record.get("code"))
        if not code:
            missing(INDICATORS, row, "code", _("the code"))
        else:
            duplicate(INDICATORS, row, code, indicator_codes)
        if not owner:
            missing(INDICATORS, row, "dimension", _("the dimension code"))
            continue
        if owner not in dimension_index:
            problems.append(
                places.cell(
                    INDICATORS,
                    row,
                    "dimension",
                    _("%(code)s is not the code of a dimension on the sheet %(sheet)s")
                    % {"code": owner, "sheet": DIMENSIONS},
                )
            )
            continue
        i = dimension_index[owner]
        j = len(dimensions[i]["indicators"])
        indicator, ratings_given = _indicator(record, row, code, max_rating, places, problems)
        dimensions[i]["indicators"].append(indicator)
        places.indicator_rows[(i, j)] = row
        places.rubric_ratings[(i, j)] = ratings_given

    # Levels and vetoes.
    levels = []
    level_codes: dict[str, int] = {}
    for row, record in tables[LEVELS].rows:
        code = _key_text(record.get("code"))
        if code:
            duplicate(LEVELS, row, code, level_codes)
        level: Document = {
            "code": code,
            "name_zh": _words(record.get("name_zh")),
            "min_total": _number(record.get("min_total")),
            "min_dimension_share": _number(record.get("min_dimension_share")),
            "min_key_rating": _integer(record.get("min_key_rating")),
        }
        if "name_en" in record:
            level["name_en"] = _words(record.get("name_en"))
        places.level_rows.append(row)
        levels.append(level)
    if levels:
        doc["levels"] = levels
    vetoes = []
    veto_codes: dict[str, int] = {}
    for row, record in tables[VETOES].rows:
        code = _key_text(record.get("code"))
        if code:
            duplicate(VETOES, row, code, veto_codes)
        cap = _key_text(record.get("cap_level"))
        veto: Document = {
            "code": code,
            "description_zh": _words(record.get("description_zh")),
            "cap_level": cap or None,
        }
        if "description_en" in record:
            veto["description_en"] = _words(record.get("description_en"))
        places.veto_rows.append(row)
        vetoes.append(veto)
    if vetoes:
        doc["vetoes"] = vetoes
    return doc, problems


def _indicator(
    record: dict[str, Any],
    row: int,
    code: str,
    max_rating: int,
    places: _Places,
    problems: list[CellError],
) -> tuple[Document, list[int]]:
    indicator: Document = {"code": code, "name_zh": _words(record.get("name_zh"))}
    for key in ("name_en", "description_zh", "description_en"):
        if key in record:
            indicator[key] = _words(record.get(key))
    weight = _number(record.get("weight"))
    if weight is not None:
        indicator["weight"] = weight
    key_flag = _boolean(record.get("key"))
    if key_flag is not None:
        indicator["key"] = key_flag
    kind = _key_text(record.get("type")).upper()
    if kind:
        indicator["type"] = kind
    evidence = _key_text(record.get("evidence"))
    indicator["evidence"] = [part.upper() for part in re.split(r"[\s,;、，；/]+", evidence) if part]
    unit = _words(record.get("unit")).strip()
    direction = _key_text(record.get("direction"))
    interpolate = _boolean(record.get("interpolate"))
    if unit or direction or interpolate:
        quantity: Document = {"unit": unit}
        if direction:
            quantity["direction"] = direction
        if interpolate is not None:
            quantity["interpolate"] = interpolate
        indicator["quantity"] = quantity

    # Every rating up to the top (1 for a mandatory item) has a level; a higher rating only
    # when one of its cells is filled in (the validation then names the extra rating).
    top = 1 if kind == "M" else max_rating
    present = sorted(
        {int(m.group(1)) for key in record if (m := _RUBRIC_KEY.match(key))} | set(range(top + 1))
    )
    rubric: list[Document] = []
    ratings_given: list[int] = []
    for rating in present:
        zh = _words(record.get(f"rubric.{rating}.zh"))
        en = _words(record.get(f"rubric.{rating}.en"))
        anchor = _number(record.get(f"rubric.{rating}.anchor"))
        if rating > top and not zh.strip() and not en.strip() and anchor is None:
            continue
        if not zh.strip():
            problems.append(
                places.cell(
                    INDICATORS,
                    row,
                    f"rubric.{rating}.zh",
                    _("the rubric text (Chinese) of rating %(rating)s of %(code)s is missing")
                    % {"rating": rating, "code": code or "?"},
                )
            )
        level: Document = {"rating": rating, "zh": zh, "en": en}
        if anchor is not None:
            level["anchor"] = anchor
        rubric.append(level)
        ratings_given.append(rating)
    indicator["rubric"] = rubric
    return indicator, ratings_given


# ----------------------------------------------------------------------------------------------
# Errors of the catalog validation, by cell


_PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def _path_parts(path: str) -> list[str | int]:
    if path == format_path([]):
        return []
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        parts.append(int(index) if index else name)
    return parts


def _locate(places: _Places, parts: list[str | int], message: str) -> CellError:
    """The cell a catalog validation error at ``parts`` (its path in the document) came from."""
    if not parts:
        return CellError(FRAMEWORK, None, None, "", message)
    head = parts[0]
    if head in ("unrated_level", "pass_rule"):
        settings = [k for k, _l in FRAMEWORK_ROWS if k.startswith(f"{head}.")]
        key = f"{head}.{parts[1]}" if len(parts) > 1 else settings[0]
        if key not in places.framework_rows and len(parts) == 1:
            key = next((k for k in settings if k in places.framework_rows), key)
        return _framework_cell(places, key, message)
    if head == "ratings":
        return _list_cell(places, RATINGS, places.rating_rows, parts[1:], message)
    if head == "levels":
        return _list_cell(places, LEVELS, places.level_rows, parts[1:], message)
    if head == "vetoes":
        return _list_cell(places, VETOES, places.veto_rows, parts[1:], message)
    if head == "dimensions":
        rest: list[Any] = list(parts[1:])
        if len(rest) >= 3 and rest[1] == "indicators" and isinstance(rest[0], int):
            return _indicator_cell(places, rest[0], rest[2], rest[3:], message)
        if len(rest) == 2 and rest[1] == "indicators":
            # A dimension with no indicators: named at its code.
            rest = [rest[0], "code"]
        if not rest:
            rest = [None, "weight"]
        return _list_cell(places, DIMENSIONS, places.dimension_rows, rest, message)
    return _framework_cell(places, str(head), message)


def _framework_cell(places: _Places, key: str, message: str) -> CellError:
    row = places.framework_rows.get(key)
    letter = places.tables[FRAMEWORK].columns.get("value") if row is not None else None
    return CellError(FRAMEWORK, row, letter, key, message)


def _list_cell(
    places: _Places, sheet: str, rows: list[int], rest: list[Any], message: str
) -> CellError:
    row = rows[rest[0]] if rest and isinstance(rest[0], int) and rest[0] < len(rows) else None
    key = str(rest[1]) if len(rest) > 1 else ""
    if key:
        return places.cell(sheet, row, key, message)
    return CellError(sheet, row, None, "", message)


def _indicator_cell(
    places: _Places, i: int, j: Any, rest: list[str | int], message: str
) -> CellError:
    row = places.indicator_rows.get((i, j)) if isinstance(j, int) else None
    if not rest:
        return places.cell(INDICATORS, row, "code", message)
    key = str(rest[0])
    if key == "quantity":
        key = str(rest[1]) if len(rest) > 1 else "direction"
    elif key == "rubric":
        ratings = places.rubric_ratings.get((i, j), []) if isinstance(j, int) else []
        if len(rest) > 1 and isinstance(rest[1], int) and rest[1] < len(ratings):
            part = str(rest[2]) if len(rest) > 2 else "zh"
            key = f"rubric.{ratings[rest[1]]}.{'zh' if part == 'rating' else part}"
        else:
            key = f"rubric.{ratings[-1] if ratings else 0}.zh"
    return places.cell(INDICATORS, row, key, message)


def _merge(first: list[CellError], then: list[CellError]) -> list[CellError]:
    """``first``, then those of ``then`` at a cell ``first`` does not already name."""
    named = {error.place for error in first if error.row is not None}
    merged = list(first)
    for error in then:
        if error.place in named and error.row is not None:
            continue
        named.add(error.place)
        merged.append(error)
    return merged


# ----------------------------------------------------------------------------------------------
# Entry point


def workbook_catalog(data: bytes, *, filename: str, version: str = "") -> tuple[Document, str]:
    """Reads and checks an uploaded workbook; returns the normalised catalog document and its
    YAML text (what ``framework_import`` takes). ``version``, if given, replaces the version the
    workbook names. Touches no database.

    Raises ``WorkbookInvalid`` naming every problem by sheet, row and column: the problems of the
    workbook itself and those the catalog validation finds (the same checks, and the same
    messages, as a YAML file).
    """
    raw, places, problems = workbook_document(data, version=version)
    source = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
    try:
        doc = catalog_parse(source, filename=filename)
    except CatalogInvalid as exc:
        found = [_from_catalog(places, error) for error in exc.errors]
        raise WorkbookInvalid(_in_order(_merge(problems, found))) from None
    if problems:
        raise WorkbookInvalid(_in_order(problems))
    return doc, source


_SHEET_ORDER = [FRAMEWORK, RATINGS, DIMENSIONS, INDICATORS, LEVELS, VETOES]


def _in_order(errors: list[CellError]) -> list[CellError]:
    """Sheet by sheet in the workbook's order, then by row and column; each sheet's errors
    without a row first."""

    def key(error: CellError) -> tuple[int, int, int]:
        sheet = _SHEET_ORDER.index(error.sheet) if error.sheet in _SHEET_ORDER else -1
        column = _column_index(error.column) if error.column else -1
        return (sheet, error.row or 0, column)

    return sorted(errors, key=key)


def _from_catalog(places: _Places, error: CatalogError) -> CellError:
    return _locate(places, _path_parts(error.path), error.message)


def cell_errors(exc: ValidationError) -> Iterator[CellError]:
    """The errors of a refused import, as cell errors (messages without a cell: no place)."""
    if isinstance(exc, WorkbookInvalid):
        yield from exc.errors
        return
    if isinstance(exc, CatalogInvalid):
        for error in exc.errors:
            yield CellError(FRAMEWORK, None, None, "", str(error))
        return
    for message in exc.messages:
        yield CellError("", None, None, "", message)
