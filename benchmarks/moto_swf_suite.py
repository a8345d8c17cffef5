"""moto's own SWF test suite in server mode, against the swfbench engine and against plain moto.

    .venv/bin/python benchmarks/moto_swf_suite.py [--cache .cache/moto-suite] [--server both]

moto's tests are not part of its wheel: the script fetches the source distribution of the moto
version installed here (`pip download moto==X --no-binary :all: --no-deps`, once, into the
cache folder; nothing of it is committed), unpacks `tests/test_swf` with the two files it
imports from `tests/`, and runs it with pytest in server mode (TEST_SERVER_MODE=true,
TEST_SERVER_MODE_ENDPOINT pointing at one server process), first against the engine
(`python -m swfbench.engine`), then against plain `moto.server`. In server mode moto's tests
call `POST /moto-api/reset` before each test and talk to the server over HTTP with boto3.

It prints each server's counts, then every test whose outcome differs between the two, with
the reason from `moto_swf_suite_differences.yaml` beside this script. Exit 0 when every
difference has a reason and every listed difference still occurs, 1 otherwise (so the list
stays true), 2 when the suite cannot be fetched or run. moto's tests need `freezegun` (in the
project's dev dependencies).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import yaml

from swfbench.embedded import EmbeddedServer

HERE = Path(__file__).resolve().parent
DIFFERENCES = HERE / "moto_swf_suite_differences.yaml"
SERVERS = {"engine": "swfbench", "moto": "moto"}
TESTS = ("tests/__init__.py", "tests/conftest.py", "tests/test_swf/")


def fetch_suite(cache: Path) -> Path:
    """The unpacked `tests/` of the installed moto's sdist (downloaded on first use)."""
    version = importlib.metadata.version("moto")
    root = cache / f"moto-{version}"
    if (root / "tests" / "test_swf").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"moto-{version}.tar.gz"
    if not archive.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"moto=={version}", "--no-binary",
             ":all:", "--no-deps", "--quiet", "-d", str(cache)],
            check=True,
        )  # fmt: skip
    with tarfile.open(archive) as sdist:
        prefix = f"moto-{version}/"
        members = [m for m in sdist.getmembers() if m.name.removeprefix(prefix).startswith(TESTS)]
        sdist.extractall(cache, members=members, filter="data")
    # Make the unpacked folder pytest's rootdir, away from any project's settings.
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return root


def run_suite(root: Path, engine: str, report: Path) -> dict[str, str]:
    """Run moto's SWF tests against a fresh server of `engine`; test id -> outcome."""
    with EmbeddedServer(engine=engine) as server:
        env = {
            **os.environ,
            "TEST_SERVER_MODE": "true",
            "TEST_SERVER_MODE_ENDPOINT": server.url,
            "AWS_ACCESS_KEY_ID": "FOOBARKEY",
            "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET",
        }
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_swf", "-q", "-p", "no:cacheprovider",
             "-o", "addopts=", f"--junitxml={report}"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        test = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcome = "passed"
        for kind, name in (("skipped", "skipped"), ("failure", "failed"), ("error", "error")):
            if kind in kinds:
                outcome = name
        outcomes[test] = outcome
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/moto-suite"))
    parser.add_argument("--server", choices=("both", *SERVERS), default="both")
    args = parser.parse_args(argv)
    try:
        import freezegun  # noqa: F401  (moto's tests import it)
    except ImportError:
        print("moto's tests need freezegun: make .venv/.installed (dev dependencies)")
        return 2
    try:
        root = fetch_suite(args.cache.resolve())
    except (subprocess.CalledProcessError, OSError, tarfile.TarError) as exc:
        print(f"cannot fetch moto's source distribution: {exc}")
        return 2
    names = list(SERVERS) if args.server == "both" else [args.server]
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            results[name] = run_suite(root, SERVERS[name], Path(scratch) / f"{name}.xml")
            counts = Counter(results[name].values())
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            print(f"{name:<7} {len(results[name])} tests: {summary}")
    if len(names) < 2:
        return 0
    listed: dict[str, str] = yaml.safe_load(DIFFERENCES.read_text(encoding="utf-8")) or {}
    engine, moto = results["engine"], results["moto"]
    differing = sorted(t for t in engine.keys() | moto.keys() if engine.get(t) != moto.get(t))
    unexplained = [t for t in differing if t not in listed]
    gone = [t for t in listed if t not in differing]
    print(f"\n{len(differing)} tests differ (engine / plain moto):")
    for test in differing:
        reason = listed.get(test, "NO REASON LISTED")
        print(f"  {test}: {engine.get(test)} / {moto.get(test)}\n      {reason}")
    for test in gone:
        print(f"  listed but no longer different: {test}")
    return 1 if unexplained or gone else 0


if __name__ == "__main__":
    sys.exit(main())
