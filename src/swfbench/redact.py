"""No log line carries a key id, a secret, a session token or a signature, at any level.

At DEBUG (`swfbench heartbeat --debug` turns it on, as the AWS CLI's --debug does), botocore logs
every request it sends (headers included: `Authorization` with the key id and signature,
`X-Amz-Security-Token`) and the canonical request it signs. A signed request can be replayed
within SigV4's window, and a key id names an account, so every log record is scrubbed as it is
made: `install` wraps the process's log record factory, which every logger and handler
(Locust's, pytest's, botocore's) goes through, whatever configures them later.

What is scrubbed: the values of the credential variables in this process's environment (the
standard chain's first source) and any credentials a command resolved otherwise (a named
profile's), literally; and by their shape anywhere: AWS access key ids, the `Credential=` and
`Signature=` parts of an Authorization header, a `Signature:` line, and the values of
`X-Amz-Security-Token` and of keys named like a secret or token.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import Any

CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
"""Where the standard chain finds keys in the environment."""
MASK = "****"
SHAPES = (
    # Access key ids: AKIA (long-term), ASIA (temporary) and the other IAM unique-id prefixes.
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|APKA|ABIA|ACCA)[A-Z0-9]{12,}\b"),
    re.compile(r"(?<=Credential=)[^/,\s'\"]+"),
    re.compile(r"(?<=Signature=)[0-9a-fA-F]+"),
    re.compile(r"(?<=Signature:\n)[0-9a-fA-F]+"),
    re.compile(r"(?i)(?<=x-amz-security-token)(['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,;}]+"),
    re.compile(
        r"(?i)((?:secret_access_key|secret_key|session_token|security_token|aws_secret|"
        r"SecretAccessKey|SessionToken)['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,;}]+"
    ),
)
MIN_LITERAL = 8
"""Shorter values are not scrubbed literally (they would mask ordinary words)."""
_MARK = "swfbench_redacts"
_BASE = "swfbench_base"


def scrub(text: str, literals: Iterable[str] = ()) -> str:
    """`text` with every credential it shows replaced by `MASK`."""
    for value in sorted(literals, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, MASK)
    for shape in SHAPES:
        text = shape.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    """The match masked, keeping the separator a shape captures (`: '`, `=`)."""
    return (match.group(1) if match.re.groups else "") + MASK


def environment_secrets(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The credential values of the environment, longest first."""
    environ = dict(os.environ) if environ is None else environ
    found = {environ[name] for name in CREDENTIAL_VARIABLES if environ.get(name)}
    return tuple(sorted((v for v in found if len(v) >= MIN_LITERAL), key=len, reverse=True))


def install(literals: Iterable[str] = ()) -> None:
    """Scrub every log record this process makes from now on: the environment's credentials,
    and `literals` (credentials resolved another way). A later call adds its literals."""
    previous = logging.getLogRecordFactory()
    known: tuple[str, ...] | None = getattr(previous, _MARK, None)
    added = {value for value in literals if len(value) >= MIN_LITERAL}
    if known is not None and added <= set(known):
        return
    base = getattr(previous, _BASE, previous)
    start = known if known is not None else environment_secrets()
    secrets = tuple(sorted({*start, *added}, key=len, reverse=True))

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself, later
            return record
        clean = scrub(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), secrets)
        return record

    setattr(factory, _MARK, secrets)
    setattr(factory, _BASE, base)
    logging.setLogRecordFactory(factory)
