"""Run swfbench as a user would, in this process (a few milliseconds a run, so hypothesis can try
hundreds), and judge the outcome as the README promises: one line on stderr at most a few, an
exit code of the documented table (never 255, an internal error), no traceback, no hang."""

from __future__ import annotations

import contextlib
import http.server
import io
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swfbench.cli import main
from swfbench.errors import EXIT_CODES, ExitCode, SwfbenchError

DOCUMENTED = frozenset(code for code, _ in EXIT_CODES)
MAX_SECONDS = 5.0
"""A run over this is a hang as far as the fuzz test is concerned (they take milliseconds)."""
HANG_SECONDS = 20.0
"""A run still going then is stopped (SIGALRM) and reported as a hang."""
MAX_STDERR_LINES = 3


class NotSWF(http.server.BaseHTTPRequestHandler):
    """Answers every request 404 with no AWS error: a command whose input is valid ends at its
    first call with exit 251, at once (an error that is not retried), starting nothing."""

    def do_POST(self) -> None:
        # Read the body first: a socket closed with unread data sends a reset, not the answer,
        # and a reset is a transient error that the client tries again.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def not_swf_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotSWF)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    crash: str | None = None
    """A traceback that escaped."""

    def problems(self) -> list[str]:
        found = []
        if self.crash is not None:
            found.append(f"traceback:\n{self.crash}")
        if self.code not in DOCUMENTED or self.code == ExitCode.OTHER:
            found.append(f"exit code {self.code} (documented: {sorted(DOCUMENTED)}, 255 is a bug)")
        if "Traceback" in self.stderr:
            found.append("a traceback on stderr")
        lines = self.stderr.strip().splitlines()
        if len(lines) > MAX_STDERR_LINES:
            found.append(f"{len(lines)} lines on stderr")
        if self.seconds > MAX_SECONDS:
            found.append(f"took {self.seconds:.1f} s")
        return found

    def check(self, what: Any) -> None:
        problems = self.problems()
        assert not problems, f"{what!r}: {'; '.join(problems)}\nstderr: {self.stderr[-2000:]}"


class Hung(BaseException):
    """Raised in the run by the watchdog (not an Exception: nothing in swfbench catches it)."""


@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise Hung(f"still running after {HANG_SECONDS:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: Sequence[str], cwd: Path) -> Outcome:
    """`swfbench ARGV` in this process, from `cwd`."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    crash = None
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with watchdog():
                code = main(list(argv))
        except SystemExit as exc:  # --help, --version
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException:
            code, crash = -1, traceback.format_exc()
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - started, crash)


def run_parser(parse: Callable[[], object]) -> Outcome:
    """A parser called directly: it returns, or raises a `SwfbenchError` of one line."""
    started = time.monotonic()
    try:
        with watchdog():
            parse()
    except SwfbenchError as exc:
        seconds = time.monotonic() - started
        text = str(exc)
        code = exc.exit_code
        return Outcome(code, "", text, seconds, None if "\n" not in text else f"two lines: {text}")
    except BaseException:
        return Outcome(-1, "", "", time.monotonic() - started, traceback.format_exc())
    return Outcome(0, "", "", time.monotonic() - started)
