"""`swfbench load` end to end: real Locust child processes, the embedded moto target, results
on disk; and Locust's own distributed mode, a master and two workers on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from swfbench import localstack
from swfbench.embedded import free_port

OP = "RecordActivityTaskHeartbeat"
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


def _check_adds_up(results: dict[str, Any], run_dir: Path) -> None:
    """The fleet metrics agree with Locust's own final count of every call. (Locust's CSV is
    rewritten once a second, so its last second may be missing: compare with its final stats.)"""
    assert (run_dir / "locust_stats.csv").exists()
    operations = results["locust"]["operations"]
    heartbeat = operations[OP]
    ok = heartbeat["requests"] - heartbeat["failures"]
    assert results["heartbeat"]["ok"] == ok > 0
    assert results["heartbeat"]["latency_ms"]["count"] == ok
    for operation, calls in results["calls"].items():
        errors = sum(calls["errors"].values())
        assert calls["ok"] + errors == operations[operation]["requests"], operation
        assert errors == operations[operation]["failures"], operation
    tasks = results["tasks"]
    assert tasks["started"] == tasks["accounted"] > 0
    # A user stopped inside start_activity leaves an execution no handle knows: the domain
    # audit after the run finds and closes it.
    assert results["audit"]["closed"] == results["audit"]["open_after_run"]


def _check_gates(results: dict[str, Any], path: Path, tmp_path: Path, engine: str) -> None:
    """The run's metrics feed `swfbench gate`: the extended engine holds these gates; plain moto
    breaks the error gate with the HTTP 500s it answers cancellations with."""
    assert results["kind"] == "load" and results["swfbench_version"]
    gates = tmp_path / "gates.yaml"
    gates.write_text(
        "kind: load\ngates:\n"
        "  errors.total.ratio: {max: 0}\n  cancel.lost: {max: 0}\n"
        "  timeouts.false: {max: 0}\n  timeouts.missed: {max: 0}\n"
        "  tasks.unaccounted: {max: 0}\n  audit.left_open: {max: 0}\n"
        "  heartbeat.rate_per_s: {min: 0.1}\n"
    )
    done = subprocess.run(
        [*SWFBENCH, "gate", str(path), "--gates", str(gates)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if engine == "moto":
        assert done.returncode == 1, done.stdout + done.stderr
        assert results["metrics"]["errors"]["HTTP500"]["ratio"] > 0
    else:
        assert done.returncode == 0, done.stdout + done.stderr
    # The run.status gate comes first, and holds: the run was whole.
    assert "8 of 8 gates hold" in done.stdout or "7 of 8 gates hold" in done.stdout
    assert done.stdout.splitlines()[1].split()[-1] == "pass"


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["moto", "swfbench"])
def test_load_on_the_embedded_target_writes_results(
    write_profile: Callable[..., Path], tmp_path: Path, engine: str
) -> None:
    profile = write_profile(
        name="mix",
        fleet={"workers": 6, "spawn_rate": 20},
        activity={"duration": {"mean_s": 1.0}, "timeouts": {"heartbeat": 1}},
        outcomes={"complete": 1, "fail": 1, "cancel": 1, "silent": 1},
        cancel={"after": 0.3, "propagation_wait_s": 0.5},
        timeout_slack_s=1,
    )
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--run-time", "7", "--progress", "2",
         "--reports-dir", str(reports), "--run-id", "mix-run", "--engine", engine],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "workers" in done.stdout and "hb/s" in done.stdout and "p99" in done.stdout
    run_dir = reports / "mix-run"
    assert (run_dir / "locust.html").exists()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["run_id"] == "mix-run"
    assert results["processes"] == 1
    _check_adds_up(results, run_dir)
    _check_gates(results, run_dir / "results.json", tmp_path, engine)
    ends = results["tasks"]["ends"]
    assert ends["completed"] > 0 and ends["failed"] > 0 and ends["timed_out"] > 0
    cancel = results["cancel"]
    if engine == "moto":
        # Plain moto refuses the cancel decision: counted, classified by code, never fatal.
        # A decision still in flight when the run stopped is counted as interrupted.
        assert cancel["not_propagated"] + cancel["interrupted"] == cancel["requested"] > 0
        failures = (run_dir / "locust_failures.csv").read_text()
        assert "RespondDecisionTaskCompleted" in failures and "HTTP500" in failures
    else:
        assert (
            cancel["propagated"] > 0 and cancel["propagation_ms"]["count"] == cancel["propagated"]
        )
        assert ends["canceled"] == cancel["obeyed"] > 0


@pytest.mark.slow
def test_load_on_localstack_classifies_its_errors_audits_and_reports(
    write_profile: Callable[..., Path], tmp_path: Path, localstack_env: localstack.Environment
) -> None:
    """LocalStack is one more endpoint: what it refuses is counted by its own error code."""
    profile = write_profile(
        name="mix",
        fleet={"workers": 6, "spawn_rate": 20},
        activity={"duration": {"mean_s": 1.0}, "timeouts": {"heartbeat": 1}},
        outcomes={"complete": 1, "fail": 1, "cancel": 1, "silent": 1},
        cancel={"after": 0.3, "propagation_wait_s": 0.5},
        timeout_slack_s=1,
    )
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--run-time", "7", "--progress", "2",
         "--reports-dir", str(reports), "--run-id", "localstack-run", "--engine", "localstack"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = reports / "localstack-run"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["target"]["engine"] == "localstack"
    assert results["target"]["emulator_version"] == localstack_env.version
    _check_adds_up(results, run_dir)
    ends = results["tasks"]["ends"]
    assert ends["completed"] > 0 and ends["failed"] > 0 and ends["timed_out"] > 0
    # moto-ext refuses the cancel decision with a JSON 501 InternalFailure: classified by that
    # code (not as a bare HTTP 5xx), counted, never fatal; no cancellation reaches a worker.
    # (A user stopped at the end of the run while its decision is in flight counts a request and
    # no answer: requested may exceed the refusals by those.)
    cancel = results["cancel"]
    assert 0 < cancel["decision_failed"] == cancel["not_propagated"] <= cancel["requested"]
    assert cancel["propagated"] == cancel["obeyed"] == 0
    decisions = results["calls"]["RespondDecisionTaskCompleted"]["errors"]
    assert decisions["InternalFailure"] == cancel["decision_failed"]
    errors = results["metrics"]["errors"]
    assert errors["InternalFailure"]["count"] == errors["total"]["count"] > 0
    page = (run_dir / "index.html").read_text()
    assert "InternalFailure" in page and "embedded localstack" in page
    assert 'href="localstack-run/index.html"' in (reports / "index.html").read_text()


@pytest.mark.slow
def test_distributed_master_and_two_workers_merge_their_metrics(
    write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    profile = write_profile(name="dist", fleet={"workers": 6, "spawn_rate": 20})
    port = free_port()
    reports = tmp_path / "reports"
    master = subprocess.Popen(
        [*SWFBENCH, "load", "--fleet", str(profile), "--run-time", "7", "--master",
         "--expect-workers", "2", "--master-port", str(port), "--reports-dir", str(reports),
         "--run-id", "dist-run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker_command = [*SWFBENCH, "load", "--fleet", str(profile), "--worker"]
    workers = [
        subprocess.Popen(
            [*worker_command, "--master-port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        output, _ = master.communicate(timeout=90)
        assert master.returncode == 0, output[-3000:]
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        processes: list[subprocess.Popen[Any]] = [master, *workers]
        for process in processes:
            if process.poll() is None:
                process.kill()
    run_dir = reports / "dist-run"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["processes"] == 2
    _check_adds_up(results, run_dir)


def test_gated_run_writes_verdicts_into_results_report_and_junit(load_run: Any) -> None:
    assert load_run.exit_code == 1  # the deliberately failing gate
    assert "6 of 7 gates hold" in load_run.stdout
    results = json.loads((load_run.run_dir / "results.json").read_text())
    verdicts = {g["metric"]: g for g in results["gates"]}
    assert not verdicts["heartbeat.pacing_lag.p50_ms"]["passed"]
    assert verdicts["errors.ThrottlingException.ratio"] == {
        **verdicts["errors.ThrottlingException.ratio"],
        "value": 0.0,
        "passed": True,
    }
    assert sum(g["passed"] for g in results["gates"]) == 6
    assert verdicts["run.status"]["passed"] and results["status"]["state"] == "complete"
    suite = ElementTree.parse(load_run.run_dir / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert len(cases) == 7 and suite.get("failures") == "1"
    (failed,) = [case for case in cases if case.find("failure") is not None]
    assert failed.get("name", "").startswith("heartbeat.pacing_lag.p50_ms")
    html = (load_run.run_dir / "index.html").read_text()
    assert "1 of 7 gates failed." in html
    assert html.count('data-gate="') == 7 and html.count('class="fail"') >= 1
    index = (load_run.reports / "index.html").read_text()
    assert 'href="gated-run/index.html"' in index
    # The timeline has a point per second of the run, and its heartbeats add up to the total.
    points = results["timeline"]["points"]
    assert results["timeline"]["width_s"] == 1 and len(points) >= 5
    ok = results["heartbeat"]["ok"]
    assert abs(sum(p["heartbeats_per_s"] for p in points) - ok) <= 0.35 * ok
    assert results["target"]["engine"] == "swfbench"
    assert results["target"]["emulator_version"].startswith("moto ")


def test_a_sustained_breach_stops_the_run_early(
    write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    profile = write_profile(name="breach", fleet={"workers": 4, "spawn_rate": 20})
    gates = tmp_path / "gates.yaml"
    gates.write_text("kind: load\ngates:\n  heartbeat.latency.p50_ms: {max: 0.001}\n")
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--run-time", "60", "--gates", str(gates),
         "--stop-after", "2s", "--reports-dir", str(reports), "--run-id", "breach",
         "--engine", "swfbench", "--progress", "0"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(
        r"stopping early: heartbeat.latency.p50_ms <= 0.001 failed for \d+ s", done.stdout
    )
    results = json.loads((reports / "breach" / "results.json").read_text())
    stopped = results["stopped_early"]
    assert stopped["metric"] == "heartbeat.latency.p50_ms"
    # Both times are rounded to 0.1 s: 3.3 - 1.3 is 1.9999999999999998 in floating point.
    assert stopped["stopped_at_s"] - stopped["breached_since_s"] >= 2 - 0.05
    assert results["duration_s"] < 30  # of the 60 asked for
    assert "Stopped early" in (reports / "breach" / "index.html").read_text()


@pytest.mark.parametrize(
    ("gates", "flags", "message"),
    [
        (
            "gates:\n  heartbeat.latency.p42_ms: {max: 1}\n",
            [],
            "has no metric heartbeat.latency.p42_ms",
        ),
        ("gates:\n  errors.ThrottlingExeption.ratio: {max: 0}\n", [], "is not an error code"),
        ("gates:\n  heartbeat.latency.p99_ms: {max_increase: 10%}\n", [], "needs a baseline"),
        ("kind: conformance\ngates:\n  failed: {max: 0}\n", [], "gates are for 'conformance'"),
        ("gates:\n  heartbeat.latency.p99_ms: {max: fast}\n", [], "expected a number"),
        (None, ["--stop-after", "5s"], "need --gates"),
    ],
)
def test_bad_gates_are_refused_before_the_run(
    tmp_path: Path, gates: str | None, flags: list[str], message: str
) -> None:
    args = [*SWFBENCH, "load", "--fleet", "scenarios/load/steady.yaml", *flags]
    if gates is not None:
        (tmp_path / "gates.yaml").write_text(gates)
        args += ["--gates", str(tmp_path / "gates.yaml")]
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*args, "--reports-dir", str(reports)], capture_output=True, text=True, timeout=30,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 252, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert message in line and "Traceback" not in done.stderr
    assert not reports.exists()  # refused before the target started or a run began


def test_client_timeouts_come_from_the_flags_else_the_profile(
    write_profile: Callable[..., Path],
) -> None:
    """What Locust is told: the profile's `client:` timeouts, overridden by the flags."""
    from swfbench.cli import build_parser
    from swfbench.load.command import locust_command
    from swfbench.load.profile import load_profile

    profile = load_profile(write_profile(client={"read_timeout_s": 0.5}))
    for flags, expected in (([], ("5.0", "0.5")), (["--connect-timeout", "2s"], ("2.0", "0.5"))):
        args = build_parser().parse_args(["load", "--fleet", profile.path, *flags])
        command = locust_command(args, profile, "http://127.0.0.1:1", "us-east-1", Path("run"))
        connect = command[command.index("--swf-connect-timeout") + 1]
        read = command[command.index("--swf-read-timeout") + 1]
        assert (connect, read) == expected


