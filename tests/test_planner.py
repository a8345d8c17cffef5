"""The capacity planner against the token-bucket arithmetic it must reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swfbench.cli import main
from swfbench.errors import UsageError
from swfbench.planner import (
    Bucket,
    Fleet,
    Quotas,
    first_throttled,
    plan,
    simulate,
    stepped_arrivals,
)

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
        (Fleet(workers=0, interval_s=60), "--workers must be at least 1"),
        (Fleet(workers=-5, interval_s=60), "--workers must be at least 1"),
        (Fleet(workers=10, interval_s=0), "--interval must be above 0"),
        (Fleet(workers=10, interval_s=5, jitter_s=5), "--jitter must be"),
        (Fleet(workers=10, interval_s=5, activities_per_execution=0), "at least 1"),
        (Fleet(workers=10, interval_s=5, activities_per_execution=1001), "1000 open activities"),
    ],
)
def test_impossible_fleets_are_refused(fleet: Fleet, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(fleet, SWF)


def test_unmeetable_quotas_are_refused() -> None:
    with pytest.raises(UsageError, match="refill must be above 0"):
        plan(
            Fleet(workers=10, interval_s=5),
            Quotas(account=Bucket(size=10, refill_per_s=0), execution=SWF.execution),
        )


def test_plan_command_table_json_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--workers", "1000", "--interval", "60"]) == 0
    table = capsys.readouterr().out
    assert "fits: no throttling" in table and "shortest safe interval" in table

    output = tmp_path / "plan.json"
    code = main(
        ["plan", "--workers", "20000", "--interval", "60", "--json", "--output", str(output)]
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
    args = ["plan", "--workers", "20000", "--interval", "60", "--json"]
    assert main([*args, "--account-refill", "400", "--account-bucket", "25000"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["simulations"]["spread"]["throttled"] == 0
    quotas = tmp_path / "quotas.yaml"
    quotas.write_text(
        "account: {bucket: 25000, refill_per_s: 400}\nexecution: {bucket: 1000, refill_per_s: 1000}\n"
    )
    assert main([*args, "--quotas", str(quotas)]) == 0
    capsys.readouterr()
    quotas.write_text("account: 5\n")
    assert main([*args, "--quotas", str(quotas)]) == 2
    assert "expected account and execution" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0", "--interval", "60"],
        ["--workers", "10", "--interval", "-1"],
        ["--workers", "ten", "--interval", "60"],
        ["--interval", "60"],
        ["--workers", "10", "--interval", "60", "--execution-refill", "0"],
    ],
)
def test_plan_command_bad_input_exits_2_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *args]) == 2
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
