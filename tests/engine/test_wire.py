"""HTTP/1.1 on the wire, as the engine's event loop reads and answers it: pipelining, partial
and half-closed requests, 100-continue, clients that do not read, and what is refused."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from conftest import wait_for
from swfbench.engine.wire import MAX_BODY, MAX_HEAD, MAX_HEADERS

from .helpers import Engine, launch, stop

CLOCK = b"GET /swfbench/clock HTTP/1.1\r\nHost: engine\r\n\r\n"
BAD_HTTP = "swfbench#BadHttpRequest"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """One engine for the module: these tests change no state an other test reads."""
    started = launch()
    yield started
    stop(started)


def _connect(engine: Engine) -> socket.socket:
    return socket.create_connection(("127.0.0.1", engine.port), timeout=30)


def _swf(operation: str, body: bytes, *extra: str) -> bytes:
    head = [
        "POST / HTTP/1.1",
        "Host: engine",
        f"X-Amz-Target: SimpleWorkflowService.{operation}",
        "Content-Type: application/x-amz-json-1.0",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Reader:
    """Reads HTTP answers (Content-Length framed) off a raw socket, one after another."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {self.data[:200]!r}")
        self.data += chunk

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.data:
            self._more()
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.data) < length:
            self._more()
        body, self.data = self.data[:length], self.data[length:]
        return int(lines[0].split()[1]), headers, body

    def closed(self) -> bool:
        """The engine hung up once everything was read (as a client sees it)."""
        return not self.data and self.sock.recv(1) == b""


def _refused(engine: Engine, data: bytes) -> tuple[int, dict[str, str], dict[str, str]]:
    """Send raw bytes; the engine answers JSON and closes."""
    with _connect(engine) as sock:
        sock.sendall(data)
        reader = Reader(sock)
        status, headers, body = reader.answer()
        assert headers["connection"] == "close"
        assert headers["content-type"] == "application/x-amz-json-1.0"
        assert reader.closed()
        return status, headers, json.loads(body)


def test_pipelined_requests_are_answered_in_order(engine: Engine) -> None:
    with _connect(engine) as sock:
        sock.sendall(
            CLOCK
            + _swf("ListDomains", b'{"registrationStatus": "REGISTERED"}')
            + b"GET /swfbench/engine HTTP/1.1\r\n\r\n"
        )
        reader = Reader(sock)
        assert json.loads(reader.answer()[2])["mode"] == "real"
        assert json.loads(reader.answer()[2]) == {"domainInfos": []}
        assert json.loads(reader.answer()[2])["engine"] == "swfbench"


def test_a_request_sent_a_byte_at_a_time_is_answered(engine: Engine) -> None:
    with _connect(engine) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in _swf("ListDomains", b'{"registrationStatus": "REGISTERED"}'):
            sock.send(bytes([byte]))
        status, _, body = Reader(sock).answer()
        assert (status, json.loads(body)) == (200, {"domainInfos": []})


def test_a_half_closed_client_still_gets_its_answers(engine: Engine) -> None:
    with _connect(engine) as sock:
        sock.sendall(CLOCK + CLOCK)
        sock.shutdown(socket.SHUT_WR)
        reader = Reader(sock)
        assert reader.answer()[0] == 200
        assert reader.answer()[0] == 200
        assert reader.closed()


@pytest.mark.parametrize(
    ("version", "connection", "stays_open"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "close", False),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(
    engine: Engine, version: str, connection: str | None, stays_open: bool
) -> None:
    header = f"Connection: {connection}\r\n" if connection else ""
    with _connect(engine) as sock:
        sock.sendall(f"GET /swfbench/clock {version}\r\n{header}\r\n".encode())
        reader = Reader(sock)
        status, headers, _ = reader.answer()
        assert status == 200
        if stays_open:
            sock.sendall(CLOCK)
            assert reader.answer()[0] == 200
        else:
            assert headers["connection"] == "close"
            assert reader.closed()


def test_expect_100_continue_is_answered_before_the_body(engine: Engine) -> None:
    body = b'{"registrationStatus": "REGISTERED"}'
    request = _swf("ListDomains", body, "Expect: 100-continue")
    with _connect(engine) as sock:
        sock.sendall(request[: -len(body)])
        reader = Reader(sock)
        status, _, _ = reader.answer()
        assert status == 100
        sock.sendall(body)
        status, _, answer = reader.answer()
        assert (status, json.loads(answer)) == (200, {"domainInfos": []})


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"NONSENSE\r\n\r\n", 400, "Bad request syntax"),
        (b"GET / HTTP/2.0\r\n\r\n", 505, "Invalid HTTP version"),
        (b"GET / HTTX/1.1\r\n\r\n", 400, "Bad request version"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, "Bad header line"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n", 431, "exceed"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD, 431, "exceed"),
        (
            b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * (MAX_HEADERS + 1) + b"\r\n",
            431,
            "header fields",
        ),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411, "chunked"),
        (f"POST / HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode(), 413, "exceeds"),
        (b"BREW /pot HTTP/1.1\r\n\r\n", 501, "Unsupported method"),
    ],
    ids=[
        "request-line",
        "http2",
        "not-http",
        "header-line",
        "long-head",
        "long-head-unfinished",
        "many-headers",
        "chunked",
        "huge-body",
        "method",
    ],
)
def test_what_is_not_http_1_is_answered_in_json_and_closed(
    engine: Engine, data: bytes, status: int, words: str
) -> None:
    got, _, error = _refused(engine, data)
    assert got == status
    assert error["__type"] == BAD_HTTP
    assert words in error["message"]
    # The engine carries on.
    assert engine.raw("GET", "/swfbench/clock").status == 200


def test_a_client_that_does_not_read_holds_up_no_one(engine: Engine) -> None:
    # Enough pipelined requests that their answers overflow the socket buffers.
    count = 3000
    with _connect(engine) as greedy:
        greedy.sendall(b"GET /swfbench/engine HTTP/1.1\r\n\r\n" * count)
        time.sleep(0.2)
        # Others are served while the greedy client's answers wait.
        for _ in range(5):
            assert engine.raw("GET", "/swfbench/clock").status == 200
        reader = Reader(greedy)
        for _ in range(count):
            status, _, body = reader.answer()
            assert status == 200
        assert json.loads(body)["engine"] == "swfbench"


def test_the_engine_reports_open_connections(engine: Engine) -> None:
    held = [_connect(engine) for _ in range(3)]
    for sock in held:
        sock.sendall(CLOCK)
        Reader(sock).answer()

    def open_now() -> int:
        info = engine.raw("GET", "/swfbench/engine").json()
        count: int = info["connections"]["open"]
        return count

    assert open_now() >= 4  # the three, and the one asking
    for sock in held:
        sock.close()
    wait_for(lambda: open_now() == 1)
