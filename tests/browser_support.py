"""Playwright for Python driving Debian's Chromium; never a downloaded browser.

Fixtures: ``browser`` (one Chromium per session), ``page`` (a fresh context per test), and the
helper ``sign_in``. Browser tests use pytest-django's ``live_server``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from accounts.twofactor.selectors import otp_required
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "var" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the live server and the ORM calls in
# the test body are still plain synchronous code, so Django's async guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make bootstrap` (installs chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, transactional_db: None) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    yield browser_page
    context.close()


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Signs in through the real login form and waits for the dashboard. A user of a
    two-factor role types the code of their authenticator app on the second page (the app is
    created for them if they have none: ``tests/otp_support.py``)."""
    device = two_factor_device(username)
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].button--primary")
    type_totp_code(page, device)
    page.wait_for_url(f"{base_url}/")


def two_factor_device(username: str) -> TOTPDevice | None:
    """Before the password is sent: the authenticator app of a user who must type a code
    (created if they have none, so the portal asks for the code, not for a new app)."""
    from accounts.models import User
    from tests.otp_support import totp_device_ensure

    user = User.objects.get(username=username)
    return totp_device_ensure(user) if otp_required(user) else None


def type_totp_code(page: Page, device: TOTPDevice | None) -> None:
    """The second step of signing in (for a ``two_factor_device``): the app's current code."""
    from tests.otp_support import totp_code_for

    if device is None:
        return
    page.wait_for_url(lambda url: "/login/two-factor/?" in url)
    page.fill("#id_code", totp_code_for(device))
    page.click("button[type=submit].button--primary")


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG under var/screenshots/ for a person to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    # Chromium can repeat rows when it stitches a full-page shot of a tall page; a viewport as
    # tall as the page gives one clean frame.
    viewport = page.viewport_size
    assert viewport is not None, "the page fixture always sets a viewport"
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, 200), 16000)})
    page.screenshot(path=str(path))
    page.set_viewport_size(viewport)
    return path
