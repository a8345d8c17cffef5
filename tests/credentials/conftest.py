"""Fixtures of the credentials tests: the marker environment and an engine for the endpoint
target (behind a recording relay per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import made_once
from swfbench.embedded import EmbeddedServer

from .markers import MarkerEnvironment, marker_environment


@pytest.fixture(scope="session")
def marker_env(tmp_path_factory: pytest.TempPathFactory) -> MarkerEnvironment:
    # One for both test processes: the sweep's runs, made by one of them, use it, and either may
    # judge them (the canary must be the one those runs would have touched).
    return made_once(tmp_path_factory, "markers", marker_environment)


@pytest.fixture(scope="session")
def endpoint_engine() -> Iterator[EmbeddedServer]:
    """The engine behind the endpoint target's relays (as `swfbench serve` runs it)."""
    with EmbeddedServer(engine="swfbench") as server:
        yield server
