"""SWF's service model, as botocore ships it (`botocore/data/swf/2012-01-25/service-2.json`).

The engine validates requests against it and the conformance runner checks every response a
target gives against it, so both read the one model botocore keeps up to date instead of a
hand-copied schema. `Loader.load_service_model` returns the raw JSON document (shapes as plain
dicts), which both compile into checks once; loading it takes about 15 ms.

Two rules the API reference states in the model's own member documentation, not as model
constraints, are recognised from that text: names that "must not contain a : (colon), /
(slash), | (vertical bar), or any control characters ... must not be the literal string arn",
and "must not start or end with whitespace".
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.loaders import Loader

SERVICE = "swf"
API_VERSION = "2012-01-25"
NAME_RULE_TEXT = "must not contain a : (colon), / (slash), | (vertical bar)"
WHITESPACE_RULE_TEXT = "must not start or end with whitespace"
MARKUP = re.compile(r"<[^>]+>")
FORBIDDEN_NAME = re.compile(r"[:/|\u0000-\u001f\u007f-\u009f]")
DURATION_SHAPES = {
    # Shape -> upper bound of the number, from the member documentation: timeouts are "an
    # integer greater than or equal to 0" seconds or NONE; retention is at most 90 days or NONE.
    "DurationInSeconds": None,
    "DurationInSecondsOptional": None,
    "DurationInDays": 90,
}


@cache
def service_model() -> dict[str, Any]:
    """The raw service model: `metadata`, `operations` and `shapes`."""
    model: dict[str, Any] = Loader().load_service_model(SERVICE, "service-2", API_VERSION)
    return model


def shapes() -> dict[str, Any]:
    found: dict[str, Any] = service_model()["shapes"]
    return found


def operation(name: str) -> dict[str, Any] | None:
    """An operation's model (`input`, `output`, `errors`), or None for an unknown name."""
    found: dict[str, Any] | None = service_model()["operations"].get(name)
    return found


def operation_names() -> list[str]:
    return sorted(service_model()["operations"])


def target_prefix() -> str:
    """`SimpleWorkflowService`: the part of X-Amz-Target before the operation name."""
    prefix: str = service_model()["metadata"]["targetPrefix"]
    return prefix


def declared_errors(name: str) -> frozenset[str]:
    """The error codes the model declares for an operation (UnknownResourceFault, ...)."""
    found = operation(name)
    if found is None:
        return frozenset()
    return frozenset(error["shape"] for error in found.get("errors", ()))


def name_rules(member: dict[str, Any]) -> tuple[bool, bool]:
    """Whether a member's documentation forbids `:`, `/`, `|`, control characters and the
    literal `arn` (first), and leading or trailing whitespace (second)."""
    text = " ".join(MARKUP.sub("", member.get("documentation", "")).split())
    return NAME_RULE_TEXT in text, WHITESPACE_RULE_TEXT in text
