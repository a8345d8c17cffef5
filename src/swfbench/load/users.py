"""Locust's part: its users are the fleet's senders, and the shape keeps their number.

The simulated workers themselves live in each process's `scheduler.LocalFleet`, whose size over
time is the profile's (workers, spawn rate, ramp, steps or spike).
"""

from __future__ import annotations

import gevent
from locust import LoadTestShape, User, constant, task

from swfbench.load.connection import Connection
from swfbench.load.fleet import FleetRuntime, runtime_of
from swfbench.load.hooks import take_form_overrides
from swfbench.load.transport import Boto3Sender, FastSender, HeartbeatSender

SENDER_SPAWN_RATE = 100
"""Senders started per second (Locust warns above 100 per process)."""


def make_sender(runtime: FleetRuntime) -> HeartbeatSender:
    """The profile's send path: a connection of the sender's own with our signing, or boto3."""
    if runtime.send_mode == "boto3":
        return Boto3Sender(runtime.client)
    target = runtime.target
    # Heartbeats to real SWF carry real signatures: the server's certificate is checked (as
    # boto3 and the set-up calls do), where Locust's FastHttpUser checks none unless told.
    connection = Connection(
        target.endpoint_url,
        connect_s=target.timeouts.connect_s,
        read_s=target.timeouts.read_s,
        verify=target.verify,
    )
    return FastSender(connection=connection, signer=runtime.signer, observer=runtime.observer)


class Sender(User):
    """One sender of the fleet: takes whichever simulated worker of this process is due, runs
    its step through this user's connection, and takes the next, for the whole run."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.sender = make_sender(runtime_of(self.environment))

    def on_stop(self) -> None:
        self.sender.close()

    @task
    def serve(self) -> None:
        fleet = runtime_of(self.environment).fleet
        if fleet is None:  # not started here (a master runs no senders)
            gevent.sleep(1.0)
            return
        fleet.serve(self.sender)


class ProfileShape(LoadTestShape):
    """The profile's senders (Locust users), all at once, until the profile's run time is up;
    the simulated workers follow the profile's own shape (see `scheduler.LocalFleet`). Locust's
    -u, -r and -t (and its web UI's form) override the fleet's size, spawn rate and run time
    (see `hooks.command_line_overrides`): -u counts simulated workers, not senders."""

    use_common_options = True

    def reset_time(self) -> None:
        super().reset_time()  # type: ignore[no-untyped-call]
        if self.runner is not None:
            take_form_overrides(self.runner.environment)

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        runtime = runtime_of(self.runner.environment)
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if elapsed >= runtime.run_time_s or runtime.stop_requested:
            return None
        senders = runtime.profile.senders
        return senders, float(min(senders, SENDER_SPAWN_RATE))
