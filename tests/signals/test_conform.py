"""Signals to `swfbench conform`: scenarios that did not finish are `not run` (results, console,
JUnit, report), the run is interrupted, the command exits 130.

| moment                               | signal                  | test                   |
|--------------------------------------|-------------------------|------------------------|
| collection (no scenario started)     | Ctrl-C (process group)  | during_collection      |
| mid-run (some scenarios finished)    | Ctrl-C                  | mid_run                |
| mid-run                              | SIGTERM twice           | twice                  |
| mid-run                              | SIGKILL                 | sigkill                |
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .helpers import REPO, Run, assert_interrupted

SCENARIOS = REPO / "scenarios" / "conformance"
TOTAL = len(list(SCENARIOS.rglob("*.yaml")))


def _conform(tmp_path: Path, *paths: str) -> Run:
    return Run(["conform", *paths, "--reports-dir", str(tmp_path / "reports")], tmp_path)


def _finished(run: Run) -> int:
    """How many scenarios the console says have ended ([k/N] lines)."""
    return len(re.findall(r"^\[ *\d+/\d+\]", run.output, re.MULTILINE))


def _passed(run: Run) -> int:
    """How many scenarios the console says have passed (skipped ones end at once and check
    nothing: waiting for them would interrupt a run that has checked nothing yet)."""
    return len(re.findall(r"^\[ *\d+/\d+\] pass ", run.output, re.MULTILINE))


def _check_not_run(run: Run, results: dict[str, Any], by: str) -> None:
    """Unfinished scenarios are not run everywhere: results, console, JUnit; none is a fail."""
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert len(outcomes) == TOTAL
    not_run = [i for i, outcome in outcomes.items() if outcome == "not_run"]
    assert not_run and set(outcomes.values()) <= {"pass", "skipped", "not_run"}, outcomes
    assert results["summary"]["not_run"] == len(not_run)
    assert results["status"]["reason"] == f"{len(not_run)} of {TOTAL} scenarios not run"
    for scenario_id in not_run:
        assert f"{'not run':<15} {scenario_id} (interrupted by {by})" in run.output
    suite = ElementTree.parse(run.reports / results["run_id"] / "junit.xml").getroot()
    if suite.tag == "testsuites":
        (suite,) = suite
    cases = suite.findall("testcase")
    assert int(suite.get("tests", 0)) == len(cases) == TOTAL
    assert all(case.get("name") for case in cases)  # no unnamed empty test case
    skipped = {
        case.get("name"): case.find("skipped").get("message", "")  # type: ignore[union-attr]
        for case in cases
        if case.find("skipped") is not None
    }
    for scenario_id in not_run:
        assert skipped[scenario_id] == f"not run: {scenario_id} interrupted by {by}"


def _gate_fails(results_path: Path) -> None:
    """gates/conformance.yaml never passes an interrupted run: its run.status gate fails."""
    done = subprocess.run(
        [sys.executable, "-m", "swfbench", "gate", str(results_path),
         "--gates", str(REPO / "gates" / "conformance.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^run\.status .* FAIL$", done.stdout, re.MULTILINE), done.stdout


COLLECTION_HOOK = """
    import os
    import time
    from pathlib import Path

    def pytest_collection_modifyitems(session, config, items):
        # Hold collection until the test has sent its signal.
        Path(os.environ["SWFBENCH_TEST_COLLECTING"]).touch()
        go = Path(os.environ["SWFBENCH_TEST_GO"])
        deadline = time.monotonic() + 120
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
"""


def test_ctrl_c_during_collection_is_an_interruption(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios" / "conformance"
    shutil.copytree(SCENARIOS / "heartbeat", scenarios / "heartbeat")
    (scenarios / "conftest.py").write_text(textwrap.dedent(COLLECTION_HOOK))
    collecting, go = tmp_path / "collecting", tmp_path / "go"
    run = Run(
        ["conform", str(scenarios), "--reports-dir", str(tmp_path / "reports")],
        tmp_path,
        env={"SWFBENCH_TEST_COLLECTING": str(collecting), "SWFBENCH_TEST_GO": str(go)},
    )
    run.wait_for(collecting.exists, "collection")
    run.ctrl_c()
    run.wait_for_output("stopping")  # swfbench has taken the signal
    go.touch()
    results = assert_interrupted(run, run.finish(), "SIGINT")
    count = len(list(scenarios.rglob("*.yaml")))
    assert results["summary"]["not_run"] == count == len(results["scenarios"])
    assert results["status"]["checked"] == 0
    assert results["target"]["description"] is None  # no target was opened
    assert "no scenario selected" not in run.output


def test_ctrl_c_mid_run_marks_unfinished_scenarios_not_run(tmp_path: Path) -> None:
    run = _conform(tmp_path)
    run.wait_for(lambda: _passed(run) >= 5, "five scenarios passed")
    run.ctrl_c()
    results = assert_interrupted(run, run.finish(), "SIGINT")
    _check_not_run(run, results, "SIGINT")
    assert results["status"]["checked"] == results["summary"]["pass"] > 0
    page = (run.reports / results["run_id"] / "index.html").read_text()
    assert 'class="outcome-not_run"' in page and 'data-run-status="interrupted"' in page
    _gate_fails(run.reports / results["run_id"] / "results.json")


def test_sigterm_twice_stops_at_once(tmp_path: Path) -> None:
    run = _conform(tmp_path)
    run.wait_for(lambda: _finished(run) >= 5, "five scenarios finished")
    run.send(signal.SIGTERM)
    run.wait_for_output("stopping")
    run.send(signal.SIGTERM)
    results = assert_interrupted(run, run.finish(), "SIGTERM")
    _check_not_run(run, results, "SIGTERM")
    assert "stopping at once" in run.output


def test_sigkill_leaves_no_server_behind(tmp_path: Path) -> None:
    run = _conform(tmp_path)
    run.wait_for(lambda: _finished(run) >= 3, "three scenarios finished")
    run.wait_for_child("swfbench.engine")
    run.send(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL  # the embedded engine died with it
