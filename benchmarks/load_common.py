"""Shared by the load benchmarks: a heartbeat-only fleet run in-process with Locust as a library.

Import this module first in a benchmark: it patches the standard library for gevent before
anything (boto3, urllib3, ssl) is imported.
"""

from gevent import monkey

monkey.patch_all()

import resource  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import Events  # noqa: E402

from swfbench.load.fleet import FleetRuntime, attach, locust_observer, target_for_host  # noqa: E402
from swfbench.load.hooks import start_fleet  # noqa: E402
from swfbench.load.metrics import FleetMetrics  # noqa: E402
from swfbench.load.profile import parse_profile  # noqa: E402
from swfbench.load.users import Sender  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_s() -> float:
    """CPU seconds this process has used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def heartbeat_runtime(
    url: str,
    *,
    workers: int,
    senders: int,
    interval_s: float,
    spawn_rate: float | None = None,
    send_mode: str = "fast",
    details: dict[str, Any] | None = None,
) -> tuple[Environment, FleetRuntime]:
    """A Locust environment and the fleet runtime of heartbeat-only workers against `url`,
    attached to it as `swfbench load` attaches them (Locust's statistics fed as in a run)."""
    fleet: dict[str, Any] = {"workers": workers, "senders": senders}
    if spawn_rate is not None:
        fleet["spawn_rate"] = spawn_rate
    profile = parse_profile(
        {
            "name": "benchmark",
            "send_mode": send_mode,
            "run_time_s": 3600,
            "fleet": fleet,
            "heartbeat": {
                "interval": {"mean_s": interval_s},
                "details": details or {"kind": "progress"},
            },
        },
        "<benchmark>",
    )
    user_class = type("BenchSender", (Sender,), {"host": url})
    events = Events()  # type: ignore[no-untyped-call]
    environment = Environment(user_classes=[user_class], events=events, host=url)
    metrics = FleetMetrics()
    runtime = FleetRuntime(
        profile=profile,
        target=target_for_host(url, None),
        run_id="benchmark",
        observer=locust_observer(events.request, metrics, environment.stats),
        metrics=metrics,
        send_mode=send_mode,
        heartbeat_only=True,
    )
    attach(environment, runtime)
    return environment, runtime


def run_heartbeat_fleet(
    *,
    url: str,
    users: int,
    spawn_rate: float,
    interval_s: float,
    measure_s: float,
    send_mode: str = "fast",
    senders: int | None = None,
    details: dict[str, Any] | None = None,
    progress: bool = False,
    warmup_s: float = 0.0,
) -> dict[str, Any]:
    """Run `users` heartbeat-only simulated workers against `url` with `senders` Locust users
    (default: one per worker), measure for `measure_s` once all are spawned and `warmup_s`
    more has passed, and return rates, CPU per heartbeat, latency and lag summaries, and peak
    memory."""
    senders = senders or users
    environment, runtime = heartbeat_runtime(
        url,
        workers=users,
        senders=senders,
        interval_s=interval_s,
        spawn_rate=spawn_rate,
        send_mode=send_mode,
        details=details,
    )
    runner = environment.create_local_runner()
    spawn_started = time.monotonic()
    fleet = start_fleet(environment, runtime)
    runner.start(senders, spawn_rate=max(senders, 100))
    while len(fleet.members) < users or runner.user_count < senders:
        gevent.sleep(0.5)
        if progress:
            print(
                f"  spawned {len(fleet.members)}/{users}, rss {peak_rss_mib():.0f} MiB", flush=True
            )
    spawn_s = time.monotonic() - spawn_started
    # Beats due while spawning ran late (spawning takes the CPU): let every worker settle into
    # its schedule before measuring.
    gevent.sleep(warmup_s)
    # Measure from here.
    fresh = runtime.metrics
    fresh.clear()
    started, cpu = time.monotonic(), cpu_s()
    while time.monotonic() - started < measure_s:
        gevent.sleep(min(10.0, measure_s))
        if progress:
            data = fresh.to_dict()["heartbeat"]
            print(
                f"  {time.monotonic() - started:5.0f}s: {data['ok']} heartbeats, "
                f"lag p99 {data['pacing_lag_ms']['p99']:.1f} ms, rss {peak_rss_mib():.0f} MiB",
                flush=True,
            )
    elapsed, cpu = time.monotonic() - started, cpu_s() - cpu
    data = fresh.to_dict()  # before stopping: stopping users is not part of the measurement
    peak = peak_rss_mib()
    runner.quit()
    fleet.stop()
    return {
        "send_mode": send_mode,
        "users": users,
        "senders": senders,
        "spawn_s": round(spawn_s, 1),
        "warmup_s": warmup_s,
        "measured_s": round(elapsed, 1),
        "heartbeats": data["heartbeat"]["ok"],
        "failed": data["heartbeat"]["failed"],
        "hb_per_s": round(data["heartbeat"]["ok"] / elapsed, 1),
        "cpu_us_per_hb": round(cpu / max(data["heartbeat"]["ok"], 1) * 1e6, 1),
        "latency_ms": data["heartbeat"]["latency_ms"],
        "pacing_lag_ms": data["heartbeat"]["pacing_lag_ms"],
        "peak_rss_mib": round(peak, 1),
    }
