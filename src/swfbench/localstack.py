"""LocalStack as an engine of the embedded target (`--engine localstack`).

LocalStack's SWF is moto-ext, a fork of moto (fact sheet, "Other emulators"). It needs Python
3.13, so it runs from a virtual environment of its own, built from the pinned versions in
`swfbench/data/localstack-constraints.txt` and cached per machine (`SWFBENCH_LOCALSTACK_HOME`,
default `~/.cache/swfbench/localstack`): the environment's folder is named by a hash of the pins,
the packages and the interpreter, and a stamp file written last marks it complete, so it is built
once and again only when the pins change. A lock lets several swfbench processes share it.

The server is started as `python -m localstack.runtime.main` with only SWF, on a loopback port,
without its DNS server, analytics or certificate download, its files in a scratch folder of its
own; `swfbench.embedded` starts and stops it like every other engine.

    python -m swfbench.localstack build [--if-possible]   # build the environment (make localstack)
    python -m swfbench.localstack where                   # print its folder and versions
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from swfbench.errors import EmbeddedTargetError

HOME_ENV = "SWFBENCH_LOCALSTACK_HOME"
PYTHON_ENV = "SWFBENCH_LOCALSTACK_PYTHON"
PYTHON_VERSION = (3, 13)
PACKAGES = (
    "localstack-core[runtime]",
    "cbor2",
    "pyOpenSSL",
    "cryptography",
    "service_identity",
)
"""What is installed; every version comes from the constraints file."""
HEALTH_PATH = "/_localstack/health"
STAMP = ".installed"
BUILD_LOG = "build.log"
# Variables LocalStack must not inherit: another interpreter's paths would break its imports,
# and real AWS keys have no business in an emulator (swfbench sends it dummy ones).
DROPPED_ENV_PREFIXES = ("AWS_", "LOCALSTACK_", "PYTHON")
DROPPED_ENV = frozenset({"VIRTUAL_ENV", "SERVICES", "PERSISTENCE", "DEBUG"})


class LocalStackUnavailable(EmbeddedTargetError):
    """No Python 3.13 on this machine: LocalStack cannot run here."""


def constraints_text() -> str:
    return resources.files("swfbench").joinpath("data/localstack-constraints.txt").read_text()


def pinned(text: str, package: str) -> str | None:
    """The version the constraints file pins `package` to."""
    for line in text.splitlines():
        name, _, version = line.partition("==")
        if version and name.strip().lower().replace("_", "-") == package:
            return version.strip()
    return None


def home() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "swfbench" / "localstack"


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def _pyenv_candidates() -> Iterator[str]:
    """Python 3.13 interpreters that pyenv has installed: through `pyenv` when it is on PATH,
    else straight from its versions folder (CI shells may not have pyenv on PATH)."""
    wanted = ".".join(map(str, PYTHON_VERSION))
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
        for path in sorted(root.glob(f"versions/{wanted}.*/bin/python{wanted}"), reverse=True):
            yield str(path)
        return
    try:
        done = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    versions = [v.strip() for v in done.stdout.splitlines() if v.strip().startswith(wanted + ".")]
    numbers = sorted(versions, key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    for version in reversed(numbers):
        found = subprocess.run(
            [pyenv, "which", "python3.13"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYENV_VERSION": version},
        )
        if found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip()


def find_python() -> str:
    """A Python 3.13 interpreter to build LocalStack's environment with."""
    if os.environ.get(PYTHON_ENV):
        python = os.environ[PYTHON_ENV]
        if _version_of(python) != PYTHON_VERSION:
            raise LocalStackUnavailable(
                f"{PYTHON_ENV}={python} is not a Python 3.13 interpreter: LocalStack needs 3.13"
            )
        return python
    on_path = shutil.which("python3.13")
    for candidate in [*([on_path] if on_path else []), *_pyenv_candidates()]:
        if _version_of(candidate) == PYTHON_VERSION:
            return candidate
    raise LocalStackUnavailable(
        "LocalStack needs Python 3.13 and this machine has none (not python3.13 on PATH, not "
        f"in pyenv; set {PYTHON_ENV} to one)"
    )


@dataclass(frozen=True)
class Environment:
    """A built LocalStack environment."""

    path: Path
    stamp: dict[str, Any]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def version(self) -> str:
        return f"LocalStack {self.stamp['localstack']} (moto-ext {self.stamp['moto_ext']})"


