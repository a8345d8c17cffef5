"""Locust wiring: command-line options, the fleet runtime per Environment, metric reports from
workers to the master, progress lines, the end-of-run audit and the results file.

`install(events)` is called by the package locustfile; nothing here runs at import.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
import gevent.os
from locust.html import get_html_report
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from swfbench import lifeline, redact
from swfbench.capacity.steps import StepPlan, judge_step, window_figures
from swfbench.errors import ExitCode, SwfbenchError, UsageError
from swfbench.gates import load_gates, metrics_of
from swfbench.identities import load_auth_file
from swfbench.load.fleet import ATTRIBUTE, FleetRuntime, attach, locust_observer, target_for_host
from swfbench.load.metrics import FleetMetrics
from swfbench.load.profile import FleetOverrides, load_profile
from swfbench.load.results import AUDIT_PENDING, build_results, gate_metrics, summary_line
from swfbench.load.scheduler import LocalFleet
from swfbench.load.transport import OPERATION
from swfbench.load.watch import GateWatch
from swfbench.load.worker import HeartbeatOnlyWorker, SimulatedWorker, WorkerContext
from swfbench.options import duration_or_zero
from swfbench.results import RunStatus, load_results, new_run_id, write_json, write_text
from swfbench.timeouts import ClientTimeouts

FLEET_ENV = "SWFBENCH_FLEET"
RENAMED_ENV = "SWFBENCH_PROFILE"
REPORT_KEY = "swfbench"
ABORTED_KEY = "swfbench_aborted"
FINAL_KEY = "swfbench_final"
FINAL_MESSAGE = "swfbench_final"
"""Master to workers, at the stop: stop now and report your figures from after the audit."""
FINAL_REPORT_GRACE_S = 10.0
"""Beyond the audit's time limit, how long a master waits for each worker's last figures
(Locust workers report every 3 s)."""
WATCH_WORKERS_S = 1.0
SETTLE_S = 1.0
"""After a second of the run ends, how long its figures may still be arriving (calls in flight)."""
SETTLE_MASTER_S = 4.0
"""The same on a master: Locust workers report every 3 s."""
log = logging.getLogger("swfbench.load")


def add_arguments(parser: Any) -> None:
    # Locust's protocol has no authentication: a master listens on loopback unless told
    # otherwise (--master-bind-host ADDRESS for workers on other machines).
    parser.set_defaults(master_bind_host="127.0.0.1")
    group = parser.add_argument_group("swfbench", "Fleet of simulated SWF activity workers")
    group.add_argument(
        "--swf-fleet",
        env_var=FLEET_ENV,
        default=os.environ.get(FLEET_ENV, ""),
        metavar="FILE",
        help=f"the fleet profile (YAML), e.g. scenarios/load/steady.yaml (env {FLEET_ENV})",
    )
    group.add_argument("--swf-profile", default="", help=argparse.SUPPRESS)
    group.add_argument(
        "--swf-send-mode",
        choices=["", "fast", "boto3"],
        default="",
        help="heartbeat send path (default: the profile's)",
    )
    group.add_argument(
        "--swf-target",
        choices=["emulator", "aws"],
        default="emulator",
        help="what --host is: an emulator (dummy credentials, the default) or real SWF (the "
        "standard AWS credential chain; swfbench load --aws passes it)",
    )
    group.add_argument(
        "--swf-aws-endpoint",
        default="",
        help="with --swf-target aws: the real SWF endpoint swfbench resolved; a host from the "
        "master must match it",
    )
    group.add_argument("--swf-region", default="", help="AWS region (emulators: us-east-1)")
    group.add_argument(
        "--swf-aws-profile",
        default="",
        metavar="NAME",
        help="with --swf-target aws: the AWS named profile (default: AWS_PROFILE, else the "
        "default profile)",
    )
    group.add_argument(
        "--swf-auth", default="", help="auth file: calls sign as one of its identities"
    )
    group.add_argument(
        "--swf-identity", default="", help="with --swf-auth: the identity (default: the file's)"
    )
    group.add_argument(
        "--swf-heartbeat-only",
        action="store_true",
        default=False,
        help="simulated workers only heartbeat a made-up token (benchmarks against "
        "swfbench.load.sink)",
    )
    group.add_argument("--swf-results", default="", help="write the results JSON here")
    group.add_argument("--swf-run-id", default="", help="run id for the results")
    group.add_argument(
        "--swf-run-time",
        type=duration_or_zero,
        default=0.0,
        metavar="DURATION",
        help="when the run ends, fractions allowed (swfbench load --run-time passes it); "
        "Locust's own -t does the same in whole seconds, as -u sets the fleet's size and -r "
        "its spawn rate (default: the profile's)",
    )
    # The master's -u, -r and -t as JSON, for its workers (Locust sends them its custom options).
    group.add_argument("--swf-fleet-overrides", default="", help=argparse.SUPPRESS)
    group.add_argument(
        "--swf-progress",
        type=duration_or_zero,
        default=5.0,
        help="seconds between progress lines (0: off)",
    )
    group.add_argument(
        "--swf-gates", default="", help="gates YAML to watch during the run (with --swf-stop-after)"
    )
    group.add_argument("--swf-baseline", default="", help="baseline results for relative gates")
    group.add_argument(
        "--swf-capacity", default="", help="a capacity search's step plan (JSON, from swfbench)"
    )
    group.add_argument(
        "--swf-connect-timeout",
        type=duration_or_zero,
        default=0.0,
        help="connect timeout of every SWF call, seconds (0: the profile's, else 5)",
    )
    group.add_argument(
        "--swf-read-timeout",
        type=duration_or_zero,
        default=0.0,
        help="read timeout of every SWF call but long polls, seconds (0: the profile's, else 10)",
    )
    group.add_argument(
        "--swf-audit-time-limit",
        type=duration_or_zero,
        default=60.0,
        help="seconds the closing of tasks left open at the stop may take",
    )
    group.add_argument(
        "--swf-locust-reports",
        default="",
        help="write Locust's own page (PREFIX.html) and CSV files (PREFIX_stats.csv...) at the "
        "end, after the results",
    )
    group.add_argument(
        "--swf-control-fd",
        type=int,
        default=-1,
        help="read end of a pipe from swfbench: 'stop SIGNAL' ends the run gracefully, 'now "
        "SIGNAL' at once, end of file means swfbench is gone (swfbench load passes it)",
    )
    group.add_argument(
        "--swf-stop-after",
        type=duration_or_zero,
        default=0.0,
        help="stop when a gate has failed this many seconds in a row (0: never stop early)",
    )


NO_FLEET = f"no fleet: pass --swf-fleet FILE (e.g. scenarios/load/steady.yaml) or set {FLEET_ENV}"


def _refuse_renamed(options: Any) -> None:
    """The fleet file's old names (Locust's own --profile is its run profile, not a fleet)."""
    if options.swf_profile:
        _die(f"--swf-profile is --swf-fleet FILE: {NO_FLEET}", ExitCode.USAGE)
    locust_profile = getattr(options, "profile", None) or ""
    if locust_profile.endswith((".yaml", ".yml")) and not options.swf_fleet:
        _die(
            f"--profile {locust_profile} is Locust's own (a name for the run); {NO_FLEET}",
            ExitCode.USAGE,
        )
    if os.environ.get(RENAMED_ENV) and not options.swf_fleet:
        _die(f"{RENAMED_ENV} is {FLEET_ENV}: {NO_FLEET}", ExitCode.USAGE)


def driven(options: Any) -> bool:
    """Started by `swfbench load` (which listens on the control pipe): it says where the
    results are and writes Locust's statistics to files, so Locust's console stays quiet."""
    return bool(options.swf_control_fd >= 0)


class _DeliberateSpawnRate(logging.Filter):
    """Locust warns of a spawn rate above 100 at each start; a capacity search chooses its rate
    so that a step's new workers are all up in the step's first quarter, before it is measured."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Your selected spawn rate is very high")


