"""Benchmark 2: fleet scale. A million simulated workers heartbeating every 60 s, run by Locust
with `--processes 2` (a master and two worker processes, each with half the fleet), heartbeat
path only, against a loopback sink; reports memory, spawn time, pacing lag and rate.

The baseline, in the same run: the same Locust processes with a fleet of 1,000 workers, so
that memory per simulated worker is (peak of the fleet - peak of the baseline) / workers.
Memory is the peak of the summed resident memory of every Locust process, sampled each second.

Goals: the whole fleet spawned in under 60 s, under 4 GiB in all, pacing lag p99 under 100 ms.

    .venv/bin/python benchmarks/load_fleet_scale.py [--workers 1000000] [--processes 2]
        [--interval 60] [--seconds 120]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from swfbench.embedded import free_port
from swfbench.load.command import locustfile_path
from swfbench.load.sink import running_sink

BASELINE_WORKERS = 1000
STOP_GRACE_S = 120.0
"""How long past its run time Locust may take to stop and write its results."""


def run_fleet(
    url: str, workers: int, args: argparse.Namespace, out: Path, run_time_s: float
) -> dict[str, Any]:
    profile = {
        "name": f"scale-{workers}",
        "fleet": {"workers": workers, "spawn_rate": args.spawn_rate, "senders": args.senders},
        "heartbeat": {"interval": {"mean_s": args.interval}, "details": {"kind": "progress"}},
    }
    path = out / f"scale-{workers}.yaml"
    path.write_text(yaml.safe_dump(profile), "utf-8")
    results = out / f"scale-{workers}.json"
    command = [
        sys.executable, "-m", "locust", "-f", locustfile_path(), "--headless",
        "--host", url, "--loglevel", "WARNING", "--exit-code-on-error", "0",
        "--swf-fleet", str(path), "--swf-heartbeat-only", "--swf-results", str(results),
        "--swf-run-time", str(run_time_s), "--swf-progress", "10" if args.verbose else "0",
    ]  # fmt: skip
    if args.processes > 1:
        # The workers Locust forks connect to --master-port (5557 unless told), not to the
        # port the master binds: both must be the same free port, or the workers find no
        # master (or another run's) and the master waits for them forever.
        port = str(free_port())
        command += ["--processes", str(args.processes), "--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", port, "--master-port", port]
    started = time.monotonic()
    child = subprocess.Popen(
        command, stdout=None if args.verbose else subprocess.DEVNULL, start_new_session=True
    )
    peak_mib = 0.0
    tree = psutil.Process(child.pid)
    deadline = started + run_time_s + STOP_GRACE_S
    while child.poll() is None:
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise SystemExit(
                f"Locust ran {STOP_GRACE_S:g} s past its {run_time_s:g} s run time with "
                f"{workers:,} workers: stopped (run with --verbose to see why)"
            )
        try:
            processes = [tree, *tree.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in processes if p.is_running())
            peak_mib = max(peak_mib, rss / 2**20)
        except psutil.Error:
            pass
        time.sleep(1.0)
    if child.returncode != 0:
        raise SystemExit(f"Locust exited with {child.returncode}")
    data = json.loads(results.read_text("utf-8"))
    points = data["timeline"]["points"]
    full = next((p["t_s"] for p in points if p["workers"] >= workers), None)
    measured = [
        p for p in points if full is not None and full + args.warmup <= p["t_s"] < points[-1]["t_s"]
    ]
    seconds = max(1, len(measured))
    heartbeat = data["heartbeat"]
    return {
        "workers": workers,
        "processes": args.processes,
        "senders": args.senders,
        "wall_s": round(time.monotonic() - started, 1),
        "spawn_s": full,
        "peak_rss_mib": round(peak_mib, 1),
        "due_per_s": round(sum(p["due_per_s"] for p in measured) / seconds, 1),
        "hb_per_s": round(sum(p["heartbeats_per_s"] for p in measured) / seconds, 1),
        "lag_p99_ms": heartbeat["pacing_lag_ms"]["p99"],
        "lag_max_ms": heartbeat["pacing_lag_ms"]["max"],
        "worst_second_lag_p99_ms": max((p["lag_p99_ms"] for p in measured), default=None),
        "latency_p99_ms": heartbeat["latency_ms"]["p99"],
        "failed": heartbeat["failed"],
        "due": heartbeat["due"],
        "ok": heartbeat["ok"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--senders", type=int, default=200, help="Locust users in all")
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--spawn-rate", type=float, default=100_000.0, help="workers/s")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds after spawning")
    parser.add_argument("--seconds", type=float, default=120.0, help="measured after warm-up")
    parser.add_argument(
        "--baseline-seconds", type=float, default=20.0, help="run time of the baseline fleet"
    )
    parser.add_argument(
        "--spawn-slack", type=float, default=30.0, help="run time allowed beyond the spawn ramp"
    )
    parser.add_argument("--verbose", action="store_true", help="Locust's progress lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_sink(free_port()) as url:
        out = Path(tmp)
        baseline = run_fleet(url, BASELINE_WORKERS, args, out, args.baseline_seconds)
        print(f"baseline, {BASELINE_WORKERS} workers: peak {baseline['peak_rss_mib']} MiB")
        spawn_guess = args.workers / args.spawn_rate + args.spawn_slack
        fleet = run_fleet(
            url, args.workers, args, out, spawn_guess + args.warmup + args.seconds + 2
        )
    extra = fleet["peak_rss_mib"] - baseline["peak_rss_mib"]
    per_worker_kib = extra * 1024 / (args.workers - BASELINE_WORKERS)
    expected = args.workers / args.interval
    print(
        f"{args.workers:,} workers every {args.interval:g} s, {args.processes} Locust processes, "
        f"{args.senders} senders: spawned in {fleet['spawn_s']} s (goal < 60), peak memory "
        f"{fleet['peak_rss_mib']:,.0f} MiB in all (goal < 4096), {per_worker_kib:.2f} KiB per "
        f"worker over the baseline; {fleet['hb_per_s']:,} heartbeats/s answered "
        f"({fleet['due_per_s']:,} due, {expected:,.0f} expected), pacing lag p99 "
        f"{fleet['lag_p99_ms']} ms over the whole run (goal < 100), worst second's p99 "
        f"{fleet['worst_second_lag_p99_ms']} ms after warm-up; {fleet['failed']} failed"
    )
    print(
        json.dumps(
            {"baseline": baseline, "fleet": fleet, "kib_per_worker": round(per_worker_kib, 3)},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
