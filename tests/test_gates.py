"""Gates on saved results: each kind passing and failing, baselines, and bad gates files."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from swfbench.cli import main
from swfbench.gates import evaluate, parse_gates, verdicts_to_dict


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A load-shaped results file; the numbers are the test's inputs, not measurements."""
    document = {
        "kind": "load",
        "run_id": "run-1",
        "swfbench_version": "0.1.0",
        "status": {"state": "complete", "missing": [], "checked": 300},
        "metrics": {
            "heartbeat": {"latency": {"p95_ms": 20.0, "p99_ms": 40.0}, "rate_per_s": 150.0},
            "errors": {"ThrottlingException": {"ratio": 0.02}},
        },
    }
    return write(tmp_path / "results.json", json.dumps(document))


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    document = {
        "kind": "load",
        "run_id": "run-0",
        "swfbench_version": "0.1.0",
        "metrics": {
            "heartbeat": {"latency": {"p95_ms": 19.0, "p99_ms": 30.0}, "rate_per_s": 200.0},
            "errors": {"ThrottlingException": {"ratio": 0.0}},
        },
    }
    return write(tmp_path / "baseline.json", json.dumps(document))


def gate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ("heartbeat.latency.p99_ms: {max: 50}", 0),
        ("heartbeat.latency.p99_ms: {max: 39.9}", 1),
        ("heartbeat.rate_per_s: {min: 100}", 0),
        ("heartbeat.rate_per_s: {min: 151}", 1),
        ("errors.ThrottlingException.ratio: {max: 0.05}", 0),
        ("errors.ThrottlingException.ratio: {max: 0.01}", 1),
    ],
)
def test_absolute_gates(
    results: Path,
    tmp_path: Path,
    limits: str,
    expected: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gates = write(tmp_path / "gates.yaml", f"gates:\n  {limits}\n")
    code, out, _ = gate([str(results), "--gates", str(gates)], capsys)
    assert code == expected
    assert ("FAIL" in out) == (expected == 1)


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ("heartbeat.latency.p95_ms: {max_increase: 10%}", 0),  # 19 -> 20 is +5%
        ("heartbeat.latency.p99_ms: {max_increase: 10%}", 1),  # 30 -> 40 is +33%
        ("heartbeat.latency.p99_ms: {max_increase: 0.5}", 0),
        ("heartbeat.rate_per_s: {max_decrease: 30%}", 0),  # 200 -> 150 is -25%
        ("heartbeat.rate_per_s: {max_decrease: 20%}", 1),
    ],
)
def test_baseline_gates(
    results: Path,
    baseline: Path,
    tmp_path: Path,
    limits: str,
    expected: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gates = write(tmp_path / "gates.yaml", f"kind: load\ngates:\n  {limits}\n")
    args = [str(results), "--gates", str(gates), "--baseline", str(baseline)]
    code, out, _ = gate(args, capsys)
    assert code == expected
    assert "vs baseline" in out


def test_junit_has_one_case_per_gate(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gates = write(
        tmp_path / "gates.yaml",
        "gates:\n  heartbeat.latency.p99_ms: {max: 50}\n  heartbeat.rate_per_s: {min: 500}\n",
    )
    junit = tmp_path / "gates.xml"
    code, out, _ = gate([str(results), "--gates", str(gates), "--junit", str(junit)], capsys)
    assert code == 1 and "2 of 3 gates hold" in out
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.find("failure") is not None for c in cases] == [False, False, True]
    assert cases[0].get("name") == "run.status = complete"


@pytest.mark.parametrize(
    ("gates_text", "message"),
    [
        ("gates:\n  heartbeat.latency.p42_ms: {max: 5}\n", "no metric heartbeat.latency.p42_ms"),
        ("gates:\n  heartbeat.latency.p99_ms: {below: 5}\n", "unknown limit 'below'"),
        ("gates:\n  heartbeat.latency.p99_ms: {max: fast}\n", "expected a number or a percentage"),
        ("gates:\n  heartbeat.latency.p99_ms: 50\n", "expected limits like"),
        ("gates:\n  'p99 < 50': {max: 5}\n", "is not a dotted metric path"),
        ("gates: [1, 2]\n", "expected a mapping with a `gates:`"),
        ("gates: {a: {max: 1}\n", "not valid YAML"),
        ("kind: conformance\ngates:\n  heartbeat.rate_per_s: {min: 1}\n", "holds 'load' results"),
        ("gates:\n  heartbeat.rate_per_s: {max_decrease: 10%}\n", "needs a baseline"),
    ],
)
def test_bad_gates_exit_252_with_one_line(
    results: Path,
    tmp_path: Path,
    gates_text: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gates = write(tmp_path / "gates.yaml", gates_text)
    code, _, err = gate([str(results), "--gates", str(gates)], capsys)
    assert code == 252
    assert message in err and err.count("\n") == 1


def test_gates_apply_to_a_real_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    main(["plan", "--workers", "20000", "--interval", "60", "--save", str(plan)])
    capsys.readouterr()
    gates = write(tmp_path / "gates.yaml", "kind: plan\ngates:\n  plan.tasks_timed_out: {max: 0}\n")
    code, out, _ = gate([str(plan), "--gates", str(gates)], capsys)
    assert code == 1 and "plan.tasks_timed_out" in out


def test_gates_on_real_conformance_results_land_in_its_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain moto fails the cancellation scenario as a known deviation: gates/conformance.yaml
    holds (known deviations are excluded), a gate on known deviations does not, and --report
    puts both verdicts into the run's results and its HTML page."""
    scenario = Path(__file__).resolve().parents[1] / "scenarios/conformance/cancellation"
    reports = tmp_path / "reports"
    main(["conform", str(scenario / "cancel_requested_on_heartbeat.yaml"), "--engine", "moto",
          "--reports-dir", str(reports)])  # fmt: skip
    capsys.readouterr()
    (results,) = reports.glob("*/results.json")
    shipped = Path(__file__).resolve().parents[1] / "gates/conformance.yaml"
    code, out, _ = gate([str(results), "--gates", str(shipped)], capsys)
    assert code == 0, out
    strict = write(
        tmp_path / "strict.yaml",
        "gates:\n  conformance.fail: {max: 0}\n  conformance.known_deviation: {max: 0}\n",
    )
    code, out, _ = gate([str(results), "--gates", str(strict), "--report"], capsys)
    assert code == 1 and "2 of 3 gates hold" in out
    saved = json.loads(results.read_text())
    assert [g["passed"] for g in saved["gates"]] == [True, True, False]
    assert saved["gates"][0]["metric"] == "run.status"
    assert saved["metrics"]["conformance"]["known_deviation"] == 1
    page = (results.parent / "index.html").read_text()
    assert page.count('data-gate="') == 3 and 'data-gate="conformance.known_deviation"' in page


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (
            {"state": "interrupted", "by": "SIGINT", "missing": [], "checked": 300},
            "interrupted by SIGINT",
        ),
        ({"state": "aborted", "reason": "target lost", "checked": 3}, "aborted: target lost"),
        (
            {"state": "complete", "missing": ["audit failed: HTTP500"], "checked": 300},
            "missing: audit failed",
        ),
        ({"state": "complete", "missing": [], "checked": 0}, "checked nothing"),
        (None, "the results record no run status"),
    ],
)
def test_a_run_that_is_not_whole_fails_every_gates_file(
    tmp_path: Path,
    status: dict[str, object] | None,
    shown: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Figures that would pass every gate do not pass when the run behind them is not whole,
    and --allow-incomplete judges them while still naming the status."""
    document: dict[str, object] = {
        "kind": "load",
        "run_id": "run-2",
        "swfbench_version": "0.1.0",
        "metrics": {"heartbeat": {"latency": {"p99_ms": 1.0}}},
    }
    if status is not None:
        document["status"] = status
    results = write(tmp_path / "results.json", json.dumps(document))
    gates = write(tmp_path / "gates.yaml", "gates:\n  heartbeat.latency.p99_ms: {max: 50}\n")
    code, out, _ = gate([str(results), "--gates", str(gates)], capsys)
    assert code == 1 and "1 of 2 gates hold" in out
    status_row = next(line for line in out.splitlines() if line.startswith("run.status"))
    assert shown in status_row and status_row.endswith("FAIL")
    code, out, _ = gate([str(results), "--gates", str(gates), "--allow-incomplete"], capsys)
    assert code == 0 and "2 of 2 gates hold" in out and shown in out


def test_a_metric_the_run_could_not_measure_fails_its_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Null in the results (the audit could not list the executions, nothing was due): the
    gate cannot be shown to hold, so it fails, and says why, even under --allow-incomplete."""
    document = {
        "kind": "load",
        "run_id": "run-3",
        "swfbench_version": "0.1.0",
        "status": {"state": "complete", "missing": ["audit failed: timed out"], "checked": 5},
        "metrics": {"audit": {"left_open": None}, "heartbeat": {"delivered_ratio": None}},
    }
    results = write(tmp_path / "results.json", json.dumps(document))
    gates = write(
        tmp_path / "gates.yaml",
        "gates:\n  audit.left_open: {max: 0}\n  heartbeat.delivered_ratio: {min: 0.95}\n",
    )
    args = [str(results), "--gates", str(gates), "--allow-incomplete"]
    code, out, _ = gate([*args, "--junit", str(tmp_path / "gates.xml")], capsys)
    assert code == 1 and "1 of 3 gates hold" in out
    rows = [line for line in out.splitlines() if "unknown (not measured in this run)" in line]
    assert len(rows) == 2 and all(row.endswith("FAIL") for row in rows)
    junit = ElementTree.parse(tmp_path / "gates.xml").getroot()
    assert junit.get("failures") == "2"
    _, parsed = parse_gates(yaml.safe_load(gates.read_text()), "gates")
    verdicts = verdicts_to_dict(evaluate(parsed, document, allow_incomplete=True))
    # As results store them: JSON has no NaN, an unknown value is null.
    assert json.loads(json.dumps(verdicts, allow_nan=False))[1]["value"] is None


def test_the_shipped_ci_gates_put_a_floor_on_delivered_heartbeats() -> None:
    from swfbench.gates import load_gates

    _, gates = load_gates(Path(__file__).resolve().parents[1] / "gates" / "ci.yaml")
    floors = {g.metric: g.limit for g in gates if g.kind == "min"}
    assert floors["heartbeat.delivered_ratio"] == 0.95
