"""`swfbench conform`: exit codes, reports, and the whole suite against both embedded engines."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from swfbench import localstack
from swfbench.cli import main
from swfbench.conformance.scenario import load_scenario

from .suites import REPO, SCENARIOS, TARGETS, conform, expected_outcomes, suite


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
    assert list((tmp_path / "r").iterdir()) == []  # no run folder of a run that never ran


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    reports = ["--reports-dir", str(tmp_path / "r")]
    assert main(["conform", str(tmp_path / "missing"), *reports]) == 252
    assert main(["conform", "--aws", "--endpoint-url", "http://x", str(SCENARIOS), *reports]) == 252
    assert not (tmp_path / "r").exists()  # refused before anything was made
    # Refused once pytest found nothing to run: the run's folder goes too.
    assert main(["conform", "-k", "no_such_scenario", str(SCENARIOS), *reports]) == 252
    assert list((tmp_path / "r").iterdir()) == []


def test_every_scenario_is_valid_and_every_listed_deviation_exists() -> None:
    ids = {load_scenario(path).id for path in SCENARIOS.rglob("*.yaml")}
    assert len(ids) >= 25
    for target in (REPO / "conformance" / "targets").glob("*.yaml"):
        listed = yaml.safe_load(target.read_text())["known_deviations"] or []
        assert {entry["id"] for entry in listed} <= ids, target


def test_every_list_the_docs_name_exists() -> None:
    named = set()
    for doc in (REPO / "README.md", REPO / "conformance" / "README.md"):
        named |= set(re.findall(r"targets/([\w.-]+)\.yaml", doc.read_text()))
    assert {"moto", "swfbench", "localstack"} <= named
    assert {name for name in named if not (TARGETS / f"{name}.yaml").is_file()} == set()


@pytest.mark.slow
def test_whole_suite_on_localstack_matches_its_known_deviations(
    tmp_path: Path, localstack_env: localstack.Environment
) -> None:
    """CI's third emulator: no unexpected failure and no unnoticed fix against its list."""
    # LocalStack loads its SWF provider on the first SWF call: with the cores busy that first
    # RegisterDomain was seen taking more than the default 10 s read timeout, and the run ended
    # before its first scenario. What is judged here is each scenario's outcome, not latency.
    results = suite("localstack", tmp_path, "--read-timeout", "30s")
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert len(outcomes) == len(list(SCENARIOS.rglob("*.yaml")))
    assert outcomes == expected_outcomes("localstack", results)
    assert results["target"]["engine"] == "localstack"
    assert results["target"]["emulator_version"] == localstack_env.version
    # LocalStack's errors are its own, not moto's bare HTTP 500.
    cancel = next(
        s for s in results["scenarios"] if s["id"] == "cancellation/workflow_cancel_alone"
    )
    assert cancel["failure"]["actual"]["error"]["http_status"] == 501


@pytest.mark.slow
def test_extended_engine_passes_everything_on_real_and_virtual_clocks(tmp_path: Path) -> None:
    # On the real clock a timeout is seen as late as the machine schedules the scenario's next
    # poll: with both cores busy, 4.2 s for a 1.5-2.5 s window was seen. 3 s of slack holds
    # there; the virtual clock, which no load can make late, keeps the list's 1 s.
    real = suite("swfbench", tmp_path / "real", "--timing-slack", "3")
    virtual = suite("swfbench", tmp_path / "virtual", "--clock", "virtual")
    assert (real["target"]["clock"], virtual["target"]["clock"]) == ("real", "virtual")
    by_clock = [{s["id"]: s["outcome"] for s in r["scenarios"]} for r in (real, virtual)]
    assert by_clock[0] == by_clock[1] == expected_outcomes("swfbench", real)
    # Not one answer of the engine departs from SWF's wire contract.
    assert real["metrics"]["conformance"]["wire"] == virtual["metrics"]["conformance"]["wire"] == 0
    # On the virtual clock, scenarios that wait on timeouts spend engine time, not wall time:
    # together about 25 s of engine time in under 2 s of wall time on an idle machine. Judged
    # on the sums, since one 1 s scenario can take more than 1 s of wall time when both cores
    # are busy; on the real clock the sums are about equal, so this still fails there.
    engine_s = wall_s = 0.0
    for scenario in virtual["scenarios"]:
        if scenario["id"].startswith("timeouts/"):
            wall = datetime.fromisoformat(scenario["ended_at"]) - datetime.fromisoformat(
                scenario["started_at"]
            )
            assert scenario["duration_s"] >= 1.0, scenario["id"]
            engine_s += scenario["duration_s"]
            wall_s += wall.total_seconds()
    assert engine_s > 2 * wall_s, (engine_s, wall_s)


