"""Requests checked against SWF's input shapes (botocore's model), as SWF's front end does.

SWF runs on AWS's coral stack, which reads a request in two passes (fact sheet, "Polls, events
and the wire", inferred from how AWS JSON 1.0 services answer):

1. Deserialization: a member of the wrong JSON type stops the request with HTTP 400
   `SerializationException`, one message, no member path. The wording is coral's own, as
   observed on DynamoDB (mhart/dynalite's tests, run against the real service): "NUMBER_VALUE
   cannot be converted to String", "Start of structure or map found where not expected",
   "Unexpected field type", "Unrecognized collection type class java.lang.String".
2. Validation: every constraint of the model (required members, lengths, enums, ranges) is
   checked and all problems are listed in one HTTP 400 `ValidationException`, "N validation
   errors detected: Value ... at 'path' failed to satisfy constraint: ...". Within a
   structure, coral lists its members' problems last member first (observed: moto's SWF tests
   quote "Value null at 'execution' ...; Value null at 'domain' ...", and real DynamoDB and EMR
   answers in public test suites do the same), so the checks below do too.

Null members count as absent; members the model does not know are ignored. On top of the
model's constraints, the rules its member documentation states (names without `:`, `/`, `|`
or control characters; durations as whole seconds or NONE) are checked the same way.

Each operation's check is compiled once from the model into nested closures: checking a
heartbeat (two string members) costs a few microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from swfbench import swf_model
from swfbench.engine.exceptions import SerializationError, ValidationError

Check = Callable[[Any, str, list[str]], None]
"""Checks a (non-null) value at a member path, appending constraint problems; raises
SerializationError when the value has the wrong JSON type."""

JAVA_TYPES = {
    "string": "String",
    "integer": "Integer",
    "long": "Long",
    "boolean": "Boolean",
    "timestamp": "Date",
}
MODEL_PACKAGE = "com.amazonaws.swf.base.model"


def _token(value: Any) -> str:
    """How coral's JSON parser names the token it found."""
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, int):
        return "NUMBER_VALUE"
    if isinstance(value, float):
        return "DECIMAL_VALUE"
    return "STRING_VALUE"


