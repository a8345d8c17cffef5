"""The whole conformance suite on an embedded engine: run it, check what the run wrote, and the
outcomes each target's known-deviation list predicts. Shared by the conform command's tests and
the emulator matrix's test (whose run of plain moto is the suite run on moto)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from swfbench.conformance.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios" / "conformance"
TARGETS = REPO / "conformance" / "targets"


def conform(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "conform", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def suite(engine: str, reports: Path, *extra: str) -> dict[str, Any]:
    """Run the whole suite on an embedded engine; check its results against the schema."""
    done = conform("--engine", engine, "--reports-dir", str(reports), *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    return written(reports, done.stdout)


def written(reports: Path, stdout: str) -> dict[str, Any]:
    """The one run in `reports`: results valid against the schema, JUnit XML, its page naming
    every scenario, and the reports index linking to it."""
    assert "results:" in stdout
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    schema = json.loads(
        resources.files("swfbench.schemas").joinpath("conformance-results.json").read_text()
    )
    jsonschema.validate(results, schema)
    assert (run_dir / "junit.xml").read_text().startswith("<?xml")
    page = (run_dir / "index.html").read_text()
    assert all(s["id"] in page for s in results["scenarios"])
    assert f'href="{run_dir.name}/index.html"' in (reports / "index.html").read_text()
    return results


def expected_outcomes(engine: str, results: dict[str, Any]) -> dict[str, str]:
    """Listed scenarios are known deviations, those needing what the target lacks are skipped
    (whether listed or not), the others pass, or are known deviations on the wire when their
    answers broke the wire contract in ways the list names."""
    known = TARGETS / f"{engine}.yaml"
    listed = {e["id"] for e in yaml.safe_load(known.read_text())["known_deviations"] or []}
    assert results["known_deviations"]["path"].endswith(f"conformance/targets/{engine}.yaml")
    capabilities = set(results["target"]["capabilities"])
    identities = set(results["target"]["identities"])
    loaded = {s["id"]: load_scenario(Path(s["path"])) for s in results["scenarios"]}
    on_wire = {s["id"] for s in results["scenarios"] if s["wire"]}
    for scenario in results["scenarios"]:
        assert all(finding["known"] for finding in scenario["wire"]), scenario["id"]

    def expected(scenario_id: str) -> str:
        scenario = loaded[scenario_id]
        if not set(scenario.requires) <= capabilities or not set(scenario.identities) <= identities:
            return "skipped"
        return "known_deviation" if scenario_id in listed | on_wire else "pass"

    return {s["id"]: expected(s["id"]) for s in results["scenarios"]}


def check_moto_suite(results: dict[str, Any]) -> None:
    """The whole suite on plain moto matches moto's known-deviation list."""
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert len(outcomes) == len(list(SCENARIOS.rglob("*.yaml")))
    assert outcomes == expected_outcomes("moto", results)
    assert results["target"]["engine"] == "moto"
    assert results["target"]["clock"] == "real"
    # Every answer of plain moto says text/html: every scenario that ran breaks the wire.
    wire = results["metrics"]["conformance"]
    assert wire["wire"] == wire["wire_known"] > 0 == wire["wire_unknown"]
    ran = [s for s in results["scenarios"] if s["outcome"] != "skipped"]
    assert all(any(f["rule"] == "content-type" for f in s["wire"]) for s in ran)
    for scenario in results["scenarios"]:
        assert scenario["evidence"], scenario["id"]
        assert all(step["ended_s"] >= step["started_s"] for step in scenario["steps"])
