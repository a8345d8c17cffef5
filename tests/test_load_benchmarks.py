"""The load benchmarks run from their one command, on a small scale: a benchmark that no longer
starts (a renamed flag of Locust's command line, say) would otherwise go unseen until the next
time its figures are measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT / "benchmarks",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _last_json(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout[stdout.rindex("\n{") :])
    return data


@pytest.mark.slow
def test_the_fleet_scale_benchmark_runs() -> None:
    out = _run(
        "load_fleet_scale.py", "--workers", "3000", "--processes", "1", "--interval", "1",
        "--seconds", "2", "--warmup", "1", "--baseline-seconds", "3", "--spawn-slack", "1",
    )  # fmt: skip
    fleet = _last_json(out)["fleet"]
    assert fleet["workers"] == 3000 and fleet["spawn_s"] is not None
    assert fleet["ok"] > 3000 and fleet["failed"] == 0  # more than one beat per worker


@pytest.mark.slow
def test_the_send_path_benchmark_runs() -> None:
    out = _run(
        "load_send_path.py", "--variants", "fast,lean,lean-ghc", "--repetitions", "1",
        "--seconds", "1", "--warmup", "0.5", "--users", "5", "--interleaved", "1",
        "--slices", "2", "--slice-seconds", "0.3",
    )  # fmt: skip
    summary = _last_json(out)
    for variant in ("fast", "lean", "lean-ghc"):
        assert summary["variants"][variant]["hb_per_s"] > 0
    assert "fast/lean cpu per hb" in summary["ratios"]
    # The interleaved run: each variant counted over its own turns only, so both sent.
    interleaved = summary["interleaved"]
    assert interleaved["pair"] == ["fast", "lean"]
    for part in ("cpu", "user", "system"):
        assert all(us > 0 for us in interleaved[f"{part}_us_per_hb"]), part
    assert len(interleaved["ratios"]) == 1


@pytest.mark.slow
def test_the_end_to_end_benchmark_runs() -> None:
    out = _run(
        "load_end_to_end.py", "--sizes", "20", "--seconds", "3", "--spawn-s", "1",
        "--settle", "1",
    )  # fmt: skip
    rows = json.loads(out[out.rindex("\n[") :])
    assert [row["status"] for row in rows] == ["complete"]
    assert rows[0]["tasks_started"] > 0


def test_the_bookkeeping_benchmark_runs() -> None:
    out = _run(
        "load_bookkeeping.py", "--heartbeats", "3000", "--repetitions", "1", "--rate", "3000"
    )
    data = _last_json(out)
    us = data["us_per_heartbeat"]
    assert list(us) == ["lean", "sender", "worker", "fleet"]
    assert all(value > 0 for value in us.values())
    assert data["fold_us"] > 0
