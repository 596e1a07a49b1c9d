"""Response headers beyond Django's ``SecurityMiddleware``.

- ``Content-Security-Policy`` (django-csp, ``CONTENT_SECURITY_POLICY``) on every response but
  PDFs: Chromium shows a PDF in a plugin embedded in a document of its own, which the policy's
  ``object-src 'none'`` would block (the public ranking bulletin opens in the browser). A PDF
  runs no page script, and ``X-Frame-Options: DENY`` still keeps it out of frames.
- ``Permissions-Policy``: the portal uses no camera, microphone, location, payment or device
  API, so no page (nor anything injected into one) may ask the browser for them.
- ``Cache-Control: no-store`` on every response to a signed-in user that has not chosen its
  own caching: such pages carry the user's name and their organisation's data, which must not
  stay on the disk of a shared computer or come back through the back button after sign-out.
  Views that decide for themselves (the public ranking's ``private, no-cache`` with its ETag,
  file downloads) keep their header; anonymous responses are left alone, so public pages keep
  their caching.
"""

from __future__ import annotations

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers

# Features of the W3C Permissions Policy that Chromium knows (an unknown name makes it log an
# error on every page); each denied to every origin, this one included.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, leaving PDFs without the pages' policy."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("application/pdf"):
            return response
        return super().process_response(request, response)


def _signed_in(request: HttpRequest) -> bool:
    """Whether the request is a signed-in user's, without looking up a session the request
    has no cookie for (a query, and ``Vary: Cookie`` on responses that never read it)."""
    session = getattr(request, "session", None)
    if session is None or session.is_empty():
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class SecurityHeadersMiddleware:
    """Adds ``Permissions-Policy`` to every response and makes signed-in users' responses
    uncacheable unless the view set ``Cache-Control`` itself. Must sit below
    ``AuthenticationMiddleware`` (it reads ``request.user``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if not response.has_header("Cache-Control") and _signed_in(request):
            add_never_cache_headers(response)
        return response
