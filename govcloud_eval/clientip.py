"""The client's address, as far as it can be trusted, and the request's address for the code
that runs under it (the audit trail).

Without a proxy, ``REMOTE_ADDR`` is the client. Behind proxies, set ``TRUSTED_PROXY_COUNT`` to
how many of them append to ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``): the
client is then the entry that many places from the right. Entries further left are written by
the client and never believed; unset, the header is ignored altogether, so a client cannot
choose the address the rate limits, the lockout and the audit trail see.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_current: ContextVar[str] = ContextVar("govcloud_eval_client_address", default="")


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = n > 0 the n-th
    address from the right of ``X-Forwarded-For``; "unknown" when there is none."""
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    hops = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if hops > 0:
        forwarded = [
            part.strip()
            for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # a malformed entry: fall back to the address the server saw
    return remote or "unknown"


def current_client_address() -> str:
    """The client address of the request being served in this thread or task, "" outside a
    request (a Celery task, a management command)."""
    return _current.get()


class ClientAddressMiddleware:
    """Makes ``current_client_address()`` answer for the request being served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
