"""Fixtures for notifications: a real SMTP server (aiosmtpd) on a free port that collects what
arrives, people with e-mail addresses and languages, and the workflow's fixtures."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_django import Settings

from accounts.models import User
from tests.reports.conftest import (  # noqa: F401  (fixtures)
    answer_everything,
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
    rate_everything,
    score_completely,
    scored,
    trusted,
)

BASE_URL = "https://eval.example.gov.cn"


@dataclass
class Mailbox:
    """What the SMTP server received, as parsed messages, in the order they arrived."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """The messages once at least ``count`` arrived (a worker sends them; fails after
        ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} e-mails arrived"
        return self.messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Settings) -> Iterator[Mailbox]:
    """A real SMTP server for one test; Django sends to it (over SMTP, not to memory)."""
    mailbox = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = mailbox.host
    settings.EMAIL_PORT = mailbox.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "评估办公室 <noreply@eval.example.gov.cn>"
    settings.PUBLIC_BASE_URL = BASE_URL
    try:
        yield mailbox
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    """The plain-text part of ``message``."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def subject_of(message: EmailMessage) -> str:
    """The decoded subject (Django folds a long non-ASCII one onto a continuation line, which
    the parser reads with the fold's leading space)."""
    return str(message["Subject"]).strip()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def with_email(user: User, language: str) -> User:
    user.email = f"{user.username}@example.gov.cn"
    user.language = language
    user.save(update_fields=["email", "language"])
    return user


@pytest.fixture(autouse=True)
def _addresses(
    admin: User,
    assessor: User,
    assessor2: User,  # noqa: F811
    vendor: User,
    owner: User,
) -> None:
    """Everyone has an address: the vendor and the owner read Chinese, the assessors and the
    admin English."""
    with_email(vendor, "zh-hans")
    with_email(owner, "zh-hans")
    with_email(assessor, "en")
    with_email(assessor2, "en")
    with_email(admin, "en")
