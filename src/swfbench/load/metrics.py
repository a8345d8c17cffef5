"""Heartbeat-specific metrics for one Locust process, and their merge across worker processes.

Each process keeps one `FleetMetrics`; a Locust worker ships a full snapshot with every report to
the master (`report_to_master`), and the master keeps the latest snapshot per worker, so a lost
or repeated report can never count twice. Merging adds histogram counts and counters.

Heartbeats are the hot path: what each one adds (due, sent, answered, pacing lag, latency) goes
into a tally of the current second, a few list appends and integer additions, and is folded into
the histograms, counters and timeline once that second is over or anyone reads the metrics
(`flush`). Bucketing a second's values at once costs a fraction of bucketing each as it comes.
A heartbeat answered OK is recorded once, by the worker that sent it (`beat_ok`): its latency is
also its call's duration, so the call tables and Locust's statistics are folded from the same
tally; every other call, a failed heartbeat's included, comes through the observer
(`record_call`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from swfbench.load.histogram import RELATIVE_ERROR, Histogram, fine_keys
from swfbench.load.timeline import Timeline

HISTOGRAMS = ("heartbeat_latency", "pacing_lag", "cancel_propagation", "timeout_delay")
ENDS = (
    "completed",
    "failed",
    "canceled",
    "timed_out",
    "missed_timeout_closed",
    "vanished",
    "interrupted",
    "worker_error",
)
"""How a started task ended: each started task ends in exactly one of these."""
WORKER_OPERATION = "SimulatedWorker"
"""What an exception inside a simulated worker is recorded under, as if it were a call..."""
WORKER_ERROR = "WorkerError"
"""...failed with this code; `worker_errors` keeps the exception types."""
HEARTBEAT_OPERATION = "RecordActivityTaskHeartbeat"


OkCalls = Callable[[int, Counter[int], int], None]
"""Told of the OK heartbeat calls of a second at once: the second (since the epoch), the calls
by duration in µs, and their response bytes (see `fleet.locust_batches`)."""


class _Tally:
    """Heartbeats of one wall-clock second, not yet folded into the metrics."""

    __slots__ = (
        "due",
        "failed",
        "lag_us",
        "latency_us",
        "response_bytes",
        "second",
        "sent",
    )

    def __init__(self, second: int) -> None:
        self.second = second
        self.due = self.sent = self.failed = self.response_bytes = 0
        self.lag_us: list[int] = []
        self.latency_us: list[int] = []
        """Durations of the heartbeats answered OK (one each: their count), each one's latency
        and its call's."""


