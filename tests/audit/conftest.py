"""The workflow's fixtures (catalogs, a cloud, an open campaign and its assessment) for the
audit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.assessments.conftest import (  # noqa: F401 - fixtures
    assessment,
    assessor2,
    assignments,
    campaign,
    cloud,
    comprehensive,
    frameworks,
)


@pytest.fixture
def unguarded_trail(db: None) -> Iterator[None]:
    """Lets a test arrange or tamper with the trail as the database's owner could: the
    append-only triggers are off inside the test's transaction, and on again after it."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditseal DISABLE TRIGGER USER")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditseal ENABLE TRIGGER USER")
