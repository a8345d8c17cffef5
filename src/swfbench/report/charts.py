"""Chart geometry for the HTML report: numbers in, SVG coordinates out.

The templates draw; this module only scales data onto a fixed canvas, so charts stay inline SVG
with no script or network fetch, and a report is one self-contained file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    points: str
    """SVG polyline points, "x,y x,y ..."."""


@dataclass(frozen=True)
class LineChart:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    right: int = WIDTH - RIGHT


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


PERCENTILE_TICKS = (
    (0.0, "0%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
    (5.0, "99.999%"),
)
PERCENTILE_MAX_X = 5.7


def percentile_x(percent: float) -> float:
    """Where a percentile sits on a distribution chart's x axis: each further nine of the tail
    (90, 99, 99.9 %) gets the same width as the whole first 90 %; the maximum sits at the end."""
    if percent >= 100.0:
        return PERCENTILE_MAX_X
    return min(PERCENTILE_MAX_X, -math.log10(1.0 - percent / 100.0))


def percentile_ticks() -> list[tuple[float, str]]:
    return [*PERCENTILE_TICKS, (PERCENTILE_MAX_X, "max")]


def _label(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def line_chart(
    title: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    x_label: str,
    y_label: str,
    y_min: float | None = 0.0,
    x_ticks: Sequence[tuple[float, str]] | None = None,
) -> LineChart:
    """Scale every series onto one canvas; the y axis starts at `y_min` unless None.

    `x_ticks` (value, label) replaces the round ticks, e.g. for a percentile axis; the axis then
    spans the first to the last of them.
    """
    xs = [x for points in series.values() for x, _ in points] or [0.0, 1.0]
    ys = [y for points in series.values() for _, y in points] or [0.0, 1.0]
    x_values = [x for x, _ in x_ticks] if x_ticks else nice_ticks(min(xs), max(xs))
    x_labels = [label for _, label in x_ticks] if x_ticks else [_label(x) for x in x_values]
    y_ticks = nice_ticks(min(ys) if y_min is None else min(y_min, min(ys)), max(ys))
    x0, x1, y0, y1 = x_values[0], x_values[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y0) / (y1 - y0) * plot_h

    drawn = [
        Series(
            name=name,
            color=PALETTE[index % len(PALETTE)],
            points=" ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points),
        )
        for index, (name, points) in enumerate(series.items())
    ]
    return LineChart(
        title=title,
        x_label=x_label,
        y_label=y_label,
        series=drawn,
        x_ticks=[Tick(sx(x), label) for x, label in zip(x_values, x_labels, strict=True)],
        y_ticks=[Tick(sy(y), _label(y)) for y in y_ticks],
    )
