"""A fault-injecting HTTP proxy: a real TCP server on loopback in front of a real SWF endpoint.

Clients (boto3, Locust's FastHttpUser, swfbench) talk to `proxy.url` as they would to the
target. Each request is read whole, forwarded on its own upstream connection and answered with
the upstream's answer, unless a fault says otherwise:

- `latency_s`: every answer comes this much later;
- `error_every`: every Nth request is answered HTTP 503 with an empty body, never forwarded;
- `reset_before_every`: every Nth request gets a TCP reset instead of an answer (forwarded first,
  so the target did act on it, as when a load balancer drops a connection);
- `reset_during_every`: every Nth answer is cut off halfway by a TCP reset;
- `hang_after_heartbeats`: once that many RecordActivityTaskHeartbeat requests have been
  answered, every request is read and then held unanswered until the proxy stops;
- `replace`: answers of an operation replaced by a 200 with this JSON body (a target that
  answers, but not as SWF does);
- `upstream`: where requests go; point it at a new server to restart the target behind the
  proxy (while nothing listens there, clients get a reset).

`only` limits the counted faults (errors, resets) to one operation; `exempt` operations get no
fault and no latency (e.g. the registration calls, to keep a test short). Counters say what was
done.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlsplit

HEARTBEAT = "RecordActivityTaskHeartbeat"
REGISTRATION = frozenset({"RegisterDomain", "RegisterWorkflowType", "RegisterActivityType"})
TARGET_HEADER = b"x-amz-target:"


def _read_message(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """One HTTP/1.1 message (head, body) framed by Content-Length; None at end of stream."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline(65536)
        if not line:
            return None
        head += line
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = stream.read(length) if length else b""
    return head, body


def _read_answer(sock: socket.socket) -> bytes:
    """The upstream's whole answer: by Content-Length, or until it closes."""
    stream = sock.makefile("rb")
    message = _read_message(stream)
    if message is None:
        raise ConnectionError("the upstream closed without answering")
    head, body = message
    if b"content-length" not in head.lower():
        body += stream.read()
    return head + body


def _operation(head: bytes) -> str:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(TARGET_HEADER):
            return line.split(b":", 1)[1].strip().decode().rsplit(".", 1)[-1]
    return ""


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST rather than a FIN (SO_LINGER with a zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _every(n: int, count: int) -> bool:
    return n > 0 and count % n == 0


@dataclass
class FaultProxy:
    upstream: str
    latency_s: float = 0.0
    error_every: int = 0
    reset_before_every: int = 0
    reset_during_every: int = 0
    hang_after_heartbeats: int | None = None
    only: str | None = None
    exempt: set[str] = field(default_factory=set)
    replace: dict[str, bytes] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    """requests, answered:<operation>, op:<operation>, and faults: error, error:<operation>,
    reset_before, reset_during, hung, upstream_down."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: socket.socket | None = None
    _connections: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self._server = server
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()

    @property
    def hanging(self) -> bool:
        limit = self.hang_after_heartbeats
        return limit is not None and self.counts[f"answered:{HEARTBEAT}"] >= limit

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._connections.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _count(self, key: str) -> int:
        with self._lock:
            self.counts[key] += 1
            return self.counts[key]

    def _serve(self, client: socket.socket) -> None:
        stream = client.makefile("rb")
        try:
            while not self._stopping.is_set():
                message = _read_message(stream)
                if message is None:
                    break
                if not self._answer(client, *message):
                    return
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(client)
            with contextlib.suppress(OSError):
                client.close()

    def _answer(self, client: socket.socket, head: bytes, body: bytes) -> bool:
        """Answer one request; False when the connection is gone (reset, hang, stop)."""
        operation = _operation(head)
        self._count("requests")
        self._count(f"op:{operation}")
        if self.hanging:
            self._count("hung")
            self._stopping.wait()  # held until the proxy stops: the client's timeout decides
            return False
        if operation in self.exempt:
            return self._pass(client, head + body, operation)
        faulty = self.only is None or self.only == operation
        number = self._count(f"faultable:{operation}" if self.only else "faultable")
        if faulty and _every(self.error_every, number):
            self._count("error")
            self._count(f"error:{operation}")
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            return True
        if operation in self.replace:
            body = self.replace[operation]
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
            self._count(f"replaced:{operation}")
            client.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            return True
        try:
            answer = self._forward(head + body)
        except OSError:
            self._count("upstream_down")
            _reset(client)
            return False
        if self.latency_s:
            time.sleep(self.latency_s)
        if faulty and _every(self.reset_before_every, number):
            self._count("reset_before")
            self._count(f"reset:{operation}")
            _reset(client)
            return False
        if faulty and _every(self.reset_during_every, number):
            self._count("reset_during")
            self._count(f"reset:{operation}")
            client.sendall(answer[: len(answer) // 2])
            _reset(client)
            return False
        # Counted before it is sent: the client may read it and the test read the counts
        # before this thread runs again.
        self._count(f"answered:{operation}")
        client.sendall(answer)
        return True

    def _pass(self, client: socket.socket, request: bytes, operation: str) -> bool:
        try:
            answer = self._forward(request)
        except OSError:
            self._count("upstream_down")
            _reset(client)
            return False
        self._count(f"answered:{operation}")
        client.sendall(answer)
        return True

    def _forward(self, request: bytes) -> bytes:
        parts = urlsplit(self.upstream)
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as upstream:
            upstream.sendall(request)
            return _read_answer(upstream)
