"""AWS Signature Version 4 for SWF's JSON 1.0 protocol, with the signing key cached per day.

boto3 spends most of a heartbeat's CPU in request building and signing; here the canonical
request is written by hand for the one shape SWF calls have (`POST /`, no query string, five or
six headers), and the HMAC chain kDate → kRegion → kService → kSigning runs once per UTC day.
The output equals botocore's `SigV4Auth` for the same request (tests check it byte for byte).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlsplit

SERVICE = "swf"
CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "SimpleWorkflowService."
CREDENTIAL_REFRESH_S = 300.0
"""How often to ask the credential source again (temporary credentials rotate)."""

Credentials = tuple[str, str, str | None]
"""Access key id, secret access key, session token."""
CredentialSource = Callable[[], Credentials]


def host_header(endpoint_url: str) -> str:
    """The Host header an HTTP client sends for this endpoint (default ports omitted, an IPv6
    address in brackets), as botocore signs it."""
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    if parts.port is not None and parts.port != default:
        return f"{host}:{parts.port}"
    return host


class Signer:
    """Signs SWF requests for one endpoint and region."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        credentials: CredentialSource,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host_header(endpoint_url)
        self.region = region
        self._credentials_source = credentials
        self._clock = clock
        self._credentials: Credentials = credentials()
        self._credentials_at = clock()
        self._key_day = ""
        self._key = b""
        self._scope_tail = f"/{region}/{SERVICE}/aws4_request"
        self._date_second = -1
        self._amz_date = ""

    def _signing_key(self, day: str, secret: str) -> bytes:
        if day != self._key_day:
            k_date = _hmac(("AWS4" + secret).encode(), day)
            k_region = _hmac(k_date, self.region)
            k_service = _hmac(k_region, SERVICE)
            self._key = _hmac(k_service, "aws4_request")
            self._key_day = day
        return self._key

    def _current_credentials(self, now: float) -> Credentials:
        if now - self._credentials_at > CREDENTIAL_REFRESH_S:
            fresh = self._credentials_source()
            if fresh[1] != self._credentials[1]:
                self._key_day = ""  # a new secret needs a new signing key
            self._credentials, self._credentials_at = fresh, now
        return self._credentials

    def headers(self, operation: str, body: bytes, now: float | None = None) -> dict[str, str]:
        """Headers for `POST /` calling `operation` with `body`, Authorization included."""
        now = self._clock() if now is None else now
        access_key, secret, token = self._current_credentials(now)
        second = int(now)
        if second != self._date_second:  # X-Amz-Date has whole seconds
            self._amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._date_second = second
        amz_date = self._amz_date
        day = amz_date[:8]
        target = TARGET_PREFIX + operation
        payload_hash = hashlib.sha256(body).hexdigest()
        if token:
            canonical_headers = (
                f"content-type:{CONTENT_TYPE}\nhost:{self.host}\nx-amz-date:{amz_date}\n"
                f"x-amz-security-token:{token}\nx-amz-target:{target}\n"
            )
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        else:
            canonical_headers = (
                f"content-type:{CONTENT_TYPE}\nhost:{self.host}\nx-amz-date:{amz_date}\n"
                f"x-amz-target:{target}\n"
            )
            signed = "content-type;host;x-amz-date;x-amz-target"
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{payload_hash}"
        scope = day + self._scope_tail
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        signature = hmac.new(
            self._signing_key(day, secret), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Date": amz_date,
            "X-Amz-Target": target,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
        }
        if token:
            headers["X-Amz-Security-Token"] = token
        return headers


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()
