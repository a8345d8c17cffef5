"""Activity timeouts: all four kinds, each stamped at its deadline (fact sheet, "The call")."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from .helpers import DOMAIN, Engine, Flow, epoch


def _timed_out(flow: Flow) -> dict[str, object]:
    return flow.attributes("ActivityTaskTimedOut")


def _timed_out_at(flow: Flow) -> float:
    return epoch(flow.events("ActivityTaskTimedOut")[-1])


def test_heartbeat_timeout_carries_last_details_at_deadline(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    virtual_engine.advance(4)
    swf.record_activity_task_heartbeat(taskToken=token, details="first")
    beat = virtual_engine.advance(5)
    swf.record_activity_task_heartbeat(taskToken=token, details="second")

    virtual_engine.advance(60)

    attributes = _timed_out(flow)
    assert attributes["timeoutType"] == "HEARTBEAT"
    assert attributes["details"] == "second"
    assert _timed_out_at(flow) == pytest.approx(beat + 10, abs=0.01)
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"
    with pytest.raises(ClientError) as caught:
        swf.record_activity_task_heartbeat(taskToken=token)
    error = caught.value.response["Error"]
    assert error["Code"] == "UnknownResourceFault"
    scheduled = flow.events("ActivityTaskScheduled")[-1]["eventId"]
    assert error["Message"] == f"Unknown activity, scheduledEventId = {scheduled}"


def test_start_to_close_fires_despite_heartbeats(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="10", start_to_close="30")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    started = epoch(flow.events("ActivityTaskStarted")[-1])
    for _ in range(3):
        virtual_engine.advance(8)
        swf.record_activity_task_heartbeat(taskToken=token, details="busy")
    virtual_engine.advance(8)

    attributes = _timed_out(flow)
    assert attributes["timeoutType"] == "START_TO_CLOSE"
    assert attributes["details"] == "busy"
    assert _timed_out_at(flow) == pytest.approx(started + 30, abs=0.01)


def test_schedule_to_start_fires_for_a_task_nobody_polls(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, schedule_to_start="20")
    flow = Flow(swf).start()
    flow.schedule("a1")
    scheduled = epoch(flow.events("ActivityTaskScheduled")[-1])

    virtual_engine.advance(25)

    attributes = _timed_out(flow)
    assert attributes["timeoutType"] == "SCHEDULE_TO_START"
    # Required by the model; 0 for a task that never started (fact sheet).
    assert attributes["startedEventId"] == 0
    assert _timed_out_at(flow) == pytest.approx(scheduled + 20, abs=0.01)
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"
    assert not flow.poll_activity().get("taskToken")


def test_schedule_to_close_covers_queue_and_work(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, schedule_to_close="30")
    flow = Flow(swf).start()
    flow.schedule("a1")
    scheduled = epoch(flow.events("ActivityTaskScheduled")[-1])
    virtual_engine.advance(20)
    token = flow.poll_activity()["taskToken"]
    swf.record_activity_task_heartbeat(taskToken=token, details="half")

    virtual_engine.advance(20)

    attributes = _timed_out(flow)
    assert attributes["timeoutType"] == "SCHEDULE_TO_CLOSE"
    assert attributes["details"] == "half"
    assert _timed_out_at(flow) == pytest.approx(scheduled + 30, abs=0.01)


def test_timeouts_fire_in_deadline_order_across_executions(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flows = [Flow(swf, f"wf-{i}").start() for i in range(3)]
    for i, flow in enumerate(flows):
        flow.start_activity("a1", heartbeatTimeout=str(30 - 10 * i))
    base = virtual_engine.now()

    virtual_engine.advance(100)

    stamps = [_timed_out_at(flow) - base for flow in flows]
    assert stamps == pytest.approx([30, 20, 10], abs=0.05)


def test_heartbeat_timeout_fires_on_the_real_clock_without_calls(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf, heartbeat="1")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    swf.record_activity_task_heartbeat(taskToken=token, details="last")
    beat = time.time()
    time.sleep(1.6)

    attributes = _timed_out(flow)
    assert attributes["timeoutType"] == "HEARTBEAT"
    assert attributes["details"] == "last"
    assert _timed_out_at(flow) == pytest.approx(beat + 1, abs=0.3)


def test_workflow_execution_timeout_closes_the_execution(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start(executionStartToCloseTimeout="100")
    token = flow.start_activity("a1")

    virtual_engine.advance(101)

    info = swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
    assert info["executionInfo"]["executionStatus"] == "CLOSED"
    assert info["executionInfo"]["closeStatus"] == "TIMED_OUT"
    with pytest.raises(ClientError) as caught:
        swf.record_activity_task_heartbeat(taskToken=token)
    assert caught.value.response["Error"]["Message"] == (
        f"Unknown execution: WorkflowExecution=[workflowId={flow.workflow_id}, runId={flow.run_id}]"
    )


def test_timer_fires_on_the_virtual_clock(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.decide(
        {
            "decisionType": "StartTimer",
            "startTimerDecisionAttributes": {"timerId": "t1", "startToFireTimeout": "50"},
        }
    )
    started = epoch(flow.events("TimerStarted")[-1])
    virtual_engine.advance(49)
    assert not flow.events("TimerFired")

    virtual_engine.advance(2)

    fired = flow.events("TimerFired")[-1]
    assert epoch(fired) == pytest.approx(started + 50, abs=0.01)
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"


def test_decision_task_start_to_close_timeout(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start(taskStartToCloseTimeout="30")
    task = flow.poll_decision()
    started = epoch(flow.events("DecisionTaskStarted")[-1])

    virtual_engine.advance(31)

    timed_out = flow.events("DecisionTaskTimedOut")[-1]
    assert epoch(timed_out) == pytest.approx(started + 30, abs=0.01)
    assert timed_out["decisionTaskTimedOutEventAttributes"]["timeoutType"] == "START_TO_CLOSE"
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"
    with pytest.raises(ClientError) as caught:
        swf.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[])
    assert caught.value.response["Error"]["Code"] == "UnknownResourceFault"
    assert flow.poll_decision().get("taskToken")


def test_open_counts_follow_timeouts_and_cancellation(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    flow.schedule("a1", "a2", "a3")
    flow.poll_activity()  # a1 started, will time out
    flow.signal()
    flow.decide(
        {
            "decisionType": "RequestCancelActivityTask",
            "requestCancelActivityTaskDecisionAttributes": {"activityId": "a2"},
        }
    )

    def open_activities() -> int:
        info = swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
        count: int = info["openCounts"]["openActivityTasks"]
        return count

    assert open_activities() == 2
    virtual_engine.advance(11)
    assert open_activities() == 1


def test_sweeper_hands_a_waiting_decider_the_timeout(engine: Engine) -> None:
    # Nobody calls between the heartbeat and the deadline: the background sweeper fires the
    # timeout and wakes the decider already waiting in PollForDecisionTask.
    swf = engine.client()
    Flow.register(swf, heartbeat="1")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    swf.record_activity_task_heartbeat(taskToken=token)
    time.sleep(0.5)

    task = flow.poll_decision()

    assert task.get("taskToken")
    assert [e["eventType"] for e in task["events"][-3:]] == [
        "ActivityTaskTimedOut",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
    ]
