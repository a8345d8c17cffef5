"""The wire contract: every answer a target gives, checked against SWF's model from botocore.

A scenario's semantic checks say what came back; this says whether it came back in a shape
SWF's clients can read. Each HTTP answer (`Exchange`) of every step, raw requests included, is
checked for:

- `content-type`: every answer is `application/x-amz-json-1.0` (model metadata, JSON 1.0);
- `not-json`: a success body is empty or a JSON object;
- `missing`, `type`, `enum`, `length`, `range`: the body against the operation's output shape,
  converted from botocore's model to JSON Schema and checked with jsonschema;
- `error-body`: an error is a JSON object with `__type`;
- `undeclared-error`: its code is one the model declares for the operation, or one of the
  errors any AWS JSON service answers (`COMMON_ERRORS`, graded);
- `status`: a client fault answers HTTP 400, never 500.

Each violation is a `Finding` with the operation, the JSON path (`$.events[*].
activityTaskTimedOutEventAttributes.startedEventId`, list indexes folded) and what is wrong.
Identical findings of one scenario are counted once, with how often they occurred.

Real SWF itself departs from its model in a few observed places; `MODEL_EXCEPTIONS` lists them
with their evidence, and where one applies the answer must be what SWF sends, not what the model
says. The check holds targets to what SWF does, not to the letter of the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from swfbench import swf_model
from swfbench.client import Exchange

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
RULES = (
    "content-type",
    "not-json",
    "missing",
    "type",
    "enum",
    "length",
    "range",
    "error-body",
    "undeclared-error",
    "status",
    "empty-poll",
)


@dataclass(frozen=True)
class CommonError:
    code: str
    status: int
    """The HTTP status SWF answers it with."""
    grade: str
    evidence: str


COMMON_ERRORS: tuple[CommonError, ...] = (
    CommonError("ThrottlingException", 400, "observed", "fact sheet, Quotas: simpleflow issue 108"),
    CommonError("ValidationException", 400, "inferred", "fact sheet, The call: coral's validation"),
    CommonError(
        "SerializationException",
        400,
        "inferred",
        "fact sheet, Polls, events and the wire: a member of the wrong JSON type",
    ),
    CommonError(
        "UnknownOperationException",
        400,
        "inferred",
        "fact sheet, Polls, events and the wire: an unknown X-Amz-Target",
    ),
    CommonError(
        "AccessDeniedException", 400, "observed", "fact sheet, The call: Netflix/asgard issue 722"
    ),
    *(
        CommonError(code, 400, "inferred", "fact sheet, Access control: signature failures")
        for code in (
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "IncompleteSignatureException",
            "MissingAuthenticationTokenException",
        )
    ),
    CommonError("InternalFailure", 500, "inferred", "AWS common errors: a fault of the service"),
    CommonError("ServiceUnavailable", 503, "inferred", "AWS common errors: a fault of the service"),
)
"""Errors any operation may answer besides the ones the model declares for it."""
SERVER_FAULTS = frozenset({"InternalFailure", "ServiceUnavailable"})


@dataclass(frozen=True)
class ModelException:
    """Where real SWF departs from its own model: the answer SWF gives instead."""

    operation: str
    when: str
    answer: dict[str, Any]
    """The whole body SWF answers in that case."""
    grade: str
    evidence: str

    def applies(self, operation: str, body: Mapping[str, Any]) -> bool:
        # Both cases are an empty long poll: no task, so no taskToken.
        return operation == self.operation and not body.get("taskToken")


MODEL_EXCEPTIONS: tuple[ModelException, ...] = (
    ModelException(
        "PollForDecisionTask",
        "no decision task within the long poll: no taskToken, workflowExecution, workflowType "
        "or events, although the model marks them required",
        {"previousStartedEventId": 0, "startedEventId": 0},
        "observed",
        "fact sheet, Polls, events and the wire: brendanhay/amazonka issues 108, 257, 285",
    ),
    ModelException(
        "PollForActivityTask",
        "no activity task within the long poll: no taskToken, activityId, workflowExecution or "
        "activityType, although the model marks them required",
        {"startedEventId": 0},
        "observed",
        "fact sheet, Polls, events and the wire: brendanhay/amazonka issues 108, 257, 285",
    ),
)


@dataclass(frozen=True)
class Finding:
    operation: str
    rule: str
    path: str
    """JSON path in the answer's body, list indexes folded to [*]; `$` for the whole answer."""
    message: str
    count: int = 1

    def key(self) -> tuple[str, str, str, str]:
        return (self.operation, self.rule, self.path, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "count": self.count,
        }


# The model as JSON Schema ------------------------------------------------------------------


def _shape_schema(shape: dict[str, Any]) -> dict[str, Any]:
    kind = shape["type"]
    if kind == "structure":
        return {
            "type": "object",
            "properties": {
                name: {"$ref": f"#/$defs/{member['shape']}"}
                for name, member in shape.get("members", {}).items()
            },
            "required": list(shape.get("required", ())),
        }
    if kind == "list":
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"$ref": f"#/$defs/{shape['member']['shape']}"},
        }
        if "min" in shape:
            schema["minItems"] = shape["min"]
        if "max" in shape:
            schema["maxItems"] = shape["max"]
        return schema
    if kind == "string":
        schema = {"type": "string"}
        if "enum" in shape:
            schema["enum"] = list(shape["enum"])
        if "min" in shape:
            schema["minLength"] = shape["min"]
        if "max" in shape:
            schema["maxLength"] = shape["max"]
        return schema
    if kind in ("integer", "long"):
        schema = {"type": "integer"}
        if "min" in shape:
            schema["minimum"] = shape["min"]
        if "max" in shape:
            schema["maximum"] = shape["max"]
        return schema
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "timestamp":
        # AWS JSON 1.0 sends timestamps as epoch seconds.
        return {"type": "number"}
    raise ValueError(f"the SWF model has a shape of type {kind} the wire check cannot read")


