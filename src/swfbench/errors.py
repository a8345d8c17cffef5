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
    NOT_SWF = 251  # the endpoint answered, but not as SWF does
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


class EndpointURLError(UsageError):
    """A malformed endpoint URL. Exit 252 in every command, even those whose other usage
    errors exit 2, as the AWS CLI's own --endpoint-url check does."""


class ConfigurationError(SwfbenchError):
    """The environment lacks something the target needs (credentials, region)."""

    exit_code = ExitCode.CONFIGURATION


class EmbeddedTargetError(SwfbenchError):
    """The embedded SWF server could not be started."""

    exit_code = ExitCode.EMBEDDED_TARGET


class TargetUnreachable(SwfbenchError):
    """Nothing answered at the target's endpoint."""

    exit_code = ExitCode.UNREACHABLE


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


class NotSWF(SWFError):
    """The endpoint answered an SWF call with an HTTP error and no AWS error code (a 404 or 501
    page): whatever listens there, it does not speak SWF."""

    exit_code = ExitCode.NOT_SWF

    def __init__(self, operation: str, code: str, message: str, http_status: int, where: str):
        super().__init__(operation, code, message, http_status)
        self.args = (
            f"{where} answered {operation} with HTTP {http_status} and no AWS error: it does "
            "not speak SWF; check the endpoint URL",
        )


def speaks_swf(code: str, http_status: int) -> bool:
    """False for an answer no SWF service gives: an HTTP client error or 501 without an AWS
    error code (SWF names every error it returns). 5xx pages may be a passing fault: kept."""
    bare = code == f"HTTP{http_status}"
    return not (bare and (400 <= http_status < 500 or http_status == 501))
