"""Importing a list of clouds from an Excel workbook (.xlsx) or a CSV file: reading and checking.

Nothing here writes. ``read_table`` turns the upload into rows of text, ``plan_import`` checks
every row against the GB/T 2260 table and the database and says what each row would do (create
a cloud or change one of the same name, with any new owner or vendor organisation); every
problem names its row, its column and what is wrong. ``services.clouds_import`` then saves a
plan without errors, all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from accounts.divisions import AdminLevel, division_lookup
from accounts.models import Organisation

from .models import Cloud
from .services import CloudFacts, cloud_facts_problems

MAX_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_ROWS = 2000


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    required: bool
    example: str
    help: Promise


COLUMNS: tuple[Column, ...] = (
    Column("name", "名称", "Name", True, "嘉兴政务云", gettext_lazy("The cloud's name.")),
    Column(
        "name_en",
        "英文名称",
        "English name",
        False,
        "Jiaxing Government Cloud",
        gettext_lazy("Optional."),
    ),
    Column(
        "owner",
        "主管单位",
        "Owner",
        True,
        "嘉兴市大数据发展管理局",
        gettext_lazy("A government organisation: an existing one by its name, or a new one."),
    ),
    Column(
        "division_code",
        "行政区划代码",
        "Division code",
        False,
        "330400",
        gettext_lazy(
            "The owner's six-digit GB/T 2260 code: required for a new owner; for an existing "
            "one it must be the code on record."
        ),
    ),
    Column(
        "level",
        "级别",
        "Level",
        False,
        "地市级",
        gettext_lazy("省级 or 地市级; empty: read from the division code."),
    ),
    Column(
        "vendors",
        "云服务商",
        "Vendors",
        True,
        "中国电信股份有限公司嘉兴分公司",
        gettext_lazy(
            "One or more vendor organisations, separated by “；” or “、”; unknown names are "
            "created as new vendors."
        ),
    ),
    Column(
        "on_extranet",
        "政务外网",
        "Government extranet",
        False,
        "是",
        gettext_lazy("是 or 否; empty: 是."),
    ),
    Column("on_internet", "互联网", "Internet", False, "否", gettext_lazy("是 or 否; empty: 否.")),
)
_BY_KEY = {c.key: c for c in COLUMNS}

_LEVELS = {
    "省级": Cloud.Level.PROVINCIAL,
    "省": Cloud.Level.PROVINCIAL,
    "provincial": Cloud.Level.PROVINCIAL,
    "地市级": Cloud.Level.MUNICIPAL,
    "市级": Cloud.Level.MUNICIPAL,
    "地市": Cloud.Level.MUNICIPAL,
    "municipal": Cloud.Level.MUNICIPAL,
}
_YES = {"是", "yes", "y", "true", "1", "√", "✓"}
_NO = {"否", "no", "n", "false", "0", "×", "✗"}
_SEPARATORS = ("；", ";", "、", "\n", "，", ",")

# Where a service's problem (by its field name) is shown in the file.
_PROBLEM_COLUMN = {
    "name": "name",
    "level": "level",
    "owner": "owner",
    "new_owner_name": "owner",
    "new_owner_division_code": "division_code",
    "vendors": "vendors",
    "new_vendor_names": "vendors",
    "zones": "on_extranet",
}


@dataclass
class RowError:
    row: int
    column: str  # the header as the template names it (Chinese)
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, column “%(column)s”: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class PlannedRow:
    """One row of the file and what it would do."""

    number: int
    values: dict[str, str]
    cloud: Cloud | None = None  # the cloud of that name it changes, None to create one
    facts: CloudFacts | None = None
    new_owner: bool = False
    new_vendors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def vendor_names(self) -> list[str]:
        return _split(self.values.get("vendors", ""))


@dataclass
class ImportPlan:
    rows: list[PlannedRow]

    @property
    def errors(self) -> list[RowError]:
        return [error for row in self.rows for error in row.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors

    @property
    def to_create(self) -> int:
        return sum(1 for row in self.rows if row.cloud is None)

    @property
    def to_change(self) -> int:
        return sum(1 for row in self.rows if row.cloud is not None)

    def payload(self) -> str:
        """The rows as JSON, for the confirmation form: read and checked again on confirm."""
        return json.dumps([[row.number, row.values] for row in self.rows], ensure_ascii=False)

    def service_rows(self) -> list[tuple[Cloud | None, CloudFacts]]:
        assert self.ok, "only a plan without errors is saved"
        return [(row.cloud, row.facts) for row in self.rows if row.facts is not None]


# ----------------------------------------------------------------------------------------------
# Reading the file


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unreadable() -> ValidationError:
    return ValidationError(
        _(
            "The file cannot be read. Upload an Excel workbook (.xlsx) or a CSV file (UTF-8 or "
            "GB18030) made from the template."
        )
    )


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
                raise _unreadable()
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        workbook.close()
        return rows
    except ValidationError:
        raise
    # openpyxl reports a damaged or foreign file with many kinds of error; to the person
    # uploading they all mean the same thing.
    except Exception as exc:
        raise _unreadable() from exc


def _read_csv(data: bytes) -> list[list[str]]:
    # Excel in Chinese saves CSV as GB18030 (GBK); everything else as UTF-8, perhaps with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return [[_text(v) for v in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise _unreadable() from exc
    raise _unreadable()


def read_table(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The data rows of an uploaded .xlsx or .csv file as (row number, {column key: text}),
    blank rows skipped. Raises ValidationError (a list of messages) when the file cannot be
    read, is too large, or its header row lacks a required column or has an unknown one."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)s MB.") % {"mb": MAX_BYTES // (1024 * 1024)}
        )
    rows = _read_xlsx(data) if data.startswith(b"PK\x03\x04") else _read_csv(data)
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(v for v in row)]
    if not numbered:
        raise ValidationError(_("The file is empty: the first row is the header row."))
    header_number, header = numbered[0]
    names = {}
    for column in COLUMNS:
        names[column.zh.lower()] = column.key
        names[column.en.lower()] = column.key
        names[column.key] = column.key
    keys: list[str | None] = []
    problems: list[str] = []
    for title in header:
        if not title:
            keys.append(None)
            continue
        key = names.get(title.lower().lstrip("*").strip())
        if key is None:
            problems.append(
                _("Row %(row)s: the column “%(title)s” is not one of the template's.")
                % {"row": header_number, "title": title}
            )
        elif key in keys:
            problems.append(
                _("Row %(row)s: the column “%(title)s” appears twice.")
                % {"row": header_number, "title": title}
            )
        keys.append(key)
    for column in COLUMNS:
        if column.required and column.key not in keys:
            problems.append(
                _("Row %(row)s: the header row has no column “%(title)s”.")
                % {"row": header_number, "title": column.zh}
            )
    if problems:
        raise ValidationError(problems)
    data_rows = numbered[1:]
    if not data_rows:
        raise ValidationError(_("The file has a header row but no clouds below it."))
    if len(data_rows) > MAX_ROWS:
        raise ValidationError(
            _("The file has %(n)s rows; import at most %(max)s at a time.")
            % {"n": len(data_rows), "max": MAX_ROWS}
        )
    table = []
    for number, row in data_rows:
        values = {c.key: "" for c in COLUMNS}
        for key, value in zip(keys, row, strict=False):
            if key is not None:
                values[key] = value
        table.append((number, values))
    return table


def read_payload(payload: str) -> list[tuple[int, dict[str, str]]]:
    """The rows of a confirmation form's payload (``ImportPlan.payload``)."""
    try:
        items = json.loads(payload)
        table = [
            (int(number), {c.key: str(values.get(c.key, "")).strip() for c in COLUMNS})
            for number, values in items
        ]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(_("The preview has expired: upload the file again.")) from exc
    if not table or len(table) > MAX_ROWS:
        raise ValidationError(_("The preview has expired: upload the file again."))
    return table


