"""LocalStack as the embedded engine: its environment, and a real LocalStack started and stopped on
every exit path; where Python 3.13 is missing, one line and SKIPPED tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from processes import SWFBENCH, alive, processes_marked, wait_until
from swfbench import localstack
from swfbench.client import SWFClient
from swfbench.embedded import EmbeddedServer, answers, free_port
from swfbench.errors import EmbeddedTargetError, ExitCode
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

REPO = Path(__file__).resolve().parents[1]
STOP_S = 60.0
"""LocalStack stops its services one by one (about 4 s when idle); on a loaded machine, longer."""


def _without_python_313(tmp_path: Path) -> dict[str, str]:
    """An environment in which no Python 3.13 can be found: no pyenv, nothing named
    python3.13 on PATH, and an empty LocalStack home."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "SWFBENCH_LOCALSTACK"))
    }
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env[localstack.HOME_ENV] = str(tmp_path / "home")
    env["HOME"] = str(tmp_path)  # no ~/.pyenv either
    return env


def test_without_python_313_it_says_so_in_one_line_and_the_tests_skip(tmp_path: Path) -> None:
    env = _without_python_313(tmp_path)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=120, env=env, cwd=REPO, check=False
        )

    build = run(sys.executable, "-m", "swfbench.localstack", "build")
    assert build.returncode == ExitCode.EMBEDDED_TARGET
    assert build.stderr.count("\n") == 1 and "needs Python 3.13" in build.stderr
    # `make test` builds with --if-possible: the line, and no failure.
    lenient = run(sys.executable, "-m", "swfbench.localstack", "build", "--if-possible")
    assert lenient.returncode == 0 and lenient.stderr == build.stderr
    conform = run(*SWFBENCH, "conform", "--engine", "localstack", "--reports-dir", str(tmp_path))
    assert conform.returncode == ExitCode.EMBEDDED_TARGET, conform.stdout + conform.stderr
    assert conform.stderr.count("\n") == 1 and "needs Python 3.13" in conform.stderr
    assert "Traceback" not in conform.stderr
    # A LocalStack test is reported SKIPPED with the reason, never passed.
    test = "tests/test_localstack.py::test_server_serves_swf_then_is_gone_after_normal_exit"
    tests = run(
        sys.executable, "-m", "pytest", test, "-rs", "-p", "no:cacheprovider", "-o", "addopts="
    )
    assert tests.returncode == 0, tests.stdout
    assert "1 skipped" in tests.stdout and "passed" not in tests.stdout
    assert "SKIPPED" in tests.stdout and "needs Python 3.13" in tests.stdout
    assert not (tmp_path / "home").exists()


def test_an_interpreter_that_is_not_313_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(localstack.PYTHON_ENV, sys.executable)  # the project's 3.11
    with pytest.raises(localstack.LocalStackUnavailable, match=r"is not a Python 3\.13"):
        localstack.find_python()


