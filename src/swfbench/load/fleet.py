"""What every simulated worker of one Locust process shares: profile, target, clients, metrics.

One `FleetRuntime` hangs off each Locust `Environment` (see `attach`), so nothing lives at module
level and a test or a benchmark can build its own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from swfbench.activity import ActivityHandle
from swfbench.client import CallObserver, CallRecord, SWFClient
from swfbench.errors import ConfigurationError, SwfbenchError, UsageError
from swfbench.identities import AuthFile
from swfbench.load.metrics import FleetMetrics, merged
from swfbench.load.profile import Profile
from swfbench.load.sigv4 import Credentials, Signer
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

ATTRIBUTE = "swfbench_fleet"
"""Name of the attribute that carries the runtime on a Locust Environment."""


class SWFFault(Exception):
    """A failed SWF call as Locust records it: the message is only the error code, so Locust's
    failure table has one row per operation and code (never one per task token)."""


def target_for_host(
    host: str, region: str | None, auth: AuthFile | None = None, identity: str | None = None
) -> Target:
    """The target behind a Locust `--host`: real SWF for amazonaws.com, an emulator otherwise;
    with an auth file, calls sign as `identity` (None: the file's default)."""
    host = host.rstrip("/")
    if ".amazonaws.com" in host:
        if auth is not None:
            raise UsageError("--swf-auth gives identities for an emulator, not for real SWF")
        session = boto3.Session(region_name=region)
        if session.region_name is None:
            raise ConfigurationError("real SWF needs a region: pass --swf-region")
        return Target(kind="aws", endpoint_url=host, region=session.region_name)
    target = Target(
        kind="endpoint",
        endpoint_url=host,
        region=region or EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )
    return target.as_identity(auth.identity(identity)) if auth is not None else target


def locust_observer(request_event: Any, metrics: FleetMetrics) -> CallObserver:
    """An observer that fires Locust's request event (named by operation) and counts the call."""

    def observe(record: CallRecord) -> None:
        metrics.record_call(record.operation, record.error_code, record.duration_s)
        request_event.fire(
            request_type="SWF",
            name=record.operation,
            response_time=record.duration_s * 1000.0,
            response_length=record.response_size,
            exception=SWFFault(record.error_code) if record.error_code else None,
            context={},
        )

    return observe


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
    """When the profile's shape ends the run (the profile's run_time_s or --run-time)."""
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
    interrupted: dict[str, Any] | None = None
    """Set when swfbench passed on a signal (see `interrupt`): which, at what second."""
    hurry: bool = False
    """A second signal: stop at once, without closing the tasks still open."""
    _client: SWFClient | None = None
    _quiet_client: SWFClient | None = None
    _signer: Signer | None = None

    @property
    def client(self) -> SWFClient:
        """One boto3-backed client per process for setup calls (boto3 clients are costly)."""
        if self._client is None:
            self._client = SWFClient(self.target, self.observer)
        return self._client

    @property
    def quiet_client(self) -> SWFClient:
        """A client for housekeeping (registration, the closing audit), reported to nobody:
        Locust stops counting once the run stops, and these calls are not load."""
        if self._quiet_client is None:
            self._quiet_client = SWFClient(self.target)
        return self._quiet_client

    def _credentials(self) -> Credentials:
        if self.target.credentials is not None:
            return (*self.target.credentials, self.target.session_token)
        found = boto3.Session(region_name=self.target.region).get_credentials()
        if found is None:
            raise ConfigurationError("no AWS credentials found for real SWF")
        frozen = found.get_frozen_credentials()
        return (frozen.access_key, frozen.secret_key, frozen.token)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            assert self.target.endpoint_url is not None
            self._signer = Signer(
                endpoint_url=self.target.endpoint_url,
                region=self.target.region,
                credentials=self._credentials,
            )
        return self._signer

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

    def audit(self, report: Callable[[str], None] | None = None) -> int:
        """Close every task still open (a user stopped mid-task); count them; return how many.
        In a hurry (see `interrupt`) they are counted, not closed."""
        closed = 0
        for workflow_id, handle in list(self.open_handles.items()):
            self.open_handles.pop(workflow_id, None)
            self.metrics.count("interrupted")
            if self.hurry:
                continue
            try:
                if dataclasses.replace(handle, client=self.quiet_client).close():
                    closed += 1
                    self.metrics.count("closed_by_audit")
            except SwfbenchError as exc:
                self.metrics.count("close_failures")
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
