"""Failed sign-ins and lockouts in the audit trail; the idle clock started at sign-in.

Django sends ``user_login_failed`` from ``authenticate()`` (the portal's sign-in page, the admin
site's, a password check anywhere), with the credentials minus the password; django-axes sends
``user_locked_out`` on every failure that finds the account or address over the limit. The
lockout is recorded once, by the failure that reaches the limit.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest

from . import services
from .middleware import LAST_SEEN, now_seconds


def _username(credentials: dict[str, Any] | None) -> str:
    value = (credentials or {}).get("username")
    return str(value) if value else ""


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    services.user_record_login_failed(
        username=_username(credentials),
        # Refused by the lockout before the password was even checked.
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )


def _failures(**lookup: Any) -> int:
    total = AccessAttempt.objects.filter(**lookup).aggregate(n=Sum("failures_since_start"))["n"]
    return int(total or 0)


@receiver(user_locked_out, dispatch_uid="accounts.audit_locked_out")
def audit_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    """Axes' ``user_locked_out``: recorded when this failure is the one that reaches the limit
    for the account, the address, or both (later failures during the lockout are recorded as
    failed sign-ins only)."""
    limit = int(settings.AXES_FAILURE_LIMIT)
    by = []
    if username and _failures(username=username) == limit:
        by.append("account")
    if ip_address and _failures(ip_address=ip_address) == limit:
        by.append("address")
    if by:
        services.user_record_locked_out(username=username or "", by=by)


@receiver(user_logged_in, dispatch_uid="accounts.idle_clock_start")
def start_idle_clock(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """The idle timeout counts from the sign-in, written with the session it creates (so the
    first page after signing in does not write the session again)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LAST_SEEN] = now_seconds()
