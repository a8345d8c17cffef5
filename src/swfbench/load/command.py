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
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from swfbench import lifeline
from swfbench.activity import bootstrap
from swfbench.client import SWFClient, with_retries
from swfbench.embedded import free_port
from swfbench.errors import ExitCode, SwfbenchError, SWFError, UsageError
from swfbench.gates import (
    Gate,
    Verdict,
    evaluate,
    junit_xml,
    load_gates,
    render_table,
    status_verdict,
    verdicts_to_dict,
)
from swfbench.interrupts import Interrupts
from swfbench.load.fleet import BOOTSTRAP_ATTEMPTS
from swfbench.load.profile import Profile, load_profile
from swfbench.load.results import AUDIT_PENDING, empty_results, metrics_skeleton
from swfbench.options import (
    add_target_options,
    client_timeouts,
    duration,
    duration_or_zero,
    port,
    positive_float,
    target_spec,
    whole_number,
)
from swfbench.report.render import write_run
from swfbench.results import (
    RunStatus,
    check_writable,
    claim_run_dir,
    load_results,
    new_run_id,
    run_id_flag,
)
from swfbench.sessions import resolve_aws, without_aws_environment
from swfbench.target import EMULATOR_REGION, open_target

RESULTS_FILE = "results.json"
JUNIT_FILE = "junit.xml"
HURRY_GRACE_S = 5.0
"""After a second signal, how long Locust has to write its results before it is killed."""
AUDIT_TIME_LIMIT_S = 60.0
MASTER_HOST = LOOPBACK = "127.0.0.1"
MASTER_PORT = 5557
"""Locust's own default port for its master."""


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
        "with --stop-after, stops the run once an upper limit has failed that long. Every "
        "run is judged on its status first (run.status: complete, nothing missing, a "
        "heartbeat answered OK), with or without --gates; an aborted run (Locust failed, an "
        "internal error) exits 255. Ctrl-C stops the run gracefully (its users, audit and "
        "results; marked interrupted, exit 130), a second Ctrl-C at once. Failed calls are "
        "measured, not fatal.",
        epilog="""\
examples:
  swfbench load --fleet scenarios/load/steady.yaml                   # embedded engine
  swfbench load --fleet scenarios/load/steady.yaml --users 200 --run-time 2m
  swfbench load --fleet scenarios/load/steady.yaml --gates gates/ci.yaml --stop-after 30s
  swfbench load --fleet scenarios/load/cancel-storm.yaml --engine moto
  swfbench load --fleet scenarios/load/ramp.yaml --endpoint-url http://127.0.0.1:4566
  swfbench load --fleet P.yaml --processes 2                         # Locust master + 2 workers
  swfbench load --fleet P.yaml --master --expect-workers 4           # and on other machines:
  swfbench load --fleet P.yaml --worker --master-host HOST
  locust -f loadtests/locustfile.py --host URL --swf-fleet P.yaml -u 50 -r 10 -t 5m
""",
    )
    parser.add_argument(
        "--fleet",
        metavar="FILE",
        help="required: the fleet profile (YAML): workers, pacing, details, outcomes, "
        "timeouts; ready ones in scenarios/load/",
    )
    fleet = parser.add_argument_group(
        "fleet overrides", "Locust's -u, -r and -t: each overrides the fleet profile's figure."
    )
    fleet.add_argument(
        "--users",
        type=whole_number(1),
        metavar="N",
        help="the fleet's size: N simulated workers; a ramp, steps or spike keeps its shape, "
        "peaking at N (default: the profile's)",
    )
    fleet.add_argument(
        "--spawn-rate",
        type=positive_float,
        metavar="PER_S",
        help="workers started per second (default: the profile's)",
    )
    fleet.add_argument(
        "--run-time",
        type=duration,
        metavar="DURATION",
        help="when the run ends, e.g. 90, 30s, 2m, 1h2m (default: the profile's run_time_s)",
    )
    parser.add_argument(
        "--gates",
        type=Path,
        metavar="GATES.yaml",
        help="judge the run against these gates (default: none; the run is still judged on "
        "its status, run.status)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="BASELINE.json",
        help="saved load results for relative gates, max_increase and max_decrease (default: none)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="judge the figures of a run that was interrupted or incomplete instead of failing "
        "it (the run.status gate still names how it ended)",
    )
    parser.add_argument(
        "--stop-after",
        type=duration,
        default=None,
        metavar="DURATION",
        help="with --gates: stop early once a max or max_increase gate has failed on the run's "
        "figures so far for this long in a row (e.g. 30s); min gates are judged at the end "
        "(default: never)",
    )
    add_run_options(parser, distributed=True, progress=5.0)
    add_target_options(parser)
    parser.set_defaults(run=run)


