"""One conformance run: the target, the known deviations, and every scenario running at once.

Scenarios are independent and most of them wait on SWF timeouts, so they all start together in
a thread pool when the first one is asked for; each pytest item then waits for its own result.
The suite takes about as long as its slowest scenario. One target serves them all; each
scenario uses workflow executions of its own (`start_activity` gives unique task lists).

The target's capabilities (`swfbench.capabilities`) are found once, when the run starts; a
scenario that `requires` one the target lacks is skipped, and so is one that signs as an
identity the run was not given (`--auth FILE`; with `--aws`, `--restricted-profile NAME`). Scenarios that require `quotas` burst
heartbeats until the account's bucket is empty, which would throttle every other scenario's
heartbeats: they run alone, one after another, once all the others have ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from swfbench import __version__
from swfbench.activity import DEFAULT_DOMAIN, bootstrap
from swfbench.capabilities import missing, missing_identities, target_capabilities
from swfbench.client import CallObserver, ExchangeObserver, SWFClient
from swfbench.conformance.deviations import (
    OUTCOMES,
    KnownDeviations,
    Outcome,
    default_deviations_path,
    load_deviations,
)
from swfbench.conformance.runner import (
    RunInterrupted,
    ScenarioResult,
    not_run_result,
    run_scenario,
    skipped_result,
)
from swfbench.conformance.scenario import Scenario
from swfbench.errors import ConfigurationError, SwfbenchError, UsageError
from swfbench.interrupts import Interrupts
from swfbench.results import RunStatus, write_json
from swfbench.target import Target, TargetSpec, open_target
from swfbench.virtual_clock import VirtualClock, virtual_clock_of

DEFAULT_SLACK_S = {"embedded": 1.0, "endpoint": 2.0, "aws": 30.0}
"""Seconds added to timing windows when neither the flag nor the target's list sets one. How
late real SWF fires a timeout is undocumented (fact sheet, "Quotas"): 30 s is a guess."""
DEFAULT_CONCURRENCY = 64
SCENARIO_THREADS = "swfbench-scenario"
"""Name prefix of the threads scenarios run in."""
ALONE = frozenset({"quotas"})
"""Scenarios that require any of these run alone, after the others (see above)."""

Listener = Callable[[ScenarioResult, Outcome], None]


@dataclass(frozen=True, kw_only=True)
class ConformanceOptions:
    """Everything a run needs to know, from pytest options or `swfbench conform` flags."""

    spec: TargetSpec
    known_deviations: Path | None = None
    """The target's list; None finds `conformance/targets/<engine>.yaml` for embedded targets."""
    timing_slack: float | None = None
    """Overrides the list's `timing_slack` and the default for the target's kind."""
    results: Path | None = None
    """Where to write the JSON results, if anywhere."""
    concurrency: int = DEFAULT_CONCURRENCY
    domain: str = DEFAULT_DOMAIN
    roots: tuple[Path, ...] = field(default_factory=tuple)
    """Folders searched for `conformance/targets/` (pytest's rootdir, the working directory)."""
    restricted_profile: str | None = None
    """With real SWF: an AWS profile whose credentials are the identity `restricted`."""

    def __post_init__(self) -> None:
        if self.restricted_profile and not self.spec.aws:
            raise UsageError(
                "--restricted-profile names an AWS profile for real SWF (--aws); an emulator's "
                "identities come from --auth FILE"
            )


