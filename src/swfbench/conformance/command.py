"""`swfbench conform`: run the conformance scenarios through pytest with this package's plugin.

Exit codes: 0 when every scenario passed, failed as a known deviation or was skipped (the target
lacks what it requires), 1 when any failed or was fixed (passed although listed), 252 for usage errors (bad flags, invalid scenario files),
and the target's own codes when it cannot be reached (249, 250, 253).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import pytest

from swfbench.conformance.deviations import OUTCOMES, Outcome, load_deviations
from swfbench.conformance.plugin import SESSION_KEY, ScenarioItem
from swfbench.conformance.runner import ScenarioResult
from swfbench.conformance.scenario import SCENARIO_ROOT, scenario_root
from swfbench.conformance.session import (
    DEFAULT_CONCURRENCY,
    SCENARIO_THREADS,
    ConformanceSession,
)
from swfbench.errors import ExitCode, SwfbenchError, UsageError
from swfbench.interrupts import Interrupts
from swfbench.options import (
    add_target_options,
    duration_or_zero,
    renamed,
    target_spec,
    whole_number,
)
from swfbench.report.render import write_run
from swfbench.results import RunStatus, check_writable, new_run_id

DEFAULT_PATHS = ("scenarios/conformance",)
PLUGIN = "swfbench.conformance.plugin"
LABELS: dict[Outcome, str] = {
    "pass": "pass",
    "fail": "FAIL",
    "known_deviation": "known deviation",
    "fixed": "FIXED",
    "skipped": "skipped",
    "not_run": "not run",
}


EXAMPLES = """\
examples:
  swfbench conform                                     # every scenario, embedded engine
  swfbench conform --engine moto                       # where plain moto departs from SWF
  swfbench conform scenarios/conformance/heartbeat -k cancel
  swfbench conform --quotas aws scenarios/conformance/quotas
  swfbench conform --auth scenarios/auth/fleet.yaml scenarios/conformance/access
  swfbench conform --endpoint-url http://127.0.0.1:4566 --known-deviations my-target.yaml
  swfbench conform --aws --profile dev --restricted-profile dev-restricted
  pytest scenarios/conformance --swf-endpoint-url http://127.0.0.1:4566  # the same, in pytest
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conform",
        help="run the conformance scenarios against a target",
        description="Run the YAML conformance scenarios (all at once) against the embedded "
        "target, an SWF-compatible endpoint or real SWF, and compare each outcome with the "
        "target's known deviations. Writes JSON results and JUnit XML under --reports-dir. "
        "Scenarios that require quotas run only with --quotas aws (never against real "
        "SWF); the access scenarios need identities (--auth FILE, or --aws "
        "--restricted-profile NAME); the others are reported skipped. "
        "Interrupted, scenarios not finished are reported not run. Exit 0 when every scenario "
        "that ran passed or failed as a known deviation, 1 on a failure, a fixed deviation or "
        "a run that checked nothing; an invalid scenario file is a usage error.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"scenario files or folders (default: {DEFAULT_PATHS[0]})",
    )
    parser.add_argument(
        "-k",
        dest="keyword",
        metavar="EXPR",
        help="run only the scenarios whose ids match EXPR, as pytest -k (default: all)",
    )
    parser.add_argument(
        "--known-deviations",
        metavar="FILE",
        help="the target's known-deviation list (default: conformance/targets/ENGINE.yaml "
        "for the embedded target, else none)",
    )
    parser.add_argument(
        "--timing-slack",
        type=duration_or_zero,
        metavar="DURATION",
        help="added to every timing window a scenario checks (default: the known-deviation "
        "list's, else 1s embedded, 2s at an endpoint, 30s on real SWF)",
    )
    parser.add_argument(
        "--reports-dir",
        default="reports",
        metavar="DIR",
        help="results go to DIR/<run-id>/ (default: reports)",
    )
    parser.add_argument(
        "--concurrency",
        type=whole_number(1),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"scenarios run at once (default: {DEFAULT_CONCURRENCY})",
    )
    renamed(parser, "--workers", "is --concurrency N: how many scenarios run at once")
    parser.add_argument(
        "--restricted-profile",
        metavar="NAME",
        help="with --aws: an AWS profile of a second, restricted identity (IAM policy "
        "conformance/access/restricted-policy.json) for the access scenarios (default: none, "
        "those scenarios are skipped)",
    )
    add_target_options(parser)
    parser.set_defaults(run=run)


