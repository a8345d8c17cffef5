"""`swfbench conform`: exit codes, reports, and the whole suite against both embedded engines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

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


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["moto", "swfbench"])
def test_whole_suite_on_each_embedded_engine_matches_its_known_deviations(
    engine: str, tmp_path: Path
) -> None:
    done = _conform("--engine", engine, "--reports-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    schema = json.loads(
        resources.files("swfbench.schemas").joinpath("conformance-results.json").read_text()
    )
    jsonschema.validate(results, schema)
    assert (run_dir / "junit.xml").read_text().startswith("<?xml")
    known = TARGETS / f"{engine}.yaml"
    listed = {e["id"] for e in yaml.safe_load(known.read_text())["known_deviations"] or []}
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert len(outcomes) == len(list(SCENARIOS.rglob("*.yaml")))
    expected = {i: "known_deviation" if i in listed else "pass" for i in outcomes}
    assert outcomes == expected
    assert results["target"]["engine"] == engine
    assert results["known_deviations"]["path"].endswith(f"conformance/targets/{engine}.yaml")
    for scenario in results["scenarios"]:
        assert scenario["evidence"], scenario["id"]
        assert all(step["ended_s"] >= step["started_s"] for step in scenario["steps"])
    assert "results:" in done.stdout
