"""Activity plumbing shared by the heartbeat command, the load users and the conformance runner.

`start_activity` drives the real SWF flow, acting as both decider and worker:
StartWorkflowExecution, PollForDecisionTask, RespondDecisionTaskCompleted with a
ScheduleActivityTask decision, then PollForActivityTask. Each handle has its own task lists, so
callers running in parallel never pick up each other's tasks.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from swfbench.client import SWFClient, with_retries
from swfbench.errors import SWFError

DEFAULT_DOMAIN = "swfbench"
WORKFLOW_TYPE = {"name": "swfbench-workflow", "version": "1"}
ACTIVITY_TYPE = {"name": "swfbench-activity", "version": "1"}
CANCEL_SIGNAL = "swfbench-request-cancel"
BOOTSTRAP_DEADLINE_S = 60.0
POLL_DEADLINE_S = 90.0
"""How long to keep polling for a task that should be there: one long poll on real SWF is 60 s."""

Timeout = int | Literal["NONE"]


def _timeout_value(value: Timeout) -> str:
    # SWF takes timeouts as strings of at most 8 characters: whole seconds or NONE (fact sheet).
    return value if value == "NONE" else str(int(value))


@dataclass(frozen=True, kw_only=True)
class ActivityTimeouts:
    """The four activity task timeouts, in whole seconds or "NONE"."""

    heartbeat: Timeout = 60
    start_to_close: Timeout = 300
    schedule_to_start: Timeout = 60
    schedule_to_close: Timeout = "NONE"

    def decision_attributes(self) -> dict[str, str]:
        return {
            "heartbeatTimeout": _timeout_value(self.heartbeat),
            "startToCloseTimeout": _timeout_value(self.start_to_close),
            "scheduleToStartTimeout": _timeout_value(self.schedule_to_start),
            "scheduleToCloseTimeout": _timeout_value(self.schedule_to_close),
        }


def bootstrap(
    client: SWFClient,
    domain: str = DEFAULT_DOMAIN,
    *,
    activity_type: dict[str, str] | None = None,
    attempts: int = 1,
) -> None:
    """Register the domain, the workflow type and the activity type (swfbench's own unless
    given); "already exists" counts as success. Each call is tried up to `attempts` times on
    transient errors (5xx, throttling, no answer), with backoff.

    SWF domains cannot be deleted, so against real SWF one domain is reused run after run.
    """
    calls: list[tuple[str, dict[str, Any], str]] = [
        (
            "RegisterDomain",
            {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"},
            "DomainAlreadyExistsFault",
        ),
        (
            "RegisterWorkflowType",
            {
                "domain": domain,
                **WORKFLOW_TYPE,
                "defaultChildPolicy": "TERMINATE",
                "defaultTaskStartToCloseTimeout": "60",
                "defaultExecutionStartToCloseTimeout": "3600",
            },
            "TypeAlreadyExistsFault",
        ),
        (
            "RegisterActivityType",
            {"domain": domain, **(activity_type or ACTIVITY_TYPE)},
            "TypeAlreadyExistsFault",
        ),
    ]
    for operation, params, already_exists in calls:
        try:
            with_retries(
                lambda o=operation, p=params: client.call(o, **p),  # type: ignore[misc]
                deadline_s=BOOTSTRAP_DEADLINE_S,
                attempts=attempts,
            )
        except SWFError as exc:
            if exc.code != already_exists:
                raise


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass(kw_only=True)
class ActivityHandle:
    """One activity task in its own workflow execution, and the calls made on it."""

    client: SWFClient = field(repr=False, compare=False)
    domain: str
    workflow_id: str
    run_id: str
    activity_id: str
    decision_task_list: str
    activity_task_list: str
    scheduled_event_id: int
    decision_task_completed_event_id: int
    started_event_id: int | None = None
    task_token: str | None = None

    @property
    def execution(self) -> dict[str, str]:
        return {"workflowId": self.workflow_id, "runId": self.run_id}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "client"}

    def to_swf(self) -> dict[str, Any]:
        """The handle in SWF's own member names (`taskToken`, `workflowId`, `runId`, ...),
        as `swfbench activity start` prints it for `heartbeat --cli-input-json` and scripts."""
        return {_camel(name): value for name, value in self.to_dict().items()}

    # Worker side ---------------------------------------------------------------------------

    def poll(self) -> None:
        """Take the scheduled task from its task list (ActivityTaskStarted)."""
        task = _poll(
            self.client,
            "PollForActivityTask",
            domain=self.domain,
            taskList={"name": self.activity_task_list},
        )
        self.task_token = task["taskToken"]
        self.started_event_id = int(task["startedEventId"])

    def _token(self) -> str:
        if self.task_token is None:
            raise RuntimeError("the activity task has not been started: call poll() first")
        return self.task_token

    def heartbeat(self, details: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"taskToken": self._token()}
        if details is not None:
            params["details"] = details
        return self.client.call("RecordActivityTaskHeartbeat", **params)

    def complete(self, result: str | None = None) -> None:
        params: dict[str, Any] = {"taskToken": self._token()}
        if result is not None:
            params["result"] = result
        self.client.call("RespondActivityTaskCompleted", **params)

    def fail(self, reason: str | None = None, details: str | None = None) -> None:
        params: dict[str, Any] = {"taskToken": self._token()}
        if reason is not None:
            params["reason"] = reason
        if details is not None:
            params["details"] = details
        self.client.call("RespondActivityTaskFailed", **params)

    def respond_canceled(self, details: str | None = None) -> None:
        params: dict[str, Any] = {"taskToken": self._token()}
        if details is not None:
            params["details"] = details
        self.client.call("RespondActivityTaskCanceled", **params)

    # Decider side --------------------------------------------------------------------------

    def decide(self, decisions: list[dict[str, Any]]) -> None:
        """Take the execution's next decision task and answer it with `decisions`."""
        task = _poll(
            self.client,
            "PollForDecisionTask",
            domain=self.domain,
            taskList={"name": self.decision_task_list},
            maximumPageSize=1,
        )
        self.client.call(
            "RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions
        )

    def request_cancel(self, activity_id: str | None = None) -> None:
        """The decider's RequestCancelActivityTask, reached as a real decider would: a signal
        wakes the workflow, and the decision task it schedules carries the decision."""
        activity_id = activity_id or self.activity_id
        self.signal(CANCEL_SIGNAL, activity_id)
        self.decide(
            [
                {
                    "decisionType": "RequestCancelActivityTask",
                    "requestCancelActivityTaskDecisionAttributes": {"activityId": activity_id},
                }
            ]
        )

    def signal(self, name: str, signal_input: str | None = None) -> None:
        params: dict[str, Any] = {"domain": self.domain, "signalName": name, **self.execution}
        if signal_input is not None:
            params["input"] = signal_input
        self.client.call("SignalWorkflowExecution", **params)

    def request_cancel_workflow(self) -> None:
        self.client.call("RequestCancelWorkflowExecution", domain=self.domain, **self.execution)

    def terminate(self, reason: str = "swfbench clean-up") -> None:
        self.client.call(
            "TerminateWorkflowExecution", domain=self.domain, reason=reason, **self.execution
        )

    def close(self) -> bool:
        """Terminate the execution if it is still open; True when this call closed it."""
        try:
            self.terminate()
        except SWFError as exc:
            if exc.code == "UnknownResourceFault":
                return False  # already closed: SWF knows no open execution by that id
            raise
        return True

    def history(self) -> list[dict[str, Any]]:
        """The execution's full history, oldest first, across all pages."""
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {"domain": self.domain, "execution": self.execution}
        while True:
            page = self.client.call("GetWorkflowExecutionHistory", **params)
            events.extend(page.get("events", []))
            token = page.get("nextPageToken")
            if not token:
                return events
            params["nextPageToken"] = token


