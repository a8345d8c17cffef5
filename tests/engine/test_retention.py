"""Closed executions: kept for the domain's retention period and up to a cap, then forgotten."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from swfbench.engine.backend import EngineBackend
from swfbench.engine.clock import VirtualClock
from swfbench.engine.models import EngineDomain, EngineWorkflowExecution
from swfbench.engine.responses import EngineResponse

from .helpers import DOMAIN, WORKFLOW, Engine, Flow

UNKNOWN_RESOURCE = "com.amazonaws.swf.base.model#UnknownResourceFault"
VALIDATION = "com.amazon.coral.validate#ValidationException"
DAY = 86400


def _state(engine: Engine) -> dict[str, int]:
    state: dict[str, int] = engine.raw("GET", "/swfbench/engine").json()["state"]
    return state


def _terminate(swf: Any, flow: Flow) -> None:
    swf.terminate_workflow_execution(domain=DOMAIN, **flow.execution, reason="test")


def _describe(engine: Engine, flow: Flow, domain: str = DOMAIN) -> tuple[int, Any]:
    response = engine.swf_raw(
        "DescribeWorkflowExecution", {"domain": domain, "execution": flow.execution}
    )
    return response.status, response.json()


def test_cap_forgets_the_oldest_closed_executions_and_their_tokens(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine("--clock", "virtual", "--max-closed-executions", "2")
    swf = engine.client()
    Flow.register(swf)
    flows = [Flow(swf, f"wf-{n}").start() for n in range(4)]
    tokens = [flow.start_activity("a1") for flow in flows]
    for flow in flows:
        _terminate(swf, flow)
    assert _state(engine)["closed_executions"] == 2

    for flow in flows[:2]:
        status, body = _describe(engine, flow)
        assert status == 400
        assert body["__type"] == UNKNOWN_RESOURCE
    for flow in flows[2:]:
        status, body = _describe(engine, flow)
        assert status == 200
        assert body["executionInfo"]["executionStatus"] == "CLOSED"
    listed = swf.list_closed_workflow_executions(domain=DOMAIN, startTimeFilter={"oldestDate": 0})[
        "executionInfos"
    ]
    assert sorted(info["execution"]["workflowId"] for info in listed) == ["wf-2", "wf-3"]

    # The token of a forgotten execution's task: UnknownResourceFault, as SWF answers past
    # retention; a token the engine never issued is still a ValidationException.
    forgotten = engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": tokens[0]})
    assert forgotten.status == 400
    assert forgotten.json() == {
        "__type": UNKNOWN_RESOURCE,
        "message": "Unknown execution: closed and no longer retained",
    }
    garbage = engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": "x" * 48})
    assert garbage.json()["__type"] == VALIDATION
    kept = engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": tokens[3]})
    assert kept.json()["message"].startswith("Unknown execution: WorkflowExecution=")
    # Each kept execution holds the tokens of its decision task and its activity task; the
    # forgotten ones hold none.
    state = _state(engine)
    assert (state["open_executions"], state["closed_executions"]) == (0, 2)
    assert state["task_tokens"] == 4
    # A workflow id of a forgotten execution can be started again.
    Flow(swf, "wf-0").start()
    assert _state(engine)["open_executions"] == 1


def test_closed_execution_is_kept_for_the_retention_period_on_the_engine_clock(
    virtual_engine: Engine,
) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)  # retention 1 day
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    _terminate(swf, flow)

    virtual_engine.advance(DAY - 1)
    assert _describe(virtual_engine, flow)[0] == 200
    assert len(flow.history()) > 1
    virtual_engine.advance(2)
    status, body = _describe(virtual_engine, flow)
    assert status == 400
    assert body["__type"] == UNKNOWN_RESOURCE
    heartbeat = virtual_engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": token})
    assert heartbeat.json()["__type"] == UNKNOWN_RESOURCE
    assert _state(virtual_engine)["closed_executions"] == 0
    assert _state(virtual_engine)["task_tokens"] == 0


@pytest.mark.parametrize("retention", ["NONE", "0"])
def test_retention_none_forgets_an_execution_once_it_closes(
    virtual_engine: Engine, retention: str
) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    swf.register_domain(name="no-history", workflowExecutionRetentionPeriodInDays=retention)
    swf.register_workflow_type(
        domain="no-history",
        **WORKFLOW,
        defaultTaskList={"name": "d"},
        defaultExecutionStartToCloseTimeout="3600",
        defaultTaskStartToCloseTimeout="600",
        defaultChildPolicy="TERMINATE",
    )
    run_id = swf.start_workflow_execution(
        domain="no-history", workflowId="gone", workflowType=WORKFLOW
    )["runId"]
    execution = {"workflowId": "gone", "runId": run_id}
    swf.terminate_workflow_execution(domain="no-history", **execution)

    # No time passes: "as soon as the workflow execution completes, the execution record and its
    # history are deleted" (documented, botocore model, RegisterDomain).
    response = virtual_engine.swf_raw(
        "GetWorkflowExecutionHistory", {"domain": "no-history", "execution": execution}
    )
    assert response.status == 400
    assert response.json()["__type"] == UNKNOWN_RESOURCE


# --- in process: nothing else keeps a forgotten execution alive -----------------------------


class Calls:
    """SWF calls straight into an `EngineResponse`, as the server makes them."""

    def __init__(self, backend: EngineBackend) -> None:
        self.backend = backend
        self.responder = EngineResponse()

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        answer = self.responder.call(operation, json.dumps(params).encode(), self.backend)
        result: dict[str, Any] = json.loads(answer) if answer else {}
        return result


def _one_execution(call: Calls, n: int) -> str:
    """Start, decide, work (heartbeats) and close one execution; timeouts of a day stay pending.
    Returns its run id."""
    run_id: str = call(
        "StartWorkflowExecution",
        domain="d",
        workflowId=f"w{n}",
        workflowType=WORKFLOW,
        taskList={"name": f"dl{n}"},
    )["runId"]
    decision = call("PollForDecisionTask", domain="d", taskList={"name": f"dl{n}"})
    call(
        "RespondDecisionTaskCompleted",
        taskToken=decision["taskToken"],
        decisions=[
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityId": "a1",
                    "activityType": {"name": "a", "version": "1"},
                    "taskList": {"name": f"al{n}"},
                },
            }
        ],
    )
    task = call("PollForActivityTask", domain="d", taskList={"name": f"al{n}"})
    call("RecordActivityTaskHeartbeat", taskToken=task["taskToken"], details="50%")
    call("RespondActivityTaskCompleted", taskToken=task["taskToken"])
    decision = call("PollForDecisionTask", domain="d", taskList={"name": f"dl{n}"})
    call(
        "RespondDecisionTaskCompleted",
        taskToken=decision["taskToken"],
        decisions=[{"decisionType": "CompleteWorkflowExecution"}],
    )
    return run_id


def test_forgotten_executions_are_freed_and_the_deadline_heap_stays_bounded() -> None:
    clock = VirtualClock(start=1_000_000.0)
    backend = EngineBackend(clock=clock, max_closed_executions=5)
    call = Calls(backend)
    call("RegisterDomain", name="d", workflowExecutionRetentionPeriodInDays="90")
    call(
        "RegisterWorkflowType",
        domain="d",
        **WORKFLOW,
        defaultExecutionStartToCloseTimeout=str(DAY),
        defaultTaskStartToCloseTimeout=str(DAY),
        defaultChildPolicy="TERMINATE",
    )
    call(
        "RegisterActivityType",
        domain="d",
        name="a",
        version="1",
        defaultTaskHeartbeatTimeout=str(DAY),
        defaultTaskScheduleToStartTimeout=str(DAY),
        defaultTaskScheduleToCloseTimeout=str(DAY),
        defaultTaskStartToCloseTimeout=str(DAY),
    )
    domain = backend.domains[0]
    assert isinstance(domain, EngineDomain)
    executions: list[weakref.ref[EngineWorkflowExecution]] = []
    count = 2000
    for n in range(count):
        run_id = _one_execution(call, n)
        wfe = domain.get_workflow_execution(f"w{n}", run_id=run_id)
        assert isinstance(wfe, EngineWorkflowExecution)
        executions.append(weakref.ref(wfe))
        del wfe

    # Only the cap's five executions are still alive, although each forgotten one left deadlines
    # of a day and a retention of 90 days in the heap: no token index, task list, moto instance
    # registry or heap entry holds them.
    gc.collect()
    alive = [n for n, ref in enumerate(executions) if ref() is not None]
    assert alive == list(range(count - 5, count))
    state = backend.state()
    assert (state["open_executions"], state["closed_executions"]) == (0, 5)
    assert state["task_tokens"] == 15  # two decision tasks and one activity task each
    # Stale entries are compacted away: the heap holds a bounded number, not the six or so
    # deadlines pushed for every execution ever run.
    assert state["deadlines"] < count * 6 / 2
