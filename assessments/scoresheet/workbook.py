"""Excel score sheets (评分表) for assessors, as workbooks: build one assignment's sheet, and read
an uploaded one back into checked rows. Writes nothing: ``services.score_sheet_import`` saves.

``score_sheet_build`` writes the workbook, pre-filled with the saved ratings (which it reads);
``score_sheet_parse`` reads one back without touching the database (the indicators come in as an
argument) and raises one ValidationError listing every bad cell as ``评分表!G12: …``.

The sheet's headers and fixed labels are Chinese with an English second header row: they are data
for Chinese assessors (like the catalog's own names), not interface text, so they are not run
through gettext. The errors a person reads in the portal are translated.

Layout (the columns are fixed; only G and H can be edited)::

    A 维度  B 指标编号  C 指标名称  D 关键指标  E 类型  F 权重  G 评分  H 评分理由
    I.. 评分标准 for each rating 0..max_rating, one column per rating

A very hidden, protected second sheet holds the identity block (assignment id, framework code and
version). It guards against mistakes (uploading the sheet of another cloud or another catalog), not
against forgery: an edited identity still only reaches ``rating_save``, which lets an assessor
write nothing but their own assignment while scoring is open.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from indicators.models import Framework, Indicator

from .. import selectors
from ..models import Assignment, Rating
from ..services import RATIONALE_MAX

SHEET = "评分表"
IDENTITY_SHEET = "_identity"
FORMAT = "govcloud_eval/score-sheet/1"
MET = "达标"
NOT_MET = "未达标"
# A mandatory item's saved decision as the sheet shows it; undecided (None) is a blank cell.
_MET_TEXT: dict[bool | None, str] = {True: MET, False: NOT_MET}
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A real sheet is tens of kilobytes; anything far larger is a mistake or a zip bomb.
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024

# (letter, Chinese header, English header, width in character units)
COLUMNS: list[tuple[str, str, str, float]] = [
    ("A", "维度", "Dimension", 13),
    ("B", "指标编号", "Code", 8),
    ("C", "指标名称", "Indicator", 22),
    ("D", "关键指标", "Key", 9),
    ("E", "类型", "Type", 6),
    ("F", "权重", "Weight", 6),
    ("G", "评分", "Rating", 9),
    ("H", "评分理由", "Rationale", 34),
]
CODE_COLUMN = "B"
RATING_COLUMN = "G"
RATIONALE_COLUMN = "H"
RUBRIC_WIDTH = 24
HEADER_ROW = 9  # Chinese headers; English headers on the next row; data below.

_BRAND = "1C4F8A"
_THIN = Side(style="thin", color="B8C4D0")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(wrap_text=True, vertical="top", horizontal="center")
_INPUT_FILL = PatternFill("solid", fgColor="FFF8E1")
_HEADER_FILL = PatternFill("solid", fgColor=_BRAND)
_SUBHEADER_FILL = PatternFill("solid", fgColor="E8EEF5")
_LINE_HEIGHT = 13.5  # points per wrapped line at 10 pt


@dataclass(frozen=True)
class SheetRow:
    """One indicator row of an uploaded sheet, checked."""

    row: int
    indicator: Indicator
    rating: int | None
    met: bool | None
    rationale: str

    @property
    def is_blank(self) -> bool:
        return self.rating is None and self.met is None and not self.rationale


# ----------------------------------------------------------------------------------------------
# Build


def score_sheet_filename(*, assignment: Assignment) -> str:
    """A readable file name: 评分表_<cloud>_<campaign>_<assessor>.xlsx, without path characters."""
    assessment = assignment.assessment
    parts = ["评分表", assessment.cloud.name, assessment.campaign.name, str(assignment.assessor)]
    name = "_".join(re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", p).strip() for p in parts)
    return f"{name}.xlsx"


def score_sheet_build(*, assignment: Assignment) -> bytes:
    """The xlsx score sheet of one assignment, pre-filled with the assessor's saved ratings.

    Reads only; can be called in any state (after submission the sheet is a record to read).
    """
    assessment = assignment.assessment
    campaign = assessment.campaign
    framework = campaign.framework
    indicators = selectors.indicators_of(assessment=assessment)
    saved = {r.indicator_id: r for r in Rating.objects.filter(assignment=assignment)}
    rating_names = {int(n["rating"]): n.get("name_zh", "") for n in framework.rating_names or []}
    maximum = framework.max_rating

    workbook = Workbook()
    sheet = workbook.active
    # A new workbook holds one worksheet, active; the stubs allow for a chart sheet or none.
    assert isinstance(sheet, Worksheet)
    sheet.title = SHEET
    _write_top_block(sheet, assignment=assignment, framework=framework, rating_names=rating_names)

    columns = list(COLUMNS)
    for rating in range(maximum + 1):
        name = rating_names.get(rating, "")
        columns.append(
            (
                get_column_letter(len(COLUMNS) + 1 + rating),
                f"评分标准：{rating} {name}".strip(),
                f"Rubric: {rating}",
                RUBRIC_WIDTH,
            )
        )
    last_letter = columns[-1][0]
    for letter, zh, en, width in columns:
        sheet.column_dimensions[letter].width = width
        top = sheet[f"{letter}{HEADER_ROW}"]
        top.value = zh
        top.font = Font(bold=True, color="FFFFFF", size=10)
        top.fill = _HEADER_FILL
        top.alignment = _CENTER
        top.border = _BORDER
        sub = sheet[f"{letter}{HEADER_ROW + 1}"]
        sub.value = en
        sub.font = Font(italic=True, color="4A5868", size=9)
        sub.fill = _SUBHEADER_FILL
        sub.alignment = _CENTER
        sub.border = _BORDER
    sheet.row_dimensions[HEADER_ROW].height = 2 * _LINE_HEIGHT + 4

    graded_list = ",".join(str(r) for r in range(maximum + 1))
    prompt = " · ".join(f"{r} {rating_names.get(r, '')}".strip() for r in range(maximum + 1))
    graded = DataValidation(
        type="list",
        formula1=f'"{graded_list}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="评分无效",
        error=f"请选择 0 到 {maximum} 的整数。",
        showInputMessage=True,
        promptTitle="评分",
        prompt=prompt[:250],
    )
    mandatory = DataValidation(
        type="list",
        formula1=f'"{MET},{NOT_MET}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="评分无效",
        error=f"强制项请选择“{MET}”或“{NOT_MET}”。",
        showInputMessage=True,
        promptTitle="强制项",
        prompt=f"{MET} / {NOT_MET}",
    )

    row = HEADER_ROW + 2
    for indicator in indicators:
        record = saved.get(indicator.pk)
        rubric = {level.rating: level.text_zh for level in indicator.rubric.all()}
        if indicator.is_mandatory:
            value: Any = _MET_TEXT.get(record.met) if record else None
            mandatory.add(f"{RATING_COLUMN}{row}")
        else:
            value = record.rating if record else None
            graded.add(f"{RATING_COLUMN}{row}")
        dimension = indicator.dimension
        cells: list[Any] = [
            f"{dimension.code} {dimension.name_zh}",
            indicator.code,
            indicator.name_zh,
            "★" if indicator.is_key else None,
            indicator.requirement_type or None,
            float(indicator.weight) if indicator.weight is not None else None,
            value,
            record.rationale if record else None,
            *[rubric.get(r) for r in range(maximum + 1)],
        ]
        lines = 1
        for (letter, _zh, _en, width), content in zip(columns, cells, strict=True):
            cell = sheet[f"{letter}{row}"]
            _put(cell, content)
            cell.font = Font(size=10, bold=letter == CODE_COLUMN)
            cell.border = _BORDER
            cell.alignment = _CENTER if letter in "BDEFG" else _WRAP
            if letter == CODE_COLUMN:
                cell.number_format = "@"
            if letter in (RATING_COLUMN, RATIONALE_COLUMN):
                cell.fill = _INPUT_FILL
                cell.protection = Protection(locked=False)
            if isinstance(content, str):
                lines = max(lines, _wrapped_lines(content, width))
        sheet.row_dimensions[row].height = min(lines, 20) * _LINE_HEIGHT + 4
        row += 1

    sheet.add_data_validation(graded)
    sheet.add_data_validation(mandatory)
    sheet.freeze_panes = f"D{HEADER_ROW + 2}"
    _protect(sheet)
    _print_setup(sheet, last_letter=last_letter, last_row=row - 1)
    _write_identity(workbook, assignment=assignment, framework=framework)
    workbook.security = WorkbookProtection(lockStructure=True)
    workbook.properties.title = f"{SHEET} · {assessment.cloud.name}"
    workbook.properties.creator = "govcloud_eval"

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _put(cell: Any, value: Any) -> None:
    """Writes ``value``; text always as text, never as a formula: a cloud name or a rationale
    that starts with ``=`` stays words in Excel, and reads back as written."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _write_top_block(
    sheet: Worksheet, *, assignment: Assignment, framework: Framework, rating_names: dict[int, str]
) -> None:
    assessment = assignment.assessment
    assessor = assignment.assessor
    sheet["A1"] = "政务云评估 · 专家评分表  Score sheet"
    sheet["A1"].font = Font(bold=True, size=14, color=_BRAND)
    sheet.row_dimensions[1].height = 22
    scale = "、".join(f"{r} {n}" for r, n in sorted(rating_names.items()))
    facts = [
        ("云平台 Cloud", assessment.cloud.name),
        ("评估批次 Campaign", assessment.campaign.name),
        ("指标体系 Framework", f"{framework.name_zh} {framework.version}（{framework.code}）"),
        ("评估专家 Assessor", f"{assessor}（{assessor.get_username()}）"),
        (
            "任务编号 Assignment",
            f"{assignment.pk} · 导出时间 {timezone.localtime():%Y-%m-%d %H:%M}",
        ),
        (
            "填写说明 How to fill in",
            f"在“评分”列选择评分（{scale}；强制项选“{MET}”或“{NOT_MET}”），并在“评分理由”列写明"
            "依据；只有黄色两列可以修改。上传时先校验整张表，任何一格有误则全部不保存；"
            "表中没有的指标保留系统中原有评分。\n"
            "Pick a rating in 评分 (mandatory items: 达标 met / 未达标 not met) and write the "
            "rationale in 评分理由. The whole sheet is checked on upload; if any cell is wrong, "
            "nothing is saved.",
        ),
    ]
    for offset, (label, value) in enumerate(facts):
        row = 2 + offset
        sheet[f"A{row}"] = label
        sheet[f"A{row}"].font = Font(bold=True, size=10, color="4A5868")
        sheet[f"A{row}"].alignment = _WRAP
        _put(sheet[f"C{row}"], value)
        sheet[f"C{row}"].font = Font(size=10)
        sheet[f"C{row}"].alignment = _WRAP
        sheet.merge_cells(f"A{row}:B{row}")
        sheet.merge_cells(f"C{row}:H{row}")
    # The instructions are the only long line of the block: give them room for four lines.
    sheet.row_dimensions[7].height = 4 * _LINE_HEIGHT + 4


