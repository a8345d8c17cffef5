"""Shared fixtures: one real moto server over HTTP for the session, real boto3 clients, one
real gated load run whose results and report several tests read, and LocalStack's environment."""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import pickle
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from swfbench import localstack
from swfbench.activity import bootstrap
from swfbench.client import CallRecord, SWFClient
from swfbench.embedded import EmbeddedServer
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first, in their collected order, then the rest: pytest-xdist hands
    out tests in this order, so a long run starts while there is other work to share, instead of
    leaving one process running it alone at the end. Every process sorts alike."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]) -> T:
    """An expensive run made once for the whole test run. The suite runs on several processes
    (pytest-xdist, `-n` in pyproject.toml), each with its own session fixtures: the first
    process to ask makes the run, in a folder they share, and the others wait for it and read
    its outcome (a failure included) instead of making it again."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    saved = shared / f"{name}.pickle"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            folder = shared / name
            folder.mkdir()
            try:
                outcome: T | BaseException = make(folder)
            except Exception as exc:
                outcome = exc
            partial = saved.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(outcome))
            partial.replace(saved)
    loaded = pickle.loads(saved.read_bytes())
    if isinstance(loaded, BaseException):
        raise loaded
    return cast(T, loaded)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(engine="moto") as server:
        yield server


@pytest.fixture(scope="session")
def engine_server() -> Iterator[EmbeddedServer]:
    """The extended engine, whose answers keep SWF's wire contract (plain moto's say text/html)."""
    with EmbeddedServer(engine="swfbench") as server:
        yield server


@pytest.fixture(scope="session")
def moto_target(moto_server: EmbeddedServer) -> Target:
    return Target(
        kind="endpoint",
        endpoint_url=moto_server.url,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
    )


@pytest.fixture(scope="session")
def localstack_env() -> localstack.Environment:
    """LocalStack's environment, built first if missing (`make test` builds it beforehand). On a
    machine without Python 3.13 every test that needs it is reported SKIPPED with that reason."""
    try:
        return localstack.environment()
    except localstack.LocalStackUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def client(moto_target: Target, calls: list[CallRecord]) -> SWFClient:
    swf = SWFClient(moto_target, calls.append)
    bootstrap(swf)
    calls.clear()
    return swf


@dataclass(frozen=True)
class LoadRun:
    reports: Path
    run_dir: Path
    exit_code: int
    stdout: str


LOAD_GATES = {
    "kind": "load",
    "gates": {
        "heartbeat.latency.p99_ms": {"max": 1000},
        "errors.ThrottlingException.ratio": {"max": 0},  # never throttled: holds at zero
        "heartbeat.rate_per_s": {"min": 1},
        "tasks.unaccounted": {"max": 0},
        "audit.left_open": {"max": 0},
        "heartbeat.pacing_lag.p50_ms": {"max": 0},  # fails: no worker is ever exactly on time
    },
}


@pytest.fixture(scope="session")
def load_run(tmp_path_factory: pytest.TempPathFactory) -> LoadRun:
    """`swfbench load` with gates on the embedded extended engine: a mix of outcomes (so every
    section of the report has data) and one gate that fails on purpose."""
    return made_once(tmp_path_factory, "load-run", _load_run)


def _load_run(base: Path) -> LoadRun:
    profile = base / "mix.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "name": "mix",
                "domain": "swfbench-load-report",
                "run_time_s": 6,
                "fleet": {"workers": 6, "spawn_rate": 20},
                "heartbeat": {"interval": {"mean_s": 0.3}},
                "activity": {"duration": {"mean_s": 1.0}, "timeouts": {"heartbeat": 1}},
                "outcomes": {"complete": 1, "fail": 1, "cancel": 1, "silent": 1},
                "cancel": {"after": 0.3, "propagation_wait_s": 0.5},
                "timeout_slack_s": 1,
            }
        )
    )
    gates = base / "gates.yaml"
    gates.write_text(yaml.safe_dump(LOAD_GATES))
    reports = base / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "load", "--fleet", str(profile),
         "--gates", str(gates), "--reports-dir", str(reports), "--run-id", "gated-run",
         "--progress", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return LoadRun(reports, reports / "gated-run", done.returncode, done.stdout)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An endpoint that neither accepts nor refuses a connection, as behind a firewall that
    drops packets: a listening socket whose backlog is full, so the kernel drops new SYNs."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    address = server.getsockname()
    fillers: list[socket.socket] = []
    while len(fillers) < 64:
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(address)
        except TimeoutError:
            probe.close()
            break  # the next connection hangs: the hole is ready
        fillers.append(probe)
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint that accepts connections and reads requests but never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for connection in held:
            connection.close()


@dataclass(frozen=True)
class CapacityRun:
    reports: Path
    run_dir: Path
    stdout: str


@pytest.fixture(scope="session")
def capacity_run(tmp_path_factory: pytest.TempPathFactory) -> CapacityRun:
    """A short `swfbench capacity` search on the embedded engine: two steps of 4 s, both well
    within any loaded machine's reach, so the search ends with its last step held."""
    return made_once(tmp_path_factory, "capacity-run", _capacity_run)


def _capacity_run(base: Path) -> CapacityRun:
    reports = base / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "capacity", "--start-rate", "10",
         "--step-rate", "10", "--max-rate", "20", "--step-time", "4s", "--interval", "1s",
         "--reports-dir", str(reports), "--run-id", "capacity-run", "--progress", "0"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return CapacityRun(reports, reports / "capacity-run", done.stdout)


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_engine(engine_server: EmbeddedServer, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The engine behind a TLS terminator with a self-signed certificate: (https URL, cert)."""
    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    upstream = ("127.0.0.1", engine_server.port)

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                secure = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()  # a client that refused the certificate
                continue
            back = socket.create_connection(upstream)
            threading.Thread(target=pipe, args=(secure, back), daemon=True).start()
            threading.Thread(target=pipe, args=(back, secure), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", cert
    finally:
        listener.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Poll `condition` every 50 ms until it holds; fail the test after `timeout_s`."""
    give_up = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < give_up, "the condition never held"
        time.sleep(0.05)