def _poll(client: SWFClient, operation: str, **params: Any) -> dict[str, Any]:
    """Poll until a task comes: an empty answer (no taskToken) means the long poll ran out."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while True:
        task = client.call(operation, **params)
        if task.get("taskToken"):
            return task
        if time.monotonic() > deadline:
            raise SWFError(operation, "NoTask", f"no task on {params['taskList']['name']}", 200)


def start_activity(
    client: SWFClient,
    *,
    domain: str = DEFAULT_DOMAIN,
    timeouts: ActivityTimeouts | None = None,
    execution_timeout_s: int = 3600,
    activity_input: str | None = None,
    start: bool = True,
    activity_type: dict[str, str] | None = None,
) -> ActivityHandle:
    """Run the real SWF flow up to a started activity task (or only scheduled, `start=False`).

    Every execution gets an execution timeout, so even an abandoned run closes itself.
    """
    timeouts = timeouts or ActivityTimeouts()
    workflow_id = _unique("swfbench-wf")
    decision_task_list = _unique("swfbench-decisions")
    activity_task_list = _unique("swfbench-activities")
    started = client.call(
        "StartWorkflowExecution",
        domain=domain,
        workflowId=workflow_id,
        workflowType=WORKFLOW_TYPE,
        taskList={"name": decision_task_list},
        executionStartToCloseTimeout=str(execution_timeout_s),
        taskStartToCloseTimeout="60",
        childPolicy="TERMINATE",
    )
    decision = _poll(
        client,
        "PollForDecisionTask",
        domain=domain,
        taskList={"name": decision_task_list},
        maximumPageSize=1,
    )
    activity_id = _unique("activity")
    attributes: dict[str, Any] = {
        "activityType": activity_type or ACTIVITY_TYPE,
        "activityId": activity_id,
        "taskList": {"name": activity_task_list},
        **timeouts.decision_attributes(),
    }
    if activity_input is not None:
        attributes["input"] = activity_input
    client.call(
        "RespondDecisionTaskCompleted",
        taskToken=decision["taskToken"],
        decisions=[
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": attributes,
            }
        ],
    )
    # The decider's own events follow each other: DecisionTaskStarted, DecisionTaskCompleted,
    # then ActivityTaskScheduled; nothing else can interleave in an execution only we drive.
    completed_event_id = int(decision["startedEventId"]) + 1
    handle = ActivityHandle(
        client=client,
        domain=domain,
        workflow_id=workflow_id,
        run_id=started["runId"],
        activity_id=activity_id,
        decision_task_list=decision_task_list,
        activity_task_list=activity_task_list,
        scheduled_event_id=completed_event_id + 1,
        decision_task_completed_event_id=completed_event_id,
    )
    if start:
        handle.poll()
    return handle
