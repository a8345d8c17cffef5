"""The emulator matrix: conformance and capacity of the swfbench engine, plain moto and LocalStack.

    .venv/bin/python benchmarks/emulator_matrix.py [--readme README.md] [--skip-capacity]
    make matrix                      # the same, writing the tables into README.md

One command, one machine, one emulator after another, each run as `swfbench` runs it for a user
(`--engine swfbench|moto|localstack`, started and stopped by swfbench):

- conformance: `swfbench conform --engine E` for each, judged by conformance/targets/E.yaml,
  then `swfbench report` combines the three runs into one HTML matrix;
- capacity: `swfbench capacity --engine E` for each, with the same SLO and the same steps.

It prints Markdown tables with the date, the machine and every version: a summary per emulator
(pass, known deviation, fail, fixed, skipped and, where the results carry them, the wire findings
of the model check, `metrics.conformance.wire`), the outcome of every scenario on each, and the
capacity knee with its p99 and what broke first. `--readme` puts the tables into README.md
between its `<!-- emulator-matrix:NAME -->` markers. Exit 1 when a conformance run did not match
its known-deviation list (a failure or an unnoticed fix), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swfbench import __version__
from swfbench.results import git_revision

SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
NAMES = {"swfbench": "swfbench engine", "moto": "plain moto", "localstack": "LocalStack"}
OUTCOME_LABELS = {
    "pass": "pass",
    "known_deviation": "known deviation",
    "fail": "**FAIL**",
    "fixed": "**FIXED**",
    "skipped": "skipped",
}
CAPACITY_DEFAULTS = {
    "start_rate": "25",
    "step_rate": "25",
    "max_rate": "2000",
    "step_time": "6s",
    "interval": "1s",
    "slo": "p99 < 100 ms, errors < 1%",
}


def _run(argv: list[str], log: Path) -> int:
    """Run one swfbench command, its output to `log` and a line to the terminal."""
    began = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    print(f"  {' '.join(argv[2:])}: exit {code} in {time.monotonic() - began:.0f} s", flush=True)
    return code


def _only_run(folder: Path) -> Path | None:
    runs = sorted(p for p in folder.glob("*/results.json"))
    return runs[-1] if runs else None


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def wire_count(value: Any) -> int | None:
    """Wire findings as the model check records them: a count, a list of findings, or a mapping
    with a total; None when the results carry none (a swfbench without the check)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        for key in ("total", "findings", "count"):
            if key in value:
                return wire_count(value[key])
    return None


# Conformance -------------------------------------------------------------------------------------


def _collect(folder: Path, log: Path, code: int | None) -> dict[str, Any]:
    results = _only_run(folder)
    if results is None:
        why = _last_line(log) if log.exists() else "no results"
        return {"error": why or f"exit {code}"}
    return {"path": results, "results": json.loads(results.read_text())}


def conformance(engines: list[str], out: Path, *, run: bool) -> tuple[dict[str, Any], bool]:
    """Each engine's conformance run (or, without `run`, the one already in `out`): results or
    why it did not run, and whether every run matched its known-deviation list."""
    runs: dict[str, Any] = {}
    for engine in engines:
        folder = out / f"conformance-{engine}"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "conform.log"
        code = None
        if run:
            argv = [*SWFBENCH, "conform", "--engine", engine, "--reports-dir", str(folder)]
            code = _run(argv, log)
        runs[engine] = _collect(folder, log, code)
    exact = all(
        "results" in r and r["results"]["summary"]["fail"] == r["results"]["summary"]["fixed"] == 0
        for r in runs.values()
    )
    found = [str(r["path"]) for r in runs.values() if "path" in r]
    if run and len(found) > 1:
        _run([*SWFBENCH, "report", *found, "--reports-dir", str(out)], out / "report.log")
    return runs, exact


def _target(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("results", {}).get("target") or {})


