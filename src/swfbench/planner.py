"""Capacity planning: a fleet's heartbeats against SWF's token buckets, simulated.

SWF throttles RecordActivityTaskHeartbeat with two token buckets (fact sheet, "Quotas"): one per
account (2000 tokens, refilled at 160/s) and one per workflow execution (1000, 1000/s). A call
takes a token from both; with either empty it is throttled, and a throttled heartbeat does not
reset the heartbeat timeout. So a fleet that outgrows its quota times out its own tasks.

The model: each worker heartbeats on an absolute schedule (interval plus uniform jitter); a
throttled heartbeat is not retried, the worker simply sends its next one when due. A worker's
task times out when it goes a whole heartbeat timeout without a successful heartbeat.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml

from swfbench.errors import UsageError

StartMode = Literal["spread", "synchronized"]
BUCKET_SAMPLES = 240
"""Points in the bucket-level series: enough for a chart, small enough for a report."""


@dataclass(frozen=True, kw_only=True)
class Bucket:
    size: float
    """Tokens available at once (the burst)."""
    refill_per_s: float


@dataclass(frozen=True, kw_only=True)
class Quotas:
    account: Bucket
    execution: Bucket

    @classmethod
    def swf_defaults(cls) -> Quotas:
        text = resources.files("swfbench").joinpath("data/swf_quotas.yaml").read_text()
        data = yaml.safe_load(text)
        return cls(
            account=Bucket(
                size=data["account"]["bucket"], refill_per_s=data["account"]["refill_per_s"]
            ),
            execution=Bucket(
                size=data["execution"]["bucket"], refill_per_s=data["execution"]["refill_per_s"]
            ),
        )

    def overridden(
        self,
        *,
        account_bucket: float | None = None,
        account_refill: float | None = None,
        execution_bucket: float | None = None,
        execution_refill: float | None = None,
    ) -> Quotas:
        """These quotas with the values given (e.g. a raised account refill) put in."""

        def pick(value: float | None, default: float) -> float:
            return default if value is None else value

        return Quotas(
            account=Bucket(
                size=pick(account_bucket, self.account.size),
                refill_per_s=pick(account_refill, self.account.refill_per_s),
            ),
            execution=Bucket(
                size=pick(execution_bucket, self.execution.size),
                refill_per_s=pick(execution_refill, self.execution.refill_per_s),
            ),
        )

    def check(self) -> None:
        for name, bucket in (("account", self.account), ("execution", self.execution)):
            if bucket.size < 1:
                raise UsageError(f"{name} bucket must hold at least 1 token, got {bucket.size:g}")
            if bucket.refill_per_s <= 0:
                raise UsageError(
                    f"{name} refill must be above 0 per second, got {bucket.refill_per_s:g}: "
                    "no heartbeat could ever succeed"
                )


@dataclass(frozen=True, kw_only=True)
class Fleet:
    workers: int
    interval_s: float
    jitter_s: float = 0.0
    """Each interval is drawn uniformly from interval ± jitter."""
    start: StartMode = "spread"
    activities_per_execution: int = 1
    heartbeat_timeout_s: float | None = None
    """None: twice the interval."""

    @property
    def timeout_s(self) -> float:
        return self.heartbeat_timeout_s or 2 * self.interval_s

    @property
    def rate_per_s(self) -> float:
        return self.workers / self.interval_s

    def check(self) -> None:
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {self.workers}")
        if not self.interval_s > 0:
            raise UsageError(f"--interval must be above 0 seconds, got {self.interval_s:g}")
        if not 0 <= self.jitter_s < self.interval_s:
            raise UsageError(
                f"--jitter must be at least 0 and below the interval ({self.interval_s:g} s), "
                f"got {self.jitter_s:g}"
            )
        if self.activities_per_execution < 1:
            raise UsageError(
                f"--activities-per-execution must be at least 1, got {self.activities_per_execution}"
            )
        if self.activities_per_execution > 1000:
            # SWF allows at most 1,000 open activity tasks per execution (fact sheet, "Quotas").
            raise UsageError("--activities-per-execution cannot exceed SWF's 1000 open activities")
        if self.heartbeat_timeout_s is not None and not self.heartbeat_timeout_s > 0:
            raise UsageError(
                f"--heartbeat-timeout must be above 0, got {self.heartbeat_timeout_s:g}"
            )


@dataclass(kw_only=True)
class Simulation:
    """What one start mode does to the buckets over the simulated horizon."""

    start: StartMode
    heartbeats: int
    throttled: int
    throttled_fraction: float
    steady_throttled_fraction: float
    """Over the second half of the horizon, after start-up effects."""
    throttling_starts_s: float | None
    longest_gap_s: float
    """The longest any worker went without a successful heartbeat."""
    workers_timed_out: int
    """Workers whose longest gap reached the heartbeat timeout: their tasks would time out."""
    bucket_level: list[tuple[float, float]] = field(default_factory=list)
    """(seconds, account tokens left), sampled over the horizon."""


@dataclass(kw_only=True)
class Plan:
    fleet: Fleet
    quotas: Quotas
    horizon_s: float
    steady_rate_per_s: float
    account_utilisation: float
    """Steady heartbeat rate over the account refill rate: above 1 means lasting throttling."""
    execution_rate_per_s: float
    execution_utilisation: float
    shortest_safe_interval_s: float | None
    """None: no interval below the heartbeat timeout keeps this fleet within quota."""
    largest_safe_fleet: int
    """With a spread start."""
    largest_safe_synchronized_fleet: int
    """With every worker's first heartbeat at the same instant and no jitter to disperse them,
    each wave gets only what the bucket holds, refilled over one interval."""
    simulations: dict[str, Simulation]
    throttled_fraction_by_fleet: list[tuple[int, float]]
    safe_interval_by_fleet: list[tuple[int, float]]

    @property
    def chosen(self) -> Simulation:
        return self.simulations[self.fleet.start]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fleet"]["heartbeat_timeout_s"] = self.fleet.timeout_s
        return data


def shortest_safe_interval(fleet: Fleet, quotas: Quotas) -> float | None:
    """The shortest interval whose steady rate both buckets' refill sustains, if it is below
    the heartbeat timeout (jitter included)."""
    per_execution = min(fleet.activities_per_execution, fleet.workers)
    interval = max(
        fleet.workers / quotas.account.refill_per_s,
        per_execution / quotas.execution.refill_per_s,
    )
    return interval if interval + fleet.jitter_s < fleet.timeout_s else None


def largest_safe_fleet(fleet: Fleet, quotas: Quotas) -> int:
    if fleet.interval_s + fleet.jitter_s >= fleet.timeout_s:
        return 0  # even an unthrottled worker misses its own timeout
    if fleet.activities_per_execution / fleet.interval_s > quotas.execution.refill_per_s:
        return 0
    return math.floor(quotas.account.refill_per_s * fleet.interval_s)


def steady_throttled_fraction(workers: int, interval_s: float, quotas: Quotas) -> float:
    rate = workers / interval_s
    return max(0.0, 1.0 - quotas.account.refill_per_s / rate)


def _arrivals(
    fleet: Fleet, start: StartMode, horizon_s: float, seed: int
) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    interval, jitter = fleet.interval_s, fleet.jitter_s
    arrivals: list[tuple[float, int]] = []
    append = arrivals.append
    for worker in range(fleet.workers):
        t = 0.0 if start == "synchronized" else worker * interval / fleet.workers
        while t < horizon_s:
            append((t, worker))
            t += interval + (rng.uniform(-jitter, jitter) if jitter else 0.0)
    arrivals.sort()
    return arrivals


def simulate(
    fleet: Fleet, quotas: Quotas, start: StartMode, horizon_s: float, seed: int = 1
) -> Simulation:
    """Replay the fleet's heartbeats against both token buckets, in time order."""
    account_size, account_refill = quotas.account.size, quotas.account.refill_per_s
    exec_size, exec_refill = quotas.execution.size, quotas.execution.refill_per_s
    per_execution = fleet.activities_per_execution
    executions = math.ceil(fleet.workers / per_execution)
    # Buckets start full, as an account that has been quiet would.
    account, account_at = float(account_size), 0.0
    exec_tokens = [float(exec_size)] * executions
    exec_at = [0.0] * executions
    # Each task started one interval before its first heartbeat was due.
    first_due = 0.0 if start == "synchronized" else None
    last_ok = [
        (first_due if first_due is not None else w * fleet.interval_s / fleet.workers)
        - fleet.interval_s
        for w in range(fleet.workers)
    ]
    longest = [0.0] * fleet.workers
    half = horizon_s / 2
    throttled = steady_total = steady_throttled = 0
    throttling_starts: float | None = None
    sample_every = horizon_s / BUCKET_SAMPLES
    next_sample = 0.0
    levels: list[tuple[float, float]] = []
    arrivals = _arrivals(fleet, start, horizon_s, seed)
    for t, worker in arrivals:
        while next_sample <= t:
            # The level at the sample instant: what the bucket held after the last call, refilled.
            level = min(account_size, account + (next_sample - account_at) * account_refill)
            levels.append((round(next_sample, 3), round(level, 1)))
            next_sample += sample_every
        account = min(account_size, account + (t - account_at) * account_refill)
        account_at = t
        x = worker // per_execution
        tokens = min(exec_size, exec_tokens[x] + (t - exec_at[x]) * exec_refill)
        exec_at[x] = t
        late = t >= half
        steady_total += late
        if account >= 1.0 and tokens >= 1.0:
            account -= 1.0
            exec_tokens[x] = tokens - 1.0
            gap = t - last_ok[worker]
            if gap > longest[worker]:
                longest[worker] = gap
            last_ok[worker] = t
        else:
            exec_tokens[x] = tokens
            throttled += 1
            steady_throttled += late
            if throttling_starts is None:
                throttling_starts = t
    while next_sample <= horizon_s:
        level = min(account_size, account + (next_sample - account_at) * account_refill)
        levels.append((round(next_sample, 3), round(level, 1)))
        next_sample += sample_every
    for worker in range(fleet.workers):
        # A gap still open when the horizon ends counts too.
        longest[worker] = max(longest[worker], horizon_s - last_ok[worker])
    total = len(arrivals)
    timeout = fleet.timeout_s
    return Simulation(
        start=start,
        heartbeats=total,
        throttled=throttled,
        throttled_fraction=throttled / total if total else 0.0,
        steady_throttled_fraction=steady_throttled / steady_total if steady_total else 0.0,
        throttling_starts_s=throttling_starts,
        longest_gap_s=max(longest),
        workers_timed_out=sum(1 for gap in longest if gap >= timeout),
        bucket_level=levels,
    )


