"""Writes of the two-factor state. Every change is audited; no record holds a secret or a code.

Codes: a TOTP code is six digits; a recovery code is ten letters and digits, never all digits,
so one field takes either.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from audit.services import audit_record

from . import selectors

RECOVERY_CODE_COUNT = 10
# Recovery codes are typed back: no 0/o, 1/l/i confusions (Crockford-like alphabet).
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10


class Outcome(enum.StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    WRONG = "wrong"
    THROTTLED = "throttled"  # too many wrong codes in a row: django-otp asks to wait


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    device: Device | None = None
    # Recovery codes still unused after this one (RECOVERY_CODE only).
    codes_left: int = 0


def normalise_code(token: str) -> str:
    """What people type: spaces and dashes between groups, any case."""
    return "".join(token.split()).replace("-", "").lower()


def _new_recovery_code() -> str:
    while True:
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        if not code.isdigit():  # all digits would be read as an authenticator code
            return code


def _recovery_codes_replace(user: User) -> list[str]:
    """Deletes the user's recovery codes and makes ``RECOVERY_CODE_COUNT`` new ones."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator app being set up: the pending one if there is one, else a new one with
    a fresh random secret. Unconfirmed, it cannot be used to sign in. Safe to call again (a
    reload of the page shows the same secret)."""
    pending = selectors.totp_device_pending_for(user)
    if pending is not None:
        return pending
    device = TOTPDevice(user=user, name="authenticator app", confirmed=False)
    device.full_clean()
    device.save()
    return device


@transaction.atomic
def totp_enrolment_confirm(*, user: User, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirms the pending authenticator app with a code from it. On success, that app becomes
    the user's only one (an earlier one stops working), they get ``RECOVERY_CODE_COUNT`` new
    recovery codes (earlier ones stop working), and ``accounts.user.otp_enrolled`` is recorded.
    Returns the device and the codes, to be shown once; None for a wrong code (nothing changes)
    or when nothing is being set up."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("-id")
        .first()
    )
    if device is None or not device.verify_token(normalise_code(token)):
        return None
    replaced = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()[0] > 0
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_replace(user)
    audit_record(
        action="accounts.user.otp_enrolled",
        acting_user=user,
        target=user,
        changes={"replaced": replaced, "recovery_codes": len(codes)},
    )
    return device, codes


def two_factor_verify(*, user: User, token: str) -> Verification:
    """Checks a code at sign-in: six digits against the authenticator app, anything else
    against the recovery codes (a recovery code works once: it is deleted). Records
    ``accounts.user.recovery_code_used`` or ``accounts.user.otp_failed``; a code refused
    because django-otp asks to wait after wrong codes (1, 2, 4 … seconds) is neither."""
    code = normalise_code(token)
    with transaction.atomic():
        if code.isdigit():
            device: Device | None = (
                TOTPDevice.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .order_by("-id")
                .first()
            )
            kind = Outcome.TOTP
        else:
            device = (
                StaticDevice.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .order_by("-id")
                .first()
            )
            kind = Outcome.RECOVERY_CODE
        if device is not None:
            allowed, _details = device.verify_is_allowed()
            if not allowed:
                return Verification(Outcome.THROTTLED)
            if device.verify_token(code):
                if kind == Outcome.TOTP:
                    return Verification(Outcome.TOTP, device)
                left = StaticToken.objects.filter(device=device).count()
                audit_record(
                    action="accounts.user.recovery_code_used",
                    acting_user=user,
                    target=user,
                    changes={"codes_left": left},
                )
                return Verification(Outcome.RECOVERY_CODE, device, codes_left=left)
    # The caller records the failure (otp_failure_record), knowing how many came before.
    return Verification(Outcome.WRONG)


def otp_failure_record(*, user: User, failures: int, signed_out: bool) -> None:
    """``accounts.user.otp_failed``: a wrong code at sign-in, how many in a row in this
    sign-in, and whether that was the last one allowed (the session is then signed out)."""
    audit_record(
        action="accounts.user.otp_failed",
        acting_user=user,
        target=user,
        changes={"failures": failures, "signed_out": signed_out},
    )


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """New recovery codes for a user who has an authenticator app; the old ones stop working.
    Returns the codes, to be shown once. Raises ValueError when the user has no app."""
    if selectors.totp_device_for(user) is None:
        raise ValueError("Recovery codes need an authenticator app first.")
    codes = _recovery_codes_replace(user)
    audit_record(
        action="accounts.user.recovery_codes_regenerated",
        acting_user=user,
        target=user,
        changes={"recovery_codes": len(codes)},
    )
    return codes


@transaction.atomic
def two_factor_reset(*, user: User, acting_user: User | None) -> int:
    """Deletes the user's authenticator apps and recovery codes: they set up a new app at their
    next sign-in (their sessions lose the second factor at once). Security administrators only
    (``Action.USER_MANAGE``). Returns how many devices were deleted (0: nothing to reset,
    still recorded, so the trail shows the request)."""
    policy.require(acting_user, Action.USER_MANAGE)
    apps, recovery = TOTPDevice.objects.filter(user=user), StaticDevice.objects.filter(user=user)
    deleted = apps.count() + recovery.count()
    apps.delete()
    recovery.delete()  # and its codes
    audit_record(
        action="accounts.user.otp_reset",
        acting_user=acting_user,
        target=user,
        changes={"devices": deleted},
    )
    return deleted


@transaction.atomic
def totp_device_install_demo(*, user: User, key_hex: str) -> TOTPDevice:
    """Gives a demo account a confirmed authenticator app with a published secret (the demo
    loader), so that a newcomer can sign in as it; the account's app if it has one. Refuses
    (ValueError) any account not marked demo: a known secret is no second factor."""
    if not user.is_demo:
        raise ValueError(f"{user.username} is not a demo account: no published secret for it.")
    existing = selectors.totp_device_for(user)
    if existing is not None:
        return existing
    device = TOTPDevice(user=user, name="demo authenticator", key=key_hex, confirmed=True)
    device.full_clean()
    device.save()
    audit_record(
        action="accounts.user.otp_enrolled",
        acting_user=None,
        target=user,
        changes={"demo": True},
    )
    return device
