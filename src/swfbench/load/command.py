"""`swfbench load`: run a fleet profile with Locust against a target and write its results.

Locust runs as a child process (`python -m locust -f <package locustfile> --headless ...`), so
its own distributed mode (`--processes`, `--master`, `--worker`) works unchanged. This process
owns the target (an embedded server lives as long as the run), the run directory
`reports/<run-id>/`, and the closing audit of the domain.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from swfbench import lifeline
from swfbench.activity import bootstrap
from swfbench.client import SWFClient
from swfbench.embedded import free_port
from swfbench.errors import ExitCode, SwfbenchError, UsageError
from swfbench.gates import Gate, evaluate, junit_xml, load_gates, render_table, verdicts_to_dict
from swfbench.interrupts import Interrupts
from swfbench.load.profile import Profile, load_profile
from swfbench.load.results import metrics_skeleton
from swfbench.options import add_target_options, duration, target_spec
from swfbench.report import write_report
from swfbench.results import RunStatus, load_results, new_run_id, write_text
from swfbench.target import Target, open_target

RESULTS_FILE = "results.json"
JUNIT_FILE = "junit.xml"
HURRY_GRACE_S = 5.0
"""After a second signal, how long Locust has to write its results before it is killed."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "load",
        help="run a fleet of simulated activity workers (Locust) and measure heartbeats",
        description="Run the fleet profile with Locust against the target: every simulated "
        "worker starts its own activity task through the real SWF flow, heartbeats it on an "
        "absolute schedule and ends it as the profile says. Prints a progress line every few "
        "seconds and writes results.json, an HTML report (index.html), Locust's CSV files and "
        "its own HTML page under REPORTS/RUN-ID/. With --gates, judges the run's figures "
        "against the gates at the end (table, verdicts in the report and in junit.xml) and, "
        "with --stop-after, stops the run once an upper limit has failed that long. Ctrl-C "
        "stops the run gracefully (its users, audit and results; marked interrupted, exit "
        "130), a second Ctrl-C at once. Failed calls are measured, not fatal.",
    )
    parser.add_argument("--profile", required=True, help="fleet profile YAML")
    parser.add_argument(
        "--run-time", type=duration, default=None, metavar="S", help="seconds (or 30s, 2m)"
    )
    parser.add_argument(
        "--gates", type=Path, metavar="GATES.yaml", help="judge the run against these gates"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="BASELINE.json",
        help="saved load results for relative gates (max_increase, max_decrease)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="with --gates: judge the figures of a run that was interrupted or incomplete "
        "instead of failing it (the run.status gate still names how it ended)",
    )
    parser.add_argument(
        "--stop-after",
        type=duration,
        default=None,
        metavar="S",
        help="with --gates: stop early once a max or max_increase gate has failed on the run's "
        "figures so far for S seconds in a row (e.g. 30s); min gates are judged at the end",
    )
    add_run_options(parser, distributed=True, progress=5.0)
    add_target_options(parser)
    parser.set_defaults(run=run)


def add_run_options(parser: Any, *, distributed: bool, progress: float) -> None:
    """How a fleet runs with Locust, for `load` and `capacity`: send path, processes, where
    results go; with `distributed`, Locust's own master and worker roles."""
    parser.add_argument("--send-mode", choices=["fast", "boto3"], help="heartbeat send path")
    parser.add_argument("--processes", type=int, default=None, help="Locust worker processes")
    if distributed:
        parser.add_argument(
            "--master", action="store_true", help="be a Locust master for workers elsewhere"
        )
        parser.add_argument("--expect-workers", type=int, default=1, help="with --master")
        parser.add_argument(
            "--worker", action="store_true", help="be a Locust worker of a master elsewhere"
        )
        parser.add_argument("--master-host", default="127.0.0.1", help="with --worker")
        parser.add_argument("--master-port", type=int, default=5557, help="with --master/--worker")
    else:
        parser.set_defaults(master=False, worker=False)
    parser.add_argument("--reports-dir", default="reports", help="default: reports")
    parser.add_argument("--run-id", default=None, help="default: time, kind and a suffix")
    parser.add_argument(
        "--progress", type=float, default=progress, help=f"seconds between lines ({progress:g})"
    )
    parser.add_argument(
        "--locust-args", default="", help="extra Locust arguments, one shell-quoted string"
    )