def _die(message: str, code: int) -> None:
    print(f"swfbench: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def configure(environment: Any) -> FleetRuntime | None:
    """Build this process's runtime from the parsed options; None if they lack a profile yet."""
    existing: FleetRuntime | None = getattr(environment, ATTRIBUTE, None)
    options = environment.parsed_options
    if options is None or not options.swf_fleet:
        return existing
    if existing is not None and existing.profile.path == options.swf_fleet:
        return existing
    try:
        profile = load_profile(options.swf_fleet)
        aws_endpoint = options.swf_aws_endpoint if options.swf_target == "aws" else ""
        if not environment.host and not aws_endpoint:
            if isinstance(environment.runner, WorkerRunner):
                return existing  # the master sends its host with the first spawn message
            _die("give the SWF endpoint with --host (e.g. from `swfbench serve`)", ExitCode.USAGE)
        defaults = profile.client_timeouts
        timeouts = ClientTimeouts(
            connect_s=options.swf_connect_timeout or defaults.connect_s,
            read_s=options.swf_read_timeout or defaults.read_s,
        )
        auth = load_auth_file(options.swf_auth) if options.swf_auth else None
        identity = (options.swf_identity or profile.identity) if auth is not None else None
        target = target_for_host(
            environment.host or "",
            options.swf_region or None,
            auth,
            identity,
            kind=options.swf_target,
            aws_endpoint=aws_endpoint or None,
            timeouts=timeouts,
            profile=options.swf_aws_profile or None,
        )
    except SwfbenchError as exc:
        _die(str(exc), exc.exit_code)
        raise  # unreachable: _die exits
    metrics = FleetMetrics()
    runtime = FleetRuntime(
        profile=profile,
        target=target,
        run_id=options.swf_run_id or new_run_id(profile.name),
        observer=locust_observer(environment.events.request, metrics, environment.stats),
        metrics=metrics,
        send_mode=options.swf_send_mode or profile.send_mode,
        run_time_s=profile.run_time_s,
        heartbeat_only=bool(options.swf_heartbeat_only),
    )
    if isinstance(environment.runner, WorkerRunner):
        attach(environment, runtime)
        return runtime
    try:
        overrides = command_line_overrides(options)
    except SwfbenchError as exc:
        _die(str(exc), exc.exit_code)
        raise  # unreachable: _die exits
    if overrides and options.swf_capacity:
        _die(
            "-u, -r and -t do not apply to a capacity search: its steps set the fleet",
            ExitCode.USAGE,
        )
    runtime.apply_overrides(overrides)
    if overrides:
        print(f"swfbench: {overrides.describe(profile)}", flush=True)
    show_fleet(options, runtime)
    attach(environment, runtime)
    return runtime


def fleet_share(environment: Any) -> tuple[int, int]:
    """Which part of the fleet this process runs: (its number, of how many). A Locust worker
    is numbered by its master (0, 1, ... in the order they connected) and the master waits for
    --expect-workers of them (--processes N: N); a local run runs the whole fleet."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        return 0, 1
    parts = max(1, int(getattr(environment.parsed_options, "expect_workers", 1) or 1))
    return int(runner.worker_index), parts


def start_fleet(environment: Any, runtime: FleetRuntime) -> LocalFleet:
    """This process's share of the profile's simulated workers, growing from now on."""
    part, parts = fleet_share(environment)
    if part >= parts:
        # A worker beyond those the master waited for: its senders help nobody.
        log.warning("Locust worker %d of %d expected runs no simulated workers", part + 1, parts)
    if runtime.fleet is not None:
        runtime.fleet.stop()
        runtime.schedules.discard(runtime.fleet)
    context = WorkerContext(runtime=runtime)
    factory = HeartbeatOnlyWorker if runtime.heartbeat_only else SimulatedWorker
    fleet = LocalFleet(context, factory, share=(part, parts))
    runtime.fleet = fleet
    runtime.schedules.add(fleet)
    fleet.start(time.monotonic())
    return fleet


def command_line_overrides(options: Any) -> FleetOverrides:
    """Locust's -u, -r and -t (and --swf-run-time): they override the profile's fleet."""
    run_time = options.run_time
    if run_time and options.swf_run_time:
        raise UsageError("give the run time once: Locust's -t or --swf-run-time")
    users = options.num_users
    if users is not None and users < 1:
        raise UsageError(f"-u {users}: a fleet needs at least 1 simulated worker")
    return FleetOverrides(
        users=users,
        spawn_rate=options.spawn_rate,
        run_time_s=float(run_time) if run_time else options.swf_run_time or None,
    )


def show_fleet(options: Any, runtime: FleetRuntime) -> None:
    """Locust's own options say the fleet as it runs: its web UI shows them in the start form
    (and posts them back to /swarm), its headless start reads them, and Locust, not swfbench,
    would otherwise end the run at -t (the profile's shape ends it, gracefully, at the same
    second)."""
    fleet = runtime.profile
    options.num_users = fleet.max_workers
    options.spawn_rate = fleet.spawn_rate_now
    options.run_time = None
    # Locust sends its custom options to its workers: each runs the fleet as it runs here.
    options.swf_fleet_overrides = json.dumps(dataclasses.asdict(runtime.overrides))


def take_form_overrides(environment: Any) -> None:
    """A start from Locust's web UI (/swarm) posts the user count, spawn rate and run time of
    its form into the options: those the user changed override the fleet from now on."""
    runtime = getattr(environment, ATTRIBUTE, None)
    options = environment.parsed_options
    if runtime is None or options is None:
        return
    fleet, overrides = runtime.profile, runtime.overrides
    if options.num_users is not None and options.num_users != fleet.max_workers:
        overrides = replace(overrides, users=max(1, int(options.num_users)))
    if options.spawn_rate is not None and options.spawn_rate != fleet.spawn_rate_now:
        overrides = replace(overrides, spawn_rate=float(options.spawn_rate))
    if options.run_time:
        overrides = replace(overrides, run_time_s=float(options.run_time))
    if overrides != runtime.overrides:
        runtime.apply_overrides(overrides)
        print(f"swfbench: {overrides.describe(runtime.loaded_profile or fleet)}", flush=True)
    show_fleet(options, runtime)


def progress_line(environment: Any, runtime: FleetRuntime, since_s: float, until_s: float) -> str:
    """The run's seconds [since_s, until_s) (from its start): heartbeats per second, latency
    and lag p99 from the per-second timeline, the same figures a capacity step is judged on,
    so a line and a step over the same seconds agree; tasks and errors so far."""
    metrics = runtime.merged_metrics()
    label = f"{since_s:g}s-{until_s:g}s"
    end = runtime.started_wall + until_s
    if math.floor(end) - math.ceil(runtime.started_wall + since_s) < 1:
        # A window shorter than the timeline's whole seconds (--progress 0.5): the figures of
        # the last whole second it reaches, rather than none (1 us below it: float rounding).
        since_s = math.floor(end) - 1 - runtime.started_wall - 1e-6
    window = window_figures(metrics.timeline, runtime.started_wall, since_s, until_s, OPERATION)
    errors = metrics.errors_by_code()
    top = ", ".join(f"{code} {n}" for code, n in errors.most_common(3))
    return (
        f"[{label}] workers {metrics.counters['workers']:>5} "
        f"(senders {environment.runner.user_count}) | "
        f"hb/s {window['heartbeats_per_s']:8.1f} | hb p99 {window['p99']:8.2f} ms | "
        f"lag p99 {window['lag']:8.2f} ms | tasks {metrics.tasks_started} | "
        f"errors {sum(errors.values())}" + (f" ({top})" if top else "")
    )


def install(events: Any) -> None:
    """Register swfbench's listeners on a Locust events object."""
    redact.install()  # before Locust configures its logging: every record is scrubbed
    if os.environ.get(lifeline.ENV):
        # Started by swfbench, which dies with its children: so do the worker processes this
        # one forks (--processes), since a fork does not inherit the parent-death signal.
        lifeline.for_forks(int(os.environ[lifeline.ENV]))
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(_on_init)


def _on_init(environment: Any, **_: Any) -> None:
    if environment.parsed_options is None:
        return  # library use: the caller attaches its own runtime
    _refuse_renamed(environment.parsed_options)
    if driven(environment.parsed_options):
        # Locust's tables of statistics: swfbench writes them to files (--swf-locust-reports).
        logging.getLogger("locust.stats_logger").setLevel(logging.WARNING)
    if environment.parsed_options.swf_capacity:
        logging.getLogger("locust.runners").addFilter(_DeliberateSpawnRate())
    if configure(environment) is None and not isinstance(environment.runner, WorkerRunner):
        # The shape ticks before test_start: a master or a local run needs its profile now.
        _die(NO_FLEET, ExitCode.USAGE)
    events = environment.events
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(FINAL_MESSAGE, _report_final, concurrent=True)
    state: dict[str, Any] = {
        "progress": None,
        "watch": None,
        "capacity": None,
        "workers": None,
        "users": None,
    }

    def on_test_start(environment: Any, **_: Any) -> None:
        runtime = configure(environment)
        if runtime is None:
            _die(NO_FLEET, ExitCode.USAGE)
            return
        runtime.started_wall = time.time()
        runtime.worker_snapshots.clear()
        runtime.final_reports.clear()
        runtime.final = False
        options = environment.parsed_options
        if isinstance(environment.runner, WorkerRunner) and options.swf_fleet_overrides:
            # The master's -u, -r and -t (its custom options come with its spawn message),
            # before this process's share of the fleet is counted from the profile.
            runtime.apply_overrides(FleetOverrides(**json.loads(options.swf_fleet_overrides)))
        if not isinstance(environment.runner, MasterRunner):
            try:
                # Housekeeping, not load: "already exists" answers are no failures.
                if not runtime.heartbeat_only:
                    runtime.bootstrap()
                start_fleet(environment, runtime)
            except SwfbenchError as exc:
                # Every task would fail to start: the run stops, marked aborted with the reason.
                runtime.aborted = f"could not register the SWF domain and types: {exc}"
                runtime.stop_requested = True
                log.error("%s", runtime.aborted)
        if isinstance(environment.runner, WorkerRunner):
            return
        state["users"] = gevent.spawn(_count_users, environment, runtime)
        if isinstance(environment.runner, MasterRunner):
            state["workers"] = _guarded(runtime, _watch_workers, environment, runtime)
        if options.swf_progress > 0:
            settle = (
                SETTLE_S if not isinstance(environment.runner, MasterRunner) else SETTLE_MASTER_S
            )
            state["progress"] = gevent.spawn(
                _progress, environment, runtime, options.swf_progress, settle
            )
        if options.swf_gates and options.swf_stop_after > 0:
            try:
                watch = _gate_watch(options)
            except SwfbenchError as exc:
                _die(str(exc), exc.exit_code)
                return
            state["watch"] = _guarded(runtime, _watch, runtime, watch)
        if options.swf_capacity:
            plan = StepPlan.read(Path(options.swf_capacity))
            # Distributed: worker reports arrive every few seconds; wait for a step's last one.
            settle = SETTLE_MASTER_S if isinstance(environment.runner, MasterRunner) else SETTLE_S
            state["capacity"] = _guarded(runtime, _capacity_search, runtime, plan, settle)

    def on_test_stop(environment: Any, **_: Any) -> None:
        runtime = getattr(environment, ATTRIBUTE, None)
        for name in ("progress", "watch", "capacity", "workers", "users"):
            if state[name] is not None:
                state[name].kill(block=False)
                state[name] = None
        if runtime is None:
            return
        limit = environment.parsed_options.swf_audit_time_limit
        if isinstance(environment.runner, MasterRunner):
            _await_final_reports(environment, runtime, limit + FINAL_REPORT_GRACE_S)
            return
        runtime.end_schedules()
        runtime.metrics.flush()  # the last second's heartbeats, into Locust's statistics too
        if runtime.open_handles and not runtime.hurry:
            print(
                f"swfbench: the run stopped; closing its {len(runtime.open_handles)} open tasks",
                flush=True,
            )
        runtime.audit(report=log.warning, time_limit_s=limit)
        runtime.final = True

    def on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
        runtime = getattr(environment, ATTRIBUTE, None)
        if runtime is not None:
            data[REPORT_KEY] = runtime.metrics.report_wire()
            if runtime.aborted:
                data[ABORTED_KEY] = runtime.aborted
            data[FINAL_KEY] = runtime.final

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        runtime = getattr(environment, ATTRIBUTE, None)
        if runtime is not None and REPORT_KEY in data:
            # Full snapshots, latest per worker: a repeated report can never count twice. The
            # timeline comes in part: the seconds a report lacks are those of the last one.
            snapshot = FleetMetrics.from_wire(data[REPORT_KEY])
            previous = runtime.worker_snapshots.get(client_id)
            if previous is not None:
                snapshot.timeline.keep_older(previous.timeline)
            runtime.worker_snapshots[client_id] = snapshot
            if data.get(FINAL_KEY):
                runtime.final_reports.add(client_id)
            if data.get(ABORTED_KEY) and not runtime.aborted:
                runtime.aborted = f"worker {client_id}: {data[ABORTED_KEY]}"
                runtime.stop_requested = True

    def save_results(runtime: FleetRuntime) -> bool:
        """The results with their status, first of the run's files: False when they could not
        be written (said in one line; Locust then exits with the reports error's code)."""
        path = environment.parsed_options.swf_results
        if not path:
            return True
        metrics = runtime.merged_metrics()
        processes = max(1, len(runtime.worker_snapshots))
        results = build_results(runtime, metrics, environment.runner.stats, processes)
        results["status"] = run_status(runtime, results).to_dict()
        try:
            write_json(Path(path), results)
        except SwfbenchError as exc:
            print(f"swfbench: error: {exc}", file=sys.stderr, flush=True)
            environment.process_exit_code = exc.exit_code
            return False
        return True

    def on_quitting(environment: Any, **_: Any) -> None:
        runtime = getattr(environment, ATTRIBUTE, None)
        if runtime is None or isinstance(environment.runner, WorkerRunner):
            return
        if isinstance(environment.runner, MasterRunner):
            _note_missing_workers(environment, runtime)
        print(f"swfbench: {summary_line(runtime.merged_metrics())}", flush=True)
        options = environment.parsed_options
        # The results first: when the disk fills, the data survives Locust's larger page.
        if not save_results(runtime):
            return
        if options.swf_results and not driven(options):
            print(f"swfbench: results in {options.swf_results}", flush=True)
        try:
            if options.swf_locust_reports:
                write_locust_reports(environment, options.swf_locust_reports)
        except SwfbenchError as exc:
            # Locust's own page is an extra: the run's results and report do without it.
            print(f"swfbench: warning: Locust's own reports: {exc}", file=sys.stderr, flush=True)

    def on_spawning_complete(user_count: int) -> None:
        runtime = getattr(environment, ATTRIBUTE, None)
        if runtime is not None:
            runtime.peak_senders = max(runtime.peak_senders, user_count)

    events.spawning_complete.add_listener(on_spawning_complete)
    events.test_start.add_listener(on_test_start)
    events.test_stop.add_listener(on_test_stop)
    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.quitting.add_listener(on_quitting)
    runtime = getattr(environment, ATTRIBUTE, None)
    control_fd = environment.parsed_options.swf_control_fd
    if control_fd >= 0 and runtime is not None and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_listen, runtime, control_fd, save_results)