def add_run_options(parser: Any, *, distributed: bool, progress: float | str) -> None:
    """How a fleet runs with Locust, for `load` and `capacity`: send path, processes, where
    results go; with `distributed`, Locust's own master and worker roles."""
    parser.add_argument(
        "--send-mode",
        choices=["fast", "boto3"],
        help="how heartbeats are sent: fast, signed by hand over Locust's FastHttpUser, or "
        "boto3 (default: the profile's send_mode, else fast)",
    )
    parser.add_argument(
        "--processes",
        type=whole_number(1),
        metavar="N",
        help="run N Locust worker processes under a local master, for more than one core; "
        "they talk over loopback only (default: none, one process)",
    )
    if distributed:
        parser.add_argument(
            "--master", action="store_true", help="be a Locust master for workers elsewhere"
        )
        parser.add_argument(
            "--expect-workers",
            type=whole_number(1),
            metavar="N",
            help="with --master: start once N Locust workers have connected (default: 1)",
        )
        parser.add_argument(
            "--worker", action="store_true", help="be a Locust worker of a master elsewhere"
        )
        parser.add_argument(
            "--master-host",
            metavar="HOST",
            help="with --worker: the master's address (default: 127.0.0.1)",
        )
        parser.add_argument(
            "--master-port",
            type=port,
            metavar="PORT",
            help="with --master: the port it listens on; with --worker: the master's "
            f"(default: {MASTER_PORT})",
        )
        parser.add_argument(
            "--master-bind-host",
            default=LOOPBACK,
            metavar="ADDRESS",
            help="with --master: the address the master listens on for workers. Locust's "
            "protocol has no authentication: whoever reaches this address can join the run and "
            "read its profile, or send a worker a host; name a private interface, never a "
            f"public one (default: {LOOPBACK}, workers on this machine only)",
        )
    else:
        parser.set_defaults(master=False, worker=False)
    parser.add_argument(
        "--audit-time-limit",
        type=duration,
        default=AUDIT_TIME_LIMIT_S,
        metavar="DURATION",
        help="how long the closing audit may take, retries included; past it the audit is "
        f"recorded as failed (default: {AUDIT_TIME_LIMIT_S:g}s)",
    )
    parser.add_argument(
        "--reports-dir",
        default="reports",
        metavar="DIR",
        help="results and report go to DIR/RUN-ID/ (default: reports)",
    )
    parser.add_argument(
        "--run-id",
        type=run_id_flag,
        default=None,
        metavar="ID",
        help="the run's name and folder under --reports-dir; one that already holds a run is "
        "refused (default: date, time, profile and a suffix)",
    )
    parser.add_argument(
        "--progress",
        type=duration_or_zero,
        default=progress if isinstance(progress, float) else None,
        metavar="DURATION",
        help="a progress line every DURATION of the run, with the heartbeat figures of those "
        f"seconds; 0: none (default: {progress if isinstance(progress, str) else f'{progress:g}s'})",
    )
    parser.add_argument(
        "--locust-args",
        default="",
        metavar="ARGS",
        help="extra Locust arguments, one shell-quoted string, e.g. '--stop-timeout 10' "
        "(default: none)",
    )


