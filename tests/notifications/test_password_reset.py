"""Password reset by e-mail, end to end through a real SMTP server: ask, receive the e-mail in
one's language, follow the link, set a new password, sign in with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import User
from tests.conftest import client_for
from tests.factories import PASSWORD

from .conftest import BASE_URL, Mailbox, html_of, subject_of, text_of


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _link(body: str) -> str:
    match = re.search(re.escape(BASE_URL) + r"/password-reset/\S+/\S+/", body)
    assert match, body
    return match.group(0)


def test_the_sign_in_page_offers_a_password_reset(db: None) -> None:
    page = client_for(None).get(reverse("accounts:login")).content.decode()
    assert f'href="{reverse("notifications:password_reset")}"' in page


def test_a_vendor_resets_the_password_by_e_mail_and_signs_in_with_the_new_one(
    smtp: Mailbox, vendor: User
) -> None:
    client = client_for(None)

    response = client.post(reverse("notifications:password_reset"), {"email": vendor.email})

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:password_reset_done")
    (message,) = smtp.messages
    assert message["To"] == vendor.email
    body = text_of(message)
    assert "政务云评估" in body  # the vendor reads Chinese
    assert vendor.username in body
    link = _link(body)
    assert f'href="{link}"' in html_of(message)

    # Django swaps the token in the link for one kept in the session, then shows the form.
    form_page = client.get(urlsplit(link).path, follow=True)
    assert form_page.status_code == 200
    assert b'name="new_password1"' in form_page.content
    set_password_path = form_page.redirect_chain[-1][0]
    done = client.post(
        set_password_path,
        {"new_password1": "新的口令-Gov2026!", "new_password2": "新的口令-Gov2026!"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("notifications:password_reset_complete")

    signed_in = client_for(None).post(
        reverse("accounts:login"), {"username": vendor.username, "password": "新的口令-Gov2026!"}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("dashboard")
    old = client_for(None).post(
        reverse("accounts:login"), {"username": vendor.username, "password": PASSWORD}
    )
    assert old.status_code == 200  # refused: the form again
    # The link works once.
    again = client_for(None).get(urlsplit(link).path, follow=True)
    assert b'name="new_password1"' not in again.content


def test_an_english_speaking_assessor_gets_the_e_mail_in_english(
    smtp: Mailbox, assessor: User
) -> None:
    client_for(None).post(reverse("notifications:password_reset"), {"email": assessor.email})
    (message,) = smtp.messages
    assert subject_of(message) == "Set a new password for the government cloud evaluation portal"
    assert "Someone asked to set a new password" in text_of(message)


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(smtp: Mailbox) -> None:
    response = client_for(None).post(
        reverse("notifications:password_reset"), {"email": "nobody@example.gov.cn"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:password_reset_done")
    assert smtp.messages == []


def test_requests_are_rate_limited(smtp: Mailbox, vendor: User) -> None:
    client = client_for(None)
    for _ in range(5):
        assert (
            client.post(
                reverse("notifications:password_reset"), {"email": vendor.email}
            ).status_code
            == 302
        )

    refused = client.post(reverse("notifications:password_reset"), {"email": vendor.email})

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(15 * 60)
    assert len(smtp.messages) == 5


def test_a_bad_link_says_so_and_offers_a_new_one(db: None) -> None:
    page = client_for(None).get(
        reverse("notifications:password_reset_confirm", args=["MQ", "bad-token"])
    )
    assert page.status_code == 200
    assert reverse("notifications:password_reset").encode() in page.content
    assert b'name="new_password1"' not in page.content
