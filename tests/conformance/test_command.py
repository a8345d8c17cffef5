"""`swfbench conform`: exit codes, reports, and the whole suite against both embedded engines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from swfbench.cli import main
from swfbench.conformance.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios" / "conformance"
TARGETS = REPO / "conformance" / "targets"


def _conform(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "conform", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_invalid_scenario_is_a_usage_error_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenarios" / "conformance" / "area" / "bad.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        textwrap.dedent(
            """\
            description: bad
            evidence: [{grade: documented, ref: r}]
            steps:
              - wait_for_history: {task: a}
            """
        )
    )
    code = main(["conform", str(tmp_path / "scenarios"), "--reports-dir", str(tmp_path / "r")])
    assert code == 252
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"swfbench: error: {path}:4: steps[0].wait_for_history: 'within' is a required property"
    ]


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    assert main(["conform", str(tmp_path / "missing")]) == 252
    assert main(["conform", "--aws", "--endpoint-url", "http://x", str(SCENARIOS)]) == 252


def test_every_scenario_is_valid_and_every_listed_deviation_exists() -> None:
    ids = {load_scenario(path).id for path in SCENARIOS.rglob("*.yaml")}
    assert len(ids) >= 25
    for target in (REPO / "conformance" / "targets").glob("*.yaml"):
        listed = yaml.safe_load(target.read_text())["known_deviations"] or []
        assert {entry["id"] for entry in listed} <= ids, target


def _suite(engine: str, reports: Path, *extra: str) -> dict[str, Any]:
    """Run the whole suite on an embedded engine; check its results against the schema."""
    done = _conform("--engine", engine, "--reports-dir", str(reports), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "results:" in done.stdout
    (run_dir,) = reports.iterdir()
    results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    schema = json.loads(
        resources.files("swfbench.schemas").joinpath("conformance-results.json").read_text()
    )
    jsonschema.validate(results, schema)
    assert (run_dir / "junit.xml").read_text().startswith("<?xml")
    return results


def _expected_outcomes(engine: str, results: dict[str, Any]) -> dict[str, str]:
    known = TARGETS / f"{engine}.yaml"
    listed = {e["id"] for e in yaml.safe_load(known.read_text())["known_deviations"] or []}
    assert results["known_deviations"]["path"].endswith(f"conformance/targets/{engine}.yaml")
    return {
        s["id"]: "known_deviation" if s["id"] in listed else "pass" for s in results["scenarios"]
    }


@pytest.mark.slow
def test_whole_suite_on_embedded_moto_matches_its_known_deviations(tmp_path: Path) -> None:
    results = _suite("moto", tmp_path)
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert len(outcomes) == len(list(SCENARIOS.rglob("*.yaml")))
    assert outcomes == _expected_outcomes("moto", results)
    assert results["target"]["engine"] == "moto"
    assert results["target"]["clock"] == "real"
    for scenario in results["scenarios"]:
        assert scenario["evidence"], scenario["id"]
        assert all(step["ended_s"] >= step["started_s"] for step in scenario["steps"])


@pytest.mark.slow
def test_extended_engine_passes_everything_on_real_and_virtual_clocks(tmp_path: Path) -> None:
    real = _suite("swfbench", tmp_path / "real")
    virtual = _suite("swfbench", tmp_path / "virtual", "--clock", "virtual")
    assert (real["target"]["clock"], virtual["target"]["clock"]) == ("real", "virtual")
    by_clock = [{s["id"]: s["outcome"] for s in r["scenarios"]} for r in (real, virtual)]
    assert by_clock[0] == by_clock[1] == _expected_outcomes("swfbench", real)
    # On the virtual clock, scenarios that wait on timeouts spend engine time, not wall time.
    for scenario in virtual["scenarios"]:
        if scenario["id"].startswith("timeouts/"):
            wall = datetime.fromisoformat(scenario["ended_at"]) - datetime.fromisoformat(
                scenario["started_at"]
            )
            assert scenario["duration_s"] >= 1.0 > wall.total_seconds(), scenario["id"]
