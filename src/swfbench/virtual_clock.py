"""The extended engine's virtual clock, seen from a client.

A target whose engine runs `--clock virtual` keeps time only when told: waiting on it means
advancing it (`POST /swfbench/clock/advance`), and every timeout whose deadline passes fires
then, stamped at its deadline. Other targets have no such endpoint and are left alone.

Since engine time moves only when advanced, a `VirtualClock` reads it once and then keeps it
from the answers to its own advances: a run that drives the clock alone (a conformance run)
reads it for free, which matters for scenarios that make thousands of calls.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from swfbench.errors import TargetUnreachable
from swfbench.target import Target


class VirtualClock:
    """Read and advance a target's virtual clock over its admin endpoint."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self._now: float | None = None
        """Engine time as last read or advanced to; only this client moves it."""

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TargetUnreachable(
                f"the virtual clock at {self.endpoint_url} failed: {exc}"
            ) from None
        return answer

    def now(self) -> float:
        """Engine time, in epoch seconds."""
        if self._now is None:
            self._now = float(self._call("/swfbench/clock")["now"])
        return self._now

    def advance(self, seconds: float) -> None:
        """Move engine time forward; due timeouts fire before this returns."""
        if seconds > 0:
            answer = self._call("/swfbench/clock/advance", {"seconds": seconds})
            self._now = float(answer["now"]) if "now" in answer else None


def virtual_clock_of(target: Target) -> VirtualClock | None:
    """The target's virtual clock, if its engine runs one; real SWF is never probed."""
    if target.kind == "aws" or target.endpoint_url is None:
        return None
    clock = VirtualClock(target.endpoint_url)
    try:
        state = clock._call("/swfbench/clock")
    except TargetUnreachable:
        return None  # no admin endpoint: another emulator, or plain moto
    return clock if state.get("mode") == "virtual" else None
