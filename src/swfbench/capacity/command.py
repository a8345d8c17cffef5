"""`swfbench capacity`: raise the heartbeat rate in steps until an SLO breaks; report the knee.

Each step is a fleet of workers (rate × interval), each with its own open activity task,
heartbeating every interval (a Locust steps shape over the `swfbench load` machinery). The knee
is the highest offered rate whose measured step held the SLO. When the target throttles (real
SWF, or the embedded engine with --quotas aws), the run also shows where throttling began, next
to where `swfbench plan`'s token-bucket model predicts it for the same steps.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
from pathlib import Path
from typing import Any

import yaml

from swfbench.capacity.steps import THROTTLED, StepPlan
from swfbench.errors import ExitCode, SwfbenchError, UsageError
from swfbench.interrupts import Interrupts
from swfbench.load.command import add_run_options, run_fleet
from swfbench.load.profile import parse_profile
from swfbench.options import (
    QUOTA_FLAGS,
    add_target_options,
    duration,
    finite_float,
    target_spec,
)
from swfbench.plan.planner import Quotas, first_throttled, stepped_arrivals
from swfbench.report.render import write_run
from swfbench.results import RunStatus, check_writable, claim_run_dir, new_run_id, write_text
from swfbench.slo import parse_slo

DEFAULT_SLO = "p99 < 100 ms, errors < 1%"
MAX_STEPS = 100
MAX_WORKERS = 1_000_000
"""Simulated workers in a step: the most one machine's fleet is built to hold (the README's
fleet scale)."""
GENERATOR_LAG_MS = 50.0
"""At the step that broke, a pacing lag p99 at or above this says the load generator could not
keep its own schedule: it saturated (CPU, or its senders), so the knee is the pair's, a lower
bound of the target's. Below it the generator kept time and the target is what broke. A
healthy generator's lag p99 is a few milliseconds (see the README's fleet scale)."""
MAX_SENDERS = 2000
"""Senders of a search: one per worker up to this many, so that a slow target never leaves a
due heartbeat waiting for a free sender (which would show as the generator's lag)."""
AGREEMENT = 0.10
"""Measured and predicted onset of throttling agree when within 10 % of each other."""


EXAMPLES = """\
examples:
  swfbench capacity                                          # 50 to 2000 hb/s, 20s a step
  swfbench capacity --start-rate 100 --step-rate 200 --max-rate 1500 --step-time 6s
  swfbench capacity --slo "p99 < 50 ms, errors < 0.1%" --interval 5s
  swfbench capacity --quotas aws --max-rate 400      # where throttling begins, beside plan's
  swfbench capacity --endpoint-url http://127.0.0.1:4566 --processes 2
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "capacity",
        help="find the highest heartbeat rate a target sustains within an SLO (the knee)",
        description="Raise the heartbeat rate step by step (each step: rate x interval "
        "workers, each heartbeating its own activity task every interval) until a step breaks "
        "the SLO, then report the knee, the highest rate that held, and the curve of rate "
        "against p50, p99 and error ratio. Each step is measured over its second half, after "
        "its new workers have started. Where heartbeats are throttled, the report shows "
        "when throttling began; with --quotas aws, beside the planner's prediction. "
        "Writes results.json and index.html under REPORTS/RUN-ID/. A knee is claimed only "
        "from a whole search (steps judged in order from the first to one that broke, or to "
        "the last); a search that is not whole exits 1, an aborted one 255.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--slo",
        default=DEFAULT_SLO,
        help=f"objectives every step must hold (default: {DEFAULT_SLO.replace('%', '%%')!r}); "
        "figures p50, p90, "
        "p99, p99.9, max (ms, s, us), errors (%% of heartbeats failed), lag (pacing lag p99)",
    )
    parser.add_argument(
        "--start-rate",
        type=finite_float,
        default=50.0,
        metavar="PER_S",
        help="the first step's rate, heartbeats per second (default: 50)",
    )
    parser.add_argument(
        "--step-rate",
        type=finite_float,
        default=None,
        metavar="PER_S",
        help="heartbeats per second added at each step (default: the start rate)",
    )
    parser.add_argument(
        "--max-rate",
        type=finite_float,
        default=2000.0,
        metavar="PER_S",
        help="the last step's rate at most, heartbeats per second (default: 2000)",
    )
    parser.add_argument(
        "--step-time",
        type=duration,
        default=20.0,
        metavar="DURATION",
        help="how long each step runs, at least 4s (default: 20s)",
    )
    parser.add_argument(
        "--interval",
        type=duration,
        default=1.0,
        metavar="DURATION",
        help="each worker's heartbeat interval; workers per step = rate x interval (default: 1s)",
    )
    parser.add_argument(
        "--spawn-rate",
        type=finite_float,
        default=None,
        metavar="PER_S",
        help="workers started per second (default: enough to start a step's new workers in "
        "its first quarter, at least 10)",
    )
    add_run_options(
        parser,
        distributed=False,
        progress="half a step: every other line covers a step's measured half, as its step line",
    )
    add_target_options(parser)
    parser.set_defaults(run=run)


def step_plan(args: argparse.Namespace) -> StepPlan:
    """The steps the flags ask for; a usage error for a search that cannot run."""
    slo = parse_slo(args.slo)
    step = args.step_rate if args.step_rate is not None else args.start_rate
    for flag, value in (
        ("--start-rate", args.start_rate),
        ("--step-rate", step),
        ("--max-rate", args.max_rate),
        ("--interval", args.interval),
    ):
        if not value > 0:
            raise UsageError(f"{flag} must be above 0, got {value:g}")
    if args.max_rate < args.start_rate:
        raise UsageError(f"--max-rate {args.max_rate:g} is below --start-rate {args.start_rate:g}")
    if args.step_time < 4:
        raise UsageError(
            "--step-time must be at least 4 s: each step is measured over its second half"
        )
    count = math.floor((args.max_rate - args.start_rate) / step + 1e-9) + 1
    if count > MAX_STEPS:
        raise UsageError(
            f"{count} steps from {args.start_rate:g} to {args.max_rate:g} by {step:g}: at most "
            f"{MAX_STEPS}; raise --step-rate or lower --max-rate"
        )
    rates = tuple(args.start_rate + k * step for k in range(count))
    workers = [max(1, round(rate * args.interval)) for rate in rates]
    if max(workers) > MAX_WORKERS:
        raise UsageError(
            f"the last step needs {max(workers):.3g} workers (rate x interval): at most "
            f"{MAX_WORKERS:,}; lower --max-rate or --interval"
        )
    largest_rise = max(b - a for a, b in itertools.pairwise([0, *workers]))
    # New workers should all be up within the first quarter of a step, before it is measured.
    spawn = args.spawn_rate or max(10.0, math.ceil(largest_rise / (args.step_time / 4)))
    if not spawn > 0:
        raise UsageError(f"--spawn-rate must be above 0, got {spawn:g}")
    return StepPlan(
        rates=rates,
        step_s=args.step_time,
        interval_s=args.interval,
        spawn_rate=spawn,
        slo=slo.describe(),
    )


def quotas_of(args: argparse.Namespace) -> Quotas | None:
    """The embedded engine's quotas, as the planner models them; None without --quotas."""
    if args.quotas in (None, "none"):
        return None
    quotas = Quotas.swf_defaults().overridden(**{flag: getattr(args, flag) for flag in QUOTA_FLAGS})
    quotas.check()
    return quotas


def profile_document(plan: StepPlan, send_mode: str | None) -> dict[str, Any]:
    """The fleet profile of the search: tasks that stay open and heartbeat for the whole run."""
    run_time = plan.run_time_s + 10  # the search stops the run itself after its last step
    return {
        "name": "capacity",
        "description": f"capacity search, {len(plan.rates)} steps of {plan.step_s:g} s",
        "domain": "swfbench-capacity",
        "run_time_s": run_time,
        "send_mode": send_mode or "fast",
        "fleet": {
            "senders": min(MAX_SENDERS, max(plan.workers(k) for k in range(len(plan.rates)))),
            "shape": {
                "kind": "steps",
                "spawn_rate": plan.spawn_rate,
                "steps": [
                    {"workers": plan.workers(k), "duration_s": plan.step_s}
                    for k in range(len(plan.rates))
                ],
            },
        },
        "heartbeat": {
            "interval": {"distribution": "constant", "mean_s": plan.interval_s},
            "details": {"kind": "progress"},
        },
        "activity": {
            "duration": {"distribution": "constant", "mean_s": run_time + 60},
            "timeouts": {
                "heartbeat": max(10, math.ceil(5 * plan.interval_s)),
                "start_to_close": "NONE",
                "schedule_to_start": 60,
            },
        },
        "outcomes": {"complete": 1},
    }


def predicted_onset(plan: StepPlan, quotas: Quotas, seed: int = 1) -> dict[str, Any]:
    arrivals = stepped_arrivals(
        [plan.workers(k) for k in range(len(plan.rates))],
        plan.step_s,
        plan.interval_s,
        plan.spawn_rate,
        seed,
    )
    at = first_throttled(arrivals, quotas.account)
    if at is None:
        return {"time_s": None, "step": None, "offered_per_s": None}
    step = min(int(at // plan.step_s), len(plan.rates) - 1)
    return {"time_s": round(at, 3), "step": step, "offered_per_s": plan.offered(step)}


def analyse(
    results: dict[str, Any],
    plan: StepPlan,
    quotas: Quotas | None,
    interrupted_by: str | None = None,
) -> dict[str, Any]:
    """The knee, the curve, and throttling's onset measured against the planner's.

    A knee is claimed only from a whole search: steps judged in order from the first, up to
    one that broke or to the last. A search stopped before (by a signal, the run ending, an
    abort) has no knee: the highest step that held is only a lower bound (`held_so_far`); a
    record of steps with gaps (a step missing) has neither."""
    record = results.get("capacity") or {"steps": []}
    steps = list(record.get("steps") or [])
    in_order = [s.get("step") for s in steps] == list(range(len(steps)))
    held = [s for s in steps if s["holds"]] if in_order else []
    broke = next((s for s in steps if not s["holds"]), None) if in_order else None
    exhausted = in_order and broke is None and len(steps) == len(plan.rates)
    finished = broke is not None or exhausted
    knee = (
        held[-1]
        if finished and held and (broke is None or held[-1]["step"] < broke["step"])
        else None
    )
    if finished:
        why = None
    elif not in_order:
        why = f"incomplete: its record of steps has gaps ({len(steps)} of {len(plan.rates)})"
    else:
        why = (
            f"interrupted by {interrupted_by or 'the run ending'} after {len(steps)} of "
            f"{len(plan.rates)} steps"
        )
    capacity: dict[str, Any] = {
        "slo": plan.slo,
        "plan": {
            "rates": list(plan.rates),
            "step_s": plan.step_s,
            "interval_s": plan.interval_s,
            "spawn_rate": plan.spawn_rate,
            "measured_share": plan.measure_share,
        },
        "steps": steps,
        "knee": knee,
        "broken_at": broke,
        "exhausted": exhausted,
        "finished": finished,
        "held_so_far": None if finished or not held else held[-1],
        # Why the search did not finish, when it did not: a signal, the run ending, gaps.
        "interrupted": why,
        **saturation(broke),
    }
    measured_at = results["first_error_s"].get(THROTTLED)
    if quotas is not None or measured_at is not None:
        throttling: dict[str, Any] = {
            "quotas": {
                "account_bucket": quotas.account.size,
                "account_refill_per_s": quotas.account.refill_per_s,
            }
            if quotas
            else None,
            "predicted": predicted_onset(plan, quotas) if quotas else None,
            "measured": None,
        }
        if measured_at is not None:
            step = min(int(measured_at // plan.step_s), len(plan.rates) - 1)
            judged = next((s for s in steps if s["step"] == step), None)
            throttling["measured"] = {
                "time_s": measured_at,
                "step": step,
                "offered_per_s": plan.offered(step),
                "heartbeats_per_s": judged["heartbeats_per_s"] if judged else None,
            }
        throttling.update(_agreement(throttling["predicted"], throttling["measured"]))
        capacity["throttling"] = throttling
    if (
        quotas is not None
        and knee is not None
        and knee["offered_per_s"] > quotas.account.refill_per_s
    ):
        # A step shorter than the bucket takes to drain rides on the burst: say what lasts.
        capacity["note"] = (
            f"the knee, {knee['offered_per_s']:g}/s, is above the account refill of "
            f"{quotas.account.refill_per_s:g}/s: it held for {plan.step_s:g} s on the bucket's "
            f"{quotas.account.size:g} tokens, but sustained, no more than "
            f"{quotas.account.refill_per_s:g} heartbeats/s get through"
        )
    return capacity


def saturation(broke: dict[str, Any] | None) -> dict[str, Any]:
    """Which side saturated at the step that broke: the generator when its own pacing lag p99
    reached GENERATOR_LAG_MS (its figures then are its own delays as much as the target's),
    else the target."""
    lag = None if broke is None else broke.get("lag")
    if lag is None:
        return {"saturated": None, "generator_lag_ms": None}
    side = "generator" if float(lag) >= GENERATOR_LAG_MS else "target"
    return {"saturated": side, "generator_lag_ms": float(lag)}


def _agreement(predicted: dict[str, Any] | None, measured: dict[str, Any] | None) -> dict[str, Any]:
    """How far the measured onset is from the prediction: by the rate the fleet actually sent
    in the onset step against the rate the model offered, and by time."""
    if not predicted or predicted["time_s"] is None or not measured:
        agrees = predicted is not None and predicted["time_s"] is None and not measured
        return {"rate_error": None, "time_error": None, "agrees": agrees}
    sent = measured["heartbeats_per_s"] or measured["offered_per_s"]
    rate_error = abs(sent - predicted["offered_per_s"]) / predicted["offered_per_s"]
    time_error = abs(measured["time_s"] - predicted["time_s"]) / predicted["time_s"]
    return {
        "rate_error": round(rate_error, 4),
        "time_error": round(time_error, 4),
        "agrees": rate_error <= AGREEMENT and time_error <= AGREEMENT,
    }


def capacity_metrics(capacity: dict[str, Any]) -> dict[str, Any]:
    knee = capacity["knee"]
    metrics: dict[str, Any] = {
        "capacity": {
            "knee_per_s": knee["offered_per_s"] if knee else 0.0,
            "knee_heartbeats_per_s": knee["heartbeats_per_s"] if knee else 0.0,
            "steps": len(capacity["steps"]),
        }
    }
    throttling = capacity.get("throttling")
    if throttling and throttling.get("rate_error") is not None:
        metrics["capacity"]["throttling_rate_error"] = throttling["rate_error"]
    return metrics


def verdict(capacity: dict[str, Any]) -> str:
    """The search's outcome in one line, for the console and the report."""
    knee, broke = capacity["knee"], capacity["broken_at"]
    if capacity.get("interrupted"):
        held = capacity.get("held_so_far")
        so_far = (
            f"the rate held up to {held['offered_per_s']:g}/s so far, a lower bound"
            if held
            else "no step was judged"
            if not capacity["steps"]
            else "no lower bound either"
        )
        return f"no knee: {capacity['interrupted']}; {so_far}"
    if knee is None:
        return f"no knee: the first step ({broke['offered_per_s']:g}/s) already broke {capacity['slo']}"
    return (
        f"knee: {knee['offered_per_s']:g} heartbeats/s offered ({knee['heartbeats_per_s']:g} "
        f"measured, p50 {knee['p50']} ms, p99 {knee['p99']} ms, errors {knee['errors']:.2%}) "
        f"within {capacity['slo']}"
    )


def summary(capacity: dict[str, Any]) -> str:
    knee, broke = capacity["knee"], capacity["broken_at"]
    lines = [verdict(capacity)]
    if knee is not None and broke is not None:
        lines.append(f"broke at {broke['offered_per_s']:g}/s: {'; '.join(broke['broken'])}")
    if capacity.get("saturated") is not None:
        lag, limit = capacity["generator_lag_ms"], GENERATOR_LAG_MS
        if capacity["saturated"] == "generator":
            lines.append(
                f"the generator saturated: its pacing lag p99 was {lag:g} ms at the step that "
                f"broke (>= {limit:g} ms), so the knee is a lower bound of the target's; give "
                "it more processes (--processes N) or machines"
            )
        else:
            lines.append(
                f"the target saturated: the generator kept its schedule (pacing lag p99 "
                f"{lag:g} ms < {limit:g} ms at the step that broke)"
            )
    elif knee is not None and capacity["exhausted"]:
        lines.append("every step held: the knee is above --max-rate")
    if capacity.get("note"):
        lines.append(capacity["note"])
    throttling = capacity.get("throttling")
    if throttling:
        predicted, measured = throttling["predicted"], throttling["measured"]
        if predicted is not None:
            when = (
                "never"
                if predicted["time_s"] is None
                else (
                    f"at {predicted['time_s']:g} s, step {predicted['step'] + 1} "
                    f"({predicted['offered_per_s']:g}/s)"
                )
            )
            lines.append(f"throttling predicted by the planner: {when}")
        lines.append(
            "throttling measured: never"
            if measured is None
            else f"throttling measured: at {measured['time_s']:g} s, step {measured['step'] + 1} "
            f"({measured['heartbeats_per_s']:g} hb/s sent)"
        )
        if throttling["rate_error"] is not None:
            lines.append(
                f"measured against predicted: rate {throttling['rate_error']:.1%} apart, time "
                f"{throttling['time_error']:.1%} apart ({'agree' if throttling['agrees'] else 'DISAGREE'} "
                f"within {AGREEMENT:.0%})"
            )
    return "\n".join(f"swfbench capacity: {line}" for line in lines)


def run(args: argparse.Namespace) -> int:
    plan = step_plan(args)
    quotas = quotas_of(args)
    target_spec(args)  # flags that cannot apply: refused before anything is written
    if args.progress is None:
        args.progress = plan.step_s * plan.measure_share
    run_id = args.run_id or new_run_id("capacity")
    run_dir = claim_run_dir(Path(args.reports_dir), run_id)
    check_writable(run_dir)
    profile_path = run_dir / "profile.yaml"
    plan_path = run_dir / "steps.json"
    document = profile_document(plan, args.send_mode)
    print(
        f"swfbench capacity: {len(plan.rates)} steps of {plan.step_s:g} s from "
        f"{plan.rates[0]:g} to {plan.rates[-1]:g} heartbeats/s, until {plan.slo} breaks",
        flush=True,
    )
    try:
        write_text(profile_path, yaml.safe_dump(document, sort_keys=False))
        write_text(plan_path, plan.to_json())
        profile = parse_profile(document, str(profile_path))
        results, run_dir = run_fleet(
            args, profile, run_id=run_id, locust_args=["--swf-capacity", str(plan_path)]
        )
    except (SwfbenchError, KeyboardInterrupt):
        if not (run_dir / "results.json").exists():
            # Nothing ran: leave no run directory holding only the search's inputs.
            for path in (profile_path, plan_path):
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                run_dir.rmdir()
        raise
    interrupts: Interrupts = args.interrupts
    capacity = analyse(results, plan, quotas, interrupts.by)
    results["kind"] = "capacity"
    results["capacity"] = capacity
    # A search checks steps: one that judged none has no knee to report, whatever it sent.
    status = RunStatus.of(results)
    status.checked = len(capacity["steps"])
    if not capacity["finished"] and not interrupts.by:
        status.lack(f"steps not judged: {len(plan.rates) - len(capacity['steps'])}")
    results["status"] = status.to_dict()
    results["metrics"].update(capacity_metrics(capacity))
    print(summary(capacity), flush=True)
    report = write_run(results, Path(args.reports_dir))
    print(
        f"swfbench capacity: results in {run_dir / 'results.json'}, report in {report}", flush=True
    )
    if interrupts.by:
        return ExitCode.INTERRUPTED
    if status.state == "aborted":
        return ExitCode.OTHER
    if capacity["knee"] is None or not status.whole:
        return ExitCode.GATE_FAILED
    return ExitCode.OK
