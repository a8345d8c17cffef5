"""IAM policy evaluation: the rules of the IAM User Guide, on policy documents as users write them."""

from __future__ import annotations

from typing import Any

import pytest

from swfbench.engine.policy import (
    Decision,
    PolicyError,
    action_matches,
    arn_matches,
    evaluate,
    parse_policy,
)

DOMAIN = "arn:aws:swf:us-east-1:123456789012:/domain/orders"
HEARTBEAT = "swf:RecordActivityTaskHeartbeat"


def policy(*statements: dict[str, Any]) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", **extra}


def deny(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", **extra}


def decide(*statements: dict[str, Any], action: str = HEARTBEAT, resource: str = DOMAIN,
           context: dict[str, list[str]] | None = None) -> Decision:  # fmt: skip
    return evaluate([policy(*statements)], action, resource, context or {})


def test_nothing_allowed_is_denied_by_default() -> None:
    assert decide() is Decision.IMPLICIT_DENY
    assert decide(allow(Action="swf:PollForActivityTask", Resource="*")) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = (
        allow(Action="swf:*", Resource="*"),
        deny(Action=HEARTBEAT, Resource=DOMAIN),
        allow(Action=HEARTBEAT, Resource=DOMAIN),
    )
    assert decide(*statements) is Decision.EXPLICIT_DENY
    assert decide(*statements, action="swf:PollForActivityTask") is Decision.ALLOW


def test_deny_in_one_policy_wins_over_allow_in_another() -> None:
    allows = policy(allow(Action="swf:*", Resource="*"))
    denies = policy(deny(Action=HEARTBEAT, Resource="*"))
    assert evaluate([allows, denies], HEARTBEAT, DOMAIN, {}) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("swf:*", HEARTBEAT, True),
        ("*", HEARTBEAT, True),
        ("swf:RecordActivity*", HEARTBEAT, True),
        ("swf:recordactivitytaskheartbeat", HEARTBEAT, True),  # action names ignore case
        ("SWF:Record*Heartbeat", HEARTBEAT, True),
        ("swf:RecordActivityTaskHeartbea?", HEARTBEAT, True),
        ("swf:Respond*", HEARTBEAT, False),
        ("s3:*", HEARTBEAT, False),
        ("swf:RecordActivityTaskHeartbeat?", HEARTBEAT, False),
    ],
)
def test_action_patterns(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("*", True),
        (DOMAIN, True),
        ("arn:aws:swf:*:*:/domain/orders", True),
        ("arn:aws:swf:us-east-1:123456789012:/domain/*", True),
        ("arn:aws:swf:us-east-1:123456789012:/domain/ord?rs", True),
        ("arn:aws:swf:us-*-1:123456789012:/domain/orders", True),
        # A `*` that ends a segment may run past the colons (IAM User Guide).
        ("arn:aws:swf:*", True),
        ("arn:aws:swf:us-*:/domain/orders", True),
        ("arn:aws:swf:us-*1:/domain/orders", False),  # mid-segment: stays in its segment
        ("arn:aws:swf:us-west-2:123456789012:/domain/orders", False),
        ("arn:aws:swf:*:*:/domain/Orders", False),  # resources are case-sensitive
        ("arn:aws:swf:*:*:/domain/orders-archive", False),
        ("arn:aws:swf:*:210987654321:/domain/orders", False),
    ],
)
def test_resource_patterns(pattern: str, matches: bool) -> None:
    assert arn_matches(pattern, DOMAIN) is matches


def test_not_action_applies_to_every_other_action() -> None:
    statement = allow(NotAction="swf:ScheduleActivityTask", Resource="*")
    assert decide(statement) is Decision.ALLOW
    assert decide(statement, action="swf:ScheduleActivityTask") is Decision.IMPLICIT_DENY


def test_not_resource_applies_to_every_other_domain() -> None:
    statements = (
        allow(Action="swf:*", Resource="*"),
        deny(Action="swf:*", NotResource="arn:aws:swf:*:*:/domain/orders"),
    )
    assert decide(*statements) is Decision.ALLOW
    other = "arn:aws:swf:us-east-1:123456789012:/domain/payments"
    assert decide(*statements, resource=other) is Decision.EXPLICIT_DENY


def test_lists_of_actions_and_resources_match_any() -> None:
    statement = allow(
        Action=["swf:PollForActivityTask", "swf:RecordActivity*"],
        Resource=["arn:aws:swf:*:*:/domain/payments", "arn:aws:swf:*:*:/domain/orders"],
    )
    assert decide(statement) is Decision.ALLOW