def locustfile_path() -> str:
    return str(resources.files("swfbench.load").joinpath("locustfile.py"))


def locust_command(
    args: argparse.Namespace,
    profile: Profile,
    host: str | None,
    region: str,
    run_dir: Path,
    *,
    aws_endpoint: str | None = None,
) -> list[str]:
    """Locust's command line. The target's kind goes on it explicitly (`--swf-target`): Locust
    never guesses it from the host; for real SWF with the endpoint swfbench resolved."""
    timeouts = client_timeouts(args, profile.client_timeouts)
    command = [
        sys.executable, "-m", "locust", "-f", locustfile_path(),
        "--swf-fleet", str(Path(profile.path).resolve()),
        "--swf-region", region,
        "--swf-target", "aws" if aws_endpoint else "emulator",
        "--swf-connect-timeout", str(timeouts.connect_s),
        "--swf-read-timeout", str(timeouts.read_s),
        "--loglevel", getattr(args, "log_level", None) or "WARNING",
    ]  # fmt: skip
    if aws_endpoint:
        command += ["--swf-aws-endpoint", aws_endpoint]
    if args.send_mode:
        command += ["--swf-send-mode", args.send_mode]
    if args.profile:
        command += ["--swf-aws-profile", args.profile]
    if args.auth is not None:
        # The file, not its secrets, goes on Locust's command line.
        command += ["--swf-auth", str(Path(args.auth).resolve())]
        identity = run_identity(args, profile)
        if identity is not None:
            command += ["--swf-identity", identity]
    if args.worker:
        command += ["--worker", "--master-host", args.master_host or MASTER_HOST]
        command += ["--master-port", str(args.master_port or MASTER_PORT)]
        return command + extra_locust_args(args)
    assert host is not None
    command += [
        "--headless", "--only-summary", "--host", host,
        # A failed call is measured, not a failed run: Locust's exit code then says only
        # whether Locust itself failed.
        "--exit-code-on-error", "0",
        # Locust's page and CSV files are written by swfbench after the results (see hooks).
        "--swf-locust-reports", str(run_dir / "locust"),
        "--swf-audit-time-limit", str(args.audit_time_limit),
        "--swf-results", str(run_dir / RESULTS_FILE),
        "--swf-run-id", run_dir.name,
        "--swf-progress", str(args.progress),
    ]  # fmt: skip
    if args.processes:
        # The master and the workers it forks talk over TCP, on 5557 unless told: a free port,
        # so that two runs on one machine do not collide; on loopback, as they are all here.
        free = str(free_port())
        command += ["--processes", str(args.processes)]
        command += ["--master-bind-host", LOOPBACK, "--master-bind-port", free]
        command += ["--master-port", free]
    if args.master:
        command += ["--master", "--expect-workers", str(args.expect_workers or 1)]
        command += ["--master-bind-host", args.master_bind_host]
        command += ["--master-bind-port", str(args.master_port or MASTER_PORT)]
    return command + extra_locust_args(args)


def extra_locust_args(args: argparse.Namespace) -> list[str]:
    """--locust-args, split; swfbench's own --swf-* options are not the user's to set (the
    target's kind among them is decided here, once)."""
    try:
        extra = shlex.split(args.locust_args)
    except ValueError as exc:
        raise UsageError(f"--locust-args: {exc}") from None
    own = [arg for arg in extra if arg.startswith("--swf-")]
    if own:
        raise UsageError(f"--locust-args: {own[0].split('=')[0]} is set by swfbench itself")
    return extra


LOCUST_FLEET_FLAGS = {
    "-u": "--users",
    "--users": "--users",
    "-r": "--spawn-rate",
    "--spawn-rate": "--spawn-rate",
    "-t": "--run-time",
    "--run-time": "--run-time",
}


