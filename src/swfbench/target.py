"""Where SWF calls go: the embedded server, any SWF-compatible endpoint, or real SWF.

Real SWF is reached only with an explicit `aws=True` (the `--aws` flag), so that no run spends
money or touches an account by accident. The kind is decided here, once, from that flag, never
from a URL: every other target carries dummy credentials, or those of an identity of its
`--auth` file, and every client of it reads nothing of the user's AWS setup (see `sessions`),
so a user's real keys never travel to an emulator either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from swfbench.embedded import DEFAULT_ENGINE, EmbeddedServer
from swfbench.errors import EndpointURLError, UsageError
from swfbench.identities import AuthFile, Identity
from swfbench.sessions import resolve_aws
from swfbench.timeouts import ClientTimeouts

TargetKind = Literal["embedded", "endpoint", "aws"]

EMULATOR_REGION = "us-east-1"
EMULATOR_CREDENTIALS = ("swfbench", "swfbench")


def endpoint_url_problem(url: str) -> str | None:
    """What is wrong with an endpoint URL, or None: botocore wants http(s)://host[:port][/path],
    and fails on anything else only once a call is made, deep inside a run."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if not parts.scheme or (parts.scheme not in ("http", "https") and not parts.netloc):
        return f"{url!r} has no scheme: write http://{url.lstrip('/')}"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} has the scheme {parts.scheme}: an SWF endpoint is http:// or https://"
    if not parts.hostname:
        return f"{url!r} has no host: write e.g. http://127.0.0.1:4566"
    if port == 0:
        return f"{url!r} has port 0"
    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        return f"{url!r} is not a valid endpoint URL (botocore refuses it)"
    return None


def check_endpoint_url(url: str, source: str = "--endpoint-url") -> str:
    """The URL, or a usage error that names where it came from (a flag or the environment)."""
    problem = endpoint_url_problem(url)
    if problem is not None:
        raise EndpointURLError(f"{source}: {problem}")
    return url


@dataclass(frozen=True, kw_only=True)
class TargetSpec:
    """What the user asked for; `open_target` turns it into a reachable `Target`."""

    endpoint_url: str | None = None
    """An SWF-compatible endpoint (moto, LocalStack, ...); None with `aws=False` means embedded."""
    aws: bool = False
    """Real Amazon SWF through the standard credential chain."""
    region: str | None = None
    """Region for real SWF; emulators get us-east-1 unless told otherwise."""
    engine: str = DEFAULT_ENGINE
    """Which server the embedded target runs."""
    port: int | None = None
    """Port for the embedded server; None picks a free one."""
    engine_args: tuple[str, ...] = ()
    """Extra command-line arguments for the embedded engine (quotas, clock)."""
    auth: AuthFile | None = None
    """Identities (`--auth FILE`): the embedded engine enforces them; calls sign as one."""
    identity: str | None = None
    """Which identity of `auth` swfbench's calls sign as (None: the file's default)."""
    timeouts: ClientTimeouts = field(default_factory=ClientTimeouts)
    profile: str | None = None
    """With `aws`: the AWS named profile whose credentials and region the calls use."""
    verify: bool | str = True
    """TLS certificate checks: True, False (--no-verify-ssl) or a CA bundle's path."""

    def __post_init__(self) -> None:
        if self.aws and self.endpoint_url:
            raise UsageError(
                "--aws and --endpoint-url are exclusive: choose real SWF or an endpoint"
            )
        if self.profile is not None and (
            self.profile.endswith((".yaml", ".yml")) or Path(self.profile).is_file()
        ):
            raise UsageError(
                f"--profile {self.profile}: --profile names an AWS profile (for --aws), as in "
                "the AWS CLI; a fleet file is --fleet FILE, in swfbench load"
            )
        if self.verify is not True and not self.aws and not self.endpoint_url:
            raise UsageError(
                "--no-verify-ssl and --ca-bundle apply to HTTPS endpoints (--aws, or an https "
                "--endpoint-url); the embedded target is plain HTTP on loopback"
            )
        if self.profile is not None and not self.aws:
            raise UsageError(
                f"--profile {self.profile} names an AWS profile: it applies to real SWF only "
                "(add --aws); emulators never get your AWS credentials"
            )
        if self.endpoint_url:
            check_endpoint_url(self.endpoint_url)
        if self.auth is None:
            if self.identity is not None:
                raise UsageError("--identity names an identity of an --auth file: give --auth")
            return
        if self.aws:
            raise UsageError(
                "--auth gives identities to the engine or an emulator endpoint; real SWF "
                "authenticates your AWS credentials (conform: --restricted-profile NAME)"
            )
        self.auth.identity(self.identity)  # a usage error for an unknown name
        if self.endpoint_url is None:
            if self.engine != DEFAULT_ENGINE:
                raise UsageError(
                    f"--auth needs --engine {DEFAULT_ENGINE}: {self.engine} verifies no signature"
                )
            if self.region not in (None, EMULATOR_REGION):
                raise UsageError(
                    f"with --auth the embedded engine serves {EMULATOR_REGION} only: requests "
                    f"signed for {self.region} would be refused; omit --region"
                )

    @property
    def embedded_args(self) -> tuple[str, ...]:
        """The embedded engine's flags: `engine_args`, and `--auth` with the file."""
        if self.auth is None:
            return self.engine_args
        return (*self.engine_args, "--auth", str(self.auth.path.resolve()))

    def signing_identity(self) -> Identity | None:
        return self.auth.identity(self.identity) if self.auth is not None else None


