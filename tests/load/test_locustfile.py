"""Plain `locust -f loadtests/locustfile.py` works too: the fleet from --swf-fleet or an env var,
Locust's -u, -r and -t and its web UI's start form override the fleet's size and run time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processes import wait_until
from swfbench.embedded import EmbeddedServer, free_port

LOCUSTFILE = Path(__file__).parents[2] / "loadtests" / "locustfile.py"


def test_plain_locust_with_profile_from_environment(
    load_server: EmbeddedServer, write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    profile = write_profile(name="plain", send_mode="boto3", fleet={"workers": 2})
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host",
         load_server.url, "--swf-run-time", "4", "--swf-results", str(results)],
        env={**os.environ, "SWFBENCH_FLEET": str(profile)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(results.read_text())
    assert data["send_mode"] == "boto3"
    assert data["heartbeat"]["ok"] > 0
    assert "RecordActivityTaskHeartbeat" in data["locust"]["operations"]


def test_plain_locust_without_profile_is_one_clear_line(load_server: EmbeddedServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SWFBENCH_FLEET"}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host",
         load_server.url, "-t", "3"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 252
    assert "swfbench: error: no fleet: pass --swf-fleet FILE" in done.stderr


def _locust(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args],
        capture_output=True, text=True, timeout=120, **kwargs,
    )  # fmt: skip


@pytest.mark.slow
def test_plain_locust_honours_users_spawn_rate_and_run_time(
    load_server: EmbeddedServer, write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    """`-u 3 -r 3 -t 8s` over a profile of 20 workers for 30 s once ran 20 workers for 30 s,
    and Locust logged "Run time limit set to 8 seconds" after the run. They override the
    profile's fleet now, as Locust users expect."""
    profile = write_profile(
        name="big", run_time_s=30, fleet={"workers": 20, "spawn_rate": 10},
        activity={"duration": {"mean_s": 60}, "timeouts": {"heartbeat": 10}},
    )  # fmt: skip
    results = tmp_path / "results.json"
    done = _locust(
        ["--headless", "--host", load_server.url, "--swf-fleet", str(profile), "-u", "3",
         "-r", "3", "-t", "8s", "--swf-results", str(results), "--swf-progress", "0"]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(results.read_text())
    assert data["fleet"]["overrides"] == {"users": 3, "spawn_rate": 3.0, "run_time_s": 8.0}
    assert data["fleet"]["peak_workers"] == 3
    # The fleet it got: 3 simulated workers (on 3 senders), each starting one long task.
    assert (data["fleet"]["workers_reached"], data["fleet"]["peak_senders"]) == (3, 3)
    assert data["tasks"]["started"] == 3
    # The duration it got: 8 s, not the profile's 30 (generous above: the machine may be busy).
    assert 7.5 <= data["duration_s"] < 20
    line = "3 workers, 3/s spawned, 8 s (size, spawn rate and run time overridden; profile big)"
    assert f"swfbench: fleet: {line}" in done.stdout
    assert "Run time limit set to" not in done.stderr


def test_users_scale_a_shaped_fleet_to_its_peak(
    load_server: EmbeddedServer, write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    profile = write_profile(
        name="ramped", run_time_s=30,
        fleet={"shape": {"kind": "steps", "spawn_rate": 50,
                         "steps": [{"workers": 2, "duration_s": 2}, {"workers": 10, "duration_s": 30}]}},
        activity={"duration": {"mean_s": 60}, "timeouts": {"heartbeat": 10}},
    )  # fmt: skip
    results = tmp_path / "results.json"
    done = _locust(
        ["--headless", "--host", load_server.url, "--swf-fleet", str(profile), "-u", "5",
         "-t", "5", "--swf-results", str(results), "--swf-progress", "0"]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    fleet = json.loads(results.read_text())["fleet"]
    assert (fleet["peak_workers"], fleet["workers_reached"], fleet["spawn_rate"]) == (5, 5, 50)


def test_the_web_ui_start_form_sets_the_fleet(
    load_server: EmbeddedServer, write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    """The web UI's /swarm with 5 users once started the profile's 20. Its form shows the
    profile's fleet, and what the user posts overrides it."""
    profile = write_profile(
        name="web", run_time_s=60, fleet={"workers": 20, "spawn_rate": 10},
        activity={"duration": {"mean_s": 60}, "timeouts": {"heartbeat": 10}},
    )  # fmt: skip
    results = tmp_path / "results.json"
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", load_server.url,
         "--swf-fleet", str(profile), "--web-host", "127.0.0.1", "--web-port", str(port),
         "--swf-results", str(results), "--swf-progress", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_until(lambda: _get(f"{web}/") is not None, timeout=60)
        page = _get(f"{web}/") or ""
        assert '"num_users": 20' in page and '"spawn_rate": 10' in page
        form = urllib.parse.urlencode({"user_count": 5, "spawn_rate": 5, "run_time": "4s"})
        with urllib.request.urlopen(f"{web}/swarm", data=form.encode(), timeout=10) as answer:
            assert json.loads(answer.read())["success"] is True
        assert wait_until(lambda: _stats(web)["user_count"] == 5, timeout=30)
        # The shape ends the run at the form's 4 s: Locust's state goes back to stopped.
        assert wait_until(lambda: _stats(web)["state"] == "stopped", timeout=30)
    finally:
        locust.send_signal(signal.SIGTERM)
        output, _ = locust.communicate(timeout=60)
    fleet = json.loads(results.read_text())["fleet"]
    assert fleet["overrides"]["users"] == 5 and fleet["run_time_s"] == 4.0, output[-2000:]
    assert fleet["workers_reached"] == 5


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            text: str = answer.read().decode()
            return text
    except OSError:
        return None


def _stats(web: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_get(f"{web}/stats/requests") or "{}")
    return data


def test_old_and_foreign_names_of_the_fleet_file_are_one_line(
    load_server: EmbeddedServer, write_profile: Callable[..., Path]
) -> None:
    profile = str(write_profile(name="named"))
    env = {k: v for k, v in os.environ.items() if k not in ("SWFBENCH_FLEET", "SWFBENCH_PROFILE")}
    for args, extra_env, message in (
        (["--swf-profile", profile], {}, "--swf-profile is --swf-fleet FILE"),
        (["--profile", profile], {}, "is Locust's own (a name for the run)"),
        ([], {"SWFBENCH_PROFILE": profile}, "SWFBENCH_PROFILE is SWFBENCH_FLEET"),
    ):
        done = _locust(
            ["--headless", "--host", load_server.url, "-t", "3", *args], env={**env, **extra_env}
        )
        assert done.returncode == 252, done.stderr[-2000:]
        lines = [line for line in done.stderr.splitlines() if "swfbench: error" in line]
        assert len(lines) == 1 and message in lines[0], done.stderr[-2000:]
