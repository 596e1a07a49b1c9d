"""Importing clouds from .xlsx or CSV: every problem names its row and column; all or nothing."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from accounts.models import Organisation, User
from assessments import cloud_import, services
from assessments.models import Cloud
from audit.models import AuditEvent
from tests.conftest import client_for

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

HEADER = "名称,英文名称,主管单位,行政区划代码,级别,云服务商,政务外网,互联网"
GOOD = [
    "嘉兴政务云,Jiaxing Government Cloud,嘉兴市大数据发展管理局,330400,地市级,"
    "中国电信股份有限公司嘉兴分公司,是,否",
    "数字广东政务云,,广东省政务服务数据管理局,440000,省级,"
    "数字广东网络建设有限公司；腾讯云计算（北京）有限责任公司,是,是",
]
JX = "嘉兴政务云,,嘉兴市大数据发展管理局"


def _csv(*lines: str, encoding: str = "utf-8-sig") -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def _plan(*lines: str) -> cloud_import.ImportPlan:
    return cloud_import.plan_import(cloud_import.read_table(_csv(*lines)))


def _errors(plan: cloud_import.ImportPlan) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in plan.errors]


# ----------------------------------------------------------------------------------------------
# Reading files


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_it_reads_csv_in_the_encodings_excel_writes(encoding: str) -> None:
    table = cloud_import.read_table(_csv(*GOOD, encoding=encoding))
    assert [number for number, _values in table] == [2, 3]
    assert table[0][1]["owner"] == "嘉兴市大数据发展管理局"
    assert table[1][1]["vendors"] == "数字广东网络建设有限公司；腾讯云计算（北京）有限责任公司"


def test_it_reads_the_xlsx_template_and_its_example_row(db: None) -> None:
    data = cloud_import.template_xlsx()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in sheet[1]] == [c.zh for c in cloud_import.COLUMNS]

    plan = cloud_import.plan_import(cloud_import.read_table(data))
    assert plan.ok
    assert plan.to_create == 1


def test_it_reads_codes_excel_stored_as_numbers() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["名称", "主管单位", "行政区划代码", "云服务商"])
    sheet.append(["嘉兴政务云", "嘉兴市大数据发展管理局", 330400.0, "某云服务商"])
    out = io.BytesIO()
    workbook.save(out)
    ((number, values),) = cloud_import.read_table(out.getvalue())
    assert (number, values["division_code"], values["level"]) == (2, "330400", "")


def test_the_csv_template_has_the_header_row() -> None:
    text = cloud_import.template_csv().decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ("名称,英文名称,行政区划代码\n嘉兴政务云,,330400\n".encode(), "主管单位"),
        (f"{HEADER},备注\n{GOOD[0]},x\n".encode(), "备注"),
        (f"{HEADER},名称\n".encode(), "名称"),
        (b"", ""),
        (b"PK\x03\x04 not really a workbook", ""),
        (HEADER.encode(), ""),
    ],
)
def test_it_refuses_a_file_it_cannot_use(data: bytes, named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        cloud_import.read_table(data)
    assert named in " ".join(refused.value.messages)


# ----------------------------------------------------------------------------------------------
# Checking rows


def test_good_rows_plan_clouds_with_new_organisations() -> None:
    plan = _plan(*GOOD)
    assert plan.ok
    assert (plan.to_create, plan.to_change) == (2, 0)
    assert plan.rows[0].new_owner
    assert plan.rows[1].new_vendors == [
        "数字广东网络建设有限公司",
        "腾讯云计算（北京）有限责任公司",
    ]
    facts = plan.rows[1].facts
    assert facts is not None
    assert (facts.level, facts.on_internet) == (Cloud.Level.PROVINCIAL, True)


def test_the_level_follows_from_the_code_when_empty() -> None:
    plan = _plan("宿迁政务云,,宿迁市大数据管理局,321300,,某云服务商,,")
    facts = plan.rows[0].facts
    assert facts is not None and facts.level == Cloud.Level.MUNICIPAL


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        (f"{JX},339900,地市级,某云服务商,是,否", "行政区划代码", "339900"),
        (f"{JX},330400,省级,某云服务商,是,否", "行政区划代码", "330400"),
        (f"{JX},,地市级,某云服务商,是,否", "行政区划代码", ""),
        (f"{JX},330400,区级,某云服务商,是,否", "级别", "区级"),
        (f"{JX},330402,,某云服务商,是,否", "级别", ""),
        (f"{JX},330400,地市级,,是,否", "云服务商", ""),
        (f"{JX},330400,地市级,某云服务商,也许,否", "政务外网", "也许"),
        (f"{JX},330400,地市级,某云服务商,否,否", "政务外网", ""),
        (",,嘉兴市大数据发展管理局,330400,地市级,某云服务商,是,否", "名称", ""),
    ],
)
def test_each_problem_names_its_row_and_column(line: str, column: str, words: str) -> None:
    plan = _plan(GOOD[1], line)
    assert not plan.ok
    assert (3, column) in _errors(plan)
    assert all(row == 3 for row, _column in _errors(plan))
    error = next(e for e in plan.errors if e.column == column)
    assert words in error.message
    assert "3" in str(error) and column in str(error)


def test_a_cloud_named_twice_is_an_error_on_the_second_row() -> None:
    plan = _plan(GOOD[0], GOOD[1], GOOD[0])
    assert _errors(plan) == [(4, "名称")]
    assert "2" in plan.errors[0].message


def test_existing_organisations_must_be_of_the_right_kind(
    government_org: Organisation, vendor_org: Organisation
) -> None:
    plan = _plan(
        f"济南政务云,,{vendor_org.name},370100,地市级,{government_org.name},是,否",
    )
    assert sorted(_errors(plan)) == [(2, "主管单位"), (2, "云服务商")]


def test_an_existing_owner_keeps_its_code(government_org: Organisation) -> None:
    plan = _plan(f"济南政务云,,{government_org.name},370200,地市级,某云服务商,是,否")
    assert _errors(plan) == [(2, "行政区划代码")]
    assert "370100" in plan.errors[0].message
    # Without a code, the owner's own is used.
    plan = _plan(f"济南政务云,,{government_org.name},,,某云服务商,是,否")
    assert plan.ok and plan.rows[0].facts is not None
    assert plan.rows[0].facts.owner == government_org


def test_a_row_naming_a_registered_cloud_changes_it(cloud: Cloud, admin: User) -> None:
    owner = cloud.owner.name
    vendor = cloud.vendors.get().name
    plan = _plan(f"{cloud.name},Jinan Cloud,{owner},370100,地市级,{vendor},是,是")
    assert plan.ok and plan.rows[0].cloud == cloud
    assert plan.rows[0].changes == ["英文名称"]  # on_internet was already 是

    created, changed = services.clouds_import(rows=plan.service_rows(), acting_user=admin)
    cloud.refresh_from_db()
    assert (created, changed, cloud.name_en) == (0, 1, "Jinan Cloud")


def test_a_new_owner_on_several_rows_is_created_once(admin: User) -> None:
    plan = _plan(
        "嘉兴政务云,,嘉兴市大数据发展管理局,330400,地市级,某云服务商,是,否",
        "嘉兴政务外网云,,嘉兴市大数据发展管理局,330400,地市级,某云服务商,是,否",
    )
    assert plan.ok
    assert services.clouds_import(rows=plan.service_rows(), acting_user=admin) == (2, 0)
    owner = Organisation.objects.get(name="嘉兴市大数据发展管理局")
    assert owner.owned_clouds.count() == 2
    assert Organisation.objects.filter(name="某云服务商").count() == 1


def test_a_new_owner_given_two_codes_is_an_error() -> None:
    plan = _plan(
        "嘉兴政务云,,嘉兴市大数据发展管理局,330400,地市级,某云服务商,是,否",
        "湖州政务云,,嘉兴市大数据发展管理局,330500,地市级,某云服务商,是,否",
    )
    assert _errors(plan) == [(3, "行政区划代码")]


def test_the_plan_reads_the_database_in_a_fixed_number_of_queries() -> None:
    lines = [
        f"测试政务云{i},,政务云主管单位{i},{code},省级,云服务商{i % 3},是,否"
        for i, code in enumerate(["110000", "120000", "130000", "140000", "150000", "210000"])
    ]
    table = cloud_import.read_table(_csv(*lines))
    with CaptureQueriesContext(connection) as two:
        cloud_import.plan_import(table[:2])
    with CaptureQueriesContext(connection) as six:
        cloud_import.plan_import(table)
    # Two look-ups for the whole file, then the same few checks for each row.
    assert len(six.captured_queries) - 2 == 3 * (len(two.captured_queries) - 2)


# ----------------------------------------------------------------------------------------------
# The pages


def _upload(client: Client, data: bytes, name: str = "clouds.csv") -> TestResponse:
    return client.post(
        reverse("assessments:cloud_import"), {"file": SimpleUploadedFile(name, data)}
    )


def test_an_admin_sees_the_row_errors_and_nothing_is_saved(admin: User) -> None:
    bad = "嘉兴政务云,,嘉兴市大数据发展管理局,339900,地市级,某云服务商,是,否"
    response = _upload(client_for(admin), _csv(GOOD[1], bad))

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="row-errors"' in page
    assert "339900" in page and "行政区划代码" in page
    assert 'data-testid="import-confirm"' not in page
    assert not Cloud.objects.exists()


def test_an_admin_previews_then_confirms_an_import(admin: User) -> None:
    client = client_for(admin)
    preview = _upload(client, _csv(*GOOD))
    assert preview.status_code == 200
    plan = preview.context["plan"]
    assert plan.ok and not Cloud.objects.exists()  # the preview saves nothing

    done = client.post(reverse("assessments:cloud_import"), {"payload": plan.payload()})
    assert done.status_code == 302
    assert sorted(Cloud.objects.values_list("name", flat=True)) == ["嘉兴政务云", "数字广东政务云"]
    assert AuditEvent.objects.filter(action="assessments.cloud.imported").count() == 1


def test_the_confirmation_checks_the_rows_again(admin: User) -> None:
    client = client_for(admin)
    plan = _upload(client, _csv(*GOOD)).context["plan"]
    # Meanwhile someone registers one of the owners' names as a vendor.
    services.cloud_save(
        facts=services.CloudFacts(
            name="广东另一朵云",
            level=Cloud.Level.PROVINCIAL,
            new_owner_name="广东省另一主管单位",
            new_owner_division_code="440000",
            new_vendor_names=("嘉兴市大数据发展管理局",),
        ),
        acting_user=admin,
    )
    response = client.post(reverse("assessments:cloud_import"), {"payload": plan.payload()})
    assert response.status_code == 400
    assert (2, "主管单位") in _errors(response.context["plan"])
    assert not Cloud.objects.filter(name__in=["嘉兴政务云", "数字广东政务云"]).exists()


def test_a_damaged_payload_asks_for_the_file_again(admin: User) -> None:
    response = client_for(admin).post(reverse("assessments:cloud_import"), {"payload": "[1"})
    assert response.status_code == 400
    assert response.context["file_errors"]


def test_an_unreadable_file_is_refused_by_name(admin: User) -> None:
    response = _upload(client_for(admin), b"\x00\x01", name="clouds.xlsx")
    assert response.status_code == 400
    assert response.context["file_errors"]


@pytest.mark.parametrize(("fmt", "content_type"), [("xlsx", "spreadsheetml"), ("csv", "text/csv")])
def test_the_template_downloads(admin: User, fmt: str, content_type: str) -> None:
    response = client_for(admin).get(reverse("assessments:cloud_import_template", args=[fmt]))
    assert response.status_code == 200
    assert content_type in response["Content-Type"]
    assert f"clouds-template.{fmt}" in response["Content-Disposition"]


def test_an_unknown_template_format_is_not_found(admin: User) -> None:
    response = client_for(admin).get(reverse("assessments:cloud_import_template", args=["pdf"]))
    assert response.status_code == 404
