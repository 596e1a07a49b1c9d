"""Two-factor sign-in: admins, assessors, auditors and security administrators cannot sign in
without a TOTP code; vendors and owners sign in with their password (and may enrol).

Every test here signs in through the real pages, or opts out of the suite's shortcut
(``no_otp_shortcut``) so that ``force_login`` gives a session that has not passed the code.
"""

from __future__ import annotations

import base64
import io
import re
from typing import TYPE_CHECKING

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from accounts import policy
from accounts.models import Organisation, User
from accounts.twofactor import services as two_factor
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.otp_support import totp_code_for, totp_device_ensure

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = [pytest.mark.django_db, pytest.mark.no_otp_shortcut]

VERIFY = "/login/two-factor/"
SETUP = "/login/two-factor/setup/"


@pytest.fixture
def client() -> Client:
    english = Client()
    english.cookies["django_language"] = "en"
    return english


@pytest.fixture
def no_throttle(settings: Settings) -> None:
    """django-otp makes a device wait 1, 2, 4 … seconds after each wrong code; tests that type
    several codes in a row are about the portal's own count, not that wait."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def security(office: Organisation) -> User:
    return UserFactory.create(username="sec_admin", role=User.Role.SECURITY, organisation=office)


def _password(client: Client, user: User, next_url: str = "") -> str:
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("accounts:login"), data)
    assert response.status_code == 302
    return str(response["Location"])


def _code(client: Client, code: str, next_url: str = "/") -> TestResponse:
    return client.post(VERIFY, {"code": code, "next": next_url})


def _actions(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(user.pk), target_type="accounts.user")
        .order_by("id")
        .values_list("action", flat=True)
    )


def _wrong(device: TOTPDevice) -> str:
    """Six digits that are not the device's code now."""
    return "000000" if totp_code_for(device) != "000000" else "111111"


def _enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    """An authenticator app and recovery codes, set up as the setup page does."""
    device = two_factor.totp_enrolment_start(user=user)
    enrolled = two_factor.totp_enrolment_confirm(user=user, token=totp_code_for(device))
    assert enrolled is not None
    return enrolled


# ----------------------------------------------------------------------------------------------
# The password alone is not enough


