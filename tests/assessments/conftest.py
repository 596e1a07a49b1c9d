"""Fixtures for the evaluation workflow: the default catalogs, a cloud, an open campaign."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation
from pytest_django import Settings

from accounts.models import Organisation, User
from assessments import services
from assessments.models import Assessment, Assignment, Campaign, Cloud
from indicators.models import Framework
from indicators.services import default_catalogs_load
from tests.factories import UserFactory


@pytest.fixture
def frameworks(db: None) -> dict[str, Framework]:
    """The two default catalogs, published: {"comprehensive": ..., "trusted_platform": ...}."""
    default_catalogs_load(acting_user=None)
    return {f.kind: f for f in Framework.objects.filter(state=Framework.State.PUBLISHED)}


@pytest.fixture
def comprehensive(frameworks: dict[str, Framework]) -> Framework:
    return frameworks[Framework.Kind.COMPREHENSIVE]


@pytest.fixture
def trusted(frameworks: dict[str, Framework]) -> Framework:
    return frameworks[Framework.Kind.TRUSTED_PLATFORM]


@pytest.fixture
def cloud(government_org: Organisation, vendor_org: Organisation) -> Cloud:
    return services.cloud_create(
        name="济南政务云计算中心",
        owner=government_org,
        vendors=[vendor_org],
        level=Cloud.Level.MUNICIPAL,
        on_internet=True,
        acting_user=None,
    )


@pytest.fixture
def assessor2(office: Organisation) -> User:
    return UserFactory.create(username="expert2", role=User.Role.ASSESSOR, organisation=office)


@pytest.fixture
def campaign(admin: User, comprehensive: Framework) -> Campaign:
    """An open comprehensive campaign whose window contains today."""
    today = datetime.date.today()
    campaign = services.campaign_create(
        name="2026年政务云综合水平评估",
        year=today.year,
        framework=comprehensive,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    return services.campaign_set_state(
        campaign=campaign, state=Campaign.State.OPEN, acting_user=admin
    )


@pytest.fixture
def assessment(campaign: Campaign, cloud: Cloud, admin: User) -> Assessment:
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    return assessment


def other_vendors_assessment(
    campaign: Campaign,
    owner: Organisation,
    vendor_org: Organisation,
    admin: User,
    *,
    on_internet: bool = False,
) -> Assessment:
    """The assessment of another cloud in ``campaign``, 青岛政务云 of ``owner``, run by
    ``vendor_org`` (another vendor's organisation than the ``cloud`` fixture's)."""
    cloud = services.cloud_create(
        name="青岛政务云",
        owner=owner,
        vendors=[vendor_org],
        level=Cloud.Level.MUNICIPAL,
        on_internet=on_internet,
        acting_user=None,
    )
    (assessment,) = services.campaign_add_clouds(
        campaign=campaign, clouds=[cloud], acting_user=admin
    )
    return assessment


@pytest.fixture
def assignments(
    assessment: Assessment, assessor: User, assessor2: User, admin: User
) -> list[Assignment]:
    return [
        services.assignment_create(assessment=assessment, assessor=a, acting_user=admin)
        for a in (assessor, assessor2)
    ]


def answer_everything(assessment: Assessment, vendor: User) -> None:
    """Fills in a complete self-assessment (every indicator rated 2, values where needed)."""
    from decimal import Decimal

    from assessments.selectors import indicators_of

    for indicator in indicators_of(assessment=assessment):
        services.answer_save(
            assessment=assessment,
            indicator=indicator,
            self_rating=None if indicator.is_mandatory else 2,
            self_met=True if indicator.is_mandatory else None,
            value=Decimal("75") if indicator.is_quantitative else None,
            explanation=f"{indicator.name_zh}：自评说明。",
            acting_user=vendor,
        )


def rate_everything(assignment: Assignment, rating: int = 2) -> None:
    from assessments.selectors import indicators_of

    for indicator in indicators_of(assessment=assignment.assessment):
        services.rating_save(
            assignment=assignment,
            indicator=indicator,
            rating=None if indicator.is_mandatory else rating,
            met=True if indicator.is_mandatory else None,
            rationale="依据佐证材料核实。",
            acting_user=assignment.assessor,
        )


# ----------------------------------------------------------------------------------------------
# Evidence tests: ``pytestmark = pytest.mark.usefixtures("english", "media")``


@pytest.fixture
def english() -> Iterator[None]:
    """The messages in English, whatever the translations say: the assertions read them."""
    with translation.override("en"):
        yield


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    """``MEDIA_ROOT`` in the test's own folder: its path, where stored files land."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(media: Path) -> list[Path]:
    """The files under ``media``, the ``media`` fixture's folder."""
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
