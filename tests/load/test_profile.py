"""Fleet profiles: the ready ones load; mistakes are one line naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from swfbench.cli import main
from swfbench.errors import ExitCode, UsageError
from swfbench.load.profile import load_profile

READY = Path(__file__).parents[2] / "scenarios" / "load"


@pytest.mark.parametrize("name", ["steady", "ramp", "herd", "cancel-storm", "silent"])
def test_ready_profiles_load_and_fit_in_a_minute(name: str) -> None:
    profile = load_profile(READY / f"{name}.yaml")
    assert profile.name == name
    assert profile.run_time_s < 60
    assert profile.max_workers <= 50


def test_ready_profiles_cover_their_features() -> None:
    assert load_profile(READY / "herd.yaml").synchronized_start
    assert load_profile(READY / "ramp.yaml").shape is not None
    assert dict(load_profile(READY / "silent.yaml").outcomes)["silent"] > 0
    assert dict(load_profile(READY / "cancel-storm.yaml").outcomes)["cancel"] > 0


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"workerz": 3}, "(top level)", "unknown key 'workerz'"),
        ({"heartbeat": {"interval": {"mean_s": -1}}}, "heartbeat.interval.mean_s", "-1"),
        (
            {"heartbeat": {"details": {"kind": "random", "max_length": 3000}}},
            "heartbeat.details.max_length",
            "2048",
        ),
        (
            {"heartbeat": {"details": {"kind": "fixed", "text": "x" * 2049}}},
            "heartbeat.details.text",
            "2048",
        ),
        ({"fleet": {"shape": {"kind": "ramp"}}}, "fleet.shape.end", "required"),
        ({"heartbeat": {"interval": {"mean_s": 1, "jitter_s": 0.5}}}, "jitter_s", "uniform"),
        (
            {
                "outcomes": {"silent": 1},
                "activity": {"timeouts": {"heartbeat": "NONE", "start_to_close": "NONE"}},
            },
            "outcomes.silent",
            "timeout",
        ),
        # YAML's .inf and .nan are numbers to the schema; they once reached the workers and
        # failed there, thousands of times, as ZeroDivisionError.
        (
            {"activity": {"duration": {"distribution": "exponential", "mean_s": float("inf")}}},
            "activity.duration.mean_s",
            "finite",
        ),
        (
            {"heartbeat": {"interval": {"mean_s": float("nan")}}},
            "heartbeat.interval.mean_s",
            "finite",
        ),
        ({"outcomes": {"complete": 1, "fail": float("inf")}}, "outcomes.fail", "finite"),
        ({"client": {"read_timeout_s": float("inf")}}, "client.read_timeout_s", "finite"),
        ({"client": {"read_timeout_s": 0}}, "client.read_timeout_s", "0"),
    ],
)
def test_bad_profile_is_one_line_naming_file_and_field(
    write_profile: Callable[..., Path], overrides: dict[str, object], field: str, words: str
) -> None:
    path = write_profile(**overrides)
    with pytest.raises(UsageError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert field in message
    assert words in message


def test_bad_profile_exits_252_before_any_target_starts(
    write_profile: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_profile(heartbeat={"interval": {"mean_s": -2}})
    assert main(["load", "--fleet", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert str(path) in err and "heartbeat.interval.mean_s" in err


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_profile(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", "utf-8")
    with pytest.raises(UsageError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_profile(broken)