def check_locust_args(args: argparse.Namespace) -> None:
    """Locust's -u, -r and -t have swfbench's own names, so that one run has one of each."""
    for token in extra_locust_args(args):
        name = token.split("=", 1)[0]
        short = name[:2] if len(name) > 2 and not name.startswith("--") else name
        own = LOCUST_FLEET_FLAGS.get(short)
        if own is not None:
            raise UsageError(
                f"--locust-args {token}: give it as swfbench's own {own}"
                if args.command == "load"
                else f"--locust-args {token}: a capacity search's steps set the fleet"
            )


def check_roles(args: argparse.Namespace) -> None:
    """Locust's distributed roles: each option only where it means something."""
    if args.worker and (args.master or args.processes):
        raise UsageError("--worker excludes --master and --processes")
    if args.expect_workers is not None and not args.master:
        raise UsageError("--expect-workers applies with --master only")
    if args.master_host is not None and not args.worker:
        raise UsageError("--master-host applies with --worker only: the master's address")
    if args.master_port is not None and not (args.master or args.worker):
        raise UsageError("--master-port applies with --master or --worker only")
    given = [flag for flag, value in (("--users", args.users), ("--spawn-rate", args.spawn_rate),
             ("--run-time", args.run_time)) if value is not None]  # fmt: skip
    if args.worker and given:
        raise UsageError(f"{given[0]} belongs on the master, not on --worker")


def run_identity(args: argparse.Namespace, profile: Profile) -> str | None:
    """The identity the fleet signs as: --identity, else the profile's, else the file's default."""
    identity: str | None = args.identity or profile.identity
    if identity is not None and args.auth is None:
        raise UsageError(
            f"{profile.path}: identity {identity!r} names an identity of an auth file: give --auth"
        )
    return identity


class LocustControl:
    """The Locust child of a run, in a session of its own (a terminal's Ctrl-C reaches swfbench
    only), dying with swfbench (parent-death signal, passed on to its --processes workers), and
    told by swfbench how to stop: once, through a pipe that loses nothing said before Locust was
    ready to listen (see hooks._listen)."""

    def __init__(self, command: list[str], *, listens: bool, aws: bool) -> None:
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
                # An emulator run's Locust gets no AWS_* variable at all: nothing there could
                # find the user's keys, whatever a library reads.
                env={
                    **(os.environ if aws else without_aws_environment(dict(os.environ))),
                    lifeline.ENV: str(int(signal.SIGKILL)),
                },
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
    command: list[str],
    interrupts: Interrupts,
    label: str,
    *,
    aws: bool,
    listens: bool = True,
) -> int:
    """Run Locust to its end and return its exit code. From its start on, signals no longer
    raise: they are passed on to it (see `LocustControl`) and recorded in `interrupts`."""
    control = LocustControl(command, listens=listens, aws=aws)
    interrupts.hold(control.tell)
    try:
        return control.wait(interrupts, label)
    finally:
        interrupts.release()
        control.kill()  # only if an unexpected error left it running
        control.close()