ACCESS = SCENARIOS / "access"
AUTH = REPO / "conformance" / "access" / "auth.yaml"


@pytest.mark.slow
def test_the_whole_suite_passes_on_an_engine_that_verifies_every_call(tmp_path: Path) -> None:
    # Every capability at once, on a virtual clock (the real clock is covered without --auth,
    # and for the access scenarios below): all 45, each of its calls signed and verified.
    results = suite(
        "swfbench", tmp_path, "--auth", str(AUTH), "--quotas", "aws", "--clock", "virtual"
    )
    assert results["target"]["capabilities"] == ["quotas", "signatures", "virtual_clock"]
    assert results["target"]["identities"] == ["admin", "restricted", "temporary"]
    assert results["target"]["identity"] == "admin"
    outcomes = {s["id"]: s["outcome"] for s in results["scenarios"]}
    assert outcomes == expected_outcomes("swfbench", results)
    assert set(outcomes.values()) == {"pass"}
    access = [k for k in outcomes if k.startswith("access/")]
    assert len(access) == len(list(ACCESS.glob("*.yaml"))) >= 14


def test_access_scenarios_pass_on_the_real_clock(tmp_path: Path) -> None:
    done = conform("--auth", str(AUTH), "--reports-dir", str(tmp_path), str(ACCESS))
    assert done.returncode == 0, done.stdout + done.stderr
    count = len(list(ACCESS.glob("*.yaml")))
    assert f"{count} scenarios on embedded swfbench" in done.stdout
    assert f": {count} pass\n" in done.stdout


def test_access_scenarios_are_skipped_with_the_reason_without_identities(tmp_path: Path) -> None:
    done = conform("--engine", "moto", "--reports-dir", str(tmp_path), str(ACCESS))
    # Every scenario skipped: the run checked nothing, which is never a pass.
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing was checked" in done.stderr
    assert "needs identity 'restricted' (the run has none)" in done.stdout
    assert "needs a target that verifies signatures" in done.stdout
    count = len(list(ACCESS.glob("*.yaml")))
    assert f"{count} scenarios on embedded moto" in done.stdout
    assert f": {count} skipped\n" in done.stdout


def test_access_scenarios_fail_when_the_policy_allows_too_much(tmp_path: Path) -> None:
    # The same identities, but `restricted` gets the admin's policy: every scenario that
    # expects a refusal must fail, so a target that enforces nothing can never pass them.
    lax = tmp_path / "lax"
    lax.mkdir()
    for policy in AUTH.parent.glob("*.json"):
        (lax / policy.name).write_text(policy.read_text())
    text = AUTH.read_text().replace("restricted-policy.json", "admin-policy.json")
    (lax / "auth.yaml").write_text(text)
    done = conform("--auth", str(lax / "auth.yaml"), "--reports-dir", str(tmp_path / "r"),
                    str(ACCESS))  # fmt: skip
    assert done.returncode == 1
    failed = set(re.findall(r" FAIL +(\S+)", done.stdout))
    assert failed == {
        "access/allowed_domain_only",
        "access/denied_heartbeat_rest_of_flow_works",
        "access/wildcard_action_allows",
        "access/decision_excluded_by_condition",
        "access/refused_heartbeat_keeps_timeout",
    }


