"""One token client per user for a whole test, for tests that act as several users in turn: a
user has one token named "tests <pk>" (``tests.api.conftest.token_secret``), and a second one of
that name would be refused.

A test module uses it with ``from .clients import client_of, fresh_clients``:
``fresh_clients`` (autouse) forgets the clients of the previous test.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User

from .conftest import token_client

_clients: dict[int, APIClient] = {}


@pytest.fixture(autouse=True)
def fresh_clients() -> None:
    _clients.clear()


def client_of(user: User) -> APIClient:
    """The user's token client, one per test."""
    if user.pk not in _clients:
        _clients[user.pk] = token_client(user)
    return _clients[user.pk]
