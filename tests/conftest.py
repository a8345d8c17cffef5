"""Shared fixtures: one real moto server over HTTP for the session, real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from swfbench.activity import bootstrap
from swfbench.client import CallRecord, SWFClient
from swfbench.embedded import EmbeddedServer
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(engine="moto") as server:
        yield server


@pytest.fixture(scope="session")
def moto_target(moto_server: EmbeddedServer) -> Target:
    return Target(
        kind="endpoint",
        endpoint_url=moto_server.url,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def client(moto_target: Target, calls: list[CallRecord]) -> SWFClient:
    swf = SWFClient(moto_target, calls.append)
    bootstrap(swf)
    calls.clear()
    return swf
