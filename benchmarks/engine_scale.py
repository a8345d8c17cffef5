"""Heartbeat throughput against open tasks: plain moto server against the swfbench engine.

    .venv/bin/python benchmarks/engine_scale.py [--tasks 10000] [--moto-tasks 500]

Both servers run in this one invocation, each as its own process on a free loopback port. For
each it measures heartbeats/s with 10 open started tasks, then starts N more activities through
the real flow (StartWorkflowExecution, PollForDecisionTask, RespondDecisionTaskCompleted with
ScheduleActivityTask, PollForActivityTask) and measures heartbeats/s again across all open
tasks. Plain moto slows down with every open task (each call scans them all), so its N is capped
by --moto-tasks. Ratios compare against the 10-task baseline of the same server in this run.

The client is raw `http.client` on keep-alive connections with prebuilt bodies and a fixed
(unverified) Authorization header, from several threads, so that it is not the bottleneck.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from swfbench.embedded import EmbeddedServer

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/swf/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"
)
DOMAIN = "bench"
WORKFLOW = {"name": "bench-wf", "version": "1"}
ACTIVITY = {"name": "bench-act", "version": "1"}


class RawSWF:
    """A minimal SWF JSON 1.0 client on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, operation: str, body: bytes) -> tuple[int, bytes]:
        self.conn.request(
            "POST",
            "/",
            body=body,
            headers={
                "X-Amz-Target": f"SimpleWorkflowService.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": AUTH,
                "X-Amz-Date": "20250101T000000Z",
            },
        )
        response = self.conn.getresponse()
        return response.status, response.read()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        status, data = self.send(operation, json.dumps(params).encode())
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status} {data[:300]!r}")
        result: dict[str, Any] = json.loads(data) if data else {}
        return result


@dataclass(frozen=True)
class Server:
    name: str
    embedded: EmbeddedServer

    @property
    def port(self) -> int:
        return self.embedded.port

    @property
    def pid(self) -> int:
        assert self.embedded.process is not None
        return self.embedded.process.pid


