"""A run's metrics second by second: calls by operation and outcome, heartbeat latency and pacing
lag, for the report's charts over time (heartbeats per second, percentiles, errors by code).

Slots are whole seconds of wall-clock time, so every Locust process of a run (on one machine or
several with synchronised clocks) cuts time at the same instants and the master merges slot by
slot. A slot's histograms are coarse (under 2 % relative error): enough to draw a percentile
line, small enough to ship. A worker process ships only the slots that changed since its last
report; each shipped slot replaces the master's copy, so a repeated report never counts twice.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from swfbench.load.histogram import Histogram

SLOT_S = 1
COARSE = 5
"""Fold 32 fine buckets into one: 32 buckets per power of two, relative error 1/64."""
MAX_POINTS = 600
"""A long run's slots are merged into wider ones so that the results keep at most this many."""
POINT_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


class Slot:
    """One second of one process (or of the whole fleet, once merged)."""

    __slots__ = ("calls", "counts", "lag", "latency")

    def __init__(self) -> None:
        self.latency = Histogram(COARSE)
        self.lag = Histogram(COARSE)
        self.calls: Counter[tuple[str, str]] = Counter()
        self.counts: Counter[str] = Counter()
        """Heartbeats made due (`due`) and sent (`sent`) in this second."""

    def merge(self, other: Slot) -> None:
        self.latency.merge(other.latency)
        self.lag.merge(other.lag)
        self.calls.update(other.calls)
        self.counts.update(other.counts)

    def to_wire(self) -> list[Any]:
        calls = [[op, code, n] for (op, code), n in self.calls.items()]
        return [self.latency.to_wire(), self.lag.to_wire(), calls, dict(self.counts)]

    @classmethod
    def from_wire(cls, data: list[Any]) -> Slot:
        slot = cls()
        slot.latency = Histogram.from_wire(data[0])
        slot.lag = Histogram.from_wire(data[1])
        slot.calls.update({(str(op), str(code)): int(n) for op, code, n in data[2]})
        if len(data) > 3:
            slot.counts.update({str(k): int(v) for k, v in data[3].items()})
        return slot


class Timeline:
    """Slots by second since the epoch; `dirty` holds those changed since the last `take_dirty`."""

    def __init__(self) -> None:
        self.slots: dict[int, Slot] = {}
        self.dirty: set[int] = set()

    def _slot(self) -> Slot:
        return self.slot_at(int(time.time()))

    def slot_at(self, second: int) -> Slot:
        """The slot of that wall-clock second (since the epoch), marked as changed."""
        index = second // SLOT_S
        slot = self.slots.get(index)
        if slot is None:
            slot = self.slots[index] = Slot()
        self.dirty.add(index)
        return slot

    def record_workers(self, workers: int) -> None:
        """How many simulated workers this process runs now (merged: the fleet's)."""
        self._slot().counts["workers"] = workers

    def record_call(self, operation: str, code: str) -> None:
        self._slot().calls[(operation, code)] += 1

    def record_count(self, name: str, n: int = 1) -> None:
        self._slot().counts[name] += n

    def record_latency(self, seconds: float) -> None:
        self._slot().latency.record_seconds(seconds)

    def record_lag(self, seconds: float) -> None:
        self._slot().lag.record_seconds(seconds)

    def take_dirty(self) -> list[int]:
        dirty, self.dirty = sorted(self.dirty), set()
        return dirty

    def merge(self, other: Timeline) -> None:
        for index, slot in other.slots.items():
            mine = self.slots.get(index)
            if mine is None:
                mine = self.slots[index] = Slot()
            mine.merge(slot)

    def keep_older(self, previous: Timeline) -> None:
        """Fill in the slots this (partial) snapshot does not carry from the previous one."""
        for index, slot in previous.slots.items():
            self.slots.setdefault(index, slot)

    def to_wire(self, indices: Iterable[int] | None = None) -> list[Any]:
        chosen = self.slots if indices is None else indices
        return [[index, self.slots[index].to_wire()] for index in chosen if index in self.slots]

    @classmethod
    def from_wire(cls, data: list[Any]) -> Timeline:
        timeline = cls()
        for index, slot in data:
            timeline.slots[int(index)] = Slot.from_wire(slot)
        return timeline

    def points(
        self, started_wall: float, ended_wall: float, heartbeat_operation: str
    ) -> dict[str, Any]:
        """The timeline section of the results: at most MAX_POINTS points, time from the start.

        Each point covers `width_s` seconds (merged slots): heartbeats answered OK, made due by
        the schedule and sent, per second (over the part of the point inside the run, so a
        run's first and last partial seconds do not show as dips), heartbeats in flight at the
        point's end (sent, not yet answered), simulated workers running (on average),
        heartbeat latency p50/p90/p99/max and pacing lag p99 in ms, and failed calls of every
        operation by error code (a count over the point's width).
        """
        if not self.slots:
            return {"width_s": SLOT_S, "points": []}
        first, last = min(self.slots), max(self.slots)
        span = (last - first + 1) * SLOT_S
        width = next((w for w in POINT_WIDTHS_S if span / w <= MAX_POINTS), POINT_WIDTHS_S[-1])
        groups: dict[int, Slot] = {}
        gauged: Counter[int] = Counter()
        for index in sorted(self.slots):
            group = groups.setdefault(index * SLOT_S // width, Slot())
            group.merge(self.slots[index])
            gauged[index * SLOT_S // width] += "workers" in self.slots[index].counts
        start_group = math.floor(started_wall) // width
        points = []
        in_flight = 0
        for group_index in range(min(groups), max(groups) + 1):
            slot = groups.get(group_index) or Slot()
            ok = slot.calls.get((heartbeat_operation, "OK"), 0)
            answered = sum(n for (op, _), n in slot.calls.items() if op == heartbeat_operation)
            in_flight = max(0, in_flight + slot.counts["sent"] - answered)
            begin = max(group_index * width, started_wall)
            covered = min((group_index + 1) * width, ended_wall) - begin
            seconds = width if covered < 0.2 * width else covered
            errors: Counter[str] = Counter()
            for (_, code), n in slot.calls.items():
                if code != "OK":
                    errors[code] += n
            latency = slot.latency
            points.append(
                {
                    "t_s": (group_index - start_group) * width,
                    "heartbeats_per_s": round(ok / seconds, 3),
                    "due_per_s": round(slot.counts["due"] / seconds, 3),
                    "sent_per_s": round(slot.counts["sent"] / seconds, 3),
                    "in_flight": in_flight,
                    # Simulated workers running, averaged over the point's seconds.
                    "workers": round(slot.counts["workers"] / max(1, gauged[group_index])),
                    "latency_ms": {
                        "p50": round(latency.quantile_us(50) / 1000, 3),
                        "p90": round(latency.quantile_us(90) / 1000, 3),
                        "p99": round(latency.quantile_us(99) / 1000, 3),
                        "max": round(latency.max / 1000, 3),
                    },
                    "lag_p99_ms": round(slot.lag.quantile_us(99) / 1000, 3),
                    "errors": dict(errors),
                }
            )
        return {"width_s": width, "points": points}
