"""The pytest plugin (entry point `pytest11`): each conformance scenario file is one test item.

Wiring only; the run's state lives in `ConformanceSession`. Only YAML files under a
`scenarios/conformance` folder are collected, so the plugin never touches other tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swfbench import redact
from swfbench.conformance.report import describe_failure, one_line
from swfbench.conformance.runner import ScenarioResult
from swfbench.conformance.scenario import (
    Scenario,
    ScenarioFileError,
    is_scenario_path,
    load_scenario,
)
from swfbench.conformance.session import (
    DEFAULT_CONCURRENCY,
    ConformanceOptions,
    ConformanceSession,
)
from swfbench.embedded import DEFAULT_ENGINE, ENGINES
from swfbench.errors import SwfbenchError
from swfbench.identities import load_auth_file
from swfbench.options import duration, duration_or_zero, whole_number
from swfbench.target import TargetSpec
from swfbench.timeouts import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ClientTimeouts

SESSION_KEY = pytest.StashKey[ConformanceSession]()


class ScenarioFailed(Exception):
    def __init__(self, result: ScenarioResult, wire: list[dict[str, Any]]) -> None:
        super().__init__(one_line(result, wire))
        self.result = result
        self.wire = wire
        """The wire findings no known deviation lists."""


class ScenarioFixed(Exception):
    """A scenario listed as a known deviation passed: the list must be updated."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("swfbench", "swfbench conformance scenarios")
    group.addoption(
        "--swf-endpoint-url",
        metavar="URL",
        help="run conformance scenarios against this SWF-compatible endpoint",
    )
    group.addoption(
        "--swf-aws",
        action="store_true",
        help="run conformance scenarios against real Amazon SWF (costs money)",
    )
    group.addoption("--swf-region", help="AWS region (default: us-east-1 for emulators)")
    group.addoption(
        "--swf-aws-profile",
        metavar="NAME",
        help="with --swf-aws: the AWS named profile of the run's own calls (default: AWS_PROFILE)",
    )
    group.addoption(
        "--swf-engine",
        choices=sorted(ENGINES),
        default=DEFAULT_ENGINE,
        help=f"engine of the embedded target (default: {DEFAULT_ENGINE})",
    )
    group.addoption(
        "--swf-engine-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="a flag for the embedded engine, e.g. --swf-engine-arg=--clock "
        "--swf-engine-arg=virtual (repeatable)",
    )
    group.addoption(
        "--swf-known-deviations",
        metavar="PATH",
        help="the target's known deviations (default for the embedded target: "
        "conformance/targets/<engine>.yaml)",
    )
    group.addoption(
        "--swf-timing-slack",
        type=duration_or_zero,
        metavar="S",
        help="seconds added to every timing window (default: the list's, else 1/2/30 s for "
        "embedded/endpoint/aws)",
    )
    group.addoption(
        "--swf-connect-timeout",
        type=duration,
        default=CONNECT_TIMEOUT_S,
        metavar="S",
        help=f"client connect timeout of every SWF call (default {CONNECT_TIMEOUT_S:g} s)",
    )
    group.addoption(
        "--swf-read-timeout",
        type=duration,
        default=READ_TIMEOUT_S,
        metavar="S",
        help=f"client read timeout of every SWF call (default {READ_TIMEOUT_S:g} s)",
    )
    group.addoption(
        "--swf-auth",
        metavar="FILE",
        help="identities (auth file): the embedded engine enforces them, scenarios sign as "
        "them (e.g. conformance/access/auth.yaml)",
    )
    group.addoption(
        "--swf-identity",
        metavar="NAME",
        help="with --swf-auth: the identity of the run's own calls (default: the file's default)",
    )
    group.addoption(
        "--swf-restricted-profile",
        metavar="NAME",
        help="with --swf-aws: an AWS profile whose credentials are the identity `restricted`",
    )
    group.addoption("--swf-results", metavar="PATH", help="write the JSON results here")
    group.addoption(
        "--swf-concurrency",
        type=whole_number(1),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"scenarios run at once (default: {DEFAULT_CONCURRENCY})",
    )
    group.addoption("--swf-workers", dest="swf_workers_renamed", help=argparse.SUPPRESS)
    group.addoption(
        "--swf-scenario-root",
        action="append",
        default=[],
        metavar="DIR",
        help="YAML files under DIR are scenarios too, their ids relative to DIR (repeatable; "
        "files under scenarios/conformance/ and files named on the command line always are)",
    )


