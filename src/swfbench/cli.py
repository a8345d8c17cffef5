"""The `swfbench` command: one subcommand per job, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from swfbench import __version__, redact
from swfbench.errors import (
    ExitCode,
    SwfbenchError,
    exit_codes_help,
    one_line,
)
from swfbench.interrupts import Interrupts
from swfbench.options import (
    ArgumentParser,
)
from swfbench.plan import command as plan_command

if TYPE_CHECKING:
    pass

# Commands import what they need (boto3, Locust, moto) when they are registered or run, so a
# command that needs none of it, such as `plan`, starts quickly.


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
    from swfbench.capacity import command as capacity_command
    from swfbench.conformance import command as conform_command
    from swfbench.demo import command as demo_command
    from swfbench.engine import command as serve_command
    from swfbench.gate import command as gate_command
    from swfbench.heartbeat import activity_command
    from swfbench.heartbeat import command as heartbeat_command
    from swfbench.load import command as load_command
    from swfbench.report import command as report_command

    demo_command.register(subparsers)
    heartbeat_command.register(subparsers)
    conform_command.register(subparsers)
    load_command.register(subparsers)
    activity_command.register(subparsers)
    serve_command.register(subparsers)
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
