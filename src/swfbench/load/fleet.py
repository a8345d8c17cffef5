"""What every simulated worker of one Locust process shares: profile, target, clients, metrics.

One `FleetRuntime` hangs off each Locust `Environment` (see `attach`), so nothing lives at module
level and a test or a benchmark can build its own.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from swfbench.activity import ActivityHandle, bootstrap
from swfbench.client import CallObserver, CallRecord, SWFClient
from swfbench.errors import SwfbenchError, TargetUnreachable, UsageError
from swfbench.identities import AuthFile
from swfbench.load.metrics import (
    HEARTBEAT_OPERATION as HEARTBEAT,
)
from swfbench.load.metrics import (
    WORKER_ERROR,
    WORKER_OPERATION,
    FleetMetrics,
    OkCalls,
    merged,
)
from swfbench.load.profile import FleetOverrides, Profile
from swfbench.load.sigv4 import Credentials, Signer
from swfbench.load.transport import FastClient
from swfbench.sessions import aws_credentials
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target
from swfbench.timeouts import ClientTimeouts

if TYPE_CHECKING:
    from swfbench.load.scheduler import LocalFleet

ATTRIBUTE = "swfbench_fleet"
"""Name of the attribute that carries the runtime on a Locust Environment."""
REGISTER_AGAIN_S = 1.0
"""A process registers the domain again at most this often, however many workers find it gone."""
BOOTSTRAP_ATTEMPTS = 5
"""Tries of each registration call on transient errors (backoff 0.25, 0.5, 1, 2 s)."""
log = logging.getLogger("swfbench.load")


class Schedule(Protocol):
    """Heartbeat schedules (a process's fleet, `scheduler.LocalFleet`), as the runtime ends them
    at the stop."""

    def finish(self, end: float | None = None) -> None: ...


class SWFFault(Exception):
    """A failed SWF call as Locust records it: the message is only the error code, so Locust's
    failure table has one row per operation and code (never one per task token)."""


TargetChoice = Literal["emulator", "aws"]
"""What `--swf-target` says; swfbench passes it to every Locust process it starts."""


def target_for_host(
    host: str,
    region: str | None,
    auth: AuthFile | None = None,
    identity: str | None = None,
    *,
    kind: TargetChoice = "emulator",
    aws_endpoint: str | None = None,
    timeouts: ClientTimeouts | None = None,
    profile: str | None = None,
) -> Target:
    """The target behind a Locust `--host`, of the kind the caller decided (never guessed from
    the URL): an emulator signs with dummy keys, or as `identity` of an auth file (None: the
    file's default); real SWF (`kind="aws"`) with the standard chain, at `aws_endpoint`, the
    endpoint swfbench resolved, which a host sent by a Locust master must match."""
    host = host.rstrip("/")
    timeouts = timeouts or ClientTimeouts()
    if kind == "aws":
        if auth is not None:
            raise UsageError("--swf-auth gives identities for an emulator, not for real SWF")
        if not region:
            raise UsageError("--swf-target aws needs --swf-region")
        endpoint = (aws_endpoint or host).rstrip("/")
        if host and host != endpoint:
            raise UsageError(
                f"the host {host} is not the real SWF endpoint this process resolved "
                f"({endpoint}): real credentials go nowhere else"
            )
        return Target(
            kind="aws", endpoint_url=endpoint, region=region, timeouts=timeouts, profile=profile
        )
    if profile is not None:
        raise UsageError(
            "--swf-aws-profile names an AWS profile: it applies to real SWF only (--swf-target aws)"
        )
    target = Target(
        kind="endpoint",
        endpoint_url=host,
        region=region or EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
        timeouts=timeouts,
    )
    return target.as_identity(auth.identity(identity)) if auth is not None else target


def locust_observer(request_event: Any, metrics: FleetMetrics, stats: Any) -> CallObserver:
    """An observer that fires Locust's request event (named by operation) and counts the call.

    Heartbeats answered OK, the hot path, never come here: the worker that sent one records it
    (`FleetMetrics.beat_ok`), and with Locust's `stats` they reach those statistics a second
    at a time (`locust_batches`)."""
    metrics.on_ok_calls = locust_batches(stats)

    def observe(record: CallRecord) -> None:
        # A simulated worker's exception is recorded as a failed call, but it took no time.
        timed = record.operation != WORKER_OPERATION
        metrics.record_call(
            record.operation, record.error_code, record.duration_s if timed else None
        )
        request_event.fire(
            request_type="SWF",
            name=record.operation,
            response_time=record.duration_s * 1000.0,
            response_length=record.response_size,
            exception=SWFFault(record.error_code) if record.error_code else None,
            context={},
        )

    return observe


def locust_batches(stats: Any) -> OkCalls:
    """Adds a second's OK heartbeat calls to Locust's statistics at once, as Locust's master
    adds a worker's report (`StatsEntry.extend`): the same counts, response times (by Locust's
    own rounding), requests per second and bytes as one request event per call would give,
    at a fraction of the cost."""
    # Imported here: importing Locust patches the standard library for gevent, which only a
    # Locust process may do.
    import locust.stats

    def add(second: int, durations_us: Counter[int], response_bytes: int) -> None:
        requests = sum(durations_us.values())
        buckets: Counter[int] = Counter()
        for us, n in durations_us.items():
            buckets[locust.stats.bucket_response_time(us / 1000.0)] += n
        batch: Any = locust.stats.StatsEntry(stats, HEARTBEAT, "SWF")
        batch.num_requests = requests
        batch.num_reqs_per_sec = {second: requests}
        batch.total_response_time = sum(us * n for us, n in durations_us.items()) / 1000.0
        batch.min_response_time = min(durations_us) / 1000.0
        batch.max_response_time = max(durations_us) / 1000.0
        batch.response_times = dict(buckets)
        batch.total_content_length = response_bytes
        batch.last_request_timestamp = min(time.time(), second + 1.0)
        batch.start_time = float(second)
        stats.get(HEARTBEAT, "SWF").extend(batch)
        stats.total.extend(batch)

    return add


@dataclass(kw_only=True)
class FleetRuntime:
    """Shared state of the simulated workers in one process."""

    profile: Profile
    target: Target
    run_id: str
    observer: CallObserver
    metrics: FleetMetrics
    send_mode: str = "fast"
    run_time_s: float = 30.0
    """When the profile's shape ends the run (the profile's run_time_s, or -t)."""
    overrides: FleetOverrides = field(default_factory=FleetOverrides)
    """Locust's -u, -r and -t over the profile's fleet (see `apply_overrides`)."""
    loaded_profile: Profile | None = None
    """The profile as its file says, once overrides replaced `profile` (None: they did not)."""
    peak_senders: int = 0
    """The most Locust users (the fleet's senders) this process, or a master's whole run, had
    at once."""
    started_wall: float = field(default_factory=time.time)
    open_handles: dict[str, ActivityHandle] = field(default_factory=dict)
    """Tasks started and not yet ended, by workflow id: what the audit closes at the end."""
    worker_snapshots: dict[str, FleetMetrics] = field(default_factory=dict)
    """On a Locust master: the latest metrics snapshot of each worker process."""
    stop_requested: bool = False
    """Set to end the run at the load shape's next tick, as a finished run ends."""
    stopped_early: dict[str, Any] | None = None
    """Set when a gate's sustained breach stopped the run: which gate, when, and the value."""
    capacity: dict[str, Any] | None = None
    """A capacity search's plan and its judged steps (see `capacity`)."""
    users: dict[int, int] = field(default_factory=dict)
    """On a Locust master or local runner: simulated workers running, by second of wall time."""
    schedules: set[Schedule] = field(default_factory=set)
    """Heartbeat schedules running now; the stop ends them (`end_schedules`)."""
    fleet: LocalFleet | None = None
    """This process's simulated workers, once the run started here (never on a master)."""
    heartbeat_only: bool = False
    """Simulated workers heartbeat a made-up token and nothing else (benchmarks against
    `swfbench.load.sink`)."""
    aborted: str | None = None
    """Why the run could not go on (bootstrap failed, an internal error), in one line."""
    workers_lost: dict[str, str] = field(default_factory=dict)
    """On a Locust master: worker processes that went missing or quit mid-run, and when."""
    final: bool = False
    """On a Locust worker: the run stopped here and its audit is done; the next report is final."""
    final_reports: set[str] = field(default_factory=set)
    """On a Locust master: workers whose final report (after their stop and audit) arrived."""
    interrupted: dict[str, Any] | None = None
    """Set when swfbench passed on a signal (see `interrupt`): which, at what second."""
    hurry: bool = False
    """A second signal: stop at once, without closing the tasks still open."""
    _registered_at: float = 0.0
    _register_lock: threading.Lock = field(default_factory=threading.Lock)
    _client: SWFClient | None = None
    _quiet_client: SWFClient | None = None
    _signer: Signer | None = None

    def apply_overrides(self, overrides: FleetOverrides) -> None:
        """Run the profile's fleet with Locust's -u, -r and -t: `profile` becomes the profile
        as it runs (its size, spawn rate and run time overridden); the file's stays in
        `loaded_profile`, so that later overrides (the web UI's form) start from it."""
        loaded = self.loaded_profile or self.profile
        self.loaded_profile = loaded
        self.overrides = overrides
        self.profile = loaded.overridden(overrides)
        self.run_time_s = self.profile.run_time_s

    @property
    def client(self) -> SWFClient:
        """The simulated workers' client, one per process: on the fast path (`send_mode: fast`)
        their calls take it too (`transport.FastClient`), else boto3; either way with a
        connection per sender, since workers call through their sender, so no more of them
        call at once."""
        if self._client is None:
            if self.send_mode == "fast":
                self._client = FastClient(
                    self.target, self.signer, self.observer, connections=self.profile.senders
                )
            else:
                self._client = SWFClient(self.target, self.observer, pool=self.profile.senders)
        return self._client

    @property
    def quiet_client(self) -> SWFClient:
        """A client for housekeeping (registration, the closing audit), reported to nobody:
        Locust stops counting once the run stops, and these calls are not load."""
        if self._quiet_client is None:
            self._quiet_client = SWFClient(self.target)
        return self._quiet_client

    def _credentials(self) -> Credentials:
        """The target's own keys; only real SWF reads the standard chain (and again every
        few minutes: temporary credentials rotate)."""
        if self.target.credentials is not None:
            return (*self.target.credentials, self.target.session_token)
        return aws_credentials(self.target.region, self.target.profile)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(
                endpoint_url=self.target.endpoint_url,
                region=self.target.region,
                credentials=self._credentials,
            )
        return self._signer

    def bootstrap(self) -> None:
        """Register the domain and types, trying transient errors (5xx, throttling, no
        answer) again with backoff before giving up."""
        bootstrap(self.quiet_client, self.profile.domain, attempts=BOOTSTRAP_ATTEMPTS)

    def register_again(self) -> None:
        """The target no longer knows the domain (restarted empty): register it again, once
        per REGISTER_AGAIN_S for the whole process; other workers wait and reuse the result."""
        with self._register_lock:
            if time.monotonic() - self._registered_at < REGISTER_AGAIN_S:
                return
            self._registered_at = time.monotonic()
            log.warning(
                "the target does not know domain %s: registering it again", self.profile.domain
            )
            self.metrics.count("domain_registered_again")
            self.bootstrap()

    def record_worker_error(self, exc: BaseException) -> None:
        """An exception inside a simulated worker: a failed attempt with code WorkerError
        (seen by Locust like any failed call), and its type and first message kept."""
        first = type(exc).__name__ not in self.metrics.worker_errors
        self.metrics.record_worker_error(exc)
        self.observer(CallRecord(WORKER_OPERATION, 0.0, WORKER_ERROR, None, 0))
        if first:
            log.error("a simulated worker failed: %s: %s", type(exc).__name__, exc)

    def end_schedules(self, end: float | None = None) -> None:
        """The run stopped: every schedule still running ends now (see `Schedule.finish`)."""
        for schedule in list(self.schedules):
            schedule.finish(end)

    def merged_metrics(self, *, timeline: bool = True) -> FleetMetrics:
        """This process's metrics plus every worker's latest snapshot (master: only those)."""
        return merged([self.metrics, *self.worker_snapshots.values()], timeline=timeline)

    def interrupt(self, by: str, *, hurry: bool = False) -> None:
        """End the run at the load shape's next tick, as a finished run ends (its users stop,
        the audit closes their tasks, the results are written), marked as interrupted by `by`;
        with `hurry`, the audit leaves the tasks open."""
        if self.interrupted is None:
            self.interrupted = {"by": by, "at_s": round(time.time() - self.started_wall, 3)}
        self.stop_requested = True
        self.hurry = self.hurry or hurry

    def audit(
        self, report: Callable[[str], None] | None = None, *, time_limit_s: float = 60.0
    ) -> int:
        """Close every task still open (a user stopped mid-task); count them; return how many.
        In a hurry (see `interrupt`) they are counted, not closed. Past `time_limit_s`, or once
        the target stops answering, the rest are left to the domain audit (which retries): a
        hung target costs one timeout here, not one per task."""
        closed = 0
        give_up = time.monotonic() + time_limit_s
        answering = True
        for workflow_id, handle in list(self.open_handles.items()):
            self.open_handles.pop(workflow_id, None)
            self.metrics.count("interrupted")
            if self.hurry:
                continue
            if not answering or time.monotonic() > give_up:
                self.metrics.count("close_failures")
                continue
            try:
                if dataclasses.replace(handle, client=self.quiet_client).close():
                    closed += 1
                    self.metrics.count("closed_by_audit")
            except SwfbenchError as exc:
                self.metrics.count("close_failures")
                answering = not isinstance(exc, TargetUnreachable)
                if report is not None:
                    report(f"could not close {workflow_id}: {exc}")
        return closed


def attach(environment: Any, runtime: FleetRuntime) -> None:
    setattr(environment, ATTRIBUTE, runtime)


def runtime_of(environment: Any) -> FleetRuntime:
    runtime = getattr(environment, ATTRIBUTE, None)
    if runtime is None:
        raise RuntimeError("no swfbench fleet attached to this Locust environment")
    assert isinstance(runtime, FleetRuntime)
    return runtime