def locustfile_path() -> str:
    return str(resources.files("swfbench.load").joinpath("locustfile.py"))


def _host(target: Target) -> str:
    if target.endpoint_url is not None:
        return target.endpoint_url
    return f"https://swf.{target.region}.amazonaws.com"


def locust_command(
    args: argparse.Namespace, profile: Profile, host: str | None, region: str, run_dir: Path
) -> list[str]:
    command = [
        sys.executable, "-m", "locust", "-f", locustfile_path(),
        "--swf-profile", str(Path(profile.path).resolve()),
        "--swf-region", region,
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if args.send_mode:
        command += ["--swf-send-mode", args.send_mode]
    if args.worker:
        command += ["--worker", "--master-host", args.master_host]
        command += ["--master-port", str(args.master_port)]
        return command + shlex.split(args.locust_args)
    assert host is not None
    command += [
        "--headless", "--only-summary", "--host", host,
        "--csv", str(run_dir / "locust"), "--html", str(run_dir / "locust.html"),
        "--swf-results", str(run_dir / RESULTS_FILE),
        "--swf-run-id", run_dir.name,
        "--swf-progress", str(args.progress),
    ]  # fmt: skip
    if args.processes:
        # The master and the workers it forks talk over TCP, on 5557 unless told: a free port,
        # so that two runs on one machine do not collide.
        port = str(free_port())
        command += ["--processes", str(args.processes)]
        command += ["--master-bind-port", port, "--master-port", port]
    if args.master:
        command += ["--master", "--expect-workers", str(args.expect_workers)]
        command += ["--master-bind-port", str(args.master_port)]
    return command + shlex.split(args.locust_args)


class LocustControl:
    """The Locust child of a run, in a session of its own (a terminal's Ctrl-C reaches swfbench
    only), dying with swfbench (parent-death signal, passed on to its --processes workers), and
    told by swfbench how to stop: once, through a pipe that loses nothing said before Locust was
    ready to listen (see hooks._listen)."""

    def __init__(self, command: list[str], *, listens: bool) -> None:
        read_fd, self._write_fd = os.pipe()
        self.listens = listens
        """A local run or master reads the pipe; a --worker is stopped with SIGTERM instead."""
        if listens:
            command = [*command, "--swf-control-fd", str(read_fd)]
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(read_fd,),
                env={**os.environ, lifeline.ENV: str(int(signal.SIGKILL))},
                preexec_fn=lifeline.for_child(signal.SIGKILL),
            )
        except BaseException:
            os.close(self._write_fd)
            raise
        finally:
            os.close(read_fd)
        self._open = True

    def tell(self, by: str, count: int) -> None:
        """A signal reached swfbench: pass it on, gracefully the first time, "now" after."""
        if not self._open:
            return
        if not self.listens:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM if count == 1 else signal.SIGKILL)
            return
        word = "stop" if count == 1 else "now"
        with contextlib.suppress(OSError):  # Locust gone: nothing to tell
            os.write(self._write_fd, f"{word} {by}\n".encode())

    def wait(self, interrupts: Interrupts, label: str) -> int:
        """Locust's exit code. In a hurry (a second signal), Locust gets `HURRY_GRACE_S` to write
        what it has, then its whole process group is killed."""
        deadline: float | None = None
        seen = 0
        while True:
            try:
                return self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            if len(interrupts.received) > seen:  # said here: a signal handler must not print
                seen = len(interrupts.received)
                print(
                    f"{label}: {interrupts.received[-1]}: "
                    + (
                        "stopping at once, with what the run has"
                        if interrupts.hurried
                        else "stopping gracefully (users, audit, results); a second "
                        "Ctrl-C stops at once"
                    ),
                    flush=True,
                )
            if interrupts.hurried and deadline is None:
                deadline = time.monotonic() + HURRY_GRACE_S
            if deadline is not None and time.monotonic() > deadline:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to Locust and its forked workers (its process group, led by a live Locust)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        """After Locust exited: signals are no longer passed on."""
        if self._open:
            self._open = False
            os.close(self._write_fd)


def run_locust(
    command: list[str], interrupts: Interrupts, label: str, *, listens: bool = True
) -> int:
    """Run Locust to its end and return its exit code. From its start on, signals no longer
    raise: they are passed on to it (see `LocustControl`) and recorded in `interrupts`."""
    control = LocustControl(command, listens=listens)
    interrupts.hold(control.tell)
    try:
        return control.wait(interrupts, label)
    finally:
        interrupts.release()
        control.kill()  # only if an unexpected error left it running
        control.close()


