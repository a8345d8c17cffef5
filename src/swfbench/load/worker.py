"""One simulated activity worker: take a task through the real SWF flow, heartbeat it on an
absolute schedule, end it the way the profile says, and measure what only a heartbeat tool can.

Nothing here knows Locust or the scheduler: a worker is a small state object whose `step` does
what is due and says when it is due next; senders hand in their send path, and the process's
workers share one `WorkerContext`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swfbench.activity import ActivityHandle, start_activity
from swfbench.errors import SwfbenchError, SWFError
from swfbench.load.fleet import FleetRuntime
from swfbench.load.metrics import FleetMetrics
from swfbench.load.profile import Outcome, Profile, percent
from swfbench.load.transport import HeartbeatSender

MIN_INTERVAL_S = 0.001
SETUP_BACKOFF_S = 1.0
"""Pause after a failed task start (a refusing or throttling target), so a worker never spins."""
TIMEOUT_POLL_S = 0.5
EARLY_TOLERANCE_S = 0.25
"""A timeout event this much before its deadline counts as early (allows for clock rounding)."""
CLOSING_EVENTS = {
    "ActivityTaskTimedOut": "activityTaskTimedOutEventAttributes",
    "ActivityTaskCompleted": "activityTaskCompletedEventAttributes",
    "ActivityTaskFailed": "activityTaskFailedEventAttributes",
    "ActivityTaskCanceled": "activityTaskCanceledEventAttributes",
}


def _task_gone_code(code: str) -> bool:
    # Real SWF answers UnknownResourceFault for a closed task; moto answers HTTP 500 (fact sheet).
    return code == "UnknownResourceFault" or code.startswith("HTTP5")


@dataclass(frozen=True, kw_only=True)
class Clock:
    """Wall time (for SWF event timestamps), monotonic time (for pacing), and sleep."""

    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(kw_only=True, slots=True)
class _Task:
    handle: ActivityHandle
    outcome: Outcome
    duration_s: float
    started_wall: float
    started_mono: float
    last_beat_wall: float = 0.0
    max_gap_s: float = 0.0
    beats: int = 0
    planned_end: float
    """Monotonic."""
    cancel_at: float | None = None
    """When the decider asks for cancellation (monotonic); None when the outcome is not cancel."""
    obey: bool = False
    """Whether the worker answers a cancellation with RespondActivityTaskCanceled."""
    cancel_tried: bool = False
    cancel_decided: float | None = None
    cancel_seen: bool = False
    deadlines: dict[str, float] | None = None
    """Once silent: when each timeout should fire (wall clock), by timeout type."""


@dataclass(kw_only=True)
class WorkerContext:
    """What every simulated worker of one process shares: the fleet runtime (profile, clients,
    metrics), one random generator and the clock. Workers hold only their own state."""

    runtime: FleetRuntime
    rng: random.Random = field(default_factory=random.Random)
    clock: Clock = field(default_factory=Clock)
    profile: Profile = field(init=False)
    metrics: FleetMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.profile, self.metrics = self.runtime.profile, self.runtime.metrics


class Pacer:
    """An absolute heartbeat schedule: the next beat is due one interval after the previous
    *due* time, so a slow target shows up as lag instead of a silently lower rate.

    The schedule also counts what was due: each beat taken (`take`), and when the schedule ends
    (`finish`: the task ended, or the run stopped) the due times it never reached, because the
    worker was still waiting on an answer or no sender was free. A target that hangs leaves
    beats due and unsent.
    """

    __slots__ = ("active", "due", "taken", "until")

    def __init__(self) -> None:
        self.due = 0.0
        self.until = math.inf
        """When the schedule ends by itself (the task's planned end), monotonic."""
        self.taken = False
        """The beat due at `due` was taken (counted, being sent) and `advance` not yet called."""
        self.active = False

    def start(self, context: WorkerContext, until: float = math.inf) -> float:
        """Begin the schedule now; return the first due time (monotonic)."""
        profile = context.profile
        interval = profile.interval.mean_s
        now = context.clock.mono()
        if profile.synchronized_start:
            # Thundering herd: every worker, in every process, beats on the same wall-clock
            # multiples of the interval.
            wall = context.clock.wall()
            self.due = now + (math.ceil(wall / interval) * interval - wall)
        else:
            self.due = now + context.rng.uniform(0.0, interval)
        self.until, self.taken, self.active = until, False, True
        return self.due

    def take(self, context: WorkerContext) -> float:
        """The beat is being sent now: count it due and sent, record and return its lag
        (seconds late)."""
        lag = max(0.0, context.clock.mono() - self.due)
        self.taken = True
        context.metrics.beat_sent(lag)
        return lag

    def advance(self, context: WorkerContext) -> float:
        """The beat is over: return the next due time."""
        self.due += max(MIN_INTERVAL_S, context.profile.interval.sample(context.rng))
        self.taken = False
        return self.due

    def finish(self, context: WorkerContext, end: float | None = None) -> None:
        """End the schedule at `end` (monotonic; default now, and never past `until`): the due
        times before it that were never taken count as due, unsent. Idempotent."""
        if not self.active:
            return
        self.active = False
        end = min(self.until, context.clock.mono() if end is None else end)
        # The next untaken due time; past a taken beat, one interval on (its sample unknown).
        mean = max(MIN_INTERVAL_S, context.profile.interval.mean_s)
        untaken = self.due + (mean if self.taken else 0.0)
        if end > untaken:
            context.metrics.record_due(math.ceil((end - untaken) / mean))


class HeartbeatOnlyWorker:
    """Heartbeats a made-up token forever on the profile's schedule: the send path alone, for
    benchmarks against a sink that answers every heartbeat with {"cancelRequested": false}."""

    __slots__ = ("index", "pacer", "retired")

    def __init__(self, index: int) -> None:
        self.index = index
        self.retired = False
        self.pacer = Pacer()

    def __lt__(self, other: HeartbeatOnlyWorker) -> bool:
        return self.index < other.index

    def begin(self, context: WorkerContext) -> float:
        return self.pacer.start(context)

    def step(self, context: WorkerContext, sender: HeartbeatSender) -> float:
        pacer = self.pacer
        details = context.profile.details.make(50.0, context.rng)
        pacer.take(context)
        result = sender.heartbeat(SINK_TOKEN, details)
        if result.error_code is None:
            context.metrics.beat_ok(result.duration_s, result.response_size)
        else:
            context.metrics.beat_failed()
        return pacer.advance(context)

    def finish(self, context: WorkerContext, end: float | None = None) -> None:
        self.pacer.finish(context, end)


SINK_TOKEN = "swfbench-heartbeat-only-" + "0" * 232
"""The made-up task token of heartbeat-only workers (256 characters, as engines' tokens are)."""

_START, _BEATING, _SILENT = 0, 1, 2
"""What a simulated worker does when it wakes: start a task, heartbeat it, or wait for SWF to
time out the task it went silent on."""


class SimulatedWorker:
    """Runs activity tasks one after another, as the fleet profile says.

    The worker is a small state object, not a greenlet: whichever sender takes it when it is
    due runs one `step` (start a task, send a heartbeat, end the task, check a timeout) and gets
    back when the worker is due next. Between steps it waits in the scheduler, costing memory
    only. `run_one` drives one task to its end in the calling greenlet, for tests and tools.
    """

    __slots__ = ("ended", "index", "pacer", "phase", "retired", "task")

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.retired = False
        self.phase = _START
        self.task: _Task | None = None
        self.pacer = Pacer()
        self.ended: str | None = None
        """How the last task ended (None: it could not start)."""

    def __lt__(self, other: SimulatedWorker) -> bool:
        return self.index < other.index

    def begin(self, context: WorkerContext) -> float:
        """A new worker starts its first task at once."""
        return context.clock.mono()

    def finish(self, context: WorkerContext, end: float | None = None) -> None:
        """The run stopped or the worker was retired: its heartbeat schedule ends (its task, if
        any, stays open for the closing audit)."""
        self.pacer.finish(context, end)

    def run_one(self, context: WorkerContext, sender: HeartbeatSender) -> str | None:
        """Start a task and drive it to its end here, sleeping between steps; how it ended."""
        self.ended = None
        wake = self.step(context, sender)
        while self.task is not None:
            context.clock.sleep(max(0.0, wake - context.clock.mono()))
            wake = self.step(context, sender)
        return self.ended

    def step(self, context: WorkerContext, sender: HeartbeatSender) -> float:
        """Do what is due now; return when the worker is due next (monotonic)."""
        try:
            if self.phase == _BEATING:
                return self._beats(context, sender)
            if self.phase == _SILENT:
                return self._silent(context)
            return self._start_task(context)
        except Exception as exc:  # a defect, or a profile value validation let through
            # Measured as a WorkerError of its type, not one traceback per task from Locust.
            context.runtime.record_worker_error(exc)
            if self.task is None:
                return context.clock.mono() + SETUP_BACKOFF_S
            return self._end(context, self.task, "worker_error")

    # One task, start to end -----------------------------------------------------------------

    def _start_task(self, context: WorkerContext) -> float:
        profile, metrics, clock = context.profile, context.metrics, context.clock
        outcome = profile.pick_outcome(context.rng)
        duration = max(0.0, profile.duration.sample(context.rng))
        try:
            handle = self._start(context)
        except SwfbenchError:
            # Already reported to Locust by the client's observer, with its error code.
            metrics.count("setup_failures")
            return clock.mono() + SETUP_BACKOFF_S
        context.runtime.open_handles[handle.workflow_id] = handle
        metrics.count("tasks_started")
        wall, mono = clock.wall(), clock.mono()
        task = _Task(
            handle=handle,
            outcome=outcome,
            duration_s=duration,
            started_wall=wall,
            started_mono=mono,
            last_beat_wall=wall,
            planned_end=mono + duration,
            cancel_at=mono + duration * profile.cancel_after if outcome == "cancel" else None,
            obey=outcome == "cancel" and context.rng.random() < profile.cancel_obey,
        )
        self.task, self.phase = task, _BEATING
        self.pacer.start(context, until=task.planned_end)
        return self._next_wake(context, task)

    def _start(self, context: WorkerContext) -> ActivityHandle:
        """Start a task; when the target no longer knows the domain or its types (it was
        restarted empty), register them again and try once more."""
        runtime, profile = context.runtime, context.profile
        try:
            return start_activity(runtime.client, domain=profile.domain, timeouts=profile.timeouts)
        except SWFError as exc:
            if exc.operation != "StartWorkflowExecution" or exc.code != "UnknownResourceFault":
                raise
            runtime.register_again()
            return start_activity(runtime.client, domain=profile.domain, timeouts=profile.timeouts)

    def _end(self, context: WorkerContext, task: _Task, end: str) -> float:
        """The task is over (`end` says how): count it, close its execution; the next task
        starts at once."""
        self.pacer.finish(context)
        self.task, self.phase, self.ended = None, _START, end
        context.metrics.count(end)
        context.runtime.open_handles.pop(task.handle.workflow_id, None)
        try:
            # The activity is over; its workflow execution is not. Close it so nothing is left
            # open and the target does not slow down under executions nobody drives.
            task.handle.close()
        except SwfbenchError:
            context.metrics.count("close_failures")
        return context.clock.mono()

    def _next_wake(self, context: WorkerContext, task: _Task) -> float:
        """The next heartbeat, or sooner what the task's plan has due: the decider's
        cancellation request, the planned end, the end of the wait for a cancellation."""
        wake = self.pacer.due
        if task.cancel_at is not None and not task.cancel_tried:
            wake = min(wake, task.cancel_at)
        if task.cancel_decided is not None and not task.cancel_seen:
            wake = min(wake, task.cancel_decided + context.profile.cancel_propagation_wait_s)
        if context.clock.mono() < task.planned_end:
            wake = min(wake, task.planned_end)
        return wake

    def _beats(self, context: WorkerContext, sender: HeartbeatSender) -> float:
        profile, clock, task = context.profile, context.clock, self.task
        assert task is not None
        now = clock.mono()
        if task.outcome == "silent" and now >= task.planned_end:
            return self._go_silent(context, task)
        if task.cancel_at is not None and now >= task.cancel_at and not task.cancel_tried:
            task.cancel_tried = True
            self._request_cancel(context, task)
            now = clock.mono()
        awaiting_cancel = (
            task.cancel_decided is not None
            and not task.cancel_seen
            and now < task.cancel_decided + profile.cancel_propagation_wait_s
        )
        cancel_pending = task.cancel_at is not None and not task.cancel_tried
        if now >= task.planned_end and not awaiting_cancel and not cancel_pending:
            return self._finish(context, task)
        if now >= self.pacer.due:
            ended = self._beat(context, sender, task)
            if ended is not None:
                return self._end(context, task, ended)
            self.pacer.advance(context)
        return self._next_wake(context, task)

    def _beat(self, context: WorkerContext, sender: HeartbeatSender, task: _Task) -> str | None:
        """The heartbeat due now (counted due and sent as it leaves); returns an end
        classification when the task is over."""
        clock, metrics = context.clock, context.metrics
        elapsed = clock.mono() - task.started_mono
        details = context.profile.details.make(percent(elapsed, task.duration_s), context.rng)
        token = task.handle.task_token or ""
        sent_wall = clock.wall()
        self.pacer.take(context)
        result = sender.heartbeat(token, details)
        if result.error_code is not None:
            metrics.beat_failed()
            if _task_gone_code(result.error_code):
                return self._task_gone(context, task, sent_wall)
            return None  # throttled or refused: measured, and the worker keeps its schedule
        metrics.beat_ok(result.duration_s, result.response_size)
        task.max_gap_s = max(task.max_gap_s, sent_wall - task.last_beat_wall)
        task.last_beat_wall = sent_wall
        task.beats += 1
        if result.cancel_requested and not task.cancel_seen:
            task.cancel_seen = True
            if task.cancel_decided is not None:
                metrics.count("cancel_propagated")
                metrics.record("cancel_propagation", clock.mono() - task.cancel_decided)
            else:
                metrics.count("cancel_unrequested")
            if task.obey:
                metrics.count("cancel_obeyed")
                return self._end_call(context, task, "canceled", task.handle.respond_canceled)
            metrics.count("cancel_ignored")
        return None

    def _request_cancel(self, context: WorkerContext, task: _Task) -> None:
        """The decider's RequestCancelActivityTask; it reaches the worker only through a
        heartbeat answering cancelRequested: true (fact sheet, "Cancellation")."""
        metrics = context.metrics
        metrics.count("cancel_requested")
        outcome = "cancel_interrupted"  # unless the call ends: the run stopped during it
        try:
            task.handle.request_cancel()
            outcome = ""
        except SwfbenchError:
            # Plain moto does not implement the decision and answers HTTP 500 (fact sheet).
            outcome = "cancel_decision_failed"
            return
        finally:
            if outcome:
                metrics.count(outcome)
        task.cancel_decided = context.clock.mono()

    def _finish(self, context: WorkerContext, task: _Task) -> float:
        if task.cancel_decided is not None and not task.cancel_seen:
            context.metrics.count("cancel_lost")
        if task.outcome == "fail":
            end = self._end_call(
                context,
                task,
                "failed",
                lambda: task.handle.fail(reason="swfbench", details="planned"),
            )
        else:
            end = self._end_call(context, task, "completed", task.handle.complete)
        return self._end(context, task, end)

    def _end_call(
        self, context: WorkerContext, task: _Task, end: str, call: Callable[[], None]
    ) -> str:
        try:
            call()
        except SwfbenchError:
            context.metrics.count("end_call_failures")
            gone = self._task_gone(context, task, context.clock.wall())
            return gone or "vanished"
        return end

    # When the task is no longer ours ------------------------------------------------------

    def _closing_event(self, task: _Task) -> dict[str, Any] | None:
        try:
            events = task.handle.history()
        except SWFError as exc:
            if exc.code == "UnknownResourceFault":
                # The target knows no such execution: restarted empty, the task went with it.
                return {"eventType": "ExecutionUnknown"}
            return None
        except SwfbenchError:
            return None
        for event in events:
            attributes_key = CLOSING_EVENTS.get(event["eventType"])
            if attributes_key is None:
                continue
            attributes = event.get(attributes_key, {})
            if int(attributes.get("scheduledEventId", -1)) == task.handle.scheduled_event_id:
                return dict(event)
        return None

    def _task_gone(self, context: WorkerContext, task: _Task, now_wall: float) -> str | None:
        """A call said the task is unknown: find out why. None when it is in fact still open."""
        event = self._closing_event(task)
        if event is None:
            return None
        if event["eventType"] != "ActivityTaskTimedOut":
            return "vanished"
        # A worker that was never late had every heartbeat within the timeout of the previous
        # one; a timeout then is the service's doing: a false timeout.
        timeout_type = event["activityTaskTimedOutEventAttributes"].get("timeoutType")
        gap = max(task.max_gap_s, now_wall - task.last_beat_wall)
        heartbeat_timeout = context.profile.timeouts.heartbeat
        stc = context.profile.timeouts.start_to_close
        late = (
            timeout_type == "HEARTBEAT" and heartbeat_timeout != "NONE" and gap > heartbeat_timeout
        ) or (
            timeout_type == "START_TO_CLOSE"
            and stc != "NONE"
            and now_wall - task.started_wall >= stc
        )
        context.metrics.count("late_worker_timeouts" if late else "false_timeouts")
        return "timed_out"

    def _go_silent(self, context: WorkerContext, task: _Task) -> float:
        """Stop heartbeating, and check (from the deadline on) that SWF times the task out on
        time."""
        profile, clock = context.profile, context.clock
        context.metrics.count("silent")
        self.pacer.finish(context)
        deadlines: dict[str, float] = {}
        if profile.timeouts.heartbeat != "NONE":
            deadlines["HEARTBEAT"] = task.last_beat_wall + profile.timeouts.heartbeat
        if profile.timeouts.start_to_close != "NONE":
            deadlines["START_TO_CLOSE"] = task.started_wall + profile.timeouts.start_to_close
        if not deadlines:
            return self._finish(context, task)  # nothing can time it out; profiles prevent this
        task.deadlines = deadlines
        self.phase = _SILENT
        return clock.mono() + max(0.0, min(deadlines.values()) - clock.wall())

    def _silent(self, context: WorkerContext) -> float:
        """Has SWF timed out the silent task? Asked again every TIMEOUT_POLL_S until the
        deadline plus the profile's slack."""
        clock, metrics, task = context.clock, context.metrics, self.task
        assert task is not None and task.deadlines
        deadline = min(task.deadlines.values())
        event = self._closing_event(task)
        if event is not None:
            if event["eventType"] != "ActivityTaskTimedOut":
                return self._end(context, task, "vanished")
            attributes = event["activityTaskTimedOutEventAttributes"]
            expected = task.deadlines.get(str(attributes.get("timeoutType")), deadline)
            delay = _timestamp(event["eventTimestamp"]) - expected
            metrics.count("timed_out_silent")
            metrics.record("timeout_delay", delay)
            if delay < -EARLY_TOLERANCE_S:
                metrics.count("early_timeouts")
            return self._end(context, task, "timed_out")
        if clock.wall() > deadline + context.profile.timeout_slack_s:
            metrics.count("missed_timeouts")
            return self._end(context, task, "missed_timeout_closed")
        return clock.mono() + TIMEOUT_POLL_S


def _timestamp(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)
