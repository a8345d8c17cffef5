"""The embedded target's lifecycle: started on demand, gone on every exit path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from importlib import metadata

import pytest

from processes import SWFBENCH, alive, processes_marked, wait_until
from swfbench.embedded import ENGINES, HOST, EmbeddedServer, Launch, answers, free_port
from swfbench.engine.limits import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CLOSED_EXECUTIONS,
    DEFAULT_MAX_CONNECTIONS,
)
from swfbench.errors import EmbeddedTargetError, ExitCode


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_server_answers_then_is_gone_after_normal_exit() -> None:
    with EmbeddedServer() as server:
        assert server.process is not None
        pid = server.process.pid
        assert answers(server.url + "/")
        assert server.version == f"moto {metadata.version('moto')}, extended by swfbench 0.1.0"
    assert not alive(pid)
    assert not answers(server.url + "/")


def test_server_is_gone_after_an_exception() -> None:
    pid = 0
    with pytest.raises(ZeroDivisionError), EmbeddedServer() as server:
        assert server.process is not None
        pid = server.process.pid
        1 / 0  # noqa: B018
    assert pid and not alive(pid)


def test_busy_port_is_a_clear_error(busy_port: int) -> None:
    with pytest.raises(EmbeddedTargetError, match=f"port {busy_port} on 127.0.0.1 is in use"):
        EmbeddedServer(port=busy_port).start()


def test_serve_on_a_busy_port_exits_with_its_own_code(busy_port: int) -> None:
    result = subprocess.run(
        [*SWFBENCH, "serve", "--port", str(busy_port)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == ExitCode.EMBEDDED_TARGET
    assert result.stderr.count("\n") == 1 and "in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(EmbeddedTargetError, match="unknown engine"):
        EmbeddedServer(engine="nope").start()


def _serve(mark: str, port: int, *flags: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SWFBENCH_TEST_MARK": mark}
    process = subprocess.Popen(
        [*SWFBENCH, "serve", "--port", str(port), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert f"http://127.0.0.1:{port}" in line
    assert answers(f"http://127.0.0.1:{port}/")
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_its_server_on_ctrl_c_and_sigterm(signum: int) -> None:
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(mark, port)
    assert len(processes_marked(mark)) == 2  # swfbench and its server
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode in (ExitCode.OK, ExitCode.INTERRUPTED)
    assert "Traceback" not in stderr
    assert wait_until(lambda: not processes_marked(mark))


def test_server_dies_with_a_killed_parent() -> None:
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(mark, port)
    process.kill()
    process.wait()
    # SIGKILL runs no clean-up in swfbench: the kernel's parent-death signal stops the server.
    assert wait_until(lambda: not processes_marked(mark))
    assert not answers(f"http://127.0.0.1:{port}/")


def test_a_failing_command_leaves_no_server_behind() -> None:
    mark = uuid.uuid4().hex
    result = subprocess.run(
        [*SWFBENCH, "heartbeat", "--task-token", "no-such-token"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SWFBENCH_TEST_MARK": mark},
    )
    assert result.returncode == ExitCode.SERVICE
    assert not processes_marked(mark)


def test_a_server_interrupted_while_starting_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during the wait for readiness: `__exit__` never runs, `start` itself stops it."""
    mark = uuid.uuid4().hex
    started: list[int] = []

    def interrupted(url: str) -> bool:
        started.extend(processes_marked(mark))
        raise KeyboardInterrupt

    def launch(port: int, extra_args: tuple[str, ...]) -> Launch:
        return Launch(
            argv=[sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            env={**os.environ, "SWFBENCH_TEST_MARK": mark},
            ready=interrupted,
        )

    monkeypatch.setitem(ENGINES, "interrupted", launch)
    with pytest.raises(KeyboardInterrupt), EmbeddedServer(engine="interrupted"):
        pass
    assert len(started) == 1
    assert not processes_marked(mark)


@pytest.mark.parametrize(
    "flag",
    [
        "--port=99999",
        "--port=-1",
        "--port=70000",
        "--port=four",
        "--idle-timeout=inf",
        "--idle-timeout=nan",
        "--idle-timeout=0",
        "--max-connections=0",
        "--max-connections=1e3",
        "--max-closed-executions=-1",
    ],
)
def test_serve_refuses_a_bad_port_or_limit_in_one_line(flag: str) -> None:
    result = subprocess.run([*SWFBENCH, "serve", flag], capture_output=True, text=True, timeout=30)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert flag.split("=")[0] in result.stderr and "Traceback" not in result.stderr


def _time_wait_on(port: int) -> int:
    """Sockets in TIME_WAIT whose local port is `port` (ss from iproute2)."""
    listing = subprocess.run(
        ["ss", "-tanH", "state", "time-wait", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return len(listing.splitlines())


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to see TIME_WAIT")
def test_serve_restarts_at_once_on_its_port_after_a_crash() -> None:
    """A crashed server leaves its connections in TIME_WAIT on the port for a minute; a
    restart on the same port must not wait for them."""
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(mark, port)
    client = socket.create_connection((HOST, port), timeout=30)
    client.sendall(b"GET / HTTP/1.1\r\nHost: engine\r\n\r\n")
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    server_pid = next(pid for pid in processes_marked(mark) if pid != process.pid)

    os.kill(server_pid, signal.SIGKILL)
    # The kernel closes the dead server's side first; once the client closes too, the
    # server's end of the connection sits in TIME_WAIT on the port.
    assert client.recv(1) == b""
    client.close()
    process.wait(timeout=15)
    assert wait_until(lambda: _time_wait_on(port) > 0)

    restarted = _serve(mark, port)
    restarted.send_signal(signal.SIGTERM)
    restarted.communicate(timeout=15)
    assert restarted.returncode in (ExitCode.OK, ExitCode.INTERRUPTED)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    process.stderr.close()


def test_serve_hands_the_engine_its_limits() -> None:
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(
        mark, port, "--max-closed-executions", "7", "--max-connections", "9", "--idle-timeout", "2m"
    )
    with urllib.request.urlopen(f"http://{HOST}:{port}/swfbench/engine", timeout=30) as response:
        info = json.loads(response.read())
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=15)
    assert info["max_closed_executions"] == 7
    assert info["connections"]["max_connections"] == 9
    assert info["connections"]["idle_timeout_s"] == 120.0


def test_help_states_the_engine_limit_defaults() -> None:
    result = subprocess.run([*SWFBENCH, "serve", "--help"], capture_output=True, text=True)
    text = " ".join(result.stdout.split())
    assert f"(default: {DEFAULT_MAX_CLOSED_EXECUTIONS})" in text
    assert f"(default: {DEFAULT_MAX_CONNECTIONS}," in text
    assert f"(default: {DEFAULT_IDLE_TIMEOUT:g}s)" in text
