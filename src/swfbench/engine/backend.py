"""moto's SWF backend, extended: indexed lookups, a deadline heap, quotas, cancellation.

One `EngineBackend` serves one region of one process. A single re-entrant lock guards it
(moto's models are not thread-safe). A poll never blocks: with nothing to take, it answers
empty, or (`may_wait`) raises `PollWaits` so that the server holds the call and runs it again
when a task is scheduled on its task list (`on_task_ready`) or its wait runs out; waiting polls
never block other calls.

Closed executions are kept for their domain's retention period on the engine clock (so a
virtual clock ages them too) and at most `max_closed_executions` of them, oldest forgotten
first; a forgotten execution is unknown to every call, as SWF's are past retention.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from moto.swf.exceptions import (
    SWFDomainAlreadyExistsFault,
    SWFTypeDeprecatedFault,
    SWFUnknownResourceFault,
    SWFValidationException,
)
from moto.swf.models import SWFBackend
from moto.swf.models.activity_task import ActivityTask
from moto.swf.models.decision_task import DecisionTask
from moto.swf.models.generic_type import GenericType
from moto.swf.models.workflow_execution import WorkflowExecution
from moto.swf.models.workflow_type import WorkflowType

from swfbench.engine.clock import Clock
from swfbench.engine.deadlines import Deadline
from swfbench.engine.exceptions import ThrottlingException, TypeNotDeprecatedFault
from swfbench.engine.limits import DEFAULT_MAX_CLOSED_EXECUTIONS
from swfbench.engine.models import (
    EngineActivityTask,
    EngineContext,
    EngineDecisionTask,
    EngineDomain,
    EngineTimeout,
    EngineTimer,
    EngineWorkflowExecution,
)
from swfbench.engine.quotas import HeartbeatQuotas, QuotaSettings

S = TypeVar("S", EngineActivityTask, EngineDecisionTask)

DEFAULT_POLL_WAIT = 1.0
"""Seconds a poll with nothing to hand out waits (real SWF long-polls 60 s; moto sleeps 1 s)."""

TaskReady = Callable[["EngineBackend", str, str, str], None]
"""(backend, "activity" or "decision", domain name, task list): a task can be taken there."""


class PollWaits(Exception):
    """A poll found nothing to take and may wait for a task on its task list."""

    def __init__(self, kind: str, domain_name: str, task_list: str) -> None:
        super().__init__(kind, domain_name, task_list)
        self.key = (kind, domain_name, task_list)


COMPACT_MIN = 4096
"""The deadline heap is never compacted below this many entries."""

RETENTION = "retention"
"""Deadline kind: a closed execution's retention period ends."""


