"""Property-based fuzz of every parser: fleet profiles, conformance scenarios, gates, auth files,
known-deviation lists, quota files, --cli-input-json and --cli-input-yaml, and results files
(through `swfbench report` and `swfbench gate`). Each gets documents near valid ones (a valid
seed with values replaced, deleted or added), random data, nasty text and raw bytes. Whatever
comes in, the outcome is a value or one line with a documented exit code, in seconds.

Derandomized: the same examples every run (no flaky test); the nastiest inputs found are kept in
tests/fuzz_corpus/ and replayed by test_corpus.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from swfbench.conformance.deviations import load_deviations
from swfbench.conformance.scenario import load_scenario
from swfbench.gates import load_gates
from swfbench.identities import load_auth_file
from swfbench.load.profile import load_profile

from .harness import run_cli, run_parser
from .strategies import document

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def seed(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


PROFILE = seed("scenarios/load/steady.yaml")
SCENARIO = seed("scenarios/conformance/cancellation/started_task_waits_for_worker.yaml")
GATES = seed("gates/ci.yaml")
DEVIATIONS = seed("conformance/targets/localstack.yaml")
QUOTAS = seed("src/swfbench/data/swf_quotas.yaml")
AUTH = {
    "default_identity": "admin",
    "max_skew_s": 900,
    "identities": {
        "admin": {
            "access_key_id": "AKIAFUZZADMIN0000001",
            "secret_access_key": "fuzz-secret",
            "account_id": "123456789012",
            "policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["swf:*"],
                            "Resource": "arn:aws:swf:*:*:/domain/x",
                            "Condition": {"StringEquals": {"swf:taskList.name": ["a"]}},
                        }
                    ],
                }
            ],
        },
        "worker": {
            "access_key_id": "ASIAFUZZWORKER000001",
            "secret_access_key": "fuzz-secret-2",
            "session_token": "fuzz-token",
            "account_id": "123456789012",
            "policies": ['{"Version": "2012-10-17", "Statement": []}'],
        },
    },
}


def fuzz_file(tmp_path: Path, name: str, content: bytes, parse: Callable[[Path], object]) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    run_parser(lambda: parse(path)).check(content[:300])


@FUZZ
@given(content=document(PROFILE))
def test_profiles(tmp_path: Path, content: bytes) -> None:
    fuzz_file(tmp_path, "profile.yaml", content, load_profile)


@FUZZ
@given(content=document(SCENARIO))
def test_scenarios(tmp_path: Path, content: bytes) -> None:
    fuzz_file(tmp_path, "scenarios/conformance/fuzz/case.yaml", content, load_scenario)


@FUZZ
@given(content=document(GATES))
def test_gates(tmp_path: Path, content: bytes) -> None:
    fuzz_file(tmp_path, "gates.yaml", content, load_gates)


@FUZZ
@given(content=document(AUTH))
def test_auth_files(tmp_path: Path, content: bytes) -> None:
    fuzz_file(tmp_path, "auth.yaml", content, load_auth_file)


@FUZZ
@given(content=document(DEVIATIONS))
def test_known_deviations(tmp_path: Path, content: bytes) -> None:
    fuzz_file(tmp_path, "deviations.yaml", content, load_deviations)


@FUZZ
@given(content=document(QUOTAS))
def test_plan_quota_files(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "quotas.yaml").write_bytes(content)
    outcome = run_cli(
        ["plan", "--workers", "100", "--interval", "10", "--quotas", "quotas.yaml"], tmp_path
    )
    outcome.check(content[:300])


@FUZZ
@given(content=document({"taskToken": "token", "details": "50%"}, "json"))
def test_cli_input_json(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "input.json").write_bytes(content)
    args = ["heartbeat", "--generate-cli-skeleton", "output", "--cli-input-json"]
    run_cli([*args, "file://input.json"], tmp_path).check(content[:300])
    text = content.decode("utf-8", "replace").replace("\x00", "")
    run_cli([*args, text], tmp_path).check(text[:300])


@FUZZ
@given(content=document({"taskToken": "token", "details": "50%"}))
def test_cli_input_yaml(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "input.yaml").write_bytes(content)
    args = ["heartbeat", "--generate-cli-skeleton", "output", "--cli-input-yaml"]
    run_cli([*args, "file://input.yaml"], tmp_path).check(content[:300])


@pytest.fixture(scope="module")
def plan_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("plan")
    outcome = run_cli(["plan", "--workers", "300", "--interval", "5", "--save", "p.json"], where)
    assert outcome.code == 0, outcome.stderr
    loaded: dict[str, Any] = json.loads((where / "p.json").read_text())
    return loaded


def _results_seeds() -> list[str]:
    return ["plan", "load"]


@pytest.fixture(params=_results_seeds())
def results_seed(
    request: pytest.FixtureRequest, plan_results: dict[str, Any], load_run: Any
) -> dict[str, Any]:
    if request.param == "plan":
        return plan_results
    loaded: dict[str, Any] = json.loads((load_run.run_dir / "results.json").read_text())
    return loaded


def test_results_files(tmp_path: Path, results_seed: dict[str, Any]) -> None:
    """`swfbench report` and `swfbench gate` on results with fields missing, mistyped or
    replaced (once TypeError, KeyError and jinja2's UndefinedError tracebacks)."""

    @FUZZ
    @given(content=document(results_seed, "json"))
    def fuzz(content: bytes) -> None:
        (tmp_path / "results.json").write_bytes(content)
        reports = ["--reports-dir", "reports"]
        run_cli(["report", "results.json", *reports], tmp_path).check(content[:300])
        gates = str(ROOT / "gates" / "ci.yaml")
        run_cli(["gate", "results.json", "--gates", gates], tmp_path).check(content[:300])

    fuzz()
