"""The first `make demo` sat silent for about two minutes while pip installed: it says so now."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_first_make_demo_says_what_it_does_before_pip_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "-n", "demo", f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    announce = next(i for i, line in enumerate(lines) if "installing swfbench" in line)
    first_pip = next(i for i, line in enumerate(lines) if "pip install" in line)
    assert announce < first_pip and lines[announce].startswith("echo ")
    assert any(
        line.endswith("--fleet scenarios/load/steady.yaml --run-time 20s --gates gates/ci.yaml")
        for line in lines
    )
