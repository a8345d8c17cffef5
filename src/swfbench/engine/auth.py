"""SigV4 verification of every SWF call, with botocore's own signer (`--auth FILE`).

The expected signature is recomputed from the request as it arrived: its method, path, query,
the headers it lists in `SignedHeaders` (their received values) and the SHA-256 of its body,
put through botocore's `SigV4Auth` (canonical request, string to sign, final HMAC), with the
secret of the identity its access key id names. `_Recompute` tells botocore which headers were
signed and which body arrived, and keeps each identity's derived signing key for the day where
botocore would derive it (four HMACs) on every call: the one piece of SigV4 written here, for a
measured saving (`benchmarks/auth_cost.py`; README, "Access control").

Each failure answers HTTP 400 with the error AWS's JSON 1.0 services give (fact sheet, "Access
control": graded inferred for SWF); their messages are the ones those services use:

| failure | error |
|---|---|
| no Authorization header | MissingAuthenticationTokenException |
| Authorization without Credential, SignedHeaders or Signature; no date; Host not signed | IncompleteSignatureException |
| unknown access key id; a missing, wrong or unexpected session token | UnrecognizedClientException |
| credential scope of another day, region or service | InvalidSignatureException |
| signing date more than the skew (15 minutes) before or after the engine's clock | InvalidSignatureException, "Signature expired" / "Signature not yet current" |
| signature does not match | InvalidSignatureException |

Session tokens are not in the fact sheet: UnrecognizedClientException for them is inferred
from how AWS answers a temporary key used without its token. The dates are checked against the
wall clock even when the engine runs on a virtual clock: signers sign with the real time.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.swf.exceptions import SWFClientError

from swfbench.identities import AuthFile, Identity

SERVICE = "swf"
MAX_SIGNING_KEYS = 4096
"""Derived keys kept (a few per identity and day); the cache starts over beyond that."""
BASIC_FORMAT = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z")
ALGORITHM = "AWS4-HMAC-SHA256"
CORAL = "com.amazon.coral.service#"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)
INVALID_TOKEN = "The security token included in the request is invalid."


class HeaderFields(Protocol):
    """A request's header fields as received (`wire.Headers`, or `email.message.Message`)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


class MissingAuthenticationToken(SWFClientError):
    def __init__(self) -> None:
        super().__init__(
            CORAL + "MissingAuthenticationTokenException", "Request is missing Authentication Token"
        )


class IncompleteSignature(SWFClientError):
    def __init__(self, message: str) -> None:
        super().__init__(CORAL + "IncompleteSignatureException", message)


class UnrecognizedClient(SWFClientError):
    def __init__(self) -> None:
        super().__init__(CORAL + "UnrecognizedClientException", INVALID_TOKEN)


class InvalidSignature(SWFClientError):
    def __init__(self, message: str = SIGNATURE_MISMATCH) -> None:
        super().__init__(CORAL + "InvalidSignatureException", message)


