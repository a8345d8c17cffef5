"""Compare a micro-benchmark run with the saved baseline, as ratios to the calibration benchmark.

Each benchmark's time is divided by the time of `test_calibration` from the same run: a slower or
busier machine slows both and leaves the ratio where it was, while a change to a hot path moves
its ratio alone. A ratio more than the margin (default 25 %) above its baseline is a regression.

    python benchmarks/micro/compare.py [--run RUN.json] [--baseline BASELINE.json] [--margin 25]
    python benchmarks/micro/compare.py --write-baseline [--run RUN.json]

RUN.json is what `pytest benchmarks/micro --benchmark-json=RUN.json` writes. Exit 0 when every
ratio is within the margin, 1 when one rose beyond it or a baseline benchmark is missing from the
run, 2 when the run or the baseline cannot be read. A benchmark new in the run is listed and
passes; `--write-baseline` (`make bench-baseline`) records it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_RUN = HERE.parents[1] / ".benchmarks" / "micro-run.json"
DEFAULT_BASELINE = HERE / "baseline.json"
CALIBRATION = "test_calibration"
DEFAULT_MARGIN = 25.0
"""Percent. Ratios of the same code moved by up to about 10 % between runs on a shared 2-core
machine (README, "Micro-benchmarks"); 25 % leaves room for that and still catches a hot path
grown by more than a quarter."""
STATISTICS = ("min", "median")
DEFAULT_STATISTIC = "min"
"""Noise on a shared machine only ever adds time, so the fastest round is the steadiest figure;
the median comes close, the mean does not (it moved up to 70 % under load)."""


class CompareError(Exception):
    """A run or baseline that cannot be used: one line, exit 2."""


@dataclass(frozen=True)
class Row:
    name: str
    baseline: float | None
    current: float | None
    verdict: str
    """ok, faster, REGRESSION, MISSING (in the run) or new (not in the baseline)."""

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current / self.baseline - 1.0

    @property
    def failed(self) -> bool:
        return self.verdict in ("REGRESSION", "MISSING")


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        hint = "; make bench-baseline writes it" if what == "baseline" else ""
        raise CompareError(f"{what} {path}: not found{hint}") from None
    except OSError as exc:
        raise CompareError(f"{what} {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CompareError(f"{what} {path}: not valid JSON: {exc}") from None


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def run_ratios(run: Any, statistic: str, source: str = "run") -> dict[str, float]:
    """Each benchmark's `statistic` over the calibration's, from pytest-benchmark's JSON."""
    benchmarks = run.get("benchmarks") if isinstance(run, dict) else None
    if not isinstance(benchmarks, list):
        raise CompareError(f"{source}: not pytest-benchmark JSON (no 'benchmarks' list)")
    times: dict[str, float] = {}
    for entry in benchmarks:
        name = entry.get("name") if isinstance(entry, dict) else None
        stats = entry.get("stats") if isinstance(entry, dict) else None
        value = stats.get(statistic) if isinstance(stats, dict) else None
        if not isinstance(name, str) or not _positive(value):
            raise CompareError(
                f"{source}: a benchmark entry has no name or no positive {statistic}"
            )
        times[name] = float(value)
    if not times:
        raise CompareError(f"{source}: no timings (was pytest run with --benchmark-disable?)")
    if CALIBRATION not in times:
        raise CompareError(f"{source}: no {CALIBRATION} benchmark to divide by (run them all)")
    reference = times.pop(CALIBRATION)
    return {name: value / reference for name, value in sorted(times.items())}


def baseline_ratios(baseline: Any, source: str = "baseline") -> tuple[str, dict[str, float]]:
    """The statistic a baseline was made with, and its ratios."""
    if not isinstance(baseline, dict):
        raise CompareError(f"{source}: expected a JSON object with 'statistic' and 'ratios'")
    statistic = baseline.get("statistic")
    ratios = baseline.get("ratios")
    if statistic not in STATISTICS:
        raise CompareError(f"{source}: 'statistic' must be one of {', '.join(STATISTICS)}")
    if (
        not isinstance(ratios, dict)
        or not ratios
        or not all(isinstance(k, str) and _positive(v) for k, v in ratios.items())
    ):
        raise CompareError(f"{source}: 'ratios' must map benchmark names to positive numbers")
    return statistic, {name: float(value) for name, value in ratios.items()}


