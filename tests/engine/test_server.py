"""The process contract: flags, readiness, admin endpoints, signals, exit codes."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .helpers import DECISIONS, DOMAIN, Engine, Flow, free_port, launch, stop


def test_answers_plain_get_and_reports_itself(engine: Engine) -> None:
    root = engine.raw("GET", "/")
    assert root.status == 200
    info = engine.raw("GET", "/swfbench/engine").json()
    assert info["engine"] == "swfbench"
    assert info["moto"] == "5.2.5"
    assert info["clock"] == "real"


def test_real_clock_can_be_read_but_not_advanced(engine: Engine) -> None:
    clock = engine.raw("GET", "/swfbench/clock").json()
    assert clock["mode"] == "real"
    assert abs(clock["now"] - time.time()) < 5
    response = engine.raw("POST", "/swfbench/clock/advance", {"seconds": 10})
    assert response.status == 400


def test_virtual_clock_moves_only_when_advanced(virtual_engine: Engine) -> None:
    first = virtual_engine.now()
    time.sleep(0.2)
    assert virtual_engine.now() == first
    assert virtual_engine.advance(90) == pytest.approx(first + 90)
    assert virtual_engine.raw("GET", "/swfbench/clock").json()["mode"] == "virtual"
    assert virtual_engine.raw("GET", "/swfbench/engine").json()["clock"] == "virtual"
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    assert flow.history()[0]["eventTimestamp"].timestamp() == pytest.approx(first + 90, abs=0.01)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero_quietly(signum: int) -> None:
    engine = launch()
    engine.raw("GET", "/")
    engine.process.send_signal(signum)
    _, stderr = engine.process.communicate(timeout=10)
    assert engine.process.returncode == 0
    assert b"Traceback" not in stderr
    assert len(stderr.decode().strip().splitlines()) <= 1  # the startup line
    stop(engine)


def test_port_in_use_exits_249_with_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "swfbench.engine", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            timeout=30,
        )
    assert result.returncode == 249
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert str(port) in lines[0]


def test_untested_moto_version_exits_249() -> None:
    code = (
        "import sys, runpy, moto; moto.__version__ = '9.9.9'; "
        "sys.argv = ['swfbench.engine', '--port', sys.argv[1]]; "
        "runpy.run_module('swfbench.engine', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(free_port())], capture_output=True, timeout=30
    )
    assert result.returncode == 249
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "5.2.5" in lines[0] and "9.9.9" in lines[0] and "--engine moto" in lines[0]


def test_no_per_request_logging() -> None:
    engine = launch()
    swf = engine.client()
    for _ in range(20):
        swf.list_domains(registrationStatus="REGISTERED")
    engine.swf_raw("NoSuchOperation", {})
    engine.process.send_signal(signal.SIGTERM)
    stdout, stderr = engine.process.communicate(timeout=10)
    assert stdout == b""
    assert len(stderr.decode().strip().splitlines()) == 1  # the startup line
    stop(engine)


def test_waiting_poll_does_not_block_other_calls(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    token = Flow(swf).start().start_activity("a1")
    poller = threading.Thread(
        target=lambda: engine.client().poll_for_decision_task(
            domain=DOMAIN, taskList={"name": "nobody-schedules-here"}
        )
    )
    poller.start()
    time.sleep(0.1)
    began = time.monotonic()
    for _ in range(10):
        swf.record_activity_task_heartbeat(taskToken=token)
    assert time.monotonic() - began < 0.5
    poller.join()


def test_waiting_poll_is_handed_a_task_scheduled_meanwhile(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.decide()  # the first decision task, closed with no decisions
    got: list[dict[str, object]] = []
    poller = threading.Thread(
        target=lambda: got.append(
            engine.client().poll_for_decision_task(domain=DOMAIN, taskList={"name": DECISIONS})
        )
    )
    poller.start()
    time.sleep(0.2)
    flow.signal()
    poller.join()
    assert got and got[0].get("taskToken")


def test_bucket_flags_need_aws_quotas() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swfbench.engine", "--port", "1", "--account-bucket", "5"],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the backlog")
def test_listens_with_a_backlog_a_fleet_can_connect_into(engine: Engine) -> None:
    """socketserver's default backlog of 5 drops the SYNs of a herd connecting at once (each
    retransmitted a second later, measured as 1 s calls): the engine listens with 1024."""
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{engine.port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # State, Recv-Q, Send-Q (for a listening socket: its backlog), local address, peer.
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert int(listing[2]) == min(1024, somaxconn)


@pytest.mark.parametrize("port", ["99999", "-1", "70000", "http"])
def test_bad_port_is_a_usage_error_not_a_traceback(port: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swfbench.engine", "--port", port],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert b"--port" in result.stderr


@pytest.mark.parametrize(
    "body",
    [
        b'{"seconds": NaN}',
        b'{"seconds": Infinity}',
        b'{"seconds": -Infinity}',
        b'{"seconds": "5"}',
        b'{"seconds": true}',
        b'{"seconds": null}',
        b'{"seconds": -1}',
        b'{"seconds": 1e308}',
        b'{"seconds": 1' + b"0" * 5000 + b"}",
        b'{"secs": 5}',
        b"[5]",
        b"not json",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "string",
        "bool",
        "null",
        "negative",
        "past-year-9999",
        "5000-digit-integer",
        "no-seconds",
        "not-an-object",
        "not-json",
        "deeply-nested",
    ],
)
def test_clock_advance_refuses_what_is_not_a_finite_time(
    virtual_engine: Engine, body: bytes
) -> None:
    before = virtual_engine.now()
    response = virtual_engine.raw("POST", "/swfbench/clock/advance", body)
    assert response.status == 400
    assert response.body.count(b"\n") == 0
    error = response.json()
    assert error["__type"] == "swfbench#BadRequest"
    assert "seconds" in error["message"]
    # Nothing moved, and the clock still answers JSON.
    clock = virtual_engine.raw("GET", "/swfbench/clock")
    assert json.loads(clock.body, parse_constant=lambda name: pytest.fail(name))["now"] == before


def test_clock_advance_takes_integers_and_fractions(virtual_engine: Engine) -> None:
    before = virtual_engine.now()
    assert virtual_engine.advance(2) == pytest.approx(before + 2)
    assert virtual_engine.advance(0.5) == pytest.approx(before + 2.5)
    assert virtual_engine.advance(0) == pytest.approx(before + 2.5)
