"""An SWF-only HTTP server: one event loop serves every connection, calls go straight to
`EngineResponse`.

moto's server routes every request through its generic per-service dispatch, about half of
the 1.8 ms it spends per heartbeat; a thread per connection with `http.server`'s request
objects still cost ten times a heartbeat's own work. This server knows one service and one wire
format, and serves every connection from one thread with `selectors`: the backend runs under
one lock anyway, so more threads only add switches between them (README, "Engines of the
embedded target": what each costs, measured).

SWF calls
    ``POST /`` with ``X-Amz-Target: SimpleWorkflowService.<Operation>`` and a JSON body.
    Signatures are not checked, unless the engine runs with ``--auth FILE``: then every call is
    authenticated and authorized (`swfbench.engine.access`). The region of the credential scope
    picks the region's backend (`regions`). Every JSON answer carries
    ``Content-Type: application/x-amz-json-1.0``; faults answer HTTP 400 with
    ``{"__type": ..., "message": ...}`` as SWF does, an engine bug HTTP 500 ``InternalFailure``
    with a line on stderr. A poll with nothing to take is held (its connection waits, the others
    are served) until a task is scheduled on its task list or `poll_wait` runs out.

Admin endpoints (JSON in, JSON out)
    ``GET /swfbench/engine``
        ``{"engine": "swfbench", "moto": "<version>", "quotas": {...} | null,
        "clock": "real" | "virtual", "auth": {"account_id": ..., "identities": [...]} | null,
        "max_closed_executions": N, "connections": {"max_connections", "idle_timeout_s",
        "open", "refused"}, "state": {"open_executions", "closed_executions", "task_tokens",
        "deadlines"}}`` (state summed over every region)
    ``GET /swfbench/clock``
        ``{"now": <epoch seconds>, "mode": "real" | "virtual"}``; works with either clock, so a
        runner can tell whether it may advance time.
    ``POST /swfbench/clock/advance`` with ``{"seconds": N}``
        Virtual clock only: moves engine time forward by N seconds, fires every timeout whose
        deadline passed (each event stamped at its deadline) and answers ``{"now": ...}``.
        N must be a finite JSON number, 0 or more, keeping the clock before the year 10000;
        anything else answers HTTP 400 ``swfbench#BadRequest``.
        With the real clock it answers HTTP 400 ``swfbench#ClockNotVirtual``.
    ``POST /moto-api/reset``
        moto's admin call between tests: forgets every region's domains, executions and
        tasks (and restarts a virtual clock from wall time); answers ``{"status": "ok"}``, so the
        engine can stand in for ``moto_server`` in a test suite.

Any other request (``GET /`` included) gets a JSON answer too, so a launcher can poll for
readiness with a plain GET; what is not HTTP/1.x (`wire`) answers ``swfbench#BadHttpRequest``
and the connection is closed.

Connections (`swfbench.engine.connections`): at most ``max_connections`` at once (one more is
answered HTTP 503 ``swfbench#TooManyConnections`` and closed), closed after ``idle_timeout``
seconds without a request; out of file descriptors, new connections are refused the same way
instead of the loop spinning. With the real clock, timeouts fire on time even when no call
arrives: the loop wakes for the next deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import math
import selectors
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import moto
from moto.core.exceptions import JsonRESTError

from swfbench.engine.access import AccessControl, Caller
from swfbench.engine.backend import DEFAULT_POLL_WAIT, EngineBackend, PollWaits
from swfbench.engine.clock import Clock
from swfbench.engine.connections import Connection, Connections
from swfbench.engine.exceptions import UnknownOperation
from swfbench.engine.limits import DEFAULT_MAX_CLOSED_EXECUTIONS, ConnectionLimits
from swfbench.engine.quotas import QuotaSettings
from swfbench.engine.regions import ACCOUNT_ID, Backends, region_of
from swfbench.engine.request_log import RequestLog
from swfbench.engine.responses import EngineResponse
from swfbench.engine.wire import CONTINUE, BadRequest, Request, answer

TARGET_PREFIX = "SimpleWorkflowService"
RECEIVE_BYTES = 65536
LISTEN_BACKLOG = 1024
"""socketserver listens with a backlog of 5: a fleet connecting at once would overflow it, and
each dropped SYN costs the client a 1 s retransmit, measured as a 1 s call."""
NOT_METHODS = ("PUT", "DELETE", "PATCH", "OPTIONS")
"""Methods answered 404 (no such endpoint) rather than 501 (no such method)."""

_LISTENER = object()
_WAKE = object()
WaitKey = tuple[EngineBackend, str, str, str]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _error(status: int, error_type: str, message: str, *, close: bool = False) -> bytes:
    body = {"__type": error_type, "message": message} if message else {"__type": error_type}
    return answer(status, _json(body), close=close)


def _fault(fault: JsonRESTError) -> bytes:
    return _error(fault.code, fault.error_type, fault.message)


def _last(data: bytes) -> bytes:
    """An answer the connection closes after: it says so (`Connection: close`)."""
    head, _, body = data.partition(b"\r\n\r\n")
    if b"\r\nConnection: close" in head:
        return data
    return head + b"\r\nConnection: close\r\n\r\n" + body


def _hung_up(sock: socket.socket) -> bool:
    """The client closed its end (or the connection broke): no answer would be read."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


