"""Heartbeat throughput against open tasks: the swfbench engine, plain moto and LocalStack.

    .venv/bin/python benchmarks/engine_scale.py [--engines swfbench,moto,localstack]
        [--levels 10,100,1000,10000] [--emulator-levels 10,100,1000]

The servers run one after another in this one invocation, each as the embedded target runs it
(its own process on a free loopback port). For each it measures heartbeats/s with 10 open
started tasks, then starts more activities through the real flow (StartWorkflowExecution,
PollForDecisionTask, RespondDecisionTaskCompleted with ScheduleActivityTask,
PollForActivityTask) up to each level of open tasks and measures heartbeats/s again across all
of them. Plain moto and LocalStack (moto-ext) slow down with every open task (each call scans
them all), so they are measured up to 1,000; the engine up to 10,000. Ratios compare against
the 10-task figure of the same server in this run.

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
from datetime import UTC, datetime
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
    version: str | None
    rates: dict[int, Rate]
    """Open tasks -> heartbeat rate with that many open."""
    start_seconds: float
    """Time to start all the activities beyond the first 10."""


def _describe(rate: Rate) -> str:
    cpu = f" ({rate.cpu_us:,.0f} µs server CPU each)" if rate.cpu_us is not None else ""
    return f"{rate.per_second:,.0f} heartbeats/s{cpu}"


def measure(
    server: Server, version: str | None, levels: list[int], args: argparse.Namespace
) -> Result:
    """Heartbeat rates with 10 open tasks, then with each larger level, starting the
    activities that each level adds through the real flow."""
    register(server.port)
    timing = {"seconds": args.seconds, "threads": args.client_threads, "rounds": args.rounds}
    tokens = start_activities(server.port, 10, prefix="small", per_workflow=10, threads=1)
    rates = {10: heartbeats_per_second(server, tokens, **timing)}
    print(f"  {server.name}: {_describe(rates[10])} with 10 open tasks", flush=True)
    start_seconds = 0.0
    for level in [n for n in levels if n > 10]:
        began = time.perf_counter()
        tokens += start_activities(
            server.port,
            level - len(tokens),
            prefix=f"bulk{level}",
            per_workflow=args.per_workflow,
            threads=args.start_threads,
        )
        took = time.perf_counter() - began
        start_seconds += took
        print(f"  {server.name}: {len(tokens):,} open tasks ({took:.1f} s to start)", flush=True)
        rates[level] = heartbeats_per_second(server, tokens, **timing)
        print(f"  {server.name}: {_describe(rates[level])} with {level:,} open tasks", flush=True)
    return Result(server.name, version, rates, start_seconds)


SERVERS = {
    "swfbench": "swfbench engine",
    "moto": "plain moto",
    "localstack": "LocalStack",
}


def _levels(text: str) -> list[int]:
    levels = sorted({int(n) for n in text.replace("_", "").split(",")})
    if not levels or levels[0] != 10:
        raise argparse.ArgumentTypeError("levels start at 10 open tasks, e.g. 10,100,1000")
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--engines",
        default="swfbench,moto,localstack",
        help="servers to measure, in order (swfbench, moto, localstack)",
    )
    parser.add_argument(
        "--levels",
        type=_levels,
        default=_levels("10,100,1000,10000"),
        help="open tasks for the engine (10,100,1000,10000)",
    )
    parser.add_argument(
        "--emulator-levels",
        type=_levels,
        default=_levels("10,100,1000"),
        help="open tasks for plain moto and LocalStack (10,100,1000): each call scans them all",
    )
    parser.add_argument("--per-workflow", type=int, default=100, help="activities per execution")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per figure (median)")
    parser.add_argument("--client-threads", type=int, default=4)
    parser.add_argument("--start-threads", type=int, default=8)
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = [name for name in engines if name not in SERVERS]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}: choose from {', '.join(SERVERS)}")
    print(
        f"engine_scale: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}; heartbeat rates are the median of {args.rounds} "
        f"measurements of {args.seconds:g} s",
        flush=True,
    )

    results: list[Result] = []
    for engine in engines:
        levels = args.levels if engine == "swfbench" else args.emulator_levels
        # The same embedded server swfbench itself runs, started and stopped the same way.
        with EmbeddedServer(engine=engine) as server:
            print(f"{SERVERS[engine]} ({server.version}):", flush=True)
            results.append(measure(Server(SERVERS[engine], server), server.version, levels, args))

    every = sorted({level for r in results for level in r.rates})
    print()
    print("| server | " + " | ".join(f"{n:,} open tasks" for n in every) + " | start |")
    print("|---|" + "---|" * (len(every) + 1))
    for r in results:
        cells = []
        for level in every:
            rate = r.rates.get(level)
            if rate is None:
                cells.append("-")
                continue
            cpu = f" ({rate.cpu_us:,.0f} µs)" if rate.cpu_us is not None else ""
            cells.append(f"{rate.per_second:,.0f}/s{cpu}")
        largest = max(r.rates)
        named = r.version and r.version.startswith(r.name)
        print(
            f"| {r.version if named else f'{r.name} ({r.version})'} | "
            + " | ".join(cells)
            + f" | {largest - 10:,} in {r.start_seconds:.1f} s |"
        )
    print()
    print("Each cell: heartbeats/s with that many open tasks (server CPU per heartbeat).")
    for r in results:
        low, high = r.rates[10], r.rates[max(r.rates)]
        print(
            f"{r.name}: {max(r.rates):,} open tasks answer {high.per_second / low.per_second:.2f}x "
            f"the heartbeats/s of 10"
            + (
                f"; CPU per heartbeat {high.cpu_us / low.cpu_us:.1f}x"
                if high.cpu_us and low.cpu_us
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