@pytest.mark.parametrize("role", ["admin", "assessor", "auditor", "security"])
def test_a_privileged_user_with_the_right_password_but_no_code_reaches_nothing(
    client: Client, office: Organisation, role: str
) -> None:
    user = UserFactory.create(username=f"p_{role}", role=role, organisation=office)
    totp_device_ensure(user)

    assert _password(client, user) == f"{VERIFY}?next=%2F"

    for path in ("/", "/admin/", "/campaigns/", "/audit/", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(VERIFY), (path, response["Location"])
    page = client.get(VERIFY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Two-factor authentication" in html
    # Nothing of the portal shows yet: no menu, no notifications.
    assert 'class="site-nav"' not in html
    assert "notifications-link" not in html
    assert "accounts.user.logged_in" not in _actions(user)


def test_the_admin_sites_own_sign_in_form_is_closed(client: Client, admin: User) -> None:
    totp_device_ensure(admin)

    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"

    # A password posted to it signs nobody in.
    client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": PASSWORD})
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_an_unverified_session_of_an_admin_gets_403_json_from_the_api(
    client: Client, admin: User
) -> None:
    client.force_login(admin)  # no shortcut here: the session has not passed the code

    response = client.get(reverse("indicators_api:framework_list"))

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "two_factor_required"
    assert "Two-factor authentication required" in response.json()["message"]


def test_an_unverified_session_cannot_create_an_api_token(client: Client, admin: User) -> None:
    client.force_login(admin)  # no shortcut: a token would skip the second factor for good

    response = client.post(reverse("accounts:api_tokens"), {"name": "x", "days": 30})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert not admin.api_tokens.exists()


def test_public_pages_stay_open_to_a_session_waiting_for_its_code(
    client: Client, admin: User
) -> None:
    client.force_login(admin)

    assert client.get("/healthz").status_code in (200, 503)  # its own answer (503: no worker)
    assert client.get(reverse("rankings:index")).status_code == 200
    assert client.get(reverse("certified:verify_lookup")).status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    # Not everything under a public path: the cloud owners' objection page waits.
    objections = client.get("/rankings/2026/top-ten/objections/")
    assert objections["Location"].startswith(VERIFY)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(VERIFY).status_code == 302  # signed out: to the password


# ----------------------------------------------------------------------------------------------
# The code step


def test_a_wrong_code_is_refused_and_audited(client: Client, admin: User) -> None:
    device = totp_device_ensure(admin)
    _password(client, admin)

    response = _code(client, _wrong(device))

    assert response.status_code == 400
    assert "That code is not right. 4 tries left." in response.content.decode()
    failed = AuditEvent.objects.get(action="accounts.user.otp_failed")
    assert failed.actor == admin
    assert failed.changes == {"failures": 1, "signed_out": False}
    assert client.get("/")["Location"].startswith(VERIFY)


def test_the_right_code_lets_the_admin_in_where_they_were_going(
    client: Client, admin: User
) -> None:
    device = totp_device_ensure(admin)
    assert _password(client, admin, "/campaigns/") == f"{VERIFY}?next=%2Fcampaigns%2F"

    response = _code(client, totp_code_for(device), "/campaigns/")

    assert response.status_code == 302
    assert response["Location"] == "/campaigns/"
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert _actions(admin)[-1] == "accounts.user.logged_in"


def test_a_code_is_accepted_once(client: Client, assessor: User, no_throttle: None) -> None:
    device = totp_device_ensure(assessor)
    code = totp_code_for(device)
    _password(client, assessor)
    assert _code(client, code).status_code == 302
    client.post(reverse("accounts:logout"))

    other = Client()
    _password(other, assessor)
    assert _code(other, code).status_code == 400  # replayed: the same time step


def test_five_wrong_codes_send_the_user_back_to_the_password(
    client: Client, assessor: User, no_throttle: None
) -> None:
    device = totp_device_ensure(assessor)
    wrong = _wrong(device)
    _password(client, assessor)
    for left in (4, 3, 2, 1):
        assert f"{left} tries left" in _code(client, wrong).content.decode()

    fifth = _code(client, wrong)

    assert fifth.status_code == 302
    assert fifth["Location"] == reverse("accounts:login")
    assert client.get("/")["Location"].startswith("/login/")  # signed out
    page = client.get(reverse("accounts:login")).content.decode()
    assert "Too many wrong codes" in page
    failures = AuditEvent.objects.filter(action="accounts.user.otp_failed").order_by("id")
    assert [e.changes["failures"] for e in failures] == [1, 2, 3, 4, 5]
    assert [e.changes["signed_out"] for e in failures] == [False] * 4 + [True]


def test_after_a_wrong_code_the_device_makes_the_next_try_wait(
    client: Client, admin: User, settings: Settings
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 1000  # the wait after a wrong code: 1000 s, then 2000 s
    device = totp_device_ensure(admin)
    right = totp_code_for(device)
    _password(client, admin)
    assert _code(client, _wrong(device)).status_code == 400

    response = _code(client, right)

    assert response.status_code == 429
    assert "wait a few seconds" in response.content.decode()
    assert client.get("/")["Location"].startswith(VERIFY)


def test_a_verified_session_costs_no_query_of_its_own_per_request(
    client: Client, admin: User
) -> None:
    device = totp_device_ensure(admin)
    _password(client, admin)
    _code(client, totp_code_for(device))

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200

    # The device ids come with the user (one query); nothing reads the device table on its own.
    alone = [q["sql"] for q in queries if q["sql"].lstrip().startswith('SELECT "otp_')]
    assert alone == []


# ----------------------------------------------------------------------------------------------
# Setting up the authenticator app


def test_an_admin_without_an_app_sets_one_up_with_the_qr_code_and_gets_ten_recovery_codes(
    client: Client, admin: User, no_throttle: None
) -> None:
    _password(client, admin)
    assert client.get(VERIFY)["Location"] == f"{SETUP}?next=%2F"

    page = client.get(SETUP)
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=admin)
    assert device.confirmed is False
    secret = base64.b32encode(device.bin_key).decode()
    shown = re.search(r'data-testid="two-factor-secret"><code>([A-Z2-7 ]+)</code>', html)
    assert shown is not None and shown.group(1).replace(" ", "") == secret
    assert "<svg" in html and "<path" in html  # the QR code, inline
    assert "govcloud_eval" in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    # The URI the QR code carries names the issuer and the account.
    assert device.config_url.startswith("otpauth://totp/govcloud_eval%3Aoffice_admin?secret=")
    assert client.get("/")["Location"].startswith(VERIFY)  # not in yet

    wrong = client.post(SETUP, {"code": "not-a-code", "next": "/"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()

    done = client.post(SETUP, {"code": totp_code_for(device), "next": "/"})

    assert done.status_code == 200
    html = done.content.decode()
    assert "Store these codes now: they are shown only this once." in html
    codes = re.findall(r"<li><code>([a-z2-9]{10})</code></li>", html)
    assert len(codes) == 10
    assert sorted(codes) == sorted(StaticToken.objects.values_list("token", flat=True))
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/").status_code == 200
    enrolled = AuditEvent.objects.get(action="accounts.user.otp_enrolled")
    assert enrolled.changes == {"replaced": False, "recovery_codes": 10}
    assert secret not in str(enrolled.changes) and codes[0] not in str(enrolled.changes)
    assert _actions(admin)[-1] == "accounts.user.logged_in"


def test_a_session_waiting_for_its_code_cannot_set_up_another_app(
    client: Client, admin: User
) -> None:
    device = totp_device_ensure(admin)
    _password(client, admin)

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert list(TOTPDevice.objects.filter(user=admin)) == [device]


def test_a_verified_user_moves_to_a_new_phone_and_the_old_app_stops_working(
    client: Client, admin: User
) -> None:
    old, _codes = _enrolled(admin)
    _password(client, admin)
    _code(client, totp_code_for(old))

    client.get(SETUP)
    new = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert client.post(SETUP, {"code": totp_code_for(new), "next": "/"}).status_code == 200

    assert list(TOTPDevice.objects.filter(user=admin)) == [new]
    enrolments = AuditEvent.objects.filter(action="accounts.user.otp_enrolled").order_by("id")
    assert [e.changes["replaced"] for e in enrolments] == [False, True]


# ----------------------------------------------------------------------------------------------
# Recovery codes


def test_a_recovery_code_signs_in_once(client: Client, assessor: User, no_throttle: None) -> None:
    _device, codes = _enrolled(assessor)
    _password(client, assessor)

    response = _code(client, codes[0].upper())  # any case

    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "You signed in with a recovery code; 9 left." in dashboard.content.decode()
    used = AuditEvent.objects.get(action="accounts.user.recovery_code_used")
    assert used.changes == {"codes_left": 9}
    client.post(reverse("accounts:logout"))

    again = Client()
    _password(again, assessor)
    assert _code(again, codes[0]).status_code == 400
    assert _code(again, codes[1]).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(
    client: Client, admin: User, no_throttle: None
) -> None:
    device, old_codes = _enrolled(admin)
    _password(client, admin)
    _code(client, totp_code_for(device))
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "10 recovery codes left." in page

    response = client.post(reverse("accounts:two_factor_recovery_codes"))

    assert response.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-9]{10})</code></li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert AuditEvent.objects.filter(action="accounts.user.recovery_codes_regenerated").count() == 1
    client.post(reverse("accounts:logout"))
    other = Client()
    _password(other, admin)
    assert _code(other, old_codes[0]).status_code == 400
    assert _code(other, new_codes[0]).status_code == 302


def test_an_unverified_session_cannot_generate_recovery_codes(client: Client, admin: User) -> None:
    _enrolled(admin)
    _password(client, admin)

    response = client.post(reverse("accounts:two_factor_recovery_codes"))

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert not AuditEvent.objects.filter(action="accounts.user.recovery_codes_regenerated")


# ----------------------------------------------------------------------------------------------
# The way out: a security administrator resets it


def test_a_security_administrator_resets_an_assessors_two_factor_after_confirming(
    client: Client, security: User, assessor: User
) -> None:
    assert policy.can(security, policy.Action.USER_MANAGE)
    _enrolled(assessor)
    totp_device_ensure(security)
    _password(client, security)
    _code(client, totp_code_for(TOTPDevice.objects.get(user=security)))
    changelist = reverse("admin:accounts_user_changelist")
    selected = {"action": "reset_two_factor", "_selected_action": [str(assessor.pk)]}

    confirm = client.post(changelist, selected)

    assert confirm.status_code == 200
    assert "Reset two-factor authentication?" in confirm.content.decode()
    assert TOTPDevice.objects.filter(user=assessor).exists()  # nothing yet

    done = client.post(changelist, {**selected, "confirmed": "yes"})

    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=assessor).exists()
    assert not StaticDevice.objects.filter(user=assessor).exists()
    reset = AuditEvent.objects.get(action="accounts.user.otp_reset")
    assert reset.actor == security and reset.target_id == str(assessor.pk)
    assert reset.changes == {"devices": 2}
    # At the next sign-in, the assessor sets up a new app.
    again = Client()
    _password(again, assessor)
    assert again.get(VERIFY)["Location"].startswith(SETUP)


def test_nobody_but_a_security_administrator_may_reset_it(admin: User, assessor: User) -> None:
    _enrolled(assessor)

    with pytest.raises(policy.Denied):
        two_factor.two_factor_reset(user=assessor, acting_user=admin)
    with pytest.raises(policy.Denied):
        two_factor.two_factor_reset(user=admin, acting_user=assessor)

    assert TOTPDevice.objects.filter(user=assessor).exists()


def test_a_reset_takes_the_second_factor_from_open_sessions(
    client: Client, security: User, assessor: User
) -> None:
    device, _codes = _enrolled(assessor)
    _password(client, assessor)
    _code(client, totp_code_for(device))
    assert client.get("/").status_code == 200

    two_factor.two_factor_reset(user=assessor, acting_user=security)

    assert client.get("/")["Location"].startswith(VERIFY)


# ----------------------------------------------------------------------------------------------
# Vendors and owners


def test_a_vendor_signs_in_with_the_password_alone(client: Client, vendor: User) -> None:
    assert _password(client, vendor) == "/"
    assert client.get("/").status_code == 200
    assert _actions(vendor) == ["accounts.user.logged_in"]
    assert not TOTPDevice.objects.filter(user=vendor).exists()


def test_a_vendor_who_enrols_is_asked_for_the_code_at_the_next_sign_in(
    client: Client, vendor: User
) -> None:
    _password(client, vendor)
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "Off: you sign in with your password only." in page
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=vendor)
    assert client.post(SETUP, {"code": totp_code_for(device), "next": "/"}).status_code == 200
    client.post(reverse("accounts:logout"))

    again = Client()
    assert _password(again, vendor).startswith(VERIFY)
    assert again.get("/")["Location"].startswith(VERIFY)
    assert _code(again, totp_code_for(device)).status_code == 302
    assert again.get("/").status_code == 200


