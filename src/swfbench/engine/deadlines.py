"""A heap of deadlines, so finding what has timed out costs O(log n), not a scan of every task.

Entries go stale (a heartbeat moves a heartbeat deadline later, a completed task has no
deadline any more); the backend checks each popped entry against the object's current
deadline and re-pushes or drops it, so a heartbeat never touches the heap.

An entry holds its object weakly: a stale entry far in the future (an execution timeout of a
day, for an execution closed after a minute and forgotten since) does not keep the execution
alive, and is skipped when it falls due. The backend also compacts the heap once it has doubled
since the last compaction, so stale entries do not pile up either.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True, frozen=True)
class Deadline:
    """`kind` of timeout of `target` falls due at engine time `at`."""

    at: float
    seq: int
    kind: str = field(compare=False)
    ref: weakref.ref[Any] = field(compare=False)

    @property
    def target(self) -> Any:
        """The object the deadline is for, or None once nothing else holds it."""
        return self.ref()


class DeadlineHeap:
    """Deadlines ordered by time, ties in push order."""

    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, at: float, kind: str, target: Any) -> None:
        heapq.heappush(self._heap, Deadline(at, next(self._seq), kind, weakref.ref(target)))

    def next_at(self) -> float | None:
        """When the earliest deadline falls due, or None if there is none."""
        return self._heap[0].at if self._heap else None

    def pop_due(self, now: float) -> tuple[Deadline, Any] | None:
        """Remove and return the earliest deadline at or before `now` whose object is still
        alive, with that object."""
        while self._heap and self._heap[0].at <= now:
            entry = heapq.heappop(self._heap)
            target = entry.ref()
            if target is not None:
                return entry, target
        return None

    def compact(self, keep: Callable[[Deadline, Any], bool]) -> None:
        """Drop every entry whose object is gone or for which `keep(entry, object)` is false."""
        kept = []
        for entry in self._heap:
            target = entry.ref()
            if target is not None and keep(entry, target):
                kept.append(entry)
        heapq.heapify(kept)
        self._heap = kept