def compare(
    baseline: Mapping[str, float], current: Mapping[str, float], margin: float
) -> list[Row]:
    """One row per benchmark in either; `margin` is a percentage."""
    rows = []
    for name in sorted(set(baseline) | set(current)):
        before, now = baseline.get(name), current.get(name)
        if now is None:
            verdict = "MISSING"
        elif before is None:
            verdict = "new"
        elif now > before * (1.0 + margin / 100.0):
            verdict = "REGRESSION"
        elif now < before / (1.0 + margin / 100.0):
            verdict = "faster"
        else:
            verdict = "ok"
        rows.append(Row(name, before, now, verdict))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    lines = [("benchmark", "baseline", "this run", "change", "verdict")]
    for row in rows:
        change = "-" if row.change is None else f"{row.change:+.1%}"
        lines.append((row.name, ratio(row.baseline), ratio(row.current), change, row.verdict))
    width = max(len(line[0]) for line in lines)
    return "\n".join(
        f"{name:<{width}}  {before:>9}  {now:>9}  {change:>8}  {verdict}"
        for name, before, now, change, verdict in lines
    )


def make_baseline(run: Any, statistic: str, source: str = "run") -> dict[str, Any]:
    """A baseline from one run: the ratios, and the machine and Python they were measured on."""
    ratios = run_ratios(run, statistic, source)
    machine = run.get("machine_info") if isinstance(run.get("machine_info"), dict) else {}
    cpu = machine.get("cpu") if isinstance(machine.get("cpu"), dict) else {}
    calibration = next(b for b in run["benchmarks"] if b["name"] == CALIBRATION)
    return {
        "statistic": statistic,
        "calibration_s": calibration["stats"][statistic],
        "ratios": {name: round(value, 6) for name, value in ratios.items()},
        "measured_on": {
            "date": run.get("datetime") or datetime.datetime.now(datetime.UTC).isoformat(),
            "python": machine.get("python_version") or platform.python_version(),
            "implementation": machine.get("python_implementation")
            or platform.python_implementation(),
            "system": machine.get("system") or platform.system(),
            "cpu": cpu.get("brand_raw") or machine.get("processor") or platform.processor(),
            "cpu_count": cpu.get("count"),
            "pytest_benchmark": run.get("version"),
        },
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog="Exit 0: all within the margin; 1: a regression or a missing benchmark; "
        "2: the run or baseline cannot be read.",
    )
    parser.add_argument(
        "--run",
        type=Path,
        default=DEFAULT_RUN,
        help="pytest-benchmark JSON of the run (default .benchmarks/micro-run.json)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=DEFAULT_BASELINE,
        help="saved ratios (default benchmarks/micro/baseline.json)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help=f"largest allowed rise of a ratio, in percent (default {DEFAULT_MARGIN:g}; "
        "ratios of unchanged code moved less than 10 %% between runs on a shared 2-core machine)",
    )
    parser.add_argument(
        "--write-baseline", action="store_true", help="write the baseline from the run instead"
    )
    parser.add_argument(
        "--statistic",
        choices=STATISTICS,
        default=DEFAULT_STATISTIC,
        help="which per-benchmark time --write-baseline records (default min); comparing always "
        "uses the baseline's",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.margin < 0:
            raise CompareError(f"--margin must be 0 or more, got {args.margin:g}")
        run = read_json(args.run, "run")
        if args.write_baseline:
            baseline = make_baseline(run, args.statistic, f"run {args.run}")
            args.baseline.write_text(json.dumps(baseline, indent=2) + "\n", "utf-8")
            width = max(map(len, baseline["ratios"]))
            for name, ratio in baseline["ratios"].items():
                print(f"{name:<{width}}  {ratio:9.4f}")
            print(f"wrote {args.baseline}: ratios of the {args.statistic} time to {CALIBRATION}")
            return 0
        statistic, before = baseline_ratios(
            read_json(args.baseline, "baseline"), f"baseline {args.baseline}"
        )
        rows = compare(before, run_ratios(run, statistic, f"run {args.run}"), args.margin)
    except CompareError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    print(format_table(rows))
    failed = [row.name for row in rows if row.failed]
    new = [row.name for row in rows if row.verdict == "new"]
    print(
        f"ratios to {CALIBRATION} ({statistic} time), margin {args.margin:g} %: "
        + (f"{len(failed)} failed ({', '.join(failed)})" if failed else "all within")
    )
    if new:
        print(f"not in the baseline yet (refresh with make bench-baseline): {', '.join(new)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
