"""Run one scenario against a target and record every step: what was sent, expected and seen.

A scenario never raises: whatever goes wrong (an expectation, the target, a template) ends it
with a `failure` in its `ScenarioResult`, after the last history events of its tasks have been
fetched for the report and its workflow executions have been closed.

A repeat with `until_error` keeps one step record: the call that ended it (its `iteration` says
how many calls came before), spanning the whole repeat from its first call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from swfbench.activity import DEFAULT_DOMAIN, ActivityHandle, start_activity
from swfbench.client import CallObserver, CallRecord, SWFClient
from swfbench.conformance import expect as checks
from swfbench.conformance.raw import raw_heartbeat
from swfbench.conformance.scenario import Scenario, Step
from swfbench.conformance.templating import TemplateError, render, render_pattern
from swfbench.errors import SwfbenchError, SWFError
from swfbench.target import Target

LATE_RENDERED = frozenset({"contains", "not_contains"})

HEARTBEAT = "RecordActivityTaskHeartbeat"
ClientFactory = Callable[[Target, CallObserver], SWFClient]
POLL_EVERY_S = 0.25
EXECUTION_TIMEOUT_S = 600
"""Every scenario's executions close themselves after this long, even if abandoned."""
HISTORY_TAIL = 8
"""How many of each task's last history events a failure report shows."""


@dataclass(kw_only=True)
class StepResult:
    index: int
    line: int
    action: str
    iteration: int | None
    started_s: float
    """Seconds since the scenario started."""
    ended_s: float
    ok: bool
    request: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class Failure:
    step: int
    line: int
    iteration: int | None
    source: str
    message: str
    expected: dict[str, Any]
    actual: dict[str, Any]
    history: dict[str, list[str]]
    """Per task, its last history events, one line each."""


