"""IAM identity-based policies, evaluated as IAM evaluates them for one account's own calls.

A request is allowed when some statement allows it and none denies it: an explicit Deny wins,
then an Allow, and anything else is denied by default (IAM User Guide, "Policy evaluation
logic"). A statement applies when its `Action` matches the action (or its `NotAction` does
not), its `Resource` matches the resource (or its `NotResource` does not), and every condition
holds.

- Action names are matched without regard to case, with `*` and `?` wildcards (`swf:*`,
  `swf:RecordActivity*`).
- Resources are ARNs matched case-sensitively; `*` and `?` stay inside one colon-separated
  segment, except a `*` that ends a segment, which may run past the colons (IAM User Guide,
  "IAM JSON policy elements: Resource"), so `arn:aws:swf:*:*:/domain/*` matches every domain.
- Conditions: keys without regard to case; within one operator every key must hold, within one
  key any value may match. A key the request does not carry fails a matching operator and
  satisfies a negated one (`StringNotEquals`, `ArnNotLike`); `...IfExists` holds for a missing
  key; `Null` tests presence (IAM User Guide, "Condition operators").

Supported operators: the `String*` and `Arn*` families, `Bool` and `Null`, with `IfExists` and
the `ForAnyValue:` / `ForAllValues:` set prefixes. Numeric, date, IP and binary operators and
policy variables (`${aws:username}`) are refused when a policy is loaded: the engine's request
context has no keys they could test, so such a policy would silently mean something else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

Context = Mapping[str, Sequence[str]]
"""Condition keys, lower-cased, to the request's values for them."""


class PolicyError(ValueError):
    """A policy the engine cannot evaluate faithfully; `where` names the element."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


# Matching -----------------------------------------------------------------------------------


@cache
def _action_pattern(pattern: str) -> re.Pattern[str]:
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.compile(regex, re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """`swf:Record*` matches `swf:RecordActivityTaskHeartbeat`; case does not matter."""
    return _action_pattern(pattern).fullmatch(action.lower()) is not None


@cache
def _arn_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for index, char in enumerate(pattern):
        if char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            parts.append(".*" if ends_segment else "[^:]*")
        elif char == "?":
            parts.append("[^:]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's resource matching: `*` alone matches everything (see the module docstring)."""
    return pattern == "*" or _arn_pattern(pattern).fullmatch(arn) is not None


@cache
def _like_pattern(pattern: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL)


def _like(value: str, pattern: str) -> bool:
    return _like_pattern(pattern).fullmatch(value) is not None


# Conditions ---------------------------------------------------------------------------------

Matcher = Callable[[str, str], bool]
"""(request value, policy value) -> whether they match."""

