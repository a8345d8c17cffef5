"""Server CPU per call of each operation of a load run's task lifecycle, against a heartbeat's.

    .venv/bin/python benchmarks/engine_flow.py [--executions 2000] [--rounds 3] [--threads 8]
        [--beats 6] [--engine-args "--auth FILE"]

Every task of `swfbench load` goes through the same calls: StartWorkflowExecution,
PollForDecisionTask, RespondDecisionTaskCompleted with one ScheduleActivityTask,
PollForActivityTask, heartbeats, RespondActivityTaskCompleted (or Failed, or Canceled), and
TerminateWorkflowExecution to close the execution. This benchmark starts the engine as the
embedded target runs it and drives `--executions` tasks through that lifecycle one operation
at a time (phase by phase, from `--threads` keep-alive connections), with the same parameters
as the load generator (`swfbench.activity.start_activity`, the `steady` profile's timeouts), and
reads the engine's CPU time (Linux /proc) before and after each phase. Each operation's figure
is the server CPU per call over every round, and its ratio to the heartbeat's figure of the same
run: how many heartbeats one such call costs the engine.

The client is raw `http.client` with prebuilt bodies, so that it takes little of the machine
from the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine_scale import RawSWF, cpu_seconds

from swfbench.activity import ACTIVITY_TYPE, WORKFLOW_TYPE, ActivityTimeouts
from swfbench.embedded import EmbeddedServer

DOMAIN = "swfbench"
# The shipped `steady` profile's timeouts (scenarios/load/steady.yaml).
TIMEOUTS = ActivityTimeouts(heartbeat=10, start_to_close=300)


@dataclass
class Task:
    """One execution taken through the lifecycle, as the load generator's worker does."""

    workflow_id: str
    decisions: str
    activities: str
    run_id: str = ""
    decision_token: str = ""
    activity_token: str = ""


@dataclass
class Figure:
    calls: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.calls * 1e6 if self.calls else float("nan")


@dataclass
class Phase:
    operation: str
    call: Callable[[RawSWF, Task], None]
    share: Callable[[int, int], bool] = field(default=lambda index, count: True)
    """Which tasks (by index among `count`) go through this phase."""
    repeat: int = 1


