from __future__ import annotations

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from tests.browser_support import screenshot, sign_in

pytestmark = pytest.mark.browser

# By role: the users_by_role fixture's keys are the roles' values.
DASHBOARD_HEADINGS: dict[str, tuple[str, str]] = {
    User.Role.ADMIN: ("评估批次", "Campaigns"),
    User.Role.ASSESSOR: ("我的评估任务", "My assignments"),
    User.Role.VENDOR: ("自评填报", "Self-assessments"),
    User.Role.OWNER: ("我的政务云", "My clouds"),
    User.Role.AUDITOR: ("最近活动", "Recent activity"),
    User.Role.SECURITY: ("人员与机构", "People"),
}


def test_each_role_signs_in_sees_its_dashboard_in_chinese_then_switches_to_english(
    page: Page, live_server: LiveServer, users_by_role: dict[str, User]
) -> None:
    for role, user in users_by_role.items():
        chinese, english = DASHBOARD_HEADINGS[role]
        page.context.clear_cookies()

        sign_in(page, live_server.url, user.username)

        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("heading", name=chinese).is_visible()
        assert page.get_by_role("button", name="退出登录").is_visible()
        screenshot(page, f"dashboard-{role}-zh")

        page.click("[data-testid=language-en]")
        page.wait_for_load_state()

        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name=english).is_visible()
        assert page.get_by_role("button", name="Sign out").is_visible()
        if role == User.Role.ADMIN:
            screenshot(page, "dashboard-admin-en")

        page.click("[data-testid=language-zh-hans]")
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url(f"{live_server.url}/login/")


def test_a_wrong_password_shows_the_error_in_the_page(
    page: Page, live_server: LiveServer, vendor: User
) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", vendor.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit].button--primary")

    alert = page.get_by_role("alert")
    assert "请输入一个正确的" in alert.inner_text()
    screenshot(page, "login-error-zh")
