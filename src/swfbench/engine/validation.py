"""Length constraints of the SWF API model, checked server-side as SWF does.

The botocore model (fact sheet, "The call") bounds `taskToken` to 1..1024 characters and
heartbeat `details` to 2048; clients normally check these, but a raw HTTP client does not, and
SWF then answers ValidationException "1 validation error detected: ..." (inferred from how AWS
JSON services on the same stack answer).
"""

from __future__ import annotations

from typing import Any

from swfbench.engine.exceptions import ValidationError

# operation -> (member, minimum length, maximum length, required), from the botocore model.
LENGTH_LIMITS: dict[str, tuple[tuple[str, int, int, bool], ...]] = {
    "RecordActivityTaskHeartbeat": (("taskToken", 1, 1024, True), ("details", 0, 2048, False)),
    "RespondActivityTaskCompleted": (("taskToken", 1, 1024, True), ("result", 0, 32768, False)),
    "RespondActivityTaskFailed": (
        ("taskToken", 1, 1024, True),
        ("reason", 0, 256, False),
        ("details", 0, 32768, False),
    ),
    "RespondActivityTaskCanceled": (("taskToken", 1, 1024, True), ("details", 0, 32768, False)),
    "RespondDecisionTaskCompleted": (
        ("taskToken", 1, 1024, True),
        ("executionContext", 0, 32768, False),
    ),
    "SignalWorkflowExecution": (
        ("domain", 1, 256, True),
        ("workflowId", 1, 256, True),
        ("runId", 0, 64, False),
        ("signalName", 1, 256, True),
        ("input", 0, 32768, False),
    ),
    "RequestCancelWorkflowExecution": (
        ("domain", 1, 256, True),
        ("workflowId", 1, 256, True),
        ("runId", 0, 64, False),
    ),
}


def check_lengths(operation: str, params: dict[str, Any]) -> None:
    """Raise ValidationError listing every member of `params` outside its model bounds."""
    limits = LENGTH_LIMITS.get(operation)
    if limits is None:
        return
    problems: list[str] = []
    for member, low, high, required in limits:
        value = params.get(member)
        if value is None:
            if required:
                problems.append(
                    f"Value null at '{member}' failed to satisfy constraint: "
                    "Member must not be null"
                )
            continue
        if not isinstance(value, str):
            continue  # moto's own checks answer a SerializationException for these
        if len(value) > high:
            problems.append(
                f"Value at '{member}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {high}"
            )
        elif len(value) < low:
            problems.append(
                f"Value at '{member}' failed to satisfy constraint: "
                f"Member must have length greater than or equal to {low}"
            )
    if problems:
        raise ValidationError(problems)
