"""Connections of the engine's HTTP server: bounded, timed out when idle, refused cleanly.

The server runs one thread per connection (a keep-alive client costs a thread while it is
connected). So that neither idle clients nor a flood of them can take the engine down:

- a connection that sends nothing for `idle_timeout` seconds is closed (a keep-alive client
  reconnects on its next call; geventhttpclient and urllib3 check a pooled connection first);
- at most `max_connections` are served at once; one more is accepted, answered HTTP 503 with
  ``{"__type": "swfbench#TooManyConnections", "message": ...}`` and ``Connection: close``, and
  closed, without a thread. The answer needs no request, so a client reads it whatever it sent;
- when the process runs out of file descriptors, accept() fails with EMFILE and the pending
  connection would make the listening socket readable forever (a busy loop at 100 % CPU). A
  spare descriptor is then given up for a moment, to accept that connection and answer it the
  same 503, so the backlog drains and the accept loop sleeps again.

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
import socketserver
import threading
import time
from typing import Any

from swfbench.engine.limits import DEFAULT_MAX_CONNECTIONS, ConnectionLimits

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
"""How long the accept loop pauses when it cannot even refuse (no spare descriptor)."""


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


class BoundedConnections(socketserver.ThreadingMixIn):
    """A thread per connection, at most `limits.max_connections` of them (mix in before a
    `socketserver.TCPServer`)."""

    daemon_threads = True
    block_on_close = False
    limits: ConnectionLimits

    def init_connections(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open_connections = 0
        """Connections being served now."""
        self.refused_connections = 0
        """Connections refused since the start."""
        self._count_lock = threading.Lock()
        self._lingering: collections.deque[tuple[float, socket.socket]] = collections.deque()
        self._spare: int | None = None
        self._take_spare()

    def connection_info(self) -> dict[str, Any]:
        return {
            **self.limits.to_dict(),
            "open": self.open_connections,
            "refused": self.refused_connections,
        }

    # --- socketserver hooks -----------------------------------------------------------------

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            sock, address = self.socket.accept()  # type: ignore[attr-defined]
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:
                self._refuse_out_of_descriptors()
            raise
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self.open_connections >= self.limits.max_connections
            if not full:
                self.open_connections += 1
        if full:
            self._refuse(
                request,
                f"the engine serves at most {self.limits.max_connections} connections at "
                "once: close idle ones, or raise --max-connections",
            )
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started
            self._release()
            self._refuse(request, "the engine cannot start a thread for another connection")

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def service_actions(self) -> None:
        # Runs in the accept loop after every accept and at every poll interval.
        now = time.monotonic()
        while self._lingering and self._lingering[0][0] <= now:
            self._close(self._lingering.popleft()[1])
        if self._spare is None:
            self._take_spare()

    def server_close(self) -> None:
        super().server_close()
        while self._lingering:
            self._close(self._lingering.popleft()[1])
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    # --- refusals ---------------------------------------------------------------------------

    def _release(self) -> None:
        with self._count_lock:
            self.open_connections -= 1

    def _refuse(self, sock: socket.socket, message: str, *, linger: bool = True) -> None:
        """Answer 503 and close, without a thread; the answer fits any socket's send buffer."""
        self.refused_connections += 1
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

    def _refuse_out_of_descriptors(self) -> None:
        """accept() failed for want of a descriptor: free the spare to accept and refuse one."""
        if self._spare is None:
            # Nothing to accept with: pause rather than spin on a readable listening socket.
            time.sleep(ACCEPT_PAUSE_S)
            return
        os.close(self._spare)
        self._spare = None
        try:
            sock, _ = self.socket.accept()  # type: ignore[attr-defined]
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
            time.sleep(ACCEPT_PAUSE_S)
