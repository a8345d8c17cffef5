"""Requests SWF's model refuses answer HTTP 400, never 500: SerializationException for a
member of the wrong JSON type, ValidationException for a value outside the model's constraints
(fact sheet, "Polls, events and the wire"); unknown targets answer UnknownOperationException."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from swfbench.engine.clock import RealClock
from swfbench.engine.responses import EngineResponse
from swfbench.engine.server import EngineHTTPServer, create_server

from .helpers import (
    ACTIVITIES,
    DECISIONS,
    DOMAIN,
    WORKFLOW,
    Engine,
    Flow,
    RawResponse,
    launch,
    stop,
)

SERIALIZATION = "com.amazon.coral.service#SerializationException"
VALIDATION = "com.amazon.coral.validate#ValidationException"
UNKNOWN_OPERATION = "com.amazon.coral.service#UnknownOperationException"
JSON_10 = "application/x-amz-json-1.0"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """One engine for the module, its domain and types registered: every request here but the
    last test's is refused, so none changes state another test reads."""
    started = launch()
    Flow.register(started.client())
    yield started
    stop(started)


def _refused(response: RawResponse, error_type: str) -> dict[str, Any]:
    assert response.status == 400, response.body
    assert response.headers["content-type"] == JSON_10
    body: dict[str, Any] = response.json()
    assert body["__type"] == error_type
    return body


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "StartWorkflowExecution",
            {"domain": DOMAIN, "workflowId": 7, "workflowType": WORKFLOW},
            "NUMBER_VALUE cannot be converted to String",
        ),
        (
            "StartWorkflowExecution",
            {"domain": DOMAIN, "workflowId": "w", "workflowType": "wf"},
            "Unexpected field type",
        ),
        (
            "StartWorkflowExecution",
            {"domain": DOMAIN, "workflowId": "w", "workflowType": WORKFLOW, "tagList": "t"},
            "Unexpected field type",
        ),
        (
            "StartWorkflowExecution",
            {"domain": DOMAIN, "workflowId": "w", "workflowType": WORKFLOW, "input": {}},
            "Start of structure or map found where not expected",
        ),
        (
            "PollForActivityTask",
            {"domain": DOMAIN, "taskList": "activities"},
            "Unexpected field type",
        ),
        (
            "PollForActivityTask",
            {"domain": DOMAIN, "taskList": ["activities"]},
            "Unrecognized collection type class com.amazonaws.swf.base.model.TaskList",
        ),
        (
            "ListDomains",
            {"registrationStatus": "REGISTERED", "reverseOrder": "yes"},
            "Unexpected token received from parser",
        ),
        (
            "ListDomains",
            {"registrationStatus": "REGISTERED", "maximumPageSize": "10"},
            "STRING_VALUE cannot be converted to Integer",
        ),
    ],
    ids=[
        "number-for-string",
        "string-for-structure",
        "string-for-list",
        "object-for-string",
        "poll-string-task-list",
        "poll-list-task-list",
        "string-for-boolean",
        "string-for-integer",
    ],
)
def test_mistyped_members_are_serialization_errors(
    engine: Engine, operation: str, params: dict[str, Any], message: str
) -> None:
    body = _refused(engine.swf_raw(operation, params), SERIALIZATION)
    # coral's own words, never moto's "not a real SWF exception".
    assert body == {"__type": SERIALIZATION, "message": message}


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[" * 100_000 + b"]" * 100_000, b'{"domain": ' * 100_000],
    ids=["not-json", "100k-deep-list", "100k-deep-object"],
)
def test_unparsable_bodies_are_serialization_errors(engine: Engine, payload: bytes) -> None:
    response = engine.raw(
        "POST", "/", payload, {"X-Amz-Target": "SimpleWorkflowService.StartWorkflowExecution"}
    )
    assert _refused(response, SERIALIZATION) == {"__type": SERIALIZATION}
    assert engine.raw("GET", "/").status == 200  # and the engine still serves


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"name": "d" * 100_000, "workflowExecutionRetentionPeriodInDays": "1"},
            "at 'name' failed to satisfy constraint: Member must have length less than or "
            "equal to 256",
        ),
        (
            {"name": "bad:domain/with*chars", "workflowExecutionRetentionPeriodInDays": "1"},
            "Value 'bad:domain/with*chars' at 'name' failed to satisfy constraint: Member must "
            "not contain a : (colon), / (slash), | (vertical bar) or control characters",
        ),
        (
            {"name": "arn", "workflowExecutionRetentionPeriodInDays": "1"},
            "Value 'arn' at 'name' failed to satisfy constraint",
        ),
        (
            {"name": " padded", "workflowExecutionRetentionPeriodInDays": "1"},
            "Member must not start or end with whitespace",
        ),
        (
            {"name": "good", "workflowExecutionRetentionPeriodInDays": "abc"},
            "Value 'abc' at 'workflowExecutionRetentionPeriodInDays' failed to satisfy "
            "constraint: Member must be a whole number of at most 90 or the string NONE",
        ),
        (
            {"name": "good", "workflowExecutionRetentionPeriodInDays": "91"},
            "Value '91' at 'workflowExecutionRetentionPeriodInDays'",
        ),
    ],
    ids=["name-100k", "name-chars", "name-arn", "name-whitespace", "retention-abc", "retention-91"],
)
def test_names_and_values_swf_rejects_are_refused(
    engine: Engine, params: dict[str, str], problem: str
) -> None:
    body = _refused(engine.swf_raw("RegisterDomain", params), VALIDATION)
    assert body["message"].startswith("1 validation error detected: ")
    assert problem in body["message"]
    listed = engine.swf_raw("ListDomains", {"registrationStatus": "REGISTERED"}).json()
    assert [domain["name"] for domain in listed["domainInfos"]] == [DOMAIN]  # none added


