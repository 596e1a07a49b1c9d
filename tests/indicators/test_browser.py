"""An admin imports catalogs in a real browser: a broken file shows its errors; a good one is
published and then read-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from indicators.models import Framework
from tests.browser_support import screenshot, sign_in

from .conftest import COMPREHENSIVE_FILE, as_yaml, write

pytestmark = pytest.mark.browser


def test_an_admin_sees_errors_then_publishes_a_good_catalog(
    page: Page, live_server: LiveServer, admin: User, small_catalog: dict, tmp_path: Path
) -> None:
    sign_in(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/catalogs/upload/")

    broken = dict(small_catalog, code="broken")
    broken["dimensions"] = [dict(d) for d in small_catalog["dimensions"]]
    broken["dimensions"][0]["weight"] = 45
    page.set_input_files("#id_file", str(write(tmp_path, "broken.yaml", as_yaml(broken))))
    page.click("button[type=submit].button--primary >> nth=-1")
    errors = page.locator("[data-testid=catalog-errors]")
    errors.wait_for()
    assert "broken.yaml: dimensions[0].weight:" in errors.inner_text()
    assert "broken.yaml: dimensions:" in errors.inner_text()
    screenshot(page, "catalog-upload-errors")
    assert not Framework.objects.exists()

    page.set_input_files("#id_file", str(write(tmp_path, "small.yaml", as_yaml(small_catalog))))
    page.click("button[type=submit].button--primary >> nth=-1")
    page.wait_for_url(f"{live_server.url}/catalogs/small/1.0/")
    assert page.locator("[data-testid=draft-notice]").is_visible()

    page.click(".catalog-actions a.button--primary")
    page.wait_for_url(f"{live_server.url}/catalogs/small/1.0/publish/")
    assert page.locator("[data-testid=confirm-text]").is_visible()
    page.click("[data-testid=confirm-button]")
    page.wait_for_url(f"{live_server.url}/catalogs/small/1.0/")
    assert page.locator("[data-testid=read-only-notice]").is_visible()
    assert page.locator(".badge[data-state=published]").first.is_visible()
    assert page.locator(".catalog-actions a", has_text="发布").count() == 0 or (
        page.locator(".catalog-actions a.button--primary").count() == 0
    )
    assert Framework.objects.get().state == Framework.State.PUBLISHED


def test_the_default_comprehensive_catalog_page_in_chinese(
    page: Page, live_server: LiveServer, assessor: User
) -> None:
    from indicators.services import framework_import

    framework_import(
        source=COMPREHENSIVE_FILE.read_bytes(),
        filename=COMPREHENSIVE_FILE.name,
        acting_user=None,
        publish=True,
    )
    sign_in(page, live_server.url, assessor.username)
    page.goto(f"{live_server.url}/catalogs/comprehensive-model/2024.1/")
    assert page.locator("tr[data-testid^=indicator-]").count() == 20
    assert page.locator("h1").inner_text().startswith("政务云综合水平评估指标体系（模型）")
    screenshot(page, "catalog-comprehensive-detail")
