"""Benchmark 3: end to end on the embedded target. Runs `swfbench load` with growing fleets
(full SWF flow: start, heartbeat, complete, close) and reports, per size, the heartbeat rate
achieved against the rate asked for, latency and pacing lag p99, and errors; the first size
that falls short (rate under 75 % of asked, latency or lag p99 over the interval, or errors
over 1 %) is where the target breaks.

    .venv/bin/python benchmarks/load_end_to_end.py [--sizes 10,25,50,100,200] [--seconds 20]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml


def run_size(
    workers: int, seconds: float, interval: float, engine: str, out: Path
) -> dict[str, Any]:
    spawn_rate = min(workers, 20)
    profile = {
        "name": f"e2e-{workers}",
        "run_time_s": seconds,
        "fleet": {"workers": workers, "spawn_rate": spawn_rate},
        "heartbeat": {"interval": {"mean_s": interval}},
        "activity": {"duration": {"mean_s": 10}, "timeouts": {"heartbeat": 30}},
        "outcomes": {"complete": 1},
    }
    path = out / f"e2e-{workers}.yaml"
    path.write_text(yaml.safe_dump(profile), "utf-8")
    run_id = f"e2e-{workers}"
    subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "load", "--fleet", str(path), "--engine",
         engine, "--reports-dir", str(out), "--run-id", run_id, "--progress", "0"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    results = json.loads((out / run_id / "results.json").read_text())
    heartbeat = results["heartbeat"]
    # Workers join at the spawn rate: on average each runs for the run time less half the
    # ramp, so that is the heartbeat rate asked for.
    ramp_s = workers / spawn_rate
    asked = workers / interval * (seconds - ramp_s / 2) / seconds
    achieved = heartbeat["ok"] / seconds
    calls = sum(c["ok"] + sum(c["errors"].values()) for c in results["calls"].values())
    errors = sum(sum(c["errors"].values()) for c in results["calls"].values())
    return {
        "workers": workers,
        "asked_hb_per_s": round(asked, 1),
        "achieved_hb_per_s": round(achieved, 1),
        "latency_p99_ms": heartbeat["latency_ms"]["p99"],
        "lag_p99_ms": heartbeat["pacing_lag_ms"]["p99"],
        "error_rate": round(errors / max(calls, 1), 4),
        "tasks_started": results["tasks"]["started"],
        # Workers also spend time starting tasks, so the rate is judged loosely; keeping the
        # schedule (lag) and answering within an interval (latency) are judged strictly.
        "ok": achieved >= 0.75 * asked
        and heartbeat["pacing_lag_ms"]["p99"] <= interval * 1000
        and heartbeat["latency_ms"]["p99"] <= interval * 1000
        and errors <= 0.01 * max(calls, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,25,50,100,200")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--engine", default="swfbench", help="embedded engine: swfbench or moto")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(size) for size in args.sizes.split(",")):
            row = run_size(workers, args.seconds, args.interval, args.engine, Path(tmp))
            rows.append(row)
            print(
                f"{workers:>5} workers: {row['achieved_hb_per_s']:7.1f} of "
                f"{row['asked_hb_per_s']:7.1f} hb/s, p99 {row['latency_p99_ms']} ms, lag p99 "
                f"{row['lag_p99_ms']} ms, errors {row['error_rate']:.2%}"
                + ("" if row["ok"] else "  <- breaks here"),
                flush=True,
            )
            if not row["ok"]:
                break
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
