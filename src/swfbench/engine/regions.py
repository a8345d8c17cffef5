"""Regions kept apart: one `EngineBackend` per region, created on first use.

SWF's resources are regional: a domain registered in us-west-2 does not exist in us-east-1, and
ARNs carry the region (fact sheet, "Polls, events and the wire", documented). A call's region is
the one in its SigV4 credential scope (`Credential=KEY/DATE/REGION/swf/aws4_request`), as
moto's server reads it; an unsigned call goes to us-east-1.

All backends share the engine clock; the sweeper, the virtual clock's advance and moto's
`POST /moto-api/reset` act on every region.
"""

from __future__ import annotations

import re
import threading
import time

from swfbench.engine.backend import DEFAULT_POLL_WAIT, EngineBackend, TaskReady
from swfbench.engine.clock import Clock, VirtualClock
from swfbench.engine.exceptions import ClockNotVirtual
from swfbench.engine.limits import DEFAULT_MAX_CLOSED_EXECUTIONS
from swfbench.engine.quotas import QuotaSettings

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
"""moto's default account, the one its server and tests use for any dummy credentials."""
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]{1,32})/")


def region_of(authorization: str | None) -> str:
    """The region of a call, from its Authorization header."""
    if authorization:
        found = CREDENTIAL_SCOPE.search(authorization)
        if found is not None:
            return found.group(1)
    return DEFAULT_REGION


class Backends:
    """Every region's backend, on one clock, with the same quotas and poll wait."""

    def __init__(
        self,
        *,
        clock: Clock,
        quotas: QuotaSettings | None = None,
        poll_wait: float = DEFAULT_POLL_WAIT,
        account_id: str = ACCOUNT_ID,
        max_closed_executions: int = DEFAULT_MAX_CLOSED_EXECUTIONS,
    ) -> None:
        self.clock = clock
        self.account_id = account_id
        """The account every region's ARNs name (an --auth file's account, else moto's)."""
        self.max_closed_executions = max_closed_executions
        """Closed executions each region keeps at most (`EngineBackend`)."""
        self.quota_settings = quotas
        self.poll_wait = poll_wait
        """Seconds a poll with nothing to take waits for a task (the server holds it)."""
        self.on_task_ready: TaskReady | None = None
        """Given to every region's backend: told when a task can be taken from a task list."""
        self._lock = threading.Lock()
        self._by_region: dict[str, EngineBackend] = {}

    def get(self, region: str) -> EngineBackend:
        backend = self._by_region.get(region)
        if backend is not None:
            return backend
        with self._lock:
            backend = self._by_region.get(region)
            if backend is None:
                backend = EngineBackend(
                    region,
                    self.account_id,
                    clock=self.clock,
                    quotas=self.quota_settings,
                    max_closed_executions=self.max_closed_executions,
                    on_task_ready=self.on_task_ready,
                )
                self._by_region[region] = backend
            return backend

    def all(self) -> list[EngineBackend]:
        with self._lock:
            return list(self._by_region.values())

    def state(self) -> dict[str, int]:
        """How much the engine holds, summed over every region (`EngineBackend.state`)."""
        total: dict[str, int] = {}
        for backend in self.all():
            for key, value in backend.state().items():
                total[key] = total.get(key, 0) + value
        return total or {
            "open_executions": 0,
            "closed_executions": 0,
            "task_tokens": 0,
            "deadlines": 0,
        }

    def next_deadline(self) -> float | None:
        """The earliest timeout due in any region."""
        earliest: float | None = None
        for backend in tuple(self._by_region.values()):
            at = backend.next_deadline()
            if at is not None and (earliest is None or at < earliest):
                earliest = at
        return earliest

    def sweep(self) -> None:
        for backend in self.all():
            backend.sweep()

    def advance_clock(self, seconds: float) -> float:
        """Move the virtual clock; every region fires what fell due, stamped at its deadline."""
        if not isinstance(self.clock, VirtualClock):
            raise ClockNotVirtual()
        now = self.clock.advance(seconds)
        for backend in self.all():
            backend.sweep()
        return now

    def reset(self) -> None:
        """Forget every region's state, as moto's `POST /moto-api/reset` does; a virtual clock
        starts again from the wall clock's time, as it did when the engine started."""
        with self._lock:
            self._by_region = {}
            if isinstance(self.clock, VirtualClock):
                self.clock.reset(time.time())
