"""Excel score sheets: what the sheet holds, the round trip, and every kind of bad cell."""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterator

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from accounts.models import User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign, Cloud, Rating
from assessments.scoresheet.services import score_sheet_import
from assessments.scoresheet.workbook import (
    IDENTITY_SHEET,
    MET,
    NOT_MET,
    SHEET,
    score_sheet_build,
    score_sheet_filename,
    score_sheet_parse,
)
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from indicators.models import Framework
from tests.assessments.conftest import answer_everything, rate_everything

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English; one test checks the Chinese."""
    with translation.override("en"):
        yield


# ----------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def scoring(assessment: Assessment, assignments: list[Assignment], vendor: User) -> Assignment:
    """The first assessor's assignment of a submitted (so scoreable) comprehensive assessment."""
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    return Assignment.objects.select_related("assessment__campaign__framework").get(
        pk=assignments[0].pk
    )


@pytest.fixture
def trusted_scoring(
    trusted: Framework, cloud: Cloud, admin: User, assessor: User, vendor: User
) -> Assignment:
    """An assignment on the trusted-platform framework, whose mandatory items are 达标/未达标."""
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="2026年可信政务云评估",
        year=today.year,
        framework=trusted,
        opens_on=today - datetime.timedelta(days=5),
        closes_on=today + datetime.timedelta(days=30),
        assessors_per_assessment=1,
        acting_user=admin,
    )
    services.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    assignment = services.assignment_create(
        assessment=assessment, assessor=assessor, acting_user=admin
    )
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    return Assignment.objects.get(pk=assignment.pk)


# What a test writes into a cell of the sheet.
CellValue = str | int | float | None


def _sheet(data: bytes) -> tuple[Workbook, Worksheet]:
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook[SHEET]
    assert isinstance(sheet, Worksheet)
    return workbook, sheet


def _bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _row_of(sheet: Worksheet, code: str) -> int:
    for row in range(1, sheet.max_row + 1):
        if sheet[f"B{row}"].value == code:
            return row
    raise AssertionError(f"no row for {code}")


def _edited(assignment: Assignment, **cells: CellValue) -> bytes:
    """The assignment's sheet with some cells changed: ``_edited(a, G12=4, H12="")``."""
    workbook, sheet = _sheet(score_sheet_build(assignment=assignment))
    for ref, value in cells.items():
        sheet[ref] = value
    return _bytes(workbook)


def _ratings(assignment: Assignment) -> set[tuple[str, int | None, bool | None, str]]:
    return {
        (r.indicator.code, r.rating, r.met, r.rationale)
        for r in Rating.objects.filter(assignment=assignment).select_related("indicator")
    }


def _import_fails(assignment: Assignment, data: bytes, user: User | None = None) -> list[str]:
    before = _ratings(assignment)
    with pytest.raises(ValidationError) as caught:
        score_sheet_import(
            assignment=assignment, data=data, acting_user=user or assignment.assessor
        )
    assert _ratings(assignment) == before, "a refused sheet saved something"
    return caught.value.messages


# ----------------------------------------------------------------------------------------------
# The sheet


def test_the_sheet_names_the_cloud_campaign_and_assessor_and_lists_indicators_in_order(
    scoring: Assignment,
) -> None:
    _workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    top = " ".join(str(sheet[f"C{row}"].value) for row in range(2, 7))

    assert "济南政务云计算中心" in top
    assert "2026年政务云综合水平评估" in top
    assert "expert" in top
    assert f"{scoring.pk}" in top
    header = [sheet.cell(row=9, column=c).value for c in range(1, 13)]
    assert header[:8] == [
        "维度",
        "指标编号",
        "指标名称",
        "关键指标",
        "类型",
        "权重",
        "评分",
        "评分理由",
    ]
    assert header[8:] == [
        "评分标准：0 未达标",
        "评分标准：1 基础",
        "评分标准：2 先进",
        "评分标准：3 卓越",
    ]
    codes = [sheet[f"B{row}"].value for row in range(11, sheet.max_row + 1)]
    assert codes == [i.code for i in indicators_of(assessment=scoring.assessment)]
    row = _row_of(sheet, "1.2")
    assert sheet[f"A{row}"].value == "D1 平台能力"
    assert sheet[f"C{row}"].value == "稳定性与可用性"
    assert sheet[f"D{row}"].value == "★"
    assert sheet[f"F{row}"].value == 6
    assert sheet[f"J{row}"].value == "可用性≥99.5%"


