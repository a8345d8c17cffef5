"""Shared by the load benchmarks: a heartbeat-only fleet run in-process with Locust as a library.

Import this module first in a benchmark: it patches the standard library for gevent before
anything (boto3, urllib3, ssl) is imported.
"""

from gevent import monkey

monkey.patch_all()

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.event import Events  # noqa: E402

from swfbench.load.fleet import FleetRuntime, attach, locust_observer, target_for_host  # noqa: E402
from swfbench.load.hooks import start_fleet  # noqa: E402
from swfbench.load.metrics import FleetMetrics  # noqa: E402
from swfbench.load.profile import parse_profile  # noqa: E402
from swfbench.load.users import Sender  # noqa: E402


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


def running_fleet(
    url: str, *, workers: int, senders: int, interval_s: float, send_mode: str = "fast"
) -> Callable[[], int]:
    """Start `workers` heartbeat-only simulated workers against `url` in this process, served
    by `senders` Locust users; return once all run, with a function that counts the heartbeats
    answered OK so far."""
    environment, runtime = heartbeat_runtime(
        url,
        workers=workers,
        senders=senders,
        interval_s=interval_s,
        spawn_rate=max(workers, 100),
        send_mode=send_mode,
    )
    runner = environment.create_local_runner()
    fleet = start_fleet(environment, runtime)
    runner.start(senders, spawn_rate=100)
    while len(fleet.members) < workers or runner.user_count < senders:
        gevent.sleep(0.05)
    metrics = runtime.metrics

    def answered() -> int:
        metrics.flush()
        return metrics.counters["heartbeats_ok"]

    return answered
