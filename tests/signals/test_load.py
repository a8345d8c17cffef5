"""Signals to `swfbench load`, as a terminal and a supervisor send them, at each moment of a run.

Which signal at which moment (each class once, not every signal at every moment):

| moment                      | signal                                   | test                       |
|-----------------------------|------------------------------------------|----------------------------|
| start-up (imports)          | Ctrl-C (SIGINT to the process group)     | start_up                   |
| spawning the fleet          | Ctrl-C                                   | spawn                      |
| mid-run, --processes 2      | SIGTERM to swfbench                      | mid_run_sigterm            |
| mid-run                     | SIGINT to swfbench, twice                | mid_run_twice              |
| mid-run, --processes 2      | SIGKILL to swfbench                      | mid_run_sigkill            |
| the workers' closing audit  | Ctrl-C                                   | audit                      |
| the workers' closing audit  | SIGTERM to swfbench, twice               | audit_twice                |

SIGKILL runs nothing in swfbench, whatever the moment: the children's parent-death signals do
the work, so one moment (the one with the most children) stands for all.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from swfbench.errors import ExitCode

from .helpers import Run, alive, assert_interrupted, process_group

LOCUST = "-m locust"
ENGINE = "swfbench.engine"


def _profile(tmp_path: Path, **fleet: Any) -> Path:
    path = tmp_path / "fleet.yaml"
    run_time = fleet.pop("run_time_s", 60)
    interval = fleet.pop("interval_s", 0.25)
    path.write_text(
        yaml.safe_dump(
            {
                "name": "signals",
                "domain": "swfbench-signal-tests",
                "run_time_s": run_time,
                "fleet": fleet,
                "heartbeat": {"interval": {"mean_s": interval}},
                # Tasks outlive the run: the closing audit always has tasks to close.
                "activity": {"duration": {"mean_s": 120}, "timeouts": {"heartbeat": 20}},
                "outcomes": {"complete": 1},
            }
        )
    )
    return path


def _load(tmp_path: Path, profile: Path, *extra: str) -> Run:
    args = ["load", "--fleet", str(profile), "--reports-dir", str(tmp_path / "reports")]
    return Run([*args, "--progress", "0.5", *extra], tmp_path)


def _workers(run: Run) -> int:
    """Simulated workers running, from the last progress line."""
    counts = re.findall(r"workers +(\d+) ", run.output)
    return int(counts[-1]) if counts else 0


def _tasks(run: Run) -> int:
    """Tasks started so far, from the last progress line."""
    counts = re.findall(r"\| tasks (\d+) \|", run.output)
    return int(counts[-1]) if counts else 0


def _running(run: Run, workers: int) -> None:
    """Mid-run: every worker has its task and a progress line has come since."""
    run.wait_for(lambda: _tasks(run) >= workers, f"{workers} tasks started")
    lines = run.output.count("] workers")
    run.wait_for(lambda: run.output.count("] workers") > lines, "the next progress line")


# A fleet whose closing takes a while: up to 300 open tasks, each closed by its own call, then
# Locust's results and its HTML page; a second signal sent as soon as swfbench has taken the
# first (it says so within 0.05 s) comes before swfbench's own domain audit.
BIG_FLEET = {"workers": 300, "spawn_rate": 300, "interval_s": 2.0}


def _twice(run: Run, signum: int) -> None:
    """The same signal twice, as two presses: the second once swfbench has taken the first
    (sent at once, the two could merge into one, as pending signals of a kind do)."""
    run.send(signum)
    run.wait_for_output("stopping gracefully")
    run.send(signum)


def _closed_everything(results: dict[str, Any]) -> None:
    """A graceful stop: the workers' audit closed every open task, the domain audit found none
    left, every task is accounted for."""
    tasks = results["tasks"]
    assert tasks["started"] == tasks["accounted"] > 0
    assert tasks["closed_by_audit"] == tasks["ends"]["interrupted"] > 0
    assert results["audit"]["open_after_run"] == results["audit"]["closed"]
    assert results["status"]["missing"] == []


def test_ctrl_c_at_start_up_is_one_line_and_130(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, workers=2, spawn_rate=10))
    # As soon as swfbench catches signals (it does before importing its commands, which takes
    # a second or more): SIGTERM is among the caught signals in /proc/PID/status.
    run.wait_for(lambda: _catches(run.pid, signal.SIGTERM), "swfbench's signal handlers")
    run.ctrl_c()
    assert run.finish() == ExitCode.INTERRUPTED
    assert run.output.strip().splitlines()[-1] == "swfbench: interrupted", run.output
    assert "Traceback" not in run.output
    assert run.run_dirs() == []  # nothing ran: nothing written


def _catches(pid: int, signum: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.MULTILINE).group(1), 16)  # type: ignore[union-attr]
    return bool(caught >> (signum - 1) & 1)


def test_ctrl_c_while_the_fleet_spawns_stops_it_gracefully_once(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, workers=40, spawn_rate=8))  # 5 s of spawning
    run.wait_for(lambda: 0 < _workers(run) < 40, "a fleet spawning")
    locust = run.wait_for_child(LOCUST)
    # Locust leads a process group of its own: the terminal's Ctrl-C reaches swfbench alone.
    assert process_group(locust) == locust != process_group(run.pid)
    run.ctrl_c()
    results = assert_interrupted(run, run.finish(), "SIGINT")
    assert run.output.count("stopping gracefully") == 1
    assert "KeyboardInterrupt" not in run.output
    assert results["interrupted"]["by"] == "SIGINT"
    _closed_everything(results)
    assert "interrupted by SIGINT" in (run.reports / results["run_id"] / "index.html").read_text()


@pytest.mark.slow
def test_sigterm_mid_run_stops_locust_and_its_workers(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, workers=8, spawn_rate=50), "--processes", "2")
    _running(run, 8)
    # Locust's master and the two workers it forked.
    run.wait_for(lambda: sum(LOCUST in line for line in run.command_lines.values()) >= 3, "workers")
    run.send(signal.SIGTERM)
    results = assert_interrupted(run, run.finish(), "SIGTERM")
    assert results["heartbeat"]["ok"] > 0
    assert results["status"]["missing"] == []


def test_sigint_twice_mid_run_stops_at_once_and_still_writes_the_results(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, **BIG_FLEET))
    _running(run, 300)
    _twice(run, signal.SIGINT)
    results = assert_interrupted(run, run.finish(), "SIGINT")
    assert results["audit"]["status"] == "skipped"
    assert any(m.startswith("audit skipped") for m in results["status"]["missing"])
    assert results["tasks"]["started"] >= 300


@pytest.mark.slow
def test_sigkill_mid_run_leaves_no_child_sending_load(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, workers=8, spawn_rate=50), "--processes", "2")
    _running(run, 8)
    run.wait_for(lambda: sum(LOCUST in line for line in run.command_lines.values()) >= 3, "workers")
    children = {pid for pid in run.tree if pid != run.pid}
    lines = [run.command_lines[pid] for pid in children]
    assert any(ENGINE in line for line in lines) and sum(LOCUST in line for line in lines) == 3
    run.send(signal.SIGKILL)
    # finish() requires every process of the tree gone: Locust, its forked workers, the engine.
    assert run.finish() == -signal.SIGKILL
    assert not any(alive(run.tree[pid]) for pid in children)


def test_ctrl_c_during_the_closing_audit_lets_it_finish(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, workers=60, spawn_rate=200, run_time_s=3))
    run.wait_for_output("open tasks")  # the run ended; its workers close their tasks
    run.ctrl_c()
    results = assert_interrupted(run, run.finish(), "SIGINT")
    _closed_everything(results)


def test_sigterm_twice_during_the_closing_audit_skips_the_audits(tmp_path: Path) -> None:
    run = _load(tmp_path, _profile(tmp_path, **BIG_FLEET, run_time_s=4))
    run.wait_for_output("open tasks")
    _twice(run, signal.SIGTERM)
    results = assert_interrupted(run, run.finish(), "SIGTERM")
    assert results["audit"]["status"] == "skipped"
    # The tasks the workers' audit did not close by then (it stops at the second signal) are
    # counted as left open: the domain audit that would have found them did not run.
    tasks = results["tasks"]
    left_open = tasks["ends"]["interrupted"] - tasks["closed_by_audit"]
    assert results["metrics"]["audit"]["left_open"] == left_open >= 0
    assert any(m.startswith("audit skipped") for m in results["status"]["missing"])
