"""One base error for everything swfbench reports to a person, each kind with its own exit code.

The exit codes of the `heartbeat` command follow AWS CLI v2 (252 usage, 253 configuration,
254 service error, 255 anything else); the other kinds get codes of their own so that a script
can tell them apart.
"""

from __future__ import annotations


class ExitCode:
    """Process exit codes, one per kind of outcome."""

    OK = 0
    GATE_FAILED = 1  # the run finished and a gate did not hold
    INTERRUPTED = 130
    EMBEDDED_TARGET = 249  # the embedded target could not start (port in use, moto missing)
    UNREACHABLE = 250  # the endpoint did not answer
    REPORTS = 251  # the reports directory cannot be written (full, unwritable, a file in the way)
    USAGE = 252  # bad flag, bad parameter, malformed input file
    CONFIGURATION = 253  # missing credentials or region for real SWF
    SERVICE = 254  # the target answered with an error
    OTHER = 255


class SwfbenchError(Exception):
    """An error meant for a person: printed as one line, mapped to an exit code."""

    exit_code: int = ExitCode.OTHER


class UsageError(SwfbenchError):
    """A flag, parameter or input file is wrong; nothing was sent."""

    exit_code = ExitCode.USAGE


class ConfigurationError(SwfbenchError):
    """The environment lacks something the target needs (credentials, region)."""

    exit_code = ExitCode.CONFIGURATION


class EmbeddedTargetError(SwfbenchError):
    """The embedded SWF server could not be started."""

    exit_code = ExitCode.EMBEDDED_TARGET


class TargetUnreachable(SwfbenchError):
    """Nothing answered at the target's endpoint, or not within the client's timeouts."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, code: str = "ConnectionError") -> None:
        super().__init__(message)
        self.code = code
        """What a load run records for the call: ConnectionError, ConnectTimeout, ReadTimeout."""


class ReportsError(SwfbenchError):
    """A results file or report could not be written: disk full, no permission, a file where
    the reports directory should be. Nothing half-written is left behind."""

    exit_code = ExitCode.REPORTS


class SWFError(SwfbenchError):
    """The target answered a call with an AWS error."""

    exit_code = ExitCode.SERVICE

    def __init__(self, operation: str, code: str, message: str, http_status: int) -> None:
        self.operation = operation
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(
            f"An error occurred ({code}) when calling the {operation} operation: {message}"
        )
