"""Soak: the engine's memory under an hour of execution churn, sampled over time.

    .venv/bin/python benchmarks/engine_soak.py [--minutes 60] [--rate 50] [--threads 4]

Starts the embedded engine (as swfbench does) and runs workflow executions through their whole
life, continuously: StartWorkflowExecution, PollForDecisionTask, ScheduleActivityTask,
PollForActivityTask, five RecordActivityTaskHeartbeat calls with progress details,
RespondActivityTaskCompleted (or Failed, one in ten), PollForDecisionTask and
CompleteWorkflowExecution: the `steady` profile's lifecycle, without its waits. Every task
list is unique to a worker thread and a run, as swfbench's own activities use. One execution
in four runs in a domain with retention NONE (forgotten once closed), the rest in a domain
with a retention of one day (kept up to the engine's cap). One in fifty is abandoned after a
heartbeat: its activity's heartbeat timeout (2 s) and its execution timeout (5 s) fire on
the engine's sweeper. Each worker opens a new connection every 200 executions.

Every --sample seconds it records the engine's resident memory (VmRSS), threads, file
descriptors and what the engine holds (GET /swfbench/engine), and prints a line each minute.
At the end: RSS at the start, at the end of the warm-up, at 10, 30 and 60 minutes and at the
end, and the slope after the warm-up (least squares, MB per hour). The warm-up lasts until the
engine holds as many closed executions as its cap allows, and at least --warmup minutes; the
baseline is the same run's RSS at its end, and the ratio of the last RSS to it says whether
memory stayed flat.
Any call that fails ends the run with exit code 1: a soak with errors proves nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine_scale import RawSWF, cpu_seconds

from swfbench.embedded import EmbeddedServer

WORKFLOW = {"name": "soak-wf", "version": "1"}
ACTIVITY = {"name": "soak-act", "version": "1"}
KEPT, NOT_KEPT = "soak", "soak-none"
HEARTBEATS = 5
RECONNECT_EVERY = 200
CHECKPOINTS_MIN = (10, 30, 60)
STATE_FIELDS = ("open_executions", "closed_executions", "task_tokens", "deadlines")


@dataclass
class Sample:
    t_s: float
    rss_mb: float
    threads: int
    fds: int
    cpu_s: float
    executions: int
    open_executions: int
    closed_executions: int
    task_tokens: int
    deadlines: int


def process_status(pid: int) -> tuple[float, int, int]:
    """RSS in MB, threads and open file descriptors of a process (Linux /proc)."""
    rss_kb = 0
    threads = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb / 1024, threads, fds


def register(swf: RawSWF) -> None:
    for domain, retention in ((KEPT, "1"), (NOT_KEPT, "NONE")):
        swf.call("RegisterDomain", name=domain, workflowExecutionRetentionPeriodInDays=retention)
        swf.call(
            "RegisterWorkflowType",
            domain=domain,
            **WORKFLOW,
            defaultExecutionStartToCloseTimeout="3600",
            defaultTaskStartToCloseTimeout="60",
            defaultChildPolicy="TERMINATE",
        )
        swf.call(
            "RegisterActivityType",
            domain=domain,
            **ACTIVITY,
            defaultTaskHeartbeatTimeout="10",
            defaultTaskScheduleToStartTimeout="NONE",
            defaultTaskScheduleToCloseTimeout="NONE",
            defaultTaskStartToCloseTimeout="300",
        )


class Churn:
    """Worker threads running executions end to end, paced to `rate` per second (0: flat out)."""

    def __init__(self, port: int, *, rate: float, threads: int, run: str) -> None:
        self.port = port
        self.rate = rate
        self.threads = threads
        self.run = run
        self.done = 0
        self.heartbeats = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self._slots = itertools.count()
        self._lock = threading.Lock()
        self._started = 0.0
        self._pool: list[threading.Thread] = []

    def start(self) -> None:
        self._started = time.monotonic()
        self._pool = [
            threading.Thread(target=self._worker, args=(i,), daemon=True)
            for i in range(self.threads)
        ]
        for thread in self._pool:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._pool:
            thread.join()

    def _pace(self) -> int:
        n = next(self._slots)
        if self.rate > 0:
            wait = self._started + n / self.rate - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)
        return n

    def _worker(self, worker: int) -> None:
        swf = RawSWF(self.port)
        decisions = f"{self.run}-d{worker}"
        activities = f"{self.run}-a{worker}"
        count = 0
        try:
            while not self.stop.is_set():
                n = self._pace()
                if self.stop.is_set():
                    break
                domain = NOT_KEPT if n % 4 == 3 else KEPT
                if n % 50 == 49:
                    self._abandon(swf, domain, f"{self.run}-{n}", f"{self.run}-x{n}")
                else:
                    self._execution(swf, domain, f"{self.run}-{n}", decisions, activities, n)
                count += 1
                with self._lock:
                    self.done += 1
                if count % RECONNECT_EVERY == 0:
                    swf.conn.close()
                    swf = RawSWF(self.port)
        except Exception as exc:  # reported by the main thread; the run is void
            self.errors.append(f"worker {worker}: {exc}")
            self.stop.set()

    def _execution(
        self, swf: RawSWF, domain: str, workflow_id: str, decisions: str, activities: str, n: int
    ) -> None:
        swf.call(
            "StartWorkflowExecution",
            domain=domain,
            workflowId=workflow_id,
            workflowType=WORKFLOW,
            taskList={"name": decisions},
        )
        task = self._poll(swf, "PollForDecisionTask", domain, decisions)
        swf.call(
            "RespondDecisionTaskCompleted",
            taskToken=task["taskToken"],
            decisions=[_schedule(activities)],
        )
        activity = self._poll(swf, "PollForActivityTask", domain, activities)
        token = activity["taskToken"]
        for step in range(1, HEARTBEATS + 1):
            answer = swf.call(
                "RecordActivityTaskHeartbeat", taskToken=token, details=f"{step * 20}%"
            )
            if answer.get("cancelRequested") is not False:
                raise RuntimeError(f"heartbeat answered {answer}")
        with self._lock:
            self.heartbeats += HEARTBEATS
        if n % 10 == 9:
            swf.call("RespondActivityTaskFailed", taskToken=token, reason="soak", details="x")
        else:
            swf.call("RespondActivityTaskCompleted", taskToken=token, result="done")
        task = self._poll(swf, "PollForDecisionTask", domain, decisions)
        swf.call(
            "RespondDecisionTaskCompleted",
            taskToken=task["taskToken"],
            decisions=[
                {
                    "decisionType": "CompleteWorkflowExecution",
                    "completeWorkflowExecutionDecisionAttributes": {"result": "ok"},
                }
            ],
        )

    def _abandon(self, swf: RawSWF, domain: str, workflow_id: str, task_list: str) -> None:
        """Start an execution and its activity, heartbeat once, and walk away: the engine times
        out the activity (2 s) and then the execution (5 s) on its own."""
        swf.call(
            "StartWorkflowExecution",
            domain=domain,
            workflowId=workflow_id,
            workflowType=WORKFLOW,
            taskList={"name": task_list},
            executionStartToCloseTimeout="5",
        )
        task = self._poll(swf, "PollForDecisionTask", domain, task_list)
        swf.call(
            "RespondDecisionTaskCompleted",
            taskToken=task["taskToken"],
            decisions=[_schedule(task_list + "-a", heartbeatTimeout="2")],
        )
        activity = self._poll(swf, "PollForActivityTask", domain, task_list + "-a")
        swf.call("RecordActivityTaskHeartbeat", taskToken=activity["taskToken"], details="0%")

    @staticmethod
    def _poll(swf: RawSWF, operation: str, domain: str, task_list: str) -> dict[str, Any]:
        answer = swf.call(operation, domain=domain, taskList={"name": task_list})
        if not answer.get("taskToken"):
            raise RuntimeError(f"{operation} on {task_list} answered no task")
        return answer


def _schedule(task_list: str, **timeouts: str) -> dict[str, Any]:
    return {
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": {
            "activityId": "a1",
            "activityType": ACTIVITY,
            "taskList": {"name": task_list},
            **timeouts,
        },
    }


def engine_info(port: int) -> dict[str, Any]:
    client = RawSWF(port)
    client.conn.request("GET", "/swfbench/engine")
    info: dict[str, Any] = json.loads(client.conn.getresponse().read())
    client.conn.close()
    return info


def slope_mb_per_hour(samples: list[Sample]) -> float:
    """Least-squares slope of RSS against time, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    ts = [s.t_s for s in samples]
    ys = [s.rss_mb for s in samples]
    mean_t, mean_y = sum(ts) / len(ts), sum(ys) / len(ys)
    var = sum((t - mean_t) ** 2 for t in ts)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True))
    return cov / var * 3600


