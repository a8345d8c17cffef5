"""Pacing: an absolute schedule (lateness is measured, not absorbed) and the synchronised herd."""

from __future__ import annotations

import random
from collections.abc import Callable

from swfbench.load.fleet import FleetRuntime
from swfbench.load.worker import Clock, Pacer, WorkerContext


class FakeTime:
    def __init__(self, wall: float) -> None:
        self.offset = wall
        self.mono = 0.0

    def sleep(self, seconds: float) -> None:
        self.mono += seconds

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.offset + self.mono, mono=lambda: self.mono, sleep=self.sleep)

    def context(self, runtime: FleetRuntime, seed: int | None = 0) -> WorkerContext:
        return WorkerContext(runtime=runtime, rng=random.Random(seed), clock=self.clock())

    def until(self, due: float) -> None:
        """Sleep until `due`, as the scheduler holds a worker until its beat is due."""
        self.mono = max(self.mono, due)


def test_schedule_is_absolute_so_a_slow_call_shows_up_as_lag(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.25)
    context = fake.context(runtime)
    pacer = Pacer()
    first_due = pacer.start(context)
    fake.until(first_due)
    assert pacer.take(context) == 0.0
    fake.mono += 2.5  # the heartbeat took 2.5 s: the next two beats are already late
    assert pacer.advance(context) == first_due + 1.0
    fake.until(pacer.due)
    assert abs(pacer.take(context) - 1.5) < 1e-9
    fake.until(pacer.advance(context))
    assert abs(pacer.take(context) - 0.5) < 1e-9
    assert runtime.metrics.to_dict()["heartbeat"]["pacing_lag_ms"]["count"] == 3


def test_synchronised_start_beats_on_shared_wall_clock_instants(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 2.0}, "synchronized_start": True})
    sends = []
    for start in (1000.3, 1001.1, 1001.9):  # workers spawned at different times
        fake = FakeTime(wall=start)
        fake.until(Pacer().start(fake.context(runtime, seed=None)))
        sends.append(fake.offset + fake.mono)
    assert sends == [1002.0, 1002.0, 1002.0]


def test_what_was_due_and_never_sent_is_counted_when_the_schedule_ends(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    """A target that hangs holds the worker in one call while its beats fall due: those
    beats count as due when the task ends (or the run stops), never as nothing."""
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.0)
    context = fake.context(runtime)
    pacer = Pacer()
    fake.until(pacer.start(context, until=fake.mono + 10.0))
    pacer.take(context)  # the first beat is taken: due 1 ...
    first = pacer.due
    fake.mono = first + 4.5  # ... and hangs for 4.5 s: beats due at +1, +2, +3, +4 never go
    pacer.finish(context)
    assert runtime.metrics.to_dict()["heartbeat"]["due"] == 5
    pacer.finish(context)  # ending twice counts nothing more
    assert runtime.metrics.to_dict()["heartbeat"]["due"] == 5


def test_nothing_is_due_past_the_task_s_planned_end(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.0)
    context = fake.context(runtime)
    pacer = Pacer()
    # The first beat is due within the first second: u, u+1, u+2.
    fake.until(pacer.start(context, until=fake.mono + 3.0))
    pacer.take(context)
    pacer.advance(context)  # the next beat, not taken yet
    fake.mono += 30.0
    pacer.finish(context)
    assert runtime.metrics.to_dict()["heartbeat"]["due"] == 3
