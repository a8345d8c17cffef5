"""Capacity planning: a fleet's heartbeats against SWF's token buckets, simulated.

SWF throttles RecordActivityTaskHeartbeat with two token buckets (fact sheet, "Quotas"): one per
account (2000 tokens, refilled at 160/s) and one per workflow execution (1000, 1000/s). A call
takes a token from both; with either empty it is throttled, and a throttled heartbeat does not
reset the heartbeat timeout. So a fleet that outgrows its quota times out its own tasks.

The model: each worker heartbeats on an absolute schedule (interval plus uniform jitter); a
throttled heartbeat is not retried, the worker simply sends its next one when due. A worker's
task times out when it goes a whole heartbeat timeout without a successful heartbeat. Calls that
arrive at the same instant are served in worker order.

A plan's cost does not grow with the fleet: `simulate` replays groups of workers, not workers.
The fleet is cut into contiguous groups whose members heartbeat at the same instants (see
`partition`), so a group's arrival is one event however many workers it holds, and the number of
groups comes from a budget of arrivals. Among calls that arrive together the first ones find the
tokens: a group's call lets `won` of its members through. Which ones:

- Without jitter the per-worker model serves the workers in the same order every interval, so
  the same ones win: a group's winners are its first members (`_InOrder`). A member then never
  succeeds unless every member before it does, so each member's last success is no later than
  its predecessor's and its longest gap no shorter: the members whose gap reaches the heartbeat
  timeout are a suffix of the group, and the group's longest gap is its last member's. A group
  keeps the runs of members that share a last success (a staircase), never a per-worker array.
- With jitter, workers drift past one another and the winners change from one interval to the
  next: a call lets the same share of every member through (`_Shuffled`), and the group keeps
  expected member counts per last success.

With one worker per group both are the per-worker model (`simulate_per_worker`) exactly, draw for
draw of the jitter; tests hold larger groups to stated tolerances against it.
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
ARRIVALS_BUDGET = 50_000
"""Group arrivals one simulation replays at most, whatever the fleet: the cost of a plan. Fleets
whose workers all fit in it (about 7,000 workers over the default six intervals) are simulated
one worker per group, exactly."""
MIN_SPREAD_GROUPS = 64
"""Fewest groups a fleet is cut into (unless it is smaller; see `fewest_groups`): the simulated
horizon is bounded so that the budget still affords them."""
DEFAULT_HORIZON_S = 3600.0
"""The longest horizon chosen without --duration."""
MAX_HORIZON_S = 86_400.0
"""The longest --duration: one day."""
MAX_WORKERS = 10**15
"""Beyond it a fleet's size is no longer exact in the floating point the model computes with
(2**53, about 9e15); no account comes near it."""
MAX_SECONDS = 99_999_999.0
"""SWF takes timeouts as strings of at most 8 digits of seconds (fact sheet, "The call"): no
heartbeat timeout, and so no useful interval, is longer."""
MIN_INTERVAL_S = 0.001
"""A heartbeat is a call to SWF over the network: no worker sends one every microsecond."""
MAX_QUOTA = 1e12
"""Bucket sizes and refills beyond any account's: larger ones only overflow the arithmetic."""


