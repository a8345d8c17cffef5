"""Settings shared by the micro-benchmarks."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_benchmark_generate_commit_info(config: pytest.Config) -> dict[str, Any]:
    # Ratios are compared by benchmark name, never by commit: skip the git calls
    # pytest-benchmark would make to describe the working tree.
    return {}


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    # compare.py reads the summary statistics only; every round's timing would make the file
    # some 25 MB.
    for entry in output_json.get("benchmarks", []):
        entry.pop("data", None)
