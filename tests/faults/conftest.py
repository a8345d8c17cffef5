"""Fixtures for fault tests: a real extended engine behind a real fault-injecting proxy, and a
`swfbench load` run through the proxy, judged against the shipped gates/ci.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from swfbench.embedded import EmbeddedServer

from .proxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
CI_GATES = ROOT / "gates" / "ci.yaml"


@pytest.fixture
def target() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(engine="swfbench") as server:
        yield server


@pytest.fixture
def proxy(target: EmbeddedServer) -> Iterator[FaultProxy]:
    with FaultProxy(target.url) as running:
        yield running


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    run_dir: Path

    @property
    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "results.json").read_text())
        return data

    def verdicts(self) -> dict[str, dict[str, Any]]:
        return {g["metric"]: g for g in self.results["gates"]}


def fleet(**overrides: Any) -> dict[str, Any]:
    """A small steady fleet: 4 workers heartbeating every 0.25 s, tasks of 1.5 s."""
    data: dict[str, Any] = {
        "name": "faults",
        "domain": "swfbench-faults",
        "run_time_s": 8,
        "fleet": {"workers": 4, "spawn_rate": 20},
        "heartbeat": {"interval": {"mean_s": 0.25}},
        "activity": {"duration": {"mean_s": 1.5}, "timeouts": {"heartbeat": 10}},
        "outcomes": {"complete": 1},
    }
    data.update(overrides)
    return data


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., Run]:
    """`swfbench load` of a profile against an endpoint, judged against gates/ci.yaml."""

    def run(
        endpoint: str,
        *flags: str,
        profile: dict[str, Any] | None = None,
        gates: bool = True,
        popen: Callable[[subprocess.Popen[str]], None] | None = None,
    ) -> Run:
        path = tmp_path / "profile.yaml"
        path.write_text(yaml.safe_dump(profile or fleet()))
        reports = tmp_path / "reports"
        command = [
            *SWFBENCH, "load", "--fleet", str(path), "--endpoint-url", endpoint,
            "--reports-dir", str(reports), "--run-id", "run", "--progress", "1", *flags,
        ]  # fmt: skip
        if gates:
            command += ["--gates", str(CI_GATES)]
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        try:
            if popen is not None:
                popen(child)
            stdout, stderr = child.communicate(timeout=180)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        return Run(child.returncode, stdout, stderr, reports / "run")

    return run