def at(samples: list[Sample], minute: float) -> Sample | None:
    """The first sample at or after `minute`, if the run got there."""
    return next((s for s in samples if s.t_s >= minute * 60), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the churn")
    parser.add_argument("--rate", type=float, default=50.0, help="executions/s (0: flat out)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (connections)")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="least minutes of warm-up (default 5)",
    )
    parser.add_argument(
        "--max-closed-executions", type=int, default=None, help="the engine's cap (its default)"
    )
    parser.add_argument("--json", type=Path, help="write the samples and summary here")
    args = parser.parse_args(argv)

    extra: tuple[str, ...] = ()
    if args.max_closed_executions is not None:
        extra = ("--max-closed-executions", str(args.max_closed_executions))
    print(
        f"engine_soak: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
        f"{args.minutes:g} min at {args.rate:g} executions/s from {args.threads} threads, "
        f"warm-up at least {args.warmup:g} min",
        flush=True,
    )
    samples: list[Sample] = []
    with EmbeddedServer(extra_args=extra) as server:
        assert server.process is not None
        pid = server.process.pid
        register(RawSWF(server.port))
        # An engine without retention (an earlier build) reports neither cap nor state.
        cap: int | None = engine_info(server.port).get("max_closed_executions")
        churn = Churn(server.port, rate=args.rate, threads=args.threads, run=f"r{os.getpid()}")
        began = time.monotonic()
        churn.start()
        next_print = 0.0
        deadline = began + args.minutes * 60
        while True:
            now = time.monotonic()
            rss, threads, fds = process_status(pid)
            state = engine_info(server.port).get("state", dict.fromkeys(STATE_FIELDS, 0))
            sample = Sample(
                t_s=round(now - began, 1),
                rss_mb=round(rss, 1),
                threads=threads,
                fds=fds,
                cpu_s=round(cpu_seconds(pid) or 0.0, 2),
                executions=churn.done,
                **state,
            )
            samples.append(sample)
            if sample.t_s >= next_print or now >= deadline or churn.stop.is_set():
                rate = sample.executions / sample.t_s if sample.t_s else 0.0
                print(
                    f"  {sample.t_s / 60:5.1f} min  RSS {sample.rss_mb:7.1f} MB  "
                    f"executions {sample.executions:>9,} ({rate:,.0f}/s)  "
                    f"closed kept {sample.closed_executions:>6,}  open "
                    f"{sample.open_executions:>4}  tokens {sample.task_tokens:>6,}  "
                    f"deadlines {sample.deadlines:>6,}  threads {threads}  fds {fds}",
                    flush=True,
                )
                next_print += 60
            if now >= deadline or churn.stop.is_set():
                break
            churn.stop.wait(min(args.sample, max(0.0, deadline - time.monotonic())))
        churn.join()

    if churn.errors:
        print(f"engine_soak: FAILED: {churn.errors[0]}", file=sys.stderr)
        return 1
    # The warm-up lasts until the engine holds its cap of closed executions (never, for an
    # engine without one), and at least --warmup minutes.
    full = 0.0
    if cap is not None:
        full = next((s.t_s for s in samples if s.closed_executions >= cap), samples[-1].t_s)
    return report(samples, churn, max(args.warmup, full / 60), args)


