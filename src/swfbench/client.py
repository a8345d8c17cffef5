"""One SWF client for every part of swfbench: each call is timed and reported to an observer.

Protocols never know about statistics: Locust passes a function that fires its `request` event,
the conformance runner passes a recorder. Errors surface as `SWFError` with the AWS code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from swfbench.errors import (
    ConfigurationError,
    NotSWF,
    SWFError,
    TargetUnreachable,
    UsageError,
    speaks_swf,
)
from swfbench.target import Target

CONNECTION_ERROR = "ConnectionError"
"""The `error_code` reported for calls that got no HTTP answer at all."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished SWF call, as reported to an observer."""

    operation: str
    """SWF operation name, e.g. RecordActivityTaskHeartbeat."""
    duration_s: float
    error_code: str | None
    """AWS error code, `ConnectionError`, or None on success."""
    http_status: int | None
    response_size: int
    """Bytes of the response body (its content-length), 0 when unknown."""


CallObserver = Callable[[CallRecord], None]


def _ignore(_: CallRecord) -> None:
    pass


def _botocore_config() -> Config:
    return Config(
        # One attempt: a throttled or failed call must be seen by the harness, not retried away.
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        # SWF holds PollFor*Task open for up to 60 s when there is no task.
        read_timeout=70,
        max_pool_connections=64,
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


class SWFClient:
    """A boto3 SWF client whose every call is timed and reported."""

    def __init__(self, target: Target, observer: CallObserver | None = None) -> None:
        self.target = target
        self.observer = observer or _ignore
        kwargs: dict[str, Any] = {"region_name": target.region, "config": _botocore_config()}
        if target.endpoint_url is not None:
            kwargs["endpoint_url"] = target.endpoint_url
        if target.credentials is not None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = target.credentials
        self._boto = boto3.session.Session().client("swf", **kwargs)
        self._methods = {v: k for k, v in self._boto.meta.method_to_api_mapping.items()}

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call an SWF operation by its API name; raise `SWFError` if the target refuses."""
        method = getattr(self._boto, self._methods[operation])
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
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError) as exc:
            self.observer(
                CallRecord(operation, time.perf_counter() - started, CONNECTION_ERROR, None, 0)
            )
            raise TargetUnreachable(
                f"cannot reach {self.target.description}: {exc}; is the server running?"
            ) from None
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
