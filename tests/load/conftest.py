"""Fixtures for the load tests: a fresh moto server of their own (moto slows down as tasks pile
up, so the load tests do not share the session server), and small profiles written on the fly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from swfbench.activity import bootstrap
from swfbench.client import SWFClient
from swfbench.embedded import EmbeddedServer
from swfbench.load.fleet import FleetRuntime
from swfbench.load.metrics import FleetMetrics
from swfbench.load.profile import parse_profile
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

DOMAIN = "swfbench-load-tests"


@pytest.fixture(scope="module")
def load_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(engine="moto") as server:
        yield server


@pytest.fixture(scope="module")
def load_target(load_server: EmbeddedServer) -> Target:
    target = Target(
        kind="endpoint",
        endpoint_url=load_server.url,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )
    bootstrap(SWFClient(target), DOMAIN)
    return target


def profile_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "test",
        "domain": DOMAIN,
        "run_time_s": 8,
        "fleet": {"workers": 3, "spawn_rate": 10},
        "heartbeat": {"interval": {"mean_s": 0.3}},
        "activity": {"duration": {"mean_s": 1.0}, "timeouts": {"heartbeat": 5}},
        "outcomes": {"complete": 1},
    }
    data.update(overrides)
    return data


@pytest.fixture
def runtime_for(load_target: Target) -> Callable[..., FleetRuntime]:
    def make(**overrides: Any) -> FleetRuntime:
        profile = parse_profile(profile_data(**overrides), "test.yaml")
        metrics = FleetMetrics()
        return FleetRuntime(
            profile=profile,
            target=load_target,
            run_id="test",
            observer=lambda record: metrics.record_call(record.operation, record.error_code),
            metrics=metrics,
            send_mode=profile.send_mode,
        )

    return make


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[..., Path]:
    def write(**overrides: Any) -> Path:
        path = tmp_path / f"{overrides.get('name', 'test')}.yaml"
        path.write_text(yaml.safe_dump(profile_data(**overrides)), "utf-8")
        return path

    return write