def audit_domain(
    client: SWFClient,
    domain: str,
    since: float,
    close: bool,
    time_limit_s: float = AUDIT_TIME_LIMIT_S,
) -> dict[str, Any]:
    """Executions of this run still open in the domain (started since `since`); close them.

    Transient errors (5xx, throttling, no answer) are tried again with backoff within
    `time_limit_s`. The audit never loses the run: when it cannot finish, it says why
    (`status: failed`, `reason`) and what it could not learn is None."""
    give_up = time.monotonic() + time_limit_s

    def left() -> float:
        return max(0.0, give_up - time.monotonic())

    oldest = datetime.datetime.fromtimestamp(since - 1, tz=datetime.UTC)
    open_ids: list[dict[str, str]] = []
    params: dict[str, Any] = {"domain": domain, "startTimeFilter": {"oldestDate": oldest}}
    try:
        while True:
            page = with_retries(
                lambda: client.call("ListOpenWorkflowExecutions", **params), deadline_s=left()
            )
            open_ids += [info["execution"] for info in page.get("executionInfos", [])]
            if not page.get("nextPageToken"):
                break
            params["nextPageToken"] = page["nextPageToken"]
    except SwfbenchError as exc:
        reason = f"could not list the open executions of domain {domain}: {exc}"
        return {"domain": domain, "status": "failed", "reason": reason, "open_after_run": None,
                "closed": 0, "left_open": None}  # fmt: skip
    closed = gone = 0
    for execution in open_ids if close else []:
        if not left():
            break
        try:
            with_retries(
                lambda e=execution: client.call(  # type: ignore[misc]
                    "TerminateWorkflowExecution", domain=domain, reason="swfbench load audit", **e
                ),
                deadline_s=left(),
            )
            closed += 1
        except SWFError as exc:
            # Closed since the listing (its timeout fired, its worker ended it): not open.
            gone += exc.code == "UnknownResourceFault"
        except SwfbenchError:
            pass
    audit: dict[str, Any] = {
        "domain": domain,
        "status": "complete",
        "reason": None,
        "open_after_run": len(open_ids),
        "closed": closed,
        "left_open": len(open_ids) - closed - gone,
    }
    if close and not left() and closed + gone < len(open_ids):
        audit["status"] = "failed"
        audit["reason"] = (
            f"the audit's time limit of {time_limit_s:g} s ran out with "
            f"{audit['left_open']} of {len(open_ids)} open executions not closed"
        )
    return audit


def check_gates(args: argparse.Namespace) -> tuple[list[Gate], dict[str, Any] | None]:
    """The gates and baseline, checked before the run against the metrics every run has: a
    misspelt metric or a missing baseline fails now, not after an hour of load."""
    if args.gates is None:
        if args.stop_after or args.baseline:
            raise UsageError("--stop-after and --baseline need --gates")
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
) -> list[Verdict]:
    """Apply the gates to the finished run: verdicts into the results, and a table."""
    verdicts = evaluate(
        gates,
        results,
        baseline=baseline,
        source=str(run_dir / RESULTS_FILE),
        allow_incomplete=allow_incomplete,
    )
    results["gates"] = verdicts_to_dict(verdicts)
    print(render_table(verdicts), flush=True)
    failed = sum(not v.passed for v in verdicts)
    print(f"swfbench load: {len(verdicts) - failed} of {len(verdicts)} gates hold", flush=True)
    return verdicts


def exit_code(results: dict[str, Any], held: bool) -> int:
    """0 whole and every gate holds; 1 a gate failed or the run is not whole; 255 aborted."""
    if results["status"]["state"] == "aborted":
        return ExitCode.OTHER
    return ExitCode.OK if held else ExitCode.GATE_FAILED