def test_it_is_prefilled_with_the_saved_draft(scoring: Assignment) -> None:
    indicator = indicators_of(assessment=scoring.assessment)[3]
    services.rating_save(
        assignment=scoring,
        indicator=indicator,
        rating=1,
        rationale="开通时长约三天。",
        acting_user=scoring.assessor,
    )

    _workbook, sheet = _sheet(score_sheet_build(assignment=scoring))

    row = _row_of(sheet, indicator.code)
    assert (sheet[f"G{row}"].value, sheet[f"H{row}"].value) == (1, "开通时长约三天。")
    other = _row_of(sheet, "1.1")
    assert (sheet[f"G{other}"].value, sheet[f"H{other}"].value) == (None, None)


def test_only_rating_and_rationale_can_be_edited_and_the_rating_has_a_drop_down(
    scoring: Assignment,
) -> None:
    workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    row = _row_of(sheet, "2.1")

    assert sheet.protection.sheet
    assert sheet[f"B{row}"].protection.locked
    assert sheet[f"J{row}"].protection.locked
    assert not sheet[f"G{row}"].protection.locked
    assert not sheet[f"H{row}"].protection.locked
    (validation,) = sheet.data_validations.dataValidation[:1]
    assert validation.formula1 == '"0,1,2,3"'
    assert f"G{row}" in validation.sqref
    assert sheet.freeze_panes == "D11"
    assert sheet[f"H{row}"].alignment.wrap_text
    assert sheet.column_dimensions["H"].width >= 30
    assert sheet.print_title_rows == "$9:$10"
    assert workbook[IDENTITY_SHEET].sheet_state == "veryHidden"
    assert workbook.security.lockStructure


def test_the_file_name_carries_the_cloud_and_no_path_characters(scoring: Assignment) -> None:
    scoring.assessment.cloud.name = "某市/县 政务云"

    name = score_sheet_filename(assignment=scoring)

    assert name.startswith("评分表_某市-县 政务云_2026年政务云综合水平评估_")
    assert name.endswith(".xlsx")
    assert "/" not in name


# ----------------------------------------------------------------------------------------------
# Round trip and import


def test_an_unchanged_sheet_parses_to_the_saved_ratings_and_imports_them_unchanged(
    scoring: Assignment,
) -> None:
    rate_everything(scoring, rating=2)
    before = _ratings(scoring)
    data = score_sheet_build(assignment=scoring)

    rows = score_sheet_parse(
        data,
        assignment_id=scoring.pk,
        framework=scoring.assessment.campaign.framework,
        indicators=indicators_of(assessment=scoring.assessment),
    )
    saved = score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor)

    assert {(r.indicator.code, r.rating, r.met, r.rationale) for r in rows} == before
    assert saved == len(before) == 20
    assert _ratings(scoring) == before
    event = AuditEvent.objects.get(action="assessments.score_sheet.imported")
    assert event.changes == {"assignment": scoring.pk, "saved": 20, "changed": []}


def test_a_filled_in_sheet_saves_every_rating_and_starts_the_review(scoring: Assignment) -> None:
    workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    for row in range(11, sheet.max_row + 1):
        sheet[f"G{row}"] = 3
        sheet[f"H{row}"] = f"第{row}行：佐证充分。"

    saved = score_sheet_import(
        assignment=scoring, data=_bytes(workbook), acting_user=scoring.assessor
    )

    assert saved == 20
    ratings = Rating.objects.filter(assignment=scoring)
    assert ratings.count() == 20
    assert {r.rating for r in ratings} == {3}
    assert all(r.is_complete for r in ratings)
    scoring.assessment.refresh_from_db()
    assert scoring.assessment.state == Assessment.State.IN_REVIEW
    event = AuditEvent.objects.get(action="assessments.score_sheet.imported")
    assert event.actor == scoring.assessor
    assert len(event.changes["changed"]) == 20
    assert event.changes["changed"][0] == {"indicator": "1.1", "from": None, "to": 3}


def test_typed_ratings_are_read_as_a_person_means_them(scoring: Assignment) -> None:
    data = _edited(
        scoring,
        G11="２",  # full-width digit, as a Chinese input method types it
        H11="全角数字。",
        G12=" 1 ",
        H12="带空格。",
        G13=2.0,
        H13="  小数形式的整数。  ",
    )

    assert score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor) == 3

    assert _ratings(scoring) == {
        ("1.1", 2, None, "全角数字。"),
        ("1.2", 1, None, "带空格。"),
        ("1.3", 2, None, "小数形式的整数。"),
    }