# ----------------------------------------------------------------------------------------------
# The demo accounts


def test_demo_accounts_of_two_factor_roles_get_the_published_app_and_the_command_prints_its_code(
    client: Client, settings: Settings
) -> None:
    from demo.accounts import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo_accounts

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {u.username: u for u in load_demo_accounts()}
    load_demo_accounts()  # again: nothing more
    admin = users["admin"]
    device = TOTPDevice.objects.get(user=admin)
    assert base64.b32encode(device.bin_key).decode() == DEMO_TOTP_SECRET
    assert not TOTPDevice.objects.filter(user=users["vendor1"]).exists()

    out = io.StringIO()
    call_command("demo_otp_code", "admin", stdout=out, stderr=io.StringIO())
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    response = client.post("/login/", {"username": "admin", "password": DEMO_PASSWORD})
    assert response["Location"].startswith(VERIFY)
    assert _code(client, code).status_code == 302


def test_the_demo_code_command_refuses_a_real_account(admin: User) -> None:
    totp_device_ensure(admin)

    with pytest.raises(CommandError, match="not a demo account"):
        call_command("demo_otp_code", admin.username, stdout=io.StringIO())
    with pytest.raises(ValueError, match="not a demo account"):
        two_factor.totp_device_install_demo(user=admin, key_hex="00" * 20)
