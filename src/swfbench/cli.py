"""The `swfbench` command: one subcommand per job, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from swfbench import __version__, plan_command, redact
from swfbench.errors import (
    ExitCode,
    SwfbenchError,
    exit_codes_help,
    one_line,
)
from swfbench.interrupts import Interrupts
from swfbench.options import (
    ArgumentParser,
    add_engine_options,
    parse_duration,
    port,
    shown,
    target_spec,
)

if TYPE_CHECKING:
    from swfbench.activity import Timeout

# Commands import what they need (boto3, Locust, moto) when they are registered or run, so a
# command that needs none of it, such as `plan`, starts quickly.


def _timeout(value: str) -> Timeout:
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


EXAMPLES = """\
examples:
  make demo                                   # what swfbench is for, in 30 s
  swfbench heartbeat --task-token TOKEN --query cancelRequested --output text
  swfbench conform --engine moto              # where plain moto departs from SWF
  swfbench load --fleet scenarios/load/steady.yaml --gates gates/ci.yaml
  swfbench capacity --start-rate 100 --step-rate 200 --max-rate 1500 --step-time 6s
  swfbench plan --workers 20000 --interval 60s
  swfbench report reports/RUN/results.json
  swfbench gate reports/RUN/results.json --gates gates/ci.yaml
"""
SERVE_EXAMPLES = """\
examples:
  swfbench serve --port 4566                         # SWF at http://127.0.0.1:4566
  swfbench serve --engine moto                       # plain moto, on a free port
  swfbench serve --quotas aws --clock virtual        # throttling, time moved by hand
  swfbench serve --auth scenarios/auth/fleet.yaml    # signatures and IAM policies checked
"""
ACTIVITY_EXAMPLES = """\
examples:
  swfbench activity start --endpoint-url http://127.0.0.1:4566
  swfbench activity start --heartbeat-timeout 30s --start-to-close-timeout 10m
  swfbench activity start --schedule-to-start-timeout 5 --no-poll   # a task nobody takes
"""


def _register_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded SWF server in the foreground for other tools",
        description="Run the embedded SWF server on 127.0.0.1 until Ctrl-C. Point any SWF "
        "client at the printed endpoint, e.g. swfbench heartbeat --endpoint-url URL. With "
        "--auth FILE it verifies every request's SigV4 signature and the signer's IAM "
        "policies, as SWF does (clients then sign with --endpoint-url URL --auth FILE).",
        epilog=SERVE_EXAMPLES,
    )
    parser.add_argument(
        "--port",
        type=port,
        default=None,
        metavar="PORT",
        help="port to listen on, 1 to 65535, or 0 for any free one (default: a free one)",
    )
    add_engine_options(parser)
    parser.set_defaults(run=_serve, endpoint_url=None, aws=False)


def _serve(args: argparse.Namespace) -> int:
    from swfbench.embedded import EmbeddedServer

    spec = target_spec(args, port=args.port or None)
    with EmbeddedServer(
        engine=spec.engine, port=spec.port, extra_args=spec.embedded_args
    ) as server:
        print(f"SWF endpoint {server.url} ({spec.engine}); Ctrl-C stops it", flush=True)
        if spec.auth is not None:
            names = ", ".join(spec.auth.identities)
            print(f"signatures and IAM policies enforced for: {names} ({spec.auth.path})")
        try:
            code = server.wait()
        except KeyboardInterrupt:
            # Stopped as asked; still 130, as every command stopped by a signal.
            return ExitCode.INTERRUPTED
    print(f"the {spec.engine} server exited with code {code}", file=sys.stderr)
    return ExitCode.OTHER


def _register_activity(subparsers: Any) -> None:
    from swfbench.activity import DEFAULT_DOMAIN, ActivityTimeouts
    from swfbench.options import add_target_options

    parser = subparsers.add_parser(
        "activity",
        help="start activity tasks by hand",
        description="Activity tasks by hand, for trying heartbeats against a target.",
        epilog=ACTIVITY_EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser(
        "start",
        epilog=ACTIVITY_EXAMPLES,
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
            type=_timeout,
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


def build_parser(command: str | None = None) -> ArgumentParser:
    """The command line; with `command` "plan", that subcommand alone. A plan is arithmetic on
    the quotas, so it starts without importing boto3, moto or Locust, which take most of the
    whole parser's start-up time."""
    parser = ArgumentParser(
        prog="swfbench",
        description="Load generation and conformance benchmarking for Amazon SWF's "
        "RecordActivityTaskHeartbeat. With no endpoint, every command runs against an embedded "
        "SWF server on loopback; --endpoint-url picks an emulator, --aws real SWF. "
        "`swfbench COMMAND --help` explains each command, with examples.",
        epilog=EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"swfbench {__version__}")
    # Commands without --log-level leave logging at its default.
    parser.set_defaults(log_level=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if command == "plan":
        plan_command.register(subparsers)
        _add_common(parser)
        return parser
    from swfbench import (
        capacity_command,
        demo,
        gate_command,
        heartbeat_command,
        report_command,
    )
    from swfbench.conformance import command as conform_command
    from swfbench.load import command as load_command

    demo.register(subparsers)
    heartbeat_command.register(subparsers)
    conform_command.register(subparsers)
    load_command.register(subparsers)
    _register_activity(subparsers)
    _register_serve(subparsers)
    plan_command.register(subparsers)
    capacity_command.register(subparsers)
    report_command.register(subparsers)
    gate_command.register(subparsers)
    _add_common(parser)
    return parser


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _add_common(parser: argparse.ArgumentParser) -> None:
    """What every command has: --log-level, and the one exit-code table at the end of its
    --help."""
    parser.epilog = (parser.epilog + "\n" if parser.epilog else "") + exit_codes_help()
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="print Python's log records of this level and above on stderr (botocore's, "
        "Locust's, ...); key ids, secrets, tokens and signatures are masked at every level "
        "(default: none set, so Python prints warnings and errors only)",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_common(child)


def _configure_logging(level: str | None) -> None:
    if level is not None:
        logging.basicConfig(
            level=level, stream=sys.stderr, format="swfbench: %(levelname)s %(name)s: %(message)s"
        )


COMMANDS = frozenset(
    {"demo", "heartbeat", "conform", "load", "activity", "serve", "plan", "capacity", "report"}
    | {"gate"}
)


def _command(argv: Sequence[str]) -> str:
    return next((arg for arg in argv if arg in COMMANDS), "")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    redact.install()
    # Ctrl-C, SIGTERM and SIGHUP unwind as KeyboardInterrupt, so every `finally` (the embedded
    # server's stop) runs, until a command's run is under way and holds them (see interrupts).
    with Interrupts() as interrupts:
        try:
            args = build_parser(_command(argv)).parse_args(argv)
            _configure_logging(args.log_level)
            args.interrupts = interrupts
            code: int = args.run(args)
            return code
        except SwfbenchError as exc:
            print(f"swfbench: error: {one_line(exc)}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("swfbench: interrupted", file=sys.stderr)
            return ExitCode.INTERRUPTED
        except Exception as exc:
            # A bug, not the user's doing: still one line and the documented code, never a
            # page of traceback (SWFBENCH_TRACEBACK=1 shows it).
            if os.environ.get("SWFBENCH_TRACEBACK"):
                raise
            print(
                f"swfbench: internal error: {type(exc).__name__}: {one_line(exc)} (please "
                "report it; SWFBENCH_TRACEBACK=1 shows where)",
                file=sys.stderr,
            )
            return ExitCode.OTHER


if __name__ == "__main__":
    sys.exit(main())
