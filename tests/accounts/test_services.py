from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts import services
from accounts.models import Organisation, User
from audit.models import AuditEvent
from demo.accounts import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_user_create_gives_admins_the_django_admin_and_records_it(
    office: Organisation, security_admin: User
) -> None:
    user = services.user_create(
        username="new_admin",
        password="a-long-password-1",
        role=User.Role.ADMIN,
        organisation=office,
        acting_user=security_admin,
    )

    assert user.is_staff and user.check_password("a-long-password-1")
    event = AuditEvent.objects.get(action="accounts.user.created", target_id=str(user.pk))
    assert event.actor == security_admin
    assert event.changes == {"role": "admin", "organisation": office.name}


def test_a_vendor_outside_a_vendor_organisation_is_refused_and_nothing_is_saved(
    government_org: Organisation,
) -> None:
    with pytest.raises(ValidationError) as error:
        services.user_create(
            username="v",
            password="a-long-password-1",
            role=User.Role.VENDOR,
            organisation=government_org,
            acting_user=None,
        )

    assert "organisation" in error.value.message_dict
    assert not User.objects.filter(username="v").exists()
    assert not AuditEvent.objects.filter(action="accounts.user.created").exists()


def test_a_cloud_owner_must_belong_to_an_organisation() -> None:
    with pytest.raises(ValidationError) as error:
        services.user_create(
            username="o", password="a-long-password-1", role=User.Role.OWNER, acting_user=None
        )

    assert "organisation" in error.value.message_dict
    assert not User.objects.filter(username="o").exists()


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        services.user_create(
            username="x", password="a-long-password-1", role="superhero", acting_user=None
        )

    assert "role" in error.value.message_dict


def test_load_demo_creates_every_demo_account_once_and_marks_them_demo() -> None:
    first, second = io.StringIO(), io.StringIO()

    call_command("load_demo", "--accounts-only", stdout=first)
    call_command("load_demo", "--accounts-only", stdout=second)

    usernames = [
        "admin",
        "auditor",
        "security",
        "assessor1",
        "assessor2",
        "vendor1",
        "vendor2",
        "owner1",
    ]
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    assert sorted(users) == sorted(usernames)
    assert all(u.is_demo and u.check_password(DEMO_PASSWORD) for u in users.values())
    assert users["vendor1"].organisation != users["vendor2"].organisation
    vendor_org, owner_org = users["vendor1"].organisation, users["owner1"].organisation
    assert vendor_org is not None and owner_org is not None
    assert vendor_org.kind == Organisation.Kind.VENDOR
    assert owner_org.kind == Organisation.Kind.GOVERNMENT
    assert users["admin"].is_staff and users["security"].is_staff
    assert users["security"].role == User.Role.SECURITY
    assert User.objects.count() == len(usernames)
    for name in usernames:
        assert name in second.getvalue()
    assert DEMO_PASSWORD in second.getvalue()
