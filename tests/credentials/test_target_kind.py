"""The target's kind is decided once, from --aws, and handed to every process: no URL makes an
emulator real SWF, no emulator reads the user's AWS setup, and --aws sends every path to the one
endpoint botocore resolves. Real swfbench and Locust processes, a real engine behind a relay
that records what reaches the wire, marker credentials in the environment."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from processes import wait_until
from swfbench.embedded import EmbeddedServer, free_port
from swfbench.errors import ExitCode

from .markers import (
    ENV_KEY_ID,
    ENV_TOKEN,
    MarkerEnvironment,
    markers_in,
    markers_in_files,
)
from .recorder import Recorder

ROOT = Path(__file__).resolve().parents[2]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
LOCUSTFILE = str(ROOT / "loadtests" / "locustfile.py")
PROFILE = {
    "name": "tiny",
    "domain": "swfbench-credentials",
    "run_time_s": 2,
    "fleet": {"workers": 2, "spawn_rate": 20},
    "heartbeat": {"interval": {"mean_s": 0.25}},
    "activity": {"duration": {"mean_s": 0.8}, "timeouts": {"heartbeat": 10}},
}


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(PROFILE))
    return path


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def heartbeats_sent(wire: bytes) -> int:
    return wire.count(b"SimpleWorkflowService.RecordActivityTaskHeartbeat")


def credentials_sent(wire: bytes) -> set[str]:
    """The access key ids of every signed request on the wire."""
    found = set()
    for part in wire.split(b"Credential=")[1:]:
        found.add(part.split(b"/", 1)[0].decode())
    return found


def _hosts_namespace_works() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True, timeout=10, check=False
    )
    return done.returncode == 0


@pytest.mark.parametrize("where", ["path", "hostname"])
def test_an_endpoint_that_looks_like_aws_gets_dummy_keys(
    where: str,
    endpoint_engine: EmbeddedServer,
    marker_env: MarkerEnvironment,
    profile: Path,
    tmp_path: Path,
) -> None:
    """`--endpoint-url http://127.0.0.1:PORT/.amazonaws.com`, or a host named
    swf.amazonaws.com.example.net that resolves to loopback (a private /etc/hosts in a mount
    namespace of its own): once signed with the user's keys (189 requests), now with dummy ones."""
    if where == "hostname" and not _hosts_namespace_works():
        pytest.skip("needs root and `unshare --mount` to give a process its own /etc/hosts")
    reports = tmp_path / "reports"
    path = "/.amazonaws.com" if where == "path" else ""
    with Recorder(endpoint_engine.port, path=path) as wire:
        url = wire.url
        command = [*SWFBENCH, "load", "--fleet", str(profile), "--progress", "0"]
        command += ["--reports-dir", str(reports), "--log-level", "DEBUG"]
        if where == "hostname":
            hosts = tmp_path / "hosts"
            hosts.write_text(
                "127.0.0.1 swf.amazonaws.com.example.net\n" + Path("/etc/hosts").read_text()
            )
            url = f"http://swf.amazonaws.com.example.net:{wire.port}"
            shell = " ".join(
                [f"mount --bind {hosts} /etc/hosts &&", "exec", *command, "--endpoint-url", url]
            )
            done = run(["unshare", "--mount", "sh", "-c", shell], marker_env.env, ROOT)
        else:
            done = run([*command, "--endpoint-url", url], marker_env.env, ROOT)
        sent = wire.sent
    assert done.returncode == 0, done.stderr[-2000:]
    assert heartbeats_sent(sent) > 5
    assert credentials_sent(sent) == {"swfbench"}
    assert markers_in(sent) == []
    assert markers_in(done.stdout + done.stderr) == []
    assert markers_in_files(reports) == {}
    assert "Credential=****" in done.stderr  # DEBUG printed the requests, masked
    assert not marker_env.canary.exists()