def _options(config: pytest.Config) -> ConformanceOptions:
    def get(name: str) -> Any:
        return config.getoption(name)

    known = get("swf_known_deviations")
    results = get("swf_results")
    auth = get("swf_auth")
    return ConformanceOptions(
        spec=TargetSpec(
            endpoint_url=get("swf_endpoint_url"),
            aws=bool(get("swf_aws")),
            region=get("swf_region"),
            engine=get("swf_engine"),
            engine_args=tuple(get("swf_engine_arg")),
            timeouts=ClientTimeouts(
                connect_s=get("swf_connect_timeout"), read_s=get("swf_read_timeout")
            ),
            auth=load_auth_file(auth) if auth else None,
            identity=get("swf_identity"),
            profile=get("swf_aws_profile"),
        ),
        restricted_profile=get("swf_restricted_profile"),
        known_deviations=Path(known) if known else None,
        timing_slack=get("swf_timing_slack"),
        results=Path(results) if results else None,
        concurrency=get("swf_concurrency"),
        roots=(config.rootpath, Path.cwd()),
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("swf_workers_renamed") is not None:
        raise pytest.UsageError("--swf-workers is --swf-concurrency N: scenarios run at once")
    redact.install()  # pytest shows captured log records: none carries a credential
    try:
        config.stash[SESSION_KEY] = ConformanceSession(_options(config))
    except SwfbenchError as exc:
        raise pytest.UsageError(str(exc)) from None


def scenario_roots(config: pytest.Config) -> list[Path]:
    """Where scenarios are besides `scenarios/conformance/` folders: the --swf-scenario-root
    folders, and the folder of each YAML file named on the command line."""
    roots = [Path(root) for root in config.getoption("swf_scenario_root")]
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if path.suffix in (".yaml", ".yml"):
            roots.append(path.parent)
    return roots


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    roots = scenario_roots(parent.config)
    if is_scenario_path(file_path, roots):
        scenario_file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        scenario_file.roots = tuple(roots)
        return scenario_file
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(SESSION_KEY, None)
    if state is None:
        return
    state.close()
    if state.started and state.options.results is not None:
        state.write_results(state.options.results)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(SESSION_KEY, None)
    if state is None or not state.started:
        return
    counts = state.to_dict()["summary"]
    text = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n or k != "not_run")
    target = state.target.description if state.target else str(state.error)
    terminalreporter.write_line(f"swfbench conformance on {target}: {text}")
    if state.options.results is not None:
        terminalreporter.write_line(f"swfbench conformance results: {state.options.results}")


class ScenarioFile(pytest.File):
    roots: tuple[Path, ...] = ()
    """Where this file's scenario id is relative to, when not under scenarios/conformance/."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = load_scenario(self.path, self.roots)
        except ScenarioFileError as exc:
            raise self.CollectError(str(exc)) from None
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        state = self.config.stash[SESSION_KEY]
        state.start([i.scenario for i in self.session.items if isinstance(i, ScenarioItem)])
        result = state.result(self.scenario.id)
        outcome = state.outcome(result)
        self.user_properties.append(("outcome", outcome))
        if outcome == "skipped":
            pytest.skip(f"{self.scenario.id} {result.skipped}")
        if outcome == "not_run":
            pytest.skip(f"not run: {self.scenario.id} {result.not_run}")
        if outcome == "known_deviation":
            reason = state.deviations.reasons.get(self.scenario.id) or "known wire deviations"
            pytest.xfail(f"known deviation: {reason} ({one_line(result)})")
        if outcome == "fixed":
            raise ScenarioFixed(
                f"{self.scenario.id} passed but {state.deviations.path} lists it as a known "
                f"deviation ({state.deviations.reasons[self.scenario.id]}): remove it from the list"
            )
        if outcome == "fail":
            unknown = [f for f in result.wire if state.deviations.wire_reason(f) is None]
            raise ScenarioFailed(result, unknown)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return describe_failure(excinfo.value.result, excinfo.value.wire)
        if isinstance(excinfo.value, ScenarioFixed | SwfbenchError):
            return f"{self.scenario.path}: {excinfo.value}"
        # Not the scenario's doing: one line, not pytest's page of harness frames.
        return f"{self.scenario.path}: internal error: {excinfo.value!r}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"conformance scenario {self.scenario.id}"
