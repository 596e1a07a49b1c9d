"""The long lists (assessments, campaigns, certified reports): filters kept in the URL and
validated, search, pagination, export of the filtered rows, and a number of queries per page
that does not grow with the rows."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import Organisation, User
from assessments.models import Assessment, Assignment, Campaign, Cloud
from indicators.models import Framework
from reports.certified.models import Report
from tests.browser_support import screenshot, sign_in
from tests.test_dashboards import DAY, TODAY, make_assessments, make_report, make_score

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    from tests.conftest import client_for as signed_in

    client = signed_in(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def open_campaign(admin: User, comprehensive: Framework) -> Campaign:
    return Campaign.objects.create(
        name="2026年政务云综合水平评估",
        year=TODAY.year,
        framework=comprehensive,
        opens_on=TODAY - 30 * DAY,
        closes_on=TODAY + 10 * DAY,
        scoring_due_on=TODAY + 20 * DAY,
        state=Campaign.State.OPEN,
        created_by=admin,
    )


@pytest.fixture
def shandong(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.GOVERNMENT, name="山东省大数据局", division_code="370000"
    )


@pytest.fixture
def guangdong(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.GOVERNMENT, name="广东省政务服务数据管理局", division_code="440000"
    )


def _rows(response: TestResponse) -> list[str]:
    """The cloud names of the list's page, in order."""
    page = response.context["page"]
    return [a.cloud.name for a in page.object_list]


def _xlsx(response: TestResponse) -> list[list[object]]:
    data = response.getvalue()
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [[c.value for c in row] for row in sheet.iter_rows()]


# ----------------------------------------------------------------------------------------------
# Assessments: filters and search


def test_the_admin_filters_assessments_by_state_province_and_campaign_and_searches_by_name(
    admin: User, open_campaign: Campaign, shandong: Organisation, guangdong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 2, Assessment.State.SUBMITTED, prefix="济南云")
    make_assessments(open_campaign, guangdong, 3, Assessment.State.SUBMITTED, prefix="广州云")
    make_assessments(open_campaign, guangdong, 1, Assessment.State.DRAFT, prefix="深圳云")
    client = client_for(admin)
    url = reverse("assessments:list")

    assert len(_rows(client.get(url))) == 6
    assert len(_rows(client.get(url, {"province": "44"}))) == 4
    assert len(_rows(client.get(url, {"province": "44", "state": "submitted"}))) == 3
    assert len(_rows(client.get(url, {"q": "济南"}))) == 2
    assert len(_rows(client.get(url, {"campaign": str(open_campaign.pk), "q": "深圳"}))) == 1

    # The filters stay in the page's links (bookmarkable): the export keeps them.
    html = client.get(url, {"province": "44", "state": "submitted"}).content.decode()
    assert "?province=44&amp;state=submitted&amp;format=xlsx" in html
    assert '<option value="44" selected>' in html


