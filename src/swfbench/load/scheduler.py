"""The simulated workers of one Locust process and the senders that serve them.

A simulated worker is a small state object (`worker.SimulatedWorker`), not a greenlet: it waits
in a heap ordered by the time it is next due, and whichever sender is free when that time comes
takes it, runs one step (start a task, send a heartbeat, end a task...) and puts it back with
its next due time. Locust's users are the senders, a bounded pool; the fleet, however large,
costs a few hundred bytes per worker.

The fleet is split between Locust processes by worker number: process `k` of `n` runs the
workers numbered k, k + n, k + 2n... of the profile's fleet, so every process runs its share of
a ramp at every moment and the shares add up to the whole fleet exactly.
"""

from __future__ import annotations

import gc
import heapq
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent
from gevent.event import Event
from gevent.lock import Semaphore

from swfbench.load.transport import HeartbeatSender
from swfbench.load.worker import SETUP_BACKOFF_S, WorkerContext

TICK_S = 0.1
"""How often the fleet grows or shrinks toward the profile's worker count."""
log = logging.getLogger("swfbench.load")


class Member(Protocol):
    """A simulated worker as the scheduler sees it."""

    index: int
    retired: bool

    def __lt__(self, other: Any) -> bool: ...

    def begin(self, context: WorkerContext) -> float: ...

    def step(self, context: WorkerContext, sender: HeartbeatSender) -> float: ...

    def finish(self, context: WorkerContext, end: float | None = None) -> None: ...


SLOT_S = 0.001
"""Due times are kept to the millisecond: the members due within one wait in one slot, handed
out once its millisecond is over (never before they are due, at most 1 ms after)."""


class Scheduler:
    """Members by the time they are next due (monotonic), handed to free senders when due.

    A calendar queue: a slot per millisecond that holds members, and a heap of those slots'
    keys, at most one per millisecond of the interval. With half a million members (a
    process's share of a million) a heap of (due, member) costs 3.4 µs per take and put, its
    comparisons missing the CPU's caches, and the slots 1.2 µs; with 50,000, 1.4 µs each
    (`python benchmarks/scheduler_queue.py`).

    A free sender takes a member that is due at once; when none is, one free sender at a time
    watches the earliest slot (it holds `_lead`) and the others queue on that lock, so a due
    member wakes exactly one sender."""

    def __init__(self, mono: Callable[[], float] = time.monotonic) -> None:
        self._slots: dict[int, list[Member]] = {}
        self._keys: list[int] = []
        """Heap of the keys of `_slots`: slot k holds the members due in ((k - 1) ms, k ms]."""
        self._count = 0
        self._mono = mono
        self._lead = Semaphore()
        self._wake = Event()
        self._watching = math.inf
        """The time the watching sender sleeps until."""

    def __len__(self) -> int:
        return self._count

    def put(self, due: float, member: Member) -> None:
        key = math.ceil(due / SLOT_S)
        slot = self._slots.get(key)
        if slot is None:
            self._slots[key] = [member]
            heapq.heappush(self._keys, key)
        else:
            slot.append(member)
        self._count += 1
        if key * SLOT_S < self._watching:
            self._wake.set()

    def take(self) -> Member:
        """The next member whose time has come, waiting for it; retired ones are dropped."""
        keys, slots, mono = self._keys, self._slots, self._mono
        while True:
            # Greenlets switch only when they wait: between this check and the pop, no other
            # sender can take the member, so a busy fleet needs no lock.
            if keys and keys[0] * SLOT_S <= mono():
                key = keys[0]
                slot = slots[key]
                member = slot.pop()  # within a millisecond, any order
                self._count -= 1
                if not slot:
                    del slots[key]
                    heapq.heappop(keys)
                if not member.retired:
                    return member
                continue
            with self._lead:
                self._watch()

    def _watch(self) -> None:
        """As the one watching sender: wait until the earliest slot is due (or another,
        earlier, is put)."""
        keys = self._keys
        while True:
            delay: float | None = None
            if keys:
                due = keys[0] * SLOT_S
                delay = due - self._mono()
                if delay <= 0:
                    return
                self._watching = due
            self._wake.clear()
            self._wake.wait(delay)
            self._watching = math.inf


