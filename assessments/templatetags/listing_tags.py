"""Template helpers of the long lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: Mapping[str, Any] | None, key: object) -> Any:
    """``{{ names|lookup:code }}``: the value for ``key``, or the key itself when absent."""
    if not mapping:
        return key
    return mapping.get(str(key), key)