class ConformanceSession:
    """State of one run; created at pytest configure time, started by the first item."""

    def __init__(self, options: ConformanceOptions) -> None:
        self.options = options
        self.deviations = KnownDeviations()
        """Loaded by `start`, so that runs without scenarios never read the list."""
        self.listeners: list[Listener] = []
        self.target: Target | None = None
        self.error: SwfbenchError | None = None
        """Why the target could not be opened; every scenario then reports it."""
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.results: dict[str, ScenarioResult] = {}
        self._stack = ExitStack()
        self._pool: ThreadPoolExecutor | None = None
        self._alone_pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[ScenarioResult]] = {}
        self._order: list[str] = []
        self._lock = threading.Lock()
        self._scenarios: dict[str, Scenario] = {}
        self._results_lock = threading.Lock()
        self._stopping = threading.Event()
        """Set when the run is interrupted or closes: scenarios end at their next pause."""
        self._hurry = threading.Event()
        """Set by a second signal: nobody waits for the scenarios any more."""
        self.interrupted_by: str | None = None
        """The signal that interrupted the run (SIGINT, SIGTERM), if one did."""
        self.interrupts: Interrupts | None = None
        """The signals `swfbench conform` receives: a second one cuts short the opening of a
        target that hangs (it blocks the main thread, see `Interrupts.abortable`)."""
        self.virtual_clock: VirtualClock | None = None
        """Set when the target keeps virtual time: waits then become clock advances."""
        self.capabilities: frozenset[str] = frozenset()
        """What the target offers that scenarios may `require`; found when the run starts."""
        self.identities: dict[str, Target] = {}
        """The target as each identity scenarios may sign as (`identity:` in a step)."""

    def _deviations(self) -> KnownDeviations:
        path = self.options.known_deviations
        spec = self.options.spec
        if path is None and not spec.aws and not spec.endpoint_url:
            path = default_deviations_path(spec.engine, list(self.options.roots))
        return load_deviations(path) if path is not None else KnownDeviations()

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def slack(self) -> float:
        if self.options.timing_slack is not None:
            return self.options.timing_slack
        if self.deviations.timing_slack is not None:
            return self.deviations.timing_slack
        kind = self.target.kind if self.target else "embedded"
        return DEFAULT_SLACK_S[kind]

    def interrupt(self, by: str, *, hurry: bool = False) -> None:
        """A signal: scenarios that have not finished end at their next step or pause and are
        `not run`; with `hurry`, nobody waits for them any more. (It takes locks: call it from
        a thread, never from a signal handler.)"""
        if self.interrupted_by is None:
            self.interrupted_by = by
        self._stopping.set()
        if hurry:
            self._hurry.set()

    def _reason(self) -> str:
        return f"interrupted by {self.interrupted_by}" if self.interrupted_by else "interrupted"

    def start(self, scenarios: Sequence[Scenario]) -> None:
        """Open the target and start every scenario; later calls do nothing. Interrupted
        before, it opens nothing: every scenario is `not run`."""
        if self.started:
            return
        self.started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self._stopping.is_set():
            self._none_run(scenarios)
            return
        abortable = self.interrupts.abortable() if self.interrupts else nullcontext()
        try:
            self.deviations = self._deviations()
            with abortable:
                self.target = self._stack.enter_context(open_target(self.options.spec))
                self.identities = self._identities(self.target)
                bootstrap(SWFClient(self.target), self.options.domain)
        except KeyboardInterrupt:
            by = self.interrupts.by if self.interrupts else None
            self.interrupt(by or "signal", hurry=True)
            self._none_run(scenarios)
            return
        except SwfbenchError as exc:
            self.error = exc
            return
        except Exception as exc:  # a harness bug: one error for the run, not one per item
            self.error = SwfbenchError(f"the run could not start: {exc!r}")
            return
        self.virtual_clock = virtual_clock_of(self.target)
        self.capabilities = target_capabilities(
            self.target, virtual_clock=self.virtual_clock is not None
        )
        shared: list[Scenario] = []
        alone: list[Scenario] = []
        for scenario in scenarios:
            if scenario.id in self._futures:
                continue
            self._order.append(scenario.id)
            self._scenarios[scenario.id] = scenario
            reason = missing(
                scenario.requires, self.capabilities, target_kind=self.target.kind
            ) or missing_identities(scenario.identities, self.identities)
            if reason is not None:
                self._futures[scenario.id] = self._skip(scenario, reason)
            elif ALONE & set(scenario.requires):
                alone.append(scenario)
            else:
                shared.append(scenario)
        # Scenarios share the target's clock: advancing it for one would age the others' tasks,
        # so on a virtual clock they run one after another (each in a fraction of a second).
        workers = 1 if self.virtual_clock else self.options.concurrency
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(len(shared), workers)),
            thread_name_prefix=SCENARIO_THREADS,
        )
        for scenario in shared:
            self._futures[scenario.id] = self._pool.submit(self._run, scenario)
        if alone:
            others = [self._futures[s.id] for s in shared]
            self._alone_pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"{SCENARIO_THREADS}-alone"
            )
            for scenario in alone:
                self._futures[scenario.id] = self._alone_pool.submit(
                    self._run_alone, scenario, others
                )

    def _none_run(self, scenarios: Sequence[Scenario]) -> None:
        for scenario in scenarios:
            self._order.append(scenario.id)
            self._scenarios[scenario.id] = scenario
            self._futures[scenario.id] = self._done(not_run_result(scenario, self._reason()))

    def _identities(self, target: Target) -> dict[str, Target]:
        auth = self.options.spec.auth
        if auth is not None:
            return {name: target.as_identity(i) for name, i in auth.identities.items()}
        profile = self.options.restricted_profile
        if profile is None:
            return {}
        try:
            session = boto3.Session(profile_name=profile, region_name=target.region)
        except botocore.exceptions.ProfileNotFound:
            raise ConfigurationError(
                f"--restricted-profile: no AWS profile named {profile!r} (see aws configure "
                "list-profiles)"
            ) from None
        found = session.get_credentials()
        if found is None:
            raise ConfigurationError(
                f"--restricted-profile: profile {profile!r} has no credentials"
            )
        frozen = found.get_frozen_credentials()
        restricted = replace(
            target,
            credentials=(frozen.access_key, frozen.secret_key),
            session_token=frozen.token,
            identity="restricted",
        )
        return {"restricted": restricted}

    def _skip(self, scenario: Scenario, reason: str) -> Future[ScenarioResult]:
        return self._done(skipped_result(scenario, reason))

    def _done(self, result: ScenarioResult) -> Future[ScenarioResult]:
        self._finished(result)
        future: Future[ScenarioResult] = Future()
        future.set_result(result)
        return future

    def _run_alone(
        self, scenario: Scenario, others: list[Future[ScenarioResult]]
    ) -> ScenarioResult:
        wait(others)
        if self._stopping.is_set():
            result = not_run_result(scenario, self._reason())
            self._finished(result)
            return result
        return self._run(scenario)

    def _new_client(
        self, target: Target, observer: CallObserver, exchanges: ExchangeObserver
    ) -> SWFClient:
        # botocore's client creation is not safe to run in many threads at once; it takes a
        # while, so scenarios queued here when the run is interrupted go no further.
        with self._lock:
            self._check()
            return SWFClient(target, observer, exchanges)

    def _check(self) -> None:
        if self._stopping.is_set():
            raise RunInterrupted(self._reason())

    def _sleep(self, seconds: float) -> None:
        # Waits end early when the run is interrupted, so the pool can shut down.
        if self._stopping.wait(seconds):
            raise RunInterrupted(self._reason())

    def _advance(self, seconds: float) -> None:
        assert self.virtual_clock is not None
        self._check()
        self.virtual_clock.advance(seconds)

    def _run(self, scenario: Scenario) -> ScenarioResult:
        assert self.target is not None
        if self.virtual_clock is not None:
            clock, sleep = self.virtual_clock.now, self._advance
        else:
            clock, sleep = time.monotonic, self._sleep
        result = run_scenario(
            scenario,
            self.target,
            slack=self.slack,
            clock=clock,
            sleep=sleep,
            new_client=self._new_client,
            check=self._check,
            identities=self.identities,
        )
        self._finished(result)
        return result

    def _finished(self, result: ScenarioResult) -> None:
        with self._results_lock:
            if result.id in self.results:
                return  # reported not run after a second signal; it finished too late
            self.results[result.id] = result
        outcome = self.outcome(result)
        for listener in self.listeners:
            listener(result, outcome)

    def result(self, scenario_id: str) -> ScenarioResult:
        """Wait for one scenario's result; raise the target's error if it never opened. After
        a second signal, one not finished yet is `not run` at once."""
        if self.error is not None:
            raise self.error
        future = self._futures[scenario_id]
        while not self._hurry.is_set():
            try:
                return future.result(timeout=0.2)
            except FutureTimeout:
                continue
        if future.done() and not future.cancelled():
            return future.result()
        self._finished(not_run_result(self._scenarios[scenario_id], self._reason()))
        return self.results[scenario_id]

    def outcome(self, result: ScenarioResult) -> Outcome:
        return self.deviations.outcome(
            result.id,
            result.passed,
            skipped=result.skipped is not None,
            not_run=result.not_run is not None,
            wire=result.wire,
        )

    def close(self) -> None:
        """Stop what still runs (each scenario closes its executions), then the target. After
        a second signal, the scenarios are not waited for."""
        self._stopping.set()
        for pool in (self._pool, self._alone_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        pending = {f for f in self._futures.values() if not f.done()}
        while pending and not self._hurry.is_set():
            _, pending = wait(pending, timeout=0.2)
        self._stack.close()
        if self.started and self.ended_at is None:
            self.ended_at = datetime.now(UTC).isoformat(timespec="milliseconds")

    # Results ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        scenarios = []
        counts = dict.fromkeys(OUTCOMES, 0)
        wire = {"wire": 0, "wire_known": 0, "wire_unknown": 0}
        for scenario_id in self._order:
            result = self.results.get(scenario_id)
            if result is None:  # stopped at once, before it finished
                result = not_run_result(self._scenarios[scenario_id], self._reason())
            outcome = self.outcome(result)
            counts[outcome] += 1
            document = result.to_dict()
            for finding in document["wire"]:
                finding["known"] = self.deviations.wire_reason(finding)
                wire["wire"] += 1
                wire["wire_known" if finding["known"] else "wire_unknown"] += 1
            scenarios.append(
                {
                    "outcome": outcome,
                    "deviation_reason": self.deviations.reasons.get(scenario_id),
                    **document,
                }
            )
        target = self.target
        spec = self.options.spec
        return {
            "kind": "swfbench-conformance-results",
            "format_version": 1,
            "swfbench_version": __version__,
            "started_at": self.started_at,
            "ended_at": self.ended_at or datetime.now(UTC).isoformat(timespec="milliseconds"),
            "target": {
                "kind": target.kind if target else None,
                "description": target.description if target else None,
                "endpoint_url": target.endpoint_url if target else spec.endpoint_url,
                "region": target.region if target else spec.region,
                "engine": target.engine if target else None,
                "emulator_version": target.to_dict()["emulator_version"] if target else None,
                "error": str(self.error) if self.error else None,
                "clock": "virtual" if self.virtual_clock else "real",
                "capabilities": sorted(self.capabilities),
                "identities": sorted(self.identities),
                "identity": target.identity if target else None,
            },
            "known_deviations": {
                "path": str(self.deviations.path) if self.deviations.path else None,
                "target": self.deviations.target,
            },
            "timing_slack_s": self.slack,
            "status": self.status(counts).to_dict(),
            "summary": counts,
            # For `swfbench gate`: e.g. conformance.fail {max: 0} (known deviations excluded);
            # conformance.wire counts wire findings (each distinct one once per scenario).
            "metrics": {"conformance": {**counts, "scenarios": sum(counts.values()), **wire}},
            "scenarios": scenarios,
        }

    def status(self, counts: Mapping[Outcome, int]) -> RunStatus:
        """How the run ended: aborted when the target never opened, interrupted when a signal
        came or a scenario did not finish; it checked the scenarios that ran to their end."""
        status = RunStatus(
            checked=sum(n for outcome, n in counts.items() if outcome not in ("skipped", "not_run"))
        )
        if self.error is not None:
            status.abort(str(self.error))
        if self.interrupted_by or counts["not_run"]:
            status.interrupt(
                self.interrupted_by or "signal",
                f"{counts['not_run']} of {len(self._order)} scenarios not run",
            )
        return status

    def write_results(self, path: Path) -> None:
        write_json(path, self.to_dict())
