"""Heartbeat throttling with SWF's token buckets (fact sheet, "Quotas")."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import Engine, Flow, epoch

ROOT = Path(__file__).resolve().parents[2]
THROTTLED = {
    "__type": "com.amazon.coral.availability#ThrottlingException",
    "message": "Rate exceeded",
}


def _beat(engine: Engine, token: str) -> int:
    response = engine.swf_raw("RecordActivityTaskHeartbeat", {"taskToken": token})
    if response.status != 200:
        assert response.status == 400
        assert response.json() == THROTTLED
    return response.status


def test_engine_reports_aws_quotas(start_engine: Callable[..., Engine]) -> None:
    engine = start_engine("--quotas", "aws")
    info = engine.raw("GET", "/swfbench/engine").json()
    assert info["quotas"] == {
        "accountBucket": 2000,
        "accountRefill": 160,
        "executionBucket": 1000,
        "executionRefill": 1000,
    }


def test_account_bucket_throttles_and_refills_on_engine_time(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine(
        "--clock", "virtual", "--quotas", "aws", "--account-bucket", "5", "--account-refill", "2"
    )
    swf = engine.client()
    Flow.register(swf)
    token = Flow(swf).start().start_activity("a1")

    assert [_beat(engine, token) for _ in range(6)] == [200] * 5 + [400]
    engine.advance(1)  # two tokens
    assert [_beat(engine, token) for _ in range(3)] == [200, 200, 400]


def test_execution_bucket_is_per_execution(start_engine: Callable[..., Engine]) -> None:
    engine = start_engine(
        "--clock",
        "virtual",
        "--quotas",
        "aws",
        "--execution-bucket",
        "3",
        "--execution-refill",
        "1",
    )
    swf = engine.client()
    Flow.register(swf)
    first = Flow(swf, "wf-1").start().start_activity("a1")
    second = Flow(swf, "wf-2").start().start_activity("a1")

    assert [_beat(engine, first) for _ in range(4)] == [200, 200, 200, 400]
    assert _beat(engine, second) == 200


def test_throttled_heartbeat_does_not_reset_the_heartbeat_clock(
    start_engine: Callable[..., Engine],
) -> None:
    engine = start_engine(
        "--clock", "virtual", "--quotas", "aws", "--account-bucket", "1", "--account-refill", "0.01"
    )
    swf = engine.client()
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    assert _beat(engine, token) == 200
    beat = engine.now()
    engine.advance(5)
    assert _beat(engine, token) == 400

    engine.advance(6)

    timed_out = flow.events("ActivityTaskTimedOut")
    assert len(timed_out) == 1
    assert epoch(timed_out[0]) == pytest.approx(beat + 10, abs=0.01)


def test_no_quotas_by_default(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    token = Flow(swf).start().start_activity("a1")
    assert engine.raw("GET", "/swfbench/engine").json()["quotas"] is None
    assert {_beat(engine, token) for _ in range(50)} == {200}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--account-refill", "0"], "account refill must be above 0"),
        (["--account-refill", "-5"], "account refill must be above 0"),
        (["--execution-refill", "nan"], "execution refill must be above 0"),
        (["--account-bucket", "0.5"], "account bucket must hold from 1"),
        (["--execution-bucket", "inf"], "execution bucket must hold from 1"),
    ],
)
def test_the_engine_refuses_a_bucket_no_quota_can_have(flags: list[str], message: str) -> None:
    # A negative or NaN refill would throttle every heartbeat, or none, without a word.
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.engine", "--port", "0", "--quotas", "aws", *flags],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr.strip().splitlines()[-1] and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["load", "conform", "heartbeat", "demo"])
def test_commands_refuse_such_a_bucket_before_starting_anything(
    command: str, tmp_path: Path
) -> None:
    args = {
        "load": ["--fleet", str(ROOT / "scenarios/load/steady.yaml"), "--run-time", "2"],
        "conform": [],
        "heartbeat": ["--task-token", "t"],
        "demo": [],
    }[command]
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", command, *args, "--quotas", "aws",
         "--account-refill", "-1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 252, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "account refill must be above 0" in line
    assert not (tmp_path / "reports").exists()