@cache
def _validator(shape_name: str) -> jsonschema.Draft202012Validator:
    defs = {name: _shape_schema(shape) for name, shape in swf_model.shapes().items()}
    schema = {"$defs": defs, "$ref": f"#/$defs/{shape_name}"}
    return jsonschema.Draft202012Validator(schema)


VALIDATOR_RULES = {
    "required": "missing",
    "type": "type",
    "enum": "enum",
    "minLength": "length",
    "maxLength": "length",
    "minItems": "length",
    "maxItems": "length",
    "minimum": "range",
    "maximum": "range",
}
REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _path(parts: Iterable[str | int]) -> str:
    return "$" + "".join("[*]" if isinstance(p, int) else f".{p}" for p in parts)


JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _say(error: jsonschema.ValidationError) -> str:
    """What is wrong, without the value where it varies (so that findings count up)."""
    kind, limit, value = str(error.validator), error.validator_value, error.instance
    if kind == "required":
        return "required member absent"
    if kind == "type":
        found = JSON_TYPES.get(type(value), "number")
        return f"{found} where the model has {limit}"
    if kind == "enum":
        return f"{str(value)[:60]!r} is not one of the model's values"
    if kind in ("maxLength", "maxItems"):
        return f"longer than {limit}"
    if kind in ("minLength", "minItems"):
        return f"shorter than {limit}"
    if kind == "maximum":
        return f"{value} is above {limit}"
    if kind == "minimum":
        return f"{value} is below {limit}"
    return str(error.message)[:200]


def _schema_findings(operation: str, shape: str, body: Any) -> list[Finding]:
    found = []
    for error in _validator(shape).iter_errors(body):
        rule = VALIDATOR_RULES.get(str(error.validator), str(error.validator))
        parts: list[str | int] = list(error.absolute_path)
        member = REQUIRED.match(error.message) if rule == "missing" else None
        if member is not None:
            parts.append(member.group(1))
        found.append(Finding(operation, rule, _path(parts), _say(error)))
    return found


# Checking one answer -----------------------------------------------------------------------


def _error_findings(operation: str, status: int, body: bytes) -> list[Finding]:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("__type"), str):
        found = [
            Finding(
                operation,
                "error-body",
                "$",
                f'HTTP {status} without an AWS error body ({{"__type": ...}})',
            )
        ]
        if status >= 500:
            found.append(Finding(operation, "status", "$", f"HTTP {status} for a call SWF answers"))
        return found
    code = parsed["__type"].rsplit("#", 1)[-1]
    found = []
    common = {e.code: e for e in COMMON_ERRORS}
    if code not in swf_model.declared_errors(operation) and code not in common:
        found.append(
            Finding(
                operation,
                "undeclared-error",
                "$.__type",
                f"{code} is not an error the model declares for {operation}",
            )
        )
    expected = common[code].status if code in common else 400
    if code not in SERVER_FAULTS and status != expected:
        found.append(
            Finding(operation, "status", "$", f"{code} answered with HTTP {status}, not {expected}")
        )
    return found


def check(exchange: Exchange) -> list[Finding]:
    """Every way one answer departs from SWF's wire contract."""
    operation = exchange.operation
    found: list[Finding] = []
    content_type = (exchange.content_type or "").split(";", 1)[0].strip()
    if content_type != JSON_CONTENT_TYPE:
        found.append(
            Finding(
                operation,
                "content-type",
                "$",
                f"content-type {exchange.content_type!r}, not {JSON_CONTENT_TYPE}",
            )
        )
    if exchange.status != 200:
        return found + _error_findings(operation, exchange.status, exchange.body)
    model = swf_model.operation(operation)
    try:
        body = json.loads(exchange.body) if exchange.body.strip() else {}
    except ValueError:
        return [*found, Finding(operation, "not-json", "$", "the body is not JSON")]
    if not isinstance(body, dict):
        return [*found, Finding(operation, "not-json", "$", "the body is not a JSON object")]
    for exception in MODEL_EXCEPTIONS:
        if exception.applies(operation, body):
            if body != exception.answer:
                found.append(
                    Finding(
                        operation,
                        "empty-poll",
                        "$",
                        f"an empty poll answers {json.dumps(exception.answer)} on SWF",
                    )
                )
            return found
    if model is not None and "output" in model:
        found += _schema_findings(operation, model["output"]["shape"], body)
    return found


def check_all(exchanges: Iterable[Exchange]) -> list[Finding]:
    """The findings of many answers, identical ones counted once, in order of appearance."""
    counted: dict[tuple[str, str, str, str], Finding] = {}
    for exchange in exchanges:
        for finding in check(exchange):
            seen = counted.get(finding.key())
            counted[finding.key()] = (
                finding
                if seen is None
                else Finding(
                    finding.operation, finding.rule, finding.path, finding.message, seen.count + 1
                )
            )
    return list(counted.values())