def test_restricted_profile_is_for_real_swf_only(tmp_path: Path) -> None:
    done = conform("--restricted-profile", "worker", str(ACCESS))
    assert done.returncode == 252
    assert "--restricted-profile needs --aws" in done.stderr


QUOTAS = SCENARIOS / "quotas"
BURST = "quotas/heartbeat_throttled_past_account_bucket"
KEEPS_TIMEOUT = "quotas/throttled_heartbeat_keeps_timeout"
EXECUTION = "quotas/heartbeat_throttled_past_execution_bucket"


def _quota_run(tmp_path: Path, *flags: str, code: int = 0) -> tuple[str, dict[str, Any]]:
    done = conform(*flags, "--reports-dir", str(tmp_path), str(QUOTAS))
    assert done.returncode == code, done.stdout + done.stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    schema = json.loads(
        resources.files("swfbench.schemas").joinpath("conformance-results.json").read_text()
    )
    jsonschema.validate(results, schema)
    return done.stdout, results


def _burst_step(results: dict[str, Any]) -> dict[str, Any]:
    (scenario,) = [s for s in results["scenarios"] if s["id"] == BURST]
    (step,) = [s for s in scenario["steps"] if s["action"] == "heartbeat" and s["index"] == 5]
    return step


def test_quota_scenarios_are_skipped_on_a_target_without_quotas(tmp_path: Path) -> None:
    # The extended engine, without --quotas. A run that checked nothing is no pass: exit 1.
    stdout, results = _quota_run(tmp_path, code=1)
    assert results["target"]["capabilities"] == []
    assert {s["id"]: s["outcome"] for s in results["scenarios"]} == {
        BURST: "skipped",
        KEEPS_TIMEOUT: "skipped",
        EXECUTION: "skipped",
    }
    assert results["summary"]["skipped"] == 3 and results["summary"]["pass"] == 0
    reason = "needs a target with quotas (swfbench conform --quotas aws)"
    assert f"{'skipped':<15} {BURST} ({reason})\n" in stdout
    assert ": 3 skipped\n" in stdout
    assert results["status"]["checked"] == 0 and not results["status"]["whole"]


@pytest.mark.slow
def test_heartbeats_past_the_account_bucket_are_throttled_on_both_clocks(
    tmp_path: Path,
) -> None:
    stdout, virtual = _quota_run(tmp_path / "virtual", "--quotas", "aws", "--clock", "virtual")
    assert virtual["target"]["capabilities"] == ["quotas", "virtual_clock"]
    assert {s["id"]: s["outcome"] for s in virtual["scenarios"]} == {
        BURST: "pass",
        KEEPS_TIMEOUT: "pass",
        EXECUTION: "pass",
    }
    # No refill on a virtual clock: 700 + 700 heartbeats, then exactly the 2001st is throttled.
    step = _burst_step(virtual)
    assert step["iteration"] == 600
    assert step["actual"]["error"] == {
        "operation": "RecordActivityTaskHeartbeat",
        "code": "ThrottlingException",
        "message": "Rate exceeded",
        "http_status": 400,
    }
    assert ": 3 pass\n" in stdout

    # On the real clock the bucket refills while the burst runs: the burst must outrun the
    # refill. SWF's 160/s is outrun by any idle machine but not always by one whose cores are
    # busy (a burst of 190 calls/s was seen here): a refill of 20/s is outrun by a slow one too.
    _, real = _quota_run(tmp_path / "real", "--quotas", "aws", "--account-refill", "20")
    assert real["target"]["capabilities"] == ["quotas"]
    assert {s["id"]: s["outcome"] for s in real["scenarios"]} == {
        BURST: "pass",
        KEEPS_TIMEOUT: "skipped",  # deterministic on a virtual clock only
        EXECUTION: "skipped",  # likewise
    }
    # A few more than on the virtual clock get through: those the refill brought back.
    assert 600 <= _burst_step(real)["iteration"] < 4000