def register(swf: RawSWF) -> None:
    """The domain and types, registered as `swfbench.activity.bootstrap` does."""
    swf.call("RegisterDomain", name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
    swf.call(
        "RegisterWorkflowType",
        domain=DOMAIN,
        **WORKFLOW_TYPE,
        defaultChildPolicy="TERMINATE",
        defaultTaskStartToCloseTimeout="60",
        defaultExecutionStartToCloseTimeout="3600",
    )
    swf.call("RegisterActivityType", domain=DOMAIN, **ACTIVITY_TYPE)


def _ok(swf: RawSWF, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    status, data = swf.send(operation, json.dumps(params).encode())
    if status != 200:
        raise RuntimeError(f"{operation}: HTTP {status} {data[:300]!r}")
    result: dict[str, Any] = json.loads(data) if data else {}
    return result


def start(swf: RawSWF, task: Task) -> None:
    answer = _ok(
        swf,
        "StartWorkflowExecution",
        {
            "domain": DOMAIN,
            "workflowId": task.workflow_id,
            "workflowType": WORKFLOW_TYPE,
            "taskList": {"name": task.decisions},
            "executionStartToCloseTimeout": "3600",
            "taskStartToCloseTimeout": "60",
            "childPolicy": "TERMINATE",
        },
    )
    task.run_id = answer["runId"]


def poll_decision(swf: RawSWF, task: Task) -> None:
    answer = _ok(
        swf,
        "PollForDecisionTask",
        {"domain": DOMAIN, "taskList": {"name": task.decisions}, "maximumPageSize": 1},
    )
    task.decision_token = answer["taskToken"]


def decide(swf: RawSWF, task: Task) -> None:
    attributes = {
        "activityType": ACTIVITY_TYPE,
        "activityId": f"activity-{uuid.uuid4().hex}",
        "taskList": {"name": task.activities},
        **TIMEOUTS.decision_attributes(),
    }
    _ok(
        swf,
        "RespondDecisionTaskCompleted",
        {
            "taskToken": task.decision_token,
            "decisions": [
                {
                    "decisionType": "ScheduleActivityTask",
                    "scheduleActivityTaskDecisionAttributes": attributes,
                }
            ],
        },
    )


def poll_activity(swf: RawSWF, task: Task) -> None:
    answer = _ok(
        swf, "PollForActivityTask", {"domain": DOMAIN, "taskList": {"name": task.activities}}
    )
    task.activity_token = answer["taskToken"]


def heartbeat(swf: RawSWF, task: Task) -> None:
    _ok(swf, "RecordActivityTaskHeartbeat", {"taskToken": task.activity_token, "details": "42.0%"})


def complete(swf: RawSWF, task: Task) -> None:
    _ok(swf, "RespondActivityTaskCompleted", {"taskToken": task.activity_token})


def fail(swf: RawSWF, task: Task) -> None:
    _ok(
        swf,
        "RespondActivityTaskFailed",
        {"taskToken": task.activity_token, "reason": "swfbench", "details": "planned"},
    )


def canceled(swf: RawSWF, task: Task) -> None:
    _ok(swf, "RespondActivityTaskCanceled", {"taskToken": task.activity_token})


def terminate(swf: RawSWF, task: Task) -> None:
    _ok(
        swf,
        "TerminateWorkflowExecution",
        {
            "domain": DOMAIN,
            "workflowId": task.workflow_id,
            "runId": task.run_id,
            "reason": "swfbench clean-up",
        },
    )


def _third(which: int) -> Callable[[int, int], bool]:
    return lambda index, count: index % 3 == which


PHASES = [
    Phase("StartWorkflowExecution", start),
    Phase("PollForDecisionTask", poll_decision),
    Phase("RespondDecisionTaskCompleted", decide),
    Phase("PollForActivityTask", poll_activity),
    Phase("RecordActivityTaskHeartbeat", heartbeat),
    Phase("RespondActivityTaskCompleted", complete, _third(0)),
    Phase("RespondActivityTaskFailed", fail, _third(1)),
    Phase("RespondActivityTaskCanceled", canceled, _third(2)),
    Phase("TerminateWorkflowExecution", terminate),
]
HEARTBEAT = "RecordActivityTaskHeartbeat"


def run_phase(
    port: int, connections: list[RawSWF], tasks: list[Task], phase: Phase, repeat: int
) -> int:
    """Run `phase` for the chosen tasks, split across the connections; return the calls."""
    chosen = [t for i, t in enumerate(tasks) if phase.share(i, len(tasks))]
    errors: list[BaseException] = []

    def worker(swf: RawSWF, mine: list[Task]) -> None:
        try:
            for _ in range(repeat):
                for task in mine:
                    phase.call(swf, task)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    count = len(connections)
    threads = [
        threading.Thread(target=worker, args=(swf, chosen[i::count]))
        for i, swf in enumerate(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return len(chosen) * repeat


def measure(server: EmbeddedServer, args: argparse.Namespace, figures: dict[str, Figure]) -> None:
    assert server.process is not None
    pid = server.process.pid
    connections = [RawSWF(server.port) for _ in range(args.threads)]
    for round_no in range(args.rounds):
        prefix = uuid.uuid4().hex[:8]
        tasks = [
            Task(
                workflow_id=f"swfbench-wf-{prefix}-{n}",
                decisions=f"swfbench-decisions-{prefix}-{n}",
                activities=f"swfbench-activities-{prefix}-{n}",
            )
            for n in range(args.executions)
        ]
        for phase in PHASES:
            repeat = args.beats if phase.operation == HEARTBEAT else 1
            cpu_before = cpu_seconds(pid)
            began = time.perf_counter()
            calls = run_phase(server.port, connections, tasks, phase, repeat)
            wall = time.perf_counter() - began
            cpu_after = cpu_seconds(pid)
            if cpu_before is None or cpu_after is None:
                raise SystemExit("engine_flow: needs Linux /proc to read the engine's CPU time")
            figure = figures.setdefault(phase.operation, Figure())
            figure.calls += calls
            figure.cpu_s += cpu_after - cpu_before
            figure.wall_s += wall
        print(f"  round {round_no + 1}/{args.rounds}: {args.executions:,} tasks", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=2000, help="tasks per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="client connections")
    parser.add_argument("--beats", type=int, default=6, help="heartbeats per task")
    parser.add_argument(
        "--engine-args", default="", help="extra flags for the engine, e.g. '--quotas aws'"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(
        f"engine_flow: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, load average {load[0]:.2f}; {args.rounds} rounds of "
        f"{args.executions:,} tasks from {args.threads} connections",
        flush=True,
    )
    figures: dict[str, Figure] = {}
    extra = tuple(shlex.split(args.engine_args))
    with EmbeddedServer(engine="swfbench", extra_args=extra) as server:
        register(RawSWF(server.port))
        measure(server, args, figures)
    beat = figures[HEARTBEAT].cpu_us
    print()
    print("| operation | calls | server CPU per call | in heartbeats | calls/s |")
    print("|---|---|---|---|---|")
    for operation, figure in figures.items():
        rate = figure.calls / figure.wall_s if figure.wall_s else 0.0
        print(
            f"| {operation} | {figure.calls:,} | {figure.cpu_us:,.0f} µs | "
            f"{figure.cpu_us / beat:.1f} | {rate:,.0f} |"
        )
    lifecycle = sum(f.cpu_s / (args.executions * args.rounds) for f in figures.values())
    print()
    print(
        f"One task's whole lifecycle ({args.beats} heartbeats): {lifecycle * 1e6:,.0f} µs of "
        f"server CPU, {lifecycle * 1e6 / beat:.1f} heartbeats"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
