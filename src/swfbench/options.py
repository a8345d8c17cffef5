"""Command-line options shared by every command that talks to a target."""

from __future__ import annotations

import argparse
import os

from swfbench.embedded import DEFAULT_ENGINE, ENGINES
from swfbench.errors import UsageError
from swfbench.target import TargetSpec

ENDPOINT_ENV = "SWFBENCH_ENDPOINT_URL"


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error as `UsageError` (exit 252) instead of exiting 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def add_target_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "target",
        "With neither --endpoint-url nor --aws, swfbench starts its own SWF server on loopback "
        "(the embedded target) and stops it when the command ends.",
    )
    group.add_argument(
        "--endpoint-url",
        default=os.environ.get(ENDPOINT_ENV) or None,
        metavar="URL",
        help=f"an SWF-compatible endpoint such as moto or LocalStack (env {ENDPOINT_ENV})",
    )
    group.add_argument(
        "--aws",
        action="store_true",
        help="use real Amazon SWF through the standard AWS credential chain (costs money)",
    )
    group.add_argument(
        "--region", help="AWS region (default: the AWS configuration; us-east-1 for emulators)"
    )
    group.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default=DEFAULT_ENGINE,
        help=f"server run by the embedded target (default: {DEFAULT_ENGINE})",
    )


def target_spec(args: argparse.Namespace, *, port: int | None = None) -> TargetSpec:
    return TargetSpec(
        endpoint_url=args.endpoint_url,
        aws=args.aws,
        region=args.region,
        engine=args.engine,
        port=port,
    )