def share(workers: int, part: int, parts: int) -> int:
    """How many of worker numbers 0 .. workers - 1 are those of process `part` of `parts`
    (k, k + parts, k + 2 parts...); a process beyond `parts` runs none."""
    if part >= parts:
        return 0
    return max(0, (workers - part + parts - 1) // parts)


Factory = Callable[[int], Member]
"""Builds the simulated worker of a fleet-wide worker number."""


class LocalFleet:
    """This process's share of the fleet: grown and shrunk toward the profile's worker count
    over time at its spawn rate, served by the process's senders."""

    def __init__(
        self, context: WorkerContext, factory: Factory, *, share: tuple[int, int] = (0, 1)
    ) -> None:
        self.context = context
        self.factory = factory
        self.part, self.parts = share
        self.members: list[Member] = []
        self.scheduler = Scheduler(context.clock.mono)
        self._controller: Any = None
        self._frozen = 0
        """Workers at the last `gc.freeze`."""

    # How many workers, when --------------------------------------------------------------

    def share_of(self, workers: int) -> int:
        return share(workers, self.part, self.parts)

    def target(self, elapsed_s: float) -> tuple[int, float]:
        """The profile's fleet now (this process's share) and its spawn rate (workers/s)."""
        profile = self.context.profile
        if profile.shape is None:
            workers, rate = profile.workers, profile.spawn_rate
        else:
            workers, rate = profile.shape.workers_at(elapsed_s), profile.shape.spawn_rate
        return self.share_of(workers), rate / self.parts

    def grow(self, count: int) -> None:
        """Add `count` workers; each is due at once or at its first beat."""
        context, scheduler = self.context, self.scheduler
        for _ in range(count):
            member = self.factory(self.part + self.parts * len(self.members))
            self.members.append(member)
            scheduler.put(member.begin(context), member)

    def shrink(self, count: int) -> None:
        """Retire the `count` newest workers: their schedules end now; a task one of them had
        open stays open for the closing audit, as when Locust stops a user."""
        for _ in range(min(count, len(self.members))):
            member = self.members.pop()
            member.retired = True
            member.finish(self.context)

    def start(self, started_mono: float) -> None:
        if self._controller is None:
            self._controller = gevent.spawn(self._control, started_mono)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.kill(block=False)
            self._controller = None

    def _control(self, started_mono: float) -> None:
        """Follow the profile's worker count, at its spawn rate; record the count each tick."""
        clock = self.context.clock
        budget = 0.0
        last = clock.mono()
        while True:
            now = clock.mono()
            wanted, rate = self.target(now - started_mono)
            have = len(self.members)
            if wanted > have:
                budget = min(budget + rate * (now - last), float(wanted - have))
                if have == 0 and budget < 1:
                    budget = 1.0  # the first worker at once, as Locust's first user
                self.grow(int(budget))
                budget -= int(budget)
            elif wanted < have:
                self.shrink(have - wanted)
                budget = 0.0
            last = now
            metrics = self.context.metrics
            metrics.flush_past()
            metrics.counters["workers"] = len(self.members)  # a gauge: processes add up
            metrics.timeline.record_workers(len(self.members))
            full = self.share_of(self.context.profile.max_workers)
            if len(self.members) >= min(full, 2 * self._frozen + 1000) > self._frozen:
                self._freeze()
            gevent.sleep(TICK_S)

    def _freeze(self) -> None:
        # A fleet is a heap of long-lived objects: keep the cyclic GC from walking it, or a
        # full collection stalls every sender at once (visible as pacing lag). Done when the
        # fleet is whole, and along the way each time it doubled.
        self._frozen = len(self.members)
        gc.collect()
        gc.freeze()

    # Serving -----------------------------------------------------------------------------

    def serve(self, sender: HeartbeatSender) -> None:
        """A sender's whole life: take the next due worker, run its step, put it back."""
        context, scheduler = self.context, self.scheduler
        while True:
            member = scheduler.take()
            try:
                due = member.step(context, sender)
            except Exception as exc:  # a defect outside the worker's own guard
                context.runtime.record_worker_error(exc)
                due = context.clock.mono() + SETUP_BACKOFF_S
            if member.retired:
                member.finish(context)
            else:
                scheduler.put(due, member)

    def finish(self, end: float | None = None) -> None:
        """The run stopped: every worker's schedule ends (see `worker.Pacer.finish`)."""
        self.stop()
        for member in self.members:
            member.finish(self.context, end)
