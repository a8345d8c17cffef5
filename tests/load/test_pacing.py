"""Pacing: an absolute schedule (lateness is measured, not absorbed) and the synchronised herd."""

from __future__ import annotations

import random
from collections.abc import Callable

from swfbench.load.fleet import FleetRuntime
from swfbench.load.worker import Clock, Pacer


class FakeTime:
    def __init__(self, wall: float) -> None:
        self.offset = wall
        self.mono = 0.0

    def sleep(self, seconds: float) -> None:
        self.mono += seconds

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.offset + self.mono, mono=lambda: self.mono, sleep=self.sleep)


def test_schedule_is_absolute_so_a_slow_call_shows_up_as_lag(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.25)
    pacer = Pacer(runtime, random.Random(0), fake.clock())
    pacer.start()
    first_due = pacer.due
    assert pacer.wait() == 0.0
    fake.mono += 2.5  # the heartbeat took 2.5 s: the next two beats are already late
    pacer.advance()
    assert pacer.due == first_due + 1.0
    assert abs(pacer.wait() - 1.5) < 1e-9
    pacer.advance()
    assert abs(pacer.wait() - 0.5) < 1e-9
    assert runtime.metrics.histograms["pacing_lag"].count == 3


def test_synchronised_start_beats_on_shared_wall_clock_instants(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 2.0}, "synchronized_start": True})
    sends = []
    for start in (1000.3, 1001.1, 1001.9):  # workers spawned at different times
        fake = FakeTime(wall=start)
        pacer = Pacer(runtime, random.Random(), fake.clock())
        pacer.start()
        pacer.wait()
        sends.append(fake.offset + fake.mono)
    assert sends == [1002.0, 1002.0, 1002.0]


def test_what_was_due_and_never_sent_is_counted_when_the_schedule_ends(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    """A target that hangs holds the worker in one call while its beats fall due: those
    beats count as due when the task ends (or the run stops), never as nothing."""
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.0)
    pacer = Pacer(runtime, random.Random(0), fake.clock())
    pacer.start(until=fake.mono + 10.0)
    assert pacer in runtime.schedules
    pacer.wait()  # the first beat is taken: due 1 ...
    first = pacer.due
    fake.mono = first + 4.5  # ... and hangs for 4.5 s: beats due at +1, +2, +3, +4 never go
    runtime.end_schedules()
    assert runtime.metrics.counters["heartbeats_due"] == 5
    assert pacer not in runtime.schedules
    pacer.finish()  # ending twice counts nothing more
    assert runtime.metrics.counters["heartbeats_due"] == 5


def test_nothing_is_due_past_the_task_s_planned_end(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    runtime = runtime_for(heartbeat={"interval": {"mean_s": 1.0}})
    fake = FakeTime(wall=1000.0)
    pacer = Pacer(runtime, random.Random(0), fake.clock())
    pacer.start(until=fake.mono + 3.0)  # first due within the first second: u, u+1, u+2
    pacer.wait()
    pacer.advance()  # the next beat, not taken yet
    fake.mono += 30.0
    pacer.finish()
    assert runtime.metrics.counters["heartbeats_due"] == 3