# ----------------------------------------------------------------------------------------------
# Checking the rows


def _split(text: str) -> list[str]:
    for separator in _SEPARATORS[1:]:
        text = text.replace(separator, _SEPARATORS[0])
    return list(dict.fromkeys(p.strip() for p in text.split(_SEPARATORS[0]) if p.strip()))


def _flag(raw: str, default: bool) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return default
    if value in _YES:
        return True
    if value in _NO:
        return False
    return None


def _level_of(code: str) -> str | None:
    division = division_lookup(code)
    if division is None:
        return None
    return {
        AdminLevel.PROVINCIAL: Cloud.Level.PROVINCIAL,
        AdminLevel.PREFECTURE: Cloud.Level.MUNICIPAL,
    }.get(AdminLevel(division.level))


def plan_import(table: list[tuple[int, dict[str, str]]]) -> ImportPlan:
    """What each row would do, and every problem, by row and column. Reads the database in a
    fixed number of queries whatever the number of rows (plus one per row for the checks the
    services share)."""
    names = {v["name"] for _n, v in table} | {"—"}
    clouds = {
        c.name: c
        for c in Cloud.objects.filter(name__in=names)
        .select_related("owner")
        .prefetch_related("vendors")
    }
    mentioned = {v["owner"] for _n, v in table}
    for _n, values in table:
        mentioned.update(_split(values["vendors"]))
    organisations = {o.name: o for o in Organisation.objects.filter(name__in=mentioned)}
    seen_names: dict[str, int] = {}
    new_owners: dict[str, tuple[int, str]] = {}  # name → (first row, code)
    rows = []
    for number, values in table:
        row = PlannedRow(number=number, values=values)
        rows.append(row)
        _plan_row(row, clouds, organisations, seen_names, new_owners)
    return ImportPlan(rows)