def _wrong_scalar(value: Any, kind: str) -> SerializationError:
    java = JAVA_TYPES[kind]
    if isinstance(value, dict):
        return SerializationError("Start of structure or map found where not expected")
    if isinstance(value, list):
        return SerializationError(f"Unrecognized collection type class java.lang.{java}")
    if kind == "boolean" and isinstance(value, str):
        return SerializationError("Unexpected token received from parser")
    return SerializationError(f"{_token(value)} cannot be converted to {java}")


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _null(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def _violation(value: Any, path: str, constraint: str) -> str:
    return f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: {constraint}"


def _whole(value: str, maximum: int | None) -> bool:
    return value.isdigit() and (maximum is None or int(value) <= maximum)


def _length_checks(shape: dict[str, Any]) -> Callable[[Any, str, list[str]], None] | None:
    low, high = shape.get("min"), shape.get("max")
    if low is None and high is None:
        return None

    def check(value: Any, path: str, problems: list[str]) -> None:
        size = len(value)
        if high is not None and size > high:
            problems.append(
                _violation(value, path, f"Member must have length less than or equal to {high}")
            )
        elif low is not None and size < low:
            problems.append(
                _violation(value, path, f"Member must have length greater than or equal to {low}")
            )

    return check


def _string(name: str, shape: dict[str, Any], member: dict[str, Any]) -> Check:
    length = _length_checks(shape)
    enum = shape.get("enum")
    names, whitespace = swf_model.name_rules(member)
    duration = name in swf_model.DURATION_SHAPES
    duration_max = swf_model.DURATION_SHAPES.get(name)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, str):
            raise _wrong_scalar(value, "string")
        if length is not None:
            length(value, path, problems)
        if enum is not None and value not in enum:
            problems.append(
                _violation(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            )
        if names and (swf_model.FORBIDDEN_NAME.search(value) or value == "arn"):
            problems.append(
                _violation(
                    value,
                    path,
                    "Member must not contain a : (colon), / (slash), | (vertical bar) or "
                    "control characters, and must not be the literal string arn",
                )
            )
        if whitespace and value != value.strip():
            problems.append(_violation(value, path, "Member must not start or end with whitespace"))
        if duration and value and value != "NONE" and not _whole(value, duration_max):
            limit = f" of at most {duration_max}" if duration_max is not None else ""
            problems.append(
                _violation(value, path, f"Member must be a whole number{limit} or the string NONE")
            )

    return check


def _number(kind: str, shape: dict[str, Any]) -> Check:
    low, high = shape.get("min"), shape.get("max")

    def check(value: Any, path: str, problems: list[str]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_scalar(value, kind)
        if kind == "timestamp":
            return
        if high is not None and value > high:
            problems.append(
                _violation(value, path, f"Member must have value less than or equal to {high}")
            )
        elif low is not None and value < low:
            problems.append(
                _violation(value, path, f"Member must have value greater than or equal to {low}")
            )

    return check


def _boolean(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        raise _wrong_scalar(value, "boolean")


def _list(shape: dict[str, Any]) -> Check:
    item = _compile(shape["member"]["shape"], shape["member"])
    length = _length_checks(shape)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if isinstance(value, dict):
            raise SerializationError("Start of structure or map found where not expected")
        if not isinstance(value, list):
            raise SerializationError("Unexpected field type")
        for index, entry in enumerate(value, 1):
            if entry is not None:
                item(entry, f"{path}.{index}.member", problems)
        if length is not None:
            length(value, path, problems)

    return check


def _structure(name: str, shape: dict[str, Any]) -> Check:
    required = frozenset(shape.get("required", ()))
    # Last member first: the order coral lists problems in (see the module docstring).
    members = [
        (key, key in required, _compile(member["shape"], member))
        for key, member in reversed(shape.get("members", {}).items())
    ]

    def check(value: Any, path: str, problems: list[str]) -> None:
        if isinstance(value, list):
            raise SerializationError(f"Unrecognized collection type class {MODEL_PACKAGE}.{name}")
        if not isinstance(value, dict):
            raise SerializationError("Unexpected field type")
        prefix = f"{path}." if path else ""
        for key, needed, member_check in members:
            item = value.get(key)
            if item is None:
                if needed:
                    problems.append(_null(prefix + key))
                continue
            member_check(item, prefix + key, problems)

    return check


def _compile(name: str, member: dict[str, Any]) -> Check:
    shape = swf_model.shapes()[name]
    kind = shape["type"]
    if kind == "structure":
        return _structure_check(name)
    if kind == "list":
        return _list(shape)
    if kind == "string":
        return _string(name, shape, member)
    if kind == "boolean":
        return _boolean
    if kind in ("integer", "long", "timestamp"):
        return _number(kind, shape)
    raise ValueError(f"the SWF model has a shape of type {kind} the engine cannot check: {name}")


@cache
def _structure_check(name: str) -> Check:
    return _structure(name, swf_model.shapes()[name])


@cache
def _input_check(operation: str) -> Check | None:
    model = swf_model.operation(operation)
    if model is None or "input" not in model:
        return None
    return _structure_check(model["input"]["shape"])


def validate(operation: str, params: Any) -> None:
    """Raise SerializationError or ValidationError if `params` breaks the operation's input
    shape; `params` is the parsed JSON body."""
    check = _input_check(operation)
    if check is None:
        return
    problems: list[str] = []
    check(params, "", problems)
    if problems:
        raise ValidationError(problems)


def warm_up() -> None:
    """Compile every operation's check now, so the first calls pay nothing."""
    for name in swf_model.operation_names():
        _input_check(name)
