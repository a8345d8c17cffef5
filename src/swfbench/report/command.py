"""`swfbench report`: render a saved results file again."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from swfbench import __version__
from swfbench.errors import UsageError
from swfbench.inputs import shown
from swfbench.report import write_report
from swfbench.report.common import CONFORMANCE_KINDS
from swfbench.report.comparison_page import COMPARABLE, comparison_document
from swfbench.report.render import MALFORMED, RENDERED_KINDS
from swfbench.results import load_results, new_run_id, now_iso

DEFAULT_REPORTS_DIR = Path("reports")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render the HTML report of a saved results file",
        description="Render RESULTS.json into DIR/<run-id>/index.html, and refresh "
        "DIR/index.html, which lists the runs newest first. It renders every kind of results "
        f"swfbench writes: {_kinds()}. Two load (or two capacity) results make a comparison "
        "page: A.json is the baseline, B.json the run compared with it, on the same axes with "
        "their differences in a table; several conformance results make one matrix. Exit 0 "
        "on success, 252 on a missing or unreadable results file or results that do not "
        "combine, 248 when the reports directory cannot be written.",
        epilog="""\
examples:
  swfbench report reports/RUN/results.json                  # render a run again
  swfbench report reports/RUN/results.json --reports-dir /tmp/pages
  swfbench report reports/A/results.json reports/B/results.json   # B compared with A
  swfbench report engine.json moto.json localstack.json     # one conformance matrix
  swfbench plan --workers 20000 --interval 60 --save plan.json && swfbench report plan.json
""",
    )
    parser.add_argument(
        "results",
        type=Path,
        nargs="+",
        metavar="RESULTS.json",
        help="one results file; two load or two capacity results to compare (A B); or "
        "several conformance results to combine into one matrix",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=DEFAULT_REPORTS_DIR,
        metavar="DIR",
        help="where the run's page and the index go (default: reports)",
    )
    parser.set_defaults(run=run)


def _kinds() -> str:
    """Every kind of results `swfbench report` renders, named for --help."""
    where = {
        "plan": "swfbench plan --save or --report",
        "load": "swfbench load",
        "capacity": "swfbench capacity",
        "conformance": "swfbench conform",
        "swfbench-conformance-results": "pytest scenarios/conformance --swf-results",
        "conformance-matrix": "several conformance results named together",
        "comparison": "two load or two capacity results named together",
    }
    return "; ".join(f"{kind} ({where.get(kind, kind)})" for kind in RENDERED_KINDS)


def combine(runs: list[dict[str, Any]], paths: list[Path]) -> dict[str, Any]:
    """Several conformance runs (e.g. moto and another emulator) as one matrix document, or two
    load (or capacity) runs as a comparison."""
    if all(run["kind"] in COMPARABLE for run in runs):
        return comparison_document(runs, [str(path) for path in paths])
    for run, path in zip(runs, paths, strict=True):
        if run["kind"] not in CONFORMANCE_KINDS:
            raise UsageError(
                f"{path} holds {shown(run['kind'])} results: only conformance results combine into a "
                "matrix; compare two load runs or two capacity runs"
            )
    return {
        "kind": "conformance-matrix",
        "run_id": new_run_id("matrix"),
        "started": now_iso(),
        "swfbench_version": __version__,
        "summary": f"{len(runs)} targets",
        "runs": runs,
    }


def run(args: argparse.Namespace) -> int:
    runs = [load_results(path) for path in args.results]
    try:
        document = runs[0] if len(runs) == 1 else combine(runs, args.results)
    except MALFORMED as exc:
        raise UsageError(
            f"{', '.join(map(str, args.results))}: results that do not combine: "
            f"{' '.join(str(exc).split())[:200]}"
        ) from None
    source = str(args.results[0]) if len(runs) == 1 else ", ".join(map(str, args.results))
    page = write_report(document, args.reports_dir, source=source)
    print(f"report: {page}")
    return 0