def report(samples: list[Sample], churn: Churn, warmup: float, args: argparse.Namespace) -> int:
    last = samples[-1]
    warm = at(samples, warmup) or last
    after = [s for s in samples if s.t_s >= warm.t_s]
    slope = slope_mb_per_hour(after)
    print()
    print(f"{'when':<22} {'t (min)':>8} {'RSS (MB)':>9} {'vs warm-up':>11} {'closed kept':>12}")
    rows: list[tuple[str, Sample]] = [("start", samples[0]), ("end of warm-up", warm)]
    rows += [(f"{m} min", s) for m in CHECKPOINTS_MIN if (s := at(samples, m)) is not None]
    rows.append(("end", last))
    for name, s in rows:
        print(
            f"{name:<22} {s.t_s / 60:>8.1f} {s.rss_mb:>9.1f} {s.rss_mb / warm.rss_mb:>11.3f} "
            f"{s.closed_executions:>12,}"
        )
    peak = max(s.rss_mb for s in after)
    minutes = last.t_s / 60
    print(
        f"executions {last.executions:,} ({last.executions / last.t_s:,.1f}/s), heartbeats "
        f"{churn.heartbeats:,}, engine CPU {last.cpu_s / last.t_s:.0%} of a core"
    )
    print(
        f"after warm-up ({warm.t_s / 60:.1f} to {minutes:.1f} min): slope {slope:+.2f} MB/h, "
        f"peak {peak:.1f} MB, last/warm-up {last.rss_mb / warm.rss_mb:.3f}"
    )
    if args.json:
        summary = {
            "minutes": minutes,
            "warmup_min": warmup,
            "slope_mb_per_h": slope,
            "rss_mb": {name: s.rss_mb for name, s in rows},
            "executions": last.executions,
            "heartbeats": churn.heartbeats,
        }
        args.json.write_text(
            json.dumps({"summary": summary, "samples": [asdict(s) for s in samples]}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
