"""A wrong target is one line and its own exit code, in every command, before anything is
written: a malformed endpoint URL (252), an endpoint nothing answers at (250), an HTTP server
that does not speak SWF (251)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from swfbench.cli import main
from swfbench.embedded import answers, free_port
from swfbench.errors import ExitCode

REPO = Path(__file__).resolve().parents[1]
PROFILE = str(REPO / "scenarios" / "load" / "steady.yaml")


def _commands(reports: Path) -> dict[str, list[str]]:
    """Every command that talks to a target, with what it needs to run."""
    return {
        "heartbeat": ["heartbeat", "--task-token", "t"],
        "activity start": ["activity", "start"],
        "demo": ["demo"],
        "load": ["load", "--fleet", PROFILE, "--run-time", "2s", "--reports-dir", str(reports)],
        "capacity": ["capacity", "--max-rate", "50", "--step-time", "4s", "--reports-dir", str(reports)],
        "conform": ["conform", str(REPO / "scenarios" / "conformance"), "--reports-dir", str(reports)],
    }  # fmt: skip


COMMANDS = list(_commands(Path("r")))


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:4566", "has no scheme: write http://127.0.0.1:4566"),
        ("ftp://127.0.0.1:4566", "has the scheme ftp"),
        ("http://:4566", "has no host"),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_endpoint_url_is_252_before_anything_runs(
    command: str, url: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    assert main([*_commands(reports)[command], "--endpoint-url", url]) == ExitCode.USAGE
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith(f"swfbench: error: --endpoint-url: {url!r} {problem}"), line
    assert captured.out == ""
    assert not reports.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_endpoint_url_in_the_environment_names_the_variable(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWFBENCH_ENDPOINT_URL", "localhost:4566")
    assert main(_commands(tmp_path / "reports")[command]) == ExitCode.USAGE
    assert _one_line(capsys.readouterr().err) == (
        "swfbench: error: SWFBENCH_ENDPOINT_URL: 'localhost:4566' has no scheme: "
        "write http://localhost:4566"
    )


def test_conform_without_a_scheme_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """The issue's report, as a user runs it: thousands of traceback lines, 0 scenarios, exit 0
    and a results file that passed gates/conformance.yaml."""
    done = subprocess.run(
        [sys.executable, "-m", "swfbench", "conform", "--endpoint-url", "127.0.0.1:4566",
         "--reports-dir", str(tmp_path / "reports")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == ExitCode.USAGE
    assert done.stdout == ""
    assert "has no scheme" in _one_line(done.stderr)
    assert not (tmp_path / "reports").exists()


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """An HTTP server that is not SWF: Python's own, answering 501 to every POST."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url):
            assert process.poll() is None and time.monotonic() < deadline, (
                "http.server did not start"
            )
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> subprocess.CompletedProcess[str]:
    """conform in a process of its own (it runs pytest); the others in this one (faster)."""
    if args[0] == "conform":
        return subprocess.run(
            [sys.executable, "-m", "swfbench", *args],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    code = main(args)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_endpoint_that_does_not_speak_swf_is_one_line_and_251(
    command: str, web_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    done = _run([*_commands(reports)[command], "--endpoint-url", web_server], capsys)
    assert done.returncode == ExitCode.NOT_SWF, done.stdout + done.stderr
    line = _one_line(done.stderr)
    assert line.startswith(f"swfbench: error: endpoint {web_server} answered ")
    assert "with HTTP 501 and no AWS error: it does not speak SWF" in line
    if command != "conform":  # conform records the aborted run (status aborted, the reason)
        assert not list(reports.glob("*/results.json"))


@pytest.mark.parametrize("command", COMMANDS)
def test_an_endpoint_nothing_answers_at_is_one_line_and_250(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _run([*_commands(tmp_path / "reports")[command], "--endpoint-url", url], capsys)
    assert done.returncode == ExitCode.UNREACHABLE, done.stdout + done.stderr
    assert f"cannot reach endpoint {url}" in _one_line(done.stderr)