def _wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a column ``width`` characters wide (CJK counts double)."""
    usable = max(width - 1, 1)
    total = 0
    for paragraph in text.split("\n"):
        columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in paragraph)
        total += max(1, math.ceil(columns / usable))
    return total


def _protect(sheet: Worksheet) -> None:
    # No password: protection stops accidental edits of codes and rubric, not a determined user
    # (see the module docstring). Resizing rows and columns stays allowed for reading.
    protection = sheet.protection
    protection.sheet = True
    protection.formatColumns = False
    protection.formatRows = False
    protection.selectLockedCells = False
    protection.selectUnlockedCells = False


def _print_setup(sheet: Worksheet, *, last_letter: str, last_row: int) -> None:
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"
    sheet.print_area = f"A1:{last_letter}{last_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_setup.fitToPage = True  # sets sheet_properties.pageSetUpPr.fitToPage
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    footer = sheet.oddFooter
    assert footer is not None  # a new worksheet has an empty one
    footer.center.text = "第 &P 页，共 &N 页"
    footer.right.text = "&A"


def _write_identity(workbook: Workbook, *, assignment: Assignment, framework: Framework) -> None:
    identity = workbook.create_sheet(IDENTITY_SHEET)
    for row, (key, value) in enumerate(
        [
            ("format", FORMAT),
            ("assignment", assignment.pk),
            ("assessment", assignment.assessment_id),
            ("framework_code", framework.code),
            ("framework_version", framework.version),
            ("assessor", assignment.assessor.get_username()),
        ],
        start=1,
    ):
        identity.cell(row=row, column=1, value=key)
        cell = identity.cell(row=row, column=2)
        _put(cell, value)
        cell.number_format = "@"
    identity.sheet_state = "veryHidden"
    identity.protection.sheet = True


# ----------------------------------------------------------------------------------------------
# Parse


def _text(value: object) -> str:
    """A cell's value as the text a person sees, normalised: full-width digits and spaces become
    ASCII, surrounding white space goes."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cell(letter: str, row: int) -> str:
    return f"{SHEET}!{letter}{row}"