def conformance_tables(engines: list[str], runs: dict[str, Any]) -> tuple[str, str]:
    """The summary per emulator, and every scenario's outcome on each."""
    head = ["emulator", "version", "pass", "known deviation", "fail", "fixed", "skipped"]
    head.append("wire findings")
    summary = [_row(head), _row(["---"] * len(head))]
    for engine in engines:
        run = runs[engine]
        if "error" in run:
            summary.append(
                _row([NAMES[engine], f"not run: {run['error']}", *[""] * (len(head) - 2)])
            )
            continue
        results = run["results"]
        counts = results["summary"]
        cells = [NAMES[engine], str(_target(run).get("emulator_version"))]
        cells += [
            str(counts.get(k, 0)) for k in ("pass", "known_deviation", "fail", "fixed", "skipped")
        ]
        # The model check's findings, where these results carry them.
        wire = wire_count(results["metrics"]["conformance"].get("wire"))
        cells.append("not checked" if wire is None else str(wire))
        summary.append(_row(cells))
    by_engine = {
        engine: {s["id"]: s for s in run["results"]["scenarios"]}
        for engine, run in runs.items()
        if "results" in run
    }
    shown = [engine for engine in engines if engine in by_engine]
    ids = sorted({scenario_id for scenarios in by_engine.values() for scenario_id in scenarios})
    scenarios = [_row(["scenario", *(NAMES[e] for e in shown)]), _row(["---"] * (len(shown) + 1))]
    for scenario_id in ids:
        cells = [f"`{scenario_id}`"]
        for engine in shown:
            scenario = by_engine[engine].get(scenario_id)
            if scenario is None:
                cells.append("not run")
                continue
            cell = OUTCOME_LABELS.get(scenario["outcome"], scenario["outcome"])
            wire = wire_count(scenario.get("wire"))
            if wire:
                cell += f", {wire} wire"
            cells.append(cell)
        scenarios.append(_row(cells))
    return "\n".join(summary), "\n".join(scenarios)


# Capacity ----------------------------------------------------------------------------------------


def capacity(engines: list[str], out: Path, flags: dict[str, str], *, run: bool) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    argv = [
        "--start-rate", flags["start_rate"], "--step-rate", flags["step_rate"],
        "--max-rate", flags["max_rate"], "--step-time", flags["step_time"],
        "--interval", flags["interval"], "--slo", flags["slo"], "--progress", "0",
    ]  # fmt: skip
    for engine in engines:
        folder = out / f"capacity-{engine}"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "capacity.log"
        code = None
        if run:
            code = _run(
                [*SWFBENCH, "capacity", "--engine", engine, *argv, "--reports-dir", str(folder)],
                log,
            )
        runs[engine] = _collect(folder, log, code)
    return runs


def _broke(step: dict[str, Any]) -> str:
    """What the first breaking step broke, with the figures that broke it."""
    parts = []
    for clause in step["broken"]:
        figure = clause.split()[0]
        value = step.get(figure)
        if figure in ("p50", "p90", "p99", "p99.9", "max") and value is not None:
            parts.append(f"{clause} ({figure} {value:,.0f} ms)")
        elif figure == "errors":
            parts.append(f"{clause} ({step['errors']:.1%})")
        else:
            parts.append(clause)
    codes = step.get("errors_by_code") or {}
    if codes:
        top = ", ".join(f"{code} {n}" for code, n in sorted(codes.items(), key=lambda kv: -kv[1]))
        parts.append(f"errors: {top}")
    # A late load generator means the generator saturated too: the knee is then the pair's.
    parts.append(f"pacing lag p99 {step['lag']:,.0f} ms")
    return f"at {step['offered_per_s']:,.0f}/s: " + "; ".join(parts)


def capacity_table(engines: list[str], runs: dict[str, Any]) -> str:
    head = ["emulator", "version", "knee (heartbeats/s)", "p99 at the knee", "what broke first"]
    rows = [_row(head), _row(["---"] * len(head))]
    for engine in engines:
        run = runs[engine]
        if "error" in run:
            rows.append(_row([NAMES[engine], f"not run: {run['error']}", "", "", ""]))
            continue
        results = run["results"]
        record = results["capacity"]
        knee, broke = record["knee"], record["broken_at"]
        if knee is None:
            knee_cell, p99 = f"below {record['steps'][0]['offered_per_s']:,.0f}", "-"
        else:
            knee_cell = f"{knee['offered_per_s']:,.0f} ({knee['heartbeats_per_s']:,.0f} measured)"
            p99 = f"{knee['p99']:,.1f} ms"
        if broke is not None:
            what = _broke(broke)
        elif record["exhausted"]:
            knee_cell = f"at least {knee_cell}"
            what = "nothing: every step held (the knee is above the last step)"
        else:
            what = "the run ended early (see its report)"
        version = _target(run).get("emulator_version")
        rows.append(_row([NAMES[engine], str(version), knee_cell, p99, what]))
    return "\n".join(rows)


