"""Faults the engine answers beyond moto's, each with the `__type` SWF (or the engine) uses."""

from __future__ import annotations

from moto.swf.exceptions import SWFClientError


class ThrottlingException(SWFClientError):
    """A quota bucket is empty (observed on SWF: botify-labs/simpleflow issue 108)."""

    def __init__(self) -> None:
        super().__init__("com.amazon.coral.availability#ThrottlingException", "Rate exceeded")


class ValidationError(SWFClientError):
    """Parameters that break the API model's constraints, worded as AWS's coral stack does."""

    def __init__(self, problems: list[str]) -> None:
        noun = "error" if len(problems) == 1 else "errors"
        super().__init__(
            "com.amazon.coral.validate#ValidationException",
            f"{len(problems)} validation {noun} detected: " + "; ".join(problems),
        )


class UnknownOperation(SWFClientError):
    """The X-Amz-Target names no SWF operation, or lacks the `SimpleWorkflowService.` prefix.

    AWS JSON 1.0 services answer a bare `__type`, without a message (fact sheet, "Polls, events
    and the wire": inferred; the same body is observed on DynamoDB, mhart/dynalite).
    """

    def __init__(self) -> None:
        super().__init__("com.amazon.coral.service#UnknownOperationException", "")


class SerializationError(SWFClientError):
    """The body is not JSON, or a member has the wrong JSON type (see `validation`).

    An unparsable body answers a bare `__type`; a mistyped member coral's own words.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__("com.amazon.coral.service#SerializationException", message)


class InternalFailure(SWFClientError):
    """A bug in the engine: answered as SWF answers its own faults, HTTP 500."""

    code = 500

    def __init__(self) -> None:
        super().__init__("com.amazon.coral.service#InternalFailure", "")


class TypeNotDeprecatedFault(SWFClientError):
    """DeleteActivityType/DeleteWorkflowType of a type that is not deprecated (declared by the
    model for both)."""

    def __init__(self, kind: str, name: str, version: str) -> None:
        super().__init__(
            "com.amazonaws.swf.base.model#TypeNotDeprecatedFault",
            f"{kind.capitalize()}Type=[name={name}, version={version}]",
        )


class ClockNotVirtual(SWFClientError):
    """The admin endpoint was asked to advance a real clock."""

    def __init__(self) -> None:
        super().__init__(
            "swfbench#ClockNotVirtual",
            "the engine runs on the real clock; start it with --clock virtual to advance time",
        )
