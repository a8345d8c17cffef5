"""Connections of the engine's HTTP server: bounded, timed out when idle, refused cleanly.

The server serves every connection from one event loop (`server`): a connection costs a socket,
a read buffer and a place in the idle order, not a thread. So that neither idle clients nor a
flood of them can take the engine down:

- a connection that sends nothing for `idle_timeout` seconds is closed (a keep-alive client
  reconnects on its next call; geventhttpclient and urllib3 check a pooled connection first);
  so is one that stops sending mid-request, or stops reading its answer, for as long. A
  connection whose poll is waiting for a task is not idle;
- at most `max_connections` are served at once; one more is accepted, answered HTTP 503 with
  ``{"__type": "swfbench#TooManyConnections", "message": ...}`` and ``Connection: close``, and
  closed. The answer needs no request, so a client reads it whatever it sent;
- when the process runs out of file descriptors, accept() fails with EMFILE and the pending
  connection would make the listening socket readable forever (a busy loop at 100 % CPU). A
  spare descriptor is then given up for a moment, to accept that connection and answer it the
  same 503, so the backlog drains and the loop waits again.

By default `max_connections` fits the descriptor limit (`fit_descriptor_limit`), so the bound is
met before descriptors run out and the spare is only the last resort.
"""

from __future__ import annotations

import collections
import errno
import json
import os
import resource
import socket
import time
from collections import OrderedDict
from typing import Any

from swfbench.engine.limits import DEFAULT_MAX_CONNECTIONS, ConnectionLimits
from swfbench.engine.wire import RequestReader

FD_RESERVE = 48
"""Descriptors left for everything but served connections: standard streams, the listening
socket, the spare, refused connections waiting to close, files the engine opens."""

MAX_LINGERING = 16
"""Refused connections kept half-closed at once (beyond, the oldest is closed at once)."""

LINGER_S = 1.0
"""How long a refused connection stays half-closed, so the client reads the 503 before the
connection is reset."""

OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)

ACCEPT_PAUSE_S = 0.05
"""How long the loop stops accepting when it cannot even refuse (no spare descriptor)."""

ACCEPT_BATCH = 64
"""Connections accepted at most per turn of the loop, so a flood cannot starve served ones."""


def fit_descriptor_limit(requested: int | None) -> int:
    """The connection bound for this process; raises the soft descriptor limit if it can.

    `requested` None means the default bound, lowered to what the descriptor limit allows
    (with `FD_RESERVE` kept for the rest); an explicit bound is kept as given, and past the
    descriptor limit new connections are refused as out of descriptors.
    """
    wanted = DEFAULT_MAX_CONNECTIONS if requested is None else requested
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        if ceiling > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
                soft = ceiling
            except (ValueError, OSError):
                pass
    if requested is not None or soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_RESERVE))


