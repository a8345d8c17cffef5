"""Benchmark 3: end to end on the embedded target. Runs `swfbench load` with growing fleets of
the shipped `steady` profile's workers (full SWF flow: start, heartbeat, complete or fail,
close) and, per size, measures a whole minute once the fleet is spawned and settled: the
heartbeat rate the workers' schedules asked for (due) against the rate answered OK, latency and
pacing lag p99, and errors. The first size that falls short (answered under 95 % of due,
latency or lag p99 over 100 ms, or errors over 1 %) is where the pair of target and generator
breaks; the generator's own lag says which of the two it was.

    .venv/bin/python benchmarks/load_end_to_end.py [--sizes 100,250,500,1000] [--seconds 60]
        [--engine swfbench|moto] [--processes N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MS = 100.0


def run_size(workers: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    profile = yaml.safe_load((ROOT / "scenarios/load/steady.yaml").read_text("utf-8"))
    spawn_rate = max(10.0, workers / args.spawn_s)
    run_time = args.spawn_s + args.settle + args.seconds + 2
    profile.update(name=f"e2e-{workers}", run_time_s=run_time)
    profile["fleet"] = {"workers": workers, "spawn_rate": spawn_rate}
    profile["heartbeat"]["interval"]["mean_s"] = args.interval
    profile["heartbeat"]["interval"]["jitter_s"] = args.interval / 10
    path = out / f"e2e-{workers}.yaml"
    path.write_text(yaml.safe_dump(profile), "utf-8")
    run_id = f"e2e-{workers}"
    command = [
        sys.executable, "-m", "swfbench.cli", "load", "--fleet", str(path), "--engine",
        args.engine, "--reports-dir", str(out), "--run-id", run_id, "--progress", "0",
    ]  # fmt: skip
    if args.processes:
        command += ["--processes", str(args.processes)]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = json.loads((out / run_id / "results.json").read_text())
    points = results["timeline"]["points"]
    full = next((p["t_s"] for p in points if p["workers"] >= workers), None)
    begin = (full if full is not None else args.spawn_s) + args.settle
    window = [p for p in points if begin <= p["t_s"] < begin + args.seconds]
    seconds = max(1, len(window))
    due = sum(p["due_per_s"] for p in window) / seconds
    ok = sum(p["heartbeats_per_s"] for p in window) / seconds
    errors = sum(sum(p["errors"].values()) for p in window)
    calls = sum(c["ok"] + sum(c["errors"].values()) for c in results["calls"].values())
    latency = max((p["latency_ms"]["p99"] for p in window), default=0.0)
    lag = max((p["lag_p99_ms"] for p in window), default=0.0)
    row = {
        "workers": workers,
        "spawned_at_s": full,
        "measured_s": seconds,
        "asked_hb_per_s": round(due, 1),
        "achieved_hb_per_s": round(ok, 1),
        # Whole-run percentiles, and the worst second's inside the measured minute.
        "latency_p99_ms": results["heartbeat"]["latency_ms"]["p99"],
        "lag_p99_ms": results["heartbeat"]["pacing_lag_ms"]["p99"],
        "worst_second_latency_p99_ms": latency,
        "worst_second_lag_p99_ms": lag,
        "errors_in_window": errors,
        "error_rate": round(results["metrics"]["errors"]["total"]["ratio"], 4),
        "calls": calls,
        "tasks_started": results["tasks"]["started"],
        "status": results["status"]["state"],
    }
    row["ok"] = (
        full is not None
        and len(window) >= 0.9 * args.seconds
        and ok >= 0.95 * due
        and row["latency_p99_ms"] <= LIMIT_MS
        and row["lag_p99_ms"] <= LIMIT_MS
        and row["error_rate"] <= 0.01
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,250,500,1000")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per size")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--spawn-s", type=float, default=10.0, help="seconds to spawn a fleet")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after spawning")
    parser.add_argument("--engine", default="swfbench", help="embedded engine: swfbench or moto")
    parser.add_argument("--processes", type=int, default=0, help="Locust worker processes")
    parser.add_argument("--keep-going", action="store_true", help="past the first size that breaks")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(size) for size in args.sizes.split(",")):
            row = run_size(workers, args, Path(tmp))
            rows.append(row)
            print(
                f"{workers:>5} workers: {row['achieved_hb_per_s']:7.1f} of "
                f"{row['asked_hb_per_s']:7.1f} hb/s asked over {row['measured_s']} s after "
                f"spawning, p99 {row['latency_p99_ms']} ms (worst second {row['worst_second_latency_p99_ms']}),"
                f" lag p99 {row['lag_p99_ms']} ms (worst second {row['worst_second_lag_p99_ms']}), "
                f"errors {row['error_rate']:.2%}, {row['tasks_started']} tasks"
                + ("" if row["ok"] else "  <- breaks here"),
                flush=True,
            )
            if not row["ok"] and not args.keep_going:
                break
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
