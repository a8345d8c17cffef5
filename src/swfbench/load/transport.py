"""Two ways to send a heartbeat: the fast signed path and boto3, behind one small interface;
and `FastClient`, every other SWF call of a simulated worker on the same fast path.

All report every call to the same observer as `SWFClient` does (one `CallRecord` per call), so
Locust sees each operation the same way whichever path sent it, but for one: a heartbeat answered
OK is the hot path, and the worker that sent it records it, beat and call at once
(`FleetMetrics.beat_ok`), from the `HeartbeatResult`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from swfbench.client import (
    CONNECT_TIMEOUT,
    CONNECTION_ERROR,
    LONG_POLL_S,
    READ_TIMEOUT,
    CallObserver,
    CallRecord,
    SWFClient,
)
from swfbench.errors import NotSWF, SWFError, TargetUnreachable, speaks_swf
from swfbench.load.connection import Connection, ConnectTimedOut, Pool
from swfbench.load.sigv4 import Signer
from swfbench.target import Target

OPERATION = "RecordActivityTaskHeartbeat"


@dataclass(slots=True)
class HeartbeatResult:
    """What one heartbeat call came back with (not frozen, as `CallRecord`: built per heartbeat)."""

    cancel_requested: bool
    error_code: str | None
    """AWS error code, `HTTP<status>`, `ConnectionError`, or None on success (the call was
    then not reported to the observer: the caller records it)."""
    duration_s: float
    response_size: int = 0
    """Bytes of the answer's body."""


class HeartbeatSender(Protocol):
    mode: str

    def heartbeat(self, token: str, details: str | None) -> HeartbeatResult: ...

    def close(self) -> None: ...


def _failure(exc: BaseException) -> str:
    """The error code of a call that got no answer (socket, SSL and timeout errors alike)."""
    if isinstance(exc, ConnectTimedOut):
        return CONNECT_TIMEOUT
    if isinstance(exc, TimeoutError):
        return READ_TIMEOUT
    return CONNECTION_ERROR


def classify(status: int, body: bytes) -> tuple[str, str]:
    """Error code and message of a non-200 SWF answer (AWS JSON 1.0: `__type` and `message`)."""
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP{status}", ""
    if not isinstance(data, dict) or not data.get("__type"):
        return f"HTTP{status}", ""
    # `__type` is e.g. `com.amazonaws.swf.base.model#UnknownResourceFault` (fact sheet).
    code = str(data["__type"]).rsplit("#", 1)[-1]
    message = str(data.get("message") or data.get("Message") or "")
    return code, message


