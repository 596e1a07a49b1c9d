"""The Django admin site: portal admins and security administrators get in without being
superusers, each to their own models (accounts and organisations are the security
administrator's), nobody else does, a user's role and organisation cannot be changed there, and
whatever it changes is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Organisation, User
from audit.models import AuditEvent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_portal_admin_uses_the_admin_site_without_being_a_superuser(admin: User) -> None:
    assert not admin.is_superuser

    response = client_for(admin).get(reverse("admin:index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:assessments_cloud_changelist") in page
    # Accounts are the security administrator's (three-role separation).
    assert reverse("admin:accounts_user_changelist") not in page
    assert "/admin/auth/group/" not in page  # access is the policy's, not Django's groups


def test_a_security_administrator_sees_accounts_and_organisations_only(
    security_admin: User,
) -> None:
    assert not security_admin.is_superuser

    page = client_for(security_admin).get(reverse("admin:index")).content.decode()

    assert reverse("admin:accounts_user_changelist") in page
    assert reverse("admin:accounts_organisation_changelist") in page
    assert reverse("admin:accounts_failedsignin_changelist") in page
    assert reverse("admin:assessments_cloud_changelist") not in page
    assert reverse("admin:audit_auditevent_changelist") not in page


@pytest.mark.parametrize("role", ["assessor", "vendor", "owner", "auditor"])
def test_every_other_role_is_sent_to_the_admin_sign_in(
    users_by_role: dict[str, User], role: str
) -> None:
    user = users_by_role[role]
    user.is_staff = True  # even a stray staff flag does not open the site
    user.save()

    response = client_for(user).get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_renaming_an_organisation_in_the_admin_site_is_audited_with_before_and_after(
    security_admin: User, vendor_org: Organisation
) -> None:
    url = reverse("admin:accounts_organisation_change", args=[vendor_org.pk])

    response = client_for(security_admin).post(
        url,
        {"kind": "vendor", "name": "浪潮云信息技术股份公司", "name_en": "Inspur Cloud"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="accounts.organisation.admin_changed")
    assert event.actor == security_admin
    assert event.target_id == str(vendor_org.pk)
    assert event.changes["name"] == ["浪潮软件集团有限公司", "浪潮云信息技术股份公司"]
    assert event.changes["via"] == "django-admin"


def test_a_users_role_and_organisation_cannot_be_changed_in_the_admin_site(
    security_admin: User, vendor: User, office: Organisation
) -> None:
    url = reverse("admin:accounts_user_change", args=[vendor.pk])
    client = client_for(security_admin)
    page = client.get(url).content.decode()
    assert 'name="role"' not in page and 'name="organisation"' not in page
    assert 'name="is_superuser"' not in page and 'name="is_staff"' not in page

    response = client.post(
        url,
        {
            "username": vendor.username,
            "display_name": "改名的供应商",
            "role": "admin",
            "organisation": office.pk,
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    vendor.refresh_from_db()
    assert (vendor.role, vendor.organisation_id) == ("vendor", vendor.organisation_id)
    assert vendor.display_name == "改名的供应商"
    assert not vendor.is_staff and not vendor.is_superuser
    event = AuditEvent.objects.get(action="accounts.user.admin_changed")
    assert "display_name" in event.changes
    assert "role" not in event.changes


def test_a_password_reset_in_the_admin_site_is_audited_without_the_password(
    security_admin: User, vendor: User
) -> None:
    url = reverse("admin:auth_user_password_change", args=[vendor.pk])

    response = client_for(security_admin).post(
        url,
        {"password1": "a-new-long-password-9", "password2": "a-new-long-password-9"},
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="accounts.user.admin_changed")
    assert "a-new-long-password-9" not in str(event.changes)
    assert vendor.password not in str(event.changes)


def test_a_user_created_in_the_admin_site_gets_staff_from_the_policy_and_is_audited(
    security_admin: User, office: Organisation
) -> None:
    response = client_for(security_admin).post(
        reverse("admin:accounts_user_add"),
        {
            "username": "second_admin",
            "usable_password": "true",
            "password1": "a-long-password-for-admins-7",
            "password2": "a-long-password-for-admins-7",
            "role": "admin",
            "display_name": "第二位管理员",
            "organisation": office.pk,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(username="second_admin")
    assert (created.is_staff, created.is_superuser) == (True, False)
    assert AuditEvent.objects.filter(
        action="accounts.user.admin_added", target_id=str(created.pk)
    ).exists()