def run(args: argparse.Namespace) -> int:
    if args.fleet is None:
        hint = "; --profile names an AWS profile, for --aws" if args.profile else ""
        raise UsageError(
            f"--fleet FILE is required: the fleet profile, e.g. scenarios/load/steady.yaml{hint}"
        )
    profile = load_profile(args.fleet)
    check_roles(args)
    check_locust_args(args)
    if args.worker and (args.gates or args.stop_after):
        raise UsageError("--gates and --stop-after belong on the master, not on --worker")
    if args.master_bind_host != LOOPBACK and not args.master:
        raise UsageError("--master-bind-host goes with --master (a local run listens on loopback)")
    gates, baseline = check_gates(args)
    interrupts: Interrupts = args.interrupts
    run_id = args.run_id or new_run_id(profile.name)
    target_spec(args)  # target flags that cannot apply: refused before the run's folder is claimed
    if not args.worker:
        claim_run_dir(Path(args.reports_dir), run_id)
    if args.worker:
        region, endpoint = args.region or EMULATOR_REGION, None
        if args.aws:
            setup = resolve_aws(args.region, args.profile)
            region, endpoint = setup.region, setup.endpoint_url
        command = locust_command(args, profile, None, region, Path("."), aws_endpoint=endpoint)
        code = run_locust(command, interrupts, "swfbench load", aws=args.aws, listens=False)
        return ExitCode.INTERRUPTED if interrupts.by else code
    extra: list[str] = []
    if args.users is not None:
        extra += ["--users", str(args.users)]
    if args.spawn_rate is not None:
        extra += ["--spawn-rate", str(args.spawn_rate)]
    if args.run_time:
        # Locust's -t takes whole seconds only.
        extra += ["--swf-run-time", str(args.run_time)]
    if args.gates and args.stop_after:
        extra += ["--swf-gates", str(args.gates), "--swf-stop-after", str(args.stop_after)]
        if args.baseline:
            extra += ["--swf-baseline", str(args.baseline)]
    results, run_dir = run_fleet(args, profile, run_id=run_id, locust_args=extra)
    files: dict[str, str] = {}
    if gates:
        verdicts = judge_run(
            results, gates, baseline, run_dir, allow_incomplete=args.allow_incomplete
        )
        files[JUNIT_FILE] = junit_xml(verdicts) + "\n"
    else:
        # No gates file: the run is still judged on how it ended, the first gate of any.
        verdicts = [status_verdict(results, allow_incomplete=args.allow_incomplete)]
    report = write_run(results, Path(args.reports_dir), files)
    print(f"swfbench load: results in {run_dir / RESULTS_FILE}, report in {report}", flush=True)
    if interrupts.by:
        return ExitCode.INTERRUPTED  # whatever the gates say: the run is not whole
    return exit_code(results, all(v.passed for v in verdicts))


