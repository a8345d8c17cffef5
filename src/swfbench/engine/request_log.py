"""The engine's request log: every request as it arrived, for seeing what a client sends.

Off unless `SWFBENCH_ENGINE_REQUEST_LOG` names a file (inherited by the embedded engine from
swfbench, so it works for `swfbench serve` and for every command's embedded target alike). Each
request is appended as it arrived: request line, headers, a blank line, the body. It holds
whatever the clients sent, signatures and key ids included: a debugging aid, for emulator
clients (the credentials tests read it to prove no real key reaches the engine).
"""

from __future__ import annotations

import os
import threading
from email.message import Message

ENV = "SWFBENCH_ENGINE_REQUEST_LOG"


class RequestLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> RequestLog | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None

    def record(self, request_line: str, headers: Message, body: bytes) -> None:
        head = request_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        with self._lock, open(self.path, "ab") as log:
            log.write(head.encode("utf-8", "replace") + b"\r\n" + body + b"\r\n\r\n")