class Progress:
    """A pytest plugin of the command's own: a progress line per finished scenario, the
    one-line messages of invalid scenario files, and the failures' reports at the end."""

    def __init__(self, out: TextIO, interrupts: Interrupts | None = None) -> None:
        self.out = out
        self.interrupts = interrupts
        self.collect_errors: list[str] = []
        self.failures: list[str] = []
        self.outcomes: dict[str, Outcome] = {}
        self.total = 0
        self.state: ConformanceSession | None = None
        self._lock = threading.Lock()

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.state = config.stash.get(SESSION_KEY, None)
        if self.state is not None:
            self.state.listeners.append(self.finished)
            self.state.interrupts = self.interrupts

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr).strip())

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = sum(isinstance(item, ScenarioItem) for item in session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.failed:
            self.failures.append(str(report.longrepr))

    def finished(self, result: ScenarioResult, outcome: Outcome) -> None:
        # Called from the scenario's thread as soon as it ends, in the order they end.
        with self._lock:
            self.outcomes[result.id] = outcome
            detail = {"skipped": result.skipped, "not_run": result.not_run}.get(
                outcome, f"{result.duration_s:.1f} s"
            )
            self.out.write(
                f"[{len(self.outcomes):{len(str(self.total))}d}/{self.total}] "
                f"{LABELS[outcome]:<15} {result.id} ({detail})\n"
            )
            self.out.flush()


def pytest_args(args: argparse.Namespace, results: Path, junit: Path) -> list[str]:
    """The pytest command line equivalent to the `conform` flags."""
    spec = target_spec(args)  # raises UsageError for --aws with --endpoint-url
    paths = list(args.paths) or [p for p in DEFAULT_PATHS if Path(p).exists()]
    if not paths:
        raise UsageError(f"no {DEFAULT_PATHS[0]} folder here: pass scenario files or folders")
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"no such scenario file or folder: {path}")
    roots = [root for root in map(_outside_root, paths) if root is not None]
    if args.known_deviations:
        load_deviations(Path(args.known_deviations))  # a bad list is a usage error, early
    argv = [
        *paths,
        # The command prints its own progress; a project's pytest addopts must not leak in.
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        # pytest-benchmark, where installed, would leave a .benchmarks folder in the user's
        # working directory.
        "-p",
        "no:benchmark",
        # Progress lines are written from the scenarios' threads while items run.
        "--capture=no",
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=swfbench-conformance",
        f"--swf-results={results}",
        f"--swf-engine={spec.engine}",
        f"--swf-concurrency={args.concurrency}",
        *(f"--swf-scenario-root={root}" for root in roots),
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", PLUGIN]
    if args.keyword:
        argv += ["-k", args.keyword]
    argv += [f"--swf-engine-arg={arg}" for arg in spec.engine_args]
    argv += [f"--swf-connect-timeout={spec.timeouts.connect_s}"]
    argv += [f"--swf-read-timeout={spec.timeouts.read_s}"]
    if spec.endpoint_url:
        argv.append(f"--swf-endpoint-url={spec.endpoint_url}")
    if spec.aws:
        argv.append("--swf-aws")
    if spec.region:
        argv.append(f"--swf-region={spec.region}")
    if spec.profile:
        argv.append(f"--swf-aws-profile={spec.profile}")
    if args.known_deviations:
        argv.append(f"--swf-known-deviations={args.known_deviations}")
    if args.timing_slack is not None:
        argv.append(f"--swf-timing-slack={args.timing_slack}")
    if spec.auth is not None:
        argv.append(f"--swf-auth={spec.auth.path.resolve()}")
    if spec.identity is not None:
        argv.append(f"--swf-identity={spec.identity}")
    if args.restricted_profile:
        if not spec.aws:
            raise UsageError("--restricted-profile needs --aws: it names an AWS profile")
        argv.append(f"--swf-restricted-profile={args.restricted_profile}")
    return argv


def _outside_root(path: str) -> Path | None:
    """A scenario folder (or file) named outside any scenarios/conformance/ folder: the root
    its scenario ids are relative to. None for paths a scenarios/conformance/ folder covers."""
    given = Path(path)
    if (given.parent.name, given.name) == SCENARIO_ROOT or scenario_root(given) is not None:
        return None
    if given.is_dir() and any(
        (p.parent.name, p.name) == SCENARIO_ROOT for p in given.rglob("conformance")
    ):
        return None  # e.g. `scenarios`: its conformance/ folder holds the scenarios
    return given if given.is_dir() else given.parent


def _write_page(results: Path, run_dir: Path) -> Path:
    """The run's HTML page beside its results, under the run's own folder name."""
    document = json.loads(results.read_text(encoding="utf-8"))
    document["run_id"] = run_dir.name
    # Should the page not fit (disk full), the results say so (status: report not written).
    return write_run(document, run_dir.parent)


class SignalWatch:
    """Passes the signals swfbench receives on to the conformance session. A signal handler
    must not take locks (the main thread may hold them), so it only records; this thread
    tells the session, which wakes the scenarios' waits."""

    def __init__(self, interrupts: Interrupts, progress: Progress) -> None:
        self.interrupts = interrupts
        self.progress = progress
        self._told = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="swfbench-signals", daemon=True)

    def __enter__(self) -> SignalWatch:
        self.interrupts.hold()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            state, received = self.progress.state, len(self.interrupts.received)
            if state is not None and received > self._told:
                self._told = received
                hurry = received >= 2
                state.interrupt(self.interrupts.received[0], hurry=hurry)
                print(
                    f"swfbench conform: {self.interrupts.received[-1]}: "
                    + (
                        "stopping at once"
                        if hurry
                        else "stopping: scenarios not finished are not run; a second Ctrl-C "
                        "stops at once"
                    ),
                    file=sys.stderr,
                    flush=True,
                )


