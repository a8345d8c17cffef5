"""HTTP/1.1 as SWF's clients speak it: requests read from a connection's bytes, answers written.

The engine's event loop (`server`) puts whatever arrives on a connection into that connection's
`RequestReader` and takes each complete request off it. What is read, as the standard library's
`http.server` reads it: a request line `METHOD target HTTP/1.x`, header fields (names compared
without case, the first of a repeated name wins, folded lines joined), a body framed by
`Content-Length`, keep-alive unless `Connection: close` (HTTP/1.0: only with `Connection:
keep-alive`), `Expect: 100-continue` answered before the body is read. What is refused with
`BadRequest` (the connection is answered and closed): a request line that is not three words or
not HTTP/1.x (HTTP/2 and later: 505), a head over 64 KiB or with more than 100 fields (431), a
body over `MAX_BODY` (413), and chunked bodies (411: SWF's clients always send a length).

Written here rather than taken from `http.server` because its per-request objects (a
`BaseHTTPRequestHandler`, an `email` parser for the headers, a buffered file per socket) cost
more server CPU than a heartbeat's own work many times over (README, "Engines of the embedded
target": the measurement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEAD = 65536
"""Bytes a request line and its header fields may take (`http.server` allows 65536 a line)."""
MAX_HEADERS = 100
"""Header fields a request may have (as `http.client` and `http.server` allow)."""
MAX_BODY = 64 * 1024 * 1024
"""Bytes a request body may have. SWF's largest inputs (a hundred decisions of 32 KB) are far
smaller; a larger Content-Length is refused instead of buffered."""

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_VERSION = re.compile(r"HTTP/(\d+)\.(\d+)")
_HEAD_END = b"\r\n\r\n"


class BadRequest(Exception):
    """Bytes that are not an HTTP/1.x request the engine serves: answer `status` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Headers:
    """A request's header fields in arrival order; `get` ignores the case of names."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields: list[tuple[str, str, str]]) -> None:
        self._fields = fields
        """Each line as `str.partition(":")` split it: name, colon, value."""
        # The first of a repeated name wins, as `email.message.Message.get` has it.
        self._first = {name.lower(): value.strip() for name, _, value in reversed(fields)}

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the field `name`, or `default`."""
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        """Every field as received, repeated names included."""
        return [(name, value.strip()) for name, _, value in self._fields]


@dataclass(slots=True)
class Request:
    method: str
    target: str
    """The request target as sent (path and query)."""
    version: str
    headers: Headers
    length: int
    """The body's length (Content-Length)."""
    keep_alive: bool
    """False when the client asked to close the connection after this request."""
    expects_continue: bool
    """The client waits for `100 Continue` before it sends the body."""
    body: bytes = b""

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    @property
    def requestline(self) -> str:
        return f"{self.method} {self.target} {self.version}"


class RequestReader:
    """The bytes received on one connection, and the requests complete among them."""

    __slots__ = ("_buffer", "_head", "continue_sent")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head: Request | None = None
        """A request whose head is read and whose body has not all arrived."""
        self.continue_sent = False

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def wants_continue(self) -> bool:
        """The request whose body is awaited asked for `100 Continue` and has not had it."""
        head = self._head
        return head is not None and head.expects_continue and not self.continue_sent

    def next_request(self) -> Request | None:
        """Take the first complete request, or None while only part of one has arrived.

        Raises BadRequest for bytes that are not a request the engine serves.
        """
        request = self._head
        buffer = self._buffer
        if request is None:
            # Clients may send empty lines between requests (RFC 9112, section 2.2).
            while buffer[:2] == b"\r\n":
                del buffer[:2]
            end = buffer.find(_HEAD_END)
            if end < 0 and len(buffer) <= MAX_HEAD:
                return None
            if end < 0 or end > MAX_HEAD:
                raise BadRequest(431, "the request line and headers exceed 65536 bytes")
            request = _parse_head(buffer[:end].decode("latin-1"))
            del buffer[: end + 4]
            self._head = request
            self.continue_sent = False
        length = request.length
        if len(buffer) < length:
            return None
        if length:
            request.body = bytes(buffer[:length])
            del buffer[:length]
        self._head = None
        return request


_VERSIONS = {"HTTP/1.1": 1, "HTTP/1.0": 0}


def _minor_version(version: str) -> int:
    """The minor version of an HTTP/1.x request; BadRequest for any other."""
    matched = _VERSION.fullmatch(version)
    if matched is None:
        raise BadRequest(400, f"Bad request version ({version[:100]!r})")
    major = int(matched.group(1))
    if major != 1:
        raise BadRequest(505 if major > 1 else 400, f"Invalid HTTP version ({version[:20]})")
    return int(matched.group(2))


def _parse_head(text: str) -> Request:
    lines = text.split("\r\n")
    words = lines[0].split()
    if len(words) != 3:
        raise BadRequest(400, f"Bad request syntax ({lines[0][:100]!r})")
    method, target, version = words
    minor = _VERSIONS.get(version)
    if minor is None:
        minor = _minor_version(version)
    if len(lines) - 1 > MAX_HEADERS:
        raise BadRequest(431, f"more than {MAX_HEADERS} header fields")
    fields = [line.partition(":") for line in lines[1:]]
    for name, colon, _ in fields:
        if not colon or not name or name[0] in " \t":
            fields = _unfold(lines[1:])
            break
    headers = Headers(fields)
    if headers.get("transfer-encoding") is not None:
        raise BadRequest(411, "chunked request bodies are not supported: send Content-Length")
    try:
        length = max(0, int(headers.get("content-length") or 0))
    except ValueError:
        length = 0  # as the engine has always read it: no usable length, no body
    if length > MAX_BODY:
        raise BadRequest(413, f"the request body exceeds {MAX_BODY} bytes")
    connection = (headers.get("connection") or "").lower()
    keep_alive = "close" not in connection if minor else "keep-alive" in connection
    expects = minor > 0 and (headers.get("expect") or "").lower() == "100-continue"
    return Request(method, target, version, headers, length, keep_alive, expects)


def _unfold(lines: list[str]) -> list[tuple[str, str, str]]:
    """Header lines with obsolete folding (a line starting with white space continues the
    previous field); BadRequest for a line that is not a field."""
    fields: list[tuple[str, str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and fields:
            name, colon, value = fields[-1]
            fields[-1] = (name, colon, f"{value.strip()} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, f"Bad header line ({line[:100]!r})")
        fields.append((name, colon, value))
    return fields


_OK_HEAD = f"HTTP/1.1 200 OK\r\nContent-Type: {JSON_CONTENT_TYPE}\r\nContent-Length: ".encode()


def answer(status: int, body: bytes, *, close: bool = False, head_only: bool = False) -> bytes:
    """The bytes of one JSON answer; `close` says the connection closes after it, `head_only`
    (HEAD) leaves the body out."""
    if status == 200 and not close and not head_only:
        return b"%s%d\r\n\r\n%s" % (_OK_HEAD, len(body), body)
    reason = REASONS.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {0 if head_only else len(body)}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode() + (b"" if head_only else body)
