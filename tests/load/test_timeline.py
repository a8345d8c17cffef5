"""The per-second timeline: partial worker reports that never count twice, and long runs kept to
a bounded number of points without losing a heartbeat."""

from __future__ import annotations

import pytest

from swfbench.load import metrics as metrics_module
from swfbench.load import timeline as timeline_module
from swfbench.load.metrics import FleetMetrics
from swfbench.load.timeline import MAX_POINTS, Slot, Timeline

OP = "RecordActivityTaskHeartbeat"


class FakeWallClock:
    """Stands in for time.time() so a test can place records in chosen seconds."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> FakeWallClock:
    clock = FakeWallClock()
    monkeypatch.setattr(timeline_module, "time", clock)
    monkeypatch.setattr(metrics_module, "time", clock)
    return clock


def _beat(metrics: FleetMetrics, latency_s: float, code: str | None = None) -> None:
    metrics.record_call(OP, code)
    if code is None:
        metrics.record("heartbeat_latency", latency_s)


def test_partial_reports_rebuild_the_workers_timeline_once(wall: FakeWallClock) -> None:
    """A worker ships only the seconds it touched since its last report; the master keeps the
    older seconds from the previous snapshot, and a repeated report changes nothing."""
    worker = FleetMetrics()
    master: FleetMetrics | None = None

    def report() -> None:
        nonlocal master
        snapshot = FleetMetrics.from_wire(worker.report_wire())
        if master is not None:
            snapshot.timeline.keep_older(master.timeline)
        master = snapshot

    for second in range(5):
        wall.now = 1_000_000.0 + second
        for _ in range(second + 1):
            _beat(worker, 0.010)
        _beat(worker, 0.0, "ThrottlingException")
        report()
        report()  # the same seconds again: replaced, not added
    assert master is not None
    points = master.timeline.points(1_000_000.0, 1_000_005.0, OP)["points"]
    assert [p["heartbeats_per_s"] for p in points] == [1, 2, 3, 4, 5]
    assert all(p["errors"] == {"ThrottlingException": 1} for p in points)
    assert all(9.8 <= p["latency_ms"]["p50"] <= 10.2 for p in points)


def test_two_workers_add_up_second_by_second(wall: FakeWallClock) -> None:
    workers = [FleetMetrics(), FleetMetrics()]
    for second in range(3):
        wall.now = 2_000_000.0 + second
        for index, worker in enumerate(workers):
            for _ in range(index + 1):
                _beat(worker, 0.005 * (index + 1))
    total = FleetMetrics()
    for worker in workers:
        total.merge(FleetMetrics.from_wire(worker.to_wire()))
    points = total.timeline.points(2_000_000.0, 2_000_003.0, OP)["points"]
    assert [p["heartbeats_per_s"] for p in points] == [3, 3, 3]
    assert all(p["latency_ms"]["max"] == 10.0 for p in points)


def test_an_hour_is_kept_to_a_bounded_number_of_points_without_losing_heartbeats() -> None:
    timeline = Timeline()
    start = 3_000_000
    for second in range(3600):
        slot = Slot()
        slot.calls[(OP, "OK")] = 100 + second % 7
        slot.latency.record_seconds(0.001 * (1 + second % 50))
        timeline.slots[start + second] = slot
    section = timeline.points(float(start), float(start + 3600), OP)
    points = section["points"]
    assert len(points) <= MAX_POINTS
    width = section["width_s"]
    assert width == 10
    assert round(sum(p["heartbeats_per_s"] * width for p in points)) == sum(
        100 + s % 7 for s in range(3600)
    )
    assert points[0]["t_s"] == 0 and points[-1]["t_s"] == 3590


def test_first_and_last_partial_seconds_are_rated_over_their_covered_part(
    wall: FakeWallClock,
) -> None:
    metrics = FleetMetrics()
    for second, beats in ((0, 5), (1, 10), (2, 5)):
        wall.now = 4_000_000.0 + second + (0.5 if second == 0 else 0.0)
        for _ in range(beats):
            _beat(metrics, 0.001)
    metrics.flush()
    # The run covers the second half of its first second and the first half of its last.
    points = metrics.timeline.points(4_000_000.5, 4_000_002.5, OP)["points"]
    assert [p["heartbeats_per_s"] for p in points] == [10, 10, 10]


def test_due_sent_and_in_flight_second_by_second(wall: FakeWallClock) -> None:
    """Second 0: 4 due, 4 sent, 2 answered; second 1: 4 more due, none sent, 1 answered.
    One call is still in flight at the end: sent, never answered."""
    metrics = FleetMetrics()
    for _ in range(4):
        metrics.beat_sent(0.0)
    _beat(metrics, 0.01)
    _beat(metrics, 0.01, "ReadTimeout")
    wall.now += 1
    metrics.record_due(4)
    _beat(metrics, 0.01)
    metrics.flush()
    points = metrics.timeline.points(1_000_000.0, 1_000_002.0, OP)["points"]
    assert [p["due_per_s"] for p in points] == [4, 4]
    assert [p["sent_per_s"] for p in points] == [4, 0]
    assert [p["in_flight"] for p in points] == [2, 1]
    summary = metrics.to_dict()["heartbeat"]
    assert (summary["due"], summary["sent"]) == (8, 4)
