"""Renderers for views that answer a file: the view returns a streamed ``FileResponse``, which no
renderer touches; the renderer is there only so that content negotiation lets the file's media
type through (``Accept: application/pdf``, ``application/octet-stream``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class FileRenderer(BaseRenderer):
    """Accepts ``media_type`` in negotiation; renders nothing (a subclass names the type)."""

    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data if isinstance(data, bytes) else b""
