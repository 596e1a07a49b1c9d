"""Request limits per signed-in user and per anonymous client address.

The rates are read from ``settings.API_THROTTLE_RATES`` on each request (DRF's own classes read
theirs once, at import), so that a deployment, or a test, may change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request


class _SettingsRate:
    scope: str | None

    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = getattr(settings, "API_THROTTLE_RATES", {})
        return rates.get(self.scope or "")


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Per user (a token's or a session's)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        # Re-read each time: the instance is new per request, the rate may have changed.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    """Per client address, for requests without a user (verification, public rankings)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