def test_a_bad_filter_value_is_named_and_ignored_not_a_server_error(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 2, Assessment.State.DRAFT)
    response = client_for(admin).get(
        reverse("assessments:list"), {"state": "lost", "province": "99", "campaign": "x"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“lost” is not a valid value for State" in html
    assert "“99” is not a valid value for Province" in html
    assert "“x” is not a valid value for Campaign" in html
    assert len(_rows(response)) == 2


def test_the_level_filter_reads_the_current_score_and_hides_unapproved_levels_from_vendors(
    admin: User,
    vendor: User,
    vendor_org: Organisation,
    open_campaign: Campaign,
    shandong: Organisation,
) -> None:
    level = open_campaign.framework.levels.order_by("order").first()
    assert level is not None
    approved, scored = make_assessments(
        open_campaign, shandong, 2, Assessment.State.APPROVED, vendor=vendor_org
    )
    Assessment.objects.filter(pk=scored.pk).update(state=Assessment.State.SCORED)
    make_score(approved, level.code)
    make_score(scored, level.code)
    make_assessments(open_campaign, shandong, 2, Assessment.State.SCORED, vendor=vendor_org)
    url = reverse("assessments:list")

    assert sorted(_rows(client_for(admin).get(url, {"level": level.code}))) == sorted(
        [approved.cloud.name, scored.cloud.name]
    )
    # The vendor reads a level only once the assessment is approved.
    assert _rows(client_for(vendor).get(url, {"level": level.code})) == [approved.cloud.name]
    page = client_for(vendor).get(url).context["page"]
    levels = {a.cloud.name: a.level for a in page.object_list}
    assert levels[approved.cloud.name] == level.code
    assert levels[scored.cloud.name] == ""


def test_the_assessor_lists_only_current_assignments_deadline_first(
    admin: User,
    assessor: User,
    open_campaign: Campaign,
    shandong: Organisation,
    comprehensive: Framework,
) -> None:
    soon = Campaign.objects.create(
        name="2026年补评",
        year=TODAY.year,
        framework=comprehensive,
        opens_on=TODAY - 60 * DAY,
        closes_on=TODAY - 30 * DAY,
        scoring_due_on=TODAY - DAY,
        state=Campaign.State.REVIEWING,
    )
    (later,) = make_assessments(open_campaign, shandong, 1, Assessment.State.SUBMITTED)
    (first,) = make_assessments(soon, shandong, 1, Assessment.State.SUBMITTED)
    (removed,) = make_assessments(open_campaign, shandong, 1, Assessment.State.SUBMITTED)
    make_assessments(open_campaign, shandong, 1, Assessment.State.SUBMITTED)  # not theirs
    Assignment.objects.create(assessment=later, assessor=assessor)
    Assignment.objects.create(assessment=first, assessor=assessor)
    Assignment.objects.create(assessment=removed, assessor=assessor, removed_at=timezone.now())
    response = client_for(assessor).get(reverse("assessments:list"))
    assert _rows(response) == [first.cloud.name, later.cloud.name]
    html = response.content.decode()
    assert "Overdue" in html
    assert reverse("assessments:score", args=[first.pk]) in html


def test_the_list_pages_fifty_rows_at_a_time(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 120, Assessment.State.DRAFT)
    client = client_for(admin)
    url = reverse("assessments:list")
    first = client.get(url)
    assert len(_rows(first)) == 50
    assert "Page 1 of 3" in first.content.decode()
    assert len(_rows(client.get(url, {"page": "3"}))) == 20
    assert len(_rows(client.get(url, {"page": "nonsense"}))) == 50


# ----------------------------------------------------------------------------------------------
# Assessments: export


def test_the_export_holds_every_filtered_row_not_just_the_page(
    admin: User, open_campaign: Campaign, shandong: Organisation, guangdong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 60, Assessment.State.DRAFT, prefix="济南云")
    make_assessments(open_campaign, guangdong, 5, Assessment.State.DRAFT, prefix="=HYPERLINK")
    response = client_for(admin).get(
        reverse("assessments:list"), {"province": "37", "format": "xlsx", "page": "2"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx(response)
    assert rows[0][:4] == ["Cloud", "Owner", "Division code", "Campaign"]
    assert len(rows) == 61
    assert {r[0] for r in rows[1:]} == {f for f in (r[0] for r in rows[1:]) if "济南云" in str(f)}

    everything = _xlsx(client_for(admin).get(reverse("assessments:list"), {"format": "xlsx"}))
    hostile = [r[0] for r in everything if str(r[0]).startswith("=")]
    assert len(hostile) == 5  # kept as text, not turned into formulas (see tests/test_listing.py)


def test_the_csv_export_is_there_too(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 3, Assessment.State.DRAFT, prefix="济南云")
    response = client_for(admin).get(reverse("assessments:list"), {"format": "csv"})
    text = response.getvalue().decode("utf-8")
    assert text.startswith("\ufeffCloud,Owner")
    assert text.count("济南云") == 3


def test_a_vendor_exports_only_what_they_see(
    vendor: User,
    vendor_org: Organisation,
    other_vendor_org: Organisation,
    open_campaign: Campaign,
    shandong: Organisation,
) -> None:
    make_assessments(open_campaign, shandong, 2, Assessment.State.DRAFT, vendor=vendor_org)
    make_assessments(open_campaign, shandong, 4, Assessment.State.DRAFT, vendor=other_vendor_org)
    rows = _xlsx(client_for(vendor).get(reverse("assessments:list"), {"format": "xlsx"}))
    assert len(rows) == 3


# ----------------------------------------------------------------------------------------------
# Constant queries per page


def _queries(client: Client, url: str, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["admin", "assessor", "vendor", "owner"])
def test_the_assessment_list_runs_as_many_queries_for_200_rows_as_for_10(
    role: str,
    admin: User,
    assessor: User,
    vendor: User,
    owner: User,
    vendor_org: Organisation,
    government_org: Organisation,
    open_campaign: Campaign,
) -> None:
    users = {"admin": admin, "assessor": assessor, "vendor": vendor, "owner": owner}
    level = open_campaign.framework.levels.order_by("order").first()
    assert level is not None

    def build(n: int) -> None:
        for a in make_assessments(
            open_campaign, government_org, n, Assessment.State.APPROVED, vendor=vendor_org
        ):
            Assignment.objects.create(assessment=a, assessor=assessor)
            make_score(a, level.code)

    client = client_for(users[role])
    url = reverse("assessments:list")
    build(10)
    few = _queries(client, url)
    build(190)
    assert _queries(client, url) == few
    assert _queries(client, url, {"page": "4"}) == few
    assert _queries(client, url, {"format": "xlsx"}) <= few


def test_the_assessors_list_costs_no_more_queries_than_the_admins(
    admin: User,
    assessor: User,
    open_campaign: Campaign,
    shandong: Organisation,
) -> None:
    for a in make_assessments(open_campaign, shandong, 40, Assessment.State.SUBMITTED):
        Assignment.objects.create(assessment=a, assessor=assessor)
    url = reverse("assessments:list")
    assert _queries(client_for(assessor), url) <= _queries(client_for(admin), url)


def test_the_campaign_list_runs_as_many_queries_for_200_campaigns_as_for_10(
    admin: User, comprehensive: Framework
) -> None:
    def build(n: int, start: int) -> None:
        Campaign.objects.bulk_create(
            [
                Campaign(
                    name=f"批次{start + i}",
                    year=2000 + (start + i) % 20,
                    framework=comprehensive,
                    opens_on=TODAY,
                    closes_on=TODAY + DAY,
                )
                for i in range(n)
            ]
        )

    client = client_for(admin)
    url = reverse("assessments:campaign_list")
    build(10, 0)
    few = _queries(client, url)
    build(190, 10)
    assert _queries(client, url) == few
    assert _queries(client, url, {"page": "2", "state": "draft"}) == few


# ----------------------------------------------------------------------------------------------
# Campaigns


def test_the_campaign_list_filters_by_state_and_year_and_searches_by_name(
    admin: User, open_campaign: Campaign, comprehensive: Framework
) -> None:
    Campaign.objects.create(
        name="2024年可信云平台评估",
        year=2024,
        framework=comprehensive,
        opens_on=TODAY,
        closes_on=TODAY + DAY,
        state=Campaign.State.CLOSED,
    )
    client = client_for(admin)
    url = reverse("assessments:campaign_list")

    def names(params: dict[str, str]) -> list[str]:
        return [c.name for c in client.get(url, params).context["campaigns"]]

    assert len(names({})) == 2
    assert names({"state": "closed"}) == ["2024年可信云平台评估"]
    assert names({"year": str(TODAY.year)}) == [open_campaign.name]
    assert names({"q": "可信"}) == ["2024年可信云平台评估"]
    html = client.get(url, {"year": "1999"}).content.decode()
    assert "“1999” is not a valid value for Year" in html

    rows = _xlsx(client.get(url, {"state": "open", "format": "xlsx"}))
    assert [r[0] for r in rows[1:]] == [open_campaign.name]


def test_the_campaign_list_counts_every_assessment_state_including_excluded(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    make_assessments(open_campaign, shandong, 2, Assessment.State.EXCLUDED)
    make_assessments(open_campaign, shandong, 1, Assessment.State.DRAFT)
    response = client_for(admin).get(reverse("assessments:campaign_list"))
    ((campaign, counts),) = response.context["campaign_rows"]
    states = Assessment.State.values
    assert counts[states.index("excluded")] == 2
    assert counts[states.index("draft")] == 1
    assert campaign.n_total == 3


# ----------------------------------------------------------------------------------------------
# Certified reports


def test_the_admin_lists_reports_filtered_by_file_state_and_exports_them(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    good, bad = make_assessments(open_campaign, shandong, 2, Assessment.State.APPROVED)
    make_report(good, admin)
    failed = make_report(bad, admin, state=Report.State.FAILED)
    client = client_for(admin)
    url = reverse("certified:report_list")

    response = client.get(url, {"state": "failed"})
    assert [r.number for r in response.context["page"].object_list] == [failed.number]
    assert "Rendering failed" in response.content.decode()
    found = client.get(url, {"q": good.cloud.name}).context["page"]
    assert [r.number for r in found] == [Report.objects.get(assessment=good).number]
    rows = _xlsx(client.get(url, {"format": "xlsx", "status": "issued"}))
    assert rows[0][0] == "Report number"
    assert len(rows) == 3


def test_the_report_list_is_the_offices_alone(
    vendor: User, owner: User, assessor: User, auditor: User
) -> None:
    for user in (vendor, owner, assessor, auditor):
        assert client_for(user).get(reverse("certified:report_list")).status_code == 404


def test_the_report_list_runs_as_many_queries_for_200_reports_as_for_10(
    admin: User, open_campaign: Campaign, shandong: Organisation
) -> None:
    def build(n: int) -> None:
        for a in make_assessments(open_campaign, shandong, n, Assessment.State.APPROVED):
            make_report(a, admin)

    client = client_for(admin)
    url = reverse("certified:report_list")
    build(10)
    few = _queries(client, url)
    build(190)
    assert _queries(client, url) == few


# ----------------------------------------------------------------------------------------------
# In the browser


@pytest.mark.browser
def test_an_admin_filters_pages_and_exports_the_list_in_the_browser(
    page: Page,
    live_server: LiveServer,
    admin: User,
    open_campaign: Campaign,
    shandong: Organisation,
    guangdong: Organisation,
) -> None:
    make_assessments(open_campaign, shandong, 70, Assessment.State.SUBMITTED, prefix="济南云")
    make_assessments(open_campaign, guangdong, 5, Assessment.State.SUBMITTED, prefix="广州云")
    make_assessments(open_campaign, shandong, 3, Assessment.State.DRAFT, prefix="青岛云")
    sign_in(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}{reverse('assessments:list')}")

    page.select_option("#id_filter_province", "37")
    page.select_option("#id_filter_state", "submitted")
    page.click("[data-testid=list-filters] button[type=submit]")
    page.wait_for_url("**/assessments/?*province=37*")
    assert "state=submitted" in page.url
    assert "共 70 条" in page.locator("[data-testid=list-count]").inner_text()
    assert page.locator("[data-testid=assessment-list] tbody tr").count() == 50
    screenshot(page, "assessment-list-filtered-zh")

    page.click("nav.pagination a[rel=next]")
    page.wait_for_url("**page=2*")
    assert "province=37" in page.url and "state=submitted" in page.url
    assert page.locator("[data-testid=assessment-list] tbody tr").count() == 20

    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet is not None
    assert sheet.max_row == 71  # the header and every filtered row, not only the page's


# ----------------------------------------------------------------------------------------------
# Clouds (the register)


def test_the_cloud_register_filters_by_level_province_and_archived_and_exports(
    admin: User, shandong: Organisation, guangdong: Organisation, vendor_org: Organisation
) -> None:
    clouds = [
        Cloud.objects.create(name=f"山东云{i}", owner=shandong, level=Cloud.Level.PROVINCIAL)
        for i in range(3)
    ] + [
        Cloud.objects.create(name=f"广东云{i}", owner=guangdong, level=Cloud.Level.PROVINCIAL)
        for i in range(2)
    ]
    for cloud in clouds:
        cloud.vendors.add(vendor_org)
    Cloud.objects.filter(name="山东云0").update(archived_at=timezone.now())
    client = client_for(admin)
    url = reverse("assessments:cloud_list")

    def names(params: dict[str, str]) -> list[str]:
        return sorted(c.name for c in client.get(url, params).context["clouds"])

    assert names({"province": "37"}) == ["山东云0", "山东云1", "山东云2"]
    assert names({"province": "37", "archived": "no"}) == ["山东云1", "山东云2"]
    assert names({"archived": "yes"}) == ["山东云0"]
    assert names({"q": "广东"}) == ["广东云0", "广东云1"]
    assert "“x” is not a valid value for Level" in client.get(url, {"level": "x"}).content.decode()

    rows = _xlsx(client.get(url, {"province": "44", "format": "xlsx"}))
    assert rows[0][:2] == ["Cloud", "English name"]
    assert sorted(str(r[0]) for r in rows[1:]) == ["广东云0", "广东云1"]
    assert all(r[5] == vendor_org.name for r in rows[1:])


def test_the_cloud_register_runs_as_many_queries_for_200_clouds_as_for_10(
    admin: User, shandong: Organisation, vendor_org: Organisation
) -> None:
    def build(n: int, start: int) -> None:
        clouds = Cloud.objects.bulk_create(
            [
                Cloud(name=f"云{start + i}", owner=shandong, level=Cloud.Level.MUNICIPAL)
                for i in range(n)
            ]
        )
        for cloud in clouds:
            cloud.vendors.add(vendor_org)

    client = client_for(admin)
    url = reverse("assessments:cloud_list")
    build(10, 0)
    few = _queries(client, url)
    build(190, 10)
    assert _queries(client, url) == few
    assert _queries(client, url, {"page": "3", "province": "37"}) == few
