"""Load runs against an engine that verifies every call (`--auth FILE`): the fast send path signs
for the run's identity and a real verifier checks each heartbeat; denials are their own code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        [sys.executable, "-m", "swfbench.cli", "load", "--profile", str(path),
         "--reports-dir", str(reports), "--run-id", "run", "--progress", "0", *flags],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    results_path = reports / "run" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return done.returncode, results, done.stdout + done.stderr


def test_the_fast_path_passes_a_real_verifier_for_a_whole_run(tmp_path: Path) -> None:
    # The CI gates, and gates on signature failures, which may be named before they occur.
    gates = yaml.safe_load((REPO / "gates" / "ci.yaml").read_text())
    for code in ("InvalidSignatureException", "IncompleteSignatureException",
                 "MissingAuthenticationTokenException", "UnrecognizedClientException"):  # fmt: skip
        gates["gates"][f"errors.{code}.count"] = {"max": 0}
    (tmp_path / "gates.yaml").write_text(yaml.safe_dump(gates))
    code, results, output = _load(
        tmp_path, "--auth", str(FLEET_AUTH), "--gates", str(tmp_path / "gates.yaml"),
        identity="worker",
    )  # fmt: skip
    assert code == 0, output
    assert all(g["passed"] for g in results["gates"])
    judged = {g["metric"] for g in results["gates"]}
    assert {f"errors.{code}.count" for code in ("InvalidSignatureException",)} <= judged
    assert results["send_mode"] == "fast"
    assert results["target"]["identity"] == "worker"
    metrics = results["metrics"]
    # Every heartbeat (multi-byte details included) was verified and accepted: no error at all,
    # signature failures least of all.
    assert metrics["heartbeat"]["ok"] > 50
    assert metrics["heartbeat"]["failed"] == 0
    assert metrics["errors"]["total"]["count"] == 0, metrics["errors"]
    assert metrics["tasks"]["unaccounted"] == 0


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
    failed = [g["metric"] for g in results["gates"] if not g["passed"]]
    # No heartbeat was answered OK, so the run's status gate fails too ("checked nothing").
    assert failed == ["run.status", "errors.total.ratio"]
    assert metrics["audit"]["left_open"] == 0


def test_a_profile_identity_needs_an_auth_file(tmp_path: Path) -> None:
    code, results, output = _load(tmp_path, identity="worker")
    assert code == 252
    assert "identity 'worker' names an identity of an auth file: give --auth" in output
    assert results == {}


def test_capacity_against_an_engine_that_verifies_every_call(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "capacity", "--auth", str(FLEET_AUTH),
         "--start-rate", "20", "--step-rate", "20", "--max-rate", "40", "--step-time", "4s",
         "--reports-dir", str(tmp_path), "--run-id", "capacity", "--progress", "0"],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "capacity" / "results.json").read_text())
    assert results["target"]["identity"] == "admin"
    assert results["metrics"]["errors"]["total"]["count"] == 0
    assert results["metrics"]["capacity"]["knee_per_s"] == 40
