"""One SWF client for every part of swfbench: each call is timed and reported to an observer.

Protocols never know about statistics: Locust passes a function that fires its `request` event,
the conformance runner passes a recorder. Errors surface as `SWFError` with the AWS code.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from swfbench.errors import (
    ConfigurationError,
    NotSWF,
    SwfbenchError,
    SWFError,
    TargetUnreachable,
    UsageError,
    speaks_swf,
)
from swfbench.sessions import aws_session, emulator_session
from swfbench.target import Target
from swfbench.timeouts import ClientTimeouts

CONNECTION_ERROR = "ConnectionError"
"""The `error_code` reported for calls that got no HTTP answer at all (refused, reset)."""
CONNECT_TIMEOUT = "ConnectTimeout"
"""The `error_code` of a call whose connection was not accepted within the connect timeout."""
READ_TIMEOUT = "ReadTimeout"
"""The `error_code` of a call not answered within the read timeout."""
LONG_POLL_S = 70.0
"""SWF holds PollForActivityTask and PollForDecisionTask open up to 60 s when no task is there:
their read timeout is at least this."""
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling"})
T = TypeVar("T")


@dataclass(slots=True)
class CallRecord:
    """One finished SWF call, as reported to an observer. Not frozen: one is built per
    heartbeat on the load generator's hot path, and a frozen dataclass takes 3.5x as long to
    build (590 against 165 ns here); nobody changes a record once it is reported."""

    operation: str
    """SWF operation name, e.g. RecordActivityTaskHeartbeat."""
    duration_s: float
    error_code: str | None
    """AWS error code, `ConnectionError`, or None on success."""
    http_status: int | None
    response_size: int
    """Bytes of the response body (its content-length), 0 when unknown."""


CallObserver = Callable[[CallRecord], None]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP answer as the target sent it, before botocore reads it (for the wire check)."""

    operation: str
    status: int
    content_type: str | None
    body: bytes


ExchangeObserver = Callable[[Exchange], None]


def _ignore(_: CallRecord) -> None:
    pass


POOL_CONNECTIONS = 64
"""Connections a client keeps for reuse, at least; a fleet's client keeps one per worker."""


def _botocore_config(connect_s: float, read_s: float, pool: int = POOL_CONNECTIONS) -> Config:
    return Config(
        # One attempt: a throttled or failed call must be seen by the harness, not retried away.
        retries={"total_max_attempts": 1, "mode": "standard"},
        # No timeout at all (heartbeat's --cli-read-timeout 0) is None to botocore.
        connect_timeout=connect_s if math.isfinite(connect_s) else None,
        read_timeout=read_s if math.isfinite(read_s) else None,
        # Every caller holding a connection at once gets one back into the pool afterwards: a
        # pool smaller than its callers discards connections ("Connection pool is full").
        max_pool_connections=max(POOL_CONNECTIONS, pool),
    )


def _content_length(response: dict[str, Any]) -> int:
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        return int(headers.get("content-length", 0))
    except ValueError:
        return 0


def _error_code_and_message(error: dict[str, Any], status: int) -> tuple[str, str]:
    """An AWS error's code and message; a bare HTTP error page becomes `HTTP<status>`."""
    code = str(error.get("Code") or "")
    message = " ".join(str(error.get("Message", "")).split())
    if not code or code.isdigit():
        # No AWS error body (e.g. an emulator's HTML 500 page): keep only the page's title.
        code = f"HTTP{status}"
        title = re.search(r"<title>(.*?)</title>", message, re.IGNORECASE)
        message = title.group(1) if title else message[:200]
    return code, message