@dataclass(eq=False)
class WaitingPoll:
    """A poll held until a task is scheduled on its task list or `until` (monotonic)."""

    connection: Connection
    operation: str
    body: bytes
    backend: EngineBackend
    caller: Caller | None
    key: WaitKey
    """(backend, "activity" or "decision", domain, task list): what the poll waits for."""
    until: float
    done: bool = field(default=False)


class EngineHTTPServer:
    """Every region's `EngineBackend` served over HTTP/1.1 from one event loop."""

    def __init__(
        self,
        address: tuple[str, int],
        backends: Backends,
        access: AccessControl | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.backends = backends
        self.access = access
        """Set with --auth: every SWF call is authenticated and authorized."""
        self.limits = limits or ConnectionLimits()
        self.request_log = RequestLog.from_environment()
        self.connections = Connections(self.limits)
        self.responder = EngineResponse()
        # SO_REUSEADDR (create_server's default on POSIX): a restart binds the port at once,
        # even with connections of the previous process still in TIME_WAIT.
        self.socket = socket.create_server(address, backlog=LISTEN_BACKLOG)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.socket, selectors.EVENT_READ, _LISTENER)
        self._listening = True
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, _WAKE)
        self._registered: dict[Connection, int] = {}
        """The events each connection's socket is registered for."""
        self._polls: dict[WaitKey, deque[WaitingPoll]] = {}
        """Waiting polls by task list, oldest first."""
        self._poll_deadlines: list[tuple[float, int, WaitingPoll]] = []
        self._ready: deque[WaitingPoll] = deque()
        """Waiting polls to run again: a task was scheduled on their task list."""
        self._sequence = itertools.count()
        self._sweeps = backends.clock.mode == "real"
        """With the real clock the loop fires timeouts on time; a virtual one only moves when
        advanced, which fires them."""
        self._upcoming: float | None = None
        """The earliest timeout of any region (engine time), as of this turn of the loop."""
        self._connections_due: float | None = None
        """When (monotonic) a connection times out or a refused one closes, as of this turn."""
        self._stopping = False
        self._stopped = threading.Event()
        self._stopped.set()
        backends.on_task_ready = self._task_ready

    def engine_info(self) -> dict[str, Any]:
        settings = self.backends.quota_settings
        return {
            "engine": "swfbench",
            "moto": moto.__version__,
            "quotas": settings.to_dict() if settings is not None else None,
            "clock": self.backends.clock.mode,
            "auth": None
            if self.access is None
            else {
                "account_id": self.access.account_id,
                "identities": list(self.access.auth.identities),
            },
            "max_closed_executions": self.backends.max_closed_executions,
            "connections": self.connections.info(),
            "state": self.backends.state(),
        }

    # --- the loop ---------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until `shutdown`; the loop sleeps at most `poll_interval` seconds."""
        self._stopped.clear()
        try:
            while not self._stopping:
                events = self._selector.select(self._sleep(poll_interval))
                for key, mask in events:
                    owner = key.data
                    if owner is _LISTENER:
                        self._accept()
                    elif owner is _WAKE:
                        self._drain_wake()
                    else:
                        self._connection_event(owner, mask)
                self._timers()
                if self._ready:
                    self._run_ready()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever` (from any thread) and wait until it has returned."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        self._stopped.wait()

    def server_close(self) -> None:
        for connection in list(self._registered):
            self._close(connection)
        for waiting in self.connections.waiting.copy():
            self._close(waiting)
        self.connections.close_all()
        self._selector.close()
        self.socket.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _sleep(self, longest: float) -> float:
        """How long the loop may wait for the sockets before something else is due."""
        now = time.monotonic()
        until = now + longest
        if self._poll_deadlines:
            until = min(until, self._poll_deadlines[0][0])
        due = self._connections_due = self.connections.next_due()
        if due is not None:
            until = min(until, due)
        if self._sweeps:
            upcoming = self._upcoming = self.backends.next_deadline()
            if upcoming is not None:
                until = min(until, now + upcoming - self.backends.clock.now())
        return max(0.0, until - now)

    def _timers(self) -> None:
        """What fell due: waiting polls out of time, idle connections, timeouts."""
        now = time.monotonic()
        deadlines = self._poll_deadlines
        while deadlines and deadlines[0][0] <= now:
            waiting = heapq.heappop(deadlines)[2]
            if not waiting.done:
                self._forget_wait(waiting)
                self._run_waiting(waiting, may_wait=False)
        due = self._connections_due
        if due is not None and due <= now:
            for connection in self.connections.idle(now):
                self._close(connection)
            self.connections.service(now)
            listen = not self.connections.paused_until
            if listen != self._listening:
                self._listening = listen
                if listen:
                    self._selector.register(self.socket, selectors.EVENT_READ, _LISTENER)
                else:
                    self._selector.unregister(self.socket)
        upcoming = self._upcoming
        if upcoming is not None and upcoming <= self.backends.clock.now():
            self.backends.sweep()

    def _drain_wake(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except OSError:
            pass

    # --- connections ------------------------------------------------------------------------

    def _accept(self) -> None:
        for connection in self.connections.accept(self.socket):
            self._want(connection, selectors.EVENT_READ)

    def _want(self, connection: Connection, events: int) -> None:
        """Have the loop watch the connection for `events` (0: not at all)."""
        current = self._registered.get(connection, 0)
        if events == current:
            return
        if not events:
            self._selector.unregister(connection.sock)
            del self._registered[connection]
        elif current:
            self._selector.modify(connection.sock, events, connection)
            self._registered[connection] = events
        else:
            self._selector.register(connection.sock, events, connection)
            self._registered[connection] = events

    def _close(self, connection: Connection) -> None:
        if connection.closed:
            return
        if connection in self._registered:
            self._want(connection, 0)
        self.connections.forget(connection)
        sock = connection.sock
        try:
            # Read what the client sent, so that closing sends FIN rather than RST (an RST can
            # discard an answer the client has not read yet).
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(RECEIVE_BYTES):
                pass
        except OSError:
            pass
        sock.close()

    def _connection_event(self, connection: Connection, mask: int) -> None:
        try:
            if mask & selectors.EVENT_WRITE:
                self._flush(connection)
            if mask & selectors.EVENT_READ and not connection.closed:
                self._receive(connection)
        except Exception as exc:  # an engine bug: lose this connection, not the server
            print(f"swfbench engine: connection failed: {exc!r}", file=sys.stderr, flush=True)
            self._close(connection)

    def _receive(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(connection)
            return
        if not data:
            # The client sends nothing more: what it sent is served, then the connection closes.
            connection.closing = True
            self._serve(connection)
            if not connection.out and not connection.waiting:
                self._close(connection)
            return
        self.connections.touch(connection, time.monotonic())
        connection.reader.feed(data)
        self._serve(connection)

    def _serve(self, connection: Connection) -> None:
        """Answer the complete requests the connection sent, in order, until one waits."""
        reader = connection.reader
        answers: list[bytes] = []
        while not connection.waiting and not connection.closed:
            try:
                request = reader.next_request()
            except BadRequest as bad:
                connection.closing = True
                answers.append(
                    _error(bad.status, "swfbench#BadHttpRequest", bad.message, close=True)
                )
                break
            if request is None:
                if reader.wants_continue():
                    reader.continue_sent = True
                    answers.append(CONTINUE)
                break
            if not request.keep_alive:
                connection.closing = True
            data = self._handle(connection, request)
            if data is not None:
                answers.append(_last(data) if connection.closing else data)
            if connection.closing:
                break
        if connection.waiting:
            self._want(connection, 0)
        if answers:
            self._send(connection, b"".join(answers))
        elif connection.closing and not connection.waiting and not connection.out:
            self._close(connection)

    def _send(self, connection: Connection, data: bytes) -> None:
        if connection.closed:
            return
        if not connection.out:
            try:
                sent = connection.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(connection)
                return
            if sent == len(data):
                if connection.closing and not connection.waiting:
                    self._close(connection)
                return
            data = data[sent:]
        connection.out += data
        self._want(connection, selectors.EVENT_WRITE)

    def _flush(self, connection: Connection) -> None:
        try:
            sent = connection.sock.send(connection.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(connection)
            return
        del connection.out[:sent]
        self.connections.touch(connection, time.monotonic())
        if connection.out:
            return
        if connection.closing:
            self._close(connection)
            return
        self._want(connection, selectors.EVENT_READ)
        # Requests that arrived while the answers were stuck.
        self._serve(connection)

    # --- requests ---------------------------------------------------------------------------

    def _handle(self, connection: Connection, request: Request) -> bytes | None:
        """The answer to `request`; None when it waits (a poll with nothing to take)."""
        method = request.method
        if method == "POST":
            return self._post(connection, request)
        if method == "GET":
            return self._get(request)
        if method == "HEAD":
            return answer(200, b"", head_only=True)
        if method in NOT_METHODS:
            return _error(404, "swfbench#NotFound", f"no such endpoint: {method} {request.target}")
        connection.closing = True
        return _error(
            501, "swfbench#BadHttpRequest", f"Unsupported method ({method!r})", close=True
        )

    def _get(self, request: Request) -> bytes:
        path = request.path
        if path == "/swfbench/clock":
            clock: Clock = self.backends.clock
            return answer(200, _json({"now": clock.now(), "mode": clock.mode}))
        if path in ("/swfbench/engine", "/"):
            return answer(200, _json(self.engine_info()))
        return _error(404, "swfbench#NotFound", f"no such endpoint: GET {path}")

    def _post(self, connection: Connection, request: Request) -> bytes | None:
        headers = request.headers
        if self.request_log is not None:
            self.request_log.record(request.requestline, headers.items(), request.body)
        target = headers.get("X-Amz-Target")
        path = request.path
        if target is None and path != "/":
            return self._admin_post(path, request.body)
        prefix, _, operation = (target or "").partition(".")
        try:
            if prefix != TARGET_PREFIX:
                # Every SWF call names its service: SWF serves nothing without the prefix.
                raise UnknownOperation()
            caller = None
            if self.access is not None:
                caller = self.access.authenticate(
                    request.method, request.target, headers, request.body
                )
            backend = self.backends.get(region_of(headers.get("Authorization")))
        except JsonRESTError as fault:
            return _fault(fault)
        body = request.body
        try:
            return self._call(operation, body, backend, caller, may_wait=True)
        except PollWaits as wait:
            until = time.monotonic() + self.backends.poll_wait
            key: WaitKey = (backend, *wait.key)
            call = WaitingPoll(connection, operation, body, backend, caller, key, until)
            self._polls.setdefault(call.key, deque()).append(call)
            heapq.heappush(self._poll_deadlines, (until, next(self._sequence), call))
            self.connections.wait(connection)
            return None

    def _call(
        self,
        operation: str,
        body: bytes,
        backend: EngineBackend,
        caller: Caller | None,
        *,
        may_wait: bool,
    ) -> bytes:
        """The answer to an SWF call; raises PollWaits for a poll that may wait."""
        try:
            result = self.responder.call(operation, body, backend, caller, may_wait=may_wait)
        except JsonRESTError as fault:
            return _fault(fault)
        except PollWaits:
            raise
        except Exception as exc:  # an engine bug; answer as SWF does rather than drop the call
            print(f"swfbench engine: {operation} failed: {exc!r}", file=sys.stderr, flush=True)
            return _error(500, "com.amazon.coral.service#InternalFailure", "")
        return answer(200, result.encode())

    def _admin_post(self, path: str, body: bytes) -> bytes:
        if path == "/moto-api/reset":
            self.backends.reset()
            return answer(200, _json({"status": "ok"}))
        if path != "/swfbench/clock/advance":
            return _error(404, "swfbench#NotFound", f"no such endpoint: POST {path}")
        seconds = advance_seconds(body, self.backends.clock.now())
        if isinstance(seconds, str):
            return _error(400, "swfbench#BadRequest", seconds)
        try:
            now = self.backends.advance_clock(seconds)
        except JsonRESTError as fault:
            return _fault(fault)
        # Time moved: every waiting poll looks again (a timeout may have freed a task).
        for queue in self._polls.values():
            self._ready.extend(queue)
        self._polls.clear()
        return answer(200, _json({"now": now}))

    # --- waiting polls ----------------------------------------------------------------------

    def _task_ready(self, backend: EngineBackend, kind: str, domain: str, task_list: str) -> None:
        # Called inside a backend call: the waiting poll runs once that call is over.
        key = (backend, kind, domain, task_list)
        queue = self._polls.get(key)
        if queue is None:
            return
        self._ready.append(queue.popleft())
        if not queue:
            del self._polls[key]

    def _forget_wait(self, call: WaitingPoll) -> None:
        queue = self._polls.get(call.key)
        if queue is not None and call in queue:
            queue.remove(call)
            if not queue:
                del self._polls[call.key]

    def _run_ready(self) -> None:
        ready = self._ready
        while ready:
            call = ready.popleft()
            if not call.done:
                self._run_waiting(call, may_wait=True)

    def _run_waiting(self, call: WaitingPoll, *, may_wait: bool) -> None:
        connection = call.connection
        if connection.closed or _hung_up(connection.sock):
            # Nobody would read the task: it goes to the next poll waiting in line.
            call.done = True
            self._close(connection)
            if may_wait:
                self._task_ready(*call.key)
            return
        try:
            data = self._call(
                call.operation, call.body, call.backend, call.caller, may_wait=may_wait
            )
        except PollWaits:
            # Woken in vain (another poll took the task first): first in line again.
            self._polls.setdefault(call.key, deque()).appendleft(call)
            return
        call.done = True
        self.connections.resume(connection, time.monotonic())
        self._send(connection, _last(data) if connection.closing else data)
        if not connection.closed and not connection.out:
            if connection.closing:
                self._close(connection)
                return
            self._want(connection, selectors.EVENT_READ)
            self._serve(connection)


LATEST_TIME = 253402300799.0
"""9999-12-31T23:59:59Z: the latest time SWF's timestamps (and clients' date types) can hold."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def advance_seconds(body: bytes, now: float) -> float | str:
    """The `seconds` of a clock advance body, or what is wrong with it (one line)."""
    usage = 'expected a JSON body {"seconds": N}, N a finite number of seconds, 0 or more'
    try:
        # json accepts NaN and Infinity by default; they are not JSON, and not a time.
        params = json.loads(body or b"{}", parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return usage
    if not isinstance(params, dict) or "seconds" not in params:
        return usage
    seconds = params["seconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return f"seconds must be a number, not {type(seconds).__name__}: {usage}"
    try:
        value = float(seconds)
    except OverflowError:  # an integer too large for a float
        value = math.inf
    if not math.isfinite(value) or value < 0:
        return f"seconds must be finite and not negative: {usage}"
    if now + value > LATEST_TIME:
        return f"seconds: {value:g} would move the clock past the year 9999"
    return value


def create_server(
    host: str,
    port: int,
    *,
    clock: Clock,
    quotas: QuotaSettings | None = None,
    poll_wait: float = DEFAULT_POLL_WAIT,
    access: AccessControl | None = None,
    max_closed_executions: int = DEFAULT_MAX_CLOSED_EXECUTIONS,
    limits: ConnectionLimits | None = None,
) -> EngineHTTPServer:
    """Bind an engine server (raises OSError if the address is taken); call serve_forever."""
    backends = Backends(
        clock=clock,
        quotas=quotas,
        poll_wait=poll_wait,
        account_id=access.account_id if access is not None else ACCOUNT_ID,
        max_closed_executions=max_closed_executions,
    )
    return EngineHTTPServer((host, port), backends, access, limits)
