"""A small rate limiter for the public verification pages: fixed windows in Django's cache,
keyed on the client address."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from govcloud_eval import clientip


@dataclass(frozen=True)
class RateLimit:
    limit: int  # requests per window
    window: int  # seconds


def verify_rate_limit() -> RateLimit:
    return RateLimit(
        limit=int(getattr(settings, "VERIFY_RATE_LIMIT", 30)),
        window=int(getattr(settings, "VERIFY_RATE_WINDOW", 60)),
    )


def client_address(request: HttpRequest) -> str:
    """The client's address (``govcloud_eval.clientip``: X-Forwarded-For only from the
    configured number of trusted proxies)."""
    return clientip.client_address(request)


def rate_limited(*, scope: str, ident: str, rule: RateLimit, now: float | None = None) -> bool:
    """Counts one request of ``ident`` and says whether it is over ``rule.limit`` in the
    current window. Fixed windows: at most 2 × limit in any span of one window, which is
    plenty against guessing 120-bit codes. With LocMemCache the count is per process."""
    now = time.time() if now is None else now
    bucket = int(now // rule.window)
    key = f"ratelimit:{scope}:{ident}:{bucket}"
    cache.add(key, 0, timeout=rule.window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=rule.window + 5)
        count = 1
    return count > rule.limit
