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
