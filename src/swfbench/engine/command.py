"""`swfbench serve`: the embedded SWF server in the foreground, for other tools."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from swfbench.errors import ExitCode
from swfbench.options import add_engine_options, port, target_spec

EXAMPLES = """\
examples:
  swfbench serve --port 4566                         # SWF at http://127.0.0.1:4566
  swfbench serve --engine moto                       # plain moto, on a free port
  swfbench serve --quotas aws --clock virtual        # throttling, time moved by hand
  swfbench serve --auth scenarios/auth/fleet.yaml    # signatures and IAM policies checked
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded SWF server in the foreground for other tools",
        description="Run the embedded SWF server on 127.0.0.1 until Ctrl-C. Point any SWF "
        "client at the printed endpoint, e.g. swfbench heartbeat --endpoint-url URL. With "
        "--auth FILE it verifies every request's SigV4 signature and the signer's IAM "
        "policies, as SWF does (clients then sign with --endpoint-url URL --auth FILE).",
        epilog=EXAMPLES,
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
