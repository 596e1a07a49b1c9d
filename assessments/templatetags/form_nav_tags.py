"""Helpers for the long assessment pages' indicator navigation."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

register = template.Library()


@register.filter
def indicator_ids(items: Iterable[object]) -> set[int]:
    """The indicator ids of a list of indicators or of ``MissingItem``s (which carry one)."""
    ids: set[int] = set()
    for item in items:
        indicator = getattr(item, "indicator", item)
        pk = getattr(indicator, "pk", None)
        if isinstance(pk, int):
            ids.add(pk)
    return ids


@register.filter
def ids_without(blocks: Iterable[object], attribute: str) -> set[int]:
    """The indicator ids of the rows of ``blocks`` (``DimensionBlock``s) whose ``attribute``
    (``"answer"`` or ``"rating"``) is empty: the read-only pages' "missing" marks."""
    ids: set[int] = set()
    for block in blocks:
        for row in getattr(block, "rows", []):
            if getattr(row, attribute, None) is None:
                ids.add(row.indicator.pk)
    return ids
