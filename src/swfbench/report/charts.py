"""Chart geometry for the HTML report: numbers in, SVG coordinates and hover labels out.

The templates draw; this module scales data onto a fixed canvas. Every chart is inline SVG that
reads without any script; a small inline script (`templates/chart.js`) adds the value under the
pointer and a series toggle from the labels computed here, so a report stays one file that
fetches nothing. Latency axes turn logarithmic when the values span orders of magnitude, and a
distribution's percentile axis ends where its sample count stops supporting a percentile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from swfbench.report.numbers import number, with_unit

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 66, 18, 22, 44
PALETTE = (
    *("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"),
    *("#0891b2", "#4b5563", "#ca8a04", "#db2777", "#65a30d"),
)
DASHES = {"solid": None, "dashed": "7 4", "dotted": "2 3"}
LOG_SPAN = 100.0
"""A latency axis turns logarithmic when its largest value is this many times its smallest."""

Style = Literal["solid", "dashed", "dotted"]
Scale = Literal["linear", "log", "auto"]
Tone = Literal["plain", "knee", "broken"]


@dataclass(frozen=True)
class Line:
    """One series to draw, in data units."""

    name: str
    points: Sequence[tuple[float, float]]
    unit: str
    """The y unit, for hover labels: ms, /s, %."""
    style: Style = "solid"
    markers: bool = False
    partial: frozenset[int] = frozenset()
    """Indices of points that cover only part of their interval: drawn dashed, hollow."""
    color: str | None = None


@dataclass(frozen=True)
class Band:
    """A shaded stretch of the x axis (a capacity step's measured window)."""

    start: float
    end: float
    label: str
    tone: Tone = "plain"


@dataclass(frozen=True)
class Rule:
    """A reference line: horizontal at y (an SLO) or vertical at x (the knee, a fleet size)."""

    at: float
    label: str
    vertical: bool = False
    color: str = "#374151"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class DrawnSeries:
    index: int
    name: str
    color: str
    style: str
    """solid, dashed or dotted (the legend's swatch)."""
    dash: str | None
    solid: list[str]
    """SVG polyline points, "x,y x,y ...", one string per unbroken run of whole points."""
    partial: list[str]
    """Segments that reach a partial point: drawn dashed."""
    markers: list[tuple[float, float, bool]]
    """(x, y, hollow) circles: every point when asked for, partial points always."""


@dataclass(frozen=True)
class DrawnBand:
    x: float
    width: float
    label: str
    tone: str


@dataclass(frozen=True)
class DrawnRule:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float
    label_y: float
    anchor: str
    color: str


@dataclass(frozen=True)
class LineChart:
    title: str
    x_label: str
    y_label: str
    series: list[DrawnSeries]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bands: list[DrawnBand] = field(default_factory=list)
    rules: list[DrawnRule] = field(default_factory=list)
    log_y: bool = False
    note: str | None = None
    hover: dict[str, Any] = field(default_factory=dict)
    """What the page's script shows under the pointer: each series' points as
    [x px, y px, x label, y label]."""
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


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (both above 0), with 2 and 5 between them when the
    axis spans few decades."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(first, last) for m in steps]
    ticks.append(10.0**last)
    # Trim ticks beyond the data's neighbours so the axis hugs it.
    while len(ticks) > 2 and ticks[1] <= low:
        ticks.pop(0)
    while len(ticks) > 2 and ticks[-2] >= high:
        ticks.pop()
    return [float(f"{t:.6g}") for t in ticks]


def tick_label(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


# Percentile axes ---------------------------------------------------------------------------

NINES = ("0%", "90%", "99%", "99.9%", "99.99%", "99.999%")


def percentile_x(percent: float, top: float) -> float:
    """Where a percentile sits on a distribution chart's x axis: each further nine of the tail
    (90, 99, 99.9 %) gets the same width as the whole first 90 %; the maximum sits at `top`."""
    if percent >= 100.0:
        return top
    return min(top, -math.log10(1.0 - percent / 100.0))


def percentile_top(samples: int) -> float:
    """How far a percentile axis can go with this many samples: the highest sample is the
    1 - 1/n quantile, so 395 samples support up to 99.7 %, not 99.999 %."""
    return max(1.0, math.log10(max(samples, 10)))


def percentile_ticks(top: float) -> list[tuple[float, str]]:
    """0 %, 90 %, 99 % ... up to the last nine the samples support, and max at `top`."""
    ticks = [(float(k), NINES[k]) for k in range(len(NINES)) if k <= top - 0.3]
    return [*ticks, (top, "max")]


def percentile_label(x: float, top: float) -> str:
    """The percentile at position x, for hover labels."""
    if x >= top - 1e-9:
        return "max"
    percent = 100.0 * (1.0 - 10.0 ** (-x))
    return f"p{float(f'{percent:.6g}'):g}"


def spectrum_points(spectrum: Sequence[Sequence[float]], top: float) -> list[tuple[float, float]]:
    """A whole-run spectrum ([percentile, ms], ...) on a percentile axis that ends at `top`:
    percentiles past what the samples support are left out; the maximum ends the line."""
    points = []
    for percent, value in spectrum:
        x = percentile_x(percent, top)
        if percent < 100.0 and x >= top - 1e-9:
            continue
        points.append((x, value))
    return points


# Scaling -----------------------------------------------------------------------------------


def _use_log(values: Sequence[float], scale: Scale) -> bool:
    if scale != "auto":
        return scale == "log"
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) >= LOG_SPAN


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str],
    y_min: float | None = 0.0,
    y_scale: Scale = "linear",
    x_ticks: Sequence[tuple[float, str]] | None = None,
    x_range: tuple[float, float] | None = None,
    bands: Sequence[Band] = (),
    rules: Sequence[Rule] = (),
    note: str | None = None,
) -> LineChart:
    """Scale every line onto one canvas.

    The y axis starts at `y_min` (None: at the data) unless it is logarithmic: `y_scale` "auto"
    picks a log axis when the values (and horizontal rules) span LOG_SPAN or more. `x_ticks`
    (value, label) replaces the round ticks, e.g. for a percentile axis; `x_range` fixes the x
    axis, so that charts over the same run share it.
    """
    xs = [x for line in lines for x, _ in line.points]
    ys = [y for line in lines for _, y in line.points]
    ys += [rule.at for rule in rules if not rule.vertical]
    xs += [rule.at for rule in rules if rule.vertical]
    xs = xs or [0.0, 1.0]
    ys = ys or [0.0, 1.0]
    if x_ticks:
        x_values = [x for x, _ in x_ticks]
        x_labels = [label for _, label in x_ticks]
        x0, x1 = x_values[0], x_values[-1]
    elif x_range:
        x0, x1 = x_range
        x_values = [x for x in nice_ticks(x0, x1) if x0 <= x <= x1]
        x_labels = [tick_label(x) for x in x_values]
    else:
        x_values = nice_ticks(min(xs), max(xs))
        x_labels = [tick_label(x) for x in x_values]
        x0, x1 = x_values[0], x_values[-1]
    log_y = _use_log(ys, y_scale)
    if log_y:
        positive = [y for y in ys if y > 0] or [1.0]
        y_values = log_ticks(min(positive), max(positive))
    else:
        y_values = nice_ticks(min(ys) if y_min is None else min(y_min, min(ys)), max(ys))
    y0, y1 = y_values[0], y_values[-1]
    if x1 == x0:
        x1 = x0 + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (min(max(x, x0), x1) - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        if log_y:
            share = (math.log10(max(y, y0)) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
        else:
            share = (y - y0) / (y1 - y0)
        return TOP + plot_h - min(max(share, 0.0), 1.0) * plot_h

    drawn, hover = [], []
    for index, line in enumerate(lines):
        color = line.color or PALETTE[index % len(PALETTE)]
        xy = [(round(sx(x), 1), round(sy(y), 1)) for x, y in line.points]
        solid, partial, run = [], [], []
        for i, point in enumerate(xy):
            whole = i not in line.partial
            if whole:
                run.append(point)
            if i > 0 and (not whole or (i - 1) in line.partial):
                partial.append(_points([xy[i - 1], point]))
            if not whole and run:
                solid.append(_points(run))
                run = []
        if run:
            solid.append(_points(run))
        markers = [
            (x, y, i in line.partial)
            for i, (x, y) in enumerate(xy)
            if line.markers or i in line.partial
        ]
        drawn.append(
            DrawnSeries(
                index, line.name, color, line.style, DASHES[line.style], solid, partial, markers
            )
        )
        hover.append(
            {
                "name": line.name,
                "color": color,
                "points": [
                    [px, py, x_format(x), with_unit(number(y), line.unit)]
                    + (["part of its interval"] if i in line.partial else [])
                    for i, ((px, py), (x, y)) in enumerate(zip(xy, line.points, strict=True))
                ],
            }
        )
    drawn_bands = []
    for band in bands:
        left, right = sx(band.start), sx(band.end)
        if right - left > 0.5:
            drawn_bands.append(
                DrawnBand(round(left, 1), round(right - left, 1), band.label, band.tone)
            )
    drawn_rules = []
    verticals = 0
    for rule in rules:
        if rule.vertical:
            # Labels of vertical rules sit at the top, in rows of their own, so that a knee and
            # the step that broke next to it never print over each other.
            x = round(sx(rule.at), 1)
            anchor = "end" if x > LEFT + plot_w * 0.7 else "start"
            label_x = x - 4 if anchor == "end" else x + 4
            label_y: float = TOP + 12 + 13 * (verticals % 3)
            verticals += 1
            drawn_rules.append(
                DrawnRule(x, TOP, x, TOP + plot_h, rule.label, label_x, label_y, anchor, rule.color)
            )
        else:
            # Horizontal rules are labelled in the middle, clear of the vertical ones' labels.
            y = round(sy(rule.at), 1)
            label_y = y - 4.0 if y > TOP + 14 else y + 12.0
            drawn_rules.append(
                DrawnRule(
                    LEFT,
                    y,
                    LEFT + plot_w,
                    y,
                    rule.label,
                    LEFT + plot_w / 2,
                    label_y,
                    "middle",
                    rule.color,
                )
            )
    return LineChart(
        title=title,
        x_label=x_label,
        y_label=f"{y_label}, log scale" if log_y else y_label,
        series=drawn,
        x_ticks=[Tick(round(sx(x), 1), label) for x, label in zip(x_values, x_labels, strict=True)],
        y_ticks=[Tick(round(sy(y), 1), tick_label(y)) for y in y_values],
        bands=drawn_bands,
        rules=drawn_rules,
        log_y=log_y,
        note=note,
        hover={"left": LEFT, "right": LEFT + plot_w, "series": hover},
    )


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points)