def _leave_stuck_scenarios(grace_s: float = 2.0) -> None:
    """Stopped at once, with everything written: a scenario still blocked in a call to a
    target that does not answer would hold the interpreter's exit (it joins the scenarios'
    threads) until the call's read timeout. Give them `grace_s`, then leave without them."""
    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread.name.startswith(SCENARIO_THREADS):
            thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and t.name.startswith(SCENARIO_THREADS) for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)


def _drop_run_dir(run_dir: Path) -> None:
    """A run that never started leaves no folder of its own behind (pytest may have written
    an empty junit.xml in it)."""
    shutil.rmtree(run_dir, ignore_errors=True)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    # sys.stdout as it is when the command runs, not when this module was imported (the CLI
    # imports commands on demand, possibly while a test captures stdout).
    out = out or sys.stdout
    interrupts: Interrupts = args.interrupts
    run_dir = Path(args.reports_dir) / new_run_id("conformance")
    results, junit = run_dir / "results.json", run_dir / "junit.xml"
    # Bad flags are one line before anything is made (no empty run folder left behind)...
    argv = pytest_args(args, results, junit)
    # ...and so is a full disk, no permission or a file in the way.
    check_writable(run_dir)
    progress = Progress(out, interrupts)
    started = time.monotonic()
    with SignalWatch(interrupts, progress):
        code = pytest.main(argv, plugins=[progress])
    state = progress.state
    if progress.collect_errors:
        # Invalid scenario files: one line each, then exit as a usage error.
        _drop_run_dir(run_dir)
        for message in progress.collect_errors:
            print(f"swfbench: error: {message}", file=sys.stderr)
        return ExitCode.USAGE
    if code == pytest.ExitCode.USAGE_ERROR or state is None:
        _drop_run_dir(run_dir)
        raise UsageError("pytest refused the arguments (see above)")
    if state.error is not None:
        raise state.error
    if not state.started:
        _drop_run_dir(run_dir)
        if interrupts.by:
            raise KeyboardInterrupt  # stopped before a scenario was selected: nothing ran
        raise UsageError(
            "no scenario selected" + (f" by -k {args.keyword}" if args.keyword else "")
        )
    for failure in progress.failures:
        out.write("\n" + failure + "\n")
    counts = dict.fromkeys(OUTCOMES, 0)
    for outcome in progress.outcomes.values():
        counts[outcome] += 1
    summary = ", ".join(f"{n} {LABELS[k].lower()}" for k, n in counts.items() if n)
    target = f"on {state.target.description}" if state.target else "(no target opened)"
    page = _write_page(results, run_dir)
    status = RunStatus.of(json.loads(results.read_text(encoding="utf-8")))
    out.write(
        f"\n{sum(counts.values())} scenarios {target} in {time.monotonic() - started:.1f} s: "
        f"{summary}\n"
        + ("" if status.whole else f"status:  {status.describe()}\n")
        + f"results: {results}\njunit:   {junit}\nreport:  {page}\n"
    )
    out.flush()
    if interrupts.hurried:
        _leave_stuck_scenarios()
    if interrupts.by or code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.INTERRUPTED
    unexplained = code == pytest.ExitCode.TESTS_FAILED and counts["fail"] == counts["fixed"] == 0
    if unexplained:
        raise SwfbenchError("a scenario item failed outside its steps (see above)")
    if status.checked == 0:
        print("swfbench: no scenario ran to its end: nothing was checked", file=sys.stderr)
        return ExitCode.GATE_FAILED
    return ExitCode.OK if counts["fail"] == counts["fixed"] == 0 else ExitCode.GATE_FAILED
