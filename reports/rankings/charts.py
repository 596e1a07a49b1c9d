"""Geometry of the horizontal bar chart of totals on a published ranking, drawn as inline SVG by
the template (no JavaScript, no chart library), like ``reports.scoring.charts`` draws the radar."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 680
LABEL_WIDTH = 250  # cloud names, right-aligned before the bars
VALUE_WIDTH = 56
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 22  # room for the scale
BOTTOM = 8
TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    value_text: str
    y: float  # top of the bar
    text_y: float  # baseline of the label and the value
    width: float
    tied: bool


@dataclass(frozen=True)
class Tick:
    value: int
    x: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int  # x where the bars start
    plot_width: float
    top: int
    bottom: float  # y of the last row's bottom
    bars: list[Bar]
    ticks: list[Tick]


def bar_chart(rows: list[tuple[str, Decimal, bool]], maximum: Decimal = Decimal(100)) -> BarChart:
    """Bars for ``rows`` of (label, total, tied), in the order given, on a scale from 0 to
    ``maximum`` (the framework's total weight). Totals above it are drawn at the end."""
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 8
    scale = float(maximum) if maximum and maximum > 0 else 100.0
    bars = []
    for n, (label, value, tied) in enumerate(rows):
        y = TOP + n * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        fraction = min(max(float(value) / scale, 0.0), 1.0)
        bars.append(
            Bar(
                label=label,
                value=value,
                value_text=f"{value:.2f}",
                y=round(y, 1),
                text_y=round(y + BAR_HEIGHT - 3.5, 1),
                width=round(plot_width * fraction, 1),
                tied=tied,
            )
        )
    ticks = [Tick(t, round(LABEL_WIDTH + plot_width * t / 100, 1)) for t in TICKS]
    bottom = TOP + len(rows) * ROW_HEIGHT
    return BarChart(
        width=WIDTH,
        height=bottom + BOTTOM,
        left=LABEL_WIDTH,
        plot_width=plot_width,
        top=TOP,
        bottom=bottom,
        bars=bars,
        ticks=ticks,
    )
