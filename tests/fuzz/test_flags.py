"""Property-based fuzz of every command's flags: each flag gets numbers out of every range,
empty and control-character strings, paths and huge values, a few at a time. Nothing is
started: commands that talk to SWF point at a local server that answers every call 404, so
valid flags end at the first call (no embedded engine, no Locust, no real SWF: --aws,
--worker and --master are never drawn). The outcome is judged as for the parsers: a
documented exit code (never 255), at most a few lines on stderr, no traceback, within
seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import not_swf_endpoint, run_cli
from .strategies import NASTY_TEXT

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
TARGET = [
    "--region",
    "--identity",
    "--auth",
    "--endpoint-url",
    "--connect-timeout",
    "--read-timeout",
]
ENGINE = [
    *("--engine", "--quotas", "--clock", "--account-refill", "--account-bucket"),
    *("--execution-bucket", "--execution-refill", "--max-closed-executions"),
    *("--max-connections", "--idle-timeout"),
]
RUN = [
    *("--send-mode", "--processes", "--reports-dir", "--run-id", "--progress", "--locust-args"),
    "--audit-time-limit",
]
FLAGS: dict[str, tuple[list[str], list[str]]] = {
    # command: (fixed arguments, flags drawn)
    "heartbeat": (
        ["heartbeat", "--endpoint-url", "ENDPOINT"],
        [
            *("--task-token", "--details", "--cli-input-json", "--cli-input-yaml"),
            *("--generate-cli-skeleton", "--output", "--query", "--color", "--ca-bundle"),
            *("--cli-read-timeout", "--cli-connect-timeout", "--profile"),
            *TARGET,
        ],
    ),
    "activity": (
        ["activity", "start", "--endpoint-url", "ENDPOINT"],
        [
            *("--heartbeat-timeout", "--start-to-close-timeout", "--schedule-to-start-timeout"),
            *("--schedule-to-close-timeout", "--domain"),
            *TARGET,
        ],
    ),
    "load": (
        ["load", "--fleet", "PROFILE", "--endpoint-url", "ENDPOINT"],
        [
            *("--fleet", "--profile", "--users", "--spawn-rate", "--run-time", "--gates"),
            *("--baseline", "--stop-after"),
            *("--expect-workers", "--master-port", "--master-bind-host", "--master-host"),
            *RUN,
            *TARGET,
            *ENGINE,
        ],
    ),
    "capacity": (
        ["capacity", "--endpoint-url", "ENDPOINT", "--step-time", "4", "--max-rate", "50"],
        [
            *("--slo", "--start-rate", "--step-rate", "--max-rate", "--step-time", "--interval"),
            "--spawn-rate",
            *RUN,
            *TARGET,
            *ENGINE,
        ],
    ),
    "conform": (
        ["conform", "--endpoint-url", "ENDPOINT", "no-such-scenarios"],
        [
            *("-k", "--known-deviations", "--timing-slack", "--reports-dir", "--concurrency"),
            *("--workers", "--restricted-profile"),
            *TARGET,
        ],
    ),
    "gate": (
        ["gate", "RESULTS", "--gates", "GATES"],
        ["--results", "--gates", "--baseline", "--junit", "--reports-dir", "--allow-incomplete"],
    ),
    "report": (["report", "RESULTS"], ["--reports-dir"]),
    # Never a valid --port: a valid one would start the server and wait for Ctrl-C.
    "serve": (["serve"], ENGINE),
}
PLAN_FLAGS = [
    *("--workers", "--interval", "--jitter", "--start", "--activities-per-execution"),
    *("--heartbeat-timeout", "--quotas-file", "--quotas", "--account-bucket", "--account-refill"),
    *(
        "--execution-bucket",
        "--execution-refill",
        "--duration",
        "--seed",
        "--output",
        "--json",
        "--save",
    ),
]
VALUES = st.one_of(
    NASTY_TEXT,
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=20),
)
INVALID_PORTS = VALUES.filter(
    lambda v: not (v.strip().isascii() and v.strip().isdigit() and int(v) <= 65535)
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with not_swf_endpoint() as url:
        yield url


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, endpoint: str) -> dict[str, str]:
    where = tmp_path_factory.mktemp("flags")
    profile = where / "profile.yaml"
    profile.write_text(
        yaml.safe_dump({"name": "fuzz", "run_time_s": 2, "fleet": {"workers": 1, "spawn_rate": 1}})
    )
    plan = run_cli(["plan", "--workers", "10", "--interval", "5", "--save", "r.json"], where)
    assert plan.code == 0, plan.stderr
    return {
        "PROFILE": str(profile),
        "RESULTS": str(where / "r.json"),
        "GATES": str(ROOT / "gates" / "ci.yaml"),
        "ENDPOINT": endpoint,
    }


@st.composite
def argv(draw: st.DrawFn, fixed: list[str], flags: list[str]) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(flags), min_size=1, max_size=4))
    drawn: list[str] = []
    for flag in chosen:
        value = draw(VALUES)
        # `--flag=value` lets values that start with a dash through as values.
        drawn += [f"{flag}={value}"] if draw(st.booleans()) else [flag, value]
    return [*fixed, *drawn]


@pytest.mark.parametrize("command", sorted(FLAGS))
def test_command_flags(command: str, files: dict[str, str], tmp_path: Path) -> None:
    fixed, flags = FLAGS[command]
    fixed = [files.get(arg, arg) for arg in fixed]
    if command == "serve":
        fixed = [*fixed, "--port"]

    @FUZZ
    @given(args=argv(fixed, flags), port=INVALID_PORTS)
    def fuzz(args: list[str], port: str) -> None:
        if command == "serve":
            args = [*args[:2], port, *args[2:]]
        run_cli(args, tmp_path).check(args)

    fuzz()


@st.composite
def plan_argv(draw: st.DrawFn) -> list[str]:
    args = ["plan", "--workers", "100", "--interval", "10"]
    for flag in draw(st.lists(st.sampled_from(PLAN_FLAGS), min_size=1, max_size=4)):
        args.append(f"{flag}={draw(VALUES)}")
    return args


@FUZZ
@given(args=plan_argv())
def test_plan_flags(args: list[str], tmp_path: Path) -> None:
    run_cli(args, tmp_path).check(args)
