"""The fuzz corpus (tests/fuzz_corpus/): the nastiest inputs found, each once a traceback, a
two-line error, a hang or an exhausted memory, replayed through the parser or command that reads
them. Each must end in a value or one line with a documented exit code, within seconds.

One folder per parser; `flags.txt` holds command lines. Add a file when a new kind of input
breaks swfbench; its name says what it is."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from swfbench.conformance.deviations import load_deviations
from swfbench.conformance.scenario import load_scenario
from swfbench.gates import load_gates
from swfbench.identities import load_auth_file
from swfbench.load.profile import load_profile

from .harness import not_swf_endpoint, run_cli, run_parser

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz_corpus"
PARSERS: dict[str, Callable[[Path], object]] = {
    "profile": load_profile,
    "gates": load_gates,
    "auth": load_auth_file,
    "deviations": load_deviations,
}


def corpus(folder: str) -> list[Path]:
    return sorted((CORPUS / folder).iterdir())


def test_the_corpus_is_there() -> None:
    assert len(list(CORPUS.rglob("*.*"))) > 60


@pytest.mark.parametrize(
    ("folder", "path"),
    [(folder, path) for folder in PARSERS for path in corpus(folder)],
    ids=lambda x: x.name if isinstance(x, Path) else x,
)
def test_parsers(folder: str, path: Path) -> None:
    run_parser(lambda: PARSERS[folder](path)).check(path)


@pytest.mark.parametrize("path", corpus("scenario"), ids=lambda p: p.name)
def test_scenarios(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "scenarios" / "conformance" / "corpus" / path.name
    copy.parent.mkdir(parents=True)
    shutil.copy(path, copy)
    run_parser(lambda: load_scenario(copy)).check(path)


def test_scenarios_through_conform_and_the_pytest_plugin(tmp_path: Path) -> None:
    """Every corpus scenario at once, as `swfbench conform` and plain pytest collect them: one
    line for each file, no traceback, in seconds."""
    folder = tmp_path / "scenarios" / "conformance" / "corpus"
    shutil.copytree(CORPUS / "scenario", folder)
    files = sorted(folder.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.cli", "conform", str(folder)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 252, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) <= len(files) + 1, done.stderr
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
         str(folder)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert plain.returncode == 2, plain.stdout  # collection errors
    assert "Traceback" not in plain.stdout and "RecursionError" not in plain.stdout
    assert f"{len(files)} errors" in plain.stdout


@pytest.mark.parametrize("path", corpus("heartbeat-json"), ids=lambda p: p.name)
def test_cli_input_json(path: Path) -> None:
    args = ["heartbeat", "--generate-cli-skeleton", "output", "--cli-input-json"]
    run_cli([*args, f"file://{path}"], path.parent).check(path)


@pytest.mark.parametrize("path", corpus("heartbeat-yaml"), ids=lambda p: p.name)
def test_cli_input_yaml(path: Path) -> None:
    args = ["heartbeat", "--generate-cli-skeleton", "output", "--cli-input-yaml"]
    run_cli([*args, f"file://{path}"], path.parent).check(path)


@pytest.mark.parametrize("path", corpus("quotas"), ids=lambda p: p.name)
def test_plan_quota_files(path: Path, tmp_path: Path) -> None:
    run_cli(
        ["plan", "--workers", "10", "--interval", "5", "--quotas-file", str(path)], tmp_path
    ).check(path)


@pytest.mark.parametrize("path", corpus("results"), ids=lambda p: p.name)
def test_results_files(path: Path, tmp_path: Path) -> None:
    outcome = run_cli(["report", str(path), "--reports-dir", "reports"], tmp_path)
    outcome.check(path)
    assert outcome.code != 0, outcome.stdout  # none of these is a results file to draw
    gates = str(ROOT / "gates" / "ci.yaml")
    run_cli(["gate", str(path), "--gates", gates], tmp_path).check(path)
    # Nothing outside the reports directory.
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["reports"])


@pytest.fixture(scope="module")
def placeholders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    where = tmp_path_factory.mktemp("corpus-flags")
    profile = where / "profile.yaml"
    profile.write_text("name: corpus\nrun_time_s: 2\nfleet: {workers: 1, spawn_rate: 1}\n")
    gates = where / "gates.yaml"
    gates.write_text("gates:\n  plan.tasks_timed_out: {max: 0}\n")
    plan = run_cli(["plan", "--workers", "10", "--interval", "5", "--save", "r.json"], where)
    assert plan.code == 0, plan.stderr
    with not_swf_endpoint() as url:
        yield {
            "ENDPOINT": url,
            "PROFILE": str(profile),
            "RESULTS": str(where / "r.json"),
            "GATES": str(gates),
        }


def _command_lines() -> list[str]:
    lines = (CORPUS / "flags.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("line", _command_lines(), ids=lambda line: line[:60])
def test_command_lines(line: str, placeholders: dict[str, str], tmp_path: Path) -> None:
    args = [placeholders.get(arg, arg) for arg in shlex.split(line)]
    outcome = run_cli(args, tmp_path)
    outcome.check(line)
    assert outcome.code != 0, outcome.stdout  # every line is a mistake of some kind
    # --run-id ../../escaped and the like: nothing is written above the working folder.
    assert not (tmp_path.parent / "escaped").exists()
