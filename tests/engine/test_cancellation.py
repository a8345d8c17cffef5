"""Activity and workflow cancellation (fact sheet, "Cancellation")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import ACTIVITIES, DOMAIN, Engine, Flow, cancel_activity


def test_started_task_sees_cancel_request_in_heartbeats(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    assert swf.record_activity_task_heartbeat(taskToken=token)["cancelRequested"] is False

    flow.signal()
    flow.decide(cancel_activity("a1"))

    requested = flow.attributes("ActivityTaskCancelRequested")
    completed_id = flow.events("DecisionTaskCompleted")[-1]["eventId"]
    assert requested == {"activityId": "a1", "decisionTaskCompletedEventId": completed_id}
    # From then on, every heartbeat says so.
    for _ in range(2):
        assert swf.record_activity_task_heartbeat(taskToken=token)["cancelRequested"] is True


def test_respond_activity_task_canceled_records_the_event(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    flow.signal()
    flow.decide(cancel_activity("a1"))
    request_id = flow.events("ActivityTaskCancelRequested")[-1]["eventId"]

    swf.respond_activity_task_canceled(taskToken=token, details="stopped at 40%")

    history = flow.history()
    canceled = flow.attributes("ActivityTaskCanceled")
    assert canceled == {
        "details": "stopped at 40%",
        "scheduledEventId": flow.events("ActivityTaskScheduled")[-1]["eventId"],
        "startedEventId": flow.events("ActivityTaskStarted")[-1]["eventId"],
        "latestCancelRequestedEventId": request_id,
    }
    assert history[-1]["eventType"] == "DecisionTaskScheduled"
    assert flow.poll_decision().get("taskToken")
    with pytest.raises(ClientError) as caught:
        swf.record_activity_task_heartbeat(taskToken=token)
    assert caught.value.response["Error"]["Code"] == "UnknownResourceFault"


def test_scheduled_task_is_canceled_at_once(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.schedule("a1")
    assert (
        swf.count_pending_activity_tasks(domain=DOMAIN, taskList={"name": ACTIVITIES})["count"] == 1
    )

    flow.signal()
    flow.decide(cancel_activity("a1"))

    types = [e["eventType"] for e in flow.history()]
    assert types[-3:] == [
        "ActivityTaskCancelRequested",
        "ActivityTaskCanceled",
        "DecisionTaskScheduled",
    ]
    canceled = flow.attributes("ActivityTaskCanceled")
    assert canceled["scheduledEventId"] == flow.events("ActivityTaskScheduled")[-1]["eventId"]
    # Required by the model; 0 for a task that never started (fact sheet).
    assert canceled["startedEventId"] == 0
    assert (
        canceled["latestCancelRequestedEventId"]
        == (flow.events("ActivityTaskCancelRequested")[-1]["eventId"])
    )
    # It left the task list.
    assert (
        swf.count_pending_activity_tasks(domain=DOMAIN, taskList={"name": ACTIVITIES})["count"] == 0
    )
    assert not flow.poll_activity().get("taskToken")


def test_unknown_activity_id_fails_the_decision(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()

    flow.decide(cancel_activity("nope"))

    failed = flow.attributes("RequestCancelActivityTaskFailed")
    assert failed["activityId"] == "nope"
    assert failed["cause"] == "ACTIVITY_ID_UNKNOWN"
    assert (
        failed["decisionTaskCompletedEventId"]
        == (flow.events("DecisionTaskCompleted")[-1]["eventId"])
    )
    info = swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
    assert info["executionInfo"]["executionStatus"] == "OPEN"
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"


def test_request_cancel_workflow_execution_only_records_the_request(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")

    swf.request_cancel_workflow_execution(domain=DOMAIN, workflowId=flow.workflow_id)

    types = [e["eventType"] for e in flow.history()]
    assert types[-2:] == ["WorkflowExecutionCancelRequested", "DecisionTaskScheduled"]
    # Inferred (fact sheet): cancelling activities is up to the decider.
    assert swf.record_activity_task_heartbeat(taskToken=token)["cancelRequested"] is False
    info = swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
    assert info["executionInfo"]["executionStatus"] == "OPEN"
    assert info["executionInfo"]["cancelRequested"] is True


def test_worker_may_complete_despite_cancel_request(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    flow.signal()
    flow.decide(cancel_activity("a1"))

    swf.respond_activity_task_completed(taskToken=token, result="done anyway")

    assert flow.attributes("ActivityTaskCompleted")["result"] == "done anyway"
