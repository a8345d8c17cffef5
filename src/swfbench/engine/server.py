"""An SWF-only HTTP server: JSON 1.0 calls go straight to `EngineResponse`, nothing else.

moto's server routes every request through its generic per-service dispatch, about half of
the 1.8 ms it spends per heartbeat. This server knows one service and one wire format.

SWF calls
    ``POST /`` with ``X-Amz-Target: SimpleWorkflowService.<Operation>`` and a JSON body.
    Signatures are not checked, unless the engine runs with ``--auth FILE``: then every call is
    authenticated and authorized (`swfbench.engine.access`). The region of the credential scope
    picks the region's backend (`regions`). Every JSON answer carries
    ``Content-Type: application/x-amz-json-1.0``; faults answer HTTP 400 with
    ``{"__type": ..., "message": ...}`` as SWF does, an engine bug HTTP 500 ``InternalFailure``
    with a line on stderr.

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
readiness with a plain GET.

Connections (`swfbench.engine.connections`): a thread each, at most ``max_connections`` at
once (one more is answered HTTP 503 ``swfbench#TooManyConnections`` and closed), closed after
``idle_timeout`` seconds without a request; out of file descriptors, new connections are
refused the same way instead of the accept loop spinning.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import moto
from moto.core.exceptions import JsonRESTError

from swfbench.engine.access import AccessControl
from swfbench.engine.backend import DEFAULT_POLL_WAIT
from swfbench.engine.clock import Clock
from swfbench.engine.connections import BoundedConnections
from swfbench.engine.exceptions import UnknownOperation
from swfbench.engine.limits import DEFAULT_MAX_CLOSED_EXECUTIONS, ConnectionLimits
from swfbench.engine.quotas import QuotaSettings
from swfbench.engine.regions import ACCOUNT_ID, Backends, region_of
from swfbench.engine.request_log import RequestLog
from swfbench.engine.responses import EngineResponse

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "SimpleWorkflowService."
SWEEP_INTERVAL = 0.25
"""Longest the sweeper sleeps; every call also fires what is due before it runs."""


class EngineHTTPServer(BoundedConnections, HTTPServer):
    """A threaded HTTP server around every region's `EngineBackend`, its connections bounded."""

    # socketserver listens with a backlog of 5: a fleet connecting at once would overflow it,
    # and each dropped SYN costs the client a 1 s retransmit, measured as a 1 s call.
    request_queue_size = 1024
    # SO_REUSEADDR: a restart binds the port at once, even with connections of the previous
    # process still in TIME_WAIT (a listening socket on the port still refuses the bind).
    allow_reuse_address = True

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
        self.stopping = threading.Event()
        self.init_connections(limits or ConnectionLimits())
        self.request_log = RequestLog.from_environment()
        super().__init__(address, EngineRequestHandler)

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
            "connections": self.connection_info(),
            "state": self.backends.state(),
        }

    def start_sweeper(self) -> threading.Thread:
        """Fire timeouts on time even when no call arrives (real clock only)."""
        thread = threading.Thread(target=self._sweep, name="swfbench-sweeper", daemon=True)
        thread.start()
        return thread

    def _sweep(self) -> None:
        backends = self.backends
        while not self.stopping.is_set():
            upcoming = backends.next_deadline()
            wait = SWEEP_INTERVAL
            if upcoming is not None:
                wait = min(wait, max(0.0, upcoming - backends.clock.now()))
            if wait > 0 and self.stopping.wait(wait):
                return
            backends.sweep()

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-call is not worth a traceback on stderr.
        pass


class EngineRequestHandler(BaseHTTPRequestHandler):
    """One keep-alive connection; SWF calls dispatched with no per-request logging."""

    protocol_version = "HTTP/1.1"
    server: EngineHTTPServer
    # Answers are written in one send; with Nagle on, keep-alive clients would stall on ACKs.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        # The socket timeout closes a connection idle for this long (handle_one_request ends
        # it quietly) and bounds a client that stops reading or writing mid-request.
        super().setup()
        self.connection.settimeout(self.server.limits.idle_timeout)
        self.responder = EngineResponse()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str, reason: str = "OK") -> None:
        payload = body.encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
            f"Content-Length: {len(payload)}\r\n"
            "\r\n"
        ).encode()
        self.wfile.write(head + payload)

    def _error(self, status: int, error_type: str, message: str) -> None:
        reason = "Bad Request" if status == 400 else "Internal Server Error"
        if status == 404:
            reason = "Not Found"
        body = {"__type": error_type, "message": message} if message else {"__type": error_type}
        self._send(status, json.dumps(body), reason)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed HTTP (bad request line, oversized headers): answer in JSON, then hang up.
        self.close_connection = True
        body = json.dumps({"__type": "swfbench#BadHttpRequest", "message": message or ""})
        self._send(code, body, "Bad Request" if code == 400 else "Error")

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _other(self) -> None:
        self._error(404, "swfbench#NotFound", f"no such endpoint: {self.command} {self.path}")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    def do_HEAD(self) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {JSON_CONTENT_TYPE}\r\nContent-Length: 0\r\n\r\n"
        self.wfile.write(head.encode())

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/swfbench/clock":
            clock: Clock = self.server.backends.clock
            self._send(200, json.dumps({"now": clock.now(), "mode": clock.mode}))
        elif path in ("/swfbench/engine", "/"):
            self._send(200, json.dumps(self.server.engine_info()))
        else:
            self._error(404, "swfbench#NotFound", f"no such endpoint: GET {path}")

    def do_POST(self) -> None:
        body = self._body()
        if self.server.request_log is not None:
            self.server.request_log.record(self.requestline, self.headers, body)
        target = self.headers.get("X-Amz-Target")
        path = self.path.split("?", 1)[0]
        if target is None and path != "/":
            self._admin_post(path, body)
            return
        prefix, _, operation = (target or "").partition(".")
        try:
            if prefix != TARGET_PREFIX.rstrip("."):
                # Every SWF call names its service: SWF serves nothing without the prefix.
                raise UnknownOperation()
            caller = None
            if self.server.access is not None:
                caller = self.server.access.authenticate(
                    self.command, self.path, self.headers, body
                )
            backend = self.server.backends.get(region_of(self.headers.get("Authorization")))
            answer = self.responder.call(operation, body, backend, caller)
        except JsonRESTError as fault:
            self._error(fault.code, fault.error_type, fault.message)
            return
        except Exception as exc:  # an engine bug; answer as SWF does rather than drop the call
            print(f"swfbench engine: {operation} failed: {exc!r}", file=sys.stderr, flush=True)
            self._error(500, "com.amazon.coral.service#InternalFailure", "")
            return
        self._send(200, answer)

    def _admin_post(self, path: str, body: bytes) -> None:
        if path == "/moto-api/reset":
            self.server.backends.reset()
            self._send(200, json.dumps({"status": "ok"}))
            return
        if path != "/swfbench/clock/advance":
            self._error(404, "swfbench#NotFound", f"no such endpoint: POST {path}")
            return
        seconds = advance_seconds(body, self.server.backends.clock.now())
        if isinstance(seconds, str):
            self._error(400, "swfbench#BadRequest", seconds)
            return
        try:
            now = self.server.backends.advance_clock(seconds)
        except JsonRESTError as fault:
            self._error(fault.code, fault.error_type, fault.message)
            return
        self._send(200, json.dumps({"now": now}))


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
