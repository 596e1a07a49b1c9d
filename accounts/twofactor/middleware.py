"""Keeps a session that has not passed the second factor on the code step.

After the password, a user of a two-factor role (``settings.OTP_REQUIRED_ROLES``) is signed in
but not verified (``request.user.is_verified()``, set by ``OTPMiddleware`` below, django-otp's,
which must come before ``TwoFactorMiddleware``). Until they type a code, every page sends them
to the code step (or, without an authenticator app yet, to its setup), except signing out, the
static files, the health check and the pages anyone may see (report verification, public
rankings, the language switch). The API answers 403 with a JSON body instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import middleware as otp_middleware
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from govcloud_eval.api.errors import error_body

from .selectors import STATIC_ID_COLUMN, TOTP_ID_COLUMN, session_needs_second_factor

API_PREFIX = "/api/"


def _known_device_id(user: Any, persistent_id: str) -> bool:
    """Whether the session's device is one of the user's confirmed devices, as read with the user
    (``UserBackend`` annotates their ids; a user read otherwise has none, and is looked up)."""
    for model, column in ((TOTPDevice, TOTP_ID_COLUMN), (StaticDevice, STATIC_ID_COLUMN)):
        known = getattr(user, column, None)
        if known is not None and persistent_id == f"{model.model_label()}/{known}":
            return True
    return False


class OTPMiddleware(otp_middleware.OTPMiddleware):
    """django-otp's middleware (``request.user.is_verified()``) without a query of its own on
    every request: when the session's device is the user's confirmed device, as read with the
    user, ``user.otp_device`` loads it only if something reads it. Otherwise, django-otp's own
    lookup (and its clean-up of a stale session key)."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        persistent_id = (
            request.session.get(DEVICE_ID_SESSION_KEY) if user.is_authenticated else None
        )
        if persistent_id and _known_device_id(user, persistent_id):
            self._init_user_fields(user)
            user.otp_device = SimpleLazyObject(partial(Device.from_persistent_id, persistent_id))
            return user
        return super()._verify_user_sync(request, user)


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    # The pages a session waiting for its code may still use, by URL name: its own steps,
    # signing out, and what anyone may see. (The public rankings' objection page is not here:
    # it is the cloud owners'.)
    OPEN_VIEWS = frozenset(
        {
            "accounts:two_factor_verify",
            "accounts:two_factor_setup",
            "accounts:logout",
            "healthz",
            "set_language",
            "certified:verify_lookup",
            "certified:verify",
            "rankings:index",
            "rankings:public",
            "rankings:public_version",
            "rankings:export",
        }
    )

    @cached_property
    def static_prefix(self) -> str:
        return "/" + settings.STATIC_URL.lstrip("/")

    def is_open(self, path: str) -> bool:
        if path.startswith(self.static_prefix):
            return True
        try:
            return resolve(path).view_name in self.OPEN_VIEWS
        except Resolver404:
            return False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The open paths first: public pages never read the session because of this.
        if self.is_open(request.path_info) or not session_needs_second_factor(request):
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse(
                error_body(
                    "two_factor_required",
                    _("Two-factor authentication required: sign in with your code."),
                ),
                status=403,
            )
        return redirect_to_login(request.get_full_path(), reverse("accounts:two_factor_verify"))