class EngineBackend(SWFBackend):
    """moto's SWFBackend with O(1) token and task-list lookups and deadline-driven timeouts."""

    def __init__(
        self,
        region_name: str = "us-east-1",
        account_id: str = "123456789012",
        *,
        clock: Clock,
        quotas: QuotaSettings | None = None,
        max_closed_executions: int = DEFAULT_MAX_CLOSED_EXECUTIONS,
        on_task_ready: TaskReady | None = None,
    ) -> None:
        super().__init__(region_name, account_id)
        self.clock = clock
        self.lock = threading.RLock()
        self.on_task_ready = on_task_ready
        """Told whenever a task can be taken from a task list (a waiting poll may take it)."""
        self.ctx = EngineContext(clock, self._task_ready)
        self.ctx.on_execution_closed = self._execution_closed
        self.quota_settings = quotas
        self.quotas = HeartbeatQuotas(quotas, clock) if quotas is not None else None
        self.max_closed_executions = max_closed_executions
        # Closed executions still known, oldest close first.
        self.closed: OrderedDict[EngineWorkflowExecution, None] = OrderedDict()
        self._compact_above = COMPACT_MIN

    # --- timeouts ---------------------------------------------------------------------------

    def _process_timeouts(self) -> None:
        # moto scans every task of every domain here; the heap answers in O(1) when nothing is due.
        now = self.clock.now()
        deadlines = self.ctx.deadlines
        due = deadlines.pop_due(now)
        while due is not None:
            self._fire(*due)
            due = deadlines.pop_due(now)
        self._trim_closed()
        if len(deadlines) > self._compact_above:
            deadlines.compact(self._pending)
            self._compact_above = max(COMPACT_MIN, 2 * len(deadlines))

    def _pending(self, entry: Deadline, target: Any) -> bool:
        """False for an entry that would do nothing when it falls due."""
        kind = entry.kind
        if kind == RETENTION:
            return target in self.closed
        if kind == "timer":
            return bool(target.alive and target.execution.open)
        if kind == "workflow":
            return bool(target.open)
        if not target.workflow_execution.open:
            return False
        return (target.deadline() if kind == "decision" else target.deadline(kind)) is not None

    def _fire(self, entry: Deadline, target: Any) -> None:
        kind = entry.kind
        if kind == RETENTION:
            if target in self.closed:
                self._forget(target)
            return
        if kind == "timer":
            timer: EngineTimer = target
            self._at(entry.at, lambda: timer.execution.fire_timer(timer))
            return
        if kind == "workflow":
            execution: EngineWorkflowExecution = target
            if execution.open:
                # The only workflow execution timeout type (model enum WorkflowExecutionTimeoutType).
                expired = EngineTimeout(execution, entry.at, "START_TO_CLOSE")
                self._at(entry.at, lambda: execution.timeout(expired))
            return
        if kind == "decision":
            dt: EngineDecisionTask = target
            due = dt.deadline()
            if due is None or not dt.workflow_execution.open:
                return
            owner = dt.engine_execution

            def time_out_decision() -> None:
                owner.timeout_decision_task(EngineTimeout(dt, entry.at, "START_TO_CLOSE"))
                owner.schedule_decision_task()

            self._at(entry.at, time_out_decision)
            return
        task: EngineActivityTask = target
        if not task.workflow_execution.open:
            return
        due = task.deadline(kind)
        if due is None:
            return
        if due > entry.at:
            # A heartbeat moved the deadline; look again then.
            self.ctx.deadlines.push(due, kind, task)
            return
        wfe_of_task = task.engine_execution

        def time_out_activity() -> None:
            # Stamped at the deadline (fact sheet: ActivityTaskTimedOut carries the last
            # heartbeat's details); a timed-out activity is an event for the decider.
            wfe_of_task.timeout_activity_task(EngineTimeout(task, due, kind))
            wfe_of_task.schedule_decision_task()

        self._at(due, time_out_activity)

    def _at(self, stamp: float, action: Any) -> None:
        self.ctx.stamp = stamp
        try:
            action()
        finally:
            self.ctx.stamp = None

    def next_deadline(self) -> float | None:
        with self.lock:
            return self.ctx.deadlines.next_at()

    def sweep(self) -> None:
        """Fire every timeout that is due (the server does when no call comes to do it, and
        when the virtual clock was advanced: each event is stamped at its deadline)."""
        with self.lock:
            self._process_timeouts()

    def _task_ready(self, kind: str, domain_name: str, task_list: str) -> None:
        if self.on_task_ready is not None:
            self.on_task_ready(self, kind, domain_name, task_list)

    def _execution_closed(self, wfe: EngineWorkflowExecution) -> None:
        if self.quotas is not None:
            self.quotas.forget(wfe.run_id)
        self.closed[wfe] = None
        retention = wfe.engine_domain.retention_seconds
        if retention is not None:
            # Forgotten when due, at the latest on the next call (at once for NONE or 0).
            closed_at = wfe.close_timestamp if wfe.close_timestamp is not None else self.ctx.now()
            self.ctx.deadlines.push(closed_at + retention, RETENTION, wfe)
        self._trim_closed(closing=wfe)

    def _trim_closed(self, closing: EngineWorkflowExecution | None = None) -> None:
        """Forget the oldest closed executions beyond the cap; `closing`, still in use by the
        call that closes it, waits for the next call."""
        while len(self.closed) > self.max_closed_executions:
            oldest = next(iter(self.closed))
            if oldest is closing:
                return
            self._forget(oldest)

    def _forget(self, wfe: EngineWorkflowExecution) -> None:
        del self.closed[wfe]
        wfe.forget()

    def state(self) -> dict[str, int]:
        """How much the engine holds: executions, task tokens, deadlines."""
        with self.lock:
            known = sum(d.execution_count for d in self.domains if isinstance(d, EngineDomain))
            return {
                "open_executions": known - len(self.closed),
                "closed_executions": len(self.closed),
                "task_tokens": len(self.ctx.activity_tokens) + len(self.ctx.decision_tokens),
                "deadlines": len(self.ctx.deadlines),
            }

    # --- domains and executions -------------------------------------------------------------

    def register_domain(
        self,
        name: str,
        workflow_execution_retention_period_in_days: int,
        description: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        if self._get_domain(name, ignore_empty=True):
            raise SWFDomainAlreadyExistsFault(name)
        domain = EngineDomain(
            name,
            workflow_execution_retention_period_in_days,
            account_id=self.account_id,
            region_name=self.region_name,
            description=description,
        )
        self.domains.append(domain)
        if tags:
            self.tagger.tag_resource(domain.to_short_dict()["arn"], tags)

    def deprecate_domain(self, name: str) -> None:
        # "Deprecating a domain also deprecates all activity and workflow types registered in
        # the domain" (API reference, DeprecateDomain).
        super().deprecate_domain(name)
        self._engine_domain(name).deprecate_types()

    def undeprecate_domain(self, name: str) -> None:
        # "After a domain has been undeprecated it can be used to create new workflow
        # executions": the types the domain's deprecation deprecated are registered again.
        super().undeprecate_domain(name)
        self._engine_domain(name).undeprecate_types()

    def register_type(
        self, kind: str, domain_name: str, name: str, version: str, **kwargs: Any
    ) -> None:
        # A deprecated domain "cannot be used to ... register new types" (API reference,
        # DeprecateDomain); the model declares UnknownResourceFault for a domain "no longer
        # available for this operation".
        if self._get_domain(domain_name).status == "DEPRECATED":
            raise SWFUnknownResourceFault("domain", domain_name)
        super().register_type(kind, domain_name, name, version, **kwargs)

    def find_types(
        self, kind: str, domain_name: str, status: str, name: str | None = None
    ) -> list[GenericType]:
        """ListActivityTypes/ListWorkflowTypes: by name, then version."""
        found = self._get_domain(domain_name).find_types(kind, status)
        if name is not None:
            found = [t for t in found if t.name == name]
        return sorted(found, key=lambda t: (t.name, t.version))

    def delete_type(self, kind: str, domain_name: str, name: str, version: str) -> None:
        """DeleteActivityType/DeleteWorkflowType: only a deprecated type; tasks and executions
        of it that already exist keep running (API reference)."""
        domain = self._engine_domain(domain_name)
        found = domain.get_type(kind, name, version)
        if found.status != "DEPRECATED":
            raise TypeNotDeprecatedFault(kind, name, version)
        domain.remove_type(found)

    def executions_of(self, domain_name: str) -> list[WorkflowExecution]:
        """Every execution of a domain, open and closed, for the visibility calls (which work
        on a deprecated domain too)."""
        self._process_timeouts()
        return list(self._engine_domain(domain_name).workflow_executions)

    def _engine_domain(self, name: str) -> EngineDomain:
        domain = self._get_domain(name)
        assert isinstance(domain, EngineDomain)
        return domain

    def start_workflow_execution(
        self,
        domain_name: str,
        workflow_id: str,
        workflow_name: str,
        workflow_version: str,
        tag_list: dict[str, str] | None = None,
        workflow_input: str | None = None,
        **kwargs: Any,
    ) -> WorkflowExecution:
        self._process_timeouts()
        domain = self._engine_domain(domain_name)
        wf_type = domain.get_type("workflow", workflow_name, workflow_version)
        assert isinstance(wf_type, WorkflowType)
        if wf_type.status == "DEPRECATED":
            raise SWFTypeDeprecatedFault(wf_type)
        wfe = EngineWorkflowExecution(
            domain,
            wf_type,
            workflow_id,
            self.ctx,
            tag_list=tag_list,
            workflow_input=workflow_input,
            **kwargs,
        )
        domain.add_workflow_execution(wfe)
        wfe.start()
        return wfe

    def request_cancel_workflow_execution(
        self, domain_name: str, workflow_id: str, run_id: str | None = None
    ) -> None:
        self._process_timeouts()
        domain = self._engine_domain(domain_name)
        wfe = domain.get_workflow_execution(workflow_id, run_id=run_id, raise_if_closed=True)
        assert isinstance(wfe, EngineWorkflowExecution)
        wfe.request_cancel()

    # --- polling ----------------------------------------------------------------------------

    def poll_for_decision_task(
        self,
        domain_name: str,
        task_list: Any,
        identity: str | None = None,
        *,
        may_wait: bool = False,
    ) -> DecisionTask | None:
        """The oldest decision task of the list, started; None, or with `may_wait`
        PollWaits, when there is none."""
        self._process_timeouts()
        task = self._engine_domain(domain_name).next_decision_task(task_list)
        if task is not None:
            task.engine_execution.start_decision_task(task.task_token, identity=identity)
        elif may_wait:
            raise PollWaits("decision", domain_name, task_list)
        return task

    def poll_for_activity_task(
        self,
        domain_name: str,
        task_list: Any,
        identity: str | None = None,
        *,
        may_wait: bool = False,
    ) -> ActivityTask | None:
        """The oldest activity task of the list, started; None, or with `may_wait`
        PollWaits, when there is none."""
        self._process_timeouts()
        task = self._engine_domain(domain_name).next_activity_task(task_list)
        if task is not None:
            task.engine_execution.start_activity_task(task.task_token, identity=identity)
        elif may_wait:
            raise PollWaits("activity", domain_name, task_list)
        return task

    def count_pending_decision_tasks(self, domain_name: str, task_list: Any) -> int:
        self._process_timeouts()
        return self._engine_domain(domain_name).pending_decisions(task_list)

    def count_pending_activity_tasks(self, domain_name: str, task_list: Any) -> int:
        # Tasks waiting in the list for a worker: started ones are no longer pending (fact
        # sheet, "Polls, events and the wire": "the estimated number of activity tasks in the
        # specified task list").
        self._process_timeouts()
        return self._engine_domain(domain_name).pending_activities(task_list)

    # --- task tokens ------------------------------------------------------------------------

    def respond_decision_task_completed(
        self,
        task_token: str,
        decisions: list[dict[str, Any]] | None = None,
        execution_context: str | None = None,
    ) -> None:
        self._process_timeouts()
        task = self._started_task(self.ctx.decision_tokens, task_token, "decision task")
        task.engine_execution.complete_decision_task(
            task_token, decisions=decisions, execution_context=execution_context
        )

    def _find_activity_task_from_token(self, task_token: str) -> EngineActivityTask:
        return self._started_task(self.ctx.activity_tokens, task_token, "activity")

    def _started_task(self, tokens: Mapping[str, S], task_token: str, kind: str) -> S:
        """The started task behind a token, or the fault SWF answers for it."""
        task = tokens.get(task_token)
        if task is None and self.ctx.issued(task_token):
            # The task's execution closed and was forgotten: past retention SWF no longer knows
            # the execution (the fault declared for every call that takes a token).
            raise SWFUnknownResourceFault("execution", "closed and no longer retained")
        if task is None:
            # A token the engine never handed out. Real SWF's answer is unknown (fact sheet:
            # "Garbage token"); the engine keeps moto's ValidationException "Invalid token",
            # so both engines agree where SWF is not known.
            raise SWFValidationException("Invalid token")
        wfe = task.workflow_execution
        if not wfe.open:
            # Observed on SWF (fact sheet: severb/flowy issue 3).
            raise SWFUnknownResourceFault(
                "execution",
                f"WorkflowExecution=[workflowId={wfe.workflow_id}, runId={wfe.run_id}]",
            )
        if task.state != "STARTED":
            # Completed, failed, canceled or timed out (fact sheet: "Unknown activity" prefix
            # observed, the scheduledEventId suffix inferred).
            raise SWFUnknownResourceFault(f"{kind}, scheduledEventId = {task.scheduled_event_id}")
        return task

    def heartbeat(self, task_token: str, details: str | None = None) -> bool:
        """RecordActivityTaskHeartbeat; returns cancelRequested."""
        self._process_timeouts()
        task = self._find_activity_task_from_token(task_token)
        if self.quotas is not None and not self.quotas.allow(task.workflow_execution.run_id):
            # Throttled before any effect: the heartbeat clock is not reset.
            raise ThrottlingException()
        task.last_heartbeat_timestamp = self.clock.now()
        if details is not None:
            task.details = details
        return task.cancel_requested

    def record_activity_task_heartbeat(self, task_token: str, details: Any = None) -> None:
        self.heartbeat(task_token, details)

    def respond_activity_task_canceled(self, task_token: str, details: str | None = None) -> None:
        self._process_timeouts()
        task = self._find_activity_task_from_token(task_token)
        task.engine_execution.cancel_activity_task(task, details)