def test_the_rationale_is_kept_exactly_as_written(scoring: Assignment) -> None:
    prose = "可用性：99.95%（近12个月），已开展灾备演练；ＳＬＡ见附件。\n第二段。"
    data = _edited(scoring, G11=3, H11=f"  {prose}\n")

    score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor)

    assert _ratings(scoring) == {("1.1", 3, None, prose)}
    _workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    assert sheet["H11"].value == prose


def test_text_starting_with_a_formula_character_is_written_as_text_and_reads_back(
    scoring: Assignment,
) -> None:
    """A rationale (or a cloud name) that starts with ``=`` is words, not a formula to run in
    the assessor's Excel; and the assessor can upload their own sheet back unchanged."""
    indicator = indicators_of(assessment=scoring.assessment)[0]
    formula = '=HYPERLINK("http://example.invalid","点击") 依据：见附件'
    services.rating_save(
        assignment=scoring,
        indicator=indicator,
        rating=2,
        rationale=formula,
        acting_user=scoring.assessor,
    )
    cloud = scoring.assessment.cloud
    Cloud.objects.filter(pk=cloud.pk).update(name="=1+1 政务云")
    scoring.assessment.cloud.refresh_from_db()
    before = _ratings(scoring)

    data = score_sheet_build(assignment=scoring)
    _workbook, sheet = _sheet(data)
    row = _row_of(sheet, indicator.code)
    for cell in (sheet[f"H{row}"], sheet["C2"]):
        assert cell.data_type == "s", (cell.coordinate, cell.value)
    assert sheet[f"H{row}"].value == formula
    assert sheet["C2"].value == "=1+1 政务云"
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert not any(b"<f>" in archive.read(n) for n in archive.namelist() if n.endswith(".xml"))

    score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor)
    assert _ratings(scoring) == before


def test_a_rationale_over_the_limit_is_refused_naming_its_cell_not_cut(
    scoring: Assignment,
) -> None:
    errors = _import_fails(scoring, _edited(scoring, G11=3, H11="依" * 20_000))
    assert errors == [
        "评分表!H11: the rationale is 20,000 characters long; shorten it to 10,000 characters "
        "or fewer."
    ]


def test_blank_rows_without_a_saved_rating_create_no_records(scoring: Assignment) -> None:
    data = _edited(scoring, G11=1, H11="仅提供IaaS。")

    assert score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor) == 1

    assert Rating.objects.filter(assignment=scoring).count() == 1


def test_a_rationale_without_a_rating_is_kept_as_a_draft_note(scoring: Assignment) -> None:
    data = _edited(scoring, H11="待现场核查后评分。")

    score_sheet_import(assignment=scoring, data=data, acting_user=scoring.assessor)

    assert _ratings(scoring) == {("1.1", None, None, "待现场核查后评分。")}


def test_a_cleared_row_clears_the_saved_draft(scoring: Assignment) -> None:
    rate_everything(scoring, rating=2)

    score_sheet_import(
        assignment=scoring, data=_edited(scoring, G11=None, H11=None), acting_user=scoring.assessor
    )

    assert ("1.1", None, None, "") in _ratings(scoring)


def test_an_indicator_missing_from_the_sheet_keeps_its_saved_rating(scoring: Assignment) -> None:
    rate_everything(scoring, rating=2)
    workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    row = _row_of(sheet, "4.5")
    sheet.delete_rows(row)
    sheet["G11"] = 3

    saved = score_sheet_import(
        assignment=scoring, data=_bytes(workbook), acting_user=scoring.assessor
    )

    assert saved == 19
    ratings = {code: rating for code, rating, _met, _text in _ratings(scoring)}
    assert ratings["4.5"] == 2
    assert ratings["1.1"] == 3


# ----------------------------------------------------------------------------------------------
# Bad cells: each reported with sheet, row and column; nothing saved


