"""The wire check: real answers of the engine and of plain moto, read against botocore's model."""

from __future__ import annotations

import json

import pytest

from swfbench.activity import ActivityTimeouts, bootstrap, start_activity
from swfbench.client import Exchange, SWFClient
from swfbench.conformance import wire
from swfbench.embedded import EmbeddedServer
from swfbench.errors import SWFError
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

JSON_10 = "application/x-amz-json-1.0"


def _client(server: EmbeddedServer, exchanges: list[Exchange]) -> SWFClient:
    target = Target(
        kind="endpoint",
        endpoint_url=server.url,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )
    return SWFClient(target, exchanges=exchanges.append)


def _flow(swf: SWFClient) -> None:
    """Every kind of answer a scenario sees: a started task, heartbeats, a result, a fault."""
    bootstrap(swf, "wire-check")
    handle = start_activity(swf, domain="wire-check", timeouts=ActivityTimeouts(heartbeat=30))
    handle.heartbeat("half")
    handle.complete("done")
    with pytest.raises(SWFError):
        handle.heartbeat("late")
    handle.history()
    swf.call("PollForActivityTask", domain="wire-check", taskList={"name": "empty"})
    swf.call("DescribeWorkflowExecution", domain="wire-check", execution=handle.execution)
    swf.call("ListDomains", registrationStatus="REGISTERED")


def test_the_engine_keeps_the_wire_contract(engine_server: EmbeddedServer) -> None:
    exchanges: list[Exchange] = []
    _flow(_client(engine_server, exchanges))
    assert len(exchanges) >= 10
    assert wire.check_all(exchanges) == []


def test_plain_moto_answers_text_html(moto_server: EmbeddedServer) -> None:
    exchanges: list[Exchange] = []
    _flow(_client(moto_server, exchanges))
    findings = wire.check_all(exchanges)
    assert {f.rule for f in findings} == {"content-type"}
    heartbeat = next(f for f in findings if f.operation == "RecordActivityTaskHeartbeat")
    assert heartbeat.count >= 1
    assert "text/html" in heartbeat.message


def test_an_error_the_operation_does_not_declare(moto_server: EmbeddedServer) -> None:
    # moto refuses visibility calls on a deprecated domain with DomainDeprecatedFault, which the
    # model does not declare for them (the API reference allows them).
    exchanges: list[Exchange] = []
    swf = _client(moto_server, exchanges)
    bootstrap(swf, "wire-deprecated")
    swf.call("DeprecateDomain", name="wire-deprecated")
    with pytest.raises(SWFError):
        swf.call(
            "ListOpenWorkflowExecutions",
            domain="wire-deprecated",
            startTimeFilter={"oldestDate": 0},
        )
    (finding,) = [f for f in wire.check_all(exchanges) if f.rule == "undeclared-error"]
    assert finding.operation == "ListOpenWorkflowExecutions"
    assert finding.path == "$.__type"
    assert "DomainDeprecatedFault" in finding.message


def _answer(operation: str, body: object, status: int = 200) -> Exchange:
    return Exchange(operation, status, JSON_10, json.dumps(body).encode())


def test_a_missing_required_member_is_found_with_its_path() -> None:
    # What the engine answered before startedEventId was set for never-started tasks.
    event = {
        "eventId": 7,
        "eventType": "ActivityTaskTimedOut",
        "eventTimestamp": 1.5,
        "activityTaskTimedOutEventAttributes": {
            "timeoutType": "SCHEDULE_TO_START",
            "scheduledEventId": 5,
        },
    }
    history = _answer("GetWorkflowExecutionHistory", {"events": [event, event]})
    (finding,) = wire.check_all([history])
    assert finding.to_dict() == {
        "operation": "GetWorkflowExecutionHistory",
        "rule": "missing",
        "path": "$.events[*].activityTaskTimedOutEventAttributes.startedEventId",
        "message": "required member absent",
        "count": 2,
    }


def test_types_enums_and_lengths() -> None:
    body = {"cancelRequested": "no"}
    assert [f.rule for f in wire.check(_answer("RecordActivityTaskHeartbeat", body))] == ["type"]
    infos = {
        "executionInfos": [
            {
                "execution": {"workflowId": "w", "runId": "r"},
                "workflowType": {"name": "n", "version": "v"},
                "startTimestamp": 1,
                "executionStatus": "RUNNING",
                "cancelRequested": False,
                "tagList": ["t"] * 6,
            }
        ]
    }
    found = wire.check(_answer("ListOpenWorkflowExecutions", infos))
    assert {(f.rule, f.path) for f in found} == {
        ("enum", "$.executionInfos[*].executionStatus"),
        ("length", "$.executionInfos[*].tagList"),
    }


def test_empty_polls_answer_what_swf_answers_not_the_model() -> None:
    empty_decision = {"previousStartedEventId": 0, "startedEventId": 0}
    assert wire.check(_answer("PollForDecisionTask", empty_decision)) == []
    assert wire.check(_answer("PollForActivityTask", {"startedEventId": 0})) == []
    (finding,) = wire.check(_answer("PollForDecisionTask", {"startedEventId": 0}))
    assert finding.rule == "empty-poll"
    assert '{"previousStartedEventId": 0, "startedEventId": 0}' in finding.message
    for exception in wire.MODEL_EXCEPTIONS:
        assert exception.grade in ("documented", "observed", "inferred")
        assert exception.evidence.startswith("fact sheet")


def test_faults_need_an_aws_body_and_a_client_fault_is_400() -> None:
    html = Exchange("RecordActivityTaskHeartbeat", 500, "text/html", b"<html>500</html>")
    assert {f.rule for f in wire.check(html)} == {"content-type", "error-body", "status"}
    late = _answer(
        "RecordActivityTaskHeartbeat",
        {"__type": "com.amazonaws.swf.base.model#UnknownResourceFault", "message": "x"},
        status=500,
    )
    (finding,) = wire.check(late)
    assert (finding.rule, finding.message) == (
        "status",
        "UnknownResourceFault answered with HTTP 500, not 400",
    )
    throttled = _answer(
        "RecordActivityTaskHeartbeat",
        {"__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate exceeded"},
        status=400,
    )
    assert wire.check(throttled) == []
