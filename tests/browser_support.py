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

from tests.factories import PASSWORD

if TYPE_CHECKING:
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
    """Signs in through the real login form and waits for the dashboard."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].button--primary")
    page.wait_for_url(f"{base_url}/")


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