@dataclass(frozen=True, kw_only=True)
class Target:
    """A reachable SWF: every command talks to one of these."""

    kind: TargetKind
    endpoint_url: str
    """Where every call goes; for real SWF, the endpoint botocore's resolver picked."""
    region: str
    credentials: tuple[str, str] | None = field(default=None, repr=False)
    """Static keys: always for emulators; for real SWF None (the standard AWS credential
    chain) or a profile's keys (conform's --restricted-profile)."""
    engine: str | None = None
    """The embedded engine's name, for reports."""
    emulator_version: str | None = None
    """What the embedded server is (`moto 5.2.5`, `LocalStack 2026.3.0 (moto-ext 5.1.54)`)."""
    session_token: str | None = field(default=None, repr=False)
    """Sent with `credentials` when the identity has temporary credentials."""
    identity: str | None = None
    """The name of the `--auth` identity the calls sign as, for reports."""
    timeouts: ClientTimeouts = field(default_factory=ClientTimeouts)
    profile: str | None = None
    """Real SWF only: the AWS named profile of the credential chain (None: the default)."""
    verify: bool | str = True
    """TLS certificate checks: True, False, or a CA bundle's path (botocore's `verify`)."""

    def __post_init__(self) -> None:
        if self.kind != "aws" and self.credentials is None:
            # The structural promise: an emulator never gets the standard credential chain.
            raise ValueError(f"a {self.kind} target needs its own credentials")

    @property
    def emulator(self) -> bool:
        return self.kind != "aws"

    @property
    def description(self) -> str:
        if self.kind == "aws":
            return f"real SWF ({self.region})"
        if self.kind == "embedded":
            return f"embedded {self.engine} at {self.endpoint_url}"
        return f"endpoint {self.endpoint_url}"

    def to_dict(self) -> dict[str, Any]:
        """The target as results files record it."""
        return {
            "kind": self.kind,
            "description": self.description,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "engine": self.engine,
            "emulator_version": self.emulator_version,
            "identity": self.identity,
            "client_timeouts": self.timeouts.to_dict(),
        }

    def as_identity(self, identity: Identity) -> Target:
        """The same target, with calls signed as `identity` (an identity of an auth file)."""
        return replace(
            self,
            credentials=(identity.access_key_id, identity.secret_access_key),
            session_token=identity.session_token,
            identity=identity.name,
        )


def _aws_target(
    region: str | None, timeouts: ClientTimeouts, profile: str | None, verify: bool | str
) -> Target:
    setup = resolve_aws(region, profile)
    return Target(
        kind="aws",
        endpoint_url=setup.endpoint_url,
        region=setup.region,
        timeouts=timeouts,
        profile=profile,
        verify=verify,
    )


@contextmanager
def open_target(spec: TargetSpec) -> Iterator[Target]:
    """Yield a reachable target; an embedded server lives exactly as long as the block."""
    if spec.aws:
        yield _aws_target(spec.region, spec.timeouts, spec.profile, spec.verify)
        return
    region = spec.region or EMULATOR_REGION
    identity = spec.signing_identity()
    if spec.endpoint_url:
        target = Target(
            kind="endpoint",
            endpoint_url=spec.endpoint_url.rstrip("/"),
            region=region,
            credentials=EMULATOR_CREDENTIALS,
            timeouts=spec.timeouts,
            verify=spec.verify,
        )
        yield target.as_identity(identity) if identity else target
        return
    with EmbeddedServer(
        engine=spec.engine, port=spec.port, extra_args=spec.embedded_args
    ) as server:
        target = Target(
            kind="embedded",
            endpoint_url=server.url,
            region=region,
            credentials=EMULATOR_CREDENTIALS,
            engine=spec.engine,
            emulator_version=server.version,
            timeouts=spec.timeouts,
        )
        yield target.as_identity(identity) if identity else target
