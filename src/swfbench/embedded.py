"""The embedded target: an SWF server run as a child process on a loopback port.

The child is stopped on every exit path: the context manager's `finally`, and, should swfbench
itself be killed outright, the kernel's parent-death signal (Linux), so no server outlives us.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import IO

from swfbench import lifeline
from swfbench.errors import EmbeddedTargetError

HOST = "127.0.0.1"
DEFAULT_ENGINE = "swfbench"
STARTUP_TIMEOUT_S = 30.0


ENGINES = {
    # moto's SWF extended to keep SWF's heartbeat promises at fleet scale (swfbench.engine).
    "swfbench": ("swfbench.engine", "--host", "{host}", "--port", "{port}"),
    # Plain moto, as published: the reference emulator the conformance matrix compares against.
    "moto": ("moto.server", "-H", "{host}", "-p", "{port}"),
}


def _engine_command(engine: str, port: int, extra_args: tuple[str, ...]) -> list[str]:
    if engine not in ENGINES:
        raise EmbeddedTargetError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    module, *args = ENGINES[engine]
    filled = [arg.format(host=HOST, port=port) for arg in args]
    return [sys.executable, "-m", module, *filled, *extra_args]


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def answers(url: str, timeout: float = 0.5) -> bool:
    """True once anything answers HTTP at `url`, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class EmbeddedServer:
    """Start an SWF server on loopback, wait until it answers, stop it on exit."""

    def __init__(
        self,
        *,
        engine: str = DEFAULT_ENGINE,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.engine = engine
        self.requested_port = port
        self.extra_args = extra_args
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> EmbeddedServer:
        try:
            self.start()
        except BaseException:  # Ctrl-C while it starts: no __exit__ will stop it
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self.requested_port is not None:
            if not port_is_free(self.requested_port):
                raise EmbeddedTargetError(
                    f"port {self.requested_port} on {HOST} is in use: "
                    "choose another with --port, or omit it to pick a free one"
                )
            self._launch(self.requested_port)
            return
        # A free port can be taken between our probe and the child's bind: try a few.
        for attempt in range(3):
            try:
                self._launch(free_port())
                return
            except EmbeddedTargetError:
                if attempt == 2:
                    raise

    def _launch(self, port: int) -> None:
        command = _engine_command(self.engine, port, self.extra_args)
        self.port = port
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own session: a Ctrl-C in the terminal reaches swfbench, which stops the child
            # itself, instead of the child printing its own interrupt traceback.
            start_new_session=True,
            # SIGTERM when swfbench dies: the server stops as it would on Ctrl-C.
            preexec_fn=lifeline.for_child(signal.SIGTERM),
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = self._last_log_line() or f"exit code {self.process.returncode}"
                self.stop()
                raise EmbeddedTargetError(
                    f"the embedded {self.engine} server on port {port} exited at start: {reason}"
                )
            if answers(self.url + "/"):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedTargetError(
            f"the embedded {self.engine} server on port {port} did not answer "
            f"within {STARTUP_TIMEOUT_S:.0f} s"
        )

    def _last_log_line(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().decode(errors="replace").splitlines()]
        lines = [line for line in lines if line]
        return lines[-1] if lines else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self) -> int:
        """Block until the server exits (foreground `swfbench serve`)."""
        assert self.process is not None
        return self.process.wait()