def _worksheet(workbook: Workbook, name: str) -> Worksheet | None:
    """The worksheet called ``name``; None when there is none, or only a chart sheet."""
    if name not in workbook.sheetnames:
        return None
    sheet = workbook[name]
    return sheet if isinstance(sheet, Worksheet) else None


def _read_identity(workbook: Workbook) -> dict[str, str] | None:
    identity = _worksheet(workbook, IDENTITY_SHEET)
    if identity is None:
        return None
    values = {
        _text(key): _text(value)
        for key, value in identity.iter_rows(min_col=1, max_col=2, values_only=True)
        if key is not None
    }
    return values if values.get("format") == FORMAT else None


def score_sheet_parse(
    data: bytes,
    *,
    assignment_id: int,
    framework: Framework,
    indicators: Sequence[Indicator],
) -> list[SheetRow]:
    """Reads and checks an uploaded score sheet; touches no database.

    Returns one SheetRow per indicator row, in sheet order. Raises ValidationError whose
    ``messages`` name every problem: a file that is not a readable xlsx, a sheet of another
    assignment or framework version (these stop the check: its cells would mean nothing here),
    else every bad cell as ``评分表!<column><row>: …``.
    """
    workbook = _open(data)
    identity = _read_identity(workbook)
    if identity is None:
        raise ValidationError(
            _(
                "This is not a score sheet downloaded from this portal (its identity block is "
                "missing). Download the score sheet of this assessment and fill that one in."
            )
        )
    errors: list[str] = []
    if identity.get("assignment") != str(assignment_id):
        errors.append(
            _(
                "This score sheet belongs to another assignment (no. %(theirs)s), not to this one "
                "(no. %(ours)s). Download the score sheet of this assessment."
            )
            % {"theirs": identity.get("assignment") or "?", "ours": assignment_id}
        )
    theirs = f"{identity.get('framework_code', '')} {identity.get('framework_version', '')}"
    ours = f"{framework.code} {framework.version}"
    if theirs != ours:
        errors.append(
            _("This score sheet is for the catalog %(theirs)s; this campaign uses %(ours)s.")
            % {"theirs": theirs.strip() or "?", "ours": ours}
        )
    if errors:
        raise ValidationError(errors)
    sheet = _worksheet(workbook, SHEET)
    if sheet is None:
        raise ValidationError(_("The workbook has no sheet named “%(sheet)s”.") % {"sheet": SHEET})
    return _parse_rows(sheet, framework=framework, indicators=indicators)