def run_fleet(
    args: argparse.Namespace,
    profile: Profile,
    *,
    run_id: str | None = None,
    locust_args: Sequence[str] = (),
) -> tuple[dict[str, Any], Path]:
    """Run the profile with Locust against the target; return the results, audit and status
    included, and the run directory. `locust_args` go to Locust (e.g. swfbench's own --swf-*
    options).

    A run that cannot start (target unreachable, bootstrap refused, a signal before Locust
    starts) raises and leaves no run directory. Once Locust runs, there are always results,
    marked with how the run ended: the first signal stops the run gracefully (Locust stops its
    users, closes their tasks, writes its results; then the domain audit) and the second at
    once (no audits) (see `swfbench.interrupts`)."""
    interrupts: Interrupts = args.interrupts
    check_locust_args(args)
    # Flags that cannot apply are refused before anything is written.
    timeouts = client_timeouts(args, profile.client_timeouts)
    spec = replace(target_spec(args, timeouts=timeouts), identity=run_identity(args, profile))
    run_id = run_id or args.run_id or new_run_id(profile.name)
    run_dir = Path(args.reports_dir) / run_id
    check_writable(run_dir)  # a full disk or a file in the way: one line now, no run lost
    try:
        with open_target(spec) as target:
            # Registration and the closing audit are housekeeping: the file's default identity
            # does them, whatever the fleet's own identity may not.
            own = spec.auth.identity(None) if spec.auth is not None else None
            client = SWFClient(target.as_identity(own) if own is not None else target)
            bootstrap(client, profile.domain, attempts=BOOTSTRAP_ATTEMPTS)
            print(
                f"swfbench {args.command}: profile {profile.name} against "
                f"{target.description}; reports in {run_dir}",
                flush=True,
            )
            started = time.time()
            aws_endpoint = None if target.emulator else target.endpoint_url
            command = locust_command(
                args,
                profile,
                target.endpoint_url,
                target.region,
                run_dir,
                aws_endpoint=aws_endpoint,
            )
            code = run_locust(
                [*command, *locust_args],
                interrupts,
                f"swfbench {args.command}",
                aws=not target.emulator,
            )
            ended = time.time()
            try:
                with interrupts.abortable():
                    audit = audit_domain(
                        client,
                        profile.domain,
                        started,
                        close=target.kind != "aws",
                        time_limit_s=args.audit_time_limit,
                    )
            except KeyboardInterrupt:
                audit = {
                    "domain": profile.domain,
                    "status": "skipped",
                    "reason": f"stopped at once by {interrupts.describe()}",
                    "open_after_run": None,
                    "closed": 0,
                    "left_open": None,
                }
            target_record = target.to_dict()
    except (SwfbenchError, KeyboardInterrupt):
        if not (run_dir / RESULTS_FILE).exists():
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # only when empty: nothing ran
        raise
    results_path = run_dir / RESULTS_FILE
    status: RunStatus
    if results_path.exists():
        results: dict[str, Any] = json.loads(results_path.read_text("utf-8"))
        status = RunStatus.of(results)
        status.missing = [m for m in status.missing if m != AUDIT_PENDING]
    else:
        results = empty_results(run_id, profile, target_record, started, ended)
        status = RunStatus()
        if interrupts.by:
            status.lack(f"the run's figures: Locust was stopped before it wrote them ({code})")
        else:
            status.abort(f"Locust exited with code {code} and wrote no results")
    if code != 0 and status.state != "aborted" and not interrupts.by:
        # Told not to fail on failed calls, Locust fails only for itself (an error in a
        # greenlet, a crash): the figures may lack what it did not finish.
        status.abort(f"Locust exited with code {code}")
    if interrupts.by:
        status.interrupt(interrupts.by, _interruption(results, interrupts))
    results["audit"] = audit
    if audit["status"] == "skipped":
        status.lack(f"audit skipped: {audit['reason']}")
    elif audit["status"] != "complete":
        status.lack(f"audit failed: {audit['reason']}")
    # The profile as it was run, so that the report shows what produced its figures.
    results["profile"]["text"] = Path(profile.path).read_text("utf-8")
    results["target"] = target_record  # Locust saw only an endpoint; this knows the engine
    # Executions the domain audit found open and could not close (real SWF: only reported);
    # None when the audit failed to find out, which fails any gate on it.
    results["metrics"]["audit"] = {"left_open": _left_open(results, audit)}
    results["locust_exit_code"] = code
    results["status"] = status.to_dict()
    locust_page = run_dir / "locust.html"
    results["reports"] = {
        "csv_prefix": str(run_dir / "locust"),
        "html": locust_page.name if locust_page.exists() else None,
    }
    if audit["status"] == "complete":
        found = audit["open_after_run"]
        print(
            f"swfbench {args.command}: domain audit: "
            + (
                f"no execution of the run left open in {audit['domain']}"
                if not found
                else f"{found} execution{'s' if found != 1 else ''} of the run still open in "
                f"{audit['domain']}, {audit['closed']} closed"
            ),
            flush=True,
        )
    else:
        print(f"swfbench {args.command}: audit {audit['status']}: {audit['reason']}", flush=True)
    if results.get("stopped_early"):
        print(
            f"swfbench {args.command}: stopped early: {results['stopped_early']['reason']}",
            flush=True,
        )
    print(f"swfbench {args.command}: run {status.describe()}", flush=True)
    return results, run_dir


def _interruption(results: dict[str, Any], interrupts: Interrupts) -> str:
    """One line: when the run was stopped and how."""
    stopped = results.get("interrupted")
    when = f" {stopped['at_s']:g} s into the run" if stopped else ""
    how = "at once" if interrupts.hurried else "gracefully"
    return f"stopped{when}, {how}"


def _left_open(results: dict[str, Any], audit: dict[str, Any]) -> int | None:
    """Executions the run left open: those the domain audit found and could not close; when it
    was skipped (stopped at once), at least the tasks the workers' own audit left open; None
    when the audit failed to find out."""
    if audit.get("left_open") is not None:
        return int(audit["left_open"])
    if audit["status"] == "skipped":
        tasks = results["tasks"]
        return int(tasks["ends"].get("interrupted", 0) - tasks["closed_by_audit"])
    return None
