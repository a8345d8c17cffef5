"""The envelope every results file shares: what ran, against what, when, by which swfbench.

Reports, gates and `swfbench report` read results files by their `kind`.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swfbench import __version__
from swfbench.errors import UsageError

RESULTS_FILE = "results.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{kind}-{uuid.uuid4().hex[:6]}"


def git_revision() -> str | None:
    """The checkout's commit, when swfbench runs from one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def envelope(kind: str, *, started: str, target: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "run_id": new_run_id(kind),
        "swfbench_version": __version__,
        "git_revision": git_revision(),
        "started": started,
        "finished": now_iso(),
        "target": target,
    }


def write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write whole or not at all: a reader never sees half a results file."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def load_results(path: Path) -> dict[str, Any]:
    """A saved results file of any kind; a usage error when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict) or "kind" not in data or "swfbench_version" not in data:
        raise UsageError(f"{path} is not a swfbench results file (no kind and swfbench_version)")
    return data
