"""The API tokens page: create (shown once), list, revoke after a warning."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import ApiToken, User
from audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_created_token_is_shown_once_and_then_only_its_prefix(vendor: User) -> None:
    client = client_for(vendor)
    response = client.post(reverse("accounts:api_tokens"), {"name": "省平台对接", "days": 90})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("gce_") and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    token = ApiToken.objects.get(user=vendor)
    assert token.name == "省平台对接"
    listing = client.get(reverse("accounts:api_tokens")).content.decode()
    assert secret not in listing and f"{token.prefix}…" in listing
    assert AuditEvent.objects.filter(action="accounts.api_token.created").exists()
    api = client_for(None)
    response = api.get("/api/v1/assessments/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_bad_input_names_the_problem_and_saves_nothing(vendor: User) -> None:
    client = client_for(vendor)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("accounts:api_tokens"), {"name": "", "days": 90})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    response = client.post(reverse("accounts:api_tokens"), {"name": "x", "days": 7})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    client.post(reverse("accounts:api_tokens"), {"name": "x", "days": 30})
    response = client.post(reverse("accounts:api_tokens"), {"name": "x", "days": 30})
    assert response.status_code == 400
    assert "already have a token named" in response.content.decode()
    assert ApiToken.objects.filter(user=vendor).count() == 1


def test_revoking_asks_first_then_stops_the_token(vendor: User) -> None:
    client = client_for(vendor)
    secret = client.post(reverse("accounts:api_tokens"), {"name": "a", "days": 30}).context[
        "secret"
    ]
    token = ApiToken.objects.get(user=vendor)
    url = reverse("accounts:api_token_revoke", args=[token.pk])
    with translation.override("en"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.post(url).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = client_for(None)
    assert api.get("/api/v1/assessments/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_nobody_else_can_revoke_or_see_a_token(vendor: User, outsider_vendor: User) -> None:
    client_for(vendor).post(reverse("accounts:api_tokens"), {"name": "a", "days": 30})
    token = ApiToken.objects.get(user=vendor)
    other = client_for(outsider_vendor)
    assert other.post(reverse("accounts:api_token_revoke", args=[token.pk])).status_code == 404
    assert "a" not in [t.name for t in other.get(reverse("accounts:api_tokens")).context["tokens"]]
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_needs_a_signed_in_user() -> None:
    response = client_for(None).get(reverse("accounts:api_tokens"))
    assert response.status_code == 302 and "/login/" in response["Location"]
