"""A RecordActivityTaskHeartbeat built and signed by hand, for payloads a client refuses.

boto3 checks lengths before sending (token 1..1024, details 0..2048: fact sheet, "The call"),
so a request past those limits never reaches the server through it. Here the JSON body goes out
as is: AWS JSON 1.0, `POST /`, `X-Amz-Target`, SigV4 with service name `swf`, signed by
botocore's `SigV4Auth`. `Signing` breaks the signature on purpose, one way at a time, to see
what a verifying target answers (fact sheet, "Access control").
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from swfbench.client import CONNECTION_ERROR, CallObserver, CallRecord, Exchange, ExchangeObserver
from swfbench.errors import SWFError, TargetUnreachable
from swfbench.sessions import aws_credentials
from swfbench.target import Target

OPERATION = "RecordActivityTaskHeartbeat"
TARGET_HEADER = f"SimpleWorkflowService.{OPERATION}"
CONTENT_TYPE = "application/x-amz-json-1.0"
TIMEOUT_S = 30.0
ABSENT = "absent"


@dataclass(frozen=True, kw_only=True)
class Signing:
    """How a raw request is signed: correctly by default, or broken in one chosen way."""

    authorization: Literal["present", "absent", "incomplete"] = "present"
    """`absent`: no Authorization header; `incomplete`: one without its SignedHeaders part."""
    access_key_id: str | None = None
    """Claim this access key id (signed with the identity's secret)."""
    secret_access_key: str | None = None
    """Sign with this secret instead of the identity's."""
    clock_offset_s: float = 0.0
    """Sign with a date this many seconds from now (negative: in the past)."""
    session_token: str | None = None
    """Send this token instead of the identity's; `absent` sends none."""


def _credentials(target: Target) -> Credentials:
    """The target's own keys; only real SWF without them reads the standard chain."""
    if target.credentials is not None:
        return Credentials(*target.credentials, target.session_token)
    return Credentials(*aws_credentials(target.region, target.profile))


def _error(status: int, body: bytes) -> SWFError:
    """The AWS error in a JSON 1.0 error body: `__type` is `namespace#Code`."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("__type"):
        code = str(parsed["__type"]).rsplit("#", 1)[-1]
        message = str(parsed.get("message") or parsed.get("Message") or "")
        return SWFError(OPERATION, code, message, status)
    # No AWS error body, e.g. an emulator's HTML error page: same convention as SWFClient.
    text = body.decode("utf-8", errors="replace")
    start, end = text.find("<title>"), text.find("</title>")
    message = text[start + 7 : end] if 0 <= start < end else " ".join(text.split())[:200]
    return SWFError(OPERATION, f"HTTP{status}", message, status)


def signed_headers(target: Target, url: str, data: bytes, signing: Signing) -> dict[str, str]:
    """The request's headers, signed by botocore as `signing` says."""
    own = _credentials(target)
    token = own.token
    if signing.session_token is not None:
        token = None if signing.session_token == ABSENT else signing.session_token
    credentials = Credentials(
        signing.access_key_id or own.access_key, signing.secret_access_key or own.secret_key, token
    )
    request = AWSRequest(
        method="POST",
        url=url,
        data=data,
        headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_HEADER},
    )
    # What SigV4Auth.add_auth does, at a signing time of our choosing.
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + signing.clock_offset_s))
    request.context["timestamp"] = stamp
    request.headers["X-Amz-Date"] = stamp
    if token:
        request.headers["X-Amz-Security-Token"] = token
    signer = SigV4Auth(credentials, "swf", target.region)
    signature = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    parts = [f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}"]
    if signing.authorization != "incomplete":
        parts.append(f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}")
    parts.append(f"Signature={signature}")
    headers = dict(request.headers.items())
    if signing.authorization != ABSENT:
        headers["Authorization"] = ", ".join(parts)
    return headers


def raw_heartbeat(
    target: Target,
    body: dict[str, Any],
    observer: CallObserver | None = None,
    exchanges: ExchangeObserver | None = None,
    signing: Signing | None = None,
) -> dict[str, Any]:
    """Send `body` as a signed RecordActivityTaskHeartbeat; raise `SWFError` if refused."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    url = target.endpoint_url.rstrip("/") + "/"
    headers = signed_headers(target, url, data, signing or Signing())
    http = urllib.request.Request(url, data=data, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(http, timeout=TIMEOUT_S) as answer:
            status, payload = int(answer.status), answer.read()
            content_type = answer.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        status, payload = int(exc.code), exc.read()
        content_type = exc.headers.get("Content-Type")
    except (urllib.error.URLError, OSError) as exc:
        if observer:
            observer(
                CallRecord(OPERATION, time.perf_counter() - started, CONNECTION_ERROR, None, 0)
            )
        raise TargetUnreachable(f"cannot reach {target.description}: {exc}") from None
    duration = time.perf_counter() - started
    if exchanges:
        exchanges(Exchange(OPERATION, status, content_type, payload))
    if status != 200:
        error = _error(status, payload)
        if observer:
            observer(CallRecord(OPERATION, duration, error.code, status, len(payload)))
        raise error
    if observer:
        observer(CallRecord(OPERATION, duration, None, status, len(payload)))
    parsed = json.loads(payload) if payload.strip() else {}
    return parsed if isinstance(parsed, dict) else {"body": parsed}
