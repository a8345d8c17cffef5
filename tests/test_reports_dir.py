"""A reports directory that cannot take the run: a regular file in the way, a read-only or
unwritable directory, a full disk. Every command says so in one line and exits 248, leaves no
`.partial` file, and a run writes its results.json before its larger pages, so its data
survives when the pages do not.

A full disk is a small tmpfs when this process may mount one (root); otherwise each file is
capped with RLIMIT_FSIZE, which fails writes the same way (EFBIG instead of ENOSPC).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from swfbench.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
PROFILE = {
    "name": "small",
    "domain": "swfbench-reports-dir",
    "run_time_s": 3,
    "fleet": {"workers": 2, "spawn_rate": 20},
    "heartbeat": {"interval": {"mean_s": 0.3}},
    "activity": {"duration": {"mean_s": 1.0}, "timeouts": {"heartbeat": 10}},
}


@dataclass
class Disk:
    path: Path
    limit: Callable[[], None] | None
    """For the RLIMIT_FSIZE stand-in: what the command's process runs before it starts."""


def _mount(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Disk]]:
    mounted: list[Path] = []

    def make(kib: int) -> Disk:
        path = tmp_path / f"disk-{kib}k-{len(mounted)}"
        if _mount(path, f"size={kib}k"):
            mounted.append(path)
            return Disk(path, None)
        path.mkdir()

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))

        return Disk(path, limit)

    yield make
    for path in mounted:
        subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write: a read-only tmpfs as root, else mode 0555."""
    path = tmp_path / "read-only"
    if _mount(path, "ro,size=64k"):
        yield path
        subprocess.run(["umount", str(path)], check=False)
        return
    path.mkdir()
    path.chmod(0o555)
    yield path
    path.chmod(0o755)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan's results, for `swfbench report` and `swfbench gate --report`."""
    reports = tmp_path_factory.mktemp("saved")
    done = subprocess.run(
        [*SWFBENCH, "plan", "--workers", "100", "--interval", "10", "--report",
         "--reports-dir", str(reports)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (results,) = reports.glob("*/results.json")
    return results


def _commands(profile: Path, saved: Path, gates: Path) -> dict[str, list[str]]:
    return {
        "load": ["load", "--fleet", str(profile), "--progress", "0"],
        "capacity": ["capacity", "--start-rate", "10", "--max-rate", "10", "--step-time", "4"],
        "conform": ["conform", "-k", "resets_timeout"],
        "plan": ["plan", "--workers", "100", "--interval", "10", "--report"],
        "report": ["report", str(saved)],
        "gate": ["gate", str(saved), "--gates", str(gates), "--report"],
    }


def _run(
    args: list[str], reports: Path, limit: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SWFBENCH, *args, "--reports-dir", str(reports)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, preexec_fn=limit,
    )  # fmt: skip


def _no_partial_files(where: Path) -> None:
    assert [p for p in where.rglob("*") if ".partial" in p.name] == []


@pytest.fixture
def commands(tmp_path: Path, saved_run: Path) -> dict[str, list[str]]:
    profile = tmp_path / "small.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  plan.tasks_timed_out: {max: 0}\n")
    return _commands(profile, saved_run, gates)


@pytest.mark.parametrize("command", ["load", "capacity", "conform", "plan", "report", "gate"])
def test_a_file_in_the_way_is_one_line_and_exit_248(
    command: str, commands: dict[str, list[str]], tmp_path: Path
) -> None:
    in_the_way = tmp_path / "reports"
    in_the_way.write_text("not a directory")
    done = _run(commands[command], in_the_way)
    assert done.returncode == ExitCode.REPORTS, done.stdout[-1000:] + done.stderr[-1000:]
    (line,) = done.stderr.strip().splitlines()
    assert f"{in_the_way} is a file, not a directory" in line
    assert in_the_way.read_text() == "not a directory"


@pytest.mark.parametrize("command", ["load", "capacity", "conform", "plan", "report", "gate"])
def test_an_unwritable_directory_is_one_line_and_exit_248(
    command: str, commands: dict[str, list[str]], unwritable: Path
) -> None:
    done = _run(commands[command], unwritable)
    assert done.returncode == ExitCode.REPORTS, done.stdout[-1000:] + done.stderr[-1000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("swfbench: error: cannot ") and "Traceback" not in done.stderr
    assert list(unwritable.iterdir()) == []


def test_load_on_a_full_disk_keeps_its_results_before_locust_s_page(
    commands: dict[str, list[str]], small_disk: Callable[[int], Disk]
) -> None:
    """256 KiB: the results and the report (tens of KB each; the report's charts carry their
    hover labels) fit, Locust's own page (about 1 MB) does not. The results once went missing
    although they would have fit."""
    disk = small_disk(256)
    done = _run([*commands["load"], "--run-id", "full"], disk.path, disk.limit)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-1000:]
    run_dir = disk.path / "full"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"]["whole"] and results["reports"]["html"] is None
    assert (run_dir / "index.html").exists() and not (run_dir / "locust.html").exists()
    assert "Locust's own page could not be written" in (run_dir / "index.html").read_text()
    assert "warning: Locust's own reports: cannot write" in done.stderr
    assert "Traceback" not in done.stderr
    _no_partial_files(disk.path)


def test_load_on_a_disk_too_full_for_its_report(
    commands: dict[str, list[str]], small_disk: Callable[[int], Disk]
) -> None:
    """16 KiB: the results fit and the report does not: exit 248, and the results left say
    the run is not whole (its report, or the audit recorded after Locust, is missing)."""
    disk = small_disk(16)
    done = _run([*commands["load"], "--run-id", "full"], disk.path, disk.limit)
    assert done.returncode == ExitCode.REPORTS, done.stdout[-1000:] + done.stderr[-1000:]
    assert done.stderr.strip().splitlines()[-1].startswith("swfbench: error: cannot write")
    results = json.loads((disk.path / "full" / "results.json").read_text())
    assert not results["status"]["whole"] and results["status"]["missing"]
    _no_partial_files(disk.path)


@pytest.mark.parametrize(("command", "kib"), [("conform", 8), ("plan", 8)])
def test_results_that_do_not_fit_are_one_line_and_exit_248(
    command: str, kib: int, commands: dict[str, list[str]], small_disk: Callable[[int], Disk]
) -> None:
    """Conform once passed its scenarios and then exited 1, leaving a truncated
    .results.json.partial-PID behind."""
    disk = small_disk(kib)
    done = _run(commands[command], disk.path, disk.limit)
    assert done.returncode == ExitCode.REPORTS, done.stdout[-1000:] + done.stderr[-1000:]
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("swfbench: error: cannot write") and "Traceback" not in done.stderr
    _no_partial_files(disk.path)
    for results in disk.path.glob("*/results.json"):
        # What was written is whole JSON; when it could be amended, it says the page is missing.
        status = json.loads(results.read_text())["status"]
        if not (results.parent / "index.html").exists() and status["whole"]:
            assert "run_id" not in json.loads(results.read_text())  # the first write, unamended