def _key(python: str, text: str) -> str:
    """What names an environment: the pins (comments aside), the packages and the interpreter."""
    pins = "\n".join(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )
    digest = hashlib.sha256()
    for part in (pins, "\n".join(PACKAGES), ".".join(map(str, PYTHON_VERSION)), python):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_stamp(path: Path, key: str) -> dict[str, Any] | None:
    try:
        stamp: dict[str, Any] = json.loads((path / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return stamp if stamp.get("key") == key else None


def environment(*, build: bool = True, say: Callable[[str], None] | None = None) -> Environment:
    """LocalStack's environment, built first if it is missing (unless `build` is False, which
    raises `EmbeddedTargetError` instead). `say` hears one line before a build starts."""
    python = find_python()
    text = constraints_text()
    key = _key(python, text)
    root = home()
    path = root / f"env-{key}"
    stamp = _read_stamp(path, key)
    if stamp is not None:
        return Environment(path, stamp)
    if not build:
        raise EmbeddedTargetError(
            f"LocalStack's environment is not built ({path}): run `make localstack`"
        )
    with _locked(root):
        stamp = _read_stamp(path, key)  # another process may have built it meanwhile
        if stamp is None:
            if say is not None:
                say(
                    f"building LocalStack's environment in {path} "
                    "(once per machine, about a minute)"
                )
            stamp = _build(python, text, key, path)
    return Environment(path, stamp)


def _build(python: str, text: str, key: str, path: Path) -> dict[str, Any]:
    shutil.rmtree(path, ignore_errors=True)
    began = time.monotonic()
    path.mkdir(parents=True)
    constraints = path / "constraints.txt"
    constraints.write_text(text)
    log = path / BUILD_LOG
    venv_python = path / "bin" / "python"
    steps = [
        [python, "-m", "venv", str(path)],
        [str(venv_python), "-m", "pip", "install", "--disable-pip-version-check",
         "-c", str(constraints), *PACKAGES],
    ]  # fmt: skip
    with log.open("w") as out:
        for step in steps:
            out.write(f"$ {' '.join(step)}\n")
            out.flush()
            done = subprocess.run(step, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            if done.returncode != 0:
                raise EmbeddedTargetError(
                    f"building LocalStack's environment failed (exit {done.returncode} of "
                    f"{Path(step[0]).name} {step[2]}): see {log}"
                )
    stamp = {
        "key": key,
        "python": python,
        "localstack": pinned(text, "localstack-core"),
        "moto_ext": pinned(text, "moto-ext"),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_s": round(time.monotonic() - began, 1),
    }
    (path / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")  # last: marks it complete
    return stamp


# The server --------------------------------------------------------------------------------------


def server_env(host: str, port: int, scratch: Path) -> dict[str, str]:
    """LocalStack's configuration: SWF only, on loopback, nothing fetched from the network."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in DROPPED_ENV and not name.startswith(DROPPED_ENV_PREFIXES)
    }
    env.update(
        SERVICES="swf",
        GATEWAY_LISTEN=f"{host}:{port}",
        DNS_ADDRESS="0",  # no DNS server of its own
        DISABLE_EVENTS="1",  # no analytics
        SKIP_SSL_CERT_DOWNLOAD="1",
        # LocalStack takes any machine with /.dockerenv for its own container and would then
        # write to /var/lib/localstack; keep it in the scratch folder.
        OVERRIDE_IN_DOCKER="0",
        LOCALSTACK_VOLUME_DIR=str(scratch / "volume"),
        FILESYSTEM_ROOT=str(scratch / "filesystem"),
    )
    return env


def health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url.rstrip("/") + HEALTH_PATH, timeout=timeout) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


LOAD_WAIT_S = 60.0
"""How long the first SWF call may take while LocalStack loads its SWF provider."""


def swf_ready(url: str) -> bool:
    """LocalStack answers its health endpoint and has its SWF provider loaded ("running").

    LocalStack lists a service as "available" and loads it on its first call; on a busy machine
    that first call took more than the 10 s read timeout of the run's own first call. So when
    SWF is only available, one call is made here (ListDomains, answered whatever it says) and
    waited for, and the server counts as ready once the provider runs."""
    services = (health(url) or {}).get("services") or {}
    if services.get("swf") == "available":
        _first_call(url)
        services = (health(url) or {}).get("services") or {}
    return services.get("swf") == "running"


def _first_call(url: str) -> None:
    request = urllib.request.Request(
        url.rstrip("/") + "/",
        data=b'{"registrationStatus":"REGISTERED"}',
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "SimpleWorkflowService.ListDomains",
            # LocalStack routes by the service and region of the credential scope; it checks
            # no signature.
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/swf/"
            "aws4_request, SignedHeaders=host;x-amz-target, Signature=0",
        },
    )
    with (
        contextlib.suppress(urllib.error.URLError, OSError),
        urllib.request.urlopen(request, timeout=LOAD_WAIT_S) as response,
    ):
        response.read()


def scratch_folder(root: Path | None = None) -> Path:
    """A fresh folder for one server's files. Folders of servers whose swfbench is gone (killed
    outright, so no clean-up ran) are removed first."""
    runs = (root or home()) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for old in runs.iterdir():
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=runs))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Command line ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m swfbench.localstack", description=__doc__.split("\n\n")[0]
    )
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build LocalStack's environment if it is missing")
    build.add_argument(
        "--if-possible",
        action="store_true",
        help="where Python 3.13 is missing, say so and exit 0 (LocalStack tests then skip)",
    )
    actions.add_parser("where", help="print the environment's folder and versions")
    args = parser.parse_args(argv)
    try:
        began = time.monotonic()
        env = environment(
            build=args.action == "build", say=lambda line: print(f"localstack: {line}", flush=True)
        )
    except LocalStackUnavailable as exc:
        print(f"localstack: {exc}", file=sys.stderr)
        return 0 if getattr(args, "if_possible", False) else exc.exit_code
    except EmbeddedTargetError as exc:
        print(f"localstack: {exc}", file=sys.stderr)
        return exc.exit_code
    size = ""
    if args.action == "where":  # walking 400 MiB of files takes seconds on a busy machine
        total = sum(
            f.stat().st_size for f in env.path.rglob("*") if f.is_file() and not f.is_symlink()
        )
        size = f"{total / 2**20:,.0f} MiB; "
    print(
        f"localstack: {env.version} in {env.path} ({size}built in {env.stamp['build_s']:g} s at "
        f"{env.stamp['built_at']}; checked in {time.monotonic() - began:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