def test_plain_locust_against_an_aws_looking_host_gets_dummy_keys(
    endpoint_engine: EmbeddedServer, marker_env: MarkerEnvironment, profile: Path, tmp_path: Path
) -> None:
    """`locust -f loadtests/locustfile.py` with no swfbench parent: an emulator unless told
    `--swf-target aws`, whatever the host looks like."""
    with Recorder(endpoint_engine.port, path="/.amazonaws.com") as wire:
        done = run(
            [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "--only-summary",
             "--host", wire.url, "--swf-fleet", str(profile), "--loglevel", "DEBUG"],
            marker_env.env, tmp_path,
        )  # fmt: skip
        sent = wire.sent
    assert done.returncode == 0, done.stderr[-2000:]
    assert heartbeats_sent(sent) > 5
    assert credentials_sent(sent) == {"swfbench"}
    assert markers_in(sent + (done.stdout + done.stderr).encode()) == []


def broken_aws_setup(marker_env: MarkerEnvironment, tmp_path: Path, how: str) -> dict[str, str]:
    env = dict(marker_env.env)
    if how == "missing profile":
        env["AWS_PROFILE"] = "no-such-profile"
    else:
        config = tmp_path / "malformed-config"
        config.write_text("[default\nregion = us-east-1\n\x00garbage")
        env["AWS_CONFIG_FILE"] = str(config)
    return env


@pytest.mark.parametrize("how", ["missing profile", "malformed config"])
def test_emulator_targets_read_no_aws_setup(
    how: str, marker_env: MarkerEnvironment, tmp_path: Path
) -> None:
    """A missing AWS_PROFILE or a malformed config file once broke even the embedded target
    (ProfileNotFound traceback; every `pytest scenarios/conformance` item failed)."""
    env = broken_aws_setup(marker_env, tmp_path, how)
    done = run([*SWFBENCH, "activity", "start"], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["taskToken"]
    scenarios = ROOT / "scenarios" / "conformance" / "heartbeat"
    done = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
         str(scenarios / "fresh_not_cancel_requested.yaml"), str(scenarios / "raw_token_1025.yaml")],
        env, tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 passed" in done.stdout


