"""Reads of the two-factor state: whose sign-in needs a code, and the devices behind it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

# Set on a session whose sign-in must still pass the second factor although the user's role
# does not require one (a vendor who enrolled of their own accord).
PENDING_SESSION_KEY = "two_factor_pending"


def role_requires_otp(role: str) -> bool:
    """Whether users of ``role`` must sign in with a code (``settings.OTP_REQUIRED_ROLES``)."""
    return role in settings.OTP_REQUIRED_ROLES


def otp_required(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and role_requires_otp(
        getattr(user, "role", "")
    )


# Set on users read by accounts.backends.UserBackend: the ids of their confirmed devices.
TOTP_ID_COLUMN = "otp_totp_device_id"
STATIC_ID_COLUMN = "otp_static_device_id"


def device_id_columns() -> dict[str, Subquery]:
    """Annotations giving a user's newest confirmed authenticator app and recovery-code set (None
    for none), read in the same query as the user."""
    return {
        TOTP_ID_COLUMN: Subquery(
            TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
            .order_by("-id")
            .values("id")[:1]
        ),
        STATIC_ID_COLUMN: Subquery(
            StaticDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
            .order_by("-id")
            .values("id")[:1]
        ),
    }


def totp_device_for(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if they have one (the newest)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def totp_device_pending_for(user: User) -> TOTPDevice | None:
    """The authenticator app being set up: created, not yet confirmed with a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def recovery_device_for(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def recovery_codes_left(user: User) -> int:
    device = recovery_device_for(user)
    return device.token_set.count() if device is not None else 0


def session_needs_second_factor(request: HttpRequest) -> bool:
    """Whether this signed-in session must pass the second factor before using the portal:
    the user's role requires it, or their sign-in asked for it (they enrolled of their own
    accord), and the session has not passed it yet."""
    user = request.user
    if not user.is_authenticated:
        return False
    if not (otp_required(user) or request.session.get(PENDING_SESSION_KEY)):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def is_satisfied(request: HttpRequest) -> bool:
    """The opposite: a session that may go anywhere its role allows."""
    return not session_needs_second_factor(request)
