"""Catalogs as Excel workbooks: download, edit, upload as a draft; every error by cell."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from accounts.models import User
from indicators.catalog import Document, framework_document
from indicators.excel import (
    CONTENT_TYPE,
    DIMENSIONS,
    FIRST_ROW,
    FRAMEWORK,
    INDICATORS,
    KEY_ROW,
    MAX_UPLOAD_BYTES,
    CellError,
)
from indicators.models import Framework
from indicators.selectors import framework_with_tree
from tests.conftest import client_for

from .conftest import ImportDoc

pytestmark = pytest.mark.django_db

NON_ADMIN_ROLES = [User.Role.ASSESSOR, User.Role.VENDOR, User.Role.OWNER, User.Role.AUDITOR]
IMPORT_URL = reverse("indicators:framework_excel_import")


def _export_url(framework: Framework) -> str:
    return reverse("indicators:framework_excel_export", args=[framework.code, framework.version])


def _download(user: User, framework: Framework) -> bytes:
    response = client_for(user).get(_export_url(framework))
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert f"{framework.code}-{framework.version}.xlsx" in response["Content-Disposition"]
    return response.content


def _upload(user: User, data: bytes, *, version: str = "", name: str = "edited.xlsx") -> Any:
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client.post(
        IMPORT_URL,
        {"file": SimpleUploadedFile(name, data, content_type=CONTENT_TYPE), "version": version},
    )


def _tree(framework: Framework) -> Document:
    """Every field of the framework's tree but its version."""
    doc = framework_document(framework_with_tree(pk=framework.pk))
    return {key: value for key, value in doc.items() if key != "version"}


def _columns(sheet: Worksheet) -> dict[str, str]:
    """Column letters by the key in the English header row."""
    return {
        str(cell.value): cell.column_letter
        for cell in sheet[KEY_ROW]
        if cell.value is not None and hasattr(cell, "column_letter")
    }


def _row_of(sheet: Worksheet, letter: str, value: str) -> int:
    for cell in sheet[letter]:
        if cell.value == value:
            return int(cell.row or 0)
    raise AssertionError(value)


def _save(workbook: Any) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _errors(response: Any) -> set[tuple[str, int | None, str | None]]:
    errors: list[CellError] = response.context["errors"]
    return {error.place for error in errors}


@pytest.mark.parametrize("fixture", ["comprehensive", "trusted"])
def test_a_round_trip_gives_an_identical_framework(
    request: pytest.FixtureRequest, admin: User, fixture: str
) -> None:
    original: Framework = request.getfixturevalue(fixture)
    response = _upload(admin, _download(admin, original), version="2099.1")

    copy = Framework.objects.get(code=original.code, version="2099.1")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "indicators:framework_detail", args=[copy.code, copy.version]
    )
    assert copy.state == Framework.State.DRAFT
    assert copy.pk != original.pk
    assert _tree(copy) == _tree(original)
    # Indicators, rubrics, levels, vetoes and the pass rule all came across.
    assert copy.indicators.count() == original.indicators.count()
    assert _tree(copy)["dimensions"][0]["indicators"][0]["rubric"]


def test_the_version_may_come_from_the_workbook(
    admin: User, small_catalog: dict, import_doc: ImportDoc
) -> None:
    original = import_doc(small_catalog, publish=True)
    data = _download(admin, original)
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook[FRAMEWORK]
    sheet[f"C{_row_of(sheet, 'B', 'version')}"] = "1.1"
    response = _upload(admin, _save(workbook))
    assert response.status_code == 302
    assert _tree(Framework.objects.get(code="small", version="1.1")) == _tree(original)


def test_a_published_version_is_not_overwritten(admin: User, comprehensive: Framework) -> None:
    count = Framework.objects.count()
    response = _upload(admin, _download(admin, comprehensive))
    assert response.status_code == 400
    assert response.context["form"].errors["version"]
    assert Framework.objects.count() == count


