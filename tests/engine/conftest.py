"""Fixtures that run the engine as a real subprocess and talk to it over HTTP with boto3."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .helpers import Engine, launch, stop


@pytest.fixture
def start_engine() -> Iterator[Callable[..., Engine]]:
    """Start engines with the given flags; every one is stopped at teardown."""
    started: list[Engine] = []

    def start(*args: str, nofile: int | None = None) -> Engine:
        engine = launch(*args, nofile=nofile)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        stop(engine)


@pytest.fixture
def engine(start_engine: Callable[..., Engine]) -> Engine:
    """An engine on the real clock, without quotas."""
    return start_engine()


@pytest.fixture
def virtual_engine(start_engine: Callable[..., Engine]) -> Engine:
    """An engine on a virtual clock."""
    return start_engine("--clock", "virtual")
