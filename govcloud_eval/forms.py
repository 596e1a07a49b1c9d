"""Reading values that forms post, where a view does without a Django form, and whether the
request wants its answer as JSON."""

from __future__ import annotations

from django.http import HttpRequest

# The largest primary key a form may name: beyond, a PostgreSQL bigint overflows (a query error,
# not a "no such object").
_MAX_ID_DIGITS = 18


def posted_id(value: str | None) -> int | None:
    """A primary key as a form posts it, or None when it cannot be one (empty, not ASCII digits,
    too long): the view answers that with a message, never an error."""
    value = value or ""
    if not (value.isascii() and value.isdigit()) or len(value) > _MAX_ID_DIGITS:
        return None
    return int(value)


def wants_json(request: HttpRequest) -> bool:
    """Whether the answer should be JSON, not a page: the pages' scripts (``X-Requested-With``,
    or JSON in ``Accept`` or ``Content-Type``) and the API."""
    return (
        request.headers.get("x-requested-with") == "XMLHttpRequest"
        or "application/json" in request.headers.get("accept", "")
        or "application/json" in request.headers.get("content-type", "")
        or request.path.startswith("/api/")
    )
