"""No log line carries a key id, a secret, a session token or a signature.

`swfbench heartbeat --debug` turns on botocore's DEBUG log, as the AWS CLI's --debug does; that
log shows every request it signs (the `Authorization` header with the key id and signature,
`X-Amz-Security-Token`, the canonical request and the signature). A signed request can be
replayed within SigV4's window and a key id names an account, so every log record is scrubbed
as it is made (`install` wraps the log record factory, which every logger goes through).

Scrubbed: the given secrets literally (the credentials the command signs with), and by shape
anywhere: AWS access key ids, the `Credential=` and `Signature=` parts of an Authorization
header, a `Signature:` line, and the values of `X-Amz-Security-Token`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "****"
SHAPES = (
    # Access key ids: AKIA (long-term), ASIA (temporary) and the other IAM unique-id prefixes.
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|APKA|ABIA|ACCA)[A-Z0-9]{12,}\b"),
    re.compile(r"(?<=Credential=)[^/,\s'\"]+"),
    re.compile(r"(?<=Signature=)[0-9a-fA-F]+"),
    re.compile(r"(?<=Signature:\n)[0-9a-fA-F]+"),
    re.compile(r"(?i)(?<=x-amz-security-token)(['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,;}]+"),
)
MIN_LITERAL = 8
"""Shorter values are not scrubbed literally (they would mask ordinary words)."""
_MARK = "swfbench_redacts"
_BASE = "swfbench_base"


def scrub(text: str, literals: Iterable[str] = ()) -> str:
    """`text` with every credential it shows replaced by `MASK`."""
    for value in sorted(literals, key=len, reverse=True):
        if len(value) >= MIN_LITERAL and value in text:
            text = text.replace(value, MASK)
    for shape in SHAPES:
        text = shape.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    """The match masked, keeping the separator a shape captures (`: '`, `=`)."""
    return (match.group(1) if match.re.groups else "") + MASK


def install(literals: Iterable[str] = ()) -> None:
    """Scrub every log record this process makes from now on, `literals` included."""
    previous = logging.getLogRecordFactory()
    secrets = tuple(literals) + tuple(getattr(previous, _MARK, ()))
    base = getattr(previous, _BASE, previous)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself, later
            return record
        clean = scrub(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    setattr(factory, _MARK, secrets)
    setattr(factory, _BASE, base)
    logging.setLogRecordFactory(factory)
