"""The marker-credential sweep: every command that talks to SWF, against every non-AWS target
kind, at every log level, with marker keys and a marker profile in the environment (AWS_*
variables, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE pointing at marker files). What
reaches the wire (a recording relay in front of the endpoint target; the engine's request log
for the embedded target), everything printed and every file written are searched: no marker
may appear anywhere, every signed request carries the dummy key, and the marker profile's
credential_process never runs.

The cases run a few at a time (they mostly wait on timers); each is one test item."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import made_once
from swfbench.embedded import EmbeddedServer

from .markers import MarkerEnvironment, markers_in, markers_in_files
from .recorder import Recorder

ROOT = Path(__file__).resolve().parents[2]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
SCENARIOS = ROOT / "scenarios" / "conformance" / "heartbeat"
# A raw (hand-signed) request and a flow through boto3.
SCENARIO_FILES = [
    str(SCENARIOS / "raw_details_2049.yaml"),
    str(SCENARIOS / "after_completion.yaml"),
]
# DEBUG emits every record the higher levels do (and botocore's requests, masked); WARNING is the
# default, with swfbench's own output only. INFO, ERROR and CRITICAL print subsets of DEBUG's.
LEVELS = ("DEBUG", "WARNING")
TARGETS = ("embedded", "endpoint")
COMMANDS = ("heartbeat", "activity", "conform", "load", "capacity", "pytest", "locust")
EXPECTED = {"heartbeat": {254}, "load": {0, 1}, "capacity": {0, 1}}
"""Exit codes; 0 where not listed (heartbeat: a made-up token is UnknownResourceFault; load and
capacity: on a starved machine a 2 s run may answer no heartbeat, which its verdict fails, while
every call it made is still checked for credentials below)."""
PROFILE = {
    "name": "sweep",
    "domain": "swfbench-sweep",
    "run_time_s": 2,
    "fleet": {"workers": 2, "spawn_rate": 20},
    "heartbeat": {"interval": {"mean_s": 0.25}},
    "activity": {"duration": {"mean_s": 0.8}, "timeouts": {"heartbeat": 10}},
}
CONCURRENCY = 4


@dataclass(frozen=True)
class Case:
    command: str
    target: str
    level: str

    @property
    def id(self) -> str:
        return f"{self.command}-{self.target}-{self.level}"


CASES = [
    Case(command, target, level)
    for command in COMMANDS
    for target in TARGETS
    for level in LEVELS
    # Plain Locust only knows --host: an endpoint.
    if not (command == "locust" and target == "embedded")
]


@dataclass
class Outcome:
    returncode: int
    output: str
    wire: bytes
    files: dict[str, list[str]]


def argv(case: Case, url: str, work: Path, profile: Path) -> list[str]:
    target = ["--endpoint-url", url] if case.target == "endpoint" else []
    level = ["--log-level", case.level]
    reports = ["--reports-dir", str(work / "reports")]
    if case.command == "heartbeat":
        return [*SWFBENCH, "heartbeat", "--task-token", "sweep-token", *target, *level]
    if case.command == "activity":
        return [*SWFBENCH, "activity", "start", *target, *level]
    if case.command == "conform":
        return [*SWFBENCH, "conform", *SCENARIO_FILES, *reports, *target, *level]
    if case.command == "load":
        load = ["load", "--fleet", str(profile), "--progress", "0"]
        return [*SWFBENCH, *load, *reports, *target, *level]
    if case.command == "capacity":
        steps = ["--start-rate", "4", "--max-rate", "4", "--step-time", "4", "--interval", "0.5"]
        return [*SWFBENCH, "capacity", *steps, "--progress", "0", *reports, *target, *level]
    if case.command == "pytest":
        endpoint = [f"--swf-endpoint-url={url}"] if case.target == "endpoint" else []
        return [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts="),
            *("-o", "log_cli=true", f"--log-cli-level={case.level}", f"--log-level={case.level}"),
            *SCENARIO_FILES,
            *endpoint,
        ]
    return [
        *(sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py")),
        *("--headless", "--only-summary", "--host", url, "--swf-fleet", str(profile)),
        *("--loglevel", case.level),
    ]


def run_case(
    case: Case, engine: EmbeddedServer, marker_env: MarkerEnvironment, work: Path
) -> Outcome:
    work.mkdir(parents=True)
    profile = work / "sweep.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    request_log = work / "engine-requests.log"
    env = marker_env.with_request_log(request_log)
    with Recorder(engine.port) as relay:
        done = subprocess.run(
            argv(case, relay.url, work, profile),
            env=env,
            cwd=work if case.command == "pytest" else ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )
        wire = relay.sent
    if case.target == "embedded":
        wire = request_log.read_bytes() if request_log.exists() else b""
    return Outcome(done.returncode, done.stdout + done.stderr, wire, markers_in_files(work))


@pytest.fixture(scope="module")
def sweep(
    request: pytest.FixtureRequest,
    endpoint_engine: EmbeddedServer,
    marker_env: MarkerEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Outcome | BaseException]:
    """Every selected case, run a few at a time before the first of them is judged (once for
    both test processes: each judges the cases it is given)."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]

    def run_all(base: Path) -> dict[str, Outcome | BaseException]:
        outcomes: dict[str, Outcome | BaseException] = {}
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            futures = {
                case.id: pool.submit(run_case, case, endpoint_engine, marker_env, base / case.id)
                for case in selected
            }
            for case_id, future in futures.items():
                try:
                    outcomes[case_id] = future.result()
                except Exception as exc:  # reported by the case's own test
                    outcomes[case_id] = exc
        return outcomes

    return made_once(tmp_path_factory, "credential-sweep", run_all)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_marker_credential_anywhere(
    case: Case, sweep: dict[str, Outcome | BaseException], marker_env: MarkerEnvironment
) -> None:
    outcome = sweep[case.id]
    if isinstance(outcome, BaseException):
        raise outcome
    assert outcome.returncode in EXPECTED.get(case.command, {0}), outcome.output[-3000:]
    # The calls happened and were recorded, each signed with the dummy key and nothing else.
    assert b"Credential=swfbench/" in outcome.wire
    assert outcome.wire.count(b"Credential=") == outcome.wire.count(b"Credential=swfbench/")
    assert markers_in(outcome.wire) == []
    assert markers_in(outcome.output) == []
    assert outcome.files == {}
    if case.level == "DEBUG":
        # botocore printed its requests: their credentials masked.
        assert "Credential=****" in outcome.output
    assert not marker_env.canary.exists()