def _open(data: bytes) -> Workbook:
    unreadable = ValidationError(
        _("The file is not an Excel workbook (.xlsx) or cannot be read. Upload the .xlsx file.")
    )
    if not data.startswith(b"PK\x03\x04"):
        raise unreadable
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                raise unreadable
        return load_workbook(io.BytesIO(data), data_only=True)
    except ValidationError:
        raise
    # openpyxl reports a damaged or foreign file with many kinds of error (BadZipFile, KeyError,
    # ValueError, TypeError, XML errors); to the person uploading they all mean the same thing.
    except Exception as exc:
        raise unreadable from exc


def _parse_rows(
    sheet: Worksheet, *, framework: Framework, indicators: Sequence[Indicator]
) -> list[SheetRow]:
    errors: list[str] = []
    header_row = _find_header(sheet)
    if header_row is None:
        raise ValidationError(
            _("%(sheet)s: the header row (“%(header)s” in column B) is missing.")
            % {"sheet": SHEET, "header": COLUMNS[1][1]}
        )
    for letter, zh, _en, _width in COLUMNS:
        found = _text(sheet[f"{letter}{header_row}"].value)
        if found != zh:
            errors.append(
                _("%(cell)s: the header should read “%(expected)s”, not “%(value)s”.")
                % {"cell": _cell(letter, header_row), "expected": zh, "value": found}
            )
    if errors:
        # Columns moved: every cell below would be read from the wrong place.
        raise ValidationError(errors)

    by_code = {indicator.code: indicator for indicator in indicators}
    english = {en for _letter, _zh, en, _width in COLUMNS}
    maximum = framework.max_rating
    seen: dict[str, int] = {}
    rows: list[SheetRow] = []
    for number in range(header_row + 1, sheet.max_row + 1):
        code = _text(sheet[f"{CODE_COLUMN}{number}"].value)
        raw_rating = sheet[f"{RATING_COLUMN}{number}"].value
        rating_text = _text(raw_rating)
        # The rationale is the assessor's own prose: kept as written (full-width punctuation
        # included), only trimmed; codes and ratings are normalised.
        rationale = _plain(sheet[f"{RATIONALE_COLUMN}{number}"].value)
        if code in english and number == header_row + 1:
            continue  # the English header row
        if not code:
            if rating_text or rationale:
                errors.append(
                    _("%(cell)s: this row has a rating or rationale but no indicator code.")
                    % {"cell": _cell(CODE_COLUMN, number)}
                )
            continue
        indicator = by_code.get(code)
        if indicator is None:
            errors.append(
                _("%(cell)s: “%(value)s” is not an indicator code of this catalog.")
                % {"cell": _cell(CODE_COLUMN, number), "value": code}
            )
            continue
        if code in seen:
            errors.append(
                _("%(cell)s: indicator %(code)s appears twice; it is already in row %(row)s.")
                % {"cell": _cell(CODE_COLUMN, number), "code": code, "row": seen[code]}
            )
            continue
        seen[code] = number

        rating: int | None = None
        met: bool | None = None
        bad = False
        if indicator.is_mandatory:
            if rating_text == MET:
                met = True
            elif rating_text == NOT_MET:
                met = False
            elif rating_text:
                bad = True
                errors.append(
                    _(
                        "%(cell)s: %(code)s is a mandatory item: the rating is “%(met)s” or "
                        "“%(not_met)s”, not “%(value)s”."
                    )
                    % {
                        "cell": _cell(RATING_COLUMN, number),
                        "code": code,
                        "met": MET,
                        "not_met": NOT_MET,
                        "value": rating_text,
                    }
                )
        elif rating_text:
            rating = _whole_number(raw_rating, rating_text)
            if rating is None or not 0 <= rating <= maximum:
                rating = None
                bad = True
                errors.append(
                    _(
                        "%(cell)s: the rating must be a whole number from 0 to %(max)s, "
                        "not “%(value)s”."
                    )
                    % {"cell": _cell(RATING_COLUMN, number), "max": maximum, "value": rating_text}
                )
        if (rating is not None or met is not None or bad) and not rationale:
            errors.append(
                _("%(cell)s: write the rationale for the rating of %(code)s.")
                % {"cell": _cell(RATIONALE_COLUMN, number), "code": code}
            )
        if len(rationale) > RATIONALE_MAX:
            errors.append(
                _(
                    "%(cell)s: the rationale is %(length)s characters long; shorten it to "
                    "%(max)s characters or fewer."
                )
                % {
                    "cell": _cell(RATIONALE_COLUMN, number),
                    "length": f"{len(rationale):,}",
                    "max": f"{RATIONALE_MAX:,}",
                }
            )
        rows.append(SheetRow(number, indicator, rating, met, rationale))

    if not errors and not rows:
        errors.append(_("%(sheet)s: the sheet has no indicator rows.") % {"sheet": SHEET})
    if errors:
        raise ValidationError(errors)
    return rows


def _find_header(sheet: Worksheet) -> int | None:
    for number in range(1, min(sheet.max_row, 40) + 1):
        if _text(sheet[f"{CODE_COLUMN}{number}"].value) == "指标编号":
            return number
    return None


def _whole_number(raw: object, text: str) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    return int(text) if re.fullmatch(r"\d{1,3}", text) else None