def run_status(runtime: FleetRuntime, results: dict[str, Any]) -> RunStatus:
    """How the run ended, as far as Locust's processes know (`swfbench load` adds its audit):
    a heartbeat answered OK is what it checked; a worker process lost or an exception inside a
    simulated worker leaves it incomplete; a failed bootstrap or an internal error aborts it."""
    status = RunStatus(checked=results["heartbeat"]["ok"])
    status.lack(AUDIT_PENDING)
    if runtime.stopped_early:
        status.interrupt("early_stop", runtime.stopped_early["reason"])
    if runtime.interrupted:
        how = "at once" if runtime.hurry else "gracefully"
        status.interrupt(runtime.interrupted["by"], f"stopped {how}")
    if runtime.aborted:
        status.abort(runtime.aborted)
    for worker, what in sorted(runtime.workers_lost.items()):
        status.lack(f"a Locust worker was lost: {worker} {what}")
    errors = results["worker_errors"]
    if errors:
        kinds = ", ".join(f"{name} x{e['count']} ({e['first']})" for name, e in errors.items())
        status.lack(f"simulated workers failed with exceptions: {kinds}")
    return status


def write_locust_reports(environment: Any, prefix: str) -> None:
    """Locust's own page and its final statistics as CSV, each written whole or not at all."""
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    tables: dict[str, Callable[[Any], None]] = {
        "_stats.csv": writer.requests_csv,
        "_failures.csv": writer.failures_csv,
        "_exceptions.csv": writer.exceptions_csv,
    }
    for suffix, table in tables.items():
        text = io.StringIO()
        table(csv.writer(text))
        write_text(Path(prefix + suffix), text.getvalue())
    html: str = get_html_report(environment, show_download_link=False)  # type: ignore[no-untyped-call]
    write_text(Path(prefix + ".html"), html)


