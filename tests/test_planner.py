"""The capacity planner against the token-bucket arithmetic it must reproduce."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from swfbench.cli import main
from swfbench.errors import UsageError
from swfbench.plan.planner import (
    ARRIVALS_BUDGET,
    Bucket,
    Fleet,
    Quotas,
    Simulation,
    StartMode,
    default_horizon,
    execution_bucket_binds,
    first_throttled,
    partition,
    plan,
    simulate,
    simulate_per_worker,
    stepped_arrivals,
)
from swfbench.report import render
from swfbench.report.plan_page import bucket_envelope

SWF = Quotas.swf_defaults()


def test_defaults_are_swfs_documented_quotas() -> None:
    assert SWF.account == Bucket(size=2000, refill_per_s=160)
    assert SWF.execution == Bucket(size=1000, refill_per_s=1000)


def test_a_fleet_within_quota_is_never_throttled() -> None:
    result = plan(Fleet(workers=1000, interval_s=60, jitter_s=5), SWF)
    for simulation in result.simulations.values():
        assert simulation.throttled == 0
        assert simulation.throttling_starts_s is None
        assert simulation.workers_timed_out == 0
        assert simulation.longest_gap_s <= 65
    assert result.largest_safe_fleet == 160 * 60
    assert result.shortest_safe_interval_s == pytest.approx(1000 / 160)


def test_over_quota_spread_fleet_drains_the_bucket_then_throttles_the_excess() -> None:
    fleet = Fleet(workers=20000, interval_s=60)
    result = plan(fleet, SWF)
    spread = result.simulations["spread"]
    rate = 20000 / 60
    # A full bucket of 2000 drains at the excess rate before the first refusal.
    assert spread.throttling_starts_s == pytest.approx(2000 / (rate - 160), rel=0.02)
    # In steady state only the refill gets through.
    assert spread.steady_throttled_fraction == pytest.approx(1 - 160 / rate, abs=0.02)
    assert spread.workers_timed_out > 0
    assert result.account_utilisation == pytest.approx(rate / 160)
    assert result.shortest_safe_interval_s is None  # 125 s is past the 120 s timeout


def test_synchronized_start_without_jitter_gets_one_bucket_per_wave() -> None:
    herd = simulate(Fleet(workers=9000, interval_s=60), SWF, "synchronized", horizon_s=600)
    assert herd.throttling_starts_s == 0.0
    # Each wave of 9000 meets a bucket refilled to its 2000 cap: 7000 refused, every wave.
    assert herd.throttled_fraction == pytest.approx(7000 / 9000, abs=0.01)
    spread = simulate(Fleet(workers=9000, interval_s=60), SWF, "spread", horizon_s=600)
    assert spread.throttled == 0


def test_jitter_disperses_a_herd() -> None:
    still = simulate(Fleet(workers=4000, interval_s=30), SWF, "synchronized", horizon_s=300)
    jittered = simulate(
        Fleet(workers=4000, interval_s=30, jitter_s=10), SWF, "synchronized", horizon_s=300
    )
    assert jittered.steady_throttled_fraction < still.steady_throttled_fraction / 2


def test_the_per_execution_bucket_binds_when_activities_share_an_execution() -> None:
    raised = Quotas(account=Bucket(size=1e6, refill_per_s=1e6), execution=SWF.execution)
    fleet = Fleet(workers=1000, interval_s=0.5, activities_per_execution=1000)
    result = plan(fleet, raised, horizon_s=10)
    # 2000 heartbeats/s into one execution whose bucket refills at 1000/s.
    assert result.execution_utilisation == pytest.approx(2.0)
    assert result.simulations["spread"].steady_throttled_fraction == pytest.approx(0.5, abs=0.05)
    assert result.largest_safe_fleet == 0
    alone = plan(Fleet(workers=1000, interval_s=0.5), raised, horizon_s=10)
    assert alone.simulations["spread"].throttled == 0


def test_a_missed_heartbeat_times_out_a_task_with_a_tight_timeout() -> None:
    tight = Fleet(workers=3000, interval_s=10, heartbeat_timeout_s=15)
    assert plan(tight, SWF).simulations["spread"].workers_timed_out > 0
    loose = Fleet(workers=1000, interval_s=10, heartbeat_timeout_s=15)
    assert plan(loose, SWF).simulations["spread"].workers_timed_out == 0


@pytest.mark.parametrize(
    ("fleet", "message"),
    [
        (Fleet(workers=0, interval_s=60), "--workers must be from 1 to 1e"),
        (Fleet(workers=-5, interval_s=60), "--workers must be from 1 to 1e"),
        (Fleet(workers=10**20, interval_s=60), "--workers must be from 1 to 1e"),
        (Fleet(workers=10, interval_s=0), "--interval must be from 0.001"),
        (Fleet(workers=10, interval_s=math.inf), "--interval must be from 0.001"),
        (Fleet(workers=10, interval_s=math.nan), "--interval must be from 0.001"),
        (Fleet(workers=10, interval_s=1e9), "--interval must be from 0.001 to 99999999"),
        (Fleet(workers=10, interval_s=5, jitter_s=5), "--jitter must be"),
        (Fleet(workers=10, interval_s=5, jitter_s=math.nan), "--jitter must be"),
        (Fleet(workers=10, interval_s=5, activities_per_execution=0), "at least 1"),
        (Fleet(workers=10, interval_s=5, activities_per_execution=1001), "1000 open activities"),
        (Fleet(workers=10, interval_s=5, heartbeat_timeout_s=math.inf), "--heartbeat-timeout"),
        (Fleet(workers=10, interval_s=5, heartbeat_timeout_s=-1), "--heartbeat-timeout"),
    ],
)
def test_impossible_fleets_are_refused(fleet: Fleet, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(fleet, SWF)


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (Bucket(size=10, refill_per_s=0), "refill must be above 0.*no heartbeat could ever"),
        (Bucket(size=10, refill_per_s=math.inf), "refill must be above 0 and at most 1e"),
        (Bucket(size=math.nan, refill_per_s=160), "bucket must hold from 1 to 1e"),
        (Bucket(size=0.5, refill_per_s=160), "bucket must hold from 1 to 1e"),
        (Bucket(size=1e300, refill_per_s=160), "bucket must hold from 1 to 1e"),
    ],
)
def test_unmeetable_quotas_are_refused(account: Bucket, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(Fleet(workers=10, interval_s=5), Quotas(account=account, execution=SWF.execution))


def test_plan_command_table_json_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--workers", "1000", "--interval", "60"]) == 0
    table = capsys.readouterr().out
    assert "fits: no throttling" in table and "shortest safe interval" in table

    output = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            "--workers",
            "20000",
            "--interval",
            "60",
            "--output",
            "json",
            "--save",
            str(output),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 1  # tasks would time out
    assert printed == json.loads(output.read_text())
    assert printed["kind"] == "plan" and printed["run_id"]
    assert printed["plan"]["simulations"]["spread"]["throttled"] > 0
    assert printed["plan"]["fleet"]["heartbeat_timeout_s"] == 120
    assert len(printed["plan"]["simulations"]["synchronized"]["bucket_level"]) >= 200


def test_plan_command_takes_raised_quotas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["plan", "--workers", "20000", "--interval", "60", "--output", "json"]
    assert main([*args, "--account-refill", "400", "--account-bucket", "25000"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["simulations"]["spread"]["throttled"] == 0
    quotas = tmp_path / "quotas.yaml"
    quotas.write_text(
        "account: {bucket: 25000, refill_per_s: 400}\nexecution: {bucket: 1000, refill_per_s: 1000}\n"
    )
    assert main([*args, "--quotas-file", str(quotas)]) == 0
    capsys.readouterr()
    quotas.write_text("account: 5\n")
    assert main([*args, "--quotas-file", str(quotas)]) == 252
    assert "expected account and execution" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0", "--interval", "60"],
        ["--workers", "10", "--interval", "-1"],
        ["--workers", "ten", "--interval", "60"],
        ["--interval", "60"],
        ["--workers", "10", "--interval", "60", "--execution-refill", "0"],
        ["--workers", "10", "--interval", "inf"],
        ["--workers", "10", "--interval", "nan"],
        ["--workers", "10", "--interval", "1e308"],
        ["--workers", "10", "--interval", "1e-300"],
        ["--workers", "1e20", "--interval", "60"],
        ["--workers", "100000000000000000000", "--interval", "60"],
        ["--workers", "9" * 5000, "--interval", "60"],
        ["--workers", "10", "--interval", "60", "--account-bucket", "nan"],
        ["--workers", "10", "--interval", "60", "--account-bucket", "-inf"],
        ["--workers", "10", "--interval", "60", "--account-refill", "inf"],
        ["--workers", "10", "--interval", "60", "--execution-bucket", "1e400"],
        ["--workers", "10", "--interval", "60", "--jitter", "inf"],
        ["--workers", "10", "--interval", "60", "--heartbeat-timeout", "nan"],
        ["--workers", "10", "--interval", "60", "--duration", "inf"],
        ["--workers", "10", "--interval", "60", "--duration", "nan"],
        ["--workers", "10", "--interval", "60", "--duration", "0"],
        ["--workers", "10**9", "--interval", "60", "--duration", "86401"],
        ["--workers", "1000000000", "--interval", "60", "--duration", "86400"],
    ],
)
def test_plan_command_bad_input_exits_252_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *args]) == 252
    captured = capsys.readouterr()
    assert captured.err.startswith("swfbench: error:") and captured.err.count("\n") == 1
    assert len(captured.err) < 300 and captured.out == ""


@pytest.mark.parametrize(
    "account",
    [
        "{bucket: .nan, refill_per_s: 160}",
        "{bucket: 2000, refill_per_s: .inf}",
        "{bucket: 1%s, refill_per_s: 160}" % ("0" * 400),
    ],
)
def test_plan_quotas_file_with_non_finite_or_huge_numbers_exits_252(
    account: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limits = tmp_path / "quotas.yaml"
    limits.write_text(f"account: {account}\nexecution: {{bucket: 1000, refill_per_s: 1000}}\n")
    assert (
        main(["plan", "--workers", "10", "--interval", "60", "--quotas-file", str(limits)]) == 252
    )
    err = capsys.readouterr().err
    assert err.startswith("swfbench: error:") and err.count("\n") == 1


def test_a_stepped_fleet_drains_the_bucket_at_the_arithmetic_instant() -> None:
    """Steps of 10 and 50 heartbeats/s for 10 s each against a 60-token bucket refilled at
    30/s: the second step drains it at 20 tokens/s, so throttling starts 3 s into it."""
    arrivals = stepped_arrivals([5, 25], step_s=10, interval_s=0.5, spawn_rate=1000, seed=3)
    assert len(arrivals) == pytest.approx(10 * 10 + 50 * 10, abs=25)
    onset = first_throttled(arrivals, Bucket(size=60, refill_per_s=30))
    assert onset is not None and 12.5 <= onset <= 13.5
    assert first_throttled(arrivals, Bucket(size=60, refill_per_s=51)) is None


def quotas(bucket: float, refill: float, *, execution: Bucket = SWF.execution) -> Quotas:
    return Quotas(account=Bucket(size=bucket, refill_per_s=refill), execution=execution)


# Fleets small enough for the per-worker model, each with a horizon: over, near and within the
# account quota, a heartbeat timeout tighter than two intervals, many activities per execution,
# and execution buckets that bind (1000 activities heartbeating 1250 times a second in all).
CASES: dict[str, tuple[Fleet, Quotas, float | None]] = {
    "over quota": (Fleet(workers=20000, interval_s=60), SWF, None),
    "near quota": (Fleet(workers=10600, interval_s=60), SWF, None),
    "within quota": (Fleet(workers=7000, interval_s=60), SWF, None),
    "tight timeout": (Fleet(workers=3000, interval_s=10, heartbeat_timeout_s=15), SWF, None),
    "100 per execution": (
        Fleet(workers=33000, interval_s=60, activities_per_execution=100),
        quotas(10000, 500),
        None,
    ),
    "execution bucket binds": (
        Fleet(workers=12000, interval_s=0.8, activities_per_execution=1000),
        quotas(1e5, 1.2e4),
        10.0,
    ),
}


def _fleet(name: str, jittered: bool) -> tuple[Fleet, Quotas, float]:
    fleet, limits, horizon = CASES[name]
    if jittered:
        fleet = dataclasses.replace(fleet, jitter_s=fleet.interval_s / 6)
    return fleet, limits, horizon or default_horizon(fleet, limits)


@cache
def per_worker(name: str, start: StartMode, jittered: bool) -> Simulation:
    fleet, limits, horizon = _fleet(name, jittered)
    return simulate_per_worker(fleet, limits, start, horizon)


def _without_group_count(simulation: Simulation) -> dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(simulation).items() if k != "groups"}


@pytest.mark.parametrize("jittered", [False, True], ids=["steady", "jitter"])
@pytest.mark.parametrize("start", ["spread", "synchronized"])
@pytest.mark.parametrize("name", ["over quota", "tight timeout", "execution bucket binds"])
def test_one_worker_per_group_is_the_per_worker_model(
    name: str, start: StartMode, jittered: bool
) -> None:
    """Below the arrivals budget every group is one worker, and the result is the per-worker
    model's to the last bit: same jitter draws, same order among simultaneous calls, same
    float arithmetic. A synchronized start without jitter is one group, exactly too."""
    fleet, limits, horizon = _fleet(name, jittered)
    grouped = simulate(fleet, limits, start, horizon, arrivals_budget=10**9)
    assert grouped.exact
    if start == "synchronized" and not jittered:
        # One group, or one per execution where execution buckets bind.
        executions = fleet.workers // fleet.activities_per_execution
        together = executions if execution_bucket_binds(fleet, limits) else 1
        assert grouped.groups == together
    else:
        assert grouped.groups == fleet.workers
    assert _without_group_count(grouped) == _without_group_count(per_worker(name, start, jittered))


@pytest.mark.parametrize("per_group", [10, 50])
@pytest.mark.parametrize("jittered", [False, True], ids=["steady", "jitter"])
@pytest.mark.parametrize("start", ["spread", "synchronized"])
@pytest.mark.parametrize("name", list(CASES))
def test_groups_stay_within_the_stated_tolerances(
    name: str, start: StartMode, jittered: bool, per_group: int
) -> None:
    """The tolerances the README states for grouped plans, measured against the per-worker model
    with 10 and 50 workers per group (a plan groups fleets beyond about 7,000 workers; at the
    default budget a million workers make groups of about 140, whose calls, near the quota, are a
    far smaller share of the account bucket than here)."""
    fleet, limits, horizon = _fleet(name, jittered)
    periods = math.ceil(horizon / fleet.interval_s) + 1
    grouped = simulate(
        fleet, limits, start, horizon, arrivals_budget=fleet.workers // per_group * periods
    )
    exact = per_worker(name, start, jittered)
    if start != "synchronized" or jittered:
        assert grouped.groups == fleet.workers // per_group
    size = fleet.workers / grouped.groups

    assert grouped.heartbeats == pytest.approx(exact.heartbeats, rel=0.01)
    fraction = 0.01 if per_group == 10 else 0.03
    assert grouped.throttled_fraction == pytest.approx(exact.throttled_fraction, abs=fraction)
    steady = 0.01 if per_group == 10 else 0.04
    assert grouped.steady_throttled_fraction == pytest.approx(
        exact.steady_throttled_fraction, abs=steady
    )
    assert abs(grouped.workers_timed_out - exact.workers_timed_out) <= 0.03 * fleet.workers

    assert (grouped.throttling_starts_s is None) == (exact.throttling_starts_s is None)
    if exact.throttling_starts_s is not None and grouped.throttling_starts_s is not None:
        if jittered:
            onset = 0.05 * horizon
        else:
            # A group's calls arrive at once, up to its share of the interval early, and it is
            # throttled once the bucket holds fewer tokens than it has members: as long before a
            # single worker would be as the fleet's excess over the refill takes to send them.
            excess = fleet.rate_per_s - limits.account.refill_per_s
            onset = size / excess + size * fleet.interval_s / fleet.workers if excess > 0 else 0
        assert abs(grouped.throttling_starts_s - exact.throttling_starts_s) <= onset + 1e-9

    gap = (3.0 if jittered else 0.1) * fleet.interval_s
    assert grouped.longest_gap_s == pytest.approx(exact.longest_gap_s, abs=gap)


def test_a_billion_workers_are_planned_in_groups() -> None:
    fleet = Fleet(workers=10**9, interval_s=60)
    result = plan(fleet, SWF)
    spread, herd = result.simulations["spread"], result.simulations["synchronized"]
    assert spread.groups <= ARRIVALS_BUDGET and not spread.exact
    assert herd.groups == 1 and herd.exact  # every worker calls at the same instants
    assert spread.heartbeats == herd.heartbeats == 6 * 10**9
    # In steady state the refill's 9,600 tokens an interval get through, to the same workers
    # every interval: the rest time out.
    assert spread.steady_throttled_fraction == pytest.approx(1 - 9600 / 10**9, abs=1e-6)
    assert spread.workers_timed_out == pytest.approx(10**9 - 9600, abs=50)
    assert herd.workers_timed_out == 10**9 - 2000  # one bucket of 2000 a wave


def test_groups_lie_inside_one_execution_or_hold_whole_ones() -> None:
    raised = quotas(1e6, 1e6)
    # 1000 activities per execution heartbeating 2000 times a second: execution buckets bind.
    few = Fleet(workers=20000, interval_s=0.5, activities_per_execution=1000)
    inside = partition(few, raised, "spread", 10, arrivals_budget=2000)
    assert len(set(inside.bucket)) == 20 and inside.lanes == [1] * len(inside.sizes)
    first = 0
    for size, bucket in zip(inside.sizes, inside.bucket, strict=True):
        assert first // 1000 == (first + size - 1) // 1000 == bucket
        first += size
    many = Fleet(workers=10**6, interval_s=0.5, activities_per_execution=1000)
    whole = partition(many, raised, "spread", 10, arrivals_budget=2100)
    assert sum(whole.sizes) == 10**6 and len(whole.sizes) == 100
    assert all(size % 1000 == 0 for size in whole.sizes)
    assert whole.lanes == [size // 1000 for size in whole.sizes]


def test_the_bucket_minimum_shows_the_bucket_emptied_between_samples() -> None:
    """A synchronized wave empties the bucket at once and it refills before the next sample:
    samples alone show a dip to a few hundred tokens, the recorded minimum shows it empty."""
    result = plan(Fleet(workers=20000, interval_s=60), SWF)
    herd = result.simulations["synchronized"]
    assert min(level for _, level in herd.bucket_level) > 200
    assert min(level for _, level in herd.bucket_min) == 0.0
    assert max(level for _, level in herd.bucket_max) == 2000.0
    assert len(herd.bucket_min) == len(herd.bucket_max) == len(herd.bucket_level)
    for (at, level), (low_at, low), (high_at, high) in zip(
        herd.bucket_level, herd.bucket_min, herd.bucket_max, strict=True
    ):
        assert low <= level <= high and at <= low_at and at <= high_at
    # The exact minimum comes from the same replay as the samples: the per-worker model agrees.
    exact = simulate_per_worker(Fleet(workers=3000, interval_s=60), SWF, "synchronized", 360)
    assert min(level for _, level in exact.bucket_min) == 0.0


def test_the_plan_report_draws_the_bucket_down_to_empty() -> None:
    """The bucket chart draws each window's lowest and highest level, not the samples: the
    synchronized line reaches 0 tokens where the samples dip to a few hundred."""
    result = plan(Fleet(workers=20000, interval_s=60), SWF)
    herd = result.simulations["synchronized"]
    document = {"kind": "plan", "run_id": "bucket", "swfbench_version": "0"}
    html = render({**document, "plan": result.to_dict()})
    chart = html[html.index("Account bucket level") :]
    # The grid line drawn for the y tick labelled 0.
    zero = chart[: chart.index(">0<")].rsplit('y1="', 1)[1].split('"', 1)[0]
    lines = chart.split("<polyline", 3)[1:3]
    lowest = [max(float(point.split(",")[1]) for point in _points(line)) for line in lines]
    assert lowest[1] == pytest.approx(float(zero), abs=1)  # synchronized reaches 0 tokens
    drawn, exact = bucket_envelope(json.loads(json.dumps(dataclasses.asdict(herd))))
    assert exact
    assert len(drawn) == 2 * len(herd.bucket_level) and min(y for _, y in drawn) == 0.0
    for (t0, level0), (t1, level1) in pairwise(drawn):
        # In time order; at one instant the level can only fall (calls), never rise.
        assert t0 <= t1 and (t0 < t1 or level1 <= level0)


def _points(polyline: str) -> list[str]:
    return polyline.split('points="', 1)[1].split('"', 1)[0].split()


def test_plan_starts_without_importing_boto3_moto_or_locust(tmp_path: Path) -> None:
    """A plan is arithmetic: its start-up leaves out the libraries the other commands need
    (they are most of swfbench's import time)."""
    script = (
        "import sys\n"
        "from swfbench.cli import main\n"
        "code = main(['plan', '--workers', '100', '--interval', '60'])\n"
        "heavy = sorted({'boto3', 'botocore', 'moto', 'locust', 'gevent'} & set(sys.modules))\n"
        "print('heavy:', heavy)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "fits: no throttling" in done.stdout
    assert "heavy: []" in done.stdout


def test_plan_results_written_before_groups_and_extremes_still_render() -> None:
    result = plan(Fleet(workers=2000, interval_s=60), SWF).to_dict()
    for simulation in result["simulations"].values():
        for key in ("groups", "exact", "bucket_min", "bucket_max"):
            del simulation[key]
    html = render({"kind": "plan", "run_id": "older", "swfbench_version": "0", "plan": result})
    assert html.count("<polyline") == 4 and "groups of workers simulated" in html
