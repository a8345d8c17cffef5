"""Locust user classes: each user is one simulated activity worker; and the profile's shape."""

from __future__ import annotations

import random
import uuid
from typing import Any

from locust import FastHttpUser, LoadTestShape, constant, task

from swfbench.load.fleet import FleetRuntime, runtime_of
from swfbench.load.hooks import take_form_overrides
from swfbench.load.transport import Boto3Sender, FastSender, HeartbeatSender
from swfbench.load.worker import SETUP_BACKOFF_S, Pacer, SimulatedWorker


def make_sender(runtime: FleetRuntime, user: Any) -> HeartbeatSender:
    """The profile's send path: Locust's FastHttpUser client with our signing, or boto3."""
    if runtime.send_mode == "boto3":
        return Boto3Sender(runtime.client)
    return FastSender(
        agent=user.client.client,
        endpoint_url=runtime.target.endpoint_url,
        signer=runtime.signer,
        observer=runtime.observer,
    )


def _timed(user: FastHttpUser, environment: Any) -> None:
    """The fast path's timeouts are the run's client timeouts (geventhttpclient reads them
    when the user's client is built, in FastHttpUser.__init__)."""
    timeouts = runtime_of(environment).target.timeouts
    user.connection_timeout = timeouts.connect_s
    user.network_timeout = timeouts.read_s


class ActivityWorker(FastHttpUser):
    """One simulated SWF activity worker: start a task, heartbeat it, end it, start the next."""

    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        _timed(self, environment)
        super().__init__(environment)

    def on_start(self) -> None:
        runtime = runtime_of(self.environment)
        self.worker = SimulatedWorker(runtime, make_sender(runtime, self))

    @task
    def activity_task(self) -> None:
        try:
            self.worker.run_one()
        except Exception as exc:  # a defect, or a profile value validation let through
            # Measured as a WorkerError of its type, not one traceback per task from Locust.
            self.worker.runtime.record_worker_error(exc)
            self.worker.clock.sleep(SETUP_BACKOFF_S)


class HeartbeatOnlyWorker(FastHttpUser):
    """Heartbeats a made-up token forever on the profile's schedule: the send path alone, for
    benchmarks against a sink that answers every heartbeat with {"cancelRequested": false}."""

    abstract = True
    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        _timed(self, environment)
        super().__init__(environment)

    def on_start(self) -> None:
        runtime = runtime_of(self.environment)
        self.runtime = runtime
        self.rng = random.Random()
        self.sender = make_sender(runtime, self)
        self.pacer = Pacer(runtime, self.rng)
        self.pacer.start()
        self.token = uuid.uuid4().hex * 8

    @task
    def beat(self) -> None:
        self.pacer.wait()
        details = self.runtime.profile.details.make(50.0, self.rng)
        self.runtime.metrics.record_sent()
        result = self.sender.heartbeat(self.token, details)
        if result.error_code is None:
            self.runtime.metrics.count("heartbeats_ok")
            self.runtime.metrics.record("heartbeat_latency", result.duration_s)
        else:
            self.runtime.metrics.count("heartbeats_failed")
        self.pacer.advance()


class ProfileShape(LoadTestShape):
    """Workers over time as the profile says (a constant fleet, ramp, steps or spike), until the
    profile's run time is up; Locust's -u, -r and -t (and its web UI's form) override the
    fleet's size, spawn rate and run time (see `hooks.command_line_overrides`)."""

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
        profile = runtime.profile
        if profile.shape is None:
            return profile.workers, profile.spawn_rate
        return profile.shape.workers_at(elapsed), profile.shape.spawn_rate
