"""`swfbench activity start`: one activity task through the real SWF flow, its handle printed
for heartbeating by hand (`swfbench heartbeat --task-token ...`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from swfbench.activity import Timeout
from swfbench.errors import ExitCode
from swfbench.options import parse_duration, shown

EXAMPLES = """\
examples:
  swfbench activity start --endpoint-url http://127.0.0.1:4566
  swfbench activity start --heartbeat-timeout 30s --start-to-close-timeout 10m
  swfbench activity start --schedule-to-start-timeout 5 --no-poll   # a task nobody takes
"""


def activity_timeout(value: str) -> Timeout:
    """An SWF activity timeout: NONE, or a duration of whole seconds (SWF takes at most 8
    digits, fact sheet "The call")."""
    if value.upper() == "NONE":
        return "NONE"
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, or NONE") from None
    if seconds < 0 or seconds != int(seconds) or seconds >= 10**8:
        raise argparse.ArgumentTypeError(
            f"{shown(value)}: SWF takes whole seconds, 0 to 99999999, or NONE"
        )
    return int(seconds)


def register(subparsers: Any) -> None:
    from swfbench.activity import DEFAULT_DOMAIN, ActivityTimeouts
    from swfbench.options import add_target_options

    parser = subparsers.add_parser(
        "activity",
        help="start activity tasks by hand",
        description="Activity tasks by hand, for trying heartbeats against a target.",
        epilog=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser(
        "start",
        epilog=EXAMPLES,
        help="start one activity task through the real SWF flow and print its handle as JSON",
        description="Register the domain and types if needed, start a workflow execution, "
        "schedule one activity task with the given timeouts and poll it, then print the handle "
        "as JSON in SWF's member names (taskToken, workflowId, runId, activityId, the event "
        "ids).",
    )
    defaults = ActivityTimeouts()
    for name, default in (
        ("heartbeat", defaults.heartbeat),
        ("start-to-close", defaults.start_to_close),
        ("schedule-to-start", defaults.schedule_to_start),
        ("schedule-to-close", defaults.schedule_to_close),
    ):
        start.add_argument(
            f"--{name}-timeout",
            type=activity_timeout,
            default=default,
            metavar="DURATION",
            help=f"the task's {name.replace('-', ' ')} timeout: whole seconds (30, 2m) or NONE "
            f"(default: {default})",
        )
    start.add_argument(
        "--domain",
        default=DEFAULT_DOMAIN,
        metavar="NAME",
        help=f"SWF domain, registered if needed (default: {DEFAULT_DOMAIN})",
    )
    start.add_argument(
        "--no-poll",
        action="store_true",
        help="leave the task scheduled (no worker has taken it, so there is no token yet)",
    )
    add_target_options(start)
    start.set_defaults(run=_activity_start)


def _activity_start(args: argparse.Namespace) -> int:
    from swfbench.activity import ActivityTimeouts, bootstrap, start_activity
    from swfbench.client import SWFClient
    from swfbench.options import target_spec
    from swfbench.target import open_target

    timeouts = ActivityTimeouts(
        heartbeat=args.heartbeat_timeout,
        start_to_close=args.start_to_close_timeout,
        schedule_to_start=args.schedule_to_start_timeout,
        schedule_to_close=args.schedule_to_close_timeout,
    )
    with open_target(target_spec(args)) as target:
        if target.kind == "embedded":
            print(
                "note: the embedded target stops when this command ends; to keep the task, run "
                "`swfbench serve` and pass its endpoint with --endpoint-url",
                file=sys.stderr,
            )
        client = SWFClient(target)
        bootstrap(client, args.domain)
        handle = start_activity(
            client, domain=args.domain, timeouts=timeouts, start=not args.no_poll
        )
    print(json.dumps(handle.to_swf(), indent=4))
    return ExitCode.OK
