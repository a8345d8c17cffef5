"""The results JSON of a load run: Locust's own numbers per operation plus the fleet metrics."""

from __future__ import annotations

import math
import time
from typing import Any

from swfbench import __version__
from swfbench.load.fleet import FleetRuntime
from swfbench.load.metrics import FleetMetrics
from swfbench.load.profile import Profile
from swfbench.load.transport import OPERATION
from swfbench.results import git_revision

SCHEMA_VERSION = 1
AUDIT_PENDING = "the domain audit: not recorded (swfbench load runs it after Locust)"
"""In the status Locust writes, until `swfbench load` replaces it with its audit's outcome:
results left as Locust wrote them (swfbench stopped, a disk too full for the final file) must
not pass as whole."""


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def locust_section(stats: Any) -> dict[str, Any]:
    """Locust's per-operation table and its failures, as plain data."""
    operations: dict[str, Any] = {}
    for entry in stats.entries.values():
        operations[entry.name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": round(entry.total_rps, 3),
            "median_ms": entry.median_response_time,
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": round(entry.max_response_time or 0.0, 3),
        }
    errors = [
        {"operation": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    return {"operations": operations, "errors": errors}


def empty_results(
    run_id: str, profile: Profile, target: dict[str, Any], started: float, ended: float
) -> dict[str, Any]:
    """The results of a run whose Locust wrote none (it crashed, or could not write): no
    figure, the shape every load report and gate reads. The caller marks it aborted."""
    fleet = FleetMetrics().to_dict()
    return {
        "kind": "load",
        "swfbench_version": __version__,
        "git_revision": git_revision(),
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "profile": {"name": profile.name, "path": profile.path},
        "target": target,
        "send_mode": profile.send_mode,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "duration_s": round(ended - started, 3),
        "processes": 0,
        "locust": {"operations": {}, "errors": []},
        **fleet,
        "timeline": {"width_s": 1, "points": []},
        "first_error_s": {},
        "stopped_early": None,
        "interrupted": None,
        "aborted": None,
        "workers_lost": {},
        "metrics": gate_metrics(fleet, ended - started),
    }


def build_results(
    runtime: FleetRuntime, metrics: FleetMetrics, stats: Any, processes: int
) -> dict[str, Any]:
    ended = time.time()
    fleet = metrics.to_dict()
    duration = ended - runtime.started_wall
    return {
        "kind": "load",
        "swfbench_version": __version__,
        "git_revision": git_revision(),
        "schema_version": SCHEMA_VERSION,
        "run_id": runtime.run_id,
        "profile": {"name": runtime.profile.name, "path": runtime.profile.path},
        "fleet": fleet_record(runtime),
        "target": runtime.target.to_dict(),
        "send_mode": runtime.send_mode,
        "started_at": _iso(runtime.started_wall),
        "ended_at": _iso(ended),
        "duration_s": round(ended - runtime.started_wall, 3),
        "processes": processes,
        "locust": locust_section(stats),
        **fleet,
        "timeline": with_users(
            metrics.timeline.points(runtime.started_wall, ended, OPERATION),
            runtime.users,
            runtime.started_wall,
        ),
        "first_error_s": {
            code: round(wall - runtime.started_wall, 3)
            for code, wall in sorted(metrics.first_error_wall.items())
        },
        "stopped_early": runtime.stopped_early,
        "interrupted": runtime.interrupted,
        "aborted": runtime.aborted,
        "workers_lost": dict(sorted(runtime.workers_lost.items())),
        **({"capacity": runtime.capacity} if runtime.capacity is not None else {}),
        "metrics": gate_metrics(fleet, duration),
    }


def fleet_record(runtime: FleetRuntime) -> dict[str, Any]:
    """The fleet as it ran: its peak, spawn rate and run time after Locust's -u, -r and -t
    (`overrides`, null where the profile's figure held); the most simulated workers that ran at
    once (from the once-a-second count) and the most senders (Locust users) it had."""
    fleet, overrides = runtime.profile, runtime.overrides
    return {
        "peak_workers": fleet.max_workers,
        "spawn_rate": fleet.spawn_rate_now,
        "run_time_s": fleet.run_time_s,
        "overrides": {
            "users": overrides.users,
            "spawn_rate": overrides.spawn_rate,
            "run_time_s": overrides.run_time_s,
        },
        "workers_reached": max(runtime.users.values(), default=0),
        "peak_senders": runtime.peak_senders,
    }


def with_users(
    timeline: dict[str, Any], users: dict[int, int], started_wall: float
) -> dict[str, Any]:
    """The timeline with `users`: [t_s, simulated workers running] at the end of each point's
    width (the last count taken within it), on the points' own time axis."""
    width = timeline["width_s"]
    start_group = math.floor(started_wall) // width
    last: dict[int, tuple[int, int]] = {}
    for second, n in users.items():
        group = second // width
        if group not in last or second > last[group][0]:
            last[group] = (second, n)
    return {
        **timeline,
        "users": [[(group - start_group) * width, n] for group, (_, n) in sorted(last.items())],
    }


def _percentiles(histogram: dict[str, Any]) -> dict[str, float]:
    # Dotted metric paths cannot hold "p99.9": it becomes p99_9_ms.
    keys = ("p50", "p90", "p99", "p99.9", "max")
    return {f"{key.replace('.', '_')}_ms": histogram[key] for key in keys}


def gate_metrics(fleet: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """The figures `swfbench gate` checks, by dotted path (e.g. heartbeat.latency.p99_ms)."""
    heartbeat = fleet["heartbeat"]
    calls = fleet["calls"]
    total = sum(c["ok"] + sum(c["errors"].values()) for c in calls.values())
    by_code: dict[str, int] = {}
    for entry in calls.values():
        for code, count in entry["errors"].items():
            by_code[code] = by_code.get(code, 0) + count
    errors: dict[str, Any] = {
        code: {"count": count, "ratio": count / total} for code, count in by_code.items()
    }
    errors["total"] = {
        "count": sum(by_code.values()),
        "ratio": sum(by_code.values()) / total if total else 0.0,
    }
    due = heartbeat["due"]
    return {
        "heartbeat": {
            "due": due,
            "sent": heartbeat["sent"],
            "ok": heartbeat["ok"],
            "failed": heartbeat["failed"],
            "in_flight": heartbeat["in_flight"],
            # Against what the schedule asked for, as capacity judges a step: a hung or
            # crawling target shows here even when no call failed. None when nothing was due,
            # so that no floor on it can hold.
            "sent_ratio": heartbeat["sent"] / due if due else None,
            "delivered_ratio": heartbeat["ok"] / due if due else None,
            "rate_per_s": heartbeat["ok"] / duration_s if duration_s > 0 else 0.0,
            "latency": _percentiles(heartbeat["latency_ms"]),
            "pacing_lag": _percentiles(heartbeat["pacing_lag_ms"]),
        },
        "errors": errors,
        "cancel": {
            "lost": fleet["cancel"]["lost"],
            "propagation": _percentiles(fleet["cancel"]["propagation_ms"]),
        },
        "timeouts": {
            "false": fleet["timeouts"]["false"],
            "missed": fleet["timeouts"]["missed"],
            "delay": _percentiles(fleet["timeouts"]["delay_ms"]),
        },
        "tasks": {"unaccounted": fleet["tasks"]["started"] - fleet["tasks"]["accounted"]},
    }


def metrics_skeleton() -> dict[str, Any]:
    """The metrics tree every load run has (error codes appear only when they occurred)."""
    tree = gate_metrics(FleetMetrics().to_dict(), 1.0)
    tree["audit"] = {"left_open": 0}
    return tree


def summary_line(metrics: FleetMetrics) -> str:
    data = metrics.to_dict()
    latency = data["heartbeat"]["latency_ms"]
    lag = data["heartbeat"]["pacing_lag_ms"]
    cancel = data["cancel"]
    timeouts = data["timeouts"]
    tasks = data["tasks"]
    return (
        f"{OPERATION}: {data['heartbeat']['due']} due, {data['heartbeat']['sent']} sent, "
        f"{data['heartbeat']['ok']} ok, {data['heartbeat']['failed']} failed, "
        f"{data['heartbeat']['in_flight']} in flight; "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, p99.9 {latency['p99.9']} ms, "
        f"max {latency['max']} ms; lag p99 {lag['p99']} ms; tasks {tasks['started']} started, "
        f"{tasks['accounted']} accounted, {tasks['ends']['interrupted']} still running at the "
        f"stop ({tasks['closed_by_audit']} closed by their workers); "
        f"cancel {cancel['requested']} requested, {cancel['propagated']} propagated, "
        f"{cancel['lost']} lost, {cancel['decision_failed']} refused; timeouts "
        f"{timeouts['timed_out']} fired, {timeouts['missed']} missed, {timeouts['false']} false, "
        f"{timeouts['late_worker']} late worker"
    )
