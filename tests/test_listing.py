"""The list toolkit: validated filters and search from the query string, pagination, and the
XLSX/CSV exports that never write a formula."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.http import FileResponse, QueryDict, StreamingHttpResponse
from django.test import RequestFactory
from openpyxl import load_workbook

from accounts.models import User
from govcloud_eval.listing import (
    Filter,
    ListQuery,
    Search,
    csv_response,
    csv_safe,
    export_format,
    export_response,
    paginate,
    xlsx_response,
)
from tests.factories import UserFactory

ROLE = Filter(name="role", label="Role", choices=User.Role.choices)
DIGITS = Filter(
    name="code",
    label="Division",
    kind="text",
    validate=lambda v: v.isdigit() and len(v) <= 6,
    apply=lambda qs, v: qs.filter(organisation__division_code__startswith=v),
)


def _query(qs: str) -> ListQuery:
    return ListQuery(QueryDict(qs), filters=[ROLE, DIGITS], search=Search(["username"]))


# ----------------------------------------------------------------------------------------------
# Filters and search


def test_it_keeps_the_values_it_accepts() -> None:
    listing = _query("role=vendor&code=3701&q=%20jinan%20")
    assert listing.values == {"role": "vendor", "code": "3701"}
    assert listing.query == "jinan"
    assert listing.errors == []
    assert listing.is_filtered


def test_it_refuses_a_value_not_among_the_choices_with_a_message_naming_it() -> None:
    listing = _query("role=king&code=37x")
    assert listing.values == {}
    assert len(listing.errors) == 2
    assert "king" in listing.errors[0] and "Role" in listing.errors[0]
    assert "37x" in listing.errors[1] and "Division" in listing.errors[1]
    assert not listing.is_filtered


def test_it_shortens_an_overlong_search_and_says_so() -> None:
    listing = _query("q=" + "a" * 300)
    assert len(listing.query) == 100
    assert listing.errors


def test_the_filter_bar_shows_every_filter_with_its_current_value() -> None:
    bar = _query("role=owner").bar
    assert [(f.name, f.kind, f.value) for f in bar] == [
        ("role", "choice", "owner"),
        ("code", "text", ""),
    ]


@pytest.mark.django_db
def test_apply_narrows_by_filters_and_search() -> None:
    UserFactory.create(username="jinan_vendor", role=User.Role.VENDOR)
    UserFactory.create(username="jinan_owner", role=User.Role.OWNER)
    UserFactory.create(username="qingdao_vendor", role=User.Role.VENDOR)
    rows = _query("role=vendor&q=JINAN").apply(User.objects.all())
    assert [u.username for u in rows] == ["jinan_vendor"]
    # A refused value filters nothing.
    assert _query("role=nobody").apply(User.objects.all()).count() == 3


# ----------------------------------------------------------------------------------------------
# Pagination


@pytest.mark.django_db
@pytest.mark.parametrize(("raw", "number"), [("2", 2), ("99", 3), ("abc", 1), ("-1", 3), ("", 1)])
def test_paginate_turns_any_page_parameter_into_a_page(raw: str, number: int) -> None:
    UserFactory.create_batch(5)
    request = RequestFactory().get("/", {"page": raw})
    page = paginate(request, User.objects.order_by("pk"), per_page=2)
    assert page.number == number
    assert page.paginator.count == 5


# ----------------------------------------------------------------------------------------------
# Exports


def test_export_format_is_only_a_known_format() -> None:
    factory = RequestFactory()
    assert export_format(factory.get("/", {"format": "xlsx"})) == "xlsx"
    assert export_format(factory.get("/", {"format": "csv"})) == "csv"
    assert export_format(factory.get("/", {"format": "exe"})) is None
    assert export_format(factory.get("/")) is None


HOSTILE = ['=HYPERLINK("http://x")', "+1+2", "-3+4", "@SUM(A1)", "plain", "济南政务云"]


def test_xlsx_writes_formula_like_strings_as_text_and_keeps_numbers_typed() -> None:
    rows = [[text, 7, Decimal("1.5"), datetime.date(2026, 5, 1), None] for text in HOSTILE]
    response = xlsx_response("清单", ["Name", "N", "Score", "Due", "Empty"], iter(rows))
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    assert ".xlsx" in response["Content-Disposition"]
    data = response.getvalue()
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Name", "N", "Score", "Due", "Empty"]
    assert [r[0] for r in values[1:]] == HOSTILE
    for row in sheet.iter_rows(min_row=2):
        assert row[0].data_type == "s"  # text, never "f" (formula)
        assert row[1].value == 7 and row[1].data_type == "n"
        assert row[2].value == 1.5
    # Excel's "typed with an apostrophe" mark on the formula-like cells only.
    assert [bool(row[0].quotePrefix) for row in sheet.iter_rows(min_row=2)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_csv_prefixes_formula_like_fields_with_an_apostrophe_and_starts_with_a_bom() -> None:
    response = csv_response("list", ["Name", "N"], ([text, 1] for text in HOSTILE))
    assert isinstance(response, StreamingHttpResponse)
    text = response.getvalue().decode("utf-8")
    assert text.startswith("\ufeffName,N\r\n")
    lines = text.lstrip("\ufeff").splitlines()[1:]
    assert lines == [
        '"\'=HYPERLINK(""http://x"")",1',
        "'+1+2,1",
        "'-3+4,1",
        "'@SUM(A1),1",
        "plain,1",
        "济南政务云,1",
    ]
    assert 'filename="list_' in response["Content-Disposition"]


def test_csv_safe_leaves_numbers_alone() -> None:
    assert csv_safe(-5) == "-5"
    assert csv_safe(Decimal("-1.25")) == "-1.25"
    assert csv_safe(None) == ""
    assert csv_safe(datetime.date(2026, 1, 2)) == "2026-01-02"


def test_xlsx_consumes_rows_lazily_once() -> None:
    consumed: list[int] = []

    def rows() -> Iterator[list[int]]:
        for n in range(1000):
            consumed.append(n)
            yield [n]

    response = export_response("xlsx", "big", ["n"], rows())
    assert isinstance(response, FileResponse)
    assert len(consumed) == 1000
