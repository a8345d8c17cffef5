"""Faults: closed tasks and executions, validation, content type (fact sheet, "The call")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import DOMAIN, Engine, Flow, cancel_activity, launch, stop

UNKNOWN_RESOURCE = "com.amazonaws.swf.base.model#UnknownResourceFault"
VALIDATION = "com.amazon.coral.validate#ValidationException"
JSON_10 = "application/x-amz-json-1.0"


@pytest.fixture(scope="module")
def refusing_engine() -> Iterator[Engine]:
    """One engine for the requests it refuses: they change no state."""
    started = launch()
    yield started
    stop(started)


def _complete(swf: Any, token: str) -> None:
    swf.respond_activity_task_completed(taskToken=token, result="ok")


def _fail(swf: Any, token: str) -> None:
    swf.respond_activity_task_failed(taskToken=token, reason="broken")


def _cancel(swf: Any, token: str) -> None:
    swf.respond_activity_task_canceled(taskToken=token)


@pytest.mark.parametrize(
    "close", [_complete, _fail, _cancel], ids=["completed", "failed", "canceled"]
)
@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("RecordActivityTaskHeartbeat", {"details": "late"}),
        ("RespondActivityTaskCompleted", {"result": "late"}),
        ("RespondActivityTaskFailed", {"reason": "late"}),
        ("RespondActivityTaskCanceled", {}),
    ],
)
def test_token_of_a_closed_task_is_unknown(
    virtual_engine: Engine,
    close: Callable[[Any, str], None],
    operation: str,
    params: dict[str, str],
) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    close(swf, token)

    response = virtual_engine.swf_raw(operation, {"taskToken": token, **params})

    scheduled = flow.events("ActivityTaskScheduled")[-1]["eventId"]
    assert response.status == 400
    assert response.headers["content-type"] == JSON_10
    assert response.json() == {
        "__type": UNKNOWN_RESOURCE,
        "message": f"Unknown activity, scheduledEventId = {scheduled}",
    }


def test_token_of_a_timed_out_task_is_unknown(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="5")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    virtual_engine.advance(6)

    response = virtual_engine.swf_raw("RespondActivityTaskCompleted", {"taskToken": token})

    assert response.status == 400
    assert response.json()["message"].startswith("Unknown activity, scheduledEventId = ")


def test_token_of_a_closed_execution_names_the_execution(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    swf.terminate_workflow_execution(domain=DOMAIN, workflowId=flow.workflow_id)

    response = engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": token})

    assert response.status == 400
    assert response.json() == {
        "__type": UNKNOWN_RESOURCE,
        "message": f"Unknown execution: WorkflowExecution=[workflowId={flow.workflow_id}, "
        f"runId={flow.run_id}]",
    }


def test_garbage_token_keeps_motos_answer(refusing_engine: Engine) -> None:
    # Real SWF's answer is unknown (fact sheet, "Garbage token"); the engine answers as moto.
    response = refusing_engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": "x" * 100})
    assert response.status == 400
    assert response.json() == {"__type": VALIDATION, "message": "Invalid token"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"taskToken": "t", "details": "d" * 2049},
            f"1 validation error detected: Value '{'d' * 2049}' at 'details' failed to satisfy "
            "constraint: Member must have length less than or equal to 2048",
        ),
        (
            {"taskToken": "t" * 1025},
            f"1 validation error detected: Value '{'t' * 1025}' at 'taskToken' failed to "
            "satisfy constraint: Member must have length less than or equal to 1024",
        ),
        (
            {"taskToken": ""},
            "1 validation error detected: Value '' at 'taskToken' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        ),
        (
            {"details": "d"},
            "1 validation error detected: Value null at 'taskToken' failed to satisfy "
            "constraint: Member must not be null",
        ),
        (
            # Coral lists a structure's problems last member first.
            {"taskToken": "t" * 1025, "details": "d" * 3000},
            f"2 validation errors detected: Value '{'d' * 3000}' at 'details' failed to satisfy "
            "constraint: Member must have length less than or equal to 2048; "
            f"Value '{'t' * 1025}' at 'taskToken' failed to satisfy constraint: "
            "Member must have length less than or equal to 1024",
        ),
    ],
    ids=["details-2049", "token-1025", "token-empty", "token-missing", "both"],
)
def test_lengths_are_validated_server_side(
    refusing_engine: Engine, params: dict[str, str], message: str
) -> None:
    response = refusing_engine.swf_raw("RecordActivityTaskHeartbeat", params)
    assert response.status == 400
    assert response.headers["content-type"] == JSON_10
    assert response.json() == {"__type": VALIDATION, "message": message}


def test_oversized_details_reach_no_history(virtual_engine: Engine) -> None:
    swf = virtual_engine.client(validate=False)
    Flow.register(swf, heartbeat="5")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    swf.record_activity_task_heartbeat(taskToken=token, details="ok")
    with pytest.raises(ClientError) as caught:
        swf.record_activity_task_heartbeat(taskToken=token, details="d" * 3000)
    assert caught.value.response["Error"]["Code"] == "ValidationException"

    virtual_engine.advance(10)

    assert flow.attributes("ActivityTaskTimedOut")["details"] == "ok"


def test_heartbeat_at_the_limits_is_accepted(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    response = engine.swf_raw(
        "RecordActivityTaskHeartbeat", {"taskToken": token, "details": "d" * 2048}
    )
    assert response.status == 200
    assert response.json() == {"cancelRequested": False}


def test_signal_without_input(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()

    swf.signal_workflow_execution(domain=DOMAIN, workflowId=flow.workflow_id, signalName="go")

    attributes = flow.attributes("WorkflowExecutionSignaled")
    assert attributes == {"signalName": "go"}


def test_every_json_answer_has_the_aws_content_type(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    answers = [
        engine.swf_raw("ListDomains", {"registrationStatus": "REGISTERED"}),
        engine.swf_raw(
            "GetWorkflowExecutionHistory", {"domain": DOMAIN, "execution": flow.execution}
        ),
        engine.swf_raw("DescribeDomain", {"name": "missing"}),
        engine.swf_raw("NoSuchOperation", {}),
        engine.raw("POST", "/", b"not json", {"X-Amz-Target": "SimpleWorkflowService.ListDomains"}),
    ]
    assert [a.status for a in answers] == [200, 200, 400, 400, 400]
    assert {a.headers["content-type"] for a in answers} == {JSON_10}


def test_decision_task_token_reuse_is_unknown_not_500(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    task = flow.poll_decision()
    swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[])

    response = engine.swf_raw("RespondDecisionTaskCompleted", {"taskToken": task["taskToken"]})

    assert response.status == 400
    assert response.json()["__type"] == UNKNOWN_RESOURCE


def test_unimplemented_decision_is_refused_whole(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    task = flow.poll_decision()

    response = engine.swf_raw(
        "RespondDecisionTaskCompleted",
        {
            "taskToken": task["taskToken"],
            "decisions": [
                cancel_activity("x"),
                {
                    "decisionType": "ContinueAsNewWorkflowExecution",
                    "continueAsNewWorkflowExecutionDecisionAttributes": {},
                },
            ],
        },
    )

    assert response.status == 400
    assert response.json()["__type"] == VALIDATION
    assert not flow.events("RequestCancelActivityTaskFailed")