def default_horizon(fleet: Fleet, quotas: Quotas) -> float:
    """Long enough to drain a full account bucket at the fleet's excess rate and to see several
    heartbeat timeouts, bounded so a plan stays quick."""
    excess = fleet.rate_per_s - quotas.account.refill_per_s
    drain = quotas.account.size / excess if excess > 0 else 0.0
    return min(max(4 * fleet.interval_s, 3 * fleet.timeout_s, 2 * drain), 3600.0)


def _fleet_sizes(workers: int) -> list[int]:
    return sorted({max(1, round(workers * k / 8)) for k in range(1, 25)})


def plan(fleet: Fleet, quotas: Quotas, *, horizon_s: float | None = None, seed: int = 1) -> Plan:
    fleet.check()
    quotas.check()
    horizon = horizon_s or default_horizon(fleet, quotas)
    if not horizon > 0:
        raise UsageError(f"--duration must be above 0 seconds, got {horizon:g}")
    per_execution = min(fleet.activities_per_execution, fleet.workers)
    sizes = _fleet_sizes(fleet.workers)
    return Plan(
        fleet=fleet,
        quotas=quotas,
        horizon_s=horizon,
        steady_rate_per_s=fleet.rate_per_s,
        account_utilisation=fleet.rate_per_s / quotas.account.refill_per_s,
        execution_rate_per_s=per_execution / fleet.interval_s,
        execution_utilisation=per_execution / fleet.interval_s / quotas.execution.refill_per_s,
        shortest_safe_interval_s=shortest_safe_interval(fleet, quotas),
        largest_safe_fleet=largest_safe_fleet(fleet, quotas),
        largest_safe_synchronized_fleet=min(
            largest_safe_fleet(fleet, quotas), math.floor(quotas.account.size)
        ),
        simulations={
            mode: simulate(fleet, quotas, mode, horizon, seed)
            for mode in ("spread", "synchronized")
        },
        throttled_fraction_by_fleet=[
            (n, steady_throttled_fraction(n, fleet.interval_s, quotas)) for n in sizes
        ],
        safe_interval_by_fleet=[(n, n / quotas.account.refill_per_s) for n in sizes],
    )


