"""moto's SWF models, extended: engine clock, indexes, cancellation and all four activity timeouts.

Each class subclasses the moto model of the same role and keeps moto's attributes, so moto's
own operations (List*, Describe*, Terminate, Signal, history) keep working on them. What
changes:

- time comes from the engine clock (`EngineContext.now`), and events caused by a timeout are
  stamped at the deadline, not when the engine noticed it;
- tasks are indexed by token and by task list, so no call scans every task of every domain;
- the decisions and events moto lacks: RequestCancelActivityTask, ActivityTaskCanceled,
  WorkflowExecutionCancelRequested;
- nothing outlives its execution's retention: instances are not tracked by moto's model
  registry, a domain keeps its executions in one index the backend can forget them from, and
  an emptied task list leaves no entry behind (swfbench gives every activity its own lists).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Self

from moto.core.utils import camelcase_to_underscores, underscores_to_camelcase
from moto.swf.exceptions import (
    SWFUnknownResourceFault,
    SWFValidationException,
    SWFWorkflowExecutionAlreadyStartedFault,
)
from moto.swf.models.activity_task import ActivityTask
from moto.swf.models.activity_type import ActivityType
from moto.swf.models.decision_task import DecisionTask
from moto.swf.models.domain import Domain
from moto.swf.models.generic_type import GenericType
from moto.swf.models.history_event import SUPPORTED_HISTORY_EVENT_TYPES, HistoryEvent
from moto.swf.models.timeout import Timeout
from moto.swf.models.timer import Timer
from moto.swf.models.workflow_execution import WorkflowExecution
from moto.swf.models.workflow_type import WorkflowType
from moto.swf.utils import decapitalize

from swfbench.engine.access import (
    NOT_PERMITTED_EVENTS,
    DecisionCheck,
    allow_every_decision,
    not_permitted_event,
)
from swfbench.engine.clock import Clock
from swfbench.engine.deadlines import DeadlineHeap

# Events moto does not know, with the attributes the botocore model gives them.
EXTRA_HISTORY_EVENT_TYPES = (
    "ActivityTaskCancelRequested",
    "ActivityTaskCanceled",
    "RequestCancelActivityTaskFailed",
    "WorkflowExecutionCancelRequested",
)
HISTORY_EVENT_TYPES = frozenset(SUPPORTED_HISTORY_EVENT_TYPES + EXTRA_HISTORY_EVENT_TYPES).union(
    event_type for event_type, _ in NOT_PERMITTED_EVENTS.values()
)

# One string per attribute name, shared by every event, instead of a new one per event.
_attribute_name = functools.lru_cache(maxsize=512)(underscores_to_camelcase)

# Decisions the engine carries out; moto raises NotImplementedError (an HTTP 500) on the others,
# so they are refused up front, before any decision of the batch is applied.
SUPPORTED_DECISIONS = frozenset(
    {
        "CompleteWorkflowExecution",
        "FailWorkflowExecution",
        "CancelWorkflowExecution",
        "ScheduleActivityTask",
        "RequestCancelActivityTask",
        "RecordMarker",
        "StartTimer",
        "CancelTimer",
    }
)

# SWF allows at most 1,000 open activity tasks (scheduled and started) per workflow execution
# (fact sheet, "Quotas"); past it ScheduleActivityTask fails with OPEN_ACTIVITIES_LIMIT_EXCEEDED.
OPEN_ACTIVITIES_LIMIT = 1000

ACTIVITY_TIMEOUT_KEYS = {
    "SCHEDULE_TO_START": "scheduleToStartTimeout",
    "SCHEDULE_TO_CLOSE": "scheduleToCloseTimeout",
    "START_TO_CLOSE": "startToCloseTimeout",
    "HEARTBEAT": "heartbeatTimeout",
}


DAY = 86400.0


def retention_seconds(value: Any) -> float | None:
    """A domain's workflowExecutionRetentionPeriodInDays in seconds; None if unreadable.

    SWF keeps closed executions for that many days; `NONE` or `0` keeps none: "as soon as the
    workflow execution completes, the execution record and its history are deleted" (documented:
    botocore model, RegisterDomain). An unreadable value keeps them until the engine's cap.
    """
    text = str(value).strip()
    if text == "NONE":
        return 0.0
    if text.isascii() and text.isdigit():
        return int(text) * DAY
    return None


def seconds(value: Any) -> float | None:
    """A timeout value (whole seconds as a string, or `NONE`) in seconds; None for no timeout."""
    if value is None or value == "NONE":
        return None
    return float(value)


class Untracked:
    """Mixed in before a moto model: its instances are not recorded in moto's model registry.

    moto's `BaseModel` appends every instance to a list on its class, for moto's dashboard. The
    engine has no dashboard, and those lists would keep every event and task of every execution
    alive forever, retention or not.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        return object.__new__(cls)


