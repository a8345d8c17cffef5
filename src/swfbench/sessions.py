"""botocore sessions, one kind per target kind: the parent decides which, once.

An emulator target (embedded, `--endpoint-url`) gets a session that reads nothing of the user's
AWS setup: no `AWS_*` variable, no config or credentials file, no profile. Its calls carry the
dummy keys (or an `--auth` identity) they are given, so a missing `AWS_PROFILE` or a malformed
`~/.aws/config` cannot break an emulator run, and no real key is ever near one.

Only `--aws` reads the standard chain, through `resolve_aws`: the region, the credentials and
the endpoint that botocore's own resolver picks (`AWS_ENDPOINT_URL_SWF`, `AWS_ENDPOINT_URL`, the
config file's `endpoint_url`, FIPS and dual-stack settings), resolved once in the parent and
handed to every path (swfbench's calls, Locust's send path, raw requests), so traffic never
splits. Any problem with that setup is one `ConfigurationError` line (exit 253).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3
import botocore.session
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
from botocore.credentials import CredentialResolver
from botocore.exceptions import BotoCoreError, ProfileNotFound

from swfbench.errors import ConfigurationError

_FILES = {"config_file", "credentials_file"}


def emulator_session() -> boto3.session.Session:
    """A session for an emulator: every setting at botocore's default, none read from the
    environment or from a file (the config and credentials files are the empty device)."""
    variables = {
        name: (None, None, os.devnull if name in _FILES else default, convert)
        for name, (_, _, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    session = botocore.session.Session(variables)
    # No credential provider either (the environment's keys, a profile, SSO, instance
    # metadata): an emulator client signs with the keys it is given, or cannot be made.
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    return boto3.session.Session(botocore_session=session)


def without_aws_environment(environ: dict[str, str]) -> dict[str, str]:
    """`environ` less every `AWS_*` variable: what a child serving an emulator target gets."""
    return {key: value for key, value in environ.items() if not key.startswith("AWS_")}


@dataclass(frozen=True)
class AwsSetup:
    """Real SWF as the standard chain resolves it."""

    region: str
    endpoint_url: str
    """The endpoint botocore's resolver picked: every path sends here."""


def _problem(exc: Exception) -> str:
    return " ".join(str(exc).split())


def aws_session(region: str | None = None, profile: str | None = None) -> boto3.session.Session:
    """A session on the standard chain, or on the named profile (`--aws --profile NAME`, as the
    AWS CLI's --profile), `--aws` only; its setup problems are one line."""
    try:
        return boto3.session.Session(region_name=region, profile_name=profile)
    except ProfileNotFound:
        raise ConfigurationError(
            f"--profile: no AWS profile named {profile!r} (see aws configure list-profiles)"
        ) from None
    except BotoCoreError as exc:
        raise ConfigurationError(f"--aws: {_problem(exc)}") from None


def resolve_aws(region: str | None, profile: str | None = None) -> AwsSetup:
    """Region, credentials and endpoint for `--aws` (of the named profile, if any), checked
    now: a missing or broken setup is one line (exit 253) before anything runs."""
    session = aws_session(region, profile)
    try:
        if session.region_name is None:
            raise ConfigurationError(
                "--aws needs a region: pass --region or set AWS_DEFAULT_REGION"
            )
        credentials = session.get_credentials()
        if credentials is None:
            raise ConfigurationError(
                "no AWS credentials found for --aws: configure them as for the AWS CLI "
                "(aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            )
        credentials.get_frozen_credentials()  # temporary credentials: fetched (or refused) now
        client = session.client("swf", region_name=session.region_name)
        endpoint = str(client.meta.endpoint_url)
    except BotoCoreError as exc:
        raise ConfigurationError(f"--aws: {_problem(exc)}") from None
    return AwsSetup(region=session.region_name, endpoint_url=endpoint.rstrip("/"))


def aws_credentials(region: str, profile: str | None = None) -> tuple[str, str, str | None]:
    """The standard chain's (or the named profile's) current keys (`--aws` only): key id,
    secret, session token."""
    try:
        found = aws_session(region, profile).get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except BotoCoreError as exc:
        raise ConfigurationError(f"--aws: {_problem(exc)}") from None
    if frozen is None:
        raise ConfigurationError("no AWS credentials found for real SWF")
    return frozen.access_key, frozen.secret_key, frozen.token