@pytest.mark.slow
@pytest.mark.parametrize("processes", [[], ["--processes", "2"]], ids=["local", "processes"])
def test_load_overrides_the_profiles_fleet_with_users_spawn_rate_and_run_time(
    write_profile: Callable[..., Path], tmp_path: Path, processes: list[str]
) -> None:
    """swfbench load's --users, --spawn-rate and --run-time are Locust's -u, -r and -t; with
    Locust workers, the master's fleet is theirs (Locust forwards swfbench's options)."""
    profile = write_profile(
        name="big", run_time_s=60, fleet={"workers": 20, "spawn_rate": 5},
        activity={"duration": {"mean_s": 60}, "timeouts": {"heartbeat": 10}},
    )  # fmt: skip
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--users", "4", "--spawn-rate", "8",
         "--run-time", "4.5s", "--progress", "0", "--reports-dir", str(reports),
         "--run-id", "overridden", *processes],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((reports / "overridden" / "results.json").read_text())
    fleet = results["fleet"]
    assert fleet["overrides"] == {"users": 4, "spawn_rate": 8.0, "run_time_s": 4.5}
    assert (fleet["peak_workers"], fleet["workers_reached"]) == (4, 4)
    assert results["tasks"]["started"] == 4
    assert 4.0 <= results["duration_s"] < 20


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--locust-args", "-u 5 -t 3s"], "--locust-args -u: give it as swfbench's own --users"),
        (["--locust-args=--run-time=3s"], "--locust-args --run-time=3s: give it as swfbench's own"),
        (["--worker", "--users", "3"], "--users belongs on the master, not on --worker"),
        (["--expect-workers", "2"], "--expect-workers applies with --master only"),
        (["--master-host", "10.0.0.1"], "--master-host applies with --worker only"),
        (["--users", "0"], "--users: 0: must be at least 1"),
        (["--profile", "scenarios/load/steady.yaml"], "a fleet file is --fleet FILE"),
    ],
)
def test_fleet_and_role_flags_that_cannot_apply_are_one_line(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", "scenarios/load/steady.yaml", *flags,
         "--reports-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=30, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 252, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert message in line, line
    assert not (tmp_path / "reports").exists()


def test_a_load_run_says_each_thing_once(load_run: Any) -> None:
    """`make demo` printed Locust's two tables of statistics, "results in ..." twice, "20
    closed by audit" beside "audit: 0 executions open after the run, 0 closed", and every
    normal run's report said "ended interrupted 20" for the tasks still running at its end."""
    out = load_run.stdout
    assert "Aggregated" not in out and "Response time percentiles" not in out
    assert out.count("results in ") == 1
    assert "closed by audit" not in out
    assert re.search(r"(\d+) still running at the stop \(\1 closed by their workers\)", out), out
    # One audit line. Workers close their executions before the audit; on a starved machine a
    # few may still be open when it looks, and it closes them: it says so, once, either way.
    (audit,) = [line for line in out.splitlines() if "domain audit: " in line]
    assert audit.endswith("no execution of the run left open in swfbench-load-report") or re.search(
        r"(\d+) executions? of the run still open in swfbench-load-report, \1 closed$", audit
    ), audit
    page = (load_run.run_dir / "index.html").read_text()
    assert "ended interrupted" not in page and "still running at the stop" in page
