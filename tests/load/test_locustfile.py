"""Plain `locust -f loadtests/locustfile.py` works too, with the fleet from an env var."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from swfbench.embedded import EmbeddedServer

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
