"""The API's shared behaviour: tokens, the error shape, the schema and the docs page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import translation
from pytest_django import Settings
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.models import ApiToken, User

from .conftest import token_client

pytestmark = pytest.mark.django_db


def test_a_token_authenticates_as_its_owner_and_only_its_digest_is_stored(vendor: User) -> None:
    token, secret = api_token_create(user=vendor, name="CI 系统", acting_user=vendor)
    assert secret.startswith("gce_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in (stored.digest, stored.prefix, stored.name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/frameworks/").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_revoked_or_unknown_token_is_refused_with_the_error_shape(vendor: User) -> None:
    token, secret = api_token_create(user=vendor, name="old", acting_user=vendor)
    api_token_revoke(token=token, acting_user=vendor)
    for value in (secret, "gce_not-a-token", "x"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
        with translation.override("en"):
            response = client.get("/api/v1/frameworks/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 401
        body = response.json()
        assert body["code"] == "authentication_failed"
        assert "revoked" in body["message"] or "not valid" in body["message"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_anonymous_requests_to_private_lists_get_401_json() -> None:
    response = APIClient().get("/api/v1/assessments/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_duplicated_and_blank_names_are_refused(vendor: User) -> None:
    from django.core.exceptions import ValidationError

    api_token_create(user=vendor, name="dashboard", acting_user=vendor)
    with translation.override("en"), pytest.raises(ValidationError, match="already have"):
        api_token_create(user=vendor, name=" dashboard ", acting_user=vendor)
    with pytest.raises(ValidationError):
        api_token_create(user=vendor, name="  ", acting_user=vendor)
    assert ApiToken.objects.filter(user=vendor).count() == 1


def test_the_schema_is_served_and_documents_the_error_shape() -> None:
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "Error" in schema["components"]["schemas"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    operation = schema["paths"]["/api/v1/frameworks/"]["get"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_token_client_helper(vendor: User) -> None:
    assert token_client(vendor).get("/api/v1/assessments/").status_code == 200


def test_the_schema_is_valid_openapi_3_without_warnings() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS  # no warning, no error
    operations = [op for item in schema["paths"].values() for op in item.values()]
    # Every operation says what it does and what an error looks like.
    assert all(op.get("summary") or op.get("description") for op in operations)
    assert all("401" in op["responses"] for op in operations)


def test_requests_over_the_rate_get_429_with_retry_after_per_user_and_per_address(
    settings: Settings, vendor: User, outsider_vendor: User
) -> None:
    cache.clear()
    settings.API_THROTTLE_RATES = {"user": "3/minute", "anon": "2/minute"}
    mine, theirs = token_client(vendor), token_client(outsider_vendor)
    assert [mine.get("/api/v1/assessments/").status_code for _ in range(3)] == [200] * 3
    refused = mine.get("/api/v1/assessments/")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Another user has a limit of their own.
    assert theirs.get("/api/v1/assessments/").status_code == 200
    # Anonymous callers are counted by address: another address is not held back.
    anonymous = APIClient()
    for _ in range(2):
        assert anonymous.get("/api/v1/rankings/", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert anonymous.get("/api/v1/rankings/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert anonymous.get("/api/v1/rankings/", REMOTE_ADDR="203.0.113.8").status_code == 200
    cache.clear()
