"""Two-factor sign-in in the suite.

Tests that sign in with ``client.force_login`` as a user of a two-factor
role get a session that has passed the second factor, as a real sign-in would after the code:
the autouse fixture in ``tests/conftest.py`` gives the user a confirmed authenticator app and
marks the session verified the way ``django_otp.login`` does. Tests about the second factor
itself opt out with ``@pytest.mark.no_otp_shortcut``.

Browser tests sign in through the real pages: ``totp_code_for`` reads the code an authenticator
app would show for the user's device.
"""

from __future__ import annotations

from typing import Any

from django.test.client import ClientMixin
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.twofactor.selectors import otp_required

_original_force_login = ClientMixin.force_login


def totp_device_ensure(user: User) -> TOTPDevice:
    """The user's confirmed authenticator app, created if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    return device


def totp_code_for(device: TOTPDevice) -> str:
    """The code the app shows now. The device refuses a code of a time step it already
    accepted (replay protection), so a test that signs the same person in twice within 30
    seconds starts the device's record of used steps afresh: a test shortcut, never done by
    the portal."""
    device.refresh_from_db()
    if device.last_t >= 0:
        device.last_t = -1
        device.save(update_fields=["last_t"])
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def _force_login_verified(self: Any, user: Any, backend: Any = None) -> None:
    _original_force_login(self, user, backend)
    if otp_required(user):
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = totp_device_ensure(user).persistent_id
        session.save()


def install_shortcut(monkeypatch: Any) -> None:
    monkeypatch.setattr(ClientMixin, "force_login", _force_login_verified)
