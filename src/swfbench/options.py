"""Command-line options shared by every command that talks to a target."""

from __future__ import annotations

import argparse
import math
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swfbench.embedded import DEFAULT_ENGINE, ENGINES
from swfbench.errors import UsageError
from swfbench.timeouts import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ClientTimeouts

if TYPE_CHECKING:
    from swfbench.target import TargetSpec

# swfbench.target pulls in boto3, which `swfbench plan` never needs: it is imported where used.

ENDPOINT_ENV = "SWFBENCH_ENDPOINT_URL"


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph texts as argparse does, but never inside a hyphenated word (a flag
    such as --reports-dir stays whole, to be found and copied); keeps texts of several lines
    (the examples, the exit-code table) as they are written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "\n".join(indent + line for line in text.splitlines())
        text = " ".join(text.split())
        return textwrap.fill(
            text,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error as `UsageError` (exit 252) instead of exiting 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Python 3.11's argparse drops a lone "--" given as `--flag=--` and hands the flag an
        # empty list instead of a value: take it as the value it is.
        if action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")
DURATION_FORMS = "30, 1.5, 30s, 500ms, 2m or 1h2m"


def shown(value: str) -> str:
    """A bad value as an error quotes it: its start only, so the error stays one short line."""
    return repr(value if len(value) <= 24 else value[:24] + "...")


def finite_float(value: str) -> float:
    """A number flag: any finite number (inf and nan would only fail later, mid-run)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(value)} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{shown(value)} is not a finite number")
    return number


def positive_float(value: str) -> float:
    """A rate flag: a finite number above zero."""
    number = finite_float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{shown(value)}: must be above 0")
    return number


def non_negative_float(value: str) -> float:
    """A finite number flag of at least 0."""
    number = finite_float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{shown(value)} must not be negative")
    return number


def parse_duration(value: str) -> float:
    """Seconds in what Locust's --run-time accepts (20, 20s, 3m, 2h, 1h20m, 3h30m10s), plus
    milliseconds (500ms) and fractions (1.5, 0.5s): one format for every duration flag of every
    command. Raises ValueError with the one-line reason."""
    text = value.strip()
    try:
        seconds = float(text)  # plain seconds, as Locust takes them
    except ValueError:
        seconds = 0.0
        position, units = 0, []
        for match in _DURATION_PART.finditer(text):
            if match.start() != position:
                break
            seconds += float(match.group(1)) * DURATION_UNITS[match.group(2)]
            units.append(match.group(2))
            position = match.end()
        in_order = [u for u in DURATION_UNITS if u in units] == units and len(set(units)) == len(
            units
        )
        if not units or position != len(text) or not in_order:
            raise ValueError(f"{shown(value)} is not a duration: write {DURATION_FORMS}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{shown(value)}: a duration must be finite")
    return seconds


def duration(value: str) -> float:
    """A duration flag above zero (see `parse_duration`)."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{shown(value)}: a duration must be positive")
    return seconds


def duration_or_zero(value: str) -> float:
    """A duration flag that may be 0 (see `parse_duration`)."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{shown(value)}: a duration must not be negative")
    return seconds


class _Renamed(argparse.Action):
    """An old spelling of a flag: using it is one line saying what to write instead."""

    def __init__(self, *args: Any, instead: str, **kwargs: Any) -> None:
        self.instead = instead
        super().__init__(*args, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option: str | None = None) -> None:
        raise UsageError(f"{option} {self.instead} (see {parser.prog} --help)")


def renamed(parser: argparse._ActionsContainer, old: str, instead: str) -> None:
    """Refuse the flag `old`, hidden from --help, with `instead`: what it is now called.
    It takes an optional value, so that the line names the flag, not its value."""
    parser.add_argument(old, nargs="?", action=_Renamed, instead=instead, help=argparse.SUPPRESS)


def port(value: str) -> int:
    """A TCP port flag: 1 to 65535, or 0 for any free port."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value}: a port is 1 to 65535 (0: any free port)")
    return number


def whole_number(least: int) -> Callable[[str], int]:
    """A flag type: a whole number of at least `least`."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(value)} is not a whole number") from None
        if number < least:
            quoted = value if len(value) <= 24 else shown(value)
            raise argparse.ArgumentTypeError(f"{quoted}: must be at least {least}")
        return number

    return parse


class _FromEnvironment(str):
    """A flag's default read from the environment: its errors name the variable."""

    __slots__ = ()


def endpoint_url(value: str) -> str:
    """--endpoint-url (or SWFBENCH_ENDPOINT_URL): checked when the command line is parsed, so
    a malformed URL is one line and exit 252 before anything runs or is written. (An
    `EndpointURLError` is no ArgumentTypeError: argparse lets it through with its exit code.)"""
    from swfbench.target import check_endpoint_url

    source = ENDPOINT_ENV if isinstance(value, _FromEnvironment) else "--endpoint-url"
    return check_endpoint_url(str(value), source)


