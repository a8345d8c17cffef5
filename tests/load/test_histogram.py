"""The log-linear histogram: bounded relative error, exact extremes, merges that add up."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from swfbench.load.histogram import RELATIVE_ERROR, Histogram, fine_keys
from swfbench.load.metrics import FleetMetrics


def _exact(values: list[int], percent: float) -> int:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def test_quantiles_stay_within_the_stated_relative_error() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(8, 2.5)) + 1 for _ in range(50_000)]
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    for percent in (50, 90, 99, 99.9):
        exact = _exact(values, percent)
        assert abs(histogram.quantile_us(percent) - exact) <= exact * RELATIVE_ERROR + 0.5
    assert histogram.max == max(values)
    assert histogram.min == min(values)
    assert RELATIVE_ERROR < 0.001


def test_coarse_histograms_keep_their_own_error_bound_and_refuse_to_mix() -> None:
    """The timeline's per-second histograms fold 2**5 buckets into one: relative error 1/64
    above 1 ms, 32 µs below it."""
    rng = random.Random(11)
    values = [int(rng.lognormvariate(8, 2.5)) + 1 for _ in range(50_000)]
    coarse = Histogram(coarse=5)
    for value in values:
        coarse.record(value)
    for percent in (50, 90, 99, 99.9):
        exact = _exact(values, percent)
        assert abs(coarse.quantile_us(percent) - exact) <= max(exact / 64, 16) + 0.5
    restored = Histogram.from_wire(coarse.to_wire())
    assert restored.quantile_us(99) == coarse.quantile_us(99)
    with pytest.raises(ValueError, match="resolutions"):
        Histogram().merge(coarse)


def test_small_values_are_exact_and_negative_values_are_kept() -> None:
    histogram = Histogram()
    for value in (-2_000_000, 0, 3, 999):
        histogram.record(value)
    assert abs(histogram.quantile_us(25) + 2_000_000) <= 2_000_000 * RELATIVE_ERROR
    assert histogram.quantile_us(75) == 3
    assert histogram.quantile_us(100) == 999
    assert histogram.min == -2_000_000


def test_merge_equals_recording_everything_in_one() -> None:
    rng = random.Random(3)
    parts = [Histogram() for _ in range(3)]
    whole = Histogram()
    for _ in range(9_000):
        value = rng.randint(0, 5_000_000)
        rng.choice(parts).record(value)
        whole.record(value)
    merged = Histogram()
    for part in parts:
        merged.merge(Histogram.from_wire(part.to_wire()))
    assert merged.counts == whole.counts
    assert merged.summary_ms() == whole.summary_ms()


@pytest.mark.parametrize("coarse", [0, 5])
def test_recording_counted_values_equals_recording_each(coarse: int) -> None:
    # A second of heartbeats is folded in as value -> count: the same buckets, count, sum and
    # extremes as one record per value, at any resolution, with or without shared keys.
    rng = random.Random(5)
    values = [int(rng.lognormvariate(7.5, 1.5)) for _ in range(20_000)]
    one_by_one, counted, shared = Histogram(coarse), Histogram(coarse), Histogram(coarse)
    for value in values:
        one_by_one.record(value)
    counted.record_counts(Counter(values))
    shared.record_counts(Counter(values), fine_keys(Counter(values)))
    for histogram in (counted, shared):
        assert histogram.counts == one_by_one.counts
        wire, expected = histogram.to_wire(), one_by_one.to_wire()
        for name in ("count", "sum", "min", "max"):
            assert wire[name] == expected[name], name
        assert (histogram.min, histogram.max) == (min(values), max(values))


def test_fleet_metrics_travel_and_merge() -> None:
    a, b = FleetMetrics(), FleetMetrics()
    a.count("tasks_started", 2)
    b.count("tasks_started", 3)
    a.record("heartbeat_latency", 0.004)
    b.record("heartbeat_latency", 0.006)
    b.record_call("RecordActivityTaskHeartbeat", "ThrottlingException")
    total = FleetMetrics()
    for part in (a, b):
        total.merge(FleetMetrics.from_wire(part.to_wire()))
    data = total.to_dict()
    assert data["tasks"]["started"] == 5
    assert data["heartbeat"]["latency_ms"]["count"] == 2
    assert data["calls"]["RecordActivityTaskHeartbeat"]["errors"] == {"ThrottlingException": 1}
