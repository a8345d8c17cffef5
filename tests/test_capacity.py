"""`swfbench capacity` on the embedded engine: the knee, the SLO, and the measured onset of
throttling against the planner's prediction (real Locust, real engine with quotas on)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from swfbench.capacity.command import analyse, capacity_metrics, summary
from swfbench.capacity.steps import StepPlan
from swfbench.embedded import free_port
from swfbench.errors import UsageError
from swfbench.slo import Objective, parse_slo

SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


def capacity(args: list[str], reports: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SWFBENCH, "capacity", *args, "--reports-dir", str(reports), "--run-id", "cap",
         "--progress", "0"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_slo_expressions() -> None:
    slo = parse_slo("p99 < 100 ms, errors < 1%")
    assert slo.objectives == (Objective("p99", 100.0, False), Objective("errors", 0.01, False))
    assert slo.describe() == "p99 < 100 ms, errors < 1%"
    assert parse_slo("p99.9 <= 0.25s and lag < 500us").objectives == (
        Objective("p99.9", 250.0, True),
        Objective("lag", 0.5, False),
    )
    figures = {"p99": 100.0, "errors": 0.0}
    assert [o.figure for o in slo.broken(figures)] == ["p99"]  # `<` excludes the limit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 < 100", "give p99's limit a unit"),
        ("p98 < 100 ms", "unknown figure 'p98'"),
        ("p99 > 100 ms", "cannot read 'p99 > 100 ms'"),
        ("errors < 150%", "above 100%"),
        ("p99 < 1 ms, p99 < 2 ms", "states p99 twice"),
        ("", "is empty"),
    ],
)
def test_bad_slo_expressions(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_slo(text)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--slo", "p99 < fast"], "cannot read"),
        (["--start-rate", "0"], "--start-rate must be above 0"),
        (["--start-rate", "100", "--max-rate", "50"], "below --start-rate"),
        (["--step-time", "2"], "at least 4 s"),
        (["--start-rate", "1", "--step-rate", "1", "--max-rate", "500"], "at most 100"),
        (["--quotas", "aws", "--account-refill", "0"], "no heartbeat could ever succeed"),
    ],
)
def test_bad_input_exits_252_with_one_line(tmp_path: Path, flags: list[str], message: str) -> None:
    done = capacity(flags, tmp_path / "reports")
    assert done.returncode == 252, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert message in line and "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_measured_throttling_onset_agrees_with_the_planner(tmp_path: Path) -> None:
    """Quotas scaled down (bucket 80, refill 30/s) so the search crosses them in seconds: steps
    of 10, 20, ... heartbeats/s for 4 s each; the 40/s step takes 40 tokens, the 50/s step the other 40 in about 2 s: mid-step."""
    reports = tmp_path / "reports"
    done = capacity(
        ["--quotas", "aws", "--account-bucket", "80", "--account-refill", "30",
         "--start-rate", "10", "--step-rate", "10", "--max-rate", "80", "--step-time", "4",
         "--interval", "0.5", "--slo", "p99 < 250 ms, errors < 1%"],
        reports,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((reports / "cap" / "results.json").read_text())
    assert results["kind"] == "capacity"
    result = results["capacity"]
    throttling = result["throttling"]
    predicted, measured = throttling["predicted"], throttling["measured"]
    assert predicted["step"] == measured["step"] == 4  # the fifth step, 50/s
    assert throttling["rate_error"] <= 0.10 and throttling["time_error"] <= 0.10
    assert throttling["agrees"]
    # Throttled heartbeats break `errors < 1%`: the knee is the step before.
    assert result["knee"]["offered_per_s"] == 40
    assert result["broken_at"]["broken"] == ["errors < 1%"]
    assert [s["holds"] for s in result["steps"]] == [True, True, True, True, False]
    assert results["metrics"]["capacity"]["knee_per_s"] == 40
    # Which side saturated is read from the generator's own lag at the step that broke.
    assert result["generator_lag_ms"] == result["broken_at"]["lag"]
    assert result["saturated"] in ("target", "generator")
    assert f"the {result['saturated']} saturated" in done.stdout
    html = (reports / "cap" / "index.html").read_text()
    assert "Knee at 40 heartbeats/s" in html and "onset agree" in html
    assert "knee: 40 heartbeats/s offered" in done.stdout
    assert "above the account refill of 30/s" in done.stdout and "sustained" in html


@pytest.mark.parametrize(
    ("lag", "side", "says"),
    [
        (3.0, "target", "the target saturated: the generator kept its schedule"),
        (80.0, "generator", "the generator saturated: its pacing lag p99 was 80 ms"),
    ],
)
def test_the_generator_s_lag_at_the_breaking_step_says_which_side_saturated(
    lag: float, side: str, says: str
) -> None:
    steps = [_full_step(0, True), {**_full_step(1, False), "lag": lag}]
    capacity = analyse({"capacity": {"steps": steps}, "first_error_s": {}}, PLAN, None)
    assert capacity["saturated"] == side and capacity["generator_lag_ms"] == lag
    assert says in summary(capacity)


@pytest.mark.slow
def test_a_search_spread_over_two_locust_processes(tmp_path: Path) -> None:
    """--processes 2: each Locust worker process runs half of every step's workers, the master
    judges the steps from both processes' figures."""
    reports = tmp_path / "reports"
    done = capacity(
        ["--processes", "2", "--start-rate", "10", "--step-rate", "10", "--max-rate", "20",
         "--step-time", "6", "--interval", "0.5", "--slo", "errors < 50%"],
        reports,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((reports / "cap" / "results.json").read_text())
    assert results["processes"] == 2
    steps = results["capacity"]["steps"]
    assert [s["workers"] for s in steps] == [5, 10] and all(s["holds"] for s in steps)
    # Each step's heartbeats come from both halves of the fleet: the whole offered rate.
    assert all(s["heartbeats_per_s"] >= 0.9 * s["offered_per_s"] for s in steps)
    assert "every step held" in done.stdout


def test_a_first_step_that_breaks_the_slo_has_no_knee(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = capacity(
        ["--start-rate", "10", "--max-rate", "20", "--step-time", "4", "--slo", "p50 < 1 us"],
        reports,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads((reports / "cap" / "results.json").read_text())["capacity"]
    assert result["knee"] is None and len(result["steps"]) == 1
    assert "no knee: the first step (10/s) already broke p50 < 0.001 ms" in done.stdout


def test_an_unreachable_target_leaves_no_run_behind(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = capacity(["--endpoint-url", f"http://127.0.0.1:{free_port()}"], reports)
    assert done.returncode == 250, done.stderr
    assert "cannot reach endpoint" in done.stderr and "Traceback" not in done.stderr
    assert not list(reports.glob("*/*"))


def _step(step: int, holds: bool) -> dict[str, object]:
    return {"step": step, "holds": holds, "offered_per_s": 10.0 * (step + 1), "broken": []}


@pytest.mark.parametrize(
    ("steps", "by", "expected"),
    [
        ([], "SIGINT", "no knee: interrupted by SIGINT after 0 of 3 steps; no step was judged"),
        (
            [_step(0, True)],
            "SIGTERM",
            "no knee: interrupted by SIGTERM after 1 of 3 steps; the rate held up to 10/s so "
            "far, a lower bound",
        ),
        (
            [_step(0, True), _step(1, True)],
            None,
            "no knee: interrupted by the run ending after 2 of 3 steps; the rate held up to "
            "20/s so far, a lower bound",
        ),
    ],
)
def test_a_search_that_did_not_finish_has_no_knee(
    steps: list[dict[str, object]], by: str | None, expected: str
) -> None:
    plan = StepPlan(
        rates=(10.0, 20.0, 30.0), step_s=4, interval_s=1, spawn_rate=10, slo="p99 < 1 s"
    )
    results = {"capacity": {"steps": steps}, "first_error_s": {}}
    analysed = analyse(results, plan, None, by)
    assert analysed["knee"] is None and not analysed["finished"]
    assert summary(analysed) == f"swfbench capacity: {expected}"
    assert capacity_metrics(analysed)["capacity"]["knee_per_s"] == 0.0


PLAN = StepPlan(rates=(10.0, 20.0, 30.0), step_s=4, interval_s=1, spawn_rate=10, slo="p99 < 1 ms")


def _full_step(step: int, holds: bool) -> dict[str, object]:
    rate = PLAN.rates[step]
    return {"step": step, "holds": holds, "offered_per_s": rate, "heartbeats_per_s": rate,
            "p50": 0.5, "p99": 0.9, "errors": 0.0, "broken": [] if holds else ["p99 < 1 ms"]}  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "finished", "says"),
    [
        ([], False, "no knee: interrupted by the run ending after 0 of 3 steps; no step was"),
        ([_full_step(0, True)], False, "held up to 10/s so far, a lower bound"),
        ([_full_step(1, True)], False, "its record of steps has gaps (1 of 3); no lower bound"),
        ([_full_step(0, True), _full_step(2, False)], False, "its record of steps has gaps"),
        ([_full_step(0, False)], True, "no knee: the first step (10/s) already broke"),
        ([_full_step(0, True), _full_step(1, False)], True, "knee: 10 heartbeats/s offered"),
        ([_full_step(k, True) for k in range(3)], True, "every step held"),
    ],
)
def test_a_knee_is_claimed_only_from_a_whole_search(
    steps: list[dict[str, object]], finished: bool, says: str
) -> None:
    """A search interrupted after its first step once claimed that step as its knee; one
    interrupted before it crashed summary() with a TypeError; one with a step missing from its
    record must not read the steps around the gap as a curve."""
    capacity = analyse({"capacity": {"steps": steps}, "first_error_s": {}}, PLAN, None)
    assert capacity["finished"] == finished
    assert (capacity["knee"] is None) == (not finished or not steps[0]["holds"])
    assert says in summary(capacity)
    assert capacity_metrics(capacity)["capacity"]["knee_per_s"] == (
        capacity["knee"]["offered_per_s"] if capacity["knee"] else 0.0
    )


@pytest.mark.slow
def test_the_issue_run_prints_under_40_lines_without_a_warning(tmp_path: Path) -> None:
    """`capacity --start-rate 100 --step-rate 200 --max-rate 1500 --step-time 6s` printed 582
    lines: 530 urllib3 "Connection pool is full" warnings (the set-up client's pool was smaller
    than the fleet sharing it), Locust's spawn-rate warning at every step, and progress lines
    whose p99 (the whole run's so far) said 437 ms where the steps said 2 ms. Now: every other
    progress line covers a step's measured half, from the same per-second figures, and says
    the same p99. The same fleets, from 100 to 1,500 workers, in three steps instead of the
    issue's eight: a spawn-rate warning or a pool too small would show at every step still."""
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "capacity", "--start-rate", "100", "--step-rate", "700", "--max-rate", "1500",
         "--step-time", "6s", "--reports-dir", str(reports), "--run-id", "issue"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert len(output.splitlines()) < 40, output
    assert "warning" not in output.lower() and "Connection pool" not in output, output
    assert output.count("results in ") == 1
    steps = json.loads((reports / "issue" / "results.json").read_text())["capacity"]["steps"]
    assert steps
    progress = dict(re.findall(r"^\[(\S+)\] .*? hb p99 +([\d.]+) ms", done.stdout, re.MULTILINE))
    for step in steps:
        start, end = 6 * step["step"] + 3, 6 * step["step"] + 6
        assert float(progress[f"{start}s-{end}s"]) == pytest.approx(step["p99"], abs=0.006)