def _guarded(runtime: FleetRuntime, function: Callable[..., None], *args: Any) -> Any:
    """A greenlet of swfbench's own (gate watch, capacity search, worker watch): should it fail,
    the run stops, marked aborted with the reason, instead of going on without it."""

    def run() -> None:
        try:
            function(*args)
        except Exception as exc:
            runtime.aborted = f"internal error in {function.__name__}: {type(exc).__name__}: {exc}"
            runtime.stop_requested = True
            log.error("%s", runtime.aborted)

    return gevent.spawn(run)


def _watch_workers(environment: Any, runtime: FleetRuntime) -> None:
    """On a master: a worker process that stops sending heartbeats (Locust marks it missing)
    or leaves while the run is on takes its share of the fleet with it; say so."""
    runner = environment.runner
    known: set[str] = set()
    while True:
        gevent.sleep(WATCH_WORKERS_S)
        if runtime.stop_requested or runner.state not in (STATE_RUNNING, STATE_SPAWNING):
            continue
        present = {client.id: client.state for client in runner.clients.all}
        at = time.time() - runtime.started_wall
        for worker in sorted(known - set(present)):
            runtime.workers_lost.setdefault(worker, f"left the run at {at:.0f} s")
        _note_missing_workers(environment, runtime)
        known |= set(present)