@dataclass(kw_only=True)
class ScenarioResult:
    id: str
    path: str
    description: str
    evidence: list[dict[str, str]]
    started_at: str
    ended_at: str
    started_monotonic: float
    """`time.monotonic()` at the start, so runs in one process can be compared."""
    duration_s: float
    passed: bool
    steps: list[StepResult]
    failure: Failure | None = None
    skipped: str | None = None
    """Why the scenario did not run: the target lacks what it `requires`."""
    not_run: str | None = None
    """Why the scenario did not finish: the run was interrupted (it proves nothing either way)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class Attempt:
    """One run of a step (one iteration of a repeated one)."""

    expected: dict[str, Any]
    started: float
    result: StepResult
    until_error: bool = False
    """Part of an `until_error` repeat: a successful call is not judged, an error ends it."""
    errored: bool = False


class RunInterrupted(Exception):
    """The run is stopping (a signal): the scenario ends at its next pause or step, `not run`.
    Not a SwfbenchError, so that no step mistakes it for an answer of the target."""


class StepFailed(Exception):
    def __init__(self, message: str, expected: dict[str, Any], actual: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _jsonable(value: Any) -> Any:
    """Responses hold datetimes (event timestamps); reports hold JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _short(value: Any, limit: int = 200) -> Any:
    """Long payloads (2048-character details) are abbreviated in reports."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:40]}...({len(value)} characters)"
    if isinstance(value, dict):
        return {k: _short(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v, limit) for v in value]
    return value


class ScenarioRun:
    """The state of one scenario while it runs: its tasks, its names, its clock."""

    def __init__(
        self,
        scenario: Scenario,
        target: Target,
        *,
        slack: float,
        domain: str = DEFAULT_DOMAIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        new_client: ClientFactory | None = None,
        check: Callable[[], None] = lambda: None,
    ) -> None:
        self.scenario = scenario
        self.target = target
        self.slack = slack
        self.domain = domain
        self.clock = clock
        self.sleep = sleep
        self.check = check
        """Called before each step: raises `RunInterrupted` once the run is stopping."""
        self.calls: list[CallRecord] = []
        self.client = (new_client or SWFClient)(target, self.calls.append)
        self.tasks: dict[str, ActivityHandle] = {}
        self.task_started: dict[str, float] = {}
        self.context: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.origin = 0.0

    # Running ---------------------------------------------------------------------------------

    def run(self) -> ScenarioResult:
        started_at, self.origin = _now(), self.clock()
        failure = None
        not_run = None
        try:
            for step in self.scenario.steps:
                self._run_step(step)
        except StepFailed as exc:
            failure = self._failure(exc)
        except RunInterrupted as exc:
            not_run = str(exc)
            if self.steps and not self.steps[-1].ok:
                self.steps[-1].message = f"not finished: {exc}"
        finally:
            self._close_all()
        return ScenarioResult(
            id=self.scenario.id,
            path=str(self.scenario.path),
            description=self.scenario.description,
            evidence=[e.to_dict() for e in self.scenario.evidence],
            started_at=started_at,
            ended_at=_now(),
            started_monotonic=self.origin,
            duration_s=round(self.clock() - self.origin, 3),
            passed=failure is None and not_run is None,
            steps=self.steps,
            failure=failure,
            not_run=not_run,
        )

    def _run_step(self, step: Step) -> None:
        if step.repeat is None:
            self._attempt(step, None)
            return
        first = self.clock()
        every = float(step.repeat.get("every", 0))
        times = int(step.repeat["times"])
        until_error = bool(step.repeat.get("until_error", False))
        started_s = self._elapsed()
        for i in range(times):
            # A fixed schedule, not a pause after each call: call i goes out at first + i*every.
            delay = first + i * every - self.clock() if every else 0.0
            if delay > 0:
                self.sleep(delay)
            errored = self._attempt(step, i, until_error=until_error)
            if not until_error:
                continue
            # One record for the whole repeat: the call that ended it.
            self.steps[-1].started_s = started_s
            if errored:
                return
            if i < times - 1:
                self.steps.pop()
        if until_error:
            last = self.steps[-1]
            last.ok = False
            last.message = f"no error in {times} calls (until_error)"
            raise StepFailed(last.message, last.expected, last.actual)

    def _attempt(self, step: Step, iteration: int | None, *, until_error: bool = False) -> bool:
        """Run the step once; True if it was part of an `until_error` repeat and its call failed
        (as expected: otherwise `StepFailed` is raised)."""
        self.check()
        if iteration is not None:
            self.context["i"] = iteration
        # A virtual clock is read over HTTP: once per attempt start, once per end.
        started = self.clock()
        result = StepResult(
            index=step.index,
            line=step.line,
            action=step.action,
            iteration=iteration,
            started_s=round(started - self.origin, 4),
            ended_s=0.0,
            ok=False,
        )
        self.steps.append(result)
        first_call = len(self.calls)
        try:
            # History lists render event by event, as they match (see check_history).
            expected = {
                key: value if key in LATE_RENDERED else render(value, self.context)
                for key, value in step.expect.items()
            }
            pattern = step.expect.get("error", {}).get("message_matches")
            if pattern is not None:
                expected["error"]["message_matches"] = render_pattern(pattern, self.context)
            at = Attempt(expected=expected, started=started, result=result, until_error=until_error)
            result.expected = _jsonable(_short(at.expected))
            action = getattr(self, f"_do_{step.action}")
            action(render(step.params, self.context), at)
            result.ok = True
            return at.errored
        except TemplateError as exc:
            result.message = str(exc)
            raise StepFailed(str(exc), result.expected, {}) from None
        except StepFailed as exc:
            result.message = exc.message
            result.actual = _jsonable(_short(exc.actual))
            raise
        except SwfbenchError as exc:
            # Not an answer from the target: unreachable, credentials, a client-side refusal.
            result.message = f"{type(exc).__name__}: {exc}"
            raise StepFailed(result.message, result.expected, {}) from None
        finally:
            result.ended_s = self._elapsed()
            result.calls = [
                {
                    "operation": c.operation,
                    "duration_s": round(c.duration_s, 4),
                    "error_code": c.error_code,
                    "http_status": c.http_status,
                }
                for c in self.calls[first_call:]
            ]

    def _elapsed(self) -> float:
        return round(self.clock() - self.origin, 4)

    def _token(self, params: Mapping[str, Any]) -> str:
        if "token" in params:
            return str(params["token"])
        handle = self.tasks[params["task"]]
        if handle.task_token is None:
            raise StepFailed(f"task {params['task']!r} was left scheduled: it has no token", {}, {})
        return handle.task_token

    # Expectations ----------------------------------------------------------------------------

    def _since(self, at: Attempt) -> float:
        since = at.expected.get("elapsed", {}).get("since")
        return self.task_started[since] if since else at.started

    def _check_elapsed(self, at: Attempt) -> str | None:
        if "elapsed" not in at.expected:
            return None
        return checks.check_elapsed(
            self.clock() - self._since(at), at.expected["elapsed"], self.slack
        )

    def _check_call(self, at: Attempt, call: Callable[[], Any]) -> None:
        """Make the call, then check error, response fields and elapsed time."""
        error: SWFError | None = None
        response: dict[str, Any] = {}
        try:
            response = call() or {}
        except SWFError as exc:
            error = exc
        if error is not None:
            actual: dict[str, Any] = {
                "error": {
                    "operation": error.operation,
                    "code": error.code,
                    "message": error.message,
                    "http_status": error.http_status,
                }
            }
        else:
            actual = dict(response)
        at.result.actual = _jsonable(_short(actual))
        if at.until_error:
            at.errored = error is not None
            if error is None:
                return  # a call before the one that ends the repeat: nothing to judge
        problems = [checks.check_error(error, at.expected.get("error")), self._check_elapsed(at)]
        fields = {k: v for k, v in at.expected.items() if k not in checks.RESERVED}
        if error is None and fields:
            problems.append(checks.check_response(response, fields))
        wrong = "; ".join(p for p in problems if p)
        if wrong:
            raise StepFailed(wrong, dict(at.expected), actual)

    # Actions: one method per step kind, `_do_<action>` -----------------------------------

    def _do_start_activity(self, params: dict[str, Any], at: Attempt) -> None:
        name = params["as"]
        timeouts = self.scenario.timeouts(params)
        at.result.request = {"as": name, **timeouts.decision_attributes()}

        def call() -> dict[str, Any]:
            handle = start_activity(
                self.client,
                domain=self.domain,
                timeouts=timeouts,
                start=bool(params.get("start", True)),
                execution_timeout_s=EXECUTION_TIMEOUT_S,
            )
            self.tasks[name] = handle
            self.task_started[name] = self.clock()
            self.context[name] = handle.to_dict()
            return {k: v for k, v in handle.to_dict().items() if k != "task_token"}

        self._check_call(at, call)

    def _heartbeat_body(self, params: Mapping[str, Any], at: Attempt) -> dict[str, Any]:
        body: dict[str, Any] = {"taskToken": self._token(params)}
        if "details" in params:
            body["details"] = str(params["details"])
        at.result.request = _short(body)
        return body

    def _do_heartbeat(self, params: dict[str, Any], at: Attempt) -> None:
        body = self._heartbeat_body(params, at)
        self._check_call(at, lambda: self.client.call(HEARTBEAT, **body))

    def _do_raw_heartbeat(self, params: dict[str, Any], at: Attempt) -> None:
        body = self._heartbeat_body(params, at)
        self._check_call(at, lambda: raw_heartbeat(self.target, body, self.calls.append))

    def _do_sleep(self, params: dict[str, Any], at: Attempt) -> None:
        self.sleep(float(params["seconds"]))

    def _on_task(self, params: Mapping[str, Any], at: Attempt, method: str, *names: str) -> None:
        """Call an `ActivityHandle` method with the step's text parameters."""
        handle = self.tasks[params["task"]]
        given = {n: str(params[n]) for n in names if n in params}
        at.result.request = _short({"task": params["task"], **given})
        self._check_call(at, lambda: getattr(handle, method)(**given))

    def _do_request_cancel(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "request_cancel", "activity_id")

    def _do_complete(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "complete", "result")

    def _do_fail(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "fail", "reason", "details")

    def _do_respond_canceled(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "respond_canceled", "details")

    def _do_terminate_workflow(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "terminate", "reason")

    def _do_request_cancel_workflow(self, params: dict[str, Any], at: Attempt) -> None:
        self._on_task(params, at, "request_cancel_workflow")

    def _check_history(
        self, events: list[dict[str, Any]], at: Attempt
    ) -> tuple[str | None, dict[str, dict[str, Any]]]:
        wrong, captured = checks.check_history(events, at.expected, self.context)
        at.result.actual = {"events": [checks.summarize(e) for e in events]}
        return wrong or self._check_elapsed(at), captured

    def _do_history(self, params: dict[str, Any], at: Attempt) -> None:
        at.result.request = {"task": params["task"]}
        events = self._fetch(params["task"], at)
        wrong, captured = self._check_history(events, at)
        if wrong:
            raise StepFailed(wrong, dict(at.expected), at.result.actual)
        self._remember(params, events, captured)

    def _do_wait_for_history(self, params: dict[str, Any], at: Attempt) -> None:
        # Polls until the expectation holds; `within` is widened by the target's slack, since
        # how late a real timeout fires is undocumented (fact sheet, "Quotas").
        at.result.request = {"task": params["task"], "within": params["within"]}
        deadline = at.started + float(params["within"]) + self.slack
        every = float(params.get("every", POLL_EVERY_S))
        while True:
            events = self._fetch(params["task"], at)
            wrong, captured = checks.check_history(events, at.expected, self.context)
            at.result.actual = {"events": [checks.summarize(e) for e in events]}
            if wrong is None:
                # The elapsed window is judged once, when the history first matches.
                late_or_early = self._check_elapsed(at)
                if late_or_early:
                    raise StepFailed(late_or_early, dict(at.expected), at.result.actual)
                self._remember(params, events, captured)
                return
            if self.clock() >= deadline:
                raise StepFailed(
                    f"after {params['within']} s (+{self.slack} s slack): {wrong}",
                    dict(at.expected),
                    at.result.actual,
                )
            self.sleep(min(every, max(0.0, deadline - self.clock())))

    def _fetch(self, task: str, at: Attempt) -> list[dict[str, Any]]:
        try:
            return self.tasks[task].history()
        except SWFError as exc:
            raise StepFailed(
                f"GetWorkflowExecutionHistory failed: {exc.code}: {exc.message}",
                dict(at.expected),
                {"error": {"code": exc.code, "message": exc.message}},
            ) from None

    def _remember(
        self,
        params: Mapping[str, Any],
        events: list[dict[str, Any]],
        captured: dict[str, dict[str, Any]],
    ) -> None:
        self.context.update(captured)
        if "as" in params:
            self.context[params["as"]] = {"length": len(events)}

    # After -----------------------------------------------------------------------------------

    def _failure(self, exc: StepFailed) -> Failure:
        failed = self.steps[-1] if self.steps else None
        index = failed.index if failed else 0
        step = self.scenario.steps[index]
        history: dict[str, list[str]] = {}
        for name, handle in self.tasks.items():
            try:
                events = handle.history()
            except SwfbenchError as error:
                history[name] = [f"(history unavailable: {error})"]
                continue
            history[name] = [checks.summarize(e) for e in events[-HISTORY_TAIL:]]
        return Failure(
            step=index,
            line=step.line,
            iteration=failed.iteration if failed else None,
            source=step.source,
            message=exc.message,
            expected=_jsonable(_short(exc.expected)),
            actual=_jsonable(_short(exc.actual)),
            history=history,
        )

    def _close_all(self) -> None:
        for handle in self.tasks.values():
            # A target that cannot terminate was already reported by the steps.
            with contextlib.suppress(SwfbenchError):
                handle.close()


