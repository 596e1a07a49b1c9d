"""Fixtures shared by the whole suite: one user per role, and an outsider.

The suite runs against real PostgreSQL and Redis (``make test`` sets DATABASE_URL and REDIS_URL).
Tasks run eagerly in the test process unless a test asks for the real worker (``worker`` marker).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from pytest_django import Settings

from accounts.models import Organisation, User
from govcloud_eval.celery import app as celery_app

from .factories import OrganisationFactory, UserFactory
from .otp_support import install_shortcut

pytest_plugins = [
    "tests.browser_support",
    "tests.worker_support",
    "tests.storage_support",
    "tests.clamd_support",
]


@pytest.fixture(autouse=True)
def _eager_celery(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in-process unless the test is about the worker."""
    if request.node.get_closest_marker("worker"):
        celery_app.conf.task_always_eager = False
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _otp_verified_force_login(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``client.force_login`` of an admin, assessor, auditor or security administrator gives a
    session that passed the second factor (tests/otp_support.py); tests of the second factor
    itself opt out with ``@pytest.mark.no_otp_shortcut``."""
    if not request.node.get_closest_marker("no_otp_shortcut"):
        install_shortcut(monkeypatch)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Settings) -> None:
    # Real hashing costs ~0.25 s a user; the tests are not about its strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def office(db: None) -> Organisation:
    return OrganisationFactory.create(kind=Organisation.Kind.OFFICE, name="评估办公室")


@pytest.fixture
def vendor_org(db: None) -> Organisation:
    return OrganisationFactory.create(kind=Organisation.Kind.VENDOR, name="浪潮软件集团有限公司")


@pytest.fixture
def other_vendor_org(db: None) -> Organisation:
    return OrganisationFactory.create(
        kind=Organisation.Kind.VENDOR, name="北京京东叁佰陆拾度电子商务有限公司"
    )


@pytest.fixture
def government_org(db: None) -> Organisation:
    return OrganisationFactory.create(
        kind=Organisation.Kind.GOVERNMENT,
        name="济南市大数据局",
        division_code="370100",
        admin_level="prefecture",
    )


@pytest.fixture
def admin(office: Organisation) -> User:
    return UserFactory.create(
        username="office_admin",
        role=User.Role.ADMIN,
        organisation=office,
        is_staff=True,
        is_superuser=False,
    )


@pytest.fixture
def assessor(office: Organisation) -> User:
    return UserFactory.create(username="expert", role=User.Role.ASSESSOR, organisation=office)


@pytest.fixture
def vendor(vendor_org: Organisation) -> User:
    return UserFactory.create(username="vendor_a", role=User.Role.VENDOR, organisation=vendor_org)


@pytest.fixture
def outsider_vendor(other_vendor_org: Organisation) -> User:
    """A vendor of another organisation: must never see the first vendor's things."""
    return UserFactory.create(
        username="vendor_b", role=User.Role.VENDOR, organisation=other_vendor_org
    )


@pytest.fixture
def owner(government_org: Organisation) -> User:
    return UserFactory.create(username="owner_a", role=User.Role.OWNER, organisation=government_org)


@pytest.fixture
def auditor(office: Organisation) -> User:
    return UserFactory.create(username="audit_a", role=User.Role.AUDITOR, organisation=office)


@pytest.fixture
def security_admin(office: Organisation) -> User:
    """The security administrator (安全管理员): manages accounts, nothing else."""
    return UserFactory.create(
        username="security_a", role=User.Role.SECURITY, organisation=office, is_staff=True
    )


@pytest.fixture
def users_by_role(
    admin: User, assessor: User, vendor: User, owner: User, auditor: User, security_admin: User
) -> dict[str, User]:
    return {u.role: u for u in (admin, assessor, vendor, owner, auditor, security_admin)}


def client_for(user: User | None) -> Client:
    """A test client signed in as ``user`` (anonymous for None)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