def test_only_a_complete_environment_for_these_pins_is_used(
    localstack_env: localstack.Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(localstack.HOME_ENV, str(tmp_path))
    with pytest.raises(EmbeddedTargetError, match=r"not built .* run `make localstack`"):
        localstack.environment(build=False)
    # A folder without its stamp is a build that did not finish: not used.
    path = tmp_path / localstack_env.path.name
    path.mkdir()
    with pytest.raises(EmbeddedTargetError, match="not built"):
        localstack.environment(build=False)
    (path / localstack.STAMP).write_text(json.dumps(localstack_env.stamp))
    assert localstack.environment(build=False).path == path
    # A comment changes nothing; other pins name another folder, so a new build.
    text = localstack.constraints_text()
    monkeypatch.setattr(localstack, "constraints_text", lambda: f"# note\n{text}\n")
    assert localstack.environment(build=False).path == path
    monkeypatch.setattr(localstack, "constraints_text", lambda: "localstack-core==0.0.1\n")
    with pytest.raises(EmbeddedTargetError, match="not built"):
        localstack.environment(build=False)


def test_scratch_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert finished.returncode == 0 and not alive(dead.pid)
    runs = tmp_path / "runs"
    (runs / f"{dead.pid}-left").mkdir(parents=True)
    (runs / f"{os.getpid()}-ours").mkdir()
    fresh = localstack.scratch_folder(tmp_path)
    assert sorted(p.name for p in runs.iterdir()) == sorted([f"{os.getpid()}-ours", fresh.name])


def test_the_pins_name_localstack_and_its_moto() -> None:
    text = localstack.constraints_text()
    assert localstack.pinned(text, "localstack-core") == "2026.3.0"
    assert localstack.pinned(text, "moto-ext") == "5.1.54"
    assert localstack.pinned(text, "cryptography") == "43.0.3"
    targets = (REPO / "conformance" / "targets" / "localstack.yaml").read_text()
    assert "LocalStack 2026.3.0 (moto-ext 5.1.54)" in targets


# A real LocalStack ------------------------------------------------------------------------------


def test_server_serves_swf_then_is_gone_after_normal_exit(
    localstack_env: localstack.Environment,
) -> None:
    with EmbeddedServer(engine="localstack") as server:
        assert server.process is not None and server.launch is not None
        pid, scratch = server.process.pid, server.launch.scratch
        assert server.version == localstack_env.version
        health = localstack.health(server.url)
        assert health is not None and health["version"] == localstack_env.stamp["localstack"]
        enabled = {name for name, state in health["services"].items() if state != "disabled"}
        assert enabled == {"swf"}
        # Loaded before the server counts as ready: the run's first call does not wait for it.
        assert health["services"]["swf"] == "running"
        target = Target(
            kind="endpoint",
            endpoint_url=server.url,
            region=EMULATOR_REGION,
            credentials=EMULATOR_CREDENTIALS,
        )
        domains = SWFClient(target).call("ListDomains", registrationStatus="REGISTERED")
        assert "domainInfos" in domains
        assert scratch is not None and scratch.is_dir()
    assert not alive(pid)
    assert not answers(server.url + "/")
    assert not scratch.exists()
    # An error inside the block takes the same way out; the CLI's error path is tested below.


def _serve(mark: str, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*SWFBENCH, "serve", "--engine", "localstack", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SWFBENCH_TEST_MARK": mark},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert f"http://127.0.0.1:{port} (localstack)" in line, line
    assert localstack.swf_ready(f"http://127.0.0.1:{port}")
    assert len(processes_marked(mark)) == 2  # swfbench and LocalStack, nothing else
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_localstack_on_ctrl_c_and_sigterm(
    localstack_env: localstack.Environment, signum: int
) -> None:
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(mark, port)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=STOP_S)
    assert process.returncode in (ExitCode.OK, ExitCode.INTERRUPTED)
    assert "Traceback" not in stderr
    assert not processes_marked(mark)  # swfbench waited for LocalStack to stop
    assert not answers(f"http://127.0.0.1:{port}/")


def test_localstack_dies_with_a_killed_parent(localstack_env: localstack.Environment) -> None:
    mark, port = uuid.uuid4().hex, free_port()
    process = _serve(mark, port)
    process.kill()
    process.wait()
    # SIGKILL runs no clean-up in swfbench: the kernel's parent-death signal stops LocalStack.
    assert wait_until(lambda: not processes_marked(mark), timeout=STOP_S)
    assert not answers(f"http://127.0.0.1:{port}/")


@pytest.mark.slow
def test_a_failing_command_leaves_no_localstack_behind(
    localstack_env: localstack.Environment,
) -> None:
    mark = uuid.uuid4().hex
    result = subprocess.run(
        [*SWFBENCH, "heartbeat", "--engine", "localstack", "--task-token", "no-such-token"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "SWFBENCH_TEST_MARK": mark},
    )
    assert result.returncode == ExitCode.SERVICE, result.stderr
    assert result.stderr.count("\n") == 1 and "RecordActivityTaskHeartbeat" in result.stderr
    assert not processes_marked(mark)