def refusal(message: str) -> bytes:
    """The whole HTTP 503 answer to a connection the server will not serve."""
    body = json.dumps({"__type": "swfbench#TooManyConnections", "message": message}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode()
    return head + body


def _drain(sock: socket.socket) -> None:
    """Read what the client sent, so that closing sends FIN rather than RST."""
    try:
        sock.setblocking(False)
        while sock.recv(65536):
            pass
    except OSError:
        pass


class Connection:
    """One client connection: what it sent that is not served yet, and what it has not read."""

    __slots__ = (
        "active",
        "closed",
        "closing",
        "fd",
        "out",
        "reader",
        "sock",
        "waiting",
        "write_blocked",
    )

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.active = now
        """When (monotonic) the connection last sent or took bytes, or had a poll answered."""
        self.fd = sock.fileno()
        self.reader = RequestReader()
        self.out = bytearray()
        """Answer bytes the socket did not take yet."""
        self.waiting = False
        """A request of this connection waits (a poll for a task): later ones wait behind it."""
        self.closing = False
        """No request after the ones received is served: close once they are answered."""
        self.write_blocked = False
        """The socket's send buffer is full: the loop waits until it can write again."""
        self.closed = False


class Connections:
    """The connections being served, in order of their last activity, at most
    `limits.max_connections` of them; what is refused, and the spare descriptor."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.served: OrderedDict[Connection, None] = OrderedDict()
        """Connections being served that are not waiting on a poll, least recently active
        first."""
        self.waiting: set[Connection] = set()
        """Connections whose request waits on a poll: not idle, whatever their last activity."""
        self.refused = 0
        """Connections refused since the start."""
        self._lingering: collections.deque[tuple[float, socket.socket]] = collections.deque()
        self._spare: int | None = None
        self.paused_until = 0.0
        """Accepting stops until then (monotonic) when even refusing is impossible."""
        self._take_spare()

    @property
    def open(self) -> int:
        """Connections being served now."""
        return len(self.served) + len(self.waiting)

    def info(self) -> dict[str, Any]:
        return {**self.limits.to_dict(), "open": self.open, "refused": self.refused}

    # --- serving ----------------------------------------------------------------------------

    def accept(self, listener: socket.socket) -> list[Connection]:
        """Accept what is pending (up to `ACCEPT_BATCH`): the connections to serve; the ones
        past the bound are answered 503 and closed."""
        accepted: list[Connection] = []
        now = time.monotonic()
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in OUT_OF_DESCRIPTORS:
                    self._refuse_out_of_descriptors(listener)
                break
            if self.open >= self.limits.max_connections:
                self._refuse(
                    sock,
                    f"the engine serves at most {self.limits.max_connections} connections at "
                    "once: close idle ones, or raise --max-connections",
                )
                continue
            sock.setblocking(False)
            # Answers are written in one send; with Nagle on, keep-alive clients would stall
            # on delayed ACKs.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(sock, now)
            self.served[connection] = None
            accepted.append(connection)
        return accepted

    def touch(self, connection: Connection, now: float) -> None:
        """The connection sent or took bytes: its idle time starts again."""
        connection.active = now
        if not connection.waiting:
            self.served.move_to_end(connection)

    def wait(self, connection: Connection) -> None:
        """A request of the connection waits on a poll: the connection is not idle."""
        connection.waiting = True
        del self.served[connection]
        self.waiting.add(connection)

    def resume(self, connection: Connection, now: float) -> None:
        """The waiting request was answered: the connection is idle from now on."""
        connection.waiting = False
        connection.active = now
        self.waiting.discard(connection)
        self.served[connection] = None

    def forget(self, connection: Connection) -> None:
        """The connection was closed."""
        connection.closed = True
        self.served.pop(connection, None)
        self.waiting.discard(connection)

    def idle(self, now: float) -> list[Connection]:
        """Connections idle for the idle timeout or longer."""
        expired = []
        limit = self.limits.idle_timeout
        for connection in self.served:
            if now - connection.active < limit:
                break
            expired.append(connection)
        return expired

    def next_due(self) -> float | None:
        """When (monotonic) the next idle connection times out or refused one closes."""
        due: float | None = None
        if self.served:
            due = next(iter(self.served)).active + self.limits.idle_timeout
        if self._lingering and (due is None or self._lingering[0][0] < due):
            due = self._lingering[0][0]
        if self.paused_until and (due is None or self.paused_until < due):
            due = self.paused_until
        return due

    def service(self, now: float) -> None:
        """Close refused connections whose moment has passed; take the spare back."""
        while self._lingering and self._lingering[0][0] <= now:
            self._close(self._lingering.popleft()[1])
        if self._spare is None:
            self._take_spare()
        if self.paused_until and now >= self.paused_until:
            self.paused_until = 0.0

    def close_all(self) -> None:
        while self._lingering:
            self._close(self._lingering.popleft()[1])
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    # --- refusals ---------------------------------------------------------------------------

    def _refuse(self, sock: socket.socket, message: str, *, linger: bool = True) -> None:
        """Answer 503 and close; the answer fits any socket's send buffer."""
        self.refused += 1
        try:
            sock.setblocking(False)
            sock.send(refusal(message))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            linger = False
        if not linger:
            self._close(sock)
            return
        # Half-closed for a moment: closing now, with the request unread or still on its way,
        # would reset the connection and could discard the answer before the client reads it.
        self._lingering.append((time.monotonic() + LINGER_S, sock))
        if len(self._lingering) > MAX_LINGERING:
            self._close(self._lingering.popleft()[1])

    @staticmethod
    def _close(sock: socket.socket) -> None:
        _drain(sock)
        sock.close()

    def _take_spare(self) -> None:
        try:
            self._spare = os.open(os.devnull, os.O_RDONLY)
        except OSError:
            self._spare = None

    def _refuse_out_of_descriptors(self, listener: socket.socket) -> None:
        """accept() failed for want of a descriptor: free the spare to accept and refuse one."""
        if self._spare is None:
            # Nothing to accept with: stop accepting for a moment rather than spin on a
            # readable listening socket.
            self.paused_until = time.monotonic() + ACCEPT_PAUSE_S
            return
        os.close(self._spare)
        self._spare = None
        try:
            sock, _ = listener.accept()
        except OSError:
            pass
        else:
            # No lingering: the descriptor is needed back as the spare.
            self._refuse(
                sock,
                "the engine is out of file descriptors: close idle connections, or raise its "
                "descriptor limit (ulimit -n)",
                linger=False,
            )
        self._take_spare()
        if self._spare is None:
            self.paused_until = time.monotonic() + ACCEPT_PAUSE_S
