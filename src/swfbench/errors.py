"""One base error for everything swfbench reports to a person, each kind with its own exit code.

Every command's exit codes follow AWS CLI v2 (252 usage, 253 configuration, 254 service error,
255 anything else); the other kinds get codes of their own so that a script can tell them apart.
"""

from __future__ import annotations

import textwrap


class ExitCode:
    """Process exit codes, one per kind of outcome."""

    OK = 0
    GATE_FAILED = 1  # the run finished and a gate did not hold
    INTERRUPTED = 130
    REPORTS = 248  # the reports directory cannot be written (full, unwritable, a file in the way)
    EMBEDDED_TARGET = 249  # the embedded target could not start (port in use, moto missing)
    UNREACHABLE = 250  # the endpoint did not answer
    NOT_SWF = 251  # the endpoint answered, but not as SWF does
    USAGE = 252  # bad flag, bad parameter, malformed input file
    CONFIGURATION = 253  # missing credentials or region for real SWF
    SERVICE = 254  # the target answered with an error
    OTHER = 255


EXIT_CODES: tuple[tuple[int, str], ...] = (
    (
        0,
        "complete: the run was whole and every verdict holds (load and conform: every gate "
        "and scenario; capacity: a knee found; plan: no task times out)",
    ),
    (
        1,
        "a verdict failed: a gate (a run that is not whole fails the run.status gate), a "
        "scenario, a plan in which tasks time out, a capacity search with no knee; or a "
        "conformance run that checked nothing",
    ),
    (
        130,
        "interrupted by Ctrl-C, SIGTERM or SIGHUP: whatever ran is written, marked "
        "interrupted (a second signal stops at once)",
    ),
    (
        248,
        "the reports directory cannot be written: a file in the way, no permission, a full "
        "disk (results are written first; nothing half-written is left)",
    ),
    (249, "the embedded server could not start (e.g. --port in use)"),
    (250, "the endpoint did not answer, or not within the client's connect or read timeout"),
    (251, "the endpoint answered, but not as SWF does (an HTTP error without an AWS code)"),
    (
        252,
        "usage error, in every command: a bad or misspelt flag, a flag that does not apply, a "
        "bad parameter, input file or endpoint URL; nothing was run",
    ),
    (
        253,
        "missing or broken configuration for real SWF (--aws only): credentials, region, "
        "profile, config file",
    ),
    (254, "the service answered with an error (its code and message are printed)"),
    (
        255,
        "anything else (an aborted run; an internal error, one line: SWFBENCH_TRACEBACK=1 "
        "shows where)",
    ),
)
"""The exit codes of every command, one table: `swfbench COMMAND --help` and the README."""


def exit_codes_help() -> str:
    """`EXIT_CODES` as the epilog of every command's --help."""
    rows = [
        textwrap.fill(text, 78, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES
    ]
    return "exit codes (the same for every command):\n" + "\n".join(rows)


MAX_LINE = 400
"""Characters of an error line: a 5,000-digit flag value is quoted, not printed whole."""


MAX_WORD = 200
"""Characters of one word of an error line: a long value a service quotes back (SWF's
ValidationException repeats the whole 2,049-character details) keeps its start and its length,
so the reason after it still fits the line."""


def _shortened(word: str) -> str:
    return word if len(word) <= MAX_WORD else f"{word[:60]}...({len(word):,} characters)"


def one_line(error: object) -> str:
    """An error as one line of at most `MAX_LINE` characters."""
    text = " ".join(_shortened(word) for word in str(error).split())
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 14] + " ... (cut)"


class SwfbenchError(Exception):
    """An error meant for a person: printed as one line, mapped to an exit code."""

    exit_code: int = ExitCode.OTHER


class UsageError(SwfbenchError):
    """A flag, parameter or input file is wrong; nothing was sent."""

    exit_code = ExitCode.USAGE


class EndpointURLError(UsageError):
    """A malformed endpoint URL (or SWFBENCH_ENDPOINT_URL), found as the command line is
    parsed, as the AWS CLI's own --endpoint-url check does."""


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