# Base operator -> (matcher, negated).
OPERATORS: dict[str, tuple[Matcher, bool]] = {
    "StringEquals": (lambda v, p: v == p, False),
    "StringNotEquals": (lambda v, p: v == p, True),
    "StringEqualsIgnoreCase": (lambda v, p: v.casefold() == p.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda v, p: v.casefold() == p.casefold(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    # ArnEquals behaves as ArnLike (IAM User Guide, "Amazon Resource Name (ARN) condition
    # operators").
    "ArnEquals": (lambda v, p: arn_matches(p, v), False),
    "ArnLike": (lambda v, p: arn_matches(p, v), False),
    "ArnNotEquals": (lambda v, p: arn_matches(p, v), True),
    "ArnNotLike": (lambda v, p: arn_matches(p, v), True),
    "Bool": (lambda v, p: v.lower() == p.lower(), False),
}
UNSUPPORTED_FAMILIES = ("Numeric", "Date", "IpAddress", "NotIpAddress", "Binary")
SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")


@dataclass(frozen=True)
class Condition:
    """One key under one operator, e.g. `StringEquals` / `swf:activityType.name`."""

    operator: str
    """As written, e.g. `ForAnyValue:StringLikeIfExists`."""
    key: str
    """Lower-cased: condition keys are not case-sensitive."""
    values: tuple[str, ...]

    def holds(self, context: Context) -> bool:
        operator = self.operator
        given = context.get(self.key)
        if operator == "Null":
            # {"Null": {"k": "true"}}: k is absent; "false": k is present.
            wants_absent = self.values[0].lower() == "true"
            return (given is None) == wants_absent
        prefix = next((p for p in SET_PREFIXES if operator.startswith(p)), "")
        base = operator[len(prefix) :]
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        matcher, negated = OPERATORS[base]
        if given is None:
            if if_exists or prefix == "ForAllValues:":
                return True  # ForAllValues: every one of no values matches
            if prefix == "ForAnyValue:":
                return False  # no value at all, so none that matches
            return negated
        matched = [any(matcher(value, wanted) for wanted in self.values) for value in given]
        if negated:
            matched = [not m for m in matched]
        if prefix == "ForAllValues:":
            return all(matched)
        return any(matched)


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    # JSON true/false and numbers are compared as the strings IAM sees.
    return tuple(
        ("true" if item else "false") if isinstance(item, bool) else str(item) for item in items
    )


def _check_operator(operator: str, where: str) -> None:
    if operator == "Null":
        return
    prefix = next((p for p in SET_PREFIXES if operator.startswith(p)), "")
    base = operator[len(prefix) :].removesuffix("IfExists")
    if base in OPERATORS:
        return
    if any(operator[len(prefix) :].startswith(f) for f in UNSUPPORTED_FAMILIES):
        raise PolicyError(
            where,
            f"condition operator {operator} is not supported by the swfbench engine "
            "(its requests carry no numeric, date, IP or binary keys); supported: "
            "String*, Arn*, Bool and Null, with IfExists and ForAnyValue:/ForAllValues:",
        )
    raise PolicyError(where, f"unknown condition operator {operator!r}")


def _check_no_variables(values: Sequence[str], where: str) -> None:
    for value in values:
        if "${" in value:
            raise PolicyError(
                where,
                f"policy variables such as {value!r} are not supported by the swfbench engine",
            )


def parse_conditions(block: Mapping[str, Any], where: str) -> tuple[Condition, ...]:
    conditions = []
    for operator, keys in block.items():
        _check_operator(operator, f"{where}.{operator}")
        for key, value in keys.items():
            values = _strings(value)
            _check_no_variables(values, f"{where}.{operator}.{key}")
            if operator == "Null" and (len(values) != 1 or values[0] not in ("true", "false")):
                raise PolicyError(f"{where}.Null.{key}", 'Null takes "true" or "false"')
            conditions.append(Condition(operator, key.lower(), values))
    return tuple(conditions)


# Statements and policies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    effect: str
    """Allow or Deny."""
    actions: tuple[str, ...]
    not_action: bool
    """The patterns came from NotAction: the statement applies to every other action."""
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None

    def applies(self, action: str, resource: str, context: Context) -> bool:
        if any(action_matches(p, action) for p in self.actions) == self.not_action:
            return False
        if any(arn_matches(p, resource) for p in self.resources) == self.not_resource:
            return False
        return all(condition.holds(context) for condition in self.conditions)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]


def parse_policy(document: Mapping[str, Any], where: str = "") -> Policy:
    """A policy document whose shape was validated (`schemas/auth.json`, `$defs/policy`)."""
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    statements = []
    for index, item in enumerate(items):
        at = f"{where}.Statement" + (f"[{index}]" if isinstance(raw, list) else "")
        at = at.lstrip(".")
        for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
            if (one in item) == (other in item):
                raise PolicyError(at, f"a statement needs exactly one of {one} and {other}")
        action_key = "Action" if "Action" in item else "NotAction"
        resource_key = "Resource" if "Resource" in item else "NotResource"
        resources = _strings(item[resource_key])
        _check_no_variables(resources, f"{at}.{resource_key}")
        statements.append(
            Statement(
                effect=item["Effect"],
                actions=_strings(item[action_key]),
                not_action=action_key == "NotAction",
                resources=resources,
                not_resource=resource_key == "NotResource",
                conditions=parse_conditions(item.get("Condition", {}), f"{at}.Condition"),
                sid=item.get("Sid"),
            )
        )
    return Policy(tuple(statements))


def evaluate(policies: Sequence[Policy], action: str, resource: str, context: Context) -> Decision:
    """IAM's decision for one identity's request: explicit deny, then allow, else deny."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies(action, resource, context):
                continue
            if statement.effect == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
