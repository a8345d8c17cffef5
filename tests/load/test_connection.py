"""`Connection`, the heartbeat path's own HTTP/1.1 client: against the engine for what SWF's
wire does (kept-alive answers, a connection closed while idle, 503 with `Connection: close`),
and against a socket server that writes given bytes for the framings HTTP/1.1 allows."""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gevent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import wait_for
from swfbench.embedded import EmbeddedServer
from swfbench.load.connection import BadAnswer, Connection, Pool
from swfbench.load.sigv4 import Signer
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION


def _list_domains(url: str) -> tuple[dict[str, str], bytes]:
    signer = Signer(
        endpoint_url=url, region=EMULATOR_REGION, credentials=lambda: (*EMULATOR_CREDENTIALS, None)
    )
    body = b'{"registrationStatus":"REGISTERED"}'
    return signer.headers("ListDomains", body), body


def _engine_state(url: str) -> dict[str, int]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/swfbench/engine")
        connections: dict[str, int] = json.loads(conn.getresponse().read())["connections"]
        return connections
    finally:
        conn.close()


def test_answers_come_back_on_one_kept_alive_connection() -> None:
    with EmbeddedServer(engine="swfbench") as engine:
        headers, body = _list_domains(engine.url)
        connection = Connection(engine.url, connect_s=5, read_s=5)
        answers = [connection.post(headers, body) for _ in range(20)]
        assert {status for status, _ in answers} == {200}
        assert "domainInfos" in json.loads(answers[-1][1])
        # The status call below is the second connection the engine ever saw: 20 calls, one
        # connection, and it is still open.
        assert _engine_state(engine.url)["open"] == 2
        connection.close()


def test_a_connection_the_engine_closed_while_idle_is_opened_again() -> None:
    """The engine closes a connection idle past --idle-timeout, as a load balancer does; the
    next heartbeat goes out on a new connection, not as a failure."""
    with EmbeddedServer(engine="swfbench", extra_args=("--idle-timeout", "1")) as engine:
        headers, body = _list_domains(engine.url)
        connection = Connection(engine.url, connect_s=5, read_s=5)
        assert connection.post(headers, body)[0] == 200
        # Only the status call's own connection is left once the engine hung up on ours.
        wait_for(lambda: _engine_state(engine.url)["open"] == 1)
        assert connection.post(headers, body)[0] == 200
        connection.close()


def test_a_503_with_connection_close_is_an_answer_and_the_next_call_connects_again() -> None:
    with EmbeddedServer(engine="swfbench", extra_args=("--max-connections", "1")) as engine:
        headers, body = _list_domains(engine.url)
        holder, refused = (Connection(engine.url, connect_s=5, read_s=5) for _ in range(2))
        assert holder.post(headers, body)[0] == 200  # the one connection the engine serves
        status, answer = refused.post(headers, body)
        assert status == 503
        assert json.loads(answer)["__type"] == "swfbench#TooManyConnections"
        holder.close()
        wait_for(lambda: refused.post(headers, body)[0] == 200)
        refused.close()


class Scripted:
    """A socket server that reads each request on a connection and writes the next scripted
    answer in the given pieces, pausing between them so the client reads each apart."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.answers: list[list[bytes]] = []
        """Each request's answer in pieces; none: the connection is closed instead."""
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.server.accept()
            except OSError:
                return
            with sock:
                while self.answers:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        data = sock.recv(65536)
                        if not data:
                            break
                        request += data
                    if not request:
                        break
                    self.requests += 1
                    pieces = self.answers.pop(0)
                    if not pieces:  # hang up without an answer
                        break
                    for piece in pieces:
                        sock.sendall(piece)
                        time.sleep(0.001)
                    if not self.answers:
                        break


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.server.close()


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    out, rest = b"", body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[:size], rest[size:]
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    if rest:
        out += f"{len(rest):X}\r\n".encode() + rest + b"\r\n"
    return out + b"0\r\nX-Trailer: 1\r\n\r\n"


