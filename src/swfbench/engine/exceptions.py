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
    """The X-Amz-Target names no SWF operation the engine serves."""

    def __init__(self, target: str) -> None:
        super().__init__(
            "com.amazon.coral.service#UnknownOperationException",
            f"Unknown operation {target}",
        )


class SerializationError(SWFClientError):
    """The body is not a JSON object."""

    def __init__(self) -> None:
        super().__init__(
            "com.amazon.coral.service#SerializationException", "Request body is not JSON"
        )


class ClockNotVirtual(SWFClientError):
    """The admin endpoint was asked to advance a real clock."""

    def __init__(self) -> None:
        super().__init__(
            "swfbench#ClockNotVirtual",
            "the engine runs on the real clock; start it with --clock virtual to advance time",
        )
