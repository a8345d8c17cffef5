"""One simulated worker against a real moto server: each outcome kind and each metric.

Plain moto lacks cancellation and START_TO_CLOSE timeouts (fact sheet, "Known gaps"): the worker
must report those as a refused cancellation and a missed timeout, and go on.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from swfbench.embedded import ENGINES, EmbeddedServer, free_port
from swfbench.load.connection import Connection
from swfbench.load.fleet import FleetRuntime
from swfbench.load.transport import Boto3Sender, FastSender, HeartbeatSender
from swfbench.load.worker import Clock, SimulatedWorker, WorkerContext
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

MakeRuntime = Callable[..., FleetRuntime]


def _sender(runtime: FleetRuntime, mode: str) -> HeartbeatSender:
    if mode == "boto3":
        return Boto3Sender(runtime.client)
    assert runtime.target.endpoint_url is not None
    connection = Connection(runtime.target.endpoint_url, connect_s=5, read_s=5)
    return FastSender(connection=connection, signer=runtime.signer, observer=runtime.observer)


def _run_one(runtime: FleetRuntime, mode: str = "fast", clock: Clock | None = None) -> str | None:
    """One simulated worker's task, from start to end, driven step by step as a sender would."""
    context = WorkerContext(runtime=runtime, rng=random.Random(1), clock=clock or Clock())
    return SimulatedWorker().run_one(context, _sender(runtime, mode))


def _summary(runtime: FleetRuntime) -> dict[str, Any]:
    return runtime.metrics.to_dict()


@pytest.mark.parametrize("mode", ["fast", "boto3"])
def test_complete_heartbeats_on_schedule_and_closes(runtime_for: MakeRuntime, mode: str) -> None:
    runtime = runtime_for(outcomes={"complete": 1})
    # What Locust's statistics are told of the heartbeats answered OK, a second at a time.
    batches: list[tuple[int, int]] = []
    runtime.metrics.on_ok_calls = lambda _, durations, size: batches.append(
        (sum(durations.values()), size)
    )
    assert _run_one(runtime, mode) == "completed"
    data = _summary(runtime)
    ok = data["heartbeat"]["ok"]
    assert ok >= 2
    assert data["heartbeat"]["latency_ms"]["count"] == ok
    assert data["heartbeat"]["pacing_lag_ms"]["count"] == ok
    assert data["heartbeat"]["pacing_lag_ms"]["p99"] < 200
    # Each heartbeat answered OK is one call, recorded once whichever path sent it.
    assert data["calls"]["RecordActivityTaskHeartbeat"]["ok"] == ok
    assert data["calls"]["RecordActivityTaskHeartbeat"]["latency_ms"]["count"] == ok
    assert sum(count for count, _ in batches) == ok
    # Each answer is the 26 bytes of {"cancelRequested": false}.
    assert sum(size for _, size in batches) == 26 * ok
    assert data["calls"]["RespondActivityTaskCompleted"]["ok"] == 1
    assert data["calls"]["TerminateWorkflowExecution"]["ok"] == 1  # execution closed too
    assert data["tasks"]["started"] == data["tasks"]["accounted"] == 1
    assert runtime.open_handles == {}