def _report_final(environment: Any, msg: Any) -> None:
    """On a worker, asked by the master: stop (a no-op when stopped already: the test_stop
    listener runs the audit) and send the figures at once, as Locust's own reports do."""
    environment.runner.stop()
    data: dict[str, Any] = {}
    environment.events.report_to_master.fire(client_id=environment.runner.client_id, data=data)
    environment.runner.send_message("stats", data)


def _await_final_reports(environment: Any, runtime: FleetRuntime, limit_s: float) -> None:
    """On a master, at the stop: have every worker stop, audit and report, and wait for those
    reports. Locust's master asks for a last report only as it quits, and gives it half a
    second; a busy worker misses that, and its last tasks would go unaccounted."""
    for client in environment.runner.clients.all:
        environment.runner.send_message(FINAL_MESSAGE, None, client.id)
    give_up = time.monotonic() + limit_s
    while time.monotonic() < give_up:
        waiting = [
            client.id
            for client in environment.runner.clients.all
            if client.id not in runtime.final_reports and client.state != STATE_MISSING
        ]
        if not waiting:
            return
        gevent.sleep(0.2)
    at = time.time() - runtime.started_wall
    for worker in waiting:
        runtime.workers_lost.setdefault(worker, f"sent no figures after the stop (at {at:.0f} s)")


