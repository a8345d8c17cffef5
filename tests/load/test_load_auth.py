"""Load runs against an engine that verifies every call (`--auth FILE`): the fast send path signs
for the run's identity and a real verifier checks each heartbeat; denials are their own code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FLEET_AUTH = REPO / "scenarios" / "auth" / "fleet.yaml"
PROFILE = {
    "name": "auth",
    "run_time_s": 6,
    "send_mode": "fast",
    "fleet": {"workers": 8, "spawn_rate": 20},
    "heartbeat": {"interval": {"mean_s": 0.2}, "details": {"kind": "multibyte", "length": 40}},
    "activity": {"duration": {"mean_s": 1.5}, "timeouts": {"heartbeat": 10}},
    "outcomes": {"complete": 1},
}


def _load(tmp_path: Path, *flags: str, **profile: Any) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({**PROFILE, **profile}), "utf-8")
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "load", "--fleet", str(path),
         "--reports-dir", str(reports), "--run-id", "run", "--progress", "0", *flags],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    results_path = reports / "run" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return done.returncode, results, done.stdout + done.stderr


@pytest.mark.slow
def test_the_fast_path_passes_a_real_verifier_for_a_whole_run(tmp_path: Path) -> None:
    # Gates on the error codes only (latency is the host's business): every signature failure
    # may be named before it occurs, and none may occur.
    codes = ("InvalidSignatureException", "IncompleteSignatureException",
             "MissingAuthenticationTokenException", "UnrecognizedClientException")  # fmt: skip
    gates = {"kind": "load", "gates": {f"errors.{code}.count": {"max": 0} for code in codes}}
    gates["gates"]["errors.total.count"] = {"max": 0}
    (tmp_path / "gates.yaml").write_text(yaml.safe_dump(gates))
    code, results, output = _load(
        tmp_path, "--auth", str(FLEET_AUTH), "--gates", str(tmp_path / "gates.yaml"),
        identity="worker",
    )  # fmt: skip
    assert code == 0, output
    assert all(g["passed"] for g in results["gates"])
    assert results["send_mode"] == "fast"
    assert results["target"]["identity"] == "worker"
    metrics = results["metrics"]
    # Every heartbeat (multi-byte details included) was verified and accepted.
    assert metrics["heartbeat"]["ok"] > 10
    assert metrics["heartbeat"]["failed"] == 0
    assert metrics["errors"]["total"]["count"] == 0, metrics["errors"]


@pytest.mark.slow
def test_denied_heartbeats_are_their_own_error_code_and_fail_the_ci_gates(tmp_path: Path) -> None:
    code, results, output = _load(
        tmp_path, "--auth", str(FLEET_AUTH), "--identity", "no-heartbeats",
        "--gates", str(REPO / "gates" / "ci.yaml"),
        identity="worker",  # the flag wins over the profile
    )  # fmt: skip
    assert code == 1, output
    assert results["target"]["identity"] == "no-heartbeats"
    metrics = results["metrics"]
    assert metrics["heartbeat"]["ok"] == 0
    denied = metrics["errors"]["AccessDeniedException"]["count"]
    assert denied == metrics["heartbeat"]["failed"] > 0
    assert metrics["errors"]["total"]["count"] == denied  # the rest of the flow was allowed
    failed = {g["metric"] for g in results["gates"] if not g["passed"]}
    # No heartbeat was answered OK, so the run's status gate fails too ("checked nothing").
    assert {"run.status", "errors.total.ratio"} <= failed
    assert metrics["audit"]["left_open"] == 0


def test_a_profile_identity_needs_an_auth_file(tmp_path: Path) -> None:
    code, results, output = _load(tmp_path, identity="worker")
    assert code == 252
    assert "identity 'worker' names an identity of an auth file: give --auth" in output
    assert results == {}


@pytest.mark.slow
def test_capacity_against_an_engine_that_verifies_every_call(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "capacity", "--auth", str(FLEET_AUTH),
         "--start-rate", "10", "--step-rate", "10", "--max-rate", "20", "--step-time", "4s",
         "--slo", "errors < 1%", "--reports-dir", str(tmp_path), "--run-id", "capacity",
         "--progress", "0"],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    # 0: a knee; 1: the first step broke (a host too busy to send 10/s): judged below either way.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    results = json.loads((tmp_path / "capacity" / "results.json").read_text())
    assert results["target"]["identity"] == "admin"
    assert results["metrics"]["errors"]["total"]["count"] == 0
    first = results["capacity"]["steps"][0]
    assert first["ok_per_s"] > 0 and first["errors_by_code"] == {}