def test_fail(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for(outcomes={"fail": 1}, heartbeat={"details": {"kind": "multibyte"}})
    assert _run_one(runtime) == "failed"
    assert _summary(runtime)["calls"]["RespondActivityTaskFailed"]["ok"] == 1


def test_silent_task_times_out_and_the_delay_is_measured(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for(
        outcomes={"silent": 1},
        activity={"duration": {"mean_s": 0.5}, "timeouts": {"heartbeat": 1}},
        timeout_slack_s=3,
    )
    assert _run_one(runtime) == "timed_out"
    timeouts = _summary(runtime)["timeouts"]
    assert timeouts["silent_tasks"] == timeouts["timed_out"] == 1
    assert timeouts["missed"] == timeouts["early"] == 0
    assert timeouts["delay_ms"]["count"] == 1
    assert -250 < timeouts["delay_ms"]["max"] < 1500


def test_missed_timeout_is_detected_and_the_task_closed(runtime_for: MakeRuntime) -> None:
    # moto never fires START_TO_CLOSE (fact sheet): the silent task stays open past its deadline.
    runtime = runtime_for(
        outcomes={"silent": 1},
        activity={
            "duration": {"mean_s": 0.2},
            "timeouts": {"heartbeat": "NONE", "start_to_close": 1},
        },
        timeout_slack_s=1,
    )
    assert _run_one(runtime) == "missed_timeout_closed"
    data = _summary(runtime)
    assert data["timeouts"]["missed"] == 1
    assert data["calls"]["TerminateWorkflowExecution"]["ok"] == 1


def test_refused_cancellation_is_reported_as_not_propagated(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for(outcomes={"cancel": 1}, cancel={"after": 0.2, "propagation_wait_s": 0.5})
    assert _run_one(runtime) == "completed"
    data = _summary(runtime)
    assert data["cancel"]["requested"] == 1
    assert data["cancel"]["decision_failed"] == 1
    assert data["cancel"]["not_propagated"] == 1
    assert data["cancel"]["propagated"] == 0
    # Plain moto answers the RequestCancelActivityTask decision with HTTP 500 (fact sheet).
    assert data["calls"]["RespondDecisionTaskCompleted"]["errors"] == {"HTTP500": 1}


def test_worker_slower_than_its_timeout_is_a_late_worker_timeout(
    runtime_for: MakeRuntime,
) -> None:
    runtime = runtime_for(
        heartbeat={"interval": {"mean_s": 1.6}},
        activity={"duration": {"mean_s": 4}, "timeouts": {"heartbeat": 1}},
    )
    assert _run_one(runtime) == "timed_out"
    timeouts = _summary(runtime)["timeouts"]
    assert timeouts["late_worker"] == 1
    assert timeouts["false"] == 0


def test_false_timeout_is_detected(runtime_for: MakeRuntime) -> None:
    # The worker's clock runs at a quarter of real speed: by its own account every heartbeat went
    # out well within the 1 s timeout, so the service's timeout is a false one (as with a worker
    # whose clock drifts, or a service that times out early).
    origin = time.time()
    clock = Clock(wall=lambda: origin + (time.time() - origin) / 4)
    runtime = runtime_for(
        heartbeat={"interval": {"mean_s": 1.6}},
        activity={"duration": {"mean_s": 4}, "timeouts": {"heartbeat": 1}},
    )
    assert _run_one(runtime, clock=clock) == "timed_out"
    timeouts = _summary(runtime)["timeouts"]
    assert timeouts["false"] == 1
    assert timeouts["late_worker"] == 0


def test_a_domain_the_target_forgot_is_registered_again(runtime_for: MakeRuntime) -> None:
    # As after a restart of the target: it no longer knows the domain the run registered.
    runtime = runtime_for(domain=f"forgotten-{time.time_ns()}")
    assert _run_one(runtime) == "completed"
    data = _summary(runtime)
    assert runtime.metrics.counters["domain_registered_again"] == 1
    assert data["tasks"]["setup_failures"] == 0
    assert data["calls"]["StartWorkflowExecution"] == {
        "ok": 1,
        "errors": {"UnknownResourceFault": 1},
    }


def test_refusing_target_is_measured_not_fatal(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for()
    runtime.target = dataclasses.replace(
        runtime.target, endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    assert _run_one(runtime, mode="boto3", clock=Clock(sleep=lambda _: None)) is None
    data = _summary(runtime)
    assert data["tasks"]["setup_failures"] == 1
    assert data["calls"]["StartWorkflowExecution"]["errors"] == {"ConnectionError": 1}


def test_audit_closes_tasks_left_open(runtime_for: MakeRuntime) -> None:
    from swfbench.activity import start_activity

    runtime = runtime_for()
    handle = start_activity(runtime.client, domain=runtime.profile.domain)
    runtime.open_handles[handle.workflow_id] = handle
    assert runtime.audit() == 1
    data = _summary(runtime)
    assert data["tasks"]["closed_by_audit"] == 1
    assert data["tasks"]["ends"]["interrupted"] == 1
    assert handle.close() is False  # already closed


@pytest.mark.skipif("swfbench" not in ENGINES, reason="needs the extended engine's cancellation")
@pytest.mark.parametrize(("obey", "end"), [(1.0, "canceled"), (0.0, "completed")])
def test_cancel_propagates_and_is_obeyed_or_ignored(
    runtime_for: MakeRuntime, obey: float, end: str
) -> None:
    with EmbeddedServer(engine="swfbench") as server:
        target = Target(
            kind="endpoint",
            endpoint_url=server.url,
            region=EMULATOR_REGION,
            credentials=EMULATOR_CREDENTIALS,
        )
        base = runtime_for(outcomes={"cancel": 1}, cancel={"obey": obey, "after": 0.2})
        runtime = FleetRuntime(
            profile=base.profile,
            target=target,
            run_id="t",
            observer=base.observer,
            metrics=base.metrics,
        )
        from swfbench.activity import bootstrap

        bootstrap(runtime.client, runtime.profile.domain)
        assert _run_one(runtime) == end
        cancel = _summary(runtime)["cancel"]
        assert cancel["propagated"] == 1
        assert cancel["propagation_ms"]["count"] == 1
        assert cancel["obeyed" if obey else "ignored"] == 1