def _stamp(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def parse_authorization(header: str) -> dict[str, str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` as a mapping."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"Unsupported AWS 'algorithm': '{algorithm}'. Authorization={header}"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    lacking = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if lacking:
        problems = " ".join(f"Authorization header requires '{k}' parameter." for k in lacking)
        raise IncompleteSignature(f"{problems} Authorization={header}")
    return fields


def _signing_time(one: Callable[[str], str | None]) -> tuple[str, float]:
    """The request's signing timestamp (X-Amz-Date, else Date) and its epoch seconds."""
    amz_date = one("x-amz-date")
    if amz_date is not None:
        match = BASIC_FORMAT.fullmatch(amz_date)
        if match is None:
            raise IncompleteSignature(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                "http://en.wikipedia.org/wiki/ISO_8601"
            )
        fields = tuple(int(part) for part in match.groups())
        return amz_date, float(calendar.timegm((*fields, 0, 0, 0)))
    date = one("date")
    if date is not None:
        try:
            epoch = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            raise IncompleteSignature(f"Date must be an RFC 1123 date. Got '{date}'.") from None
        return _stamp(epoch), epoch
    raise IncompleteSignature(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


class _SignedHeaders(dict[str, list[str]]):
    """The signed headers as botocore's canonicalization reads them (`get_all`, iteration)."""

    def get_all(self, name: str) -> list[str]:
        return self[name]


SigningKeys = dict[tuple[str, str], bytes]
"""Derived signing keys by (access key id, day)."""


class _Recompute(SigV4Auth):  # type: ignore[misc]
    """botocore's signer, told which headers were signed and which body arrived, and keeping
    each identity's signing key for the day instead of deriving it on every call."""

    def __init__(
        self,
        identity: Identity,
        region: str,
        signed: _SignedHeaders,
        body: bytes,
        keys: SigningKeys,
    ) -> None:
        credentials = Credentials(
            identity.access_key_id, identity.secret_access_key, identity.session_token
        )
        super().__init__(credentials, SERVICE, region)
        self._signed = signed
        self._body_sha256 = hashlib.sha256(body).hexdigest()
        self._keys = keys

    def headers_to_sign(self, request: AWSRequest) -> _SignedHeaders:
        return self._signed

    def payload(self, request: AWSRequest) -> str:
        return self._body_sha256

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        # botocore's `signature` derives kSigning (four HMACs) on every call; the key depends
        # only on the secret, the day, the region and the service, so it is kept per key and
        # day (README, "Access control": the measured saving). The final HMAC is botocore's.
        day = request.context["timestamp"][0:8]
        cache_key = (self.credentials.access_key, day)
        key = self._keys.get(cache_key)
        if key is None:
            key = self._sign(f"AWS4{self.credentials.secret_key}".encode(), day)
            for part in (self._region_name, self._service_name, "aws4_request"):
                key = self._sign(key, part)
            if len(self._keys) > MAX_SIGNING_KEYS:
                self._keys.clear()
            self._keys[cache_key] = key
        signature: str = self._sign(key, string_to_sign, hex=True)
        return signature


class SignatureVerifier:
    """Authenticates requests against the identities of an auth file."""

    def __init__(
        self, auth: AuthFile, *, region: str, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.auth = auth
        self.region = region
        self.identities = auth.by_access_key()
        self.max_skew_s = auth.max_skew_s
        self._wall_clock = wall_clock
        self._keys: SigningKeys = {}

    def authenticate(self, method: str, path: str, headers: HeaderFields, body: bytes) -> Identity:
        """The identity that signed the request; raises the fault AWS would answer."""
        received: dict[str, list[str]] = {}
        for name, value in headers.items():
            received.setdefault(name.lower(), []).append(value)

        def one(name: str) -> str | None:
            values = received.get(name)
            return values[0] if values else None

        header = one("authorization")
        if header is None:
            raise MissingAuthenticationToken()
        fields = parse_authorization(header)
        stamp, signed_at = _signing_time(one)
        scope = fields["Credential"].split("/")
        if len(scope) != 5:
            raise IncompleteSignature(
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                f"keyid/date/region/service/term, got '{fields['Credential']}'"
            )
        names = fields["SignedHeaders"].lower().split(";")
        if "host" not in names:
            raise IncompleteSignature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            )
        key_id, day, region, service, terminator = scope
        identity = self.identities.get(key_id)
        if identity is None:
            raise UnrecognizedClient()
        if not _same(one("x-amz-security-token"), identity.session_token):
            raise UnrecognizedClient()
        self._check_scope(day, region, service, terminator, stamp)
        self._check_skew(stamp, signed_at)
        if any(name not in received for name in names):
            raise InvalidSignature()
        signed = _SignedHeaders((name, received[name]) for name in names)
        request = AWSRequest(method=method, url="http://swfbench" + path)
        request.context["timestamp"] = stamp
        signer = _Recompute(identity, region, signed, body, self._keys)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise InvalidSignature()
        return identity

    def _check_scope(self, day: str, region: str, service: str, term: str, stamp: str) -> None:
        if day != stamp[:8]:
            raise InvalidSignature(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{day}' != '{stamp[:8]}', from '{stamp}'."
            )
        if region != self.region:
            raise InvalidSignature(
                f"Credential should be scoped to a valid region, not '{region}'. "
            )
        if service != SERVICE:
            raise InvalidSignature(f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if term != "aws4_request":
            raise InvalidSignature(
                f"Credential should be scoped with a valid terminator: 'aws4_request', not "
                f"'{term}'. "
            )

    def _check_skew(self, stamp: str, signed_at: float) -> None:
        now = self._wall_clock()
        minutes = f"{self.max_skew_s / 60:g} min."
        if signed_at < now - self.max_skew_s:
            raise InvalidSignature(
                f"Signature expired: {stamp} is now earlier than "
                f"{_stamp(now - self.max_skew_s)} ({_stamp(now)} - {minutes})"
            )
        if signed_at > now + self.max_skew_s:
            raise InvalidSignature(
                f"Signature not yet current: {stamp} is still later than "
                f"{_stamp(now + self.max_skew_s)} ({_stamp(now)} + {minutes})"
            )


def _same(given: str | None, expected: str | None) -> bool:
    if given is None or expected is None:
        return given is None and expected is None
    return hmac.compare_digest(given.encode(), expected.encode())