@pytest.mark.parametrize(
    ("cells", "where", "says"),
    [
        ({"G11": 4, "H11": "理由"}, "评分表!G11", "“4”"),
        ({"G11": "2.5", "H11": "理由"}, "评分表!G11", "“2.5”"),
        ({"G11": 1.5, "H11": "理由"}, "评分表!G11", "“1.5”"),
        ({"G11": "优秀", "H11": "理由"}, "评分表!G11", "“优秀”"),
        ({"G11": -1, "H11": "理由"}, "评分表!G11", "“-1”"),
        ({"G11": MET, "H11": "理由"}, "评分表!G11", f"“{MET}”"),
        ({"G11": 2, "H11": None}, "评分表!H11", "1.1"),
        ({"G11": 2, "H11": "   "}, "评分表!H11", "1.1"),
        ({"B11": "9.9", "G11": 2, "H11": "理由"}, "评分表!B11", "“9.9”"),
        ({"B12": "1.1"}, "评分表!B12", "row 11"),
        ({"B11": None, "G11": 2, "H11": "理由"}, "评分表!B11", ""),
    ],
    ids=[
        "out-of-range",
        "decimal-text",
        "decimal-number",
        "words",
        "negative",
        "met-on-graded",
        "no-rationale",
        "blank-rationale",
        "unknown-code",
        "duplicate-code",
        "rating-without-code",
    ],
)
def test_a_bad_cell_is_reported_by_sheet_row_and_column_and_nothing_is_saved(
    scoring: Assignment, cells: dict[str, CellValue], where: str, says: str
) -> None:
    rate_everything(scoring, rating=1)
    cells = {"G20": 3, "H20": "这一行本身没有问题。", **cells}

    messages = _import_fails(scoring, _edited(scoring, **cells))

    assert len(messages) == 1, messages
    assert messages[0].startswith(where + ":")
    assert says in messages[0]


def test_every_bad_cell_is_reported_at_once(scoring: Assignment) -> None:
    data = _edited(
        scoring,
        G11=9,
        H11="理由",
        G12=2,
        H12=None,
        B13="X.1",
        B14="1.1",
        G15="很好",
        H15="理由",
    )

    messages = _import_fails(scoring, data)

    assert [m.split(":")[0] for m in messages] == [
        "评分表!G11",
        "评分表!H12",
        "评分表!B13",
        "评分表!B14",
        "评分表!G15",
    ]
    assert not Rating.objects.filter(assignment=scoring).exists()


def test_the_chinese_message_names_the_cell_as_assessors_write_it(scoring: Assignment) -> None:
    with translation.override("zh-hans"):
        (message,) = _import_fails(scoring, _edited(scoring, G11=4, H11="理由"))

    # e.g. 评分表!G11：评分应为 0 至 3 的整数，而不是“4”。
    assert message.startswith("评分表!G11：")
    assert "3" in message
    assert message.endswith("“4”。")


def test_a_moved_column_is_refused_before_any_cell_is_read(scoring: Assignment) -> None:
    messages = _import_fails(scoring, _edited(scoring, G9="分数"))

    assert messages == [
        "评分表!G9: the header should read “评分”, not “分数”.",
    ]


def test_a_sheet_with_no_indicator_rows_is_refused(scoring: Assignment) -> None:
    workbook, sheet = _sheet(score_sheet_build(assignment=scoring))
    sheet.delete_rows(11, 40)

    assert _import_fails(scoring, _bytes(workbook)) == ["评分表: the sheet has no indicator rows."]


# ----------------------------------------------------------------------------------------------
# Wrong file, wrong assignment, wrong framework, wrong person, wrong time


def test_the_sheet_of_another_assignment_is_refused(
    scoring: Assignment, assignments: list[Assignment]
) -> None:
    other = assignments[1]
    theirs = score_sheet_build(assignment=other)

    (message,) = _import_fails(scoring, theirs)

    assert f"no. {other.pk}" in message
    assert f"no. {scoring.pk}" in message


def test_a_sheet_of_another_framework_version_is_refused(scoring: Assignment) -> None:
    workbook, _sheet_ = _sheet(score_sheet_build(assignment=scoring))
    identity = workbook[IDENTITY_SHEET]
    for row in identity.iter_rows():
        if row[0].value == "framework_version":
            row[1].value = "2019.1"

    (message,) = _import_fails(scoring, _bytes(workbook))

    assert "comprehensive-model 2019.1" in message
    assert "comprehensive-model 2024.1" in message


def test_a_workbook_not_from_the_portal_is_refused(scoring: Assignment) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = SHEET
    sheet["B1"] = "指标编号"

    (message,) = _import_fails(scoring, _bytes(workbook))

    assert "identity block is missing" in message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a spreadsheet at all",
        "指标编号,评分\n1.1,2\n".encode(),
        b"%PDF-1.7\n",
    ],
    ids=["empty", "text", "csv", "pdf"],
)
def test_a_file_that_is_not_an_xlsx_is_refused(scoring: Assignment, data: bytes) -> None:
    (message,) = _import_fails(scoring, data)

    assert "not an Excel workbook" in message


