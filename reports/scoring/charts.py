"""Geometry of the radar chart of dimension shares, drawn as inline SVG by the template.

No JavaScript and no chart library: the server computes the points, the template writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SIZE = 320
CENTER = SIZE / 2
RADIUS = 105
RINGS = (20, 40, 60, 80, 100)


@dataclass(frozen=True)
class RadarAxis:
    code: str
    name_zh: str
    name_en: str
    share: Decimal | None
    x: float  # end of the axis
    y: float
    label_x: float
    label_y: float
    anchor: str  # SVG text-anchor
    dot_x: float
    dot_y: float


@dataclass(frozen=True)
class Radar:
    size: int
    center: float
    rings: list[tuple[int, str]]  # (percent, polygon points)
    axes: list[RadarAxis]
    shape: str  # polygon points of the shares

    @property
    def drawable(self) -> bool:
        return len(self.axes) >= 3


def _point(index: int, count: int, fraction: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / count  # the first axis points up
    return (
        round(CENTER + RADIUS * fraction * math.cos(angle), 1),
        round(CENTER + RADIUS * fraction * math.sin(angle), 1),
    )


def _points(pairs: list[tuple[float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in pairs)


def radar_for(breakdown: dict[str, Any]) -> Radar:
    """The radar of a stored breakdown: one axis per dimension, 0 at the centre, 100% at the
    rim; shares above 100% (never expected) are drawn at the rim."""
    dimensions = breakdown.get("dimensions", [])
    count = len(dimensions)
    axes: list[RadarAxis] = []
    shape: list[tuple[float, float]] = []
    for n, dim in enumerate(dimensions):
        share = Decimal(str(dim["share"])) if dim.get("share") is not None else None
        fraction = min(float(share or 0) / 100, 1.0)
        x, y = _point(n, count, 1.0)
        dot_x, dot_y = _point(n, count, fraction)
        label_x, label_y = _point(n, count, 1.22)
        anchor = "start" if label_x > CENTER else "end"
        if abs(label_x - CENTER) < 1:
            anchor = "middle"
        axes.append(
            RadarAxis(
                dim["code"],
                dim.get("name_zh", ""),
                dim.get("name_en", ""),
                share,
                x,
                y,
                label_x,
                label_y + 4,
                anchor,
                dot_x,
                dot_y,
            )
        )
        shape.append((dot_x, dot_y))
    rings = [
        (ring, _points([_point(n, count, ring / 100) for n in range(count)])) for ring in RINGS
    ]
    return Radar(SIZE, CENTER, rings, axes, _points(shape))