def _note_missing_workers(environment: Any, runtime: FleetRuntime) -> None:
    at = time.time() - runtime.started_wall
    for client in environment.runner.clients.all:
        if client.state == STATE_MISSING and client.id not in runtime.workers_lost:
            runtime.workers_lost[client.id] = f"stopped sending heartbeats (by {at:.0f} s)"
            log.error("Locust worker %s was lost mid-run", client.id)


def _gate_watch(options: Any) -> GateWatch:
    kind, gates = load_gates(Path(options.swf_gates))
    if kind not in (None, "load"):
        raise UsageError(f"{options.swf_gates} holds gates for {kind!r} results, not load runs")
    baseline = None
    if options.swf_baseline:
        baseline = metrics_of(load_results(Path(options.swf_baseline)), options.swf_baseline)
    return GateWatch(gates, baseline, options.swf_stop_after)


def _watch(runtime: FleetRuntime, watch: GateWatch) -> None:
    """Check the watched gates once a second; on a sustained breach, mark the run stopped early
    (the load shape then ends it the way a finished run ends)."""
    while runtime.stopped_early is None:
        gevent.sleep(1.0)
        elapsed = time.time() - runtime.started_wall
        fleet = runtime.merged_metrics(timeline=False).to_dict()
        breach = watch.check(gate_metrics(fleet, elapsed), elapsed)
        if breach is not None:
            runtime.stopped_early = breach.to_dict()
            runtime.stop_requested = True
            print(f"swfbench: stopping early: {breach.describe()}", flush=True)


