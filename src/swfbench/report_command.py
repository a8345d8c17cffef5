"""`swfbench report`: render a saved results file again."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from swfbench.errors import UsageError
from swfbench.report import write_report

DEFAULT_REPORTS_DIR = Path("reports")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render the HTML report of a saved results file",
        description="Render RESULTS.json (from plan, conform or load) into "
        "REPORTS_DIR/<run-id>/index.html, and refresh REPORTS_DIR/index.html, which lists the "
        "runs newest first. Exit 0 on success, 2 on a missing or unreadable results file.",
    )
    parser.add_argument("results", type=Path, metavar="RESULTS.json")
    parser.add_argument(
        "--reports-dir", type=Path, default=DEFAULT_REPORTS_DIR, help="default: ./reports"
    )
    parser.set_defaults(run=run)


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or "kind" not in data or "run_id" not in data:
        raise UsageError(f"{path} is not a swfbench results file (no kind and run_id)")
    return data


def run(args: argparse.Namespace) -> int:
    page = write_report(load_results(args.results), args.reports_dir)
    print(f"report: {page}")
    return 0
