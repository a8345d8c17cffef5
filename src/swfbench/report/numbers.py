"""One number format for every page: three significant figures, a unit always.

Measured figures (latencies, rates, shares) read with three significant figures, and whole
numbers, and any of 100 or more, in full with thousands separators (27.0 ms, 0.336 ms, 6 s,
1,393 ms, 4,752/s);
counts are exact (105 of 298); a share is a percentage (18.0%). A figure that does not exist (a
percentile of no sample) is "—", never 0, which would read as "instant".
"""

from __future__ import annotations

import math

EMPTY = "—"


def number(value: float) -> str:
    """Three significant figures; whole numbers, and any of 100 or more, in full."""
    if not math.isfinite(value):
        return EMPTY
    if abs(value) >= 99.95 or float(value).is_integer():
        return f"{round(value):,}"
    rounded = float(f"{value:.3g}")
    decimals = max(0, 2 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def with_unit(text: str, unit: str) -> str:
    """ "%" and per-second units attach to the number (18.0%, 4,752/s); words take a space."""
    if not unit:
        return text
    if unit.startswith(("%", "/")):
        return f"{text}{unit}"
    return f"{text} {unit}"


def figure(value: float | None, unit: str = "") -> str:
    """A measured figure with its unit, or "—" when there is none."""
    if value is None:
        return EMPTY
    return with_unit(number(float(value)), unit)


def percent(fraction: float | None) -> str:
    """A share (0.18041) as a percentage (18.0%)."""
    return figure(None if fraction is None else fraction * 100.0, "%")


def count(value: float | None) -> str:
    """An exact count with thousands separators."""
    if value is None:
        return EMPTY
    return f"{round(value):,}"


def ms(value: float | None, samples: int | None = None) -> str:
    """A duration in milliseconds; "—" when it summarises no sample at all."""
    if samples == 0:
        return EMPTY
    return figure(value, "ms")


def metric_unit(path: str) -> str:
    """The unit of a metric by its dotted path in a results file's `metrics` tree:
    `..._ms` are milliseconds, ratios and fractions are shares (shown in percent), `..._per_s`
    are rates, everything else counts."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf.endswith("_ms"):
        return "ms"
    if leaf in ("ratio", "throttling_rate_error") or leaf.endswith(("_ratio", "_fraction")):
        return "%"
    if leaf.endswith("_per_s"):
        return "/s"
    return ""


def metric_value(path: str, value: float | None) -> str:
    """A metric's value in the metric's own unit (0.180412 of errors.total.ratio is 18.0%)."""
    if value is None:
        return EMPTY
    unit = metric_unit(path)
    if unit == "%":
        return percent(value)
    if unit:
        return figure(value, unit)
    return count(value) if float(value).is_integer() else number(value)
