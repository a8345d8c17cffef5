"""`swfbench plan` against fleet size: the grouped simulation against the per-worker one.

    .venv/bin/python benchmarks/plan_scale.py [--sizes 1e3,1e4,1e5,1e6,1e7,1e9]
        [--baseline-max 1e6] [--repeat 3]

Each measurement is a fresh process running `swfbench plan --workers N --interval 60` (start-up
included, as a user runs it), once as shipped and once with the planner's `simulate` replaced by
`simulate_per_worker`, the per-worker model plans used before (the baseline). Both run in this
one invocation; the ratios are the baseline's wall and CPU time over the grouped plan's. Every size is run
without jitter and with 10 s of jitter (the grouped path's slowest: expected member counts).
Wall time is the best of --repeat runs, with its CPU time (user and system: steadier than wall
time on a shared machine); peak memory is the process's maximum resident set. The
per-worker baseline grows linearly in time and memory (about 0.8 KB and 10 us per worker), so it
runs only up to --baseline-max workers. The table also shows what each plan found (throttled
fraction, tasks timed out) for the spread start, so the two can be read side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

CHILD = """
import json, sys
import swfbench.plan.planner as planner
from swfbench.cli import main

mode, out = sys.argv[1], sys.argv[2]
if mode == "per-worker":
    planner.simulate = planner.simulate_per_worker
code = main(["plan", *sys.argv[3:], "--output", "json", "--save", out])
sys.exit(0 if code in (0, 1) else code)
"""


def run_plan(mode: str, args: list[str], out: str) -> dict[str, Any]:
    """One plan in a fresh interpreter: wall seconds, peak resident MiB, and what it found."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, out, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{mode} plan {' '.join(args)} failed: {child.stderr.read().decode()}")
    child.stderr.close()
    with open(out) as stream:
        spread = json.load(stream)["plan"]["simulations"]["spread"]
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
        "throttled_fraction": spread["throttled_fraction"],
        "tasks_timed_out": spread["workers_timed_out"],
        "groups": spread["groups"],
    }


def best(mode: str, args: list[str], out: str, repeat: int) -> dict[str, Any]:
    runs = [run_plan(mode, args, out) for _ in range(repeat)]
    fastest = min(runs, key=lambda run: run["wall_s"])
    return {**fastest, "peak_mib": max(run["peak_mib"] for run in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e3,1e4,1e5,1e6,1e7,1e9")
    parser.add_argument("--baseline-max", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", default="60")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements here")
    options = parser.parse_args()
    sizes = [int(float(size)) for size in options.sizes.split(",")]
    out = f"/tmp/plan-scale-{os.getpid()}.json"
    rows: list[dict[str, Any]] = []
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(
        f"{'workers':>13} {'jitter':>6}  {'grouped s':>9} {'cpu':>5} {'MiB':>4} {'groups':>6}"
        f"  {'per-worker s':>12} {'cpu':>6} {'MiB':>4}  {'ratio':>5} {'cpu':>5}"
        f"  {'throttled g / pw':>16}  {'timed out grouped / per-worker':>30}"
    )
    for workers in sizes:
        for jitter in ("0", "10"):
            args = ["--workers", str(workers), "--interval", options.interval, "--jitter", jitter]
            grouped = best("grouped", args, out, options.repeat)
            baseline = None
            if workers <= options.baseline_max:
                # The baseline's time is long and steady past 10^5 workers: one run is enough.
                repeat = options.repeat if workers <= 100_000 else 1
                baseline = best("per-worker", args, out, repeat)
            rows.append(
                {
                    "workers": workers,
                    "jitter_s": float(jitter),
                    "grouped": grouped,
                    "per_worker": baseline,
                }
            )
            if baseline is None:
                pw = f"{'not run':>12} {'':>6} {'':>4}  {'':>5} {'':>5}"
                found = f"{grouped['throttled_fraction']:7.2%}{'':>9}"
                timed = f"{grouped['tasks_timed_out']:>14}{'':>16}"
            else:
                ratio = baseline["wall_s"] / grouped["wall_s"]
                cpu = baseline["cpu_s"] / grouped["cpu_s"]
                pw = (
                    f"{baseline['wall_s']:12.2f} {baseline['cpu_s']:6.2f}"
                    f" {baseline['peak_mib']:4.0f}  {ratio:5.1f} {cpu:5.1f}"
                )
                found = (
                    f"{grouped['throttled_fraction']:7.2%} / {baseline['throttled_fraction']:.2%}"
                )
                timed = f"{grouped['tasks_timed_out']:>14} / {baseline['tasks_timed_out']:<13}"
            print(
                f"{workers:13,} {jitter:>6}  {grouped['wall_s']:9.2f} {grouped['cpu_s']:5.2f}"
                f" {grouped['peak_mib']:4.0f} {grouped['groups']:6}  {pw}  {found:>16}  {timed}",
                flush=True,
            )
    os.unlink(out)
    if options.json:
        with open(options.json, "w") as stream:
            json.dump(rows, stream, indent=2)


if __name__ == "__main__":
    main()