class EngineTimeout(Untracked, Timeout):
    """A timeout, untracked."""


class UnknownActivityType(Untracked, ActivityType):
    """The type named by a ScheduleActivityTask decision that failed: only its name is known."""


TOKEN_NONCE_CHARS = 32
TOKEN_MAC_BYTES = 8


class EngineContext:
    """What the models share with the backend: clock, deadline heap, token indexes."""

    def __init__(self, clock: Clock, wakeup: Callable[[str, str, str], None]) -> None:
        self.clock = clock
        self.deadlines = DeadlineHeap()
        self.activity_tokens: dict[str, EngineActivityTask] = {}
        self.decision_tokens: dict[str, EngineDecisionTask] = {}
        self._token_key = secrets.token_bytes(16)
        self.wakeup = wakeup
        """Called with ("activity" or "decision", domain name, task list) when a task can be
        taken from that list, so a poll waiting on it looks again."""
        self.stamp: float | None = None
        """While a timeout is processed, its deadline: every event it causes is stamped then."""
        self.on_execution_closed: Callable[[EngineWorkflowExecution], None] = lambda _: None
        self.decision_allowed: DecisionCheck = allow_every_decision
        """With --auth, whether the decider may make a decision (see `access.acting_as`)."""

    def now(self) -> float:
        return self.stamp if self.stamp is not None else self.clock.now()

    def _mac(self, nonce: str) -> str:
        digest = hashlib.blake2b(
            nonce.encode(), key=self._token_key, digest_size=TOKEN_MAC_BYTES
        ).hexdigest()
        return digest

    def new_token(self) -> str:
        """A task token this engine can later recognise as its own without remembering it."""
        nonce = secrets.token_hex(TOKEN_NONCE_CHARS // 2)
        return nonce + self._mac(nonce)

    def issued(self, token: str) -> bool:
        """True if this engine issued `token` (its task may since have been forgotten)."""
        if len(token) != TOKEN_NONCE_CHARS + 2 * TOKEN_MAC_BYTES:
            return False
        nonce, mac = token[:TOKEN_NONCE_CHARS], token[TOKEN_NONCE_CHARS:]
        return secrets.compare_digest(mac, self._mac(nonce))


class EngineHistoryEvent(Untracked, HistoryEvent):
    """moto's history event, accepting the cancellation events too."""

    def __init__(
        self,
        event_id: int,
        event_type: str,
        event_timestamp: float | None = None,
        **kwargs: Any,
    ) -> None:
        if event_type not in HISTORY_EVENT_TYPES:
            raise NotImplementedError(f"no attributes known for history event {event_type}")
        self.event_id = event_id
        self.event_type = event_type
        self.event_timestamp = event_timestamp or 0.0
        # Absent members (None) are left out, as SWF leaves them out; unlike moto, empty values
        # stay: a last heartbeat's `details: ""` is kept in ActivityTaskTimedOut (fact sheet,
        # "The call"), and `startedEventId: 0` marks a task that never started.
        self.event_attributes: dict[str, Any] = {}
        for key, value in kwargs.items():
            if value is not None:
                if key == "task_list":
                    value = {"name": value}
                elif key == "workflow_type":
                    value = {"name": value.name, "version": value.version}
                elif key == "activity_type":
                    value = value.to_short_dict()
                self.event_attributes[_attribute_name(key)] = value


class EngineActivityTask(Untracked, ActivityTask):
    """An activity task that knows its four deadlines and whether cancellation was requested."""

    def __init__(
        self,
        *,
        activity_id: str,
        activity_type: ActivityType,
        scheduled_event_id: int,
        workflow_execution: EngineWorkflowExecution,
        timeouts: dict[str, Any],
        task_list: str,
        scheduled_timestamp: float,
        workflow_input: Any = None,
    ) -> None:
        super().__init__(
            activity_id=activity_id,
            activity_type=activity_type,
            scheduled_event_id=scheduled_event_id,
            workflow_execution=workflow_execution,
            timeouts=timeouts,
            workflow_input=workflow_input,
        )
        self.engine_execution = workflow_execution
        self.task_token = workflow_execution.ctx.new_token()
        self.task_list = task_list
        self.scheduled_timestamp = scheduled_timestamp
        self.started_timestamp: float | None = None
        self.last_heartbeat_timestamp = scheduled_timestamp
        self.cancel_requested = False
        # 0 until a worker takes it: ActivityTaskTimedOut and ActivityTaskCanceled must carry a
        # startedEventId (required by the model), 0 for a task that never started (fact sheet,
        # "Polls, events and the wire").
        self.started_event_id = 0
        # The last heartbeat's details (moto types the attribute as always None).
        self.details: str | None = None  # type: ignore[assignment]
        self.latest_cancel_requested_event_id: int | None = None

    def deadline(self, kind: str) -> float | None:
        """When timeout `kind` falls due now, or None if it cannot fire in the current state."""
        limit = seconds(self.timeouts[ACTIVITY_TIMEOUT_KEYS[kind]])
        if limit is None or not self.open:
            return None
        if kind == "SCHEDULE_TO_CLOSE":
            return self.scheduled_timestamp + limit
        if kind == "SCHEDULE_TO_START":
            return self.scheduled_timestamp + limit if self.state == "SCHEDULED" else None
        if self.started_timestamp is None:
            return None
        if kind == "START_TO_CLOSE":
            return self.started_timestamp + limit
        # The heartbeat clock starts when the worker receives the task; each heartbeat resets it.
        return self.last_heartbeat_timestamp + limit

    def first_timeout(self) -> Timeout | None:
        # moto's own scan (unused by the engine) would look at HEARTBEAT only and at wall time.
        return None


class EngineDecisionTask(Untracked, DecisionTask):
    """A decision task timed by the engine clock."""

    def __init__(self, workflow_execution: EngineWorkflowExecution, scheduled_event_id: int):
        super().__init__(workflow_execution, scheduled_event_id)
        self.engine_execution = workflow_execution
        self.task_token = workflow_execution.ctx.new_token()
        self.task_list: str = workflow_execution.task_list

    def deadline(self) -> float | None:
        limit = seconds(self.start_to_close_timeout)
        if limit is None or self.state != "STARTED" or self.started_timestamp is None:
            return None
        return self.started_timestamp + limit

    def first_timeout(self) -> Timeout | None:
        return None


class EngineTimer(Untracked, Timer):
    """A workflow timer fired from the deadline heap instead of a wall-clock thread."""

    def __init__(
        self, execution: EngineWorkflowExecution, started_event_id: int, timer_id: str
    ) -> None:
        # moto's Timer wraps a threading.Timer; this one has no thread.
        self.execution = execution
        self.started_event_id = started_event_id
        self.timer_id = timer_id
        self.alive = True

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return self.alive

    def cancel(self) -> None:
        self.alive = False


def _discard(index: dict[str, Any], task_list: str, key: Any) -> None:
    """Remove `key` from the queue of `task_list`; an emptied one leaves the index."""
    members = index.get(task_list)
    if members is None:
        return
    members.pop(key, None)
    if not members:
        del index[task_list]


class EngineDomain(Untracked, Domain):
    """A domain with its executions indexed by id and its tasks queued by task list."""

    def __init__(
        self,
        name: str,
        retention: int,
        account_id: str,
        region_name: str,
        description: str | None = None,
    ) -> None:
        super().__init__(name, retention, account_id, region_name, description=description)
        self._open_by_workflow_id: dict[str, EngineWorkflowExecution] = {}
        # Every execution the domain still knows, open or closed, in start order: the one store
        # (moto's `workflow_executions` list is a view of it), so forgetting one is O(1).
        self._by_run: dict[tuple[str, str], EngineWorkflowExecution] = {}
        # Tasks waiting for a poller, oldest first, keyed by token.
        self.activity_queues: dict[str, OrderedDict[str, EngineActivityTask]] = {}
        self.decision_queues: dict[str, OrderedDict[str, EngineDecisionTask]] = {}
        self._deprecated_with_domain: set[GenericType] = set()

    def deprecate_types(self) -> None:
        """The domain was deprecated: so is every type registered in it."""
        for family in self.types.values():
            for versions in family.values():
                for registered in versions.values():
                    if registered.status == "REGISTERED":
                        registered.status = "DEPRECATED"
                        self._deprecated_with_domain.add(registered)

    def undeprecate_types(self) -> None:
        """The domain was undeprecated: its types that it deprecated are registered again."""
        for registered in self._deprecated_with_domain:
            registered.status = "REGISTERED"
        self._deprecated_with_domain.clear()

    def remove_type(self, deleted: GenericType) -> None:
        """A deleted type is gone from the domain; tasks that hold it keep it."""
        del self.types[deleted.kind][deleted.name][deleted.version]
        if not self.types[deleted.kind][deleted.name]:
            del self.types[deleted.kind][deleted.name]
        self._deprecated_with_domain.discard(deleted)

    def pending_activities(self, task_list: str) -> int:
        """Activity tasks scheduled in `task_list` and not yet taken by a worker."""
        queue = self.activity_queues.get(task_list, OrderedDict())
        return sum(
            1 for t in queue.values() if t.state == "SCHEDULED" and t.workflow_execution.open
        )

    def pending_decisions(self, task_list: str) -> int:
        """Decision tasks scheduled in `task_list` and not yet taken by a decider."""
        queue = self.decision_queues.get(task_list, OrderedDict())
        return sum(
            1 for t in queue.values() if t.state == "SCHEDULED" and t.workflow_execution.open
        )

    @property
    def workflow_executions(self) -> list[WorkflowExecution]:
        """moto's list of the domain's executions (its List* operations read it)."""
        return list(self._by_run.values())

    @workflow_executions.setter
    def workflow_executions(self, value: list[WorkflowExecution]) -> None:
        # moto's __init__ assigns an empty list; the executions live in `_by_run`.
        if value:
            raise ValueError("add executions with add_workflow_execution")

    @property
    def retention_seconds(self) -> float | None:
        return retention_seconds(self.retention)

    @property
    def execution_count(self) -> int:
        """Executions the domain still knows, open or closed."""
        return len(self._by_run)

    def add_workflow_execution(self, workflow_execution: WorkflowExecution) -> None:
        assert isinstance(workflow_execution, EngineWorkflowExecution)
        if workflow_execution.workflow_id in self._open_by_workflow_id:
            raise SWFWorkflowExecutionAlreadyStartedFault()
        self._open_by_workflow_id[workflow_execution.workflow_id] = workflow_execution
        self._by_run[(workflow_execution.workflow_id, workflow_execution.run_id)] = (
            workflow_execution
        )

    def execution_closed(self, workflow_execution: EngineWorkflowExecution) -> None:
        if self._open_by_workflow_id.get(workflow_execution.workflow_id) is workflow_execution:
            del self._open_by_workflow_id[workflow_execution.workflow_id]

    def forget(self, workflow_execution: EngineWorkflowExecution) -> None:
        """Drop a closed execution: from now on it is unknown, as past SWF's retention."""
        key = (workflow_execution.workflow_id, workflow_execution.run_id)
        if self._by_run.get(key) is workflow_execution:
            del self._by_run[key]

    def get_workflow_execution(
        self,
        workflow_id: str,
        run_id: str | None = None,
        raise_if_none: bool = True,
        raise_if_closed: bool = False,
    ) -> WorkflowExecution | None:
        wfe: EngineWorkflowExecution | None
        if run_id:
            wfe = self._by_run.get((workflow_id, run_id))
        else:
            wfe = self._open_by_workflow_id.get(workflow_id)
        if wfe is not None and (not raise_if_closed or wfe.open):
            return wfe
        if not raise_if_none:
            return None
        # The same UnknownResourceFault messages as moto's.
        if run_id:
            raise SWFUnknownResourceFault(
                "execution", f"WorkflowExecution=[workflowId={workflow_id}, runId={run_id}]"
            )
        raise SWFUnknownResourceFault(f"execution, workflowId = {workflow_id}")

    # moto's per-domain task lists (`activity_task_lists`, `decision_task_lists`) are only read
    # by the moto operations the backend replaces, so tasks go into the engine's indexes only.

    def add_to_activity_task_list(self, task_list: Any, obj: ActivityTask) -> None:
        assert isinstance(obj, EngineActivityTask)
        self.activity_queues.setdefault(task_list, OrderedDict())[obj.task_token] = obj

    def add_to_decision_task_list(self, task_list: str, obj: DecisionTask) -> None:
        assert isinstance(obj, EngineDecisionTask)
        self.decision_queues.setdefault(task_list, OrderedDict())[obj.task_token] = obj

    def activity_closed(self, task: EngineActivityTask) -> None:
        _discard(self.activity_queues, task.task_list, task.task_token)

    def decision_closed(self, task: EngineDecisionTask) -> None:
        _discard(self.decision_queues, task.task_list, task.task_token)

    def next_activity_task(self, task_list: str) -> EngineActivityTask | None:
        """Take the oldest scheduled activity task of `task_list` off its queue."""
        queue = self.activity_queues.get(task_list)
        found: EngineActivityTask | None = None
        while queue:
            _, task = queue.popitem(last=False)
            if task.state == "SCHEDULED" and task.workflow_execution.open:
                found = task
                break
        if queue is not None and not queue:
            del self.activity_queues[task_list]
        return found

    def next_decision_task(self, task_list: str) -> EngineDecisionTask | None:
        """Take the oldest scheduled decision task whose execution has none started."""
        queue = self.decision_queues.get(task_list)
        if not queue:
            return None
        # SWF hands out one decision task per execution at a time: an execution whose decision
        # task is started keeps its next one queued until the first closes.
        stale: list[str] = []
        found: EngineDecisionTask | None = None
        for token, task in queue.items():
            if task.state != "SCHEDULED" or not task.workflow_execution.open:
                stale.append(token)
            elif task.engine_execution.started_decision_task is None:
                stale.append(token)
                found = task
                break
        for token in stale:
            del queue[token]
        if not queue:
            del self.decision_queues[task_list]
        return found


class EngineWorkflowExecution(Untracked, WorkflowExecution):
    """A workflow execution on the engine clock, with its tasks indexed."""

    def __init__(
        self,
        domain: EngineDomain,
        workflow_type: WorkflowType,
        workflow_id: str,
        ctx: EngineContext,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, workflow_type, workflow_id, **kwargs)
        self.engine_domain = domain
        self.ctx = ctx
        self._decision_tasks: list[EngineDecisionTask] = []
        self._activities_by_token: dict[str, EngineActivityTask] = {}
        self._activities_by_id: dict[str, EngineActivityTask] = {}
        self.scheduled_decision_task: EngineDecisionTask | None = None
        self.started_decision_task: EngineDecisionTask | None = None

    # --- events and lookups: O(1) instead of moto's scans -------------------------------------

    def next_event_id(self) -> int:
        return len(self._events) + 1

    def _add_event(self, *args: Any, **kwargs: Any) -> HistoryEvent:
        # Callers hold the backend lock, which already serialises event ids.
        kwargs.setdefault("event_timestamp", self.ctx.now())
        evt = EngineHistoryEvent(len(self._events) + 1, *args, **kwargs)
        self._events.append(evt)
        return evt

    @property
    def decision_tasks(self) -> list[DecisionTask]:
        return list(self._decision_tasks)

    @property
    def activity_tasks(self) -> list[ActivityTask]:
        return list(self._activities_by_token.values())

    def _find_decision_task(self, task_token: str) -> DecisionTask:
        task = self.ctx.decision_tokens.get(task_token)
        if task is None or task.workflow_execution is not self:
            raise ValueError(f"No decision task with token: {task_token}")
        return task

    def _find_activity_task(self, task_token: str) -> ActivityTask:
        task = self._activities_by_token.get(task_token)
        if task is None:
            raise ValueError(f"No activity task with token: {task_token}")
        return task

    def to_medium_dict(self) -> dict[str, Any]:
        hsh = super().to_medium_dict()
        # moto answers a fixed startTimestamp here; SWF answers when the execution started.
        hsh["startTimestamp"] = self.start_timestamp
        return hsh

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self.start_timestamp = self.ctx.now()
        self._add_event(
            "WorkflowExecutionStarted",
            child_policy=self.child_policy,
            execution_start_to_close_timeout=self.execution_start_to_close_timeout,
            parent_initiated_event_id=0,
            task_list=self.task_list,
            task_start_to_close_timeout=self.task_start_to_close_timeout,
            workflow_type=self.workflow_type,
            input=self.input,
        )
        limit = seconds(self.execution_start_to_close_timeout)
        if limit is not None:
            self.ctx.deadlines.push(self.start_timestamp + limit, "workflow", self)
        self.schedule_decision_task()

    def _closed(self) -> None:
        """Bookkeeping once the execution closes: its tasks leave the queues."""
        if self.close_timestamp is None:
            self.close_timestamp = self.ctx.now()
        for task in self._activities_by_token.values():
            if task.open:
                self.engine_domain.activity_closed(task)
        for dt in self._decision_tasks:
            self.engine_domain.decision_closed(dt)
        self.engine_domain.execution_closed(self)
        for timer in self._timers.values():
            timer.cancel()
        self.ctx.on_execution_closed(self)

    def forget(self) -> None:
        """Past retention: the execution and its task tokens leave every index of the engine."""
        for token in self._activities_by_token:
            self.ctx.activity_tokens.pop(token, None)
        for task in self._decision_tasks:
            self.ctx.decision_tokens.pop(task.task_token, None)
        self.engine_domain.forget(self)

    def complete(self, event_id: int, result: Any = None) -> None:
        super().complete(event_id, result)
        self.close_timestamp = self.ctx.now()
        self._closed()

    def fail(self, event_id: int, details: Any = None, reason: str | None = None) -> None:
        super().fail(event_id, details, reason)
        self.close_timestamp = self.ctx.now()
        self._closed()

    def cancel(self, event_id: int, details: Any = None) -> None:
        super().cancel(event_id, details)
        if not self.open:
            self.close_timestamp = self.ctx.now()
            self._closed()

    def terminate(
        self,
        child_policy: str | None = None,
        details: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        super().terminate(child_policy=child_policy, details=details, reason=reason)
        self.close_timestamp = self.ctx.now()
        self._closed()

    def timeout(self, timeout: Timeout) -> None:
        super().timeout(timeout)
        self.close_timestamp = timeout.timestamp
        self._closed()

    def request_cancel(self) -> None:
        """RequestCancelWorkflowExecution: record the request and let the decider act on it.

        It sets the execution's cancelRequested flag but not the activities' heartbeat flag:
        cancelling activities is up to the decider (fact sheet, "Cancellation", inferred).
        """
        self.cancel_requested = True
        self._add_event("WorkflowExecutionCancelRequested")
        self.schedule_decision_task()

    # --- decision tasks ---------------------------------------------------------------------

    def _schedule_decision_task(self) -> None:
        # SWF keeps at most one scheduled decision task per execution: new events are
        # delivered with the one already waiting. A closed execution gets none.
        if self.scheduled_decision_task is not None or not self.open:
            return
        evt = self._add_event(
            "DecisionTaskScheduled",
            start_to_close_timeout=self.task_start_to_close_timeout,
            task_list=self.task_list,
        )
        task = EngineDecisionTask(self, evt.event_id)
        self._decision_tasks.append(task)
        self.ctx.decision_tokens[task.task_token] = task
        self.scheduled_decision_task = task
        self.engine_domain.add_to_decision_task_list(self.task_list, task)
        self.open_counts["openDecisionTasks"] += 1
        if self.started_decision_task is None:
            self.ctx.wakeup("decision", self.domain.name, self.task_list)

    def start_decision_task(self, task_token: str, identity: str | None = None) -> None:
        super().start_decision_task(task_token, identity=identity)
        task = self.ctx.decision_tokens[task_token]
        # Every decision task carries previousStartedEventId, 0 for the first one (fact sheet,
        # "Polls, events and the wire"; moto leaves it out, and deciders read it unconditionally).
        if task.previous_started_event_id is None:
            task.previous_started_event_id = 0
        task.started_timestamp = self.ctx.now()
        if self.scheduled_decision_task is task:
            self.scheduled_decision_task = None
        self.started_decision_task = task
        deadline = task.deadline()
        if deadline is not None:
            self.ctx.deadlines.push(deadline, "decision", task)

    def _decision_task_closed(self, task: EngineDecisionTask) -> None:
        if self.started_decision_task is task:
            self.started_decision_task = None
        self.engine_domain.decision_closed(task)
        # A decision task held back while this one was started can be taken now.
        if self.open and self.scheduled_decision_task is not None:
            self.ctx.wakeup("decision", self.domain.name, self.task_list)

    def validate_decisions(self, decisions: list[dict[str, Any]]) -> None:
        super().validate_decisions(decisions)
        for decision in decisions:
            if decision["decisionType"] not in SUPPORTED_DECISIONS:
                raise SWFValidationException(
                    f"Decision type {decision['decisionType']} is not implemented by the "
                    "swfbench engine"
                )

    def complete_decision_task(
        self,
        task_token: str,
        decisions: list[dict[str, Any]] | None = None,
        execution_context: str | None = None,
    ) -> None:
        task = self.ctx.decision_tokens[task_token]
        super().complete_decision_task(
            task_token, decisions=decisions, execution_context=execution_context
        )
        self._decision_task_closed(task)

    def handle_decisions(self, event_id: int, decisions: list[dict[str, Any]]) -> None:
        for decision in decisions:
            decision_type = decision["decisionType"]
            attributes = decision.get(f"{decapitalize(decision_type)}DecisionAttributes", {})
            if not self.ctx.decision_allowed(self.domain.name, decision_type, attributes):
                # Seed: "the associated event attribute's cause parameter is set to
                # OPERATION_NOT_PERMITTED"; the failed decision is news for the decider.
                event_type, fields = not_permitted_event(event_id, decision_type, attributes)
                self._add_event(event_type, **fields)
                self.should_schedule_decision_next = True
                continue
            if decision_type == "CompleteWorkflowExecution":
                self.complete(event_id, attributes.get("result"))
            elif decision_type == "FailWorkflowExecution":
                self.fail(event_id, attributes.get("details"), attributes.get("reason"))
            elif decision_type == "CancelWorkflowExecution":
                self.cancel(event_id, attributes.get("details"))
            elif decision_type == "ScheduleActivityTask":
                self.schedule_activity_task(event_id, attributes)
            elif decision_type == "RequestCancelActivityTask":
                self.request_cancel_activity_task(event_id, attributes)
            elif decision_type == "RecordMarker":
                self.record_marker(event_id, attributes)
            elif decision_type == "StartTimer":
                self.start_timer(event_id, attributes)
            elif decision_type == "CancelTimer":
                self.cancel_timer(event_id, attributes["timerId"])
        self.open_counts["openDecisionTasks"] -= 1

    def timeout_decision_task(self, _timeout: Timeout) -> None:
        super().timeout_decision_task(_timeout)
        self.open_counts["openDecisionTasks"] -= 1
        self._decision_task_closed(_timeout.obj)

    # --- activity tasks ---------------------------------------------------------------------

    def schedule_activity_task(self, event_id: int, attributes: dict[str, Any]) -> None:
        activity_id = attributes["activityId"]

        def fail(activity_type: ActivityType, cause: str) -> None:
            self._add_event(
                "ScheduleActivityTaskFailed",
                activity_id=activity_id,
                activity_type=activity_type,
                cause=cause,
                decision_task_completed_event_id=event_id,
            )
            self.should_schedule_decision_next = True

        name = attributes["activityType"]["name"]
        version = attributes["activityType"]["version"]
        activity_type: ActivityType | None = self.domain.get_type(  # type: ignore[assignment]
            "activity", name, version, ignore_empty=True
        )
        if not activity_type:
            fail(UnknownActivityType(name, version), "ACTIVITY_TYPE_DOES_NOT_EXIST")
            return
        if activity_type.status == "DEPRECATED":
            fail(activity_type, "ACTIVITY_TYPE_DEPRECATED")
            return
        # As moto: an id is in use once any task of this execution had it.
        if activity_id in self._activities_by_id:
            fail(activity_type, "ACTIVITY_ID_ALREADY_IN_USE")
            return
        if self.open_counts["openActivityTasks"] >= OPEN_ACTIVITIES_LIMIT:
            fail(activity_type, "OPEN_ACTIVITIES_LIMIT_EXCEEDED")
            return
        task_list = attributes.get("taskList", {}).get("name") or activity_type.task_list
        if not task_list:
            fail(activity_type, "DEFAULT_TASK_LIST_UNDEFINED")
            return
        timeouts: dict[str, Any] = {}
        for key in ACTIVITY_TIMEOUT_KEYS.values():
            default_key = "default_task_" + camelcase_to_underscores(key)
            timeouts[key] = attributes.get(key, getattr(activity_type, default_key))
            if not timeouts[key]:
                fail(
                    activity_type,
                    default_key.replace("default_task_", "default_").upper() + "_UNDEFINED",
                )
                return

        # SWF records the timeouts in effect, defaults included.
        evt = self._add_event(
            "ActivityTaskScheduled",
            activity_id=activity_id,
            activity_type=activity_type,
            control=attributes.get("control"),
            decision_task_completed_event_id=event_id,
            heartbeat_timeout=timeouts["heartbeatTimeout"],
            input=attributes.get("input"),
            schedule_to_close_timeout=timeouts["scheduleToCloseTimeout"],
            schedule_to_start_timeout=timeouts["scheduleToStartTimeout"],
            start_to_close_timeout=timeouts["startToCloseTimeout"],
            task_list=task_list,
            task_priority=attributes.get("taskPriority"),
        )
        now = self.ctx.now()
        task = EngineActivityTask(
            activity_id=activity_id,
            activity_type=activity_type,
            workflow_input=attributes.get("input"),
            scheduled_event_id=evt.event_id,
            workflow_execution=self,
            timeouts=timeouts,
            task_list=task_list,
            scheduled_timestamp=now,
        )
        self._activities_by_token[task.task_token] = task
        self._activities_by_id[activity_id] = task
        self.ctx.activity_tokens[task.task_token] = task
        self.engine_domain.add_to_activity_task_list(task_list, task)
        self.open_counts["openActivityTasks"] += 1
        self.latest_activity_task_timestamp = now
        for kind in ("SCHEDULE_TO_START", "SCHEDULE_TO_CLOSE"):
            deadline = task.deadline(kind)
            if deadline is not None:
                self.ctx.deadlines.push(deadline, kind, task)
        self.ctx.wakeup("activity", self.domain.name, task_list)

    def start_activity_task(self, task_token: str, identity: Any = None) -> None:
        super().start_activity_task(task_token, identity=identity)
        task = self._activities_by_token[task_token]
        now = self.ctx.now()
        task.started_timestamp = now
        task.last_heartbeat_timestamp = now
        for kind in ("START_TO_CLOSE", "HEARTBEAT"):
            deadline = task.deadline(kind)
            if deadline is not None:
                self.ctx.deadlines.push(deadline, kind, task)

    def _activity_closed(self, task: EngineActivityTask, *, count: bool = True) -> None:
        if count:
            self.open_counts["openActivityTasks"] -= 1
        self.engine_domain.activity_closed(task)

    def complete_activity_task(self, task_token: str, result: Any = None) -> None:
        # moto records ActivityTaskCompleted, updates openCounts and schedules a decision task.
        super().complete_activity_task(task_token, result=result)
        self._activity_closed(self._activities_by_token[task_token], count=False)

    def fail_activity_task(
        self, task_token: str, reason: str | None = None, details: Any = None
    ) -> None:
        super().fail_activity_task(task_token, reason=reason, details=details)
        self._activity_closed(self._activities_by_token[task_token], count=False)

    def cancel_activity_task(self, task: EngineActivityTask, details: str | None) -> None:
        """The worker reports the task canceled (RespondActivityTaskCanceled)."""
        self._add_event(
            "ActivityTaskCanceled",
            details=details,
            scheduled_event_id=task.scheduled_event_id,
            started_event_id=task.started_event_id,
            latest_cancel_requested_event_id=task.latest_cancel_requested_event_id,
        )
        task.state = "CANCELED"
        self._activity_closed(task)
        self.schedule_decision_task()

    def request_cancel_activity_task(self, event_id: int, attributes: dict[str, Any]) -> None:
        """The RequestCancelActivityTask decision (fact sheet, "Cancellation")."""
        activity_id = attributes["activityId"]
        task = self._activities_by_id.get(activity_id)
        if task is None or not task.open:
            self._add_event(
                "RequestCancelActivityTaskFailed",
                activity_id=activity_id,
                cause="ACTIVITY_ID_UNKNOWN",
                decision_task_completed_event_id=event_id,
            )
            # A failed decision is a new event for the decider: SWF schedules a decision task.
            self.should_schedule_decision_next = True
            return
        evt = self._add_event(
            "ActivityTaskCancelRequested",
            activity_id=activity_id,
            decision_task_completed_event_id=event_id,
        )
        task.latest_cancel_requested_event_id = evt.event_id
        if task.state == "SCHEDULED":
            # Not yet handed to a worker: SWF cancels it at once.
            self._add_event(
                "ActivityTaskCanceled",
                scheduled_event_id=task.scheduled_event_id,
                started_event_id=task.started_event_id,
                latest_cancel_requested_event_id=evt.event_id,
            )
            task.state = "CANCELED"
            self._activity_closed(task)
            self.should_schedule_decision_next = True
        else:
            # Started: the worker learns of it from its next heartbeat's cancelRequested.
            task.cancel_requested = True

    def timeout_activity_task(self, _timeout: Timeout) -> None:
        # moto records ActivityTaskTimedOut at the deadline with the last heartbeat's details.
        super().timeout_activity_task(_timeout)
        self._activity_closed(_timeout.obj)

    # --- timers -----------------------------------------------------------------------------

    def start_timer(self, event_id: int, attributes: dict[str, Any]) -> None:
        timer_id = attributes["timerId"]
        existing = self._timers.get(timer_id)
        if existing and existing.is_alive():
            self._add_event(
                "StartTimerFailed",
                cause="TIMER_ID_ALREADY_IN_USE",
                decision_task_completed_event_id=event_id,
                timer_id=timer_id,
            )
            return
        delay = attributes["startToFireTimeout"]
        started = self._add_event(
            "TimerStarted",
            control=attributes.get("control"),
            decision_task_completed_event_id=event_id,
            start_to_fire_timeout=delay,
            timer_id=timer_id,
        )
        timer = EngineTimer(self, started.event_id, timer_id)
        self._timers[timer_id] = timer
        self.ctx.deadlines.push(self.ctx.now() + float(delay), "timer", timer)

    def fire_timer(self, timer: EngineTimer) -> None:
        if not timer.alive or not self.open:
            return
        timer.alive = False
        self._fire_timer(timer.started_event_id, timer.timer_id)
