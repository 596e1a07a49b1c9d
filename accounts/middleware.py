"""Idle timeout: a signed-in session ends after ``SESSION_IDLE_TIMEOUT`` seconds without a
request (its absolute lifetime is ``SESSION_COOKIE_AGE``).

The time of the last request is kept in the session, rewritten at most once a minute
(``TOUCH_INTERVAL``) so that an ordinary request does not write the session. A request that
comes too late signs the user out; a page request is sent to the sign-in page with a message
saying why, an API, JSON or script request gets 401 with the message in JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from govcloud_eval.api.errors import error_body
from govcloud_eval.forms import wants_json

from . import services

# The session key holding the last request's time (seconds since the epoch, an int).
LAST_SEEN = "gce_last_seen"
TOUCH_INTERVAL = 60


def now_seconds() -> int:
    return int(time.time())


class IdleTimeoutMiddleware:
    """After ``AuthenticationMiddleware`` and ``MessageMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = now_seconds()
            last_seen = request.session.get(LAST_SEEN)
            timeout = int(settings.SESSION_IDLE_TIMEOUT)
            if isinstance(last_seen, int) and now - last_seen > timeout:
                services.user_record_timeout(user=request.user, idle_seconds=now - last_seen)
                return self._expired(request, timeout)
            if not isinstance(last_seen, int) or now - last_seen >= TOUCH_INTERVAL:
                request.session[LAST_SEEN] = now
        return self.get_response(request)

    def _expired(self, request: HttpRequest, timeout: int) -> HttpResponse:
        logout(request)
        text = _(
            "You were signed out after %(minutes)d minutes without activity. Please sign in again."
        ) % {"minutes": timeout // 60}
        if wants_json(request):
            return JsonResponse(
                {"detail": text, "signed_out": True, **error_body("signed_out", text)}, status=401
            )
        messages.info(request, text)
        return redirect_to_login(request.get_full_path())
