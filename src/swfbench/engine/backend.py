"""moto's SWF backend, extended: indexed lookups, a deadline heap, quotas, cancellation.

One `EngineBackend` serves one process. A single re-entrant lock guards it (moto's models are
not thread-safe); pollers with nothing to take wait on a condition of that lock, so a waiting
poll never blocks other calls.
"""

from __future__ import annotations

import threading
import time
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
from moto.swf.models.timeout import Timeout
from moto.swf.models.workflow_execution import WorkflowExecution
from moto.swf.models.workflow_type import WorkflowType

from swfbench.engine.clock import Clock
from swfbench.engine.deadlines import Deadline
from swfbench.engine.exceptions import ThrottlingException, TypeNotDeprecatedFault
from swfbench.engine.models import (
    EngineActivityTask,
    EngineContext,
    EngineDecisionTask,
    EngineDomain,
    EngineTimer,
    EngineWorkflowExecution,
)
from swfbench.engine.quotas import HeartbeatQuotas, QuotaSettings

T = TypeVar("T")
S = TypeVar("S", EngineActivityTask, EngineDecisionTask)

DEFAULT_POLL_WAIT = 1.0
"""Seconds a poll with nothing to hand out waits (real SWF long-polls 60 s; moto sleeps 1 s)."""


class EngineBackend(SWFBackend):
    """moto's SWFBackend with O(1) token and task-list lookups and deadline-driven timeouts."""

    def __init__(
        self,
        region_name: str = "us-east-1",
        account_id: str = "123456789012",
        *,
        clock: Clock,
        quotas: QuotaSettings | None = None,
        poll_wait: float = DEFAULT_POLL_WAIT,
    ) -> None:
        super().__init__(region_name, account_id)
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        """Notified whenever a task is scheduled or time moves."""
        self.ctx = EngineContext(clock, self.changed.notify_all)
        self.ctx.on_execution_closed = self._execution_closed
        self.quota_settings = quotas
        self.quotas = HeartbeatQuotas(quotas, clock) if quotas is not None else None
        self.poll_wait = poll_wait

    # --- timeouts ---------------------------------------------------------------------------

    def _process_timeouts(self) -> None:
        # moto scans every task of every domain here; the heap answers in O(1) when nothing is due.
        now = self.clock.now()
        deadlines = self.ctx.deadlines
        entry = deadlines.pop_due(now)
        while entry is not None:
            self._fire(entry)
            entry = deadlines.pop_due(now)

    def _fire(self, entry: Deadline) -> None:
        kind = entry.kind
        if kind == "timer":
            wfe, timer = entry.target
            assert isinstance(wfe, EngineWorkflowExecution)
            assert isinstance(timer, EngineTimer)
            self._at(entry.at, lambda: wfe.fire_timer(timer))
            return
        if kind == "workflow":
            execution: EngineWorkflowExecution = entry.target
            if execution.open:
                # The only workflow execution timeout type (model enum WorkflowExecutionTimeoutType).
                expired = Timeout(execution, entry.at, "START_TO_CLOSE")
                self._at(entry.at, lambda: execution.timeout(expired))
            return
        if kind == "decision":
            dt: EngineDecisionTask = entry.target
            due = dt.deadline()
            if due is None or not dt.workflow_execution.open:
                return
            owner = dt.engine_execution

            def time_out_decision() -> None:
                owner.timeout_decision_task(Timeout(dt, entry.at, "START_TO_CLOSE"))
                owner.schedule_decision_task()

            self._at(entry.at, time_out_decision)
            return
        task: EngineActivityTask = entry.target
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
            wfe_of_task.timeout_activity_task(Timeout(task, due, kind))
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
        """Fire every timeout that is due; the background sweeper calls this."""
        with self.lock:
            before = len(self.ctx.deadlines)
            self._process_timeouts()
            if len(self.ctx.deadlines) != before:
                self.changed.notify_all()

    def time_moved(self) -> None:
        """The virtual clock was advanced: fire what fell due, each stamped at its deadline,
        and wake the pollers."""
        with self.lock:
            self._process_timeouts()
            self.changed.notify_all()

    def _execution_closed(self, wfe: EngineWorkflowExecution) -> None:
        if self.quotas is not None:
            self.quotas.forget(wfe.run_id)

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

    def _wait(self, until: float) -> bool:
        """Wait (lock released) until something changes or `until`; False once it passed."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            return False
        self.changed.wait(remaining)
        return True

    def poll_for_decision_task(
        self, domain_name: str, task_list: Any, identity: str | None = None
    ) -> DecisionTask | None:
        def take(domain: EngineDomain) -> EngineDecisionTask | None:
            task = domain.next_decision_task(task_list)
            if task is not None:
                task.engine_execution.start_decision_task(task.task_token, identity=identity)
            return task

        return self._poll(domain_name, take)

    def poll_for_activity_task(
        self, domain_name: str, task_list: Any, identity: str | None = None
    ) -> ActivityTask | None:
        def take(domain: EngineDomain) -> EngineActivityTask | None:
            task = domain.next_activity_task(task_list)
            if task is not None:
                task.engine_execution.start_activity_task(task.task_token, identity=identity)
            return task

        return self._poll(domain_name, take)

    def _poll(self, domain_name: str, take: Callable[[EngineDomain], T | None]) -> T | None:
        """SWF's long poll, shortened: hand out a task as soon as one is scheduled, or give an
        empty answer after `poll_wait` (real SWF holds a poll for up to 60 s)."""
        until = time.monotonic() + self.poll_wait
        while True:
            self._process_timeouts()
            task = take(self._engine_domain(domain_name))
            if task is not None:
                return task
            if not self._wait(until):
                return None

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

    @staticmethod
    def _started_task(tokens: Mapping[str, S], task_token: str, kind: str) -> S:
        """The started task behind a token, or the fault SWF answers for it."""
        task = tokens.get(task_token)
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
