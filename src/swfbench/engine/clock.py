"""Engine time: every timestamp, timeout and quota refill reads one injected clock.

With `RealClock` engine time is wall time. With `VirtualClock` time stands still until the admin
endpoint advances it (see `swfbench.engine.server`), so a scenario that waits five minutes for a
heartbeat timeout runs in milliseconds and still sees events stamped five minutes apart.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where the engine reads the time, in seconds since the epoch."""

    @property
    def mode(self) -> str:
        """`"real"` or `"virtual"`, as reported by `GET /swfbench/clock`."""
        ...

    def now(self) -> float:
        """The current engine time."""
        ...


class RealClock:
    """Wall time."""

    mode = "real"

    def now(self) -> float:
        return time.time()


class VirtualClock:
    """Time that moves only when `advance` is called."""

    mode = "virtual"

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a virtual clock only moves forward")
        with self._lock:
            self._now += seconds
            return self._now

    def reset(self, start: float) -> None:
        """Start again at `start` (moto's reset: every object stamped before is gone)."""
        with self._lock:
            self._now = start