def test_three_errors_are_named_by_sheet_row_and_column(
    admin: User, comprehensive: Framework
) -> None:
    workbook = load_workbook(io.BytesIO(_download(admin, comprehensive)))
    sheet = workbook[INDICATORS]
    column = _columns(sheet)
    first, second, third, fourth = (
        _row_of(sheet, column["code"], code) for code in ("1.1", "1.2", "1.3", "1.4")
    )
    sheet[f"{column['weight']}{first}"] = "four"  # a bad weight
    sheet[f"{column['rubric.2.zh']}{second}"] = None  # a missing rubric cell
    sheet[f"{column['code']}{fourth}"] = "1.3"  # a duplicated code
    count = Framework.objects.count()

    response = _upload(admin, _save(workbook), version="2099.2")

    assert response.status_code == 400
    assert Framework.objects.count() == count
    assert _errors(response) == {
        (INDICATORS, first, column["weight"]),
        (INDICATORS, second, column["rubric.2.zh"]),
        (INDICATORS, fourth, column["code"]),
    }
    html = response.content.decode()
    assert "expected a number" in html
    assert "the rubric text (Chinese) of rating 2 of 1.2 is missing" in html
    assert f"duplicate code 1.3; it is already in row {third}" in html
    assert html.count('data-testid="workbook-error"') == 3


def test_rule_errors_are_named_at_the_cells_they_come_from(
    admin: User, comprehensive: Framework
) -> None:
    workbook = load_workbook(io.BytesIO(_download(admin, comprehensive)))
    indicators = workbook[INDICATORS]
    column = _columns(indicators)
    row = _row_of(indicators, column["code"], "1.1")
    indicators[f"{column['weight']}{row}"] = float(indicators[f"{column['weight']}{row}"].value) + 1
    dimensions, settings = workbook[DIMENSIONS], workbook[FRAMEWORK]

    response = _upload(admin, _save(workbook), version="2099.3")

    assert response.status_code == 400
    assert _errors(response) == {
        (DIMENSIONS, _row_of(dimensions, "A", indicators[f"A{row}"].value), "D"),
        (FRAMEWORK, _row_of(settings, "B", "total_weight"), "C"),
    }
    assert "but total_weight is 100" in response.content.decode()


def test_a_file_that_is_not_a_workbook_is_refused(admin: User) -> None:
    count = Framework.objects.count()
    named_yaml = _upload(admin, b"format: 1\n", name="catalog.yaml")
    assert named_yaml.status_code == 400
    assert "This is not an Excel workbook (.xlsx)" in str(named_yaml.context["form"].errors)

    not_a_zip = _upload(admin, b"format: 1\ncode: x\n", name="catalog.xlsx")
    assert not_a_zip.status_code == 400
    assert "The file is not an Excel workbook (.xlsx) or cannot be read" in (
        not_a_zip.content.decode()
    )
    assert Framework.objects.count() == count


def test_a_workbook_without_the_catalog_sheets_is_refused(admin: User) -> None:
    from openpyxl import Workbook

    response = _upload(admin, _save(Workbook()), version="1.0")
    assert response.status_code == 400
    assert (INDICATORS, None, None) in _errors(response)
    assert "the sheet is missing" in response.content.decode()


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_admins_may_upload(
    users_by_role: dict[str, User], role: str, comprehensive: Framework
) -> None:
    user = users_by_role[role]
    data = _download(user, comprehensive)
    count = Framework.objects.count()
    assert client_for(user).get(IMPORT_URL).status_code == 404
    assert _upload(user, data, version="2099.4").status_code == 404
    assert Framework.objects.count() == count
    assert (
        "excel-import"
        not in client_for(user).get(reverse("indicators:framework_list")).content.decode()
    )


def test_anonymous_visitors_are_sent_to_sign_in(comprehensive: Framework) -> None:
    for url in (IMPORT_URL, _export_url(comprehensive)):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_drafts_are_downloaded_only_by_those_who_read_them(
    users_by_role: dict[str, User], small_catalog: dict, import_doc: ImportDoc
) -> None:
    draft = import_doc(small_catalog)
    assert client_for(users_by_role[User.Role.ADMIN]).get(_export_url(draft)).status_code == 200
    assert client_for(users_by_role[User.Role.VENDOR]).get(_export_url(draft)).status_code == 404


def test_the_pages_offer_the_workbook(
    admin: User, assessor: User, comprehensive: Framework
) -> None:
    detail = reverse(
        "indicators:framework_detail", args=[comprehensive.code, comprehensive.version]
    )
    assert _export_url(comprehensive) in client_for(assessor).get(detail).content.decode()
    assert IMPORT_URL not in client_for(assessor).get(detail).content.decode()
    assert (
        IMPORT_URL in client_for(admin).get(reverse("indicators:framework_list")).content.decode()
    )
    assert client_for(admin).get(IMPORT_URL).status_code == 200