NAME = "swf:activitytype.name"


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"swf:activityType.name": "resize"}}, {NAME: ["resize"]}, True),
        ({"StringEquals": {"swf:activityType.name": "resize"}}, {NAME: ["Resize"]}, False),
        ({"StringEquals": {"swf:activityType.name": ["a", "resize"]}}, {NAME: ["resize"]}, True),
        ({"StringEqualsIgnoreCase": {"swf:activityType.name": "RESIZE"}}, {NAME: ["resize"]}, True),
        ({"StringLike": {"swf:activityType.name": "res*"}}, {NAME: ["resize"]}, True),
        ({"StringLike": {"swf:activityType.name": "res?"}}, {NAME: ["resize"]}, False),
        ({"StringNotEquals": {"swf:activityType.name": "resize"}}, {NAME: ["crop"]}, True),
        ({"StringNotLike": {"swf:activityType.name": "res*"}}, {NAME: ["resize"]}, False),
        # Keys are not case-sensitive.
        ({"StringEquals": {"SWF:ACTIVITYTYPE.NAME": "resize"}}, {NAME: ["resize"]}, True),
        # A key the request does not carry: a matching operator fails, a negated one holds.
        ({"StringEquals": {"swf:activityType.name": "resize"}}, {}, False),
        ({"StringNotEquals": {"swf:activityType.name": "resize"}}, {}, True),
        ({"StringEqualsIfExists": {"swf:activityType.name": "resize"}}, {}, True),
        ({"StringEqualsIfExists": {"swf:activityType.name": "resize"}}, {NAME: ["crop"]}, False),
        ({"Null": {"swf:activityType.name": "true"}}, {}, True),
        ({"Null": {"swf:activityType.name": "false"}}, {}, False),
        ({"Null": {"swf:activityType.name": "false"}}, {NAME: ["x"]}, True),
        ({"ForAnyValue:StringEquals": {"swf:activityType.name": "resize"}}, {}, False),
        ({"ForAllValues:StringEquals": {"swf:activityType.name": "resize"}}, {}, True),
        ({"ForAllValues:StringLike": {"swf:activityType.name": "r*"}}, {NAME: ["ra", "rb"]}, True),
        ({"ForAllValues:StringLike": {"swf:activityType.name": "r*"}}, {NAME: ["ra", "x"]}, False),
        ({"ForAnyValue:StringLike": {"swf:activityType.name": "r*"}}, {NAME: ["ra", "x"]}, True),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:securetransport": ["false"]}, True),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
            {"aws:principalarn": ["arn:aws:iam::123456789012:user/w"]},
            True,
        ),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, {}, True),
        # Every key of every operator must hold.
        (
            {
                "StringEquals": {"swf:activityType.name": "resize"},
                "StringLike": {"swf:activityType.version": "2*"},
            },
            {NAME: ["resize"], "swf:activitytype.version": ["1"]},
            False,
        ),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, list[str]], holds: bool) -> None:
    statement = allow(Action="swf:*", Resource="*", Condition=condition)
    expected = Decision.ALLOW if holds else Decision.IMPLICIT_DENY
    assert decide(statement, context=context) is expected


def test_a_conditioned_deny_on_a_missing_key_never_applies() -> None:
    # What SWF does with a condition on RecordActivityTaskHeartbeat's parameters: the call
    # carries no condition keys, so such a Deny denies nothing.
    statements = (
        allow(Action="swf:*", Resource="*"),
        deny(
            Action=HEARTBEAT,
            Resource="*",
            Condition={"StringEquals": {"swf:activityType.name": "resize"}},
        ),
    )
    assert decide(*statements) is Decision.ALLOW


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            allow(Action="swf:*", Resource="*", Condition={"NumericLessThan": {"k": "1"}}),
            "condition operator NumericLessThan is not supported",
        ),
        (
            allow(Action="swf:*", Resource="*", Condition={"IpAddress": {"aws:SourceIp": "1"}}),
            "IpAddress is not supported",
        ),
        (
            allow(Action="swf:*", Resource="*", Condition={"StringSounds": {"k": "1"}}),
            "unknown condition operator 'StringSounds'",
        ),
        (allow(Action="swf:*", Resource="arn:aws:swf:*:*:/domain/${aws:username}"), "variables"),
        (allow(Resource="*"), "exactly one of Action and NotAction"),
        (allow(Action="swf:*", NotAction="swf:X", Resource="*"), "Action and NotAction"),
        (allow(Action="swf:*"), "exactly one of Resource and NotResource"),
    ],
)
def test_policies_the_engine_cannot_evaluate_are_refused(
    statement: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        policy(statement)


def test_a_single_statement_object_is_a_policy() -> None:
    single = parse_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    )
    assert evaluate([single], HEARTBEAT, DOMAIN, {}) is Decision.ALLOW
