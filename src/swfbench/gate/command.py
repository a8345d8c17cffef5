"""`swfbench gate`: apply a gates file to a results file; exit 1 when a gate fails."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from swfbench.gates import evaluate, junit_xml, load_gates, render_table, verdicts_to_dict
from swfbench.options import renamed
from swfbench.report import write_report
from swfbench.report.render import run_id_of
from swfbench.results import load_results, write_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gate",
        help="check a results file against thresholds (CI performance gates)",
        description="Check RESULTS against the limits in GATES (YAML: metric path to max, min, "
        "or max_increase/max_decrease against --baseline) and print metric, limit, value and "
        "verdict. Every run must first be whole: a results file whose run was interrupted, "
        "aborted, lacks a part (its audit, a Locust worker) or checked nothing fails the "
        "run.status gate, unless --allow-incomplete. "
        "Exit 0 when every gate holds, 1 when one fails, 252 on a usage error, 248 when --junit or "
        "--report cannot be written.",
        epilog="""\
examples:
  swfbench gate reports/RUN/results.json --gates gates/ci.yaml
  swfbench gate new.json --gates perf.yaml --baseline reports/LAST/results.json
  swfbench gate reports/RUN/results.json --gates gates/ci.yaml --junit gates.xml --report
  swfbench gate reports/RUN/results.json --gates gates/ci.yaml --allow-incomplete
""",
    )
    parser.add_argument(
        "results", type=Path, metavar="RESULTS.json", help="the results file to judge"
    )
    renamed(
        parser,
        "--results",
        "is gone: name the results file first, as `swfbench report` does: "
        "swfbench gate RESULTS.json --gates GATES.yaml",
    )
    parser.add_argument(
        "--gates",
        type=Path,
        required=True,
        metavar="GATES.yaml",
        help="required: the limits, metric path to max, min, max_increase or max_decrease",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="BASELINE.json",
        help="saved results that max_increase and max_decrease compare with (default: none)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="judge the figures of a run that was interrupted, aborted or incomplete instead "
        "of failing it (the run.status row still names how it ended)",
    )
    parser.add_argument(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write one JUnit test case per gate to FILE (default: none)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="record the verdicts in RESULTS (as `gates`) and render its HTML report again, "
        "with a gates table, beside it (or under --reports-dir)",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        metavar="DIR",
        help="with --report: where the run's directory is (default: the one RESULTS is in, "
        "when it is named for the run; else reports)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    kind, gates = load_gates(args.gates)
    results = load_results(args.results)
    baseline = load_results(args.baseline) if args.baseline else None
    verdicts = evaluate(
        gates,
        results,
        kind=kind,
        baseline=baseline,
        source=str(args.results),
        allow_incomplete=args.allow_incomplete,
    )
    print(render_table(verdicts))
    if args.junit is not None:
        write_text(args.junit, junit_xml(verdicts) + "\n")
    if args.report:
        results["gates"] = verdicts_to_dict(verdicts)
        page = write_report(
            results,
            _reports_dir(args.results, results, args.reports_dir),
            source=str(args.results),
        )
        print(f"report: {page}")
    failed = [v for v in verdicts if not v.passed]
    print(f"{len(verdicts) - len(failed)} of {len(verdicts)} gates hold")
    return 1 if failed else 0


def _reports_dir(path: Path, results: dict[str, Any], given: Path | None) -> Path:
    """Results saved by a run sit in `<reports>/<run-id>/results.json`: render them in place."""
    if given is not None:
        return given
    run_dir = path.resolve().parent
    return run_dir.parent if run_dir.name == run_id_of(results) else Path("reports")