def timeout_or_never(value: str) -> float:
    """The AWS CLI's --cli-read-timeout and --cli-connect-timeout: a duration, 0 for none."""
    seconds = duration_or_zero(value)
    return seconds if seconds > 0 else math.inf


def add_target_options(parser: argparse.ArgumentParser, *, aws_cli: bool = False) -> None:
    """Where the command's calls go. With `aws_cli` (the heartbeat command), the client
    timeouts also answer to the AWS CLI's names, --cli-connect-timeout and --cli-read-timeout,
    where 0 means no timeout, as there."""
    group = parser.add_argument_group(
        "target",
        "With neither --endpoint-url nor --aws, swfbench starts its own SWF server on loopback "
        "(the embedded target) and stops it when the command ends.",
    )
    from_environment = os.environ.get(ENDPOINT_ENV)
    group.add_argument(
        "--endpoint-url",
        type=endpoint_url,
        # argparse passes a string default through `type` too: the variable is checked as well.
        default=_FromEnvironment(from_environment) if from_environment else None,
        metavar="URL",
        help="an SWF-compatible endpoint such as moto or LocalStack (default: "
        f"{ENDPOINT_ENV} if set, else the embedded target)",
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
        "--profile",
        metavar="NAME",
        help="with --aws: the AWS named profile whose credentials and region to use, as the "
        "AWS CLI's --profile (default: AWS_PROFILE, else the default profile)",
    )
    never = "; 0: never, as in the AWS CLI" if aws_cli else ""
    group.add_argument(
        "--connect-timeout",
        *(["--cli-connect-timeout"] if aws_cli else []),
        type=timeout_or_never if aws_cli else duration,
        metavar="DURATION",
        help="give up on a connection to the target after this long; such a call fails as "
        f"ConnectTimeout (default: {CONNECT_TIMEOUT_S:g}s{never})",
    )
    group.add_argument(
        "--read-timeout",
        *(["--cli-read-timeout"] if aws_cli else []),
        type=timeout_or_never if aws_cli else duration,
        metavar="DURATION",
        help="give up on an answer after this long; such a call fails as ReadTimeout "
        f"(default: {READ_TIMEOUT_S:g}s, long polls at least 70s{never})",
    )
    group.add_argument(
        "--identity",
        metavar="NAME",
        help="with --auth: the identity swfbench's calls sign as (default: the file's "
        "default_identity)",
    )
    add_engine_options(group)


QUOTA_FLAGS = ("account_bucket", "account_refill", "execution_bucket", "execution_refill")
QUOTA_HELP = {
    "account_bucket": ("N", "the account's bucket of heartbeats", "2000"),
    "account_refill": ("PER_S", "heartbeats the account's bucket regains per second", "160"),
    "execution_bucket": ("N", "each workflow execution's bucket of heartbeats", "1000"),
    "execution_refill": ("PER_S", "heartbeats an execution's bucket regains per second", "1000"),
}
"""The four quota overrides, shared by the engine's options and plan's (documented: fact sheet,
"Throttling")."""
LIMIT_FLAGS = ("max_closed_executions", "max_connections", "idle_timeout")
EMBEDDED_ONLY = ("engine", "quotas", *QUOTA_FLAGS, "clock", *LIMIT_FLAGS)
"""Options of the embedded server: meaningless for an endpoint or real SWF, so refused there."""


def check_quotas(overrides: dict[str, float | None]) -> None:
    """Refuse quota overrides no token bucket can have (`UsageError`): a bucket below one
    token, a refill of zero or less, beyond 1e12, or not a number, as `swfbench plan` does."""
    from swfbench.plan.planner import Quotas

    Quotas.swf_defaults().overridden(**overrides).check()


def flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_engine_options(group: argparse._ActionsContainer) -> None:
    """Options of the embedded server: which engine, and the extended engine's quotas and clock.
    Their defaults are None, so that one given with another target is refused (see
    `engine_args`); the help says what None stands for."""
    group.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        help=f"server run by the embedded target: {DEFAULT_ENGINE}, moto's SWF extended to keep "
        "SWF's heartbeat promises; moto, plain moto; localstack, LocalStack with only SWF, from "
        f"its own Python 3.13 environment, built on first use (default: {DEFAULT_ENGINE})",
    )
    group.add_argument(
        "--quotas",
        choices=("none", "aws"),
        help="aws: the embedded engine throttles heartbeats with SWF's documented token buckets "
        "(per account 2000, 160/s; per execution 1000, 1000/s) (default: none)",
    )
    for name in QUOTA_FLAGS:
        metavar, text, swf = QUOTA_HELP[name]
        group.add_argument(
            flag(name),
            type=finite_float,
            metavar=metavar,
            help=f"with --quotas aws: {text} (default: SWF's {swf})",
        )
    group.add_argument(
        "--clock",
        choices=("real", "virtual"),
        help="virtual: the embedded engine's time moves only when told (POST "
        "/swfbench/clock/advance) (default: real)",
    )
    group.add_argument(
        "--auth",
        type=Path,
        metavar="FILE",
        help="identities and their IAM policies (YAML): the embedded engine then verifies every "
        "signature and policy, and swfbench signs as one of them (default: none, nothing "
        "verified)",
    )
    group.add_argument(
        "--max-closed-executions",
        type=whole_number(0),
        metavar="N",
        # The defaults are the engine's (swfbench.engine.limits), which imports moto: too slow
        # to load for every command line; a test keeps these texts true.
        help="the embedded engine keeps at most N closed executions, each only for its "
        "domain's retention period (default: 5000)",
    )
    group.add_argument(
        "--max-connections",
        type=whole_number(1),
        metavar="N",
        help="the embedded engine serves at most N connections at once and answers more with "
        "HTTP 503 (default: 4096, or fewer to fit the file descriptor limit)",
    )
    group.add_argument(
        "--idle-timeout",
        type=duration,
        metavar="DURATION",
        help="the embedded engine closes connections idle this long (default: 120s)",
    )


def _listed(flags: list[str]) -> str:
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]


def engine_args(args: argparse.Namespace) -> tuple[str, ...]:
    """The embedded engine's own flags for what the user asked. Each option of the embedded
    server given with another target is refused, not ignored: it would change nothing."""
    given = [flag(name) for name in EMBEDDED_ONLY if getattr(args, name, None) is not None]
    if given and (args.endpoint_url or args.aws):
        where = "--aws (real SWF)" if args.aws else f"--endpoint-url {args.endpoint_url}"
        verb = "applies" if len(given) == 1 else "apply"
        raise UsageError(
            f"{_listed(given)} {verb} to the embedded target only; with {where} swfbench runs "
            "no server: drop it"
        )
    engine = args.engine or DEFAULT_ENGINE
    quotas = args.quotas or "none"
    extra: list[str] = []
    if quotas != "none":
        extra += ["--quotas", quotas]
    for name in QUOTA_FLAGS:
        value = getattr(args, name)
        if value is not None:
            if quotas == "none":
                raise UsageError(f"{flag(name)} needs --quotas aws")
            extra += [flag(name), f"{value:g}"]
    if quotas != "none":
        check_quotas({name: getattr(args, name) for name in QUOTA_FLAGS})
    if args.clock not in (None, "real"):
        extra += ["--clock", args.clock]
    for name in LIMIT_FLAGS:
        value = getattr(args, name)
        if value is not None:
            extra += [flag(name), str(value)]
    if extra and engine != "swfbench":
        raise UsageError(
            f"--quotas, --clock and the engine's limits need --engine swfbench; {engine} "
            "has none of them"
        )
    return tuple(extra)


def client_timeouts(
    args: argparse.Namespace, defaults: ClientTimeouts | None = None
) -> ClientTimeouts:
    """The flags' timeouts; those not given come from `defaults` (e.g. a load profile's)."""
    defaults = defaults or ClientTimeouts()
    return ClientTimeouts(
        connect_s=getattr(args, "connect_timeout", None) or defaults.connect_s,
        read_s=getattr(args, "read_timeout", None) or defaults.read_s,
    )


def target_spec(
    args: argparse.Namespace,
    *,
    port: int | None = None,
    timeouts: ClientTimeouts | None = None,
) -> TargetSpec:
    from swfbench.identities import load_auth_file
    from swfbench.target import TargetSpec

    auth = getattr(args, "auth", None)
    return TargetSpec(
        endpoint_url=args.endpoint_url,
        aws=args.aws,
        region=getattr(args, "region", None),
        engine=args.engine or DEFAULT_ENGINE,
        port=port,
        engine_args=engine_args(args),
        auth=load_auth_file(auth) if auth is not None else None,
        identity=getattr(args, "identity", None),
        timeouts=timeouts or client_timeouts(args),
        profile=getattr(args, "profile", None),
        verify=_verify(args),
    )


def _verify(args: argparse.Namespace) -> bool | str:
    """heartbeat's --no-verify-ssl and --ca-bundle, as botocore's `verify`."""
    no_verify, bundle = getattr(args, "no_verify_ssl", False), getattr(args, "ca_bundle", None)
    if no_verify and bundle is not None:
        raise UsageError(
            "--no-verify-ssl and --ca-bundle are exclusive: check with a bundle or not at all"
        )
    if bundle is not None and not Path(bundle).is_file():
        raise UsageError(f"--ca-bundle {bundle}: no such file")
    return False if no_verify else str(bundle) if bundle is not None else True