# Output ------------------------------------------------------------------------------------------


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def header(started: datetime) -> str:
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    return (
        f"Generated by `python benchmarks/emulator_matrix.py` on {started:%Y-%m-%d %H:%M} UTC: "
        f"swfbench {__version__} (git {git_revision() or 'unknown'}), Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cores (load average {load} at the start)."
    )


def write_readme(readme: Path, sections: dict[str, str]) -> None:
    """Replace each `<!-- emulator-matrix:NAME -->` ... `<!-- /emulator-matrix:NAME -->`."""
    text = readme.read_text()
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- emulator-matrix:{name} -->\n).*?(<!-- /emulator-matrix:{name} -->)", re.S
        )
        if not pattern.search(text):
            raise SystemExit(f"{readme} has no <!-- emulator-matrix:{name} --> markers")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    partial = readme.with_name(f".{readme.name}.partial")
    partial.write_text(text)
    partial.replace(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="swfbench,moto,localstack")
    parser.add_argument("--skip-conformance", action="store_true")
    parser.add_argument("--skip-capacity", action="store_true")
    parser.add_argument(
        "--reports-dir", type=Path, default=None, help="default: reports/matrix-<time>"
    )
    parser.add_argument("--readme", type=Path, default=None, help="write the tables into this file")
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="run nothing: make the tables again from the runs already in --reports-dir",
    )
    for flag, default in CAPACITY_DEFAULTS.items():
        parser.add_argument(
            f"--{flag.replace('_', '-')}", default=default, help=f"capacity ({default})"
        )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in NAMES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}: choose from {', '.join(NAMES)}")
    started = datetime.now(UTC)
    if args.tables_only and args.reports_dir is None:
        parser.error("--tables-only needs the --reports-dir of an earlier run")
    out = args.reports_dir or Path("reports") / f"matrix-{started:%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    sections: dict[str, str] = {}
    run = not args.tables_only
    if run:
        (out / "header.txt").write_text(header(started) + "\n")
    intro = (out / "header.txt").read_text().strip()
    print(intro, flush=True)
    exact = True
    if not args.skip_conformance:
        print("conformance:", flush=True)
        runs, exact = conformance(engines, out, run=run)
        summary, scenarios = conformance_tables(engines, runs)
        sections["conformance"] = f"{intro}\n\n{summary}\n"
        sections["scenarios"] = scenarios
    if not args.skip_capacity:
        flags = {flag: getattr(args, flag) for flag in CAPACITY_DEFAULTS}
        saved = out / "capacity-flags.json"
        if run:
            saved.write_text(json.dumps(flags, indent=2) + "\n")
        elif saved.exists():
            flags = json.loads(saved.read_text())
        print("capacity:", flush=True)
        capacity_runs = capacity(engines, out, flags, run=run)
        sections["capacity"] = (
            f"{intro} Each: `swfbench capacity --engine E --start-rate {flags['start_rate']} "
            f"--step-rate {flags['step_rate']} --max-rate {flags['max_rate']} --step-time "
            f"{flags['step_time']} --interval {flags['interval']} --slo '{flags['slo']}'` (every "
            f"worker heartbeats its own open activity task, so open tasks = rate x interval).\n\n"
            + capacity_table(engines, capacity_runs)
            + "\n"
        )
    print()
    for name, body in sections.items():
        print(f"<!-- {name} -->\n{body}\n")
    (out / "matrix.md").write_text("\n\n".join(sections.values()) + "\n")
    if args.readme is not None:
        write_readme(args.readme, sections)
        print(f"tables written into {args.readme}")
    print(f"runs, logs and the combined report in {out}")
    if not exact:
        print("a conformance run did not match its known-deviation list (see its log)")
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
