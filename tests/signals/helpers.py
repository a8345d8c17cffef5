"""A real `swfbench` process, signalled as a terminal or a supervisor would, and its process tree.

The run starts in a session of its own, as a terminal's foreground job: SIGINT to its process
group is what Ctrl-C sends. While it runs, a thread records every process of its tree from /proc
(parent links, with each process's start time, so a pid reused later is not mistaken for one of
ours); once it has ended, none of them may be alive. Phases are waited for by polling the run's
output, never by sleeping a guessed amount.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swfbench.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
SWFBENCH = [sys.executable, "-m", "swfbench"]  # the console script's entry (swfbench.__main__)
PHASE_TIMEOUT_S = 120.0
"""Generous: a phase only has to come, however loaded the machine is."""


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


Process = tuple[int, str]
"""A pid and its start time (clock ticks since boot): one process, even if the pid is reused."""


def _identity(pid: int) -> Process | None:
    fields = _stat(pid)
    return (pid, fields[19]) if fields else None


def alive(process: Process) -> bool:
    fields = _stat(process[0])
    return fields is not None and fields[19] == process[1] and fields[0] not in ("Z", "X")


def children(parent: int) -> list[int]:
    """The children of every thread of `parent` (Linux's /proc/PID/task/TID/children)."""
    found = []
    for task in Path(f"/proc/{parent}/task").glob("*"):
        try:
            found += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def process_group(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[2]) if fields else None


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Run:
    """One `swfbench ...` process: its output, its exit code, every process of its tree."""

    def __init__(self, args: list[str], tmp_path: Path, *, env: dict[str, str] | None = None):
        self.log_path = tmp_path / "output.txt"
        self.reports = tmp_path / "reports"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*SWFBENCH, *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self.pid = self.process.pid
        self.tree: dict[int, Process] = {}
        """Every process of the run seen so far, by pid."""
        self.command_lines: dict[int, str] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._record()
        self._watcher.start()

    def _record(self) -> None:
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            identity = _identity(pid)
            if identity is None or not alive(identity):
                continue
            self.tree.setdefault(pid, identity)
            if self.tree[pid] == identity:
                # Read again each time: a child seen between its fork and its exec still
                # shows its parent's command line.
                self.command_lines[pid] = command_line(pid) or self.command_lines.get(pid, "")
            todo += children(pid)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self._record()

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        """Poll until `predicate` holds; fail if the run ends first or it never comes."""
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while not predicate():
            assert self.process.poll() is None, f"the run ended before {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} in {PHASE_TIMEOUT_S} s:\n{self.output}"
            time.sleep(0.02)
        self._record()

    def wait_for_output(self, text: str) -> None:
        self.wait_for(lambda: text in self.output, repr(text))

    def wait_for_child(self, fragment: str) -> int:
        """The pid of a child of swfbench whose command line holds `fragment`, once it runs
        (not a process that child forks: those share its command line)."""
        found: list[int] = []

        def running() -> bool:
            self._record()
            found[:] = [
                pid
                for pid in children(self.pid)
                if pid in self.tree and fragment in command_line(pid)
            ]
            return bool(found)

        self.wait_for(running, f"a child running {fragment!r}")
        return found[0]

    def ctrl_c(self) -> None:
        """What a terminal sends on Ctrl-C: SIGINT to the whole foreground process group."""
        self._record()
        os.killpg(self.pid, signal.SIGINT)

    def send(self, signum: int) -> None:
        """A signal to the swfbench process alone, as `kill` or a supervisor sends it."""
        self._record()
        os.kill(self.pid, signum)

    def finish(self, timeout: float = PHASE_TIMEOUT_S) -> int:
        """The exit code, once the run has ended and no process of its tree is left."""
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self._stop.set()
            self._watcher.join()
            self._log.close()
        deadline = time.monotonic() + 15
        while True:
            left = [pid for pid, identity in self.tree.items() if alive(identity)]
            if not left:
                return code
            if time.monotonic() > deadline:
                for pid in left:  # leave the machine clean for the next test, then fail
                    os.kill(pid, signal.SIGKILL)
                lines = "\n".join(f"{pid}: {self.command_lines[pid][:160]}" for pid in left)
                raise AssertionError(f"processes of the run still alive after it ended:\n{lines}")
            time.sleep(0.05)

    def results(self) -> dict[str, Any]:
        (path,) = self.reports.glob("*/results.json")
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def run_dirs(self) -> list[Path]:
        return (
            sorted(p for p in self.reports.glob("*") if p.is_dir()) if self.reports.exists() else []
        )


def assert_interrupted(run: Run, code: int, by: str) -> dict[str, Any]:
    """Exit 130, no traceback, and results marked interrupted by `by`."""
    assert code == ExitCode.INTERRUPTED, run.output[-3000:]
    assert "Traceback" not in run.output, run.output[-3000:]
    results = run.results()
    status = results["status"]
    assert (status["state"], status["by"], status["whole"]) == ("interrupted", by, False), status
    return results