class FleetMetrics:
    """Histograms (µs), counters, and SWF calls by operation and outcome code."""

    def __init__(self) -> None:
        self.histograms = {name: Histogram() for name in HISTOGRAMS}
        self.counters: Counter[str] = Counter()
        self.calls: Counter[tuple[str, str]] = Counter()
        """(operation, "OK" or the AWS error code) → calls."""
        self.call_latency: dict[str, Histogram] = {}
        """Latency of every SWF call by operation, answered OK or not (the report's table)."""
        self.timeline = Timeline()
        self.first_error_wall: dict[str, float] = {}
        """When each error code was first answered (wall clock): e.g. the onset of throttling."""
        self.worker_errors: dict[str, list[Any]] = {}
        """Exceptions raised inside simulated workers: type name → [count, first message]."""
        self._tally = _Tally(0)
        self.on_ok_calls: OkCalls | None = None
        """Also told of each second's OK heartbeat calls when they are folded in (Locust's
        statistics take them in one batch)."""

    # The hot path: one heartbeat's figures, tallied per second -----------------------------

    def _now(self) -> _Tally:
        second = int(time.time())
        tally = self._tally
        if tally.second != second:
            self.flush()
            tally = self._tally = _Tally(second)
        return tally

    def beat_sent(self, lag_s: float) -> None:
        """A heartbeat's due time came and a sender sends it now, `lag_s` late: it counts as
        due and sent (answered, OK or failed, or still in flight at the stop)."""
        tally = self._now()
        tally.due += 1
        tally.sent += 1
        tally.lag_us.append(int(lag_s * 1_000_000))

    def beat_ok(self, latency_s: float, response_bytes: int) -> None:
        """The heartbeat came back OK after `latency_s` with `response_bytes` of answer: the
        beat and its RecordActivityTaskHeartbeat call at once."""
        tally = self._now()
        tally.latency_us.append(int(latency_s * 1_000_000))
        tally.response_bytes += response_bytes

    def beat_failed(self) -> None:
        """The heartbeat got no OK answer (its call is recorded by the observer)."""
        self._now().failed += 1

    def flush_past(self) -> None:
        """Fold in a tally whose second is over, if any (called a few times a second, so that
        figures of a second that saw its last heartbeat do not wait for the next)."""
        if self._tally.second != int(time.time()):
            self.flush()

    def flush(self) -> None:
        """Fold the tallied heartbeats into the histograms, counters and timeline."""
        tally = self._tally
        ok = len(tally.latency_us)
        if not (tally.due or tally.sent or ok or tally.failed):
            return
        self._tally = _Tally(tally.second)
        counters = self.counters
        counters["heartbeats_due"] += tally.due
        counters["heartbeats_sent"] += tally.sent
        counters["heartbeats_ok"] += ok
        counters["heartbeats_failed"] += tally.failed
        slot = self.timeline.slot_at(tally.second)
        slot.counts["due"] += tally.due
        slot.counts["sent"] += tally.sent
        if tally.lag_us:
            lags = Counter(tally.lag_us)
            keys = fine_keys(lags)
            self.histograms["pacing_lag"].record_counts(lags, keys)
            slot.lag.record_counts(lags, keys)
        if tally.latency_us:
            latency = Counter(tally.latency_us)
            keys = fine_keys(latency)
            self.histograms["heartbeat_latency"].record_counts(latency, keys)
            slot.latency.record_counts(latency, keys)
            histogram = self.call_latency.get(HEARTBEAT_OPERATION)
            if histogram is None:
                histogram = self.call_latency[HEARTBEAT_OPERATION] = Histogram()
            histogram.record_counts(latency, keys)
            key = (HEARTBEAT_OPERATION, "OK")
            self.calls[key] += ok
            slot.calls[key] += ok
            if self.on_ok_calls is not None:
                self.on_ok_calls(tally.second, latency, tally.response_bytes)

    # Everything else --------------------------------------------------------------------------

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def record(self, histogram: str, seconds: float) -> None:
        self.histograms[histogram].record_seconds(seconds)
        if histogram == "heartbeat_latency":
            self.timeline.record_latency(seconds)
        elif histogram == "pacing_lag":
            self.timeline.record_lag(seconds)

    def record_due(self, n: int = 1) -> None:
        """Heartbeats the schedule made due and no sender took: never reached before it ended."""
        self._now().due += n

    def record_worker_error(self, exc: BaseException) -> None:
        name = type(exc).__name__
        entry = self.worker_errors.setdefault(name, [0, " ".join(str(exc).split())[:200]])
        entry[0] += 1

    def record_call(
        self, operation: str, error_code: str | None, seconds: float | None = None
    ) -> None:
        code = error_code or "OK"
        self.calls[(operation, code)] += 1
        if seconds is not None:
            histogram = self.call_latency.get(operation)
            if histogram is None:
                histogram = self.call_latency[operation] = Histogram()
            histogram.record_seconds(seconds)
        self.timeline.record_call(operation, code)
        if error_code is not None and error_code not in self.first_error_wall:
            self.first_error_wall[error_code] = time.time()

    def merge(self, other: FleetMetrics) -> None:
        self.merge_totals(other)
        self.timeline.merge(other.timeline)

    def merge_totals(self, other: FleetMetrics) -> None:
        other.flush()
        for name, histogram in other.histograms.items():
            self.histograms[name].merge(histogram)
        self.counters.update(other.counters)
        self.calls.update(other.calls)
        for operation, histogram in other.call_latency.items():
            self.call_latency.setdefault(operation, Histogram()).merge(histogram)
        for code, wall in other.first_error_wall.items():
            self.first_error_wall[code] = min(wall, self.first_error_wall.get(code, wall))
        for name, (count, message) in other.worker_errors.items():
            self.worker_errors.setdefault(name, [0, message])[0] += count

    def clear(self) -> None:
        """Forget everything recorded so far (a benchmark measures from a point on)."""
        self.flush()
        listener = self.on_ok_calls
        self.__init__()  # type: ignore[misc]
        self.on_ok_calls = listener

    def report_wire(self) -> dict[str, Any]:
        """What a Locust worker ships to its master: everything but the timeline's seconds that
        did not change since the last report (closed seconds never change)."""
        self.flush()
        return self.to_wire(self.timeline.take_dirty())

    def to_wire(self, timeline_slots: list[int] | None = None) -> dict[str, Any]:
        """Everything, or with `timeline_slots` only those seconds of the timeline."""
        self.flush()
        return {
            "histograms": {name: h.to_wire() for name, h in self.histograms.items()},
            "counters": dict(self.counters),
            "calls": [[op, code, n] for (op, code), n in self.calls.items()],
            "call_latency": {op: h.to_wire() for op, h in self.call_latency.items()},
            "timeline": self.timeline.to_wire(timeline_slots),
            "first_error_wall": self.first_error_wall,
            "worker_errors": self.worker_errors,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> FleetMetrics:
        metrics = cls()
        for name, wire in data["histograms"].items():
            metrics.histograms[name] = Histogram.from_wire(wire)
        metrics.counters.update({str(k): int(v) for k, v in data["counters"].items()})
        metrics.calls.update({(str(op), str(code)): int(n) for op, code, n in data["calls"]})
        metrics.call_latency = {
            str(op): Histogram.from_wire(wire) for op, wire in data.get("call_latency", {}).items()
        }
        metrics.timeline = Timeline.from_wire(data.get("timeline", []))
        metrics.first_error_wall = {str(k): float(v) for k, v in data["first_error_wall"].items()}
        metrics.worker_errors = {
            str(k): [int(v[0]), str(v[1])] for k, v in data.get("worker_errors", {}).items()
        }
        return metrics

    @property
    def tasks_started(self) -> int:
        self.flush()
        return self.counters["tasks_started"]

    def errors_by_code(self) -> Counter[str]:
        errors: Counter[str] = Counter()
        for (_, code), n in self.calls.items():
            if code != "OK":
                errors[code] += n
        return errors

    def to_dict(self) -> dict[str, Any]:
        """The metrics section of the results JSON."""
        self.flush()
        c = self.counters
        ends = {name: c[name] for name in ENDS}
        calls: dict[str, dict[str, Any]] = {}
        for (operation, code), n in sorted(self.calls.items()):
            entry = calls.setdefault(operation, {"ok": 0, "errors": {}})
            if code == "OK":
                entry["ok"] += n
            else:
                entry["errors"][code] = n
        for operation, histogram in self.call_latency.items():
            if operation in calls:
                calls[operation]["latency_ms"] = histogram.summary_ms()
                calls[operation]["latency_spectrum_ms"] = histogram.spectrum_ms()
        due, ok = c["heartbeats_due"], c["heartbeats_ok"]
        return {
            "histogram_relative_error": RELATIVE_ERROR,
            "heartbeat": {
                "due": due,
                "sent": c["heartbeats_sent"],
                "ok": ok,
                "failed": c["heartbeats_failed"],
                # Sent and neither answered nor failed: still waiting when the run stopped.
                "in_flight": max(
                    0, c["heartbeats_sent"] - c["heartbeats_ok"] - c["heartbeats_failed"]
                ),
                "delivered_ratio": round(ok / due, 4) if due else None,
                "latency_ms": self.histograms["heartbeat_latency"].summary_ms(),
                "latency_spectrum_ms": self.histograms["heartbeat_latency"].spectrum_ms(),
                "pacing_lag_ms": self.histograms["pacing_lag"].summary_ms(),
                "pacing_lag_spectrum_ms": self.histograms["pacing_lag"].spectrum_ms(),
            },
            "cancel": {
                "requested": c["cancel_requested"],
                "decision_failed": c["cancel_decision_failed"],
                "propagated": c["cancel_propagated"],
                "lost": c["cancel_lost"],
                "not_propagated": c["cancel_lost"] + c["cancel_decision_failed"],
                # Requested while the run stopped: the decision call never ended.
                "interrupted": c["cancel_interrupted"],
                "obeyed": c["cancel_obeyed"],
                "ignored": c["cancel_ignored"],
                "propagation_ms": self.histograms["cancel_propagation"].summary_ms(),
                "propagation_spectrum_ms": self.histograms["cancel_propagation"].spectrum_ms(),
            },
            "timeouts": {
                "silent_tasks": c["silent"],
                "timed_out": c["timed_out_silent"],
                "missed": c["missed_timeouts"],
                "early": c["early_timeouts"],
                "false": c["false_timeouts"],
                "late_worker": c["late_worker_timeouts"],
                "delay_ms": self.histograms["timeout_delay"].summary_ms(),
            },
            "tasks": {
                "started": c["tasks_started"],
                "setup_failures": c["setup_failures"],
                "ends": ends,
                "accounted": sum(ends.values()),
                "closed_by_audit": c["closed_by_audit"],
                "close_failures": c["close_failures"],
                "end_call_failures": c["end_call_failures"],
                # The target no longer knew the domain (restarted empty): registered again.
                "domain_registered_again": c["domain_registered_again"],
            },
            "calls": calls,
            "worker_errors": {
                name: {"count": count, "first": message}
                for name, (count, message) in sorted(self.worker_errors.items())
            },
        }


def merged(snapshots: list[FleetMetrics], *, timeline: bool = True) -> FleetMetrics:
    """The sum of the snapshots; without `timeline`, the cheaper sum of everything else."""
    total = FleetMetrics()
    for snapshot in snapshots:
        if timeline:
            total.merge(snapshot)
        else:
            total.merge_totals(snapshot)
    return total
