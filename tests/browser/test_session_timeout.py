"""A session that ends while someone types (idle timeout): the autosave says to sign in again in
another tab, the typed text stays in the form, and it is saved once they have signed in."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.middleware import LAST_SEEN
from assessments.models import Answer, Assessment
from demo.accounts import DEMO_PASSWORD
from tests.browser.test_page_widths import vendor_draft  # noqa: F401 - fixture
from tests.browser_support import sign_in

pytestmark = pytest.mark.browser

TEXT = "（测试）会话过期时正在填写的说明，不能丢失。"


def test_an_autosave_after_the_session_ended_keeps_the_text_and_saves_after_signing_in(
    vendor_draft: Assessment,  # noqa: F811
    browser: Browser,
    live_server: LiveServer,
) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "vendor1", DEMO_PASSWORD)
    page.goto(live_server.url + reverse("assessments:detail", args=[vendor_draft.pk]))

    # Thirty-one minutes without a request, as the server will see it.
    (cookie,) = [c for c in context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    session[LAST_SEEN] = int(time.time()) - 31 * 60
    session.save()

    article = page.locator("[data-nav-item][data-state='todo']").first
    indicator_id = article.get_attribute("data-nav-item")
    form = page.locator(f"#ind-{indicator_id} form[data-autosave]")
    form.locator("textarea[name=explanation]").fill(TEXT)
    status = form.locator("[data-autosave-status]")
    # Not wait_for_function: its polling evaluates with eval(), which the pages'
    # Content-Security-Policy refuses.
    expect(status).to_have_attribute("data-state", "signed-out", timeout=15_000)

    assert "另一个标签页重新登录" in status.inner_text()
    assert form.locator("textarea[name=explanation]").input_value() == TEXT
    assert not Answer.objects.filter(explanation=TEXT).exists()

    # Signing in again in another tab: the next retry goes through with its new CSRF token.
    other = context.new_page()
    sign_in(other, live_server.url, "vendor1", DEMO_PASSWORD)
    expect(status).to_have_attribute("data-state", "saved", timeout=20_000)
    assert Answer.objects.filter(assessment=vendor_draft, explanation=TEXT).exists()
    context.close()
