"""Sign-in lockout (django-axes), as the portal configures it: which address a client has, and
the page a locked-out client gets.

Failed sign-ins are counted per account and per client address
(``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]``: either one reaching
``AXES_FAILURE_LIMIT`` locks). A lockout ends by itself ``AXES_COOLOFF_TIME`` after the last
failure, or earlier when a security administrator lifts it (``services.lockout_clear``).
Axes checks every ``authenticate()`` call, so the portal's sign-in page and the admin site's are
both covered.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from govcloud_eval.clientip import client_address
from govcloud_eval.forms import wants_json

# Axes answers with this status; so does the portal's page.
STATUS = 429


def axes_client_ip(request: HttpRequest) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the address the rate limits and the audit trail see
    (``X-Forwarded-For`` only through ``TRUSTED_PROXY_COUNT`` trusted proxies). None when there
    is none (a request built in a test): axes stores addresses in an IP-address column."""
    address = client_address(request)
    return None if address == "unknown" else address


def cool_off() -> datetime.timedelta:
    """How long a lockout lasts after the last failure (``LOGIN_LOCKOUT_MINUTES``)."""
    value: datetime.timedelta = settings.AXES_COOLOFF_TIME
    return value


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the portal's page saying that sign-ins are locked and from
    when they may be tried again (each failure during a lockout starts the cool-off again), in
    the user's language; JSON for scripts."""
    retry_at = timezone.localtime(timezone.now() + cool_off())
    minutes = int(cool_off().total_seconds() // 60)
    if wants_json(request):
        return JsonResponse(
            {
                "detail": _(
                    "Too many failed sign-ins: signing in is locked for this account or address."
                ),
                "retry_after": retry_at.isoformat(),
            },
            status=STATUS,
            headers={"Retry-After": str(int(cool_off().total_seconds()))},
        )
    response = render(
        request,
        "registration/locked_out.html",
        {
            "retry_at": retry_at,
            "minutes": minutes,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        },
        status=STATUS,
    )
    response["Retry-After"] = str(int(cool_off().total_seconds()))
    return response
