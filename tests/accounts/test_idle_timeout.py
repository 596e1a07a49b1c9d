"""Idle timeout: a session unused for SESSION_IDLE_TIMEOUT ends; pages go to the sign-in page
saying why, scripts get 401. The clock is moved by rewriting the time stored in the session."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from accounts.middleware import LAST_SEEN
from accounts.models import User
from audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("dashboard")


def _signed_in(user: User) -> Client:
    client = client_for(user)
    client.cookies["django_language"] = "en"
    assert client.get(DASHBOARD).status_code == 200  # stores the first "last seen"
    return client


def _idle_for(client: Client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN] = int(time.time()) - seconds
    session.save()


def _session_row(client: Client) -> str:
    return Session.objects.get(session_key=client.session.session_key).session_data


def test_a_page_after_thirty_idle_minutes_signs_out_and_says_why(vendor: User) -> None:
    client = _signed_in(vendor)
    _idle_for(client, 31 * 60)

    response = client.get(DASHBOARD, follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("accounts:login") + "?next=")
    page = response.content.decode()
    assert "You were signed out after 30 minutes without activity" in page
    assert "_auth_user_id" not in client.session
    assert client.get(DASHBOARD).status_code == 302
    (event,) = AuditEvent.objects.filter(action="accounts.user.timed_out")
    assert event.actor_label == vendor.username and event.changes["idle_minutes"] == 31


def test_a_session_used_within_the_timeout_goes_on(vendor: User) -> None:
    client = _signed_in(vendor)
    _idle_for(client, 29 * 60)

    assert client.get(DASHBOARD).status_code == 200
    # The visit counted: the clock starts again.
    assert int(time.time()) - client.session[LAST_SEEN] < 60


def test_scripts_and_the_api_get_401_in_json(vendor: User) -> None:
    for headers in ({"Accept": "application/json"}, {"X-Requested-With": "XMLHttpRequest"}):
        client = _signed_in(vendor)
        _idle_for(client, 31 * 60)
        response = client.get(DASHBOARD, headers=headers)
        assert response.status_code == 401
        assert response.json()["signed_out"] is True
        assert "30 minutes" in response.json()["detail"]

    client = _signed_in(vendor)
    _idle_for(client, 31 * 60)
    assert client.get(reverse("assessments_api:assessment_list")).status_code == 401


def test_the_timeout_comes_from_the_settings(vendor: User, settings: Settings) -> None:
    settings.SESSION_IDLE_TIMEOUT = 5 * 60
    client = _signed_in(vendor)
    _idle_for(client, 4 * 60)
    assert client.get(DASHBOARD).status_code == 200
    _idle_for(client, 6 * 60)
    response = client.get(DASHBOARD, follow=True)
    assert "You were signed out after 5 minutes without activity" in response.content.decode()


def test_requests_within_a_minute_do_not_write_the_session(vendor: User) -> None:
    client = _signed_in(vendor)
    before = _session_row(client)

    for _ in range(3):
        assert client.get(DASHBOARD).status_code == 200

    assert _session_row(client) == before
    # After a minute, the next request moves "last seen" forward (one write).
    _idle_for(client, 90)
    stale = client.session[LAST_SEEN]
    client.get(DASHBOARD)
    assert client.session[LAST_SEEN] > stale


def test_a_session_has_a_twelve_hour_lifetime(settings: Settings) -> None:
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60


def test_anonymous_visitors_are_not_touched(db: None) -> None:
    client = Client()
    client.get(reverse("accounts:login"))
    assert LAST_SEEN not in client.session
