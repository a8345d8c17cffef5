"""The envelope every results file shares: what ran, against what, when, by which swfbench.

Reports, gates and `swfbench report` read results files by their `kind`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from swfbench import __version__
from swfbench.errors import ReportsError, UsageError
from swfbench.inputs import load_json

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


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""A run id names its folder under the reports directory: one plain path component."""


def new_run_id(kind: str) -> str:
    """Time, kind and a random suffix; the kind (a profile's name) kept to what a folder name
    may hold, so no name such as `../../x` leads outside the reports directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", kind).strip("-")[:40] or "run"
    return f"{stamp}-{label}-{uuid.uuid4().hex[:6]}"


def check_run_id(run_id: str, source: str = "--run-id") -> str:
    """`run_id` if it is one plain folder name (letters, digits, `.`, `_`, `-`; at most 128,
    not starting with a dot); a usage error otherwise."""
    if not RUN_ID.fullmatch(run_id):
        raise UsageError(
            f"{source}: {run_id[:60]!r} is not a run id: use letters, digits, '.', '_' and '-' "
            "(at most 128, not starting with '.' or '-'), so the run stays in its reports directory"
        )
    return run_id


def run_id_flag(value: str) -> str:
    """--run-id, checked when the command line is parsed."""
    try:
        return check_run_id(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--run-id: ")) from None


def claim_run_dir(reports_dir: Path, run_id: str) -> Path:
    """The folder of a new run. A folder that already holds a run is refused, never written
    over (its report and junit.xml would mix with this run's)."""
    run_dir = reports_dir / check_run_id(run_id)
    try:
        taken = run_dir.is_dir() and any(run_dir.iterdir())
    except OSError:
        taken = False  # a folder that cannot be read: the write check says why, in one line
    if taken:
        raise UsageError(
            f"--run-id {run_id}: {run_dir} already holds a run: choose another --run-id, or "
            "move that folder away"
        )
    return run_dir


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
    if path.is_dir() or not path.name:
        raise ReportsError(f"cannot write {path}: it is a directory; name a file")
    if path.exists() and not path.is_file():
        # A device or a link to one (--junit /dev/stdout): written to, never replaced by a
        # file of ours (as root, replacing /dev/full would leave a file in its place).
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
        except OSError as exc:
            raise ReportsError(f"cannot write {path}: {_problem(exc)}") from None
        return
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
    data = load_json(path, finite=False)
    if not isinstance(data, dict) or "kind" not in data or "swfbench_version" not in data:
        raise UsageError(f"{path} is not a swfbench results file (no kind and swfbench_version)")
    return data