def register(port: int) -> None:
    swf = RawSWF(port)
    swf.call("RegisterDomain", name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
    swf.call(
        "RegisterWorkflowType",
        domain=DOMAIN,
        **WORKFLOW,
        defaultTaskList={"name": "unused"},
        defaultExecutionStartToCloseTimeout="86400",
        defaultTaskStartToCloseTimeout="3600",
        defaultChildPolicy="TERMINATE",
    )
    # Real timeouts, far enough not to fire: the engine keeps their deadlines in its heap.
    swf.call(
        "RegisterActivityType",
        domain=DOMAIN,
        **ACTIVITY,
        defaultTaskList={"name": "unused"},
        defaultTaskHeartbeatTimeout="3600",
        defaultTaskScheduleToStartTimeout="3600",
        defaultTaskScheduleToCloseTimeout="86400",
        defaultTaskStartToCloseTimeout="86400",
    )


def start_activities(
    port: int, count: int, *, prefix: str, per_workflow: int, threads: int
) -> list[str]:
    """Start `count` activities through the real flow; return their task tokens."""
    counter = itertools.count()
    workflows = (count + per_workflow - 1) // per_workflow
    tokens: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(thread_no: int) -> None:
        swf = RawSWF(port)
        decisions = f"{prefix}-d{thread_no}"
        activities = f"{prefix}-a{thread_no}"
        try:
            while (n := next(counter)) < workflows:
                size = min(per_workflow, count - n * per_workflow)
                swf.call(
                    "StartWorkflowExecution",
                    domain=DOMAIN,
                    workflowId=f"{prefix}-{n}",
                    workflowType=WORKFLOW,
                    taskList={"name": decisions},
                )
                task = swf.call("PollForDecisionTask", domain=DOMAIN, taskList={"name": decisions})
                swf.call(
                    "RespondDecisionTaskCompleted",
                    taskToken=task["taskToken"],
                    decisions=[
                        {
                            "decisionType": "ScheduleActivityTask",
                            "scheduleActivityTaskDecisionAttributes": {
                                "activityId": f"a{i}",
                                "activityType": ACTIVITY,
                                "taskList": {"name": activities},
                            },
                        }
                        for i in range(size)
                    ],
                )
                got: list[str] = []
                while len(got) < size:
                    activity = swf.call(
                        "PollForActivityTask", domain=DOMAIN, taskList={"name": activities}
                    )
                    if activity.get("taskToken"):
                        got.append(activity["taskToken"])
                with lock:
                    tokens.extend(got)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return tokens


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Rate:
    per_second: float
    """Heartbeats per second (median of the rounds)."""
    cpu_us: float | None
    """Server CPU microseconds per heartbeat, over all rounds; steadier than the rate when
    other processes share the host."""


def heartbeats_per_second(
    server: Server, tokens: list[str], *, seconds: float, threads: int, rounds: int
) -> Rate:
    """Heartbeat rate over `rounds` measurements (other load on the host adds noise)."""
    cpu_before = cpu_seconds(server.pid)
    results = [
        _heartbeat_round(server.port, tokens, seconds=seconds, threads=threads)
        for _ in range(rounds)
    ]
    cpu_after = cpu_seconds(server.pid)
    rates = sorted(rate for rate, _ in results)
    calls = sum(count for _, count in results)
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and calls:
        cpu_us = (cpu_after - cpu_before) / calls * 1e6
    return Rate(rates[len(rates) // 2], cpu_us)


def _heartbeat_round(
    port: int, tokens: list[str], *, seconds: float, threads: int
) -> tuple[float, int]:
    """Heartbeat the tokens round-robin from `threads` connections for `seconds`."""
    bodies = [json.dumps({"taskToken": t, "details": "progress"}).encode() for t in tokens]
    done = [0] * threads
    failures: list[str] = []
    stop = threading.Event()

    def worker(thread_no: int) -> None:
        swf = RawSWF(port)
        index = thread_no
        count = 0
        while not stop.is_set():
            status, data = swf.send("RecordActivityTaskHeartbeat", bodies[index % len(bodies)])
            if status != 200:
                failures.append(f"HTTP {status} {data[:200]!r}")
                return
            count += 1
            index += threads
        done[thread_no] = count

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"heartbeat failed: {failures[0]}")
    return sum(done) / elapsed, sum(done)


@dataclass
class Result:
    name: str
    small: Rate
    large_tasks: int
    large: Rate
    start_seconds: float


def _describe(rate: Rate) -> str:
    cpu = f" ({rate.cpu_us:,.0f} µs server CPU each)" if rate.cpu_us is not None else ""
    return f"{rate.per_second:,.0f} heartbeats/s{cpu}"


def measure(server: Server, tasks: int, args: argparse.Namespace) -> Result:
    register(server.port)
    timing = {"seconds": args.seconds, "threads": args.client_threads, "rounds": args.rounds}
    small_tokens = start_activities(server.port, 10, prefix="small", per_workflow=10, threads=1)
    small = heartbeats_per_second(server, small_tokens, **timing)
    print(f"  {server.name}: {_describe(small)} with 10 open tasks", flush=True)
    began = time.perf_counter()
    bulk = start_activities(
        server.port,
        tasks,
        prefix="bulk",
        per_workflow=args.per_workflow,
        threads=args.start_threads,
    )
    start_seconds = time.perf_counter() - began
    print(f"  {server.name}: started {tasks:,} activities in {start_seconds:.1f} s", flush=True)
    large = heartbeats_per_second(server, small_tokens + bulk, **timing)
    print(f"  {server.name}: {_describe(large)} with {tasks + 10:,} open tasks", flush=True)
    return Result(server.name, small, tasks + 10, large, start_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="open tasks for the engine")
    parser.add_argument(
        "--moto-tasks", type=int, default=1000, help="open tasks for plain moto (capped at 1,000)"
    )
    parser.add_argument("--per-workflow", type=int, default=100, help="activities per execution")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per figure (median)")
    parser.add_argument("--client-threads", type=int, default=4)
    parser.add_argument("--start-threads", type=int, default=8)
    parser.add_argument("--skip-moto", action="store_true", help="measure the engine only")
    args = parser.parse_args(argv)
    moto_tasks = min(args.moto_tasks, 1000)
    env_note = f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    print(
        f"engine_scale: {env_note}; heartbeat rates are the median of {args.rounds} "
        f"measurements of {args.seconds:g} s",
        flush=True,
    )

    results: list[Result] = []
    runs: list[tuple[str, str, int]] = [("swfbench engine", "swfbench", args.tasks)]
    if not args.skip_moto:
        runs.append(("plain moto", "moto", moto_tasks))
    for name, engine, tasks in runs:
        # The same embedded server swfbench itself runs, started and stopped the same way.
        with EmbeddedServer(engine=engine) as server:
            results.append(measure(Server(name, server), tasks, args))

    print()
    header = (
        f"{'server':<16} {'hb/s @10':>9} {'open N':>7} {'hb/s @N':>9} {'ratio':>6} "
        f"{'cpu µs @10':>11} {'cpu µs @N':>10} {'cpu ratio':>10} {'start N (s)':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cpu_small = f"{r.small.cpu_us:,.0f}" if r.small.cpu_us is not None else "-"
        cpu_large = f"{r.large.cpu_us:,.0f}" if r.large.cpu_us is not None else "-"
        cpu_ratio = (
            f"{r.small.cpu_us / r.large.cpu_us:.2f}" if r.small.cpu_us and r.large.cpu_us else "-"
        )
        print(
            f"{r.name:<16} {r.small.per_second:>9,.0f} {r.large_tasks:>7,} "
            f"{r.large.per_second:>9,.0f} {r.large.per_second / r.small.per_second:>6.2f} "
            f"{cpu_small:>11} {cpu_large:>10} {cpu_ratio:>10} {r.start_seconds:>12.1f}"
        )
    print("ratio: hb/s @N over hb/s @10; cpu ratio: CPU per heartbeat @10 over @N (1.0 = flat)")
    if not args.skip_moto:
        print(f"plain moto measured with {moto_tasks:,} open tasks, not {args.tasks:,}: it scans")
        print("every task on every call, so starting more would take many minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
