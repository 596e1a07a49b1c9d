"""How large a request body each page accepts, enforced from the length the request declares,
before anything reads the body: before the CSRF check (which parses a form, spooling its files
to disk), before the view.

A view that takes more than ``DEFAULT_MAX_BODY`` (a form without large files) says so with
``@max_body(limit)``, a number of bytes or a function giving it (read at each request, so that
settings changed in tests apply). ``RequestSizeLimitMiddleware`` answers a larger request 413
with the page's message (JSON for the page's scripts). Django never reads past the declared
length, and reads nothing of a body that declares none, so the declared length is the bound;
upload handlers then count what arrives against the file's own limit.

The bottom of the layers: Django only, no module of the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .api.errors import error_body
from .forms import wants_json

# Room for the multipart boundaries, part headers and the other fields around a file.
SLACK = 64 * 1024

F = TypeVar("F", bound=Callable[..., Any])


def default_max_body() -> int:
    """What a page without ``@max_body`` accepts: Django's bound on form data held in memory."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2621440)


def max_body(limit: int | Callable[[], int]) -> Callable[[F], F]:
    """Marks a view as accepting a body of up to ``limit`` bytes (plus the form's slack)."""

    def mark(view: F) -> F:
        # On the function's __dict__, which functools.wraps copies to every decorator around it.
        vars(view)["max_body_bytes"] = limit
        return view

    return mark


def declared_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def close_unread(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Asks the server to close the connection after a response sent without reading the body,
    rather than read the rest of it first (gunicorn honours ``Connection: close``). Not under
    Django's development server, whose WSGI layer refuses hop-by-hop headers from applications
    (it answers 500) and discards the rest of the body itself."""
    if not str(request.META.get("SERVER_SOFTWARE", "")).startswith("WSGIServer"):
        response["Connection"] = "close"
    return response


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    message = _("The request is larger than this page accepts (at most %(limit)s).") % {
        "limit": filesizeformat(limit)
    }
    if wants_json(request):
        # The pages' scripts read ``errors``; API clients the shape of every API error.
        response: HttpResponse = JsonResponse(
            {"ok": False, "errors": [message], **error_body("too_large", message)}, status=413
        )
    else:
        response = render(request, "413.html", {"message": message}, status=413)
    return close_unread(request, response)


class RequestSizeLimitMiddleware:
    """Refuses, with 413, a request declaring a body larger than its view accepts. List it
    before ``CsrfViewMiddleware``: views run ``process_view`` in that order."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        declared = declared_length(request)
        if not declared:
            return None
        marked = getattr(view_func, "max_body_bytes", None)
        limit = marked() if callable(marked) else marked
        limit = int(limit) if limit is not None else default_max_body()
        if declared > limit + SLACK:
            return too_large_response(request, limit)
        return None
