"""`python -m swfbench.engine`: serve the extended engine until SIGTERM or SIGINT.

Exit codes: 0 after a signal, 249 (`ExitCode.EMBEDDED_TARGET`) when the engine cannot start
(untested moto version, address in use), 2 for bad flags or a bad `--auth` file.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from types import FrameType

from swfbench.engine.limits import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CLOSED_EXECUTIONS,
    DEFAULT_MAX_CONNECTIONS,
)
from swfbench.errors import ExitCode, UsageError
from swfbench.options import check_quotas, port, whole_number

ENGINE_REGION = "us-east-1"
"""The one region the engine serves; with --auth, requests must be signed for it."""


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(f"{value}: must be a positive, finite number of seconds")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m swfbench.engine",
        description="Serve moto's SWF, extended to keep SWF's heartbeat promises at scale.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port, required=True, help="0: any free port")
    parser.add_argument(
        "--quotas",
        choices=("none", "aws"),
        default="none",
        help="aws: throttle heartbeats with SWF's documented token buckets",
    )
    parser.add_argument("--account-bucket", type=float, help="per-account bucket (2000)")
    parser.add_argument("--account-refill", type=float, help="per-account refill/s (160)")
    parser.add_argument("--execution-bucket", type=float, help="per-execution bucket (1000)")
    parser.add_argument("--execution-refill", type=float, help="per-execution refill/s (1000)")
    parser.add_argument(
        "--clock",
        choices=("real", "virtual"),
        default="real",
        help="virtual: time moves only through POST /swfbench/clock/advance",
    )
    parser.add_argument(
        "--auth",
        metavar="FILE",
        help="verify SigV4 signatures and evaluate IAM policies of the identities in FILE",
    )
    parser.add_argument(
        "--max-closed-executions",
        type=whole_number(0),
        default=DEFAULT_MAX_CLOSED_EXECUTIONS,
        metavar="N",
        help="closed executions kept at most, within their domain's retention; the oldest "
        f"are forgotten first (default {DEFAULT_MAX_CLOSED_EXECUTIONS})",
    )
    parser.add_argument(
        "--max-connections",
        type=whole_number(1),
        metavar="N",
        help="connections served at once; more are answered HTTP 503 (default "
        f"{DEFAULT_MAX_CONNECTIONS}, or fewer to fit the file descriptor limit)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help=f"close a connection idle this long (default {DEFAULT_IDLE_TIMEOUT:g})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    overrides = {
        key: value
        for key in ("account_bucket", "account_refill", "execution_bucket", "execution_refill")
        if (value := getattr(args, key)) is not None
    }
    if overrides and args.quotas != "aws":
        parser.error("the bucket flags need --quotas aws")
    try:
        check_quotas(overrides)
    except UsageError as exc:
        parser.error(str(exc))

    from swfbench.engine.version import UnsupportedMotoVersion, check_moto_version

    try:
        check_moto_version()
    except UnsupportedMotoVersion as exc:
        print(f"swfbench engine: {exc}", file=sys.stderr)
        return ExitCode.EMBEDDED_TARGET

    from swfbench.engine.clock import Clock, RealClock, VirtualClock
    from swfbench.engine.connections import fit_descriptor_limit
    from swfbench.engine.limits import ConnectionLimits
    from swfbench.engine.quotas import QuotaSettings
    from swfbench.engine.server import create_server

    clock: Clock = VirtualClock() if args.clock == "virtual" else RealClock()
    quotas = QuotaSettings(**overrides) if args.quotas == "aws" else None
    access = None
    if args.auth:
        from swfbench.engine.access import AccessControl
        from swfbench.identities import load_auth_file

        try:
            access = AccessControl(load_auth_file(args.auth), region=ENGINE_REGION)
        except UsageError as exc:
            print(f"swfbench engine: {exc}", file=sys.stderr)
            return 2
    limits = ConnectionLimits(
        max_connections=fit_descriptor_limit(args.max_connections),
        idle_timeout=args.idle_timeout,
    )
    try:
        server = create_server(
            args.host,
            args.port,
            clock=clock,
            quotas=quotas,
            max_closed_executions=args.max_closed_executions,
            limits=limits,
            access=access,
        )
    except OSError as exc:
        print(
            f"swfbench engine: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return ExitCode.EMBEDDED_TARGET

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever, which runs in this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"swfbench engine (moto {server.engine_info()['moto']}) listening on "
        f"http://{args.host}:{server.server_address[1]} (clock {args.clock}, quotas {args.quotas}, "
        f"at most {limits.max_connections} connections"
        + (f", auth {len(access.auth.identities)} identities)" if access else ")"),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