def test_bad_timeouts_and_enums_are_refused(engine: Engine) -> None:
    body = _refused(
        engine.swf_raw(
            "StartWorkflowExecution",
            {
                "domain": DOMAIN,
                "workflowId": "w",
                "workflowType": WORKFLOW,
                "executionStartToCloseTimeout": "soon",
                "childPolicy": "KEEP",
            },
        ),
        VALIDATION,
    )
    # Both problems in one answer, the last member's first, as coral lists them.
    assert body["message"].startswith("2 validation errors detected: Value 'KEEP' at 'childPolicy'")
    assert (
        "Member must satisfy enum value set: [TERMINATE, REQUEST_CANCEL, ABANDON]"
        in (body["message"])
    )
    assert "Value 'soon' at 'executionStartToCloseTimeout'" in body["message"]


def test_nested_required_members_name_their_path(engine: Engine) -> None:
    body = _refused(
        engine.swf_raw("DescribeWorkflowExecution", {"domain": DOMAIN, "execution": {}}),
        VALIDATION,
    )
    assert body["message"] == (
        "2 validation errors detected: Value null at 'execution.runId' failed to satisfy "
        "constraint: Member must not be null; Value null at 'execution.workflowId' failed to "
        "satisfy constraint: Member must not be null"
    )
    body = _refused(
        engine.swf_raw(
            "RespondDecisionTaskCompleted",
            {"taskToken": "t", "decisions": [{"decisionType": "ScheduleActivityTask"}, {}]},
        ),
        VALIDATION,
    )
    assert "Value null at 'decisions.2.member.decisionType'" in body["message"]


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("SimpleWorkflowService.NoSuchOperation", "/"),
        ("RecordActivityTaskHeartbeat", "/"),
        ("DynamoDB_20120810.ListTables", "/"),
        (None, "/"),
    ],
    ids=["unknown-operation", "no-prefix", "other-service", "no-target"],
)
def test_unknown_targets_are_unknown_operations(
    engine: Engine, target: str | None, path: str
) -> None:
    headers = {"Content-Type": JSON_10}
    if target is not None:
        headers["X-Amz-Target"] = target
    response = engine.raw("POST", path, {"taskToken": "t"}, headers)
    assert _refused(response, UNKNOWN_OPERATION) == {"__type": UNKNOWN_OPERATION}


def test_every_model_operation_is_served(engine: Engine) -> None:
    # No operation of the model answers UnknownOperationException.
    from swfbench import swf_model

    for operation in swf_model.operation_names():
        response = engine.swf_raw(operation, {})
        assert response.json()["__type"] != UNKNOWN_OPERATION, operation


@pytest.fixture
def in_process_engine() -> Iterator[EngineHTTPServer]:
    server = create_server("127.0.0.1", 0, clock=RealClock())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_engine_bug_is_an_internal_failure_with_a_log_line(
    in_process_engine: EngineHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # A KeyError inside the engine is the engine's bug, not the caller's missing member.
    def broken(self: EngineResponse) -> str:
        raise KeyError("registrationStatus")

    monkeypatch.setattr(EngineResponse, "list_domains", broken)
    conn = http.client.HTTPConnection("127.0.0.1", in_process_engine.server_address[1], timeout=10)
    conn.request(
        "POST",
        "/",
        body=json.dumps({"registrationStatus": "REGISTERED"}),
        headers={"X-Amz-Target": "SimpleWorkflowService.ListDomains"},
    )
    response = conn.getresponse()
    assert response.status == 500
    assert json.loads(response.read()) == {"__type": "com.amazon.coral.service#InternalFailure"}
    conn.close()
    assert "swfbench engine: ListDomains failed: KeyError('registrationStatus')" in (
        capfd.readouterr().err
    )


def test_count_pending_counts_only_tasks_not_yet_started(
    start_engine: Callable[..., Engine],
) -> None:
    swf = start_engine().client()
    Flow.register(swf)

    def pending(kind: str, task_list: str) -> int:
        method = getattr(swf, f"count_pending_{kind}_tasks")
        count: int = method(domain=DOMAIN, taskList={"name": task_list})["count"]
        return count

    flow = Flow(swf).start()
    assert pending("decision", DECISIONS) == 1
    flow.poll_decision()
    assert pending("decision", DECISIONS) == 0  # taken by a decider: not in the list
    flow = Flow(swf, "wf-2").start()
    flow.schedule("a1", "a2", "a3")
    assert pending("activity", ACTIVITIES) == 3
    flow.poll_activity()
    assert pending("activity", ACTIVITIES) == 2
