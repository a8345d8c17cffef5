"""One simulated activity worker: take a task through the real SWF flow, heartbeat it on an
absolute schedule, end it the way the profile says, and measure what only a heartbeat tool can.

Nothing here knows Locust: the user classes hand in a sender, a clock and the fleet runtime.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swfbench.activity import ActivityHandle, start_activity
from swfbench.errors import SwfbenchError, SWFError
from swfbench.load.fleet import FleetRuntime
from swfbench.load.profile import Outcome, percent
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


@dataclass(kw_only=True)
class _Task:
    handle: ActivityHandle
    outcome: Outcome
    duration_s: float
    started_wall: float
    started_mono: float
    last_beat_wall: float = 0.0
    max_gap_s: float = 0.0
    beats: int = 0
    cancel_tried: bool = False
    cancel_decided: float | None = None
    cancel_seen: bool = False


class Pacer:
    """An absolute heartbeat schedule: the next beat is due one interval after the previous
    *due* time, so a slow target shows up as lag instead of a silently lower rate.

    The schedule also counts what was due: each beat taken (`wait`), and when the schedule ends
    (`finish`: the task ended, or the run stopped) the due times it never reached, because the
    worker was still waiting on an answer. A target that hangs leaves beats due and unsent.
    """

    def __init__(
        self, runtime: FleetRuntime, rng: random.Random, clock: Clock | None = None
    ) -> None:
        self.runtime = runtime
        self.profile = runtime.profile
        self.rng = rng
        self.clock = clock or Clock()
        self.due = 0.0
        self.until = math.inf
        """When the schedule ends by itself (the task's planned end), monotonic."""
        self.taken = False
        """The beat due at `due` was taken (counted, being sent) and `advance` not yet called."""
        self.active = False

    def start(self, until: float = math.inf) -> None:
        interval = self.profile.interval.mean_s
        now = self.clock.mono()
        if self.profile.synchronized_start:
            # Thundering herd: every worker, in every process, beats on the same wall-clock
            # multiples of the interval.
            wall = self.clock.wall()
            self.due = now + (math.ceil(wall / interval) * interval - wall)
        else:
            self.due = now + self.rng.uniform(0.0, interval)
        self.until, self.taken, self.active = until, False, True
        self.runtime.schedules.add(self)

    def wait(self) -> float:
        """Sleep until the beat is due; return the lag (send time minus due time) in seconds."""
        delay = self.due - self.clock.mono()
        if delay > 0:
            self.clock.sleep(delay)
        lag = max(0.0, self.clock.mono() - self.due)
        self.taken = True
        self.runtime.metrics.record_due()
        self.runtime.metrics.record("pacing_lag", lag)
        return lag

    def advance(self) -> None:
        self.due += max(MIN_INTERVAL_S, self.profile.interval.sample(self.rng))
        self.taken = False

    def finish(self, end: float | None = None) -> None:
        """End the schedule at `end` (monotonic; default now, and never past `until`): the due
        times before it that were never taken count as due, unsent. Idempotent."""
        if not self.active:
            return
        self.active = False
        self.runtime.schedules.discard(self)
        end = min(self.until, self.clock.mono() if end is None else end)
        # The next untaken due time; past a taken beat, one interval on (its sample unknown).
        mean = max(MIN_INTERVAL_S, self.profile.interval.mean_s)
        untaken = self.due + (mean if self.taken else 0.0)
        if end > untaken:
            self.runtime.metrics.record_due(math.ceil((end - untaken) / mean))


class SimulatedWorker:
    """Runs activity tasks one after another, as the fleet profile says."""

    def __init__(
        self,
        runtime: FleetRuntime,
        sender: HeartbeatSender,
        *,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.runtime = runtime
        self.profile = runtime.profile
        self.metrics = runtime.metrics
        self.sender = sender
        self.rng = rng or random.Random()
        self.clock = clock or Clock()
        self.pacer = Pacer(runtime, self.rng, self.clock)

    # One task, start to end -----------------------------------------------------------------

    def run_one(self) -> str | None:
        """Start a task, drive it to its end, close its execution; return how it ended."""
        outcome = self.profile.pick_outcome(self.rng)
        duration = max(0.0, self.profile.duration.sample(self.rng))
        try:
            handle = self._start()
        except SwfbenchError:
            # Already reported to Locust by the client's observer, with its error code.
            self.metrics.count("setup_failures")
            self.clock.sleep(SETUP_BACKOFF_S)
            return None
        self.runtime.open_handles[handle.workflow_id] = handle
        self.metrics.count("tasks_started")
        wall = self.clock.wall()
        task = _Task(
            handle=handle,
            outcome=outcome,
            duration_s=duration,
            started_wall=wall,
            started_mono=self.clock.mono(),
            last_beat_wall=wall,
        )
        try:
            end = self._drive(task)
        except Exception as exc:  # a defect, or a profile value validation let through
            self.runtime.record_worker_error(exc)
            end = "worker_error"
        self.metrics.count(end)
        self.runtime.open_handles.pop(handle.workflow_id, None)
        try:
            # The activity is over; its workflow execution is not. Close it so nothing is left
            # open and the target does not slow down under executions nobody drives.
            handle.close()
        except SwfbenchError:
            self.metrics.count("close_failures")
        return end

    def _start(self) -> ActivityHandle:
        """Start a task; when the target no longer knows the domain or its types (it was
        restarted empty), register them again and try once more."""
        try:
            return start_activity(
                self.runtime.client, domain=self.profile.domain, timeouts=self.profile.timeouts
            )
        except SWFError as exc:
            if exc.operation != "StartWorkflowExecution" or exc.code != "UnknownResourceFault":
                raise
            self.runtime.register_again()
            return start_activity(
                self.runtime.client, domain=self.profile.domain, timeouts=self.profile.timeouts
            )

    def _drive(self, task: _Task) -> str:
        planned_end = task.started_mono + task.duration_s
        self.pacer.start(until=planned_end)
        try:
            return self._beats(task, planned_end)
        finally:
            # The run may have stopped mid-call (Locust kills the user): whatever was due
            # until now or the planned end and never sent still counts as due.
            self.pacer.finish()

    def _beats(self, task: _Task, planned_end: float) -> str:
        profile = self.profile
        cancel_at = (
            task.started_mono + task.duration_s * profile.cancel_after
            if task.outcome == "cancel"
            else None
        )
        obey = task.outcome == "cancel" and self.rng.random() < profile.cancel_obey
        while True:
            now = self.clock.mono()
            if task.outcome == "silent" and now >= planned_end:
                return self._go_silent(task)
            if cancel_at is not None and now >= cancel_at and not task.cancel_tried:
                task.cancel_tried = True
                self._request_cancel(task)
            awaiting_cancel = (
                task.cancel_decided is not None
                and not task.cancel_seen
                and now < task.cancel_decided + profile.cancel_propagation_wait_s
            )
            cancel_pending = cancel_at is not None and not task.cancel_tried
            if now >= planned_end and not awaiting_cancel and not cancel_pending:
                return self._finish(task)
            self.pacer.wait()
            ended = self._beat(task, obey)
            if ended is not None:
                return ended
            self.pacer.advance()

    def _beat(self, task: _Task, obey: bool) -> str | None:
        """One heartbeat; returns an end classification when the task is over."""
        sent_wall = self.clock.wall()
        elapsed = self.clock.mono() - task.started_mono
        details = self.profile.details.make(percent(elapsed, task.duration_s), self.rng)
        token = task.handle.task_token or ""
        self.metrics.record_sent()
        result = self.sender.heartbeat(token, details)
        if result.error_code is not None:
            self.metrics.count("heartbeats_failed")
            if _task_gone_code(result.error_code):
                return self._task_gone(task, sent_wall)
            return None  # throttled or refused: measured, and the worker keeps its schedule
        self.metrics.count("heartbeats_ok")
        self.metrics.record("heartbeat_latency", result.duration_s)
        task.max_gap_s = max(task.max_gap_s, sent_wall - task.last_beat_wall)
        task.last_beat_wall = sent_wall
        task.beats += 1
        if result.cancel_requested and not task.cancel_seen:
            task.cancel_seen = True
            if task.cancel_decided is not None:
                self.metrics.count("cancel_propagated")
                self.metrics.record("cancel_propagation", self.clock.mono() - task.cancel_decided)
            else:
                self.metrics.count("cancel_unrequested")
            if obey:
                self.metrics.count("cancel_obeyed")
                return self._end_call(task, "canceled", task.handle.respond_canceled)
            self.metrics.count("cancel_ignored")
        return None

    def _request_cancel(self, task: _Task) -> None:
        """The decider's RequestCancelActivityTask; it reaches the worker only through a
        heartbeat answering cancelRequested: true (fact sheet, "Cancellation")."""
        self.metrics.count("cancel_requested")
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
                self.metrics.count(outcome)
        task.cancel_decided = self.clock.mono()

    def _finish(self, task: _Task) -> str:
        if task.cancel_decided is not None and not task.cancel_seen:
            self.metrics.count("cancel_lost")
        if task.outcome == "fail":
            return self._end_call(
                task, "failed", lambda: task.handle.fail(reason="swfbench", details="planned")
            )
        return self._end_call(task, "completed", task.handle.complete)

    def _end_call(self, task: _Task, end: str, call: Callable[[], None]) -> str:
        try:
            call()
        except SwfbenchError:
            self.metrics.count("end_call_failures")
            gone = self._task_gone(task, self.clock.wall())
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

    def _task_gone(self, task: _Task, now_wall: float) -> str | None:
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
        heartbeat_timeout = self.profile.timeouts.heartbeat
        stc = self.profile.timeouts.start_to_close
        late = (
            timeout_type == "HEARTBEAT" and heartbeat_timeout != "NONE" and gap > heartbeat_timeout
        ) or (
            timeout_type == "START_TO_CLOSE"
            and stc != "NONE"
            and now_wall - task.started_wall >= stc
        )
        self.metrics.count("late_worker_timeouts" if late else "false_timeouts")
        return "timed_out"

    def _go_silent(self, task: _Task) -> str:
        """Stop heartbeating and check that SWF times the task out on time."""
        self.metrics.count("silent")
        deadlines: dict[str, float] = {}
        if self.profile.timeouts.heartbeat != "NONE":
            deadlines["HEARTBEAT"] = task.last_beat_wall + self.profile.timeouts.heartbeat
        if self.profile.timeouts.start_to_close != "NONE":
            deadlines["START_TO_CLOSE"] = task.started_wall + self.profile.timeouts.start_to_close
        if not deadlines:
            return self._finish(task)  # nothing can time it out; the profile checks prevent this
        deadline = min(deadlines.values())
        give_up = deadline + self.profile.timeout_slack_s
        self.clock.sleep(max(0.0, deadline - self.clock.wall()))
        while True:
            event = self._closing_event(task)
            if event is not None:
                if event["eventType"] != "ActivityTaskTimedOut":
                    return "vanished"
                attributes = event["activityTaskTimedOutEventAttributes"]
                expected = deadlines.get(str(attributes.get("timeoutType")), deadline)
                delay = _timestamp(event["eventTimestamp"]) - expected
                self.metrics.count("timed_out_silent")
                self.metrics.record("timeout_delay", delay)
                if delay < -EARLY_TOLERANCE_S:
                    self.metrics.count("early_timeouts")
                return "timed_out"
            if self.clock.wall() > give_up:
                self.metrics.count("missed_timeouts")
                return "missed_timeout_closed"
            self.clock.sleep(TIMEOUT_POLL_S)


def _timestamp(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value)
