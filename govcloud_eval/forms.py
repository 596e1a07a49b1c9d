"""Reading values that forms post, where a view does without a Django form."""

from __future__ import annotations

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
