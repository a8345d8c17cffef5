"""`python -m swfbench.engine`: serve the extended engine until SIGTERM or SIGINT.

Exit codes: 0 after a signal, 249 (`ExitCode.EMBEDDED_TARGET`) when the engine cannot start
(untested moto version, address in use), 2 for bad flags or a bad `--auth` file.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from swfbench.errors import ExitCode

ENGINE_REGION = "us-east-1"
"""The one region the engine serves; with --auth, requests must be signed for it."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m swfbench.engine",
        description="Serve moto's SWF, extended to keep SWF's heartbeat promises at scale.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
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

    from swfbench.engine.version import UnsupportedMotoVersion, check_moto_version

    try:
        check_moto_version()
    except UnsupportedMotoVersion as exc:
        print(f"swfbench engine: {exc}", file=sys.stderr)
        return ExitCode.EMBEDDED_TARGET

    from swfbench.engine.clock import Clock, RealClock, VirtualClock
    from swfbench.engine.quotas import QuotaSettings
    from swfbench.engine.server import create_server

    clock: Clock = VirtualClock() if args.clock == "virtual" else RealClock()
    quotas = QuotaSettings(**overrides) if args.quotas == "aws" else None
    access = None
    if args.auth:
        from swfbench.engine.access import AccessControl
        from swfbench.errors import UsageError
        from swfbench.identities import load_auth_file

        try:
            access = AccessControl(load_auth_file(args.auth), region=ENGINE_REGION)
        except UsageError as exc:
            print(f"swfbench engine: {exc}", file=sys.stderr)
            return 2
    try:
        server = create_server(args.host, args.port, clock=clock, quotas=quotas, access=access)
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
    if args.clock == "real":
        server.start_sweeper()
    print(
        f"swfbench engine (moto {server.engine_info()['moto']}) listening on "
        f"http://{args.host}:{server.server_address[1]} (clock {args.clock}, quotas {args.quotas}"
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
