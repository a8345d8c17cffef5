"""Signals to `swfbench capacity`: an interrupted search has no knee, says how far it got, and
exits 130 with its results and report written.

| moment                         | signal                  | test                          |
|--------------------------------|-------------------------|-------------------------------|
| before the first step is judged| SIGTERM to swfbench     | before_the_first_step         |
| after the first step           | Ctrl-C (process group)  | after_the_first_step          |
| mid-run                        | SIGKILL to swfbench     | sigkill                       |

The search runs on `swfbench load`'s machinery (the same Locust child, pipe and audits), whose
signal tests cover the closing audit and the second signal.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .helpers import Run, assert_interrupted


def _capacity(tmp_path: Path) -> Run:
    return Run(
        [
            "capacity", "--start-rate", "20", "--step-rate", "20", "--max-rate", "100",
            "--step-time", "4s", "--interval", "0.5", "--progress", "0.5",
            "--reports-dir", str(tmp_path / "reports"),
        ],
        tmp_path,
    )  # fmt: skip


def test_sigterm_before_the_first_step_is_judged(tmp_path: Path) -> None:
    run = _capacity(tmp_path)
    run.wait_for(lambda: "workers" in run.output, "the first step running")
    assert "step 1/" not in run.output
    run.send(signal.SIGTERM)
    results = assert_interrupted(run, run.finish(), "SIGTERM")
    capacity = results["capacity"]
    assert capacity["knee"] is None and capacity["held_so_far"] is None
    assert capacity["interrupted"] == "interrupted by SIGTERM after 0 of 5 steps"
    assert results["status"]["checked"] == 0
    assert results["metrics"]["capacity"]["knee_per_s"] == 0
    assert "capacity: knee:" not in run.output
    assert "no knee: interrupted by SIGTERM after 0 of 5 steps" in run.output
    page = (run.reports / results["run_id"] / "index.html").read_text()
    assert "No knee: the search was interrupted by SIGTERM after 0 of 5 steps." in page


@pytest.mark.slow
def test_ctrl_c_after_the_first_step_reports_no_knee(tmp_path: Path) -> None:
    run = _capacity(tmp_path)
    run.wait_for_output("step 1/5")
    run.ctrl_c()
    results = assert_interrupted(run, run.finish(), "SIGINT")
    capacity = results["capacity"]
    judged = len(capacity["steps"])  # the signal may reach the run as step 2 is judged
    assert capacity["knee"] is None and not capacity["finished"]
    assert capacity["held_so_far"]["offered_per_s"] == 20 * judged
    assert results["status"]["checked"] == judged
    assert "capacity: knee:" not in run.output
    assert f"no knee: interrupted by SIGINT after {judged} of 5 steps" in run.output
    page = (run.reports / results["run_id"] / "index.html").read_text()
    assert 'data-run-status="interrupted"' in page


def test_sigkill_leaves_no_child_behind(tmp_path: Path) -> None:
    run = _capacity(tmp_path)
    run.wait_for(lambda: "workers" in run.output, "the first step running")
    run.wait_for_child("-m locust")
    run.send(signal.SIGKILL)
    assert run.finish() == -signal.SIGKILL  # and the engine and Locust are gone