def _finite_in(value: float, low: float, high: float) -> bool:
    """Within [low, high]; false for NaN and the infinities."""
    return math.isfinite(value) and low <= value <= high


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
            if not _finite_in(bucket.size, 1, MAX_QUOTA):
                raise UsageError(
                    f"{name} bucket must hold from 1 to {MAX_QUOTA:g} tokens, got {bucket.size:g}"
                )
            if not _finite_in(bucket.refill_per_s, 0, MAX_QUOTA) or bucket.refill_per_s == 0:
                raise UsageError(
                    f"{name} refill must be above 0 and at most {MAX_QUOTA:g} per second, got "
                    f"{bucket.refill_per_s:g}"
                    + (": no heartbeat could ever succeed" if bucket.refill_per_s == 0 else "")
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
        if not 1 <= self.workers <= MAX_WORKERS:
            raise UsageError(
                f"--workers must be from 1 to {MAX_WORKERS:.0e}, got {self.workers:.6g}"
            )
        if not _finite_in(self.interval_s, MIN_INTERVAL_S, MAX_SECONDS):
            raise UsageError(
                f"--interval must be from {MIN_INTERVAL_S:g} to {MAX_SECONDS:.0f} seconds, "
                f"got {self.interval_s:g}"
            )
        if not (math.isfinite(self.jitter_s) and 0 <= self.jitter_s < self.interval_s):
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
        timeout = self.heartbeat_timeout_s
        if timeout is not None and not (_finite_in(timeout, 0, MAX_SECONDS) and timeout > 0):
            raise UsageError(
                f"--heartbeat-timeout must be above 0 and at most {MAX_SECONDS:.0f} seconds (SWF "
                f"takes at most 8 digits), got {timeout:g}"
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
    groups: int = 0
    """Groups of workers simulated (see `partition`)."""
    exact: bool = True
    """Whether the groups reproduce the per-worker model exactly: one worker per group, or all
    workers calling at the same instants."""
    bucket_level: list[tuple[float, float]] = field(default_factory=list)
    """(seconds, account tokens left), sampled every horizon / BUCKET_SAMPLES seconds."""
    bucket_min: list[tuple[float, float]] = field(default_factory=list)
    """(seconds, tokens): the fewest tokens left within each sampling window, and when. Exact:
    a bucket emptied between two samples shows here at 0."""
    bucket_max: list[tuple[float, float]] = field(default_factory=list)
    """(seconds, tokens): the most tokens held within each sampling window, and when."""


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


Window = tuple[float, float, float, float]
"""The open sampling window: (when it was lowest, lowest level, when highest, highest level)."""
_NO_WINDOW: Window = (0.0, math.inf, 0.0, -math.inf)


class _BucketTrace:
    """The account bucket over the horizon: its level every `horizon / BUCKET_SAMPLES` seconds,
    and the fewest and most tokens it held within each window between two samples. Samples
    alone would hide a bucket emptied and refilled between two of them (a synchronized wave).

    The simulation loop keeps the open window's low and high in locals (it is the hot path) and
    hands them over whenever an arrival reaches the next sample instant.
    """

    def __init__(self, bucket: Bucket, horizon_s: float) -> None:
        self.size, self.refill = bucket.size, bucket.refill_per_s
        self.every = horizon_s / BUCKET_SAMPLES
        self.next_at = 0.0
        self.levels: list[tuple[float, float]] = []
        self.lows: list[tuple[float, float]] = []
        self.highs: list[tuple[float, float]] = []

    def _close(self, window: Window, end_level: float) -> None:
        low_at, low_level, high_at, high_level = window
        if end_level > high_level:
            high_at, high_level = self.next_at, end_level
        self.lows.append((round(low_at, 3), round(low_level, 1)))
        self.highs.append((round(high_at, 3), round(high_level, 1)))

    def reach(self, t: float, tokens: float, tokens_at: float, window: Window) -> Window:
        """Take every sample due at or before `t` (the bucket held `tokens` at `tokens_at` and
        refills until then); returns the window now open."""
        while self.next_at <= t:
            # The level at the sample instant: what the bucket held after the last call, refilled.
            level = min(self.size, tokens + (self.next_at - tokens_at) * self.refill)
            if self.levels:
                self._close(window, level)
            self.levels.append((round(self.next_at, 3), round(level, 1)))
            window = (self.next_at, level, self.next_at, level)
            self.next_at += self.every
        return window

    def finish(self, horizon_s: float, tokens: float, tokens_at: float, window: Window) -> None:
        window = self.reach(horizon_s, tokens, tokens_at, window)
        self.next_at = horizon_s
        self._close(window, min(self.size, tokens + (horizon_s - tokens_at) * self.refill))


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


def simulate_per_worker(
    fleet: Fleet, quotas: Quotas, start: StartMode, horizon_s: float, seed: int = 1
) -> Simulation:
    """The reference model, one worker at a time: memory and time grow with the fleet. `simulate`
    answers the same for any fleet size; tests and benchmarks hold it against this."""
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
    trace = _BucketTrace(quotas.account, horizon_s)
    window = _NO_WINDOW
    arrivals = _arrivals(fleet, start, horizon_s, seed)
    for t, worker in arrivals:
        if t >= trace.next_at:
            window = trace.reach(t, account, account_at, window)
        account = min(account_size, account + (t - account_at) * account_refill)
        account_at = t
        if account > window[3]:
            window = (window[0], window[1], t, account)
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
        if account < window[1]:
            window = (t, account, window[2], window[3])
    trace.finish(horizon_s, account, account_at, window)
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
        groups=fleet.workers,
        bucket_level=trace.levels,
        bucket_min=trace.lows,
        bucket_max=trace.highs,
    )


@dataclass(frozen=True, kw_only=True)
class Groups:
    """Contiguous runs of workers simulated as one: each run heartbeats at the same instants."""

    sizes: list[int]
    offsets: list[float]
    """Each group's first heartbeat, seconds after the start."""
    bucket: list[int]
    """The execution bucket each group draws on."""
    lanes: list[int]
    """Executions each group spans: 1 when it lies inside one."""
    lane_size: list[int]
    """A group's members in each of its executions."""
    buckets: int
    """Execution buckets tracked."""
    exact: bool
    """One worker per group, or groups whose members the per-worker model already serves at
    the same instants, each inside one execution or never held back by its bucket."""


def _split(total: int, parts: int) -> list[int]:
    """`total` cut into `parts` contiguous runs as equal as possible, the longer ones first."""
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def execution_bucket_binds(fleet: Fleet, quotas: Quotas) -> bool:
    """Whether an execution's bucket could ever refuse a call: its activities arrive at most
    `activities` at once and `activities / (interval - jitter)` per second, so a bucket at least
    that large and refilled at least that fast (with a margin for rounding) never empties."""
    activities = min(fleet.activities_per_execution, fleet.workers)
    fastest = activities / (fleet.interval_s - fleet.jitter_s)
    bucket = quotas.execution
    return activities > bucket.size or fastest > bucket.refill_per_s * (1 - 1e-6)


def shuffled(fleet: Fleet, start: StartMode) -> bool:
    """Whether jitter reorders the workers from one interval to the next: when it moves a worker
    past its neighbours in the schedule (all of them, after a synchronized start)."""
    spacing = 0.0 if start == "synchronized" else fleet.interval_s / fleet.workers
    return fleet.jitter_s > spacing


def partition(
    fleet: Fleet,
    quotas: Quotas,
    start: StartMode,
    horizon_s: float,
    arrivals_budget: int = ARRIVALS_BUDGET,
) -> Groups:
    """Cut the fleet into as many groups as `arrivals_budget` affords over the horizon (one
    worker per group when the fleet fits: exact), each of contiguous workers.

    Spread start: a group's members share the schedule offset at their midpoint, so its calls
    arrive together, up to half a group's share of the interval early or late. Synchronized start
    without jitter: every worker already calls at the same instants, so one group is the per-worker
    model itself, unless execution buckets could bind (then one group per execution).

    Jitter: a group shares its jitter draws (the next group's follow, in the per-worker order).
    A group's members then stay together where real workers would drift apart, so calls come in
    as many lumps per interval as there are groups, each of `workers / groups` calls. The account
    bucket sees the same calls per interval; lumps cost tokens only where one holds a good part of
    what the bucket holds, which `fewest_groups` keeps from happening near the quota.

    Execution buckets: a group lies inside one execution when the executions fit the budget,
    and every group then draws on its execution's own bucket, exactly. Otherwise a group is made
    of whole executions, and its bucket is its first execution's: the one served first, whose
    calls the group's arrivals replay exactly. Every execution of the group is taken to allow as
    many calls as that one (`min(activities, tokens)` each), and the group's winners are still a
    prefix, whereas in fact each execution's own first activities would win. So the count of
    refusals the execution buckets cause is right when the group's executions fare alike (they
    receive the same calls), and which workers they fall on is approximated. That bucket (1000
    tokens, 1000/s) binds only when an execution's activities heartbeat more than 1000 times a
    second in all (`execution_bucket_binds`); until then nothing here is approximate.
    """
    workers = fleet.workers
    per_execution = min(fleet.activities_per_execution, workers)
    executions = -(-workers // per_execution)
    periods = math.ceil(horizon_s / fleet.interval_s) + 1
    count = max(1, min(workers, arrivals_budget // periods))
    together = start == "synchronized" and not fleet.jitter_s
    binds = execution_bucket_binds(fleet, quotas)
    if together:
        count = 1 if not binds else min(executions, count)
    sizes: list[int] = []
    if executions <= count:
        # Groups inside executions: each execution cut into its share of the groups.
        bucket: list[int] = []
        for x in range(executions):
            members = min(per_execution, workers - x * per_execution)
            runs = _split(members, min(members, max(1, count * members // workers)))
            sizes += runs
            bucket += [x] * len(runs)
        lanes, lane_size, buckets = [1] * len(sizes), list(sizes), executions
    else:
        lanes = _split(executions, count)
        sizes = [n * per_execution for n in lanes]
        sizes[-1] -= executions * per_execution - workers  # the last execution may be short
        bucket, lane_size, buckets = list(range(count)), [per_execution] * count, count
    offsets: list[float] = []
    first = 0
    interval = fleet.interval_s
    for size in sizes:
        if start == "synchronized":
            offsets.append(0.0)
        else:
            # The members' own offsets are `worker * interval / workers`; a group takes their
            # midpoint (for one worker, exactly its own).
            offsets.append((first + (size - 1) / 2) * interval / workers)
        first += size
    return Groups(
        sizes=sizes,
        offsets=offsets,
        bucket=bucket,
        lanes=lanes,
        lane_size=lane_size,
        buckets=buckets,
        exact=len(sizes) == workers or (together and (not binds or max(lanes) == 1)),
    )


def _group_arrivals(
    fleet: Fleet, groups: Groups, horizon_s: float, seed: int
) -> tuple[list[tuple[float, int]], int, int]:
    """Every group's calls in time order (ties in group order, as workers'), with the number of
    heartbeats in all and in the second half of the horizon. The jitter is drawn group after
    group, interval after interval, as `_arrivals` draws it worker after worker."""
    rng = random.Random(seed)
    # rng.uniform(-jitter, jitter), inlined: the same arithmetic, so the same draws.
    draw, low, span = rng.random, -fleet.jitter_s, fleet.jitter_s - -fleet.jitter_s
    interval, jittered = fleet.interval_s, fleet.jitter_s > 0
    half = horizon_s / 2
    arrivals: list[tuple[float, int]] = []
    append = arrivals.append
    heartbeats = late = 0
    for g, (offset, size) in enumerate(zip(groups.offsets, groups.sizes, strict=True)):
        t, calls = offset, 0
        while t < horizon_s:
            append((t, g))
            calls += 1
            late += size * (t >= half)
            t += interval + ((low + span * draw()) if jittered else 0.0)
        heartbeats += size * calls
    arrivals.sort()
    return arrivals, heartbeats, late


class _InOrder:
    """A group whose winners are always its first members: without jitter, the per-worker model
    serves simultaneous and near-simultaneous calls in the same order every interval, so the same
    workers win. Its members' last successes are a staircase, latest first: `runs` holds
    (end, last success) for the members still within the timeout, in member order; the members
    past the last run have timed out. A member's gap is checked whenever its group calls: one that
    has already reached the timeout times out whenever it closes."""

    __slots__ = ("runs", "size", "tail_gap", "tail_ok")

    def __init__(self, size: int, last_ok: float) -> None:
        self.size = size
        self.runs = [(size, last_ok)]
        # The last member wins only when every member does: its gaps are the group's longest.
        self.tail_ok, self.tail_gap = last_ok, 0.0

    def arrive(self, t: float, won: int, timeout: float) -> None:
        runs = self.runs
        if runs:
            if t - runs[-1][1] >= timeout:
                runs.pop()
                while runs and t - runs[-1][1] >= timeout:
                    runs.pop()
            if won and runs:
                within = runs[-1][0]
                if won >= within:
                    self.runs = [(within, t)]
                else:
                    i = 0
                    while runs[i][0] <= won:
                        i += 1
                    runs[:i] = [(won, t)]
        if won == self.size:
            gap = t - self.tail_ok
            if gap > self.tail_gap:
                self.tail_gap = gap
            self.tail_ok = t

    def timed_out(self, horizon_s: float, timeout: float) -> float:
        runs = self.runs
        # A gap still open when the horizon ends counts too.
        while runs and horizon_s - runs[-1][1] >= timeout:
            runs.pop()
        return self.size - (runs[-1][0] if runs else 0)

    def longest_gap(self, horizon_s: float) -> float:
        return max(self.tail_gap, horizon_s - self.tail_ok)


class _Shuffled(_InOrder):
    """A group whose winners are any of its members alike: with jitter, workers drift past one
    another, so which of them find a token changes from one interval to the next. A call that
    lets `won` of `size` members through does so for that share of every member, whatever its
    past. For the timeouts the group keeps expected (fractional) member counts: `since` holds
    how many members still within the timeout last succeeded at each instant, oldest first,
    divided by `scale` (the share no call has let through since the last reset) so that an
    arrival costs no pass over them; members reaching the timeout are `expired`. A group of one
    worker wins all or nothing and counts exactly as `_InOrder` does. The longest gap is still
    the last member's in order: the longest any member of the group can have gone (in the cases
    the tests measure, no further from the per-worker model's than expected counts come)."""

    __slots__ = ("alive", "expired", "scale", "since")

    def __init__(self, size: int, last_ok: float) -> None:
        super().__init__(size, last_ok)
        self.since = [(last_ok, float(size))]
        self.alive, self.expired, self.scale = float(size), 0.0, 1.0

    def arrive(self, t: float, won: int, timeout: float) -> None:
        since = self.since
        if since and t - since[0][0] >= timeout:
            gone = 0.0
            while since and t - since[0][0] >= timeout:
                gone += since.pop(0)[1]
            self.alive -= gone * self.scale
            self.expired += gone * self.scale
        if won == self.size:
            self.since = [(t, self.alive)]
            self.scale = 1.0
            gap = t - self.tail_ok
            if gap > self.tail_gap:
                self.tail_gap = gap
            self.tail_ok = t
        elif won:
            share = won / self.size
            scale = self.scale * (1.0 - share)
            if scale < 1e-200:
                self.since = since = [(ok, members * scale) for ok, members in since]
                scale = 1.0
            self.scale = scale
            since.append((t, share * self.alive / scale))

    def timed_out(self, horizon_s: float, timeout: float) -> float:
        # A gap still open when the horizon ends counts too.
        return self.expired + self.scale * sum(
            members for ok, members in self.since if horizon_s - ok >= timeout
        )


def simulate(
    fleet: Fleet,
    quotas: Quotas,
    start: StartMode,
    horizon_s: float,
    seed: int = 1,
    *,
    arrivals_budget: int = ARRIVALS_BUDGET,
) -> Simulation:
    """Replay the fleet's heartbeats against both token buckets in time order, group by group
    (see `partition`); with one worker per group, the same as `simulate_per_worker`."""
    groups = partition(fleet, quotas, start, horizon_s, arrivals_budget)
    sizes, bucket_of, lanes, lane_size = groups.sizes, groups.bucket, groups.lanes, groups.lane_size
    account_size, account_refill = quotas.account.size, quotas.account.refill_per_s
    exec_size, exec_refill = quotas.execution.size, quotas.execution.refill_per_s
    # Buckets start full, as an account that has been quiet would.
    account, account_at = float(account_size), 0.0
    exec_tokens = [float(exec_size)] * groups.buckets
    exec_at = [0.0] * groups.buckets
    interval, timeout = fleet.interval_s, fleet.timeout_s
    # Each task started one interval before its first heartbeat was due.
    kind = _Shuffled if shuffled(fleet, start) else _InOrder
    members = [
        kind(size, offset - interval) for size, offset in zip(sizes, groups.offsets, strict=True)
    ]
    half = horizon_s / 2
    throttled = steady_throttled = 0
    throttling_starts: float | None = None
    trace = _BucketTrace(quotas.account, horizon_s)
    next_sample = trace.next_at
    low_at, low, high_at, high = _NO_WINDOW
    arrivals, heartbeats, steady_total = _group_arrivals(fleet, groups, horizon_s, seed)
    for t, g in arrivals:
        if t >= next_sample:
            low_at, low, high_at, high = trace.reach(
                t, account, account_at, (low_at, low, high_at, high)
            )
            next_sample = trace.next_at
        account += (t - account_at) * account_refill
        if account > account_size:
            account = account_size
        account_at = t
        if account > high:
            high_at, high = t, account
        x = bucket_of[g]
        tokens = exec_tokens[x] + (t - exec_at[x]) * exec_refill
        if tokens > exec_size:
            tokens = exec_size
        exec_at[x] = t
        # The first calls find tokens: as many as both buckets hold whole tokens.
        size = sizes[g]
        won = size if account >= size else int(account)
        lane = lane_size[g]
        if tokens < lane:
            per_lane = int(tokens) * lanes[g]
            if per_lane < won:
                won = per_lane
        account -= won
        exec_tokens[x] = tokens - (won if won < lane else lane)
        if account < low:
            low_at, low = t, account
        if won < size:
            throttled += size - won
            if t >= half:
                steady_throttled += size - won
            if throttling_starts is None:
                throttling_starts = t
        members[g].arrive(t, won, timeout)
    trace.finish(horizon_s, account, account_at, (low_at, low, high_at, high))
    timed_out = round(sum(group.timed_out(horizon_s, timeout) for group in members))
    longest = max(group.longest_gap(horizon_s) for group in members)
    return Simulation(
        start=start,
        heartbeats=heartbeats,
        throttled=throttled,
        throttled_fraction=throttled / heartbeats if heartbeats else 0.0,
        steady_throttled_fraction=steady_throttled / steady_total if steady_total else 0.0,
        throttling_starts_s=throttling_starts,
        longest_gap_s=longest,
        workers_timed_out=timed_out,
        groups=len(sizes),
        exact=groups.exact,
        bucket_level=trace.levels,
        bucket_min=trace.lows,
        bucket_max=trace.highs,
    )


def fewest_groups(fleet: Fleet, quotas: Quotas, arrivals_budget: int = ARRIVALS_BUDGET) -> int:
    """The fewest groups a plan cuts the fleet into: `MIN_SPREAD_GROUPS`, and enough that a fleet
    at the account's quota sends no group's calls larger than a tenth of the account bucket. A
    group's calls arrive at once, and lumps near the bucket's size would empty it where calls
    spread over the interval never do. One worker per group for a smaller fleet; at most what
    leaves the budget four intervals."""
    at_quota = quotas.account.refill_per_s * fleet.interval_s
    wanted = max(MIN_SPREAD_GROUPS, math.ceil(10 * at_quota / quotas.account.size))
    return min(fleet.workers, wanted, arrivals_budget // 6)


def longest_horizon(fleet: Fleet, quotas: Quotas, arrivals_budget: int = ARRIVALS_BUDGET) -> float:
    """The longest horizon a plan simulates: a day, and no more intervals than the budget
    replays with `fewest_groups`."""
    periods = arrivals_budget // fewest_groups(fleet, quotas, arrivals_budget) - 2
    return min(MAX_HORIZON_S, periods * fleet.interval_s)


def default_horizon(fleet: Fleet, quotas: Quotas) -> float:
    """Long enough to drain a full account bucket at the fleet's excess rate and to see several
    heartbeat timeouts, bounded so a plan stays quick."""
    excess = fleet.rate_per_s - quotas.account.refill_per_s
    drain = quotas.account.size / excess if excess > 0 else 0.0
    wanted = max(4 * fleet.interval_s, 3 * fleet.timeout_s, 2 * drain)
    return min(wanted, DEFAULT_HORIZON_S, longest_horizon(fleet, quotas))


def _fleet_sizes(workers: int) -> list[int]:
    return sorted({max(1, round(workers * k / 8)) for k in range(1, 25)})


def plan(fleet: Fleet, quotas: Quotas, *, horizon_s: float | None = None, seed: int = 1) -> Plan:
    fleet.check()
    quotas.check()
    horizon = default_horizon(fleet, quotas) if horizon_s is None else horizon_s
    longest = longest_horizon(fleet, quotas)
    if not 0 < horizon <= longest:
        raise UsageError(
            f"--duration must be above 0 and at most {longest:g} seconds for this fleet "
            f"({longest / fleet.interval_s:.0f} intervals; never more than a day), got {horizon:g}"
        )
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