def test_the_upload_accepts_a_workbook_body() -> None:
    assert vars(resolve(IMPORT_URL).func)["max_body_bytes"] == MAX_UPLOAD_BYTES


def test_an_edited_workbook_imports_its_edits(admin: User, comprehensive: Framework) -> None:
    workbook = load_workbook(io.BytesIO(_download(admin, comprehensive)))
    sheet = workbook[INDICATORS]
    column = _columns(sheet)
    row = _row_of(sheet, column["code"], "1.2")
    sheet[f"{column['name_en']}{row}"] = "Security, renamed"
    text = sheet[f"{column['rubric.3.zh']}{row}"]
    text.value, text.data_type = "=不是公式", "s"  # text that looks like a formula
    sheet.insert_rows(row)  # a blank row in between is skipped

    response = _upload(admin, _save(workbook), version="2099.5")

    assert response.status_code == 302
    copy = _tree(Framework.objects.get(code=comprehensive.code, version="2099.5"))
    expected = _tree(comprehensive)
    indicator = expected["dimensions"][0]["indicators"][1]
    indicator["name_en"] = "Security, renamed"
    indicator["rubric"][3]["zh"] = "=不是公式"
    assert copy == expected


def test_a_draft_is_replaced_by_a_changed_workbook(admin: User, comprehensive: Framework) -> None:
    data = _download(admin, comprehensive)
    assert _upload(admin, data, version="2099.6").status_code == 302
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook[FRAMEWORK]
    sheet[f"C{_row_of(sheet, 'B', 'name_en')}"] = "Renamed"
    assert _upload(admin, _save(workbook), version="2099.6").status_code == 302
    draft = Framework.objects.get(code=comprehensive.code, version="2099.6")
    assert draft.name_en == "Renamed"
    assert Framework.objects.filter(code=comprehensive.code).count() == 2


def test_row_numbers_count_blank_rows(admin: User, comprehensive: Framework) -> None:
    workbook = load_workbook(io.BytesIO(_download(admin, comprehensive)))
    sheet = workbook[INDICATORS]
    column = _columns(sheet)
    sheet.insert_rows(FIRST_ROW + 1, amount=3)
    row = _row_of(sheet, column["code"], "1.4")
    sheet[f"{column['code']}{row}"] = "1.1"

    response = _upload(admin, _save(workbook), version="2099.7")

    assert _errors(response) == {(INDICATORS, row, column["code"])}


def test_workbook_mistakes_are_named_by_cell(admin: User, trusted: Framework) -> None:
    workbook = load_workbook(io.BytesIO(_download(admin, trusted)))
    indicators = workbook[INDICATORS]
    column = _columns(indicators)
    row = _row_of(indicators, column["code"], "1.1")
    indicators[f"{column['dimension']}{row}"] = "99"  # no such dimension
    settings = workbook[FRAMEWORK]
    share = _row_of(settings, "B", "pass_rule.min_graded_share")
    settings[f"C{share}"] = 2  # above 1
    sheet = workbook[DIMENSIONS]
    sheet.cell(row=KEY_ROW, column=sheet.max_column + 1, value="wieght")  # a misspelt column

    response = _upload(admin, _save(workbook), version="2099.8")

    # A misspelt column stops the reading: its cells would be read in the wrong place.
    assert _errors(response) == {(DIMENSIONS, KEY_ROW, "E")}
    assert "unknown column wieght" in response.content.decode()

    sheet.delete_cols(5)
    response = _upload(admin, _save(workbook), version="2099.8")
    assert _errors(response) == {
        (INDICATORS, row, column["dimension"]),
        (FRAMEWORK, share, "C"),
    }
    assert "99 is not the code of a dimension" in response.content.decode()


def _replace_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == name else source.read(info))
    return out.getvalue()


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize(
    "content",
    [b"<worksheet><sheetData><row", ENTITY_BOMB],
    ids=["damaged", "xml-entities"],
)
def test_a_damaged_or_hostile_sheet_is_refused(
    admin: User, comprehensive: Framework, content: bytes
) -> None:
    data = _replace_member(_download(admin, comprehensive), "xl/worksheets/sheet5.xml", content)
    count = Framework.objects.count()
    response = _upload(admin, data, version="2099.9")
    assert response.status_code == 400
    assert "cannot be read" in response.content.decode()
    assert Framework.objects.count() == count
