"""Brute-force lockout (django-axes): 20 failed sign-ins lock the account, 20 from one address
lock the address; the security administrator unlocks; every failure is in the audit trail."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.policy import Denied
from accounts.selectors import lockout_counts
from audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LIMIT = 20


def _english() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def _sign_in(client: Client, username: str, password: str, address: str) -> int:
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address
    ).status_code


def _fail(client: Client, username: str, times: int, address: str | None = None) -> list[int]:
    """Signs in ``times`` with a wrong password; the statuses answered."""
    # Each from another address unless one is given: the account alone counts.
    return [
        _sign_in(client, username, "wrong password", address or f"198.51.100.{n + 1}")
        for n in range(times)
    ]


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_twenty_wrong_passwords_lock_the_account_even_for_the_right_password(
    vendor: User,
) -> None:
    client = _english()
    # The form answers each of the first nineteen failures ("wrong password")...
    assert _fail(client, vendor.username, LIMIT - 1) == [200] * (LIMIT - 1)
    # ... and the right password still gets in after them...
    other = _english()
    assert _sign_in(other, vendor.username, PASSWORD, "203.0.113.50") == 302
    assert _signed_in(other)
    # ... which does not wipe the count: the twentieth failure locks.
    assert _fail(client, vendor.username, 1, address="198.51.100.200") == [429]

    response = client.post(
        LOGIN, {"username": vendor.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    page = response.content.decode()
    assert "Signing in is locked" in page
    assert "After 20 failed sign-ins" in page
    assert "You may try again after" in page
    assert "security administrator" in page
    assert not _signed_in(client)
    assert lockout_counts() == (1, 0)


def test_the_lockout_page_is_a_portal_page_in_the_users_language(vendor: User) -> None:
    client = Client()
    _fail(client, vendor.username, LIMIT)

    response = client.post(
        LOGIN, {"username": vendor.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) == 3600
    assert '<html lang="zh-CN">' in response.content.decode()


def test_scripts_get_json(vendor: User) -> None:
    client = _english()
    _fail(client, vendor.username, LIMIT)

    response = client.post(
        LOGIN,
        {"username": vendor.username, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )

    assert response.status_code == 429
    assert "locked" in response.json()["detail"]


def test_twenty_failures_from_one_address_lock_the_address_across_usernames(
    vendor: User, owner: User
) -> None:
    attacker = "192.0.2.66"
    client = _english()
    statuses = [_sign_in(client, f"guess{n}", "wrong password", attacker) for n in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]

    # Even a real account with its right password, from that address...
    refused = client.post(
        LOGIN, {"username": vendor.username, "password": PASSWORD}, REMOTE_ADDR=attacker
    )
    assert refused.status_code == 429
    assert "Signing in is locked" in refused.content.decode()
    # ... while the same account signs in from elsewhere.
    assert _sign_in(_english(), vendor.username, PASSWORD, "192.0.2.67") == 302
    # The security administrator's dashboard counts one locked address, no locked account.
    assert lockout_counts() == (0, 1)


def test_the_address_is_the_one_the_trusted_proxy_reports(vendor: User, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    client = _english()
    for n in range(LIMIT):
        client.post(
            LOGIN,
            {"username": f"guess{n}", "password": "x"},
            REMOTE_ADDR=proxy,
            # What the client wrote itself (left) is not believed; the proxy's entry is.
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 192.0.2.66",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.66"}

    other_client_behind_proxy = client.post(
        LOGIN,
        {"username": vendor.username, "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert other_client_behind_proxy.status_code == 302


def test_every_authenticate_call_is_covered_and_the_admin_site_has_no_other_door(
    vendor: User, security_admin: User
) -> None:
    _fail(_english(), security_admin.username, LIMIT)
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="203.0.113.8")

    assert authenticate(request, username=security_admin.username, password=PASSWORD) is None

    client = _english()
    response = client.post(
        reverse("admin:login"),
        {"username": security_admin.username, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code in (302, 429)
    assert not _signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302


def test_failed_sign_ins_are_audited_with_the_username_and_never_the_password(
    vendor: User,
) -> None:
    client = _english()
    _sign_in(client, vendor.username, "S3cret-guess-1", "198.51.100.1")
    _sign_in(client, "nobody-here", "S3cret-guess-2", "198.51.100.1")

    events = list(AuditEvent.objects.filter(action="accounts.user.login_failed").order_by("pk"))
    assert [(e.target_id, e.changes["username"]) for e in events] == [
        (str(vendor.pk), vendor.username),
        ("", "nobody-here"),
    ]
    assert all(e.actor is None for e in events)
    for event in events:
        assert "S3cret-guess" not in str(event.changes)
    assert not any("S3cret-guess" in str(e.changes) for e in AuditEvent.objects.all())


def test_a_lockout_is_audited_once_when_it_happens(vendor: User) -> None:
    client = _english()
    _fail(client, vendor.username, LIMIT + 2)

    locked = AuditEvent.objects.filter(action="accounts.user.locked_out")
    assert [(e.target_id, e.changes["by"]) for e in locked] == [(str(vendor.pk), ["account"])]
    failed = AuditEvent.objects.filter(action="accounts.user.login_failed")
    assert failed.count() == LIMIT + 2
    # The last two were refused before the password was checked.
    assert [e.changes["locked_out"] for e in failed.order_by("pk")][-2:] == [True, True]


def test_the_security_administrator_unlocks_an_account_and_it_is_audited(
    vendor: User, security_admin: User
) -> None:
    _fail(_english(), vendor.username, LIMIT)
    assert _sign_in(_english(), vendor.username, PASSWORD, "203.0.113.20") == 429

    response = client_for(security_admin).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock", "_selected_action": [vendor.pk]},
    )

    assert response.status_code == 302
    assert _sign_in(_english(), vendor.username, PASSWORD, "203.0.113.20") == 302
    unlocked = AuditEvent.objects.get(action="accounts.user.unlocked")
    assert (unlocked.actor, unlocked.target_id) == (security_admin, str(vendor.pk))
    assert unlocked.changes["username"] == vendor.username


def test_the_security_administrator_unlocks_an_address(vendor: User, security_admin: User) -> None:
    attacker = "192.0.2.77"
    for n in range(LIMIT):
        _sign_in(_english(), f"guess{n}", "wrong", attacker)
    assert _sign_in(_english(), vendor.username, PASSWORD, attacker) == 429
    attempt = AccessAttempt.objects.filter(ip_address=attacker).first()
    assert attempt is not None

    admin_client = client_for(security_admin)
    listed = admin_client.get(reverse("admin:accounts_failedsignin_changelist"))
    assert listed.status_code == 200 and attacker in listed.content.decode()
    admin_client.post(
        reverse("admin:accounts_failedsignin_changelist"),
        {"action": "unlock_addresses", "_selected_action": [attempt.pk]},
    )

    assert not AccessAttempt.objects.filter(ip_address=attacker).exists()
    assert _sign_in(_english(), vendor.username, PASSWORD, attacker) == 302
    event = AuditEvent.objects.get(action="accounts.user.unlocked")
    assert event.actor == security_admin and event.changes["address"] == attacker


def test_nobody_but_the_security_administrator_unlocks(
    vendor: User, admin: User, auditor: User
) -> None:
    for user in (admin, auditor, vendor):
        with pytest.raises(Denied):
            services.lockout_clear(user=vendor, acting_user=user)
    assert (
        client_for(admin).get(reverse("admin:accounts_failedsignin_changelist")).status_code == 403
    )


def test_force_login_and_an_ordinary_sign_in_record_no_attempt(vendor: User) -> None:
    client_for(vendor).get(reverse("dashboard"))
    assert _sign_in(_english(), vendor.username, PASSWORD, "203.0.113.30") == 302
    assert not AccessAttempt.objects.exists()


def test_a_user_of_another_account_is_not_locked_by_someone_elses_failures(
    vendor: User, vendor_org
) -> None:
    colleague = UserFactory.create(
        username="vendor_c", role=User.Role.VENDOR, organisation=vendor_org
    )
    _fail(_english(), vendor.username, LIMIT)
    assert _sign_in(_english(), colleague.username, PASSWORD, "203.0.113.40") == 302
