"""The embedded target's lifecycle: started on demand, gone on every exit path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from swfbench.embedded import HOST, EmbeddedServer, answers, free_port
from swfbench.engine.limits import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CLOSED_EXECUTIONS,
    DEFAULT_MAX_CONNECTIONS,
)
from swfbench.errors import EmbeddedTargetError, ExitCode

SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def processes_marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries `mark` (ours and our children's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"SWFBENCH_TEST_MARK={mark}".encode() in environ.split(b"\0") and alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


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
    assert f"(default {DEFAULT_MAX_CLOSED_EXECUTIONS})" in text
    assert f"(default {DEFAULT_MAX_CONNECTIONS}," in text
    assert f"(default {DEFAULT_IDLE_TIMEOUT:g}s)" in text