def _unrun_result(scenario: Scenario, **outcome: Any) -> ScenarioResult:
    """The result of a scenario that ran no step: skipped, or stopped by a harness error."""
    now = _now()
    return ScenarioResult(
        id=scenario.id,
        path=str(scenario.path),
        description=scenario.description,
        evidence=[e.to_dict() for e in scenario.evidence],
        started_at=now,
        ended_at=now,
        started_monotonic=time.monotonic(),
        duration_s=0.0,
        passed=False,
        steps=[],
        **outcome,
    )


def skipped_result(scenario: Scenario, reason: str) -> ScenarioResult:
    """The result of a scenario the target cannot run (see `Scenario.requires`)."""
    return _unrun_result(scenario, skipped=reason)


def not_run_result(scenario: Scenario, reason: str) -> ScenarioResult:
    """The result of a scenario the run stopped before it started."""
    return _unrun_result(scenario, not_run=reason)


def run_scenario(
    scenario: Scenario,
    target: Target,
    *,
    slack: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    new_client: ClientFactory | None = None,
    check: Callable[[], None] = lambda: None,
) -> ScenarioResult:
    """Run `scenario` to its end (or, once `check` or `sleep` raise `RunInterrupted`, to its
    next step: `not_run`); never raises for anything the target or scenario does."""
    try:
        run = ScenarioRun(
            scenario,
            target,
            slack=slack,
            clock=clock,
            sleep=sleep,
            new_client=new_client,
            check=check,
        )
        return run.run()
    except RunInterrupted as exc:  # before its first step
        return not_run_result(scenario, str(exc))
    except Exception as exc:  # a harness bug must not take down the other runs
        failure = Failure(
            step=0,
            line=1,
            iteration=None,
            source="",
            message=f"internal error: {exc!r}",
            expected={},
            actual={},
            history={},
        )
        return _unrun_result(scenario, failure=failure)
