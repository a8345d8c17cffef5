"""The embedded target: an SWF server run as a child process on a loopback port.

The child is stopped on every exit path: the context manager's `finally`, and, should swfbench
itself be killed outright, the kernel's parent-death signal (Linux), so no server outlives us.
It runs in a session of its own, and stopping it signals that whole process group, so nothing
it may have started outlives it either.

Each engine says how it is launched (`Launch`): the command and environment, how to tell it is
ready, how long it may take to start and to stop, and what to clean up after it. The moto-based
engines are modules of swfbench's own interpreter; LocalStack runs from its own Python 3.13
environment (`swfbench.localstack`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO

from swfbench import __version__, lifeline
from swfbench.errors import EmbeddedTargetError

HOST = "127.0.0.1"
DEFAULT_ENGINE = "swfbench"
STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class Launch:
    """How to run one engine process on a port."""

    argv: list[str]
    env: dict[str, str] | None = None
    """The child's environment; None inherits swfbench's."""
    ready: Callable[[str], bool] = field(default=lambda url: answers(url + "/"))
    """Given the server's base URL: does it serve SWF yet?"""
    startup_timeout_s: float = STARTUP_TIMEOUT_S
    stop_grace_s: float = 5.0
    """After SIGTERM, how long the server may take to exit before it is killed."""
    scratch: Path | None = None
    """A folder of the server's own, removed once it has stopped."""
    version: str | None = None
    """What the server is, for results files (e.g. `moto 5.2.5`)."""


def _module_engine(
    module: str, *args: str, extended: bool
) -> Callable[[int, tuple[str, ...]], Launch]:
    """An engine run as `python -m module` in swfbench's own interpreter: moto's SWF, plain or
    extended by swfbench."""

    def launch(port: int, extra_args: tuple[str, ...]) -> Launch:
        filled = [arg.format(host=HOST, port=port) for arg in args]
        version = f"moto {metadata.version('moto')}"
        return Launch(
            argv=[sys.executable, "-m", module, *filled, *extra_args],
            version=f"{version}, extended by swfbench {__version__}" if extended else version,
        )

    return launch


def _localstack_engine(port: int, extra_args: tuple[str, ...]) -> Launch:
    from swfbench import localstack  # its own environment, built on first use

    if extra_args:
        raise EmbeddedTargetError("LocalStack takes no engine flags (--quotas, --clock)")
    env = localstack.environment(say=lambda line: print(f"swfbench: {line}", file=sys.stderr))
    scratch = localstack.scratch_folder()
    return Launch(
        argv=[str(env.python), "-m", "localstack.runtime.main"],
        env=localstack.server_env(HOST, port, scratch),
        ready=localstack.swf_ready,
        startup_timeout_s=120.0,  # its first start on a busy machine takes tens of seconds
        stop_grace_s=30.0,  # it stops its services one by one: about 4 s when idle
        scratch=scratch,
        version=env.version,
    )


ENGINES: dict[str, Callable[[int, tuple[str, ...]], Launch]] = {
    # moto's SWF extended to keep SWF's heartbeat promises at fleet scale (swfbench.engine).
    "swfbench": _module_engine(
        "swfbench.engine", "--host", "{host}", "--port", "{port}", extended=True
    ),
    # Plain moto, as published: the reference emulator the conformance matrix compares against.
    "moto": _module_engine("moto.server", "-H", "{host}", "-p", "{port}", extended=False),
    # LocalStack (free edition): moto-ext underneath, the emulator most teams run.
    "localstack": _localstack_engine,
}


def engine_launch(engine: str, port: int, extra_args: tuple[str, ...] = ()) -> Launch:
    if engine not in ENGINES:
        raise EmbeddedTargetError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return ENGINES[engine](port, extra_args)


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True if a server could listen on `port` now.

    Probed as the servers bind, with SO_REUSEADDR: connections of a server that just exited
    still sit in TIME_WAIT on the port for a minute, and must not stop a restart on it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the child's whole session (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def answers(url: str, timeout: float = 0.5) -> bool:
    """True once anything answers HTTP at `url`, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class ServerExited(EmbeddedTargetError):
    """The server exited while starting (its port may have been taken meanwhile)."""


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
        self.launch: Launch | None = None
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
        try:
            self._start()
        except BaseException:
            # Ctrl-C or SIGTERM while the server starts: __exit__ will not run, so stop it here.
            self.stop()
            raise

    def _start(self) -> None:
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
            except ServerExited:
                if attempt == 2:
                    raise

    def _launch(self, port: int) -> None:
        launch = engine_launch(self.engine, port, self.extra_args)
        self.port = port
        self.launch = launch
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            launch.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=launch.env,
            # Own session: a Ctrl-C in the terminal reaches swfbench, which stops the child
            # itself, instead of the child printing its own interrupt traceback.
            start_new_session=True,
            # SIGTERM when swfbench dies: the server stops as it would on Ctrl-C.
            preexec_fn=lifeline.for_child(signal.SIGTERM),
        )
        deadline = time.monotonic() + launch.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = self._last_log_line() or f"exit code {self.process.returncode}"
                self.stop()
                raise ServerExited(
                    f"the embedded {self.engine} server on port {port} exited at start: {reason}"
                )
            if launch.ready(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedTargetError(
            f"the embedded {self.engine} server on port {port} did not answer "
            f"within {launch.startup_timeout_s:.0f} s"
        )

    def _last_log_line(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().decode(errors="replace").splitlines()]
        lines = [line for line in lines if line]
        return lines[-1] if lines else ""

    @property
    def version(self) -> str | None:
        """What the running server is (e.g. `moto 5.2.5`), for results files."""
        return self.launch.version if self.launch else None

    def stop(self) -> None:
        process, self.process = self.process, None
        grace = self.launch.stop_grace_s if self.launch else 5.0
        if process is not None:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
            # Whatever the server started in its session goes with it.
            _signal_group(process, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.launch is not None and self.launch.scratch is not None:
            shutil.rmtree(self.launch.scratch, ignore_errors=True)

    def wait(self) -> int:
        """Block until the server exits (foreground `swfbench serve`)."""
        assert self.process is not None
        return self.process.wait()
