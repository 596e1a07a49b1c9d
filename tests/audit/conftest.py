"""The workflow's fixtures (catalogs, a cloud, an open campaign and its assessment) for the
audit tests."""

from __future__ import annotations

from tests.assessments.conftest import (  # noqa: F401 - fixtures
    assessment,
    assessor2,
    campaign,
    cloud,
    comprehensive,
    frameworks,
)
