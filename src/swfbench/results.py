"""The envelope every results file shares: what ran, against what, when, by which swfbench.

Reports, gates and `swfbench report` read results files by their `kind`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from swfbench import __version__
from swfbench.errors import ReportsError, UsageError

RESULTS_FILE = "results.json"

State = Literal["complete", "interrupted", "aborted"]
STATES: tuple[State, ...] = ("complete", "interrupted", "aborted")


@dataclass(kw_only=True)
class RunStatus:
    """How a run ended, recorded in every results file as `status`.

    Only a whole run earns a verdict: `complete`, nothing `missing`, and at least one thing
    `checked` (a heartbeat answered, a scenario run, a step judged). Anything else fails every
    gate unless the user explicitly allows incomplete runs.
    """

    state: State = "complete"
    by: str | None = None
    """Who interrupted the run: SIGINT, SIGTERM, early_stop (a gate's sustained breach)."""
    reason: str | None = None
    """One line: why the run was aborted or interrupted."""
    missing: list[str] = field(default_factory=list)
    """What a complete run has and this one lacks: "audit failed: ...", "a Locust worker was
    lost: ...", "report not written: ..."."""
    checked: int = 0
    """What the run checked: heartbeats answered OK, scenarios run, steps judged."""

    @property
    def whole(self) -> bool:
        return self.state == "complete" and not self.missing and self.checked > 0

    def interrupt(self, by: str, reason: str | None = None) -> None:
        """Mark the run interrupted, unless it was already aborted (the worse state wins)."""
        if self.state != "aborted":
            self.state, self.by = "interrupted", by
            self.reason = self.reason or reason

    def abort(self, reason: str) -> None:
        self.state, self.reason = "aborted", reason

    def lack(self, what: str) -> None:
        if what not in self.missing:
            self.missing.append(what)

    def describe(self) -> str:
        """One line for people: "complete", "interrupted by SIGINT", "aborted: <reason>"..."""
        text: str = self.state
        if self.by:
            text += f" by {self.by}"
        if self.reason:
            text += f": {self.reason}"
        if self.state == "complete" and self.checked == 0:
            text += ", but checked nothing"
        if self.missing:
            text += f"; missing: {'; '.join(self.missing)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "by": self.by,
            "reason": self.reason,
            "missing": list(self.missing),
            "checked": self.checked,
            "whole": self.whole,
        }

    @classmethod
    def of(cls, results: dict[str, Any]) -> RunStatus:
        """The status recorded in results; a file without one (written before swfbench kept
        statuses, or by hand) cannot show it was whole, so it reads as aborted."""
        data = results.get("status")
        if not isinstance(data, dict) or data.get("state") not in STATES:
            return cls(state="aborted", reason="the results record no run status")
        missing = data.get("missing")
        checked = data.get("checked")
        return cls(
            state=data["state"],
            by=data.get("by") if isinstance(data.get("by"), str) else None,
            reason=data.get("reason") if isinstance(data.get("reason"), str) else None,
            missing=[str(m) for m in missing] if isinstance(missing, list) else [],
            checked=checked if isinstance(checked, int) and not isinstance(checked, bool) else 0,
        )


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


def _problem(exc: OSError) -> str:
    return exc.strerror or str(exc)


def make_dir(path: Path) -> Path:
    """Create a directory for results and reports; a `ReportsError` saying why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (path, *path.parents) if p.exists()), path)
        raise ReportsError(
            f"cannot use {path} for reports: {blocker} is a file, not a directory; move it or "
            "pass another --reports-dir"
        ) from None
    except OSError as exc:
        raise ReportsError(
            f"cannot create {path} for reports: {_problem(exc)}; pass another --reports-dir"
        ) from None
    return path


def check_writable(directory: Path) -> None:
    """Create `directory` and write a small file in it, before a run spends its time: a full
    disk, no permission or a file in the way is one line now, not a lost run later."""
    make_dir(directory)
    write_text(directory / ".swfbench-write-check", "x" * 4096)
    (directory / ".swfbench-write-check").unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file, and a write that fails
    (disk full, no permission) leaves no partial file behind and raises `ReportsError`."""
    make_dir(path.parent)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise ReportsError(f"cannot write {path}: {_problem(exc)}") from None


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