def build_request(
    signer: Signer, token: str, details: str | None, now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """Body and signed headers of one RecordActivityTaskHeartbeat call (AWS JSON 1.0, `POST /`).

    `details` is optional in SWF's model, so None sends no `details` key at all; `now` defaults
    to the signer's clock.
    """
    params = {"taskToken": token}
    if details is not None:
        params["details"] = details
    body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode()
    return body, signer.headers(OPERATION, body, now)


class FastSender:
    """Heartbeats signed by `Signer`, each one POST on the sender's own kept-alive connection
    (`connection.Connection`), nothing else."""

    mode = "fast"

    def __init__(self, *, connection: Connection, signer: Signer, observer: CallObserver) -> None:
        self._connection = connection
        self._signer = signer
        self._observer = observer

    def close(self) -> None:
        self._connection.close()

    def heartbeat(self, token: str, details: str | None) -> HeartbeatResult:
        body, headers = build_request(self._signer, token, details)
        started = time.perf_counter()
        try:
            status, content = self._connection.post(headers, body)
        except Exception as exc:  # socket, SSL and timeout errors, an answer that is not HTTP
            failure = _failure(exc)
            duration = time.perf_counter() - started
            self._observer(CallRecord(OPERATION, duration, failure, None, 0))
            return HeartbeatResult(False, failure, duration)
        duration = time.perf_counter() - started
        if status == 200:
            try:
                cancel = bool(json.loads(content)["cancelRequested"])
            except (ValueError, KeyError, TypeError):
                code = "MalformedResponse"
            else:
                return HeartbeatResult(cancel, None, duration, len(content))
        else:
            code, _ = classify(status, content)
        self._observer(CallRecord(OPERATION, duration, code, status, len(content)))
        return HeartbeatResult(False, code, duration, len(content))


class Boto3Sender:
    """Heartbeats through boto3 (the `SWFClient`), for comparison with the fast path."""

    mode = "boto3"

    def __init__(self, client: SWFClient) -> None:
        # The process's client, reporting here: the record of a heartbeat answered OK stays
        # here (the worker records it from the result), every other record goes on to the
        # process's observer.
        self._client = client.with_observer(self._observe)
        self._forward = client.observer
        self._ok_size = 0

    def _observe(self, record: CallRecord) -> None:
        if record.operation == OPERATION and record.error_code is None:
            self._ok_size = record.response_size
        else:
            self._forward(record)

    def close(self) -> None:
        """The client is the process's, closed with it."""

    def heartbeat(self, token: str, details: str | None) -> HeartbeatResult:
        params = {"taskToken": token}
        if details is not None:
            params["details"] = details
        started = time.perf_counter()
        try:
            answer = self._client.call(OPERATION, **params)
        except SWFError as exc:
            return HeartbeatResult(False, exc.code, time.perf_counter() - started)
        except TargetUnreachable as exc:
            return HeartbeatResult(False, exc.code, time.perf_counter() - started)
        return HeartbeatResult(
            bool(answer.get("cancelRequested")),
            None,
            time.perf_counter() - started,
            self._ok_size,
        )


class FastClient(SWFClient):
    """Every SWF call of a simulated worker (start a workflow, poll, decide, respond, close) as
    the fast path sends heartbeats: a JSON 1.0 body signed by `Signer`, one POST on a kept-alive
    connection (`connection.Pool`). botocore spends about 800 µs of CPU on a call, ten times
    this path; with the `steady` profile's tasks (six such calls per six heartbeats) it was
    nine tenths of the load generator's CPU. Same contract as `SWFClient.call`: the answer as a
    dict (timestamps as epoch seconds, as on the wire), `SWFError` (`NotSWF`) with the AWS
    error code, `TargetUnreachable` when no answer came; each call reported to the observer.
    No parameter validation: the callers are swfbench's own."""

    def __init__(
        self,
        target: Target,
        signer: Signer,
        observer: CallObserver | None = None,
        *,
        connections: int,
    ) -> None:
        self.target = target
        self.observer = observer or (lambda _: None)
        self.timeouts = target.timeouts
        self._signer = signer

        def pool(read_s: float) -> Pool:
            return Pool(
                target.endpoint_url,
                size=connections,
                connect_s=self.timeouts.connect_s,
                read_s=read_s,
                verify=target.verify,
            )

        self._calls = pool(self.timeouts.read_s)
        # SWF holds a poll open up to 60 s when no task is there.
        self._polls = pool(max(self.timeouts.read_s, LONG_POLL_S))

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        body = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode()
        headers = self._signer.headers(operation, body)
        pool = self._polls if operation.startswith("PollFor") else self._calls
        started = time.perf_counter()
        try:
            status, content = pool.post(headers, body)
        except Exception as exc:  # socket, SSL and timeout errors, an answer that is not HTTP
            code = _failure(exc)
            self.observer(CallRecord(operation, time.perf_counter() - started, code, None, 0))
            where = self.target.description
            raise TargetUnreachable(f"{where} gave no answer to {operation}: {exc}", code) from None
        duration = time.perf_counter() - started
        if status == 200:
            try:
                answer = json.loads(content) if content.strip() else {}
            except ValueError:
                answer = None
            if isinstance(answer, dict):
                self.observer(CallRecord(operation, duration, None, status, len(content)))
                return answer
            code, message = "MalformedResponse", "an HTTP 200 answer that is not a JSON object"
        else:
            code, message = classify(status, content)
        self.observer(CallRecord(operation, duration, code, status, len(content)))
        if not speaks_swf(code, status):
            raise NotSWF(operation, code, message, status, self.target.description)
        raise SWFError(operation, code, message, status)
