"""Connections: idle ones time out, their number is bounded, running out of descriptors degrades."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from conftest import wait_for

from .helpers import Engine, cpu_seconds

REQUEST = b"GET /swfbench/clock HTTP/1.1\r\nHost: engine\r\n\r\n"
TOO_MANY = "swfbench#TooManyConnections"


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response (Content-Length framed) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _connect(engine: Engine) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", engine.port), timeout=30)
    return sock


def _served(engine: Engine) -> socket.socket:
    """A connection the engine has taken on: it answered a request on it."""
    sock = _connect(engine)
    sock.sendall(REQUEST)
    status, _, _ = _read_response(sock)
    assert status == 200
    return sock


def _get(engine: Engine, path: str) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        conn.close()


def _answered_200(engine: Engine) -> bool:
    return _get(engine, "/swfbench/clock")[0] == 200


# --- idle timeout -------------------------------------------------------------------------------


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine("--idle-timeout", "1")
    sock = _served(engine)
    idle_since = time.monotonic()
    assert sock.recv(1) == b""  # the engine hangs up (the socket's own timeout is 30 s)
    assert time.monotonic() - idle_since > 0.8
    assert _get(engine, "/swfbench/engine")[2]["connections"]["idle_timeout_s"] == 1.0


def test_connection_that_never_sends_is_closed_after_the_idle_timeout(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine("--idle-timeout", "1")
    sock = _connect(engine)
    assert sock.recv(1) == b""


def test_connection_in_use_stays_open_past_the_idle_timeout(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine("--idle-timeout", "2")
    sock = _served(engine)
    began = time.monotonic()
    while time.monotonic() - began < 3:  # longer than the timeout, in gaps ten times shorter
        time.sleep(0.2)
        sock.sendall(REQUEST)
        assert _read_response(sock)[0] == 200


# --- the bound ----------------------------------------------------------------------------------


def test_connection_past_the_bound_gets_503_and_one_freed_slot_serves_again(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine("--max-connections", "3")
    held = [_served(engine) for _ in range(3)]

    extra = _connect(engine)
    extra.sendall(REQUEST)
    status, headers, body = _read_response(extra)
    assert status == 503
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    error = json.loads(body)
    assert error["__type"] == TOO_MANY
    assert "at most 3 connections" in error["message"]
    assert extra.recv(1) == b""  # then closed, cleanly

    held.pop().close()
    wait_for(lambda: _answered_200(engine))
    # Each call above used a connection of its own, whose slot is freed once the engine sees
    # it closed: poll until the engine answers again.
    info: list[dict[str, Any]] = []
    wait_for(lambda: _get_into(engine, "/swfbench/engine", info))
    assert info[0]["connections"]["max_connections"] == 3
    assert info[0]["connections"]["refused"] >= 1
    for sock in held:
        sock.close()


def _get_into(engine: Engine, path: str, into: list[dict[str, Any]]) -> bool:
    """GET `path`; on a 200, keep its JSON in `into` and say so."""
    status, _, body = _get(engine, path)
    if status == 200:
        into.append(body)
    return status == 200


# --- out of descriptors -------------------------------------------------------------------------

DESCRIPTORS = 128
IDLE_SOCKETS = 200


@pytest.mark.parametrize(
    ("flags", "refusal"),
    [
        ((), "at most"),  # the default bound fits the limit: refused by the bound
        (("--max-connections", "1000"), "out of file descriptors"),  # past it: EMFILE
    ],
    ids=["default-bound", "bound-above-the-limit"],
)
def test_under_a_low_descriptor_limit_new_clients_are_refused_without_spinning(
    start_engine: Callable[..., Engine], flags: tuple[str, ...], refusal: str
) -> None:
    engine = start_engine("--idle-timeout", "3", *flags, nofile=DESCRIPTORS)
    bound = _get(engine, "/swfbench/engine")[2]["connections"]["max_connections"]
    if not flags:
        assert bound < DESCRIPTORS

    idle = [_connect(engine) for _ in range(IDLE_SOCKETS)]
    # A new client is answered (the accept loop got past every idle socket queued before it),
    # with a clean refusal: HTTP 503 and a one-line JSON error.
    status, _, error = _get(engine, "/swfbench/clock")
    assert status == 503
    assert error["__type"] == TOO_MANY
    assert refusal in error["message"]

    # The accept loop does not spin: CPU time over a window, as a fraction of the window.
    cpu_before, wall_before = cpu_seconds(engine.process.pid), time.monotonic()
    wait_for(lambda: time.monotonic() - wall_before > 2.0)
    busy = (cpu_seconds(engine.process.pid) - cpu_before) / (time.monotonic() - wall_before)
    assert busy < 0.25, f"engine used {busy:.0%} of a CPU with {IDLE_SOCKETS} idle sockets"

    # Once the idle connections time out, new clients are served again.
    wait_for(lambda: _answered_200(engine))
    for sock in idle:
        sock.close()
