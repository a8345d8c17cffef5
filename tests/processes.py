"""Process checks shared by the lifecycle tests: which processes a test started are still alive.

A test marks what it starts with `SWFBENCH_TEST_MARK` in the environment; every child inherits
it, so the test can find all of them in /proc, whatever their names.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def processes_marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries `mark` (ours and our children's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"SWFBENCH_TEST_MARK={mark}".encode() in environ.split(b"\0") and alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