def audit_domain(client: SWFClient, domain: str, since: float, close: bool) -> dict[str, Any]:
    """Executions of this run still open in the domain (started since `since`); close them."""
    oldest = datetime.datetime.fromtimestamp(since - 1, tz=datetime.UTC)
    open_ids: list[dict[str, str]] = []
    params: dict[str, Any] = {"domain": domain, "startTimeFilter": {"oldestDate": oldest}}
    while True:
        page = client.call("ListOpenWorkflowExecutions", **params)
        open_ids += [info["execution"] for info in page.get("executionInfos", [])]
        if not page.get("nextPageToken"):
            break
        params["nextPageToken"] = page["nextPageToken"]
    closed = 0
    if close:
        for execution in open_ids:
            try:
                client.call(
                    "TerminateWorkflowExecution",
                    domain=domain,
                    reason="swfbench load audit",
                    **execution,
                )
                closed += 1
            except SwfbenchError:
                pass
    return {"domain": domain, "open_after_run": len(open_ids), "closed": closed}


def check_gates(args: argparse.Namespace) -> tuple[list[Gate], dict[str, Any] | None]:
    """The gates and baseline, checked before the run against the metrics every run has: a
    misspelt metric or a missing baseline fails now, not after an hour of load."""
    if args.gates is None:
        if args.stop_after or args.baseline or args.allow_incomplete:
            raise UsageError("--stop-after, --baseline and --allow-incomplete need --gates")
        return [], None
    kind, gates = load_gates(args.gates)
    baseline = load_results(args.baseline) if args.baseline else None
    skeleton = {"kind": "load", "metrics": metrics_skeleton()}
    evaluate(gates, skeleton, kind=kind, baseline=baseline, source=f"a load run ({args.gates})")
    return gates, baseline


def judge_run(
    results: dict[str, Any],
    gates: list[Gate],
    baseline: dict[str, Any] | None,
    run_dir: Path,
    *,
    allow_incomplete: bool = False,
) -> bool:
    """Apply the gates to the finished run: verdicts into the results, junit.xml, a table."""
    verdicts = evaluate(
        gates,
        results,
        baseline=baseline,
        source=str(run_dir / RESULTS_FILE),
        allow_incomplete=allow_incomplete,
    )
    results["gates"] = verdicts_to_dict(verdicts)
    write_text(run_dir / JUNIT_FILE, junit_xml(verdicts) + "\n")
    print(render_table(verdicts), flush=True)
    failed = sum(not v.passed for v in verdicts)
    print(f"swfbench load: {len(verdicts) - failed} of {len(verdicts)} gates hold", flush=True)
    return failed == 0


