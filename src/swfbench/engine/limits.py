"""How much the engine holds at most, and the defaults (no moto import here, so the command line
can show them before the moto version is checked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_CLOSED_EXECUTIONS = 5_000
"""Closed executions kept at most, oldest forgotten first; each keeps its history (about 10 KB
for a one-activity execution)."""

DEFAULT_IDLE_TIMEOUT = 120.0
"""Seconds a connection may wait for its next request: longer than any heartbeat interval a
fleet would pace at, so a pooled connection is not closed under a worker about to use it."""

DEFAULT_MAX_CONNECTIONS = 4096
"""Connections served at once when the file descriptor limit allows as many."""


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections the server takes, and for how long an idle one stays open."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Connections served at once; one more is refused with HTTP 503."""
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    """Seconds without a request after which a connection is closed."""

    def to_dict(self) -> dict[str, Any]:
        return {"max_connections": self.max_connections, "idle_timeout_s": self.idle_timeout}
