"""A log-linear histogram of durations in the spirit of HdrHistogram, mergeable across processes.

Values are whole microseconds. Below 2**SUB_BITS µs every value has its own bucket (exact);
above, each power of two is cut into 2**SUB_BITS equal buckets, so a bucket is never wider than
2**-SUB_BITS of the values it holds. Quantiles report the bucket's midpoint: the relative error
of any quantile is at most 2**-(SUB_BITS+1) (0.05 % with SUB_BITS = 10), like an HdrHistogram
with three significant digits. Min, max and mean are exact. Negative values (a timeout that fired
before its deadline) are kept in mirrored buckets.

Counts live in a sparse dict, so an idle histogram costs nothing and two histograms merge by
adding counts; `to_wire`/`from_wire` give msgpack-friendly lists for Locust's worker reports.

A coarse histogram (`coarse=c`) folds 2**c neighbouring buckets into one: the per-second slices
of a run's timeline use it to stay small (relative error 2**-(SUB_BITS+1-c)).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

SUB_BITS = 10
SUB_COUNT = 1 << SUB_BITS
RELATIVE_ERROR = 1.0 / (2 * SUB_COUNT)
"""Bound on the relative error of any reported quantile."""
QUANTILES = (50.0, 90.0, 99.0, 99.9)
SPECTRUM = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0)
"""Percentiles of a distribution chart: the tail drawn as finely as the middle."""


def _key(magnitude: int) -> int:
    """Bucket of a non-negative value: exact below SUB_COUNT, log-linear above."""
    if magnitude < SUB_COUNT:
        return magnitude
    # Keep the top SUB_BITS + 1 bits: a mantissa in [SUB_COUNT, 2 * SUB_COUNT).
    shift = magnitude.bit_length() - SUB_BITS - 1
    return (shift << SUB_BITS) + (magnitude >> shift)


def fine_keys(counts: Mapping[int, int]) -> Counter[int]:
    """Full-resolution buckets of non-negative values given as value → count (see
    `Histogram.record_counts`)."""
    keys: Counter[int] = Counter()
    for value, n in counts.items():
        keys[_key(value)] += n
    return keys


def _bounds(key: int) -> tuple[int, int]:
    """Lowest and highest value (inclusive) of a non-negative bucket."""
    if key < SUB_COUNT:
        return key, key
    shift = (key >> SUB_BITS) - 1
    low = (key - (shift << SUB_BITS)) << shift
    return low, low + (1 << shift) - 1


def _midpoint(key: int, coarse: int = 0) -> float:
    if key < 0:
        return -_midpoint(-key - 1, coarse)
    low, high = _bounds(key << coarse)[0], _bounds(((key + 1) << coarse) - 1)[1]
    return (low + high) / 2.0


class Histogram:
    """Counts of microsecond values; see the module docstring for the error bound."""

    __slots__ = ("_sum", "coarse", "count", "counts", "max", "min")

    def __init__(self, coarse: int = 0) -> None:
        self.coarse = coarse
        self.counts: dict[int, int] = {}
        self.count = 0
        self._sum = 0
        self.min = 0
        self.max = 0

    def record(self, value_us: int) -> None:
        value_us = int(value_us)
        key = (
            _key(value_us) >> self.coarse
            if value_us >= 0
            else -(_key(-value_us) >> self.coarse) - 1
        )
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.count == 0:
            self.min = self.max = value_us
        else:
            self.min = min(self.min, value_us)
            self.max = max(self.max, value_us)
        self.count += 1
        self._sum += value_us

    def record_seconds(self, seconds: float) -> None:
        self.record(round(seconds * 1_000_000))

    def record_counts(self, values: Mapping[int, int], keys: Counter[int] | None = None) -> None:
        """Record non-negative whole microseconds at once, given as value → count (a second of
        heartbeats has a few thousand distinct values among tens of thousands); `keys` may give
        their full-resolution buckets (`fine_keys(values)`), computed once for histograms of any
        resolution."""
        if not values:
            return
        keys = fine_keys(values) if keys is None else keys
        counts, coarse = self.counts, self.coarse
        for key, n in keys.items():
            key >>= coarse
            counts[key] = counts.get(key, 0) + n
        low, high = min(values), max(values)
        if self.count == 0:
            self.min, self.max = low, high
        else:
            self.min = min(self.min, low)
            self.max = max(self.max, high)
        self.count += sum(values.values())
        self._sum += sum(value * n for value, n in values.items())

    def merge(self, other: Histogram) -> None:
        if other.coarse != self.coarse:
            raise ValueError("cannot merge histograms of different resolutions")
        if other.count == 0:
            return
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        if self.count == 0:
            self.min, self.max = other.min, other.max
        else:
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.count += other.count
        self._sum += other._sum

    @property
    def mean_us(self) -> float:
        return self._sum / self.count if self.count else 0.0

    def quantile_us(self, percent: float) -> float:
        """The value below which `percent` of the recorded values fall (0 when empty)."""
        if self.count == 0:
            return 0.0
        if percent >= 100.0:
            return float(self.max)
        rank = max(1, -(-self.count * percent // 100))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                midpoint = _midpoint(key, self.coarse)
                return min(max(midpoint, float(self.min)), float(self.max))
        return float(self.max)

    def summary_ms(self) -> dict[str, float | int]:
        """Count, p50/p90/p99/p99.9, max, min and mean, in milliseconds."""
        out: dict[str, float | int] = {"count": self.count}
        for q in QUANTILES:
            out[f"p{q:g}"] = round(self.quantile_us(q) / 1000.0, 3)
        out["max"] = round(self.max / 1000.0, 3)
        out["min"] = round(self.min / 1000.0, 3)
        out["mean"] = round(self.mean_us / 1000.0, 3)
        return out

    def spectrum_ms(self) -> list[list[float]]:
        """[percentile, value in ms] at each of SPECTRUM: the latency distribution's shape."""
        if self.count == 0:
            return []
        values = [self.min if q == 0 else self.quantile_us(q) for q in SPECTRUM]
        return [[q, round(v / 1000.0, 3)] for q, v in zip(SPECTRUM, values, strict=True)]

    def to_wire(self) -> dict[str, Any]:
        return {
            "coarse": self.coarse,
            # Pairs as tuples (msgpack writes them as arrays): a worker ships its whole
            # histograms every report, and building a list per bucket cost 5 % of its CPU.
            "counts": list(self.counts.items()),
            "count": self.count,
            "sum": self._sum,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Histogram:
        histogram = cls(int(data.get("coarse", 0)))
        histogram.counts = {int(key): int(count) for key, count in data["counts"]}
        histogram.count = int(data["count"])
        histogram._sum = int(data["sum"])
        histogram.min = int(data["min"])
        histogram.max = int(data["max"])
        return histogram
