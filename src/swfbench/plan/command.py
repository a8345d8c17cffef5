"""`swfbench plan`: will this fleet's heartbeats fit SWF's throttling quotas?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from swfbench.errors import UsageError, one_line
from swfbench.inputs import load_yaml
from swfbench.options import (
    QUOTA_FLAGS,
    QUOTA_HELP,
    duration,
    duration_or_zero,
    finite_float,
    renamed,
    shown,
)
from swfbench.plan.planner import Bucket, Fleet, Plan, Quotas, Simulation, plan
from swfbench.report import write_report
from swfbench.results import RunStatus, envelope, now_iso, write_json


def _whole(value: str) -> int:
    """argparse's int, quoting no more than the start of a bad value (one line, never 5 KB)."""
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(value)} is not a whole number") from None


EXAMPLES = """\
examples:
  swfbench plan --workers 20000 --interval 60s               # will it fit SWF's quotas?
  swfbench plan --workers 20000 --interval 1m --jitter 10s --start synchronized
  swfbench plan --workers 20000 --interval 60 --account-refill 400 --account-bucket 25000
  swfbench plan --workers 5000 --interval 30s --quotas-file my-quotas.yaml --output json
  swfbench plan --workers 20000 --interval 60 --report         # reports/<run-id>/index.html
  swfbench plan --workers 20000 --interval 60 --save plan.json && \\
    swfbench gate plan.json --gates plan-gates.yaml
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="predict whether a heartbeat fleet fits SWF's throttling quotas",
        description=(
            "Simulate a fleet's heartbeats against SWF's RecordActivityTaskHeartbeat token "
            "buckets (per account 2000, refill 160/s; per workflow execution 1000, 1000/s, unless "
            "overridden) and report the steady rate against the refill, when throttling starts, "
            "the throttled fraction, the longest a worker goes without a successful heartbeat, "
            "the shortest safe interval and largest safe fleet, and what a synchronized start "
            "costs against a spread one. A throttled heartbeat is not retried: the worker sends "
            "its next when due. Exit 0 when the fleet fits, 1 when tasks would time out."
        ),
        epilog=EXAMPLES,
    )
    fleet = parser.add_argument_group("fleet")
    fleet.add_argument(
        "--workers",
        type=_whole,
        required=True,
        metavar="N",
        help="required: the fleet's size, activity workers each heartbeating its own task",
    )
    fleet.add_argument(
        "--interval",
        type=duration,
        required=True,
        metavar="DURATION",
        help="required: each worker's heartbeat interval, e.g. 60, 60s or 1m",
    )
    fleet.add_argument(
        "--jitter",
        type=duration_or_zero,
        default=0.0,
        metavar="DURATION",
        help="uniform ± jitter of each interval (default: 0)",
    )
    fleet.add_argument(
        "--start",
        choices=("spread", "synchronized"),
        default="spread",
        help="first heartbeats spread over one interval, or all at once (default: spread)",
    )
    fleet.add_argument(
        "--activities-per-execution",
        type=_whole,
        default=1,
        metavar="N",
        help="open activity tasks per workflow execution (default: 1)",
    )
    fleet.add_argument(
        "--heartbeat-timeout",
        type=duration,
        default=None,
        metavar="DURATION",
        help="a task times out this long without a successful heartbeat (default: twice the "
        "interval)",
    )
    quotas = parser.add_argument_group("quotas")
    quotas.add_argument(
        "--quotas-file",
        type=Path,
        metavar="FILE",
        help="YAML in the form of swfbench/data/swf_quotas.yaml (default: SWF's documented quotas)",
    )
    renamed(
        quotas,
        "--quotas",
        "is --quotas-file FILE in plan (elsewhere --quotas none|aws turns the engine's "
        "throttling on)",
    )
    for name in QUOTA_FLAGS:
        metavar, text, swf = QUOTA_HELP[name]
        quotas.add_argument(
            f"--{name.replace('_', '-')}",
            type=finite_float,
            metavar=metavar,
            help=f"{text}, e.g. a raised quota (default: the quotas file's, else SWF's {swf})",
        )
    parser.add_argument(
        "--duration",
        type=duration,
        metavar="DURATION",
        help="simulated horizon (default: long enough to reach steady state)",
    )
    parser.add_argument(
        "--seed", type=_whole, default=1, metavar="N", help="seed for the jitter (default: 1)"
    )
    parser.add_argument(
        "--output",
        type=_output_format,
        default="table",
        metavar="{table,json}",
        help="print the plan as a table, or as JSON with the bucket's level over time for "
        "charts (default: table)",
    )
    renamed(parser, "--json", "is --output json")
    parser.add_argument(
        "--save",
        type=Path,
        metavar="FILE",
        help="also write the plan's results (JSON, for swfbench gate and report) to FILE "
        "(default: none)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write an HTML report with charts under --reports-dir",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where --report writes (default: reports)",
    )
    parser.set_defaults(run=run)


def _output_format(value: str) -> str:
    if value in ("table", "json"):
        return value
    raise argparse.ArgumentTypeError(
        f"{shown(value)}: the print format is table or json; to write the plan to a file, "
        "give --save FILE"
    )


def _quotas(args: argparse.Namespace) -> Quotas:
    base = Quotas.swf_defaults()
    if args.quotas_file is not None:
        data = load_yaml(args.quotas_file, f"--quotas-file {args.quotas_file}")
        try:
            base = Quotas(
                account=Bucket(
                    size=float(data["account"]["bucket"]),
                    refill_per_s=float(data["account"]["refill_per_s"]),
                ),
                execution=Bucket(
                    size=float(data["execution"]["bucket"]),
                    refill_per_s=float(data["execution"]["refill_per_s"]),
                ),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise UsageError(
                f"--quotas-file {args.quotas_file}: expected account and execution, each with "
                f"bucket and refill_per_s numbers ({type(exc).__name__}: {one_line(exc)[:100]})"
            ) from None

    return base.overridden(**{flag: getattr(args, flag) for flag in QUOTA_FLAGS})


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def render_table(result: Plan) -> str:
    fleet, quotas = result.fleet, result.quotas
    spread, herd = result.simulations["spread"], result.simulations["synchronized"]
    rows = [
        (
            "fleet",
            f"{fleet.workers} workers every {fleet.interval_s:g} s ± {fleet.jitter_s:g} s, "
            f"{fleet.activities_per_execution} per execution, timeout {fleet.timeout_s:g} s",
        ),
        (
            "quotas",
            f"account {quotas.account.size:g} / {quotas.account.refill_per_s:g} per s; "
            f"execution {quotas.execution.size:g} / {quotas.execution.refill_per_s:g} per s",
        ),
        (
            "steady rate",
            f"{result.steady_rate_per_s:.1f}/s against refill "
            f"{quotas.account.refill_per_s:g}/s ({result.account_utilisation:.0%} of the account quota)",
        ),
        (
            "per execution",
            f"{result.execution_rate_per_s:.2f}/s ({result.execution_utilisation:.0%} of its quota)",
        ),
        (
            "shortest safe interval",
            _seconds(result.shortest_safe_interval_s)
            if result.shortest_safe_interval_s is not None
            else "none below the heartbeat timeout",
        ),
        (
            "largest safe fleet",
            f"{result.largest_safe_fleet} workers (spread start), "
            f"{result.largest_safe_synchronized_fleet} (synchronized start)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines.append("")
    lines.append(f"simulated {result.horizon_s:g} s      {'spread':>12}  {'synchronized':>12}")

    def cells(s: Simulation) -> list[str]:
        return [
            f"{s.groups} (exact)" if s.exact else f"{s.groups}",
            f"{s.heartbeats}",
            _seconds(s.throttling_starts_s),
            f"{s.throttled_fraction:.1%}",
            f"{s.steady_throttled_fraction:.1%}",
            f"{s.longest_gap_s:.1f} s",
            f"{s.workers_timed_out}",
        ]

    labels = [
        *("groups simulated", "heartbeats", "throttling starts", "throttled", "throttled, steady"),
        *("longest gap", "tasks timed out"),
    ]
    for label, left, right in zip(labels, cells(spread), cells(herd), strict=True):
        lines.append(f"{label:<20}{left:>12}  {right:>12}")
    lines.append("")
    lines.append(verdict(result))
    return "\n".join(lines)


def verdict(result: Plan) -> str:
    chosen, fleet = result.chosen, result.fleet
    if chosen.throttled == 0:
        return f"fits: no throttling with a {fleet.start} start"
    return (
        f"throttled with a {fleet.start} start: {chosen.throttled_fraction:.1%} of heartbeats, "
        f"{chosen.workers_timed_out} of {fleet.workers} tasks would time out"
    )


def run(args: argparse.Namespace) -> int:
    fleet = Fleet(
        workers=args.workers,
        interval_s=args.interval,
        jitter_s=args.jitter,
        start=args.start,
        activities_per_execution=args.activities_per_execution,
        heartbeat_timeout_s=args.heartbeat_timeout,
    )
    started = now_iso()
    result = plan(fleet, _quotas(args), horizon_s=args.duration, seed=args.seed)
    document = {
        **envelope("plan", started=started),
        # A plan is a simulation: it is whole once it has replayed the fleet's heartbeats.
        "status": RunStatus(checked=result.chosen.heartbeats).to_dict(),
        "summary": verdict(result),
        "metrics": {
            "plan": {
                "account_utilisation": result.account_utilisation,
                "throttled_fraction": result.chosen.throttled_fraction,
                "tasks_timed_out": result.chosen.workers_timed_out,
                "longest_gap_s": result.chosen.longest_gap_s,
            }
        },
        "plan": result.to_dict(),
    }
    if args.save is not None:
        write_json(args.save, document)
    as_json = args.output == "json"
    print(json.dumps(document, indent=2) if as_json else render_table(result))
    if args.report:
        page = write_report(document, args.reports_dir)
        print(f"report: {page}", file=sys.stderr if as_json else sys.stdout)
    return 1 if result.chosen.workers_timed_out else 0
