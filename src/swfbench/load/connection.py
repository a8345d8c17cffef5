"""One kept-alive HTTP/1.1 connection to the target, for a sender's heartbeats.

A heartbeat is the same small exchange every time: `POST /` with a JSON body of a few hundred
bytes, and an answer of a few dozen (`{"cancelRequested":false}`). geventhttpclient, which
Locust's FastHttpUser is built on, adds a liveness check through gevent's `select` before each
request, a timeout object per call and its parser's callbacks; writing the request as one bytes
object and reading the answer with just the HTTP/1.1 it can carry (status line,
`Content-Length` or chunked, `Connection: close`) makes a whole signed heartbeat cost 55 µs of
CPU instead of 72 to 91 µs (benchmarks/load_send_path.py, `lean` against `lean-ghc`). At a
million simulated workers that difference is whether two cores can send what the fleet asks.

A sender's heartbeats take its own `Connection`; a simulated worker's other calls (start,
poll, respond: `transport.FastClient`), made from any sender, take one from a `Pool`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from select import POLLIN
from typing import Any
from urllib.parse import urlsplit

from botocore.httpsession import get_cert_path
from gevent import socket, ssl
from gevent.lock import BoundedSemaphore
from gevent.monkey import get_original

from swfbench.load.sigv4 import host_header

_poll = get_original("select", "poll")
RECV_BYTES = 65536
MAX_HEAD_BYTES = 65536
"""An answer whose status line and headers are longer than this is not SWF's."""


class ConnectTimedOut(TimeoutError):
    """No connection within the connect timeout (a socket timeout says only "timed out", the
    same as an answer that does not come)."""