BODIES = st.binary(min_size=0, max_size=300)
CUTS = st.lists(st.integers(min_value=0, max_value=2000), max_size=6)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, cuts=CUTS, sizes=st.lists(st.integers(1, 64), min_size=1, max_size=5))
def test_every_framing_reads_the_same_body_however_the_bytes_arrive(
    scripted: Scripted, body: bytes, cuts: list[int], sizes: list[int]
) -> None:
    """Content-Length, chunked (with extensions and a trailer) and an interim 100 answer, each
    cut into arbitrary pieces, on one kept-alive connection: the same status and body."""
    length = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(body, sizes)
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + length
    scripted.answers = [_pieces(answer, cuts) for answer in (length, chunked, interim)]
    connection = Connection(scripted.url, connect_s=5, read_s=5)
    for _ in range(3):
        assert connection.post({}, b"{}") == (200, body)
    connection.close()


def test_a_body_without_length_runs_to_the_close(scripted: Scripted) -> None:
    scripted.answers = [[b"HTTP/1.0 200 OK\r\n\r\n", b'{"cancelRequested":', b"true}"]]
    connection = Connection(scripted.url, connect_s=5, read_s=5)
    assert connection.post({}, b"{}") == (200, b'{"cancelRequested":true}')


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 OK 200\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
    ids=["not-http", "no-status", "bad-length", "bad-chunk"],
)  # fmt: skip
def test_bytes_that_are_not_an_http_answer_say_so(scripted: Scripted, answer: bytes) -> None:
    scripted.answers = [[answer]]
    with pytest.raises(BadAnswer):
        Connection(scripted.url, connect_s=5, read_s=5).post({}, b"{}")


def test_a_request_is_never_sent_twice(scripted: Scripted) -> None:
    """The server read the second request and hung up: it may have acted on it (a load
    balancer that drops the connection), so the call fails rather than going out again (a
    second RespondActivityTaskCompleted would be answered UnknownResourceFault)."""
    scripted.answers = [[b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"], [], []]
    connection = Connection(scripted.url, connect_s=5, read_s=5)
    assert connection.post({}, b"{}") == (200, b"{}")
    with pytest.raises(ConnectionError, match="closed before the answer"):
        connection.post({}, b"{}")
    assert scripted.requests == 2


def test_a_connection_closed_mid_answer_is_an_error_not_a_retry(scripted: Scripted) -> None:
    """Part of the answer came: the request reached the server, so it is not sent again."""
    scripted.answers = [[b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"cancel']]
    with pytest.raises(BadAnswer, match="middle of the answer"):
        Connection(scripted.url, connect_s=5, read_s=5).post({}, b"{}")
    assert scripted.answers == []  # one request, not two


def test_the_certificate_is_checked_unless_told_otherwise(
    https_engine: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heartbeats to real SWF carry real signatures: an endpoint whose certificate no CA vouches
    for gets none, unless the run names its CA bundle or turns checks off (`Target.verify`), or
    the bundle boto3 trusts (AWS_CA_BUNDLE) vouches for it."""
    url, cert = https_engine
    headers, body = _list_domains(url)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        Connection(url, connect_s=5, read_s=5).post(headers, body)
    for verify in (str(cert), False):
        connection = Connection(url, connect_s=5, read_s=5, verify=verify)
        assert connection.post(headers, body)[0] == 200
        assert connection.post(headers, body)[0] == 200  # kept alive through TLS too
        connection.close()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    assert Connection(url, connect_s=5, read_s=5).post(headers, body)[0] == 200


def test_a_pool_serves_many_greenlets_on_at_most_its_size_of_connections() -> None:
    with EmbeddedServer(engine="swfbench") as engine:
        headers, body = _list_domains(engine.url)
        pool = Pool(engine.url, size=3, connect_s=5, read_s=5)
        calls = [gevent.spawn(lambda: [pool.post(headers, body)[0] for _ in range(5)])
                 for _ in range(20)]  # fmt: skip
        gevent.joinall(calls, raise_error=True)
        assert [call.value for call in calls] == [[200] * 5] * 20
        assert _engine_state(engine.url)["open"] == 3 + 1  # and the status call's own
