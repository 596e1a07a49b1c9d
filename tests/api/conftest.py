"""API test fixtures: clients authenticated the way other systems are, with personal tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create
from accounts.models import User

# The shared fixtures of the assessment tests (frameworks, campaign, cloud, assessment, …).
from tests.assessments.conftest import (  # noqa: F401
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    english,
    frameworks,
    media,
    trusted,
)


def token_secret(user: User) -> str:
    """A new personal token of ``user``: its secret, as the tokens page shows it once."""
    _, secret = api_token_create(user=user, name=f"tests {user.pk}", acting_user=user)
    return secret


def token_client(user: User | None) -> APIClient:
    """An API client sending ``Authorization: Bearer <a new token of user>`` (anonymous for
    None), with no session: what a vendor's or an office's own system does."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_secret(user)}")
    return client


@pytest.fixture
def api_client() -> Callable[[User | None], APIClient]:
    """``api_client(user)``: a token-authenticated client for ``user`` (None: anonymous)."""
    return token_client