@pytest.mark.parametrize(
    "how", ["missing profile", "malformed config", "no credentials", "no region"]
)
@pytest.mark.parametrize("command", ["heartbeat", "load", "conform"])
def test_aws_setup_problems_are_one_line_and_exit_253(
    how: str, command: str, marker_env: MarkerEnvironment, profile: Path, tmp_path: Path
) -> None:
    if how in ("missing profile", "malformed config"):
        env = broken_aws_setup(marker_env, tmp_path, how)
    else:
        env = {k: v for k, v in marker_env.env.items() if not k.startswith("AWS_")}
        env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        if how == "no region":
            env.update(AWS_ACCESS_KEY_ID=ENV_KEY_ID, AWS_SECRET_ACCESS_KEY="x" * 40)
        else:
            env["AWS_DEFAULT_REGION"] = "us-east-1"
        # No instance metadata service to ask on this machine: fail at once.
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    args = {
        "heartbeat": ["heartbeat", "--task-token", "x"],
        "load": ["load", "--fleet", str(profile), "--reports-dir", str(tmp_path / "r")],
        "conform": ["conform", "--reports-dir", str(tmp_path / "r")],
    }[command]
    done = run([*SWFBENCH, *args, "--aws"], env, ROOT, timeout=60)
    assert done.returncode == ExitCode.CONFIGURATION, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("swfbench: error: ")
    assert markers_in(done.stdout + done.stderr) == []
    if command == "load":  # (conform records the aborted run, as for any target that fails)
        assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_aws_endpoint_is_resolved_once_for_every_path(
    endpoint_engine: EmbeddedServer, marker_env: MarkerEnvironment, profile: Path, tmp_path: Path
) -> None:
    """`--aws` with AWS_ENDPOINT_URL_SWF: swfbench's own calls, Locust's fast send path and the
    hand-signed raw requests all go where botocore's resolver says (once, the send path and
    raw requests went to https://swf.<region>.amazonaws.com). The engine stands in for real
    SWF; it is --aws, so the marker keys do sign these requests, and still no output shows them."""
    with Recorder(endpoint_engine.port) as wire:
        env = {**marker_env.env, "AWS_ENDPOINT_URL_SWF": wire.url}
        env.pop("AWS_PROFILE")  # the environment's keys are the chain's: its first source
        done = run(
            [*SWFBENCH, "load", "--aws", "--region", "us-east-1", "--fleet", str(profile),
             "--progress", "0", "--reports-dir", str(tmp_path / "r"), "--log-level", "DEBUG"],
            env, ROOT,
        )  # fmt: skip
        load_wire = wire.sent
        assert done.returncode == 0, done.stderr[-2000:]
        (results,) = (tmp_path / "r").glob("*/results.json")
        figures = json.loads(results.read_text())
        assert figures["target"]["endpoint_url"] == wire.url
        assert figures["heartbeat"]["ok"] > 5
        assert heartbeats_sent(load_wire) >= figures["heartbeat"]["ok"]
        assert credentials_sent(load_wire) == {ENV_KEY_ID}
        assert ENV_TOKEN.encode() in load_wire
        assert markers_in(done.stdout + done.stderr) == []
        assert markers_in_files(tmp_path / "r") == {}
        assert "Credential=****" in done.stderr

        before = len(wire.sent)
        done = run(
            [*SWFBENCH, "conform", "--aws", "--region", "us-east-1", "-k", "raw_details_2049",
             "--reports-dir", str(tmp_path / "c"), "--log-level", "DEBUG"],
            env, ROOT,
        )  # fmt: skip
        raw_wire = wire.sent[before:]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert b'"details": "' + b"x" * 2049 in raw_wire or b"x" * 2049 in raw_wire
    assert markers_in(done.stdout + done.stderr) == []


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("bind", [None, "127.0.0.2"])
def test_the_locust_master_listens_where_told_and_loopback_by_default(
    bind: str | None, profile: Path, tmp_path: Path
) -> None:
    """Locust's protocol has no authentication: a master once listened on every interface.
    Now loopback (127.0.0.1) unless --master-bind-host names another address."""
    port = free_port()
    command = [*SWFBENCH, "load", "--fleet", str(profile), "--master", "--expect-workers", "1"]
    command += ["--master-port", str(port), "--reports-dir", str(tmp_path / "r")]
    if bind:
        command += ["--master-bind-host", bind]
    listening, other = (bind or "127.0.0.1"), ("127.0.0.1" if bind else "127.0.0.2")
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert wait_until(lambda: not _refused(listening, port), timeout=60)
        assert _refused(other, port)
    finally:
        # A master still waiting for its workers has no run to stop gracefully: the second
        # signal stops it at once.
        process.send_signal(signal.SIGTERM)
        if not wait_until(lambda: process.poll() is not None, timeout=3):
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_processes_master_listens_on_loopback(profile: Path, tmp_path: Path) -> None:
    """`--processes`: the master and its forked workers talk on loopback only."""
    mark = f"master-bind-{os.getpid()}"
    env = {**os.environ, "SWFBENCH_TEST_MARK": mark}
    data = {**PROFILE, "run_time_s": 30}
    long = tmp_path / "long.yaml"
    long.write_text(yaml.safe_dump(data))
    process = subprocess.Popen(
        [*SWFBENCH, "load", "--fleet", str(long), "--processes", "2", "--progress", "0",
         "--reports-dir", str(tmp_path / "r")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def master_port() -> int | None:
        # Only this run's master: other runs with --processes may be going on at the same time.
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"SWFBENCH_TEST_MARK={mark}".encode() not in environ:
                continue
            if b"--master-bind-port" in argv and b"--processes" in argv:
                return int(argv[argv.index(b"--master-bind-port") + 1])
        return None

    try:
        assert wait_until(lambda: master_port() is not None, timeout=60)
        port = master_port()
        assert port is not None
        assert wait_until(lambda: not _refused("127.0.0.1", port), timeout=60)
        assert _refused("127.0.0.2", port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_locust_args_cannot_set_the_target_kind(profile: Path, tmp_path: Path) -> None:
    done = run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--locust-args", "--swf-target aws"],
        dict(os.environ),
        tmp_path,
    )
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip() == (
        "swfbench: error: --locust-args: --swf-target is set by swfbench itself"
    )