def test_a_damaged_or_foreign_zip_is_refused(scoring: Assignment) -> None:
    whole = score_sheet_build(assignment=scoring)
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("readme.txt", "hello")

    for data in (whole[: len(whole) // 2], foreign.getvalue()):
        (message,) = _import_fails(scoring, data)
        assert "not an Excel workbook" in message


def test_only_the_assigned_assessor_may_import(
    scoring: Assignment, assignments: list[Assignment]
) -> None:
    data = _edited(scoring, G11=1, H11="理由")

    with pytest.raises(PermissionDenied):
        score_sheet_import(assignment=scoring, data=data, acting_user=assignments[1].assessor)

    assert not Rating.objects.filter(assignment=scoring).exists()


def test_it_is_refused_before_the_vendor_submits(assignments: list[Assignment]) -> None:
    assignment = assignments[0]
    data = _edited(assignment, G11=1, H11="理由")

    (message,) = _import_fails(assignment, data)

    assert message == "This assessment is not open for scoring now."


def test_it_is_refused_after_the_assessor_submitted(scoring: Assignment) -> None:
    rate_everything(scoring)
    services.assignment_submit(assignment=scoring, acting_user=scoring.assessor)
    scoring.refresh_from_db()

    (message,) = _import_fails(scoring, score_sheet_build(assignment=scoring))

    assert message == "You submitted your scores for this assessment."


# ----------------------------------------------------------------------------------------------
# The trusted-platform framework: mandatory items are 达标/未达标


def test_trusted_mandatory_items_offer_met_and_not_met(trusted_scoring: Assignment) -> None:
    _workbook, sheet = _sheet(score_sheet_build(assignment=trusted_scoring))
    mandatory = _row_of(sheet, "1.1")
    graded = _row_of(sheet, "1.3")

    assert sheet[f"E{mandatory}"].value == "M"
    assert sheet[f"E{graded}"].value == "G"
    assert sheet[f"F{mandatory}"].value is None
    lists = {v.formula1: str(v.sqref) for v in sheet.data_validations.dataValidation}
    assert f"G{mandatory}" in lists[f'"{MET},{NOT_MET}"'].split()
    assert f"G{graded}" in lists['"0,1,2,3"'].split()


def test_a_trusted_sheet_round_trips_with_met_and_not_met(trusted_scoring: Assignment) -> None:
    indicators = indicators_of(assessment=trusted_scoring.assessment)
    rate_everything(trusted_scoring, rating=1)
    first_mandatory = next(i for i in indicators if i.is_mandatory)
    services.rating_save(
        assignment=trusted_scoring,
        indicator=first_mandatory,
        met=False,
        rationale="许可证已过期。",
        acting_user=trusted_scoring.assessor,
    )
    before = _ratings(trusted_scoring)
    data = score_sheet_build(assignment=trusted_scoring)
    _workbook, sheet = _sheet(data)

    assert sheet[f"G{_row_of(sheet, first_mandatory.code)}"].value == NOT_MET
    saved = score_sheet_import(
        assignment=trusted_scoring, data=data, acting_user=trusted_scoring.assessor
    )

    assert saved == len(indicators)
    assert _ratings(trusted_scoring) == before
    assert ("1.1", None, False, "许可证已过期。") in before
    assert ("1.2", None, True, "依据佐证材料核实。") in before


def test_a_trusted_mandatory_item_takes_met_or_not_met_only(trusted_scoring: Assignment) -> None:
    _workbook, sheet = _sheet(score_sheet_build(assignment=trusted_scoring))
    mandatory = _row_of(sheet, "1.1")
    graded = _row_of(sheet, "1.3")
    cells: dict[str, CellValue] = {
        f"G{mandatory}": 1,
        f"H{mandatory}": "理由",
        f"G{graded}": NOT_MET,
        f"H{graded}": "理由",
    }
    data = _edited(trusted_scoring, **cells)

    messages = _import_fails(trusted_scoring, data)

    assert messages[0].startswith(f"评分表!G{mandatory}: 1.1 is a mandatory item")
    assert f"“{MET}” or “{NOT_MET}”, not “1”" in messages[0]
    assert messages[1].startswith(f"评分表!G{graded}: the rating must be a whole number")


def test_a_trusted_sheet_saves_met_and_not_met(trusted_scoring: Assignment) -> None:
    _workbook, sheet = _sheet(score_sheet_build(assignment=trusted_scoring))
    yes, no = _row_of(sheet, "1.1"), _row_of(sheet, "1.2")
    data = _edited(
        trusted_scoring,
        **{f"G{yes}": MET, f"H{yes}": "证照齐全。", f"G{no}": f" {NOT_MET} ", f"H{no}": "未备案。"},
    )

    score_sheet_import(assignment=trusted_scoring, data=data, acting_user=trusted_scoring.assessor)

    assert _ratings(trusted_scoring) == {
        ("1.1", None, True, "证照齐全。"),
        ("1.2", None, False, "未备案。"),
    }
