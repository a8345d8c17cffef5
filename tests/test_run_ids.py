"""A run id names one folder under --reports-dir: a reused one is refused before anything runs
(it once overwrote the earlier run and left its stale junit.xml), and none leads outside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import LoadRun
from swfbench.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


def test_a_reused_run_id_is_refused_and_the_earlier_run_kept(load_run: LoadRun) -> None:
    before = _snapshot(load_run.run_dir)
    assert "junit.xml" in before
    profile = ROOT / "scenarios" / "load" / "steady.yaml"
    for command, code in (
        (["load", "--fleet", str(profile)], ExitCode.USAGE),
        (["capacity"], ExitCode.USAGE),
    ):
        done = subprocess.run(
            [*SWFBENCH, *command, "--run-id", "gated-run", "--reports-dir", str(load_run.reports)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "already holds a run: choose another --run-id" in line
    assert _snapshot(load_run.run_dir) == before


def test_a_run_id_that_leaves_the_reports_dir_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(ROOT / "scenarios" / "load" / "steady.yaml"),
         "--run-id", "../../escaped", "--reports-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == ExitCode.USAGE
    (line,) = done.stderr.strip().splitlines()
    assert "argument --run-id: '../../escaped' is not a run id" in line
    assert list(tmp_path.iterdir()) == []