def stepped_arrivals(
    workers_by_step: Sequence[int], step_s: float, interval_s: float, spawn_rate: float, seed: int
) -> list[float]:
    """Heartbeat times of a fleet grown in steps, as `swfbench capacity` grows it: Locust adds a
    step's new workers at `spawn_rate` per second, each starts its task and sends its first
    heartbeat a uniform phase into its interval, then one every interval to the end."""
    rng = random.Random(seed)
    horizon = len(workers_by_step) * step_s
    arrivals: list[float] = []
    present = 0
    for step, workers in enumerate(workers_by_step):
        for index in range(present, workers):
            t = step * step_s + (index - present) / spawn_rate + rng.uniform(0.0, interval_s)
            while t < horizon:
                arrivals.append(t)
                t += interval_s
        present = max(present, workers)
    arrivals.sort()
    return arrivals


def first_throttled(arrivals: Sequence[float], bucket: Bucket) -> float | None:
    """When the first of these heartbeats finds the (full at 0 s) account bucket empty.

    One activity per workflow execution heartbeating at most every few milliseconds never
    empties its execution's bucket (1000 tokens, 1000/s), so only the account bucket counts.
    """
    tokens, last = float(bucket.size), 0.0
    for t in arrivals:
        tokens = min(bucket.size, tokens + (t - last) * bucket.refill_per_s)
        last = t
        if tokens < 1.0:
            return t
        tokens -= 1.0
    return None
