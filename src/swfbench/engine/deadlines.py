"""A heap of deadlines, so finding what has timed out costs O(log n), not a scan of every task.

Entries go stale (a heartbeat moves a heartbeat deadline later, a completed task has no
deadline any more); the backend checks each popped entry against the object's current
deadline and re-pushes or drops it, so a heartbeat never touches the heap.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True, frozen=True)
class Deadline:
    """`kind` of timeout of `target` falls due at engine time `at`."""

    at: float
    seq: int
    kind: str = field(compare=False)
    target: Any = field(compare=False)


class DeadlineHeap:
    """Deadlines ordered by time, ties in push order."""

    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, at: float, kind: str, target: Any) -> None:
        heapq.heappush(self._heap, Deadline(at, next(self._seq), kind, target))

    def next_at(self) -> float | None:
        """When the earliest deadline falls due, or None if there is none."""
        return self._heap[0].at if self._heap else None

    def pop_due(self, now: float) -> Deadline | None:
        """Remove and return the earliest deadline if it is at or before `now`."""
        if self._heap and self._heap[0].at <= now:
            return heapq.heappop(self._heap)
        return None