def _exchange_hook(exchanges: ExchangeObserver) -> Callable[..., None]:
    # botocore's `before-parse` event carries the raw answer: status, headers and body bytes.
    def hook(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body", b"")
        headers = response_dict.get("headers", {})
        exchanges(
            Exchange(
                operation_model.name,
                int(response_dict.get("status_code", 0)),
                headers.get("content-type"),
                body if isinstance(body, bytes) else b"",
            )
        )

    return hook


class SWFClient:
    """A boto3 SWF client whose every call is timed and reported."""

    def __init__(
        self,
        target: Target,
        observer: CallObserver | None = None,
        exchanges: ExchangeObserver | None = None,
        *,
        pool: int = POOL_CONNECTIONS,
    ) -> None:
        """`exchanges`, if given, sees every HTTP answer as it came, before botocore parses it.
        `pool`: how many callers may use the client at once (greenlets of a fleet)."""
        self.target = target
        self.observer = observer or _ignore
        self.timeouts: ClientTimeouts = target.timeouts
        self._exchanges = exchanges
        self._pool = pool
        self._boto = self._client(self.timeouts.read_s)
        self._boto_poll: Any = None
        self._methods = {v: k for k, v in self._boto.meta.method_to_api_mapping.items()}

    def with_observer(self, observer: CallObserver) -> SWFClient:
        """This client reporting to `observer` instead: the same boto3 client and connection
        pool (a long-poll client made later is its own)."""
        twin = copy.copy(self)
        twin.observer = observer
        return twin

    def _client(self, read_s: float) -> Any:
        kwargs: dict[str, Any] = {
            "region_name": self.target.region,
            "endpoint_url": self.target.endpoint_url,
            "config": _botocore_config(self.timeouts.connect_s, read_s, self._pool),
        }
        if self.target.verify is not True:
            kwargs["verify"] = self.target.verify
        if self.target.verify is False:
            # Asked for (--no-verify-ssl): no warning per request on stderr.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if self.target.credentials is not None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = self.target.credentials
            kwargs["aws_session_token"] = self.target.session_token
        # The target's kind picks the session: an emulator's reads no AWS setup at all; real
        # SWF's is the standard chain, or the named profile's (--profile).
        target = self.target
        session = (
            emulator_session() if target.emulator else aws_session(target.region, target.profile)
        )
        client = session.client("swf", **kwargs)
        if self._exchanges is not None:
            client.meta.events.register("before-parse.swf", _exchange_hook(self._exchanges))
        return client

    def _read_timeout(self, operation: str) -> float:
        if operation.startswith("PollFor"):
            return max(self.timeouts.read_s, LONG_POLL_S)
        return self.timeouts.read_s

    def _method(self, operation: str) -> Any:
        boto = self._boto
        if self._read_timeout(operation) != self.timeouts.read_s:
            if self._boto_poll is None:
                self._boto_poll = self._client(self._read_timeout(operation))
            boto = self._boto_poll
        return getattr(boto, self._methods[operation])

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call an SWF operation by its API name; raise `SWFError` if the target refuses, and
        `TargetUnreachable` (code ConnectionError, ConnectTimeout or ReadTimeout) if it does
        not answer."""
        method = self._method(operation)
        started = time.perf_counter()
        try:
            response: dict[str, Any] = method(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            code, message = _error_code_and_message(error, status)
            self.observer(
                CallRecord(
                    operation,
                    time.perf_counter() - started,
                    code,
                    status,
                    _content_length(exc.response),
                )
            )
            if not speaks_swf(code, status):
                raise NotSWF(operation, code, message, status, self.target.description) from None
            raise SWFError(operation, code, message, status) from None
        except (BotocoreConnectionError, HTTPClientError) as exc:
            code, message = self._unreachable(operation, exc)
            self.observer(CallRecord(operation, time.perf_counter() - started, code, None, 0))
            raise TargetUnreachable(message, code) from None
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials found: configure them as for the AWS CLI"
            ) from None
        except ParamValidationError as exc:
            raise UsageError(" ".join(str(exc).split())) from None
        self.observer(
            CallRecord(
                operation,
                time.perf_counter() - started,
                None,
                int(response["ResponseMetadata"]["HTTPStatusCode"]),
                _content_length(response),
            )
        )
        response.pop("ResponseMetadata", None)
        return response

    def _unreachable(self, operation: str, exc: Exception) -> tuple[str, str]:
        where = self.target.description
        if isinstance(exc, ConnectTimeoutError):
            return CONNECT_TIMEOUT, (
                f"cannot reach {where}: no connection within the {self.timeouts.connect_s:g} s "
                "connect timeout; is the server running, and is the address right?"
            )
        if isinstance(exc, ReadTimeoutError):
            return READ_TIMEOUT, (
                f"{where} did not answer {operation} within the "
                f"{self._read_timeout(operation):g} s read timeout"
            )
        return CONNECTION_ERROR, f"cannot reach {where}: {exc}; is the server running?"


def transient(exc: BaseException) -> bool:
    """An error worth trying again: no answer, a server error (5xx) or throttling."""
    if isinstance(exc, TargetUnreachable):
        return True
    if isinstance(exc, SWFError):
        return exc.http_status >= 500 or exc.code in THROTTLING_CODES
    return False


def with_retries(
    call: Callable[[], T],
    *,
    deadline_s: float,
    attempts: int | None = None,
    first_backoff_s: float = 0.25,
    max_backoff_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`, tried again after transient errors with a doubling backoff, until it succeeds,
    `attempts` are used up or the next try would start after `deadline_s` from now; then the
    last error is raised. Other errors are raised at once."""
    give_up = clock() + deadline_s
    backoff = first_backoff_s
    tried = 0
    while True:
        tried += 1
        try:
            return call()
        except SwfbenchError as exc:
            out_of_attempts = attempts is not None and tried >= attempts
            if not transient(exc) or out_of_attempts or clock() + backoff > give_up:
                raise
        sleep(backoff)
        backoff = min(max_backoff_s, backoff * 2)
