"""Micro-benchmarks of the per-heartbeat work done in the load generator's process.

Times are only compared as ratios to `test_calibration`, measured in the same run: the ratio
stays put when the whole machine is slower or busier, and moves when a hot path itself changes.
`compare.py` does the comparison; `make bench` runs both.

Inputs are fixed (seeded random numbers, a fixed clock), so every run times the same work.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from swfbench.load.histogram import Histogram
from swfbench.load.profile import MULTIBYTE_ALPHABET, DetailsSpec, load_profile
from swfbench.load.sigv4 import Signer
from swfbench.load.transport import OPERATION, build_request

Benchmark = Callable[..., Any]
ROOT = Path(__file__).resolve().parents[2]
NOW = 1_764_000_000.0
"""A fixed instant: the signing key is derived once, as it is for a whole UTC day."""
TOKEN = "AAAAKgAAAAIAAAAAAAAAA" + "x" * 1003
"""A task token at SWF's maximum length (1024 characters)."""
BATCH = 32
"""Calls per timed round for the details generators, so one round is the same work every time."""
DETAILS_ROUNDS = 2000
"""Rounds of the details benchmarks, fixed: rewinding the generator untimed needs pedantic mode."""

# About a second of rounds per benchmark (thousands of rounds), of which compare.py keeps the
# fastest: a busy moment of the shared machine slows some rounds, rarely all of them. Warm-up
# fills caches and derives the signing key before timing starts.
pytestmark = pytest.mark.benchmark(min_rounds=50, max_time=1.0, warmup=True, warmup_iterations=1000)

_CALIBRATION_KEY = b"swfbench-calibration-key-32bytes"
_CALIBRATION_BUFFER = bytes(range(256)) * 4


def calibration_workload() -> int:
    """Interpreter speed at the kind of work the hot paths do: an HMAC-SHA256 of 1 KiB, string
    formatting and slicing, dict updates and integer arithmetic in a Python loop."""
    digest = hmac.new(_CALIBRATION_KEY, _CALIBRATION_BUFFER, hashlib.sha256).hexdigest()
    table: dict[str, int] = {}
    for i in range(64):
        key = f"{digest[i % 32 : i % 32 + 8]}:{i & 7}"
        table[key] = table.get(key, 0) + (i * i >> 3)
    return sum(table.values())


def _signer(token: str | None) -> Signer:
    return Signer(
        endpoint_url="https://swf.us-east-1.amazonaws.com",
        region="us-east-1",
        credentials=lambda: ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        clock=lambda: NOW,
    )


def _scenario_details() -> dict[str, DetailsSpec]:
    """The details generators the shipped load profiles use, one per kind."""
    specs: dict[str, DetailsSpec] = {}
    for path in sorted((ROOT / "scenarios" / "load").glob("*.yaml")):
        spec = load_profile(path).details
        specs.setdefault(spec.kind, spec)
    return dict(sorted(specs.items()))


DETAILS = _scenario_details()


def test_calibration(benchmark: Benchmark) -> None:
    assert benchmark(calibration_workload) > 0


@pytest.mark.parametrize(
    "session_token", [None, "FwoGZXIvYXdzEXAMPLETOKEN" * 10], ids=["keys", "session-token"]
)
def test_sigv4_headers(benchmark: Benchmark, session_token: str | None) -> None:
    signer = _signer(session_token)
    body, _ = build_request(signer, TOKEN, "50.0%", NOW)
    headers = benchmark(signer.headers, OPERATION, body, NOW)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


@pytest.mark.parametrize(
    "details",
    ["50.0%", "".join(random.Random(3).choices(MULTIBYTE_ALPHABET, k=200))],
    ids=["progress", "multibyte"],
)
def test_build_request(benchmark: Benchmark, details: str) -> None:
    signer = _signer(None)
    body, headers = benchmark(build_request, signer, TOKEN, details, NOW)
    assert body.startswith(b'{"taskToken":"AAAA') and "Authorization" in headers


@pytest.mark.parametrize("kind", list(DETAILS))
def test_details_make(benchmark: Benchmark, kind: str) -> None:
    spec = DETAILS[kind]
    rng = random.Random(7)
    start = rng.getstate()
    progress = [100.0 * i / BATCH for i in range(BATCH)]

    def rewind() -> None:
        rng.setstate(start)  # the same random lengths and characters every round, untimed

    def batch() -> list[str | None]:
        return [spec.make(p, rng) for p in progress]

    made = benchmark.pedantic(batch, setup=rewind, rounds=DETAILS_ROUNDS, warmup_rounds=20)
    assert len(made) == BATCH


def _latencies_us(count: int, seed: int) -> list[int]:
    """Heartbeat latencies around 2 ms with a long tail: exact and log-linear buckets both."""
    rng = random.Random(seed)
    return [round(rng.lognormvariate(7.6, 0.9)) for _ in range(count)]


def test_histogram_record(benchmark: Benchmark) -> None:
    values = [*_latencies_us(254, 11), -250, -3]  # timeouts that fired early are negative
    histogram = Histogram()

    def record_all() -> None:
        for value in values:
            histogram.record(value)

    benchmark(record_all)
    assert histogram.count % len(values) == 0


def test_histogram_merge(benchmark: Benchmark) -> None:
    worker = Histogram()
    for value in _latencies_us(20_000, 13):
        worker.record(value)
    total = Histogram()
    benchmark(total.merge, worker)
    assert total.count % worker.count == 0