class BadAnswer(ConnectionError):
    """Bytes that are not an HTTP/1.x answer."""


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """Certificate checks as botocore's `verify` has them: False (none), a CA bundle's path, or
    True: the bundle boto3 trusts (`AWS_CA_BUNDLE`, else botocore's own), so that heartbeats
    and the set-up calls beside them trust the same authorities."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        verify = os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True)
    return ssl.create_default_context(cafile=verify)


class Connection:
    """Sends `POST /` requests one after another on one connection, opened when first needed
    and again after the server closes it. Not shared: one per sender greenlet.

    Before a request goes out on a kept-alive connection, one `poll` (about a microsecond)
    asks whether the server closed it while it was idle (the engine after `--idle-timeout`, a
    load balancer after its own); if so the request goes out on a new one. A request that was
    sent is never sent again: a connection reset before the answer may come after the server
    acted on it (a load balancer that drops a connection), and a second
    RespondActivityTaskCompleted would be answered UnknownResourceFault. Any failure closes the
    connection and raises: `ConnectTimedOut`, `TimeoutError` (no answer within the read
    timeout), `BadAnswer`, `ConnectionError`, or the socket's other `OSError`."""

    def __init__(
        self, endpoint_url: str, *, connect_s: float, read_s: float, verify: bool | str = True
    ) -> None:
        parts = urlsplit(endpoint_url)
        tls = parts.scheme == "https"
        self._address = (parts.hostname or "", parts.port or (443 if tls else 80))
        self._context = tls_context(verify) if tls else None
        self._connect_s = connect_s
        self._read_s = read_s
        self._start = f"POST / HTTP/1.1\r\nHost: {host_header(endpoint_url)}\r\n"
        self._sock: Any = None
        self._idle_check: Any = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = self._idle_check = None
        self._buffer = b""

    def post(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """Status and body of the answer to `POST /` with `headers` and `body`."""
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        request = f"{self._start}{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body
        if self._idle_check is not None and self._idle_check.poll(0):
            # Readable while idle: the server closed it (or says something unasked before
            # closing it, as a 408 answer); not a connection to send on.
            self.close()
        if self._sock is None:
            self._open()
        try:
            return self._exchange(request)
        except BaseException:  # a timeout, a reset, a greenlet killed mid-answer
            self.close()
            raise

    def _open(self) -> None:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_s)
        except TimeoutError as exc:
            raise ConnectTimedOut(f"no connection to {self._address[0]} within "
                                  f"{self._connect_s:g} s") from exc  # fmt: skip
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # A TLS handshake that times out is a ReadTimeout, as boto3 (urllib3) reports it.
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._address[0])
        except BaseException:
            sock.close()
            raise
        sock.settimeout(self._read_s)
        # The unpatched poll: gevent's select would switch greenlets for a zero timeout, and
        # select() cannot see descriptors past 1024.
        check = _poll()
        check.register(sock.fileno(), POLLIN)
        self._sock, self._idle_check = sock, check

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        # One send() takes a request this small whole (gevent's sendall costs a few µs more:
        # a memoryview, a clock reading and a buffer-size query per call).
        sent = self._sock.send(request)
        if sent < len(request):
            self._sock.sendall(request[sent:])
        while True:
            status, body, keep = self._answer()
            if status >= 200:  # 1xx answers are interim: the real one follows
                break
        if not keep:
            self.close()
        return status, body

    def _recv(self, answered: bool) -> bytes:
        data: bytes = self._sock.recv(RECV_BYTES)
        if not data:
            if answered:
                raise BadAnswer("the connection closed in the middle of the answer")
            raise ConnectionError("the connection closed before the answer")
        return data

    def _answer(self) -> tuple[int, bytes, bool]:
        """One answer: status, body, and whether the connection stays open."""
        buffer = self._buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise BadAnswer(f"no end of headers in the first {MAX_HEAD_BYTES} bytes")
            buffer += self._recv(bool(buffer))
        status_line, *header_lines = buffer[:end].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise BadAnswer(f"not an HTTP/1.x status line: {status_line[:60]!r}")
        length: int | None = None
        chunked = False
        connection = ""
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                if not value.strip().isdigit():
                    raise BadAnswer(f"Content-Length {value.strip()[:20]!r}")
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                connection = value.strip().lower()
        keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        buffer = buffer[end + 4 :]
        status = int(code)
        if status < 200 or status in (204, 304):
            body = b""
        elif chunked:
            body, buffer = self._chunked(buffer)
        elif length is not None:
            while len(buffer) < length:
                buffer += self._recv(True)
            body, buffer = buffer[:length], buffer[length:]
        else:  # the body runs to the end of the connection
            keep = False
            while data := self._sock.recv(RECV_BYTES):
                buffer += data
            body, buffer = buffer, b""
        self._buffer = buffer
        return status, body, keep

    def _chunked(self, buffer: bytes) -> tuple[bytes, bytes]:
        """The body of a chunked answer, and what follows it."""
        parts: list[bytes] = []
        while True:
            while (line_end := buffer.find(b"\r\n")) < 0:
                buffer += self._recv(True)
            size_text = buffer[:line_end].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadAnswer(f"chunk size {size_text[:20]!r}") from None
            buffer = buffer[line_end + 2 :]
            if size == 0:  # the last chunk; trailers, if any, end with an empty line
                while (trailer_end := buffer.find(b"\r\n")) != 0:
                    if trailer_end < 0:
                        buffer += self._recv(True)
                    else:
                        buffer = buffer[trailer_end + 2 :]
                return b"".join(parts), buffer[2:]
            while len(buffer) < size + 2:
                buffer += self._recv(True)
            parts.append(buffer[:size])
            buffer = buffer[size + 2 :]


class Pool:
    """Connections for calls made from many greenlets: each call takes an idle one (or a new
    one) and gives it back, with at most `size` in use at once."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        size: int,
        connect_s: float,
        read_s: float,
        verify: bool | str = True,
    ) -> None:
        self._open: Callable[[], Connection] = lambda: Connection(
            endpoint_url, connect_s=connect_s, read_s=read_s, verify=verify
        )
        self._idle: list[Connection] = []
        self._slots = BoundedSemaphore(size)

    def post(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """As `Connection.post`, on whichever connection is free."""
        with self._slots:
            connection = self._idle.pop() if self._idle else self._open()
            try:
                return connection.post(headers, body)
            finally:
                # A connection that failed is closed; it opens again when next used.
                self._idle.append(connection)
