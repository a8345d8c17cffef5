from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from swfbench.activity import ActivityTimeouts, bootstrap, start_activity
from swfbench.client import SWFClient
from swfbench.errors import SWFError


def event_types(history: list[dict[str, object]]) -> list[object]:
    return [event["eventType"] for event in history]


def test_bootstrap_is_idempotent(client: SWFClient) -> None:
    bootstrap(client)
    bootstrap(client)
    domains = client.call("ListDomains", registrationStatus="REGISTERED")["domainInfos"]
    assert [d["name"] for d in domains].count("swfbench") == 1


def test_started_activity_heartbeats_and_completes(client: SWFClient) -> None:
    handle = start_activity(client, timeouts=ActivityTimeouts(heartbeat=30, start_to_close=60))
    assert handle.task_token
    assert handle.started_event_id is not None
    assert handle.heartbeat("50%") == {"cancelRequested": False}
    handle.complete("ok")
    history = handle.history()
    assert event_types(history)[:7] == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
        "DecisionTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
    ]
    by_id = {event["eventId"]: event for event in history}
    assert by_id[handle.scheduled_event_id]["eventType"] == "ActivityTaskScheduled"
    scheduled = by_id[handle.scheduled_event_id]["activityTaskScheduledEventAttributes"]
    assert scheduled["activityId"] == handle.activity_id
    assert scheduled["heartbeatTimeout"] == "30"
    assert scheduled["startToCloseTimeout"] == "60"
    assert by_id[handle.started_event_id]["eventType"] == "ActivityTaskStarted"
    handle.close()


def test_heartbeats_add_no_history_events(client: SWFClient) -> None:
    handle = start_activity(client)
    before = handle.history()
    for step in range(5):
        handle.heartbeat(f"step {step}")
    assert handle.history() == before
    handle.close()


def test_scheduled_only_then_polled(client: SWFClient) -> None:
    handle = start_activity(client, start=False)
    assert handle.task_token is None
    with pytest.raises(RuntimeError, match="poll"):
        handle.heartbeat()
    handle.poll()
    assert handle.heartbeat() == {"cancelRequested": False}
    handle.close()


def test_fail_then_heartbeat_is_refused(client: SWFClient) -> None:
    handle = start_activity(client)
    handle.fail("broken", "details")
    assert "ActivityTaskFailed" in event_types(handle.history())
    with pytest.raises(SWFError):
        handle.heartbeat()
    handle.close()


def test_close_is_idempotent(client: SWFClient) -> None:
    handle = start_activity(client)
    assert handle.close() is True
    assert handle.close() is False
    assert event_types(handle.history())[-1] == "WorkflowExecutionTerminated"


def test_parallel_handles_never_share_tasks(client: SWFClient) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        handles = list(pool.map(lambda _: start_activity(client), range(8)))
    assert len({h.task_token for h in handles}) == 8
    assert len({h.activity_task_list for h in handles}) == 8
    for handle in handles:
        started = [e for e in handle.history() if e["eventType"] == "ActivityTaskStarted"]
        assert len(started) == 1
        handle.close()


def test_request_cancel_surfaces_plain_motos_answer(client: SWFClient) -> None:
    # Plain moto 5.2 does not implement the RequestCancelActivityTask decision: its server
    # fails the RespondDecisionTaskCompleted call (fact sheet, "Known gaps in moto").
    handle = start_activity(client)
    with pytest.raises(SWFError) as error:
        handle.request_cancel()
    assert error.value.operation == "RespondDecisionTaskCompleted"
    assert error.value.http_status == 500
    assert error.value.code == "HTTP500"
    handle.close()