def _capacity_search(runtime: FleetRuntime, plan: StepPlan, settle_s: float) -> None:
    """Judge each step once its last measured second is in; stop at the first broken step."""
    record: dict[str, Any] = {"steps": []}
    runtime.capacity = record
    for step in range(len(plan.rates)):
        end = plan.bounds(step)[1]
        delay = runtime.started_wall + end + settle_s - time.time()
        if delay > 0:
            gevent.sleep(delay)
        timeline = runtime.merged_metrics().timeline
        window = plan.window(step)
        figures = window_figures(timeline, runtime.started_wall, *window, OPERATION)
        judged = judge_step(plan, step, figures)
        record["steps"].append(judged)
        verdict = "holds" if judged["holds"] else "BREAKS " + "; ".join(judged["broken"])
        print(
            f"swfbench capacity: step {step + 1}/{len(plan.rates)}: offered "
            f"{judged['offered_per_s']:g}/s, {judged['heartbeats_per_s']:g} hb/s, "
            f"p50 {judged['p50']} ms, p99 {judged['p99']} ms, errors {judged['errors']:.2%}, "
            f"lag p99 {judged['lag']} ms: {verdict}",
            flush=True,
        )
        if not judged["holds"]:
            break
    runtime.stop_requested = True


def _listen(runtime: FleetRuntime, fd: int, save: Callable[[FleetRuntime], bool]) -> None:
    """swfbench's word on stopping, one line each: "stop SIGINT" ends the run at the shape's
    next tick as a finished run ends, marked interrupted; "now SIGINT" also skips closing the
    open tasks, and saves the results as they are at once (a user or an audit call blocked on
    a target that hangs may keep Locust from its end; swfbench kills it a few seconds later);
    end of file means swfbench is gone (its parent-death signal follows)."""
    gevent.os.make_nonblocking(fd)
    pending = b""
    while True:
        try:
            chunk = gevent.os.nb_read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            runtime.interrupt("swfbench exited", hurry=True)
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            word, _, by = line.decode(errors="replace").partition(" ")
            hurried = runtime.hurry
            runtime.interrupt(by or "signal", hurry=word == "now")
            if runtime.hurry and not hurried:
                save(runtime)


def _count_users(environment: Any, runtime: FleetRuntime) -> None:
    """Simulated workers running, once a second, for the report's users-over-time line: the
    fleet's, from each process's gauge (Locust's users are the senders, not the workers)."""
    while True:
        snapshots = [runtime.metrics, *runtime.worker_snapshots.values()]
        running = sum(m.counters["workers"] for m in snapshots)
        runtime.users[int(time.time())] = running
        gevent.sleep(1.0)


def _progress(environment: Any, runtime: FleetRuntime, interval: float, settle_s: float) -> None:
    """A line every `interval` of the run, on the run's own clock (the seconds a capacity step
    is measured over are whole intervals of it), once those seconds' figures are in."""
    tick = 1
    while True:
        until = tick * interval
        gevent.sleep(max(0.0, runtime.started_wall + until + settle_s - time.time()))
        print(progress_line(environment, runtime, until - interval, until), flush=True)
        tick += 1