def run(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    if args.worker and (args.master or args.processes):
        raise UsageError("--worker excludes --master and --processes")
    if args.worker and (args.gates or args.stop_after):
        raise UsageError("--gates and --stop-after belong on the master, not on --worker")
    gates, baseline = check_gates(args)
    interrupts: Interrupts = args.interrupts
    if args.worker:
        command = locust_command(args, profile, None, args.region or "", Path("."))
        code = run_locust(command, interrupts, "swfbench load", listens=False)
        return ExitCode.INTERRUPTED if interrupts.by else code
    extra: list[str] = []
    if args.run_time:
        extra += ["--swf-run-time", str(args.run_time)]
    if args.gates and args.stop_after:
        extra += ["--swf-gates", str(args.gates), "--swf-stop-after", str(args.stop_after)]
        if args.baseline:
            extra += ["--swf-baseline", str(args.baseline)]
    results, run_dir = run_fleet(args, profile, locust_args=extra)
    held = (
        judge_run(results, gates, baseline, run_dir, allow_incomplete=args.allow_incomplete)
        if gates
        else True
    )
    report = write_report(results, Path(args.reports_dir))
    print(f"swfbench load: results in {run_dir / RESULTS_FILE}, report in {report}", flush=True)
    if interrupts.by:
        return ExitCode.INTERRUPTED  # whatever the gates say: the run is not whole
    return ExitCode.OK if held else ExitCode.GATE_FAILED


def run_fleet(
    args: argparse.Namespace,
    profile: Profile,
    *,
    run_id: str | None = None,
    locust_args: Sequence[str] = (),
) -> tuple[dict[str, Any], Path]:
    """Run the profile with Locust against the target; return the results, audit included,
    and the run directory. `locust_args` go to Locust (e.g. swfbench's own --swf-* options).

    A signal before Locust starts ends the command (`KeyboardInterrupt`: nothing ran). Once it
    runs, the first signal stops the run gracefully (Locust stops its users, closes their tasks,
    writes its results; then the domain audit) and the second at once (no audits); either way
    the results are returned, marked interrupted (see `swfbench.interrupts`)."""
    interrupts: Interrupts = args.interrupts
    run_id = run_id or args.run_id or new_run_id(profile.name)
    run_dir = Path(args.reports_dir) / run_id
    with open_target(target_spec(args)) as target:
        client = SWFClient(target)
        bootstrap(client, profile.domain)
        run_dir.mkdir(parents=True, exist_ok=True)
        print(
            f"swfbench {args.command}: profile {profile.name} against {target.description}; "
            f"reports in {run_dir}",
            flush=True,
        )
        started = time.time()
        command = locust_command(args, profile, _host(target), target.region, run_dir)
        code = run_locust([*command, *locust_args], interrupts, f"swfbench {args.command}")
        try:
            with interrupts.abortable():
                audit = audit_domain(client, profile.domain, started, close=target.kind != "aws")
        except KeyboardInterrupt:
            audit = {
                "domain": profile.domain,
                "status": "skipped",
                "reason": f"stopped at once by {interrupts.describe()}",
                "open_after_run": None,
                "closed": 0,
            }
        target_record = target.to_dict()
    results_path = run_dir / RESULTS_FILE
    if not results_path.exists():
        raise LocustFailed(f"Locust exited with code {code} and wrote no results")
    results: dict[str, Any] = json.loads(results_path.read_text("utf-8"))
    results["audit"] = audit
    # The profile as it was run, so that the report shows what produced its figures.
    results["profile"]["text"] = Path(profile.path).read_text("utf-8")
    results["target"] = target_record  # Locust saw only an endpoint; this knows the engine
    # Executions the domain audit found open and could not close (real SWF: only reported).
    results["metrics"]["audit"] = {"left_open": _left_open(results, audit)}
    results["locust_exit_code"] = code
    status = RunStatus(checked=results["heartbeat"]["ok"])
    if results.get("stopped_early"):
        status.interrupt("early_stop", results["stopped_early"]["reason"])
    if interrupts.by:
        status.interrupt(interrupts.by, _interruption(results, interrupts))
    if audit.get("status") == "skipped":
        status.lack(f"audit skipped: {audit['reason']}")
    results["status"] = status.to_dict()
    results["reports"] = {"csv_prefix": str(run_dir / "locust"), "html": "locust.html"}
    print(
        f"swfbench {args.command}: audit: {audit['open_after_run']} executions open after the "
        f"run, {audit['closed']} closed"
        if audit.get("status") != "skipped"
        else f"swfbench {args.command}: audit skipped: {audit['reason']}",
        flush=True,
    )
    if results.get("stopped_early"):
        print(
            f"swfbench {args.command}: stopped early: {results['stopped_early']['reason']}",
            flush=True,
        )
    if interrupts.by:
        print(f"swfbench {args.command}: {RunStatus.of(results).describe()}", flush=True)
    return results, run_dir


def _interruption(results: dict[str, Any], interrupts: Interrupts) -> str:
    """One line: when the run was stopped and how."""
    stopped = results.get("interrupted")
    when = f" {stopped['at_s']:g} s into the run" if stopped else ""
    how = "at once" if interrupts.hurried else "gracefully"
    return f"stopped{when}, {how}"


def _left_open(results: dict[str, Any], audit: dict[str, Any]) -> int:
    """Executions the run left open: those the domain audit found and could not close; when it
    was skipped, at least the tasks the workers' own audit left open."""
    if audit.get("open_after_run") is not None:
        return int(audit["open_after_run"] - audit["closed"])
    tasks = results["tasks"]
    return int(tasks["ends"].get("interrupted", 0) - tasks["closed_by_audit"])


class LocustFailed(SwfbenchError):
    exit_code = ExitCode.OTHER
