"""One evaluation year on the deployed topology (``make e2e``; ``make test`` runs it too).

gunicorn with ``DEBUG=false``, two Celery workers and beat as docker-compose starts them,
PostgreSQL, Redis and S3 object storage; Chromium does what the people do:

1. the admin creates a campaign of three clouds, opens it and assigns two assessors to each;
2. two vendors fill in the self-assessments and upload evidence, one file of 200 MB, and submit;
3. one assessor scores in the browser, the other through the Excel score sheet;
4. the admin scores the whole campaign (the progress bar), settles the one disagreement, approves
   the three assessments, issues their reports — one worker is killed with SIGKILL while it
   renders, and every report still ends ``ready`` exactly once — and publishes the ranking;
5. an anonymous visitor follows a report's verification link (the one its QR code carries, on
   ``PUBLIC_BASE_URL``) and uploads the PDF to check it.

Every file lands in the bucket; nothing is written under ``MEDIA_ROOT``.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from pytest_django import Settings

from accounts import services as accounts
from accounts.models import Organisation, User
from assessments import services as workflow
from assessments.models import Assessment, Campaign, Cloud, Evidence
from assessments.scoresheet.workbook import (
    CODE_COLUMN,
    HEADER_ROW,
    RATING_COLUMN,
    RATIONALE_COLUMN,
    SHEET,
)
from audit.chain import verify_chain
from audit.models import AuditEvent
from indicators.models import Indicator
from indicators.services import default_catalogs_load
from reports.models import Ranking, Report
from tests.browser_support import screenshot, two_factor_device, type_totp_code
from tests.factories import PASSWORD
from tests.storage_support import S3Bucket

from .topology import Topology, start, topology_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BIG_FILE_BYTES = 200 * 1024 * 1024
# The three clouds: (name, level, owner (name, GB/T 2260 code), vendor).
CLOUDS = [
    (
        "济南政务云计算中心（端到端）",
        Cloud.Level.MUNICIPAL,
        ("济南市大数据局（端到端）", "370100"),
        "A",
    ),
    ("嘉兴政务云（端到端）", Cloud.Level.MUNICIPAL, ("嘉兴市大数据局（端到端）", "330400"), "A"),
    (
        "湖北省政务云（端到端）",
        Cloud.Level.PROVINCIAL,
        ("湖北省政务管理办（端到端）", "420000"),
        "B",
    ),
]


# ----------------------------------------------------------------------------------------------
# Set-up: the people and clouds an office would already have, and the running topology


def _people_and_clouds() -> dict[str, User]:
    """The catalogs, the organisations, one account per person, the three clouds: what the
    office registered before the year starts (the portal has no page for clouds yet)."""
    default_catalogs_load(acting_user=None)
    office = accounts.organisation_create(
        kind="office", name="评估办公室（端到端）", acting_user=None
    )
    vendors = {
        key: accounts.organisation_create(kind="vendor", name=name, acting_user=None)
        for key, name in (("A", "浪潮云（端到端）"), ("B", "楚天云（端到端）"))
    }
    people: dict[str, User] = {}
    for username, role, organisation in (
        ("e2e_admin", "admin", office),
        ("e2e_vendor_a", "vendor", vendors["A"]),
        ("e2e_vendor_b", "vendor", vendors["B"]),
        ("e2e_expert_li", "assessor", office),
        ("e2e_expert_wang", "assessor", office),
    ):
        people[username] = accounts.user_create(
            username=username,
            password=PASSWORD,
            role=role,
            organisation=organisation,
            display_name=username.removeprefix("e2e_"),
            acting_user=None,
        )
    for name, level, (owner_name, code), vendor in CLOUDS:
        owner = accounts.organisation_create(
            kind="government", name=owner_name, division_code=code, acting_user=None
        )
        workflow.cloud_create(
            name=name, owner=owner, vendors=[vendors[vendor]], level=level, acting_user=None
        )
    return people


@pytest.fixture
def topology(
    transactional_db: None, settings: Settings, tmp_path: Path, s3_bucket: S3Bucket
) -> Iterator[Topology]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("REDIS_URL is not set: the end-to-end test needs Redis (`make test`).")
    # The processes check passwords with the production hashers.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    running = topology_for(
        tmp_path, s3_bucket, queue_prefix="gce-e2e", common_name="govcloud_eval e2e"
    )
    try:
        start(running)
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, base_url: str, username: str) -> None:
    device = two_factor_device(username)  # admins and assessors: an authenticator app
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].button--primary")
    type_totp_code(page, device)
    page.wait_for_url(f"{base_url}/")


# ----------------------------------------------------------------------------------------------
# The year


def test_one_evaluation_year_runs_on_the_deployed_topology(
    topology: Topology, browser_page: Page, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    people = _people_and_clouds()
    page, base = browser_page, topology.base_url
    year = datetime.date.today().year

    # 1. The admin creates the campaign, adds the three clouds, opens it, assigns assessors.
    sign_in(page, base, "e2e_admin")
    page.goto(f"{base}/campaigns/new/")
    page.fill("#id_name", f"{year}年政务云综合水平评估（端到端）")
    page.fill("#id_year", str(year))
    page.fill("#id_opens_on", (datetime.date.today() - datetime.timedelta(days=1)).isoformat())
    page.fill("#id_closes_on", (datetime.date.today() + datetime.timedelta(days=30)).isoformat())
    page.click("[data-testid=campaign-form] button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/*/")
    campaign = Campaign.objects.get(name__endswith="（端到端）")
    page.click(f"a[href='/campaigns/{campaign.pk}/clouds/']")
    for cloud in Cloud.objects.filter(name__endswith="（端到端）"):
        page.check(f"input[name=clouds][value='{cloud.pk}']")
    page.click("[data-testid=add-clouds] button[type=submit]")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=next-state]")
    expect(page.locator(".message--success")).to_be_visible()
    assessments = list(campaign.assessments.order_by("cloud__name"))
    assert len(assessments) == 3
    for assessment in assessments:
        for assessor in ("e2e_expert_li", "e2e_expert_wang"):
            page.goto(f"{base}/assessments/{assessment.pk}/assessors/")
            page.select_option("#id_assessor", str(people[assessor].pk))
            page.click("[data-testid=assign-form] button[type=submit]")
            page.wait_for_url(f"{base}/assessments/{assessment.pk}/assessors/")
    screenshot(page, "e2e-admin-assessors")

    # 2. The vendors answer every indicator in the browser, upload evidence, and submit.
    big = tmp_path / "平台可用性监测原始数据（200MB）.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        for _ in range(BIG_FILE_BYTES // (4 * 1024 * 1024)):
            handle.write(os.urandom(4 * 1024 * 1024))
    small = tmp_path / "等保三级备案证明.pdf"
    small.write_bytes(b"%PDF-1.7\n" + os.urandom(64 * 1024))
    for assessment in assessments:
        vendor = (
            "e2e_vendor_b" if assessment.cloud.level == Cloud.Level.PROVINCIAL else "e2e_vendor_a"
        )
        sign_in(page, base, vendor)
        page.goto(f"{base}/assessments/{assessment.pk}/")
        for indicator in Indicator.objects.filter(framework=campaign.framework).order_by(
            "dimension__order", "order"
        ):
            card = page.locator(f"#ind-{indicator.pk}")
            card.locator("input[name=self_rating][value='3']").check()
            if indicator.is_quantitative:
                card.locator("input[name=value]").fill(_good_value(indicator))
            card.locator("textarea[name=explanation]").fill(f"{indicator.name_zh}：已全面满足。")
            card.locator("[data-autosave-status][data-state=saved]").wait_for()
        key = Indicator.objects.get(framework=campaign.framework, code="1.3")
        section = page.locator(f"#evidence-{key.pk}")
        files = [str(small), str(big)] if assessment == assessments[0] else [str(small)]
        for path in files:
            before = section.locator(".evidence-file").count()
            section.locator("[data-evidence-input]").set_input_files(path)
            expect(section.locator(".evidence-file")).to_have_count(before + 1, timeout=300_000)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="提交自评").click()
        expect(page.get_by_text("已提交").first).to_be_visible()
    screenshot(page, "e2e-vendor-submitted")
    big_evidence = Evidence.objects.get(original_name=big.name)
    assert big_evidence.size == big.stat().st_size
    assert big_evidence.sha256 == _sha256(big)
    assert s3_bucket.sha256(big_evidence.file.name) == big_evidence.sha256
    assert s3_bucket.is_multipart(big_evidence.file.name)

    # 3. 李 scores in the browser (one disagreement: 1.2 rated 1); 王 through the score sheet.
    sign_in(page, base, "e2e_expert_li")
    for assessment in assessments:
        page.goto(f"{base}/assessments/{assessment.pk}/score/")
        for indicator in Indicator.objects.filter(framework=campaign.framework):
            card = page.locator(f"#ind-{indicator.pk}")
            disagree = assessment == assessments[0] and indicator.code == "1.2"
            card.locator(f"input[name=rating][value='{1 if disagree else 3}']").check()
            card.locator("textarea[name=rationale]").fill("依据佐证材料核实。")
            card.locator("[data-autosave-status][data-state=saved]").wait_for()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="提交评分").click()
        expect(page.locator(".message--success")).to_be_visible()
    sign_in(page, base, "e2e_expert_wang")
    for assessment in assessments:
        page.goto(f"{base}/assessments/{assessment.pk}/score/")
        card = page.locator("[data-testid=score-sheet]")
        with page.expect_download() as download:
            card.locator("[data-testid=score-sheet-download]").click()
        sheet = tmp_path / f"评分表-{assessment.pk}.xlsx"
        download.value.save_as(sheet)
        _fill_score_sheet(sheet, rating=3, rationale="对照评分标准逐项核实。")
        page.set_input_files("#score-sheet-file", str(sheet))
        card.locator("button[type=submit]").click()
        expect(page.locator(".message--success")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="提交评分").click()
        expect(page.locator(".message--success")).to_be_visible()
    for assessment in assessments:
        assessment.refresh_from_db()
        assert assessment.state == Assessment.State.SCORED

    # 4. The admin scores the campaign, settles, approves, issues the reports, publishes.
    sign_in(page, base, "e2e_admin")
    page.goto(f"{base}/campaigns/{campaign.pk}/scoring/")
    page.click("[data-scoring-start] button[type=submit]")
    expect(page.locator("[data-scoring-status]")).to_contain_text("评分完成", timeout=120_000)
    screenshot(page, "e2e-admin-campaign-scored")
    first = assessments[0]
    page.goto(f"{base}/assessments/{first.pk}/review/")
    settle = page.locator('[data-testid="settle-1.2"]')
    settle.locator("select").select_option("2")
    settle.locator("textarea").fill("两位专家意见分歧，经合议取先进级。")
    settle.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=unsettled]")).to_have_count(0)
    for assessment in assessments:
        page.goto(f"{base}/assessments/{assessment.pk}/review/")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("[data-testid=approve]")
        page.wait_for_selector("[data-testid=approved]")

    # Only worker-1 takes the renderings, and it dies in the middle of one.
    topology.processes["worker-2"].stop()
    for assessment in assessments:
        page.goto(f"{base}/assessments/{assessment.pk}/reports/")
        expect(page.get_by_text(f"{topology.base_url}/verify/")).to_be_visible()
        page.check("form[action$='/reports/issue/'] input[name=confirm]")
        page.click("form[action$='/reports/issue/'] button[type=submit]")
        expect(page.locator(".message--success")).to_be_visible()
    reports = list(Report.objects.filter(assessment__campaign=campaign))
    assert len(reports) == 3
    topology.wait_for(
        lambda: (
            Report.objects.filter(
                assessment__campaign=campaign, state=Report.State.RENDERING
            ).exists()
            or Report.objects.filter(
                assessment__campaign=campaign, state=Report.State.READY
            ).count()
            == 3
        ),
        60,
        "worker-1 renders a report",
    )
    caught = Report.objects.filter(
        assessment__campaign=campaign, state=Report.State.RENDERING
    ).count()
    topology.processes["worker-1"].kill()
    topology.processes["worker-2"].start()
    topology.wait_for(
        lambda: (
            Report.objects.filter(assessment__campaign=campaign, state=Report.State.READY).count()
            == 3
        ),
        300,
        "every report is ready",
    )
    assert caught >= 1, "worker-1 was not killed while rendering"
    for report in Report.objects.filter(assessment__campaign=campaign):
        rendered = AuditEvent.objects.filter(
            action="reports.report.rendered", target_id=str(report.pk)
        ).count()
        assert rendered == 1, f"{report.number} was rendered {rendered} times"
        assert s3_bucket.sha256(report.file.name) == report.sha256
        assert report.content["verify_url"].startswith(f"{base}/verify/")
    assert len(s3_bucket.keys(prefix="reports/")) == 3
    page.goto(f"{base}/campaigns/{campaign.pk}/ranking/")
    page.check("form[action$='/ranking/publish/'] input[name=confirm]")
    page.click("form[action$='/ranking/publish/'] button[type=submit]")
    expect(page.locator(".message--success")).to_be_visible()
    ranking = Ranking.objects.get(campaign=campaign, state=Ranking.State.FINAL)
    assert ranking.snapshot is not None and ranking.snapshot["listed"] == 3

    # 5. An anonymous visitor follows a report's verification link and checks its PDF.
    report = Report.objects.get(assessment=first)
    page.goto(f"{base}/assessments/{first.pk}/reports/")
    with page.expect_download() as download:
        page.click(f"a[href='/reports/{report.pk}/download/']")
    pdf = tmp_path / f"{report.number}.pdf"
    download.value.save_as(pdf)
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    link = report.content["verify_url"]
    assert link in printed.replace("\n", "")
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_text(report.number).first).to_be_visible()
    page.set_input_files("#file", str(pdf))
    page.click(".verify__form button[type=submit]")
    expect(page.get_by_text("一致").first).to_be_visible()  # "Identical"
    screenshot(page, "e2e-visitor-verified")
    page.goto(f"{base}/rankings/{ranking.year}/{ranking.slug}/")
    for name, *_rest in CLOUDS:
        expect(page.get_by_text(name).first).to_be_visible()

    # Nothing was written on the web's or the workers' local disk.
    assert list(topology.media_root.rglob("*")) == []

    # The audit trail that gunicorn and the workers wrote is one intact hash chain, each record
    # sealed by the process that wrote it right after its commit (none left for the hourly task).
    chain = verify_chain()
    assert chain.intact and chain.checked > 0, chain
    for action in ("assessments.assessment.submitted", "reports.report.rendered"):
        assert AuditEvent.objects.filter(action=action).exists(), action
        assert not AuditEvent.objects.filter(action=action, seq__isnull=True).exists(), action


def _good_value(indicator: Indicator) -> str:
    """A measured value at the top anchor of a quantitative indicator."""
    anchors = [r.anchor for r in indicator.rubric.all() if r.anchor is not None]
    top = max(anchors) if anchors else Decimal(100)
    return str(top)


def _fill_score_sheet(path: Path, *, rating: int, rationale: str) -> None:
    workbook = load_workbook(path)
    sheet = workbook[SHEET]
    row = HEADER_ROW + 2
    while sheet[f"{CODE_COLUMN}{row}"].value:
        sheet[f"{RATING_COLUMN}{row}"] = rating
        sheet[f"{RATIONALE_COLUMN}{row}"] = rationale
        row += 1
    assert row > HEADER_ROW + 2, "the score sheet lists no indicator"
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


_ = (Organisation, settings)
