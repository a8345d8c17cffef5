"""The List and Count calls apply every filter, in SWF's order and pages; types and domains are
deprecated, undeprecated and deleted as the API reference describes (fact sheet, "Polls,
events and the wire")."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import ACTIVITY, DOMAIN, WORKFLOW, Engine, Flow, schedule_activity


def _ids(page: dict[str, Any]) -> list[str]:
    return [info["execution"]["workflowId"] for info in page["executionInfos"]]


def _setup(virtual_engine: Engine) -> tuple[Any, float]:
    """Five executions started 10 s apart (virtual time): a..e; b, d closed (d failed);
    b and c tagged; e of another workflow type version."""
    swf = virtual_engine.client()
    Flow.register(swf)
    swf.register_workflow_type(
        domain=DOMAIN,
        name=WORKFLOW["name"],
        version="2",
        defaultTaskList={"name": "decisions"},
        defaultExecutionStartToCloseTimeout="3600",
        defaultTaskStartToCloseTimeout="600",
        defaultChildPolicy="TERMINATE",
    )
    first = virtual_engine.now()
    flows = {}
    for name, tags, version in [
        ("a", [], "1"),
        ("b", ["blue"], "1"),
        ("c", ["blue", "green"], "1"),
        ("d", [], "1"),
        ("e", [], "2"),
    ]:
        flows[name] = Flow(swf, name)
        flows[name].run_id = swf.start_workflow_execution(
            domain=DOMAIN,
            workflowId=name,
            workflowType={"name": WORKFLOW["name"], "version": version},
            tagList=tags,
        )["runId"]
        virtual_engine.advance(10)
    swf.terminate_workflow_execution(domain=DOMAIN, workflowId="b")
    virtual_engine.advance(10)
    task = swf.poll_for_decision_task(domain=DOMAIN, taskList={"name": "decisions"})
    while task["workflowExecution"]["workflowId"] != "d":
        task = swf.poll_for_decision_task(domain=DOMAIN, taskList={"name": "decisions"})
    swf.respond_decision_task_completed(
        taskToken=task["taskToken"],
        decisions=[{"decisionType": "FailWorkflowExecution"}],
    )
    return swf, first


def test_open_executions_are_filtered_and_newest_first(virtual_engine: Engine) -> None:
    swf, first = _setup(virtual_engine)
    since = {"oldestDate": int(first)}

    def listed(**filters: Any) -> list[str]:
        return _ids(swf.list_open_workflow_executions(domain=DOMAIN, **filters))

    assert listed(startTimeFilter=since) == ["e", "c", "a"]
    assert listed(startTimeFilter=since, reverseOrder=True) == ["a", "c", "e"]
    assert listed(startTimeFilter={"oldestDate": first + 15}) == ["e", "c"]
    assert listed(startTimeFilter={"oldestDate": int(first), "latestDate": first + 25}) == [
        "c",
        "a",
    ]
    assert listed(startTimeFilter=since, executionFilter={"workflowId": "c"}) == ["c"]
    assert listed(startTimeFilter=since, executionFilter={"workflowId": "test-workflow"}) == []
    assert listed(startTimeFilter=since, tagFilter={"tag": "blue"}) == ["c"]
    # typeFilter's version is optional.
    assert listed(startTimeFilter=since, typeFilter={"name": WORKFLOW["name"]}) == ["e", "c", "a"]
    assert listed(startTimeFilter=since, typeFilter={**WORKFLOW, "version": "2"}) == ["e"]
    counted = swf.count_open_workflow_executions(
        domain=DOMAIN, startTimeFilter=since, tagFilter={"tag": "green"}
    )
    assert (counted["count"], counted["truncated"]) == (1, False)


def test_closed_executions_are_filtered_by_status_and_close_time(virtual_engine: Engine) -> None:
    swf, first = _setup(virtual_engine)

    def listed(**filters: Any) -> list[str]:
        return _ids(swf.list_closed_workflow_executions(domain=DOMAIN, **filters))

    since = {"oldestDate": int(first)}
    assert listed(startTimeFilter=since) == ["d", "b"]
    assert listed(startTimeFilter=since, closeStatusFilter={"status": "FAILED"}) == ["d"]
    assert listed(startTimeFilter=since, closeStatusFilter={"status": "TERMINATED"}) == ["b"]
    assert listed(startTimeFilter=since, tagFilter={"tag": "blue"}) == ["b"]
    # b closed at first + 50, d at first + 60.
    assert listed(closeTimeFilter={"oldestDate": first + 55}) == ["d"]
    assert listed(closeTimeFilter=since, reverseOrder=True) == ["b", "d"]
    counted = swf.count_closed_workflow_executions(
        domain=DOMAIN, closeTimeFilter=since, closeStatusFilter={"status": "TERMINATED"}
    )
    assert counted["count"] == 1


@pytest.mark.parametrize(
    ("operation", "filters"),
    [
        ("list_open_workflow_executions", {"tagFilter": {"tag": "x"}, "typeFilter": WORKFLOW}),
        ("list_closed_workflow_executions", {}),
        ("list_closed_workflow_executions", {"closeTimeFilter": {"oldestDate": 0}}),
        (
            "count_closed_workflow_executions",
            {"executionFilter": {"workflowId": "a"}, "closeStatusFilter": {"status": "FAILED"}},
        ),
    ],
    ids=["exclusive-open", "no-time-filter", "both-time-filters", "exclusive-closed"],
)
def test_filters_that_exclude_each_other_are_refused(
    engine: Engine, operation: str, filters: dict[str, Any]
) -> None:
    swf = engine.client()
    Flow.register(swf)
    params = {"domain": DOMAIN, **filters}
    if operation != "list_closed_workflow_executions" or "closeTimeFilter" in filters:
        params.setdefault("startTimeFilter", {"oldestDate": 0})
    with pytest.raises(ClientError) as caught:
        getattr(swf, operation)(**params)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_lists_are_paged(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    for index in range(5):
        Flow(swf, f"wf-{index}").start()
    pages, token = [], None
    while True:
        params: dict[str, Any] = {"domain": DOMAIN, "startTimeFilter": {"oldestDate": 0}}
        if token:
            params["nextPageToken"] = token
        page = swf.list_open_workflow_executions(maximumPageSize=2, **params)
        pages.append(_ids(page))
        token = page.get("nextPageToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(name for page in pages for name in page) == [f"wf-{index}" for index in range(5)]
    for name in ("b", "a", "c"):
        swf.register_activity_type(domain=DOMAIN, name=name, version="1")
    types = swf.list_activity_types(
        domain=DOMAIN, registrationStatus="REGISTERED", maximumPageSize=3
    )
    assert [t["activityType"]["name"] for t in types["typeInfos"]] == ["a", "act", "b"]
    rest = swf.list_activity_types(
        domain=DOMAIN, registrationStatus="REGISTERED", nextPageToken=types["nextPageToken"]
    )
    assert [t["activityType"]["name"] for t in rest["typeInfos"]] == ["c"]
    named = swf.list_activity_types(domain=DOMAIN, registrationStatus="REGISTERED", name="b")
    assert [t["activityType"]["name"] for t in named["typeInfos"]] == ["b"]


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    code: str = caught.value.response["Error"]["Code"]
    return code


def test_deprecating_a_domain_deprecates_its_types(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    swf.deprecate_domain(name=DOMAIN)

    deprecated = swf.list_workflow_types(domain=DOMAIN, registrationStatus="DEPRECATED")
    assert [t["workflowType"] for t in deprecated["typeInfos"]] == [WORKFLOW]
    assert _code(swf.start_workflow_execution, domain=DOMAIN, workflowId="new",
                 workflowType=WORKFLOW) == "TypeDeprecatedFault"  # fmt: skip
    assert _code(swf.register_activity_type, domain=DOMAIN, name="new", version="1") == (
        "UnknownResourceFault"
    )
    # Visibility calls and running executions go on.
    opened = swf.list_open_workflow_executions(domain=DOMAIN, startTimeFilter={"oldestDate": 0})
    assert _ids(opened) == [flow.workflow_id]
    flow.decide(schedule_activity("a1"))

    swf.undeprecate_domain(name=DOMAIN)
    registered = swf.list_activity_types(domain=DOMAIN, registrationStatus="REGISTERED")
    assert [t["activityType"] for t in registered["typeInfos"]] == [ACTIVITY]
    Flow(swf, "after").start()


def test_deleting_a_type_needs_it_deprecated(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.schedule("before")
    assert _code(swf.delete_activity_type, domain=DOMAIN, activityType=ACTIVITY) == (
        "TypeNotDeprecatedFault"
    )
    swf.deprecate_activity_type(domain=DOMAIN, activityType=ACTIVITY)
    swf.delete_activity_type(domain=DOMAIN, activityType=ACTIVITY)

    assert _code(swf.describe_activity_type, domain=DOMAIN, activityType=ACTIVITY) == (
        "UnknownResourceFault"
    )
    assert _code(swf.delete_activity_type, domain=DOMAIN, activityType=ACTIVITY) == (
        "UnknownResourceFault"
    )
    # The task scheduled before the deletion still runs; new ones cannot be scheduled.
    task = flow.poll_activity()
    swf.respond_activity_task_completed(taskToken=task["taskToken"])
    flow.decide(schedule_activity("after"))
    assert flow.attributes("ScheduleActivityTaskFailed")["cause"] == "ACTIVITY_TYPE_DOES_NOT_EXIST"

    swf.deprecate_workflow_type(domain=DOMAIN, workflowType=WORKFLOW)
    swf.delete_workflow_type(domain=DOMAIN, workflowType=WORKFLOW)
    assert (
        swf.list_workflow_types(domain=DOMAIN, registrationStatus="DEPRECATED")["typeInfos"] == []
    )
