"""Fixtures of the ranking tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pytest_django import Settings

from .test_rankings import filled, year_campaign  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _own_cache(settings: Settings) -> Iterator[None]:
    """An empty in-process cache of this test's own: clearing it never touches a shared cache
    (a Redis cache may share its server with the Celery broker), and a page cached by another
    test is never served."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"rankings-{uuid.uuid4().hex}",
        }
    }
    yield