def _plan_row(
    row: PlannedRow,
    clouds: dict[str, Cloud],
    organisations: dict[str, Organisation],
    seen_names: dict[str, int],
    new_owners: dict[str, tuple[int, str]],
) -> None:
    values = row.values

    def error(key: str, message: str) -> None:
        title = _BY_KEY[key].zh
        if not any(e.column == title and e.message == message for e in row.errors):
            row.errors.append(RowError(row.number, title, message))

    for column in COLUMNS:
        if column.required and not values[column.key]:
            error(column.key, _("required, but empty."))
    name = values["name"]
    if name in seen_names:
        error("name", _("the same cloud as row %(row)s.") % {"row": seen_names[name]})
    elif name:
        seen_names[name] = row.number
    row.cloud = clouds.get(name)

    # The owner: an existing government organisation, or a new one with its code.
    owner_name, code = values["owner"], values["division_code"]
    owner = organisations.get(owner_name)
    if code and division_lookup(code) is None:
        error(
            "division_code",
            _("%(code)s is not a published GB/T 2260 administrative-division code.")
            % {"code": code},
        )
    if owner is not None:
        if owner.kind != Organisation.Kind.GOVERNMENT:
            error(
                "owner",
                _("“%(name)s” is a %(kind)s, not a government organisation.")
                % {"name": owner.name, "kind": owner.get_kind_display()},
            )
        elif code and code != owner.division_code:
            error(
                "division_code",
                _("%(name)s's code on record is %(recorded)s, not %(code)s.")
                % {"name": owner.name, "recorded": owner.division_code or "—", "code": code},
            )
        code = code or owner.division_code
    elif owner_name:
        if not code:
            error("division_code", _("required for a new owner organisation."))
        first = new_owners.get(owner_name)
        if first is not None and first[1] != code:
            error(
                "division_code",
                _("row %(row)s gives the new owner %(name)s the code %(code)s.")
                % {"row": first[0], "name": owner_name, "code": first[1]},
            )
        new_owners.setdefault(owner_name, (row.number, code))
        row.new_owner = True

    level_text = values["level"]
    level = _LEVELS.get(level_text.strip().lower()) if level_text else _level_of(code)
    if level_text and level is None:
        error("level", _("“%(value)s” is not 省级 or 地市级.") % {"value": level_text})
    elif not level_text and level is None and division_lookup(code) is not None:
        error("level", _("empty, and a county-level code says neither 省级 nor 地市级."))

    flags = {}
    for key, default in (("on_extranet", True), ("on_internet", False)):
        flag = _flag(values[key], default)
        if flag is None:
            error(key, _("“%(value)s” is not 是 or 否.") % {"value": values[key]})
        flags[key] = bool(flag)

    vendors: list[Organisation] = []
    for vendor_name in row.vendor_names:
        vendor = organisations.get(vendor_name)
        if vendor is None:
            row.new_vendors.append(vendor_name)
        elif vendor.kind != Organisation.Kind.VENDOR:
            error(
                "vendors",
                _("“%(name)s” is a %(kind)s, not a cloud vendor.")
                % {"name": vendor.name, "kind": vendor.get_kind_display()},
            )
        else:
            vendors.append(vendor)
    if row.errors or level is None:
        return

    facts = CloudFacts(
        name=name,
        name_en=values["name_en"],
        level=level,
        owner=owner,
        new_owner_name="" if owner is not None else owner_name,
        new_owner_division_code="" if owner is not None else code,
        vendors=tuple(vendors),
        new_vendor_names=tuple(row.new_vendors),
        on_extranet=flags["on_extranet"],
        on_internet=flags["on_internet"],
    )
    problems = cloud_facts_problems(facts=facts, cloud=row.cloud)
    for key, message in problems.items():
        error(_PROBLEM_COLUMN.get(key, "name"), message)
    if row.errors:
        return
    row.facts = facts
    if row.cloud is not None:
        row.changes = _changes(row.cloud, facts)


def _changes(cloud: Cloud, facts: CloudFacts) -> list[str]:
    """The headers of the columns whose value differs from the cloud's."""
    changed = []
    owner = facts.owner.name if facts.owner is not None else facts.new_owner_name
    vendors = {v.name for v in facts.vendors} | set(facts.new_vendor_names)
    for key, differs in (
        ("name_en", cloud.name_en != facts.name_en.strip()),
        ("owner", cloud.owner.name != owner),
        ("level", cloud.level != facts.level),
        ("vendors", {v.name for v in cloud.vendors.all()} != vendors),
        ("on_extranet", cloud.on_extranet != facts.on_extranet),
        ("on_internet", cloud.on_internet != facts.on_internet),
    ):
        if differs:
            changed.append(_BY_KEY[key].zh)
    return changed


# ----------------------------------------------------------------------------------------------
# The template


def template_csv() -> bytes:
    """The header row and one example row, as UTF-8 with a BOM (Excel opens it right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.zh for c in COLUMNS])
    writer.writerow([c.example for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """A workbook with the header row, one example row, and a sheet explaining the columns."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "政务云"
    sheet.append([c.zh for c in COLUMNS])
    sheet.append([c.example for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
    for index, column in enumerate(COLUMNS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = max(14, len(column.example) * 2 + 2)
        # Codes are text: Excel must not drop leading digits or show them as numbers.
        sheet.column_dimensions[letter].number_format = "@"
    notes = workbook.create_sheet("说明")
    notes.append(["列", "English", "必填", "说明"])
    for column in COLUMNS:
        notes.append([column.zh, column.en, "是" if column.required else "否", str(column.help)])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 22
    notes.column_dimensions["D"].width = 80
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
