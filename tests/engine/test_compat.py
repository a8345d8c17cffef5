"""moto's SWF operations keep working on the engine's extended models."""

from __future__ import annotations

from .helpers import ACTIVITIES, DECISIONS, DOMAIN, WORKFLOW, Engine, Flow, schedule_activity


def test_registration_listing_and_description(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    domains = swf.list_domains(registrationStatus="REGISTERED")["domainInfos"]
    assert [d["name"] for d in domains] == [DOMAIN]
    assert swf.describe_domain(name=DOMAIN)["domainInfo"]["status"] == "REGISTERED"
    types = swf.list_activity_types(domain=DOMAIN, registrationStatus="REGISTERED")["typeInfos"]
    assert [t["activityType"]["name"] for t in types] == ["act"]
    described = swf.describe_workflow_type(domain=DOMAIN, workflowType=WORKFLOW)
    assert described["configuration"]["defaultTaskList"] == {"name": DECISIONS}


def test_full_flow_and_closed_listing(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start(input="in", tagList=["t1"])
    assert (
        swf.count_pending_decision_tasks(domain=DOMAIN, taskList={"name": DECISIONS})["count"] == 1
    )
    flow.schedule("a1", "a2")
    assert (
        swf.count_pending_activity_tasks(domain=DOMAIN, taskList={"name": ACTIVITIES})["count"] == 2
    )
    first = flow.poll_activity()
    second = flow.poll_activity()
    swf.respond_activity_task_completed(taskToken=first["taskToken"], result="r1")
    swf.respond_activity_task_failed(taskToken=second["taskToken"], reason="no", details="why")
    # Two results, one decision task: SWF keeps at most one scheduled per execution.
    assert len(flow.events("DecisionTaskScheduled")) == 2
    flow.decide(
        {
            "decisionType": "CompleteWorkflowExecution",
            "completeWorkflowExecutionDecisionAttributes": {"result": "all done"},
        }
    )

    info = swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
    assert info["executionInfo"]["closeStatus"] == "COMPLETED"
    assert info["openCounts"]["openActivityTasks"] == 0
    closed = swf.list_closed_workflow_executions(domain=DOMAIN, startTimeFilter={"oldestDate": 0})[
        "executionInfos"
    ]
    assert [e["execution"]["runId"] for e in closed] == [flow.run_id]
    assert flow.attributes("ActivityTaskFailed")["details"] == "why"
    assert flow.attributes("WorkflowExecutionCompleted")["result"] == "all done"


def test_schedule_failures_and_open_listing(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.decide(
        schedule_activity("a1"),
        schedule_activity("a1"),
        {
            "decisionType": "ScheduleActivityTask",
            "scheduleActivityTaskDecisionAttributes": {
                "activityId": "a2",
                "activityType": {"name": "missing", "version": "1"},
            },
        },
    )
    causes = [
        e["scheduleActivityTaskFailedEventAttributes"]["cause"]
        for e in flow.events("ScheduleActivityTaskFailed")
    ]
    assert causes == ["ACTIVITY_ID_ALREADY_IN_USE", "ACTIVITY_TYPE_DOES_NOT_EXIST"]
    opened = swf.list_open_workflow_executions(domain=DOMAIN, startTimeFilter={"oldestDate": 0})
    assert [e["execution"]["workflowId"] for e in opened["executionInfos"]] == [flow.workflow_id]


def test_terminate_and_restart_same_workflow_id(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    first = Flow(swf, "same").start()
    swf.terminate_workflow_execution(domain=DOMAIN, workflowId="same", reason="test")
    second = Flow(swf, "same").start()
    assert second.run_id != first.run_id
    assert first.events("WorkflowExecutionTerminated")
    assert (
        swf.describe_workflow_execution(domain=DOMAIN, execution=second.execution)["executionInfo"][
            "executionStatus"
        ]
        == "OPEN"
    )
