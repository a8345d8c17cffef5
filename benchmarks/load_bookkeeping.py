"""Benchmark 1b: the fleet's own CPU per heartbeat, with the network taken out.

`load_send_path.py` judges the send path as it runs, against a real sink; there the kernel's
share of a send (about half of it) and a shared machine's noise hide what swfbench's own
bookkeeping costs. Here every layer runs in one loop in this process, in the same run, with the
connection's `post` answering at once (the answer the sink gives, `{"cancelRequested":false}`),
so each row adds one layer to the one before:

  lean       sign the request, parse the answer: the floor of a signed send
  sender     + `FastSender.heartbeat`: its timing, its result, failure classification
  worker     + `HeartbeatOnlyWorker.step`: the pacer (lag, next due time), the details, the
             metrics tally (due, sent, lag, latency) and its per-second fold into the
             histograms, the timeline and Locust's statistics
  fleet      + the scheduler: take the due worker, put it back (`Scheduler`)

Each layer is timed as CPU time per heartbeat over `--heartbeats`, the layers interleaved, the
median of `--repetitions` reported. "bookkeeping" is fleet - lean.

"fold" is the share of the worker layer spent once a second: one second of `--rate` heartbeats
(latencies and lags drawn as a loopback run gives them) tallied, then timed as they are folded
into the histograms, the timeline and Locust's statistics, per heartbeat.

    .venv/bin/python benchmarks/load_bookkeeping.py [--heartbeats 200000] [--repetitions 5]
        [--rate 30000]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Mapping

import load_common  # before swfbench: it patches the standard library for gevent

from swfbench.load.connection import Connection
from swfbench.load.scheduler import Scheduler
from swfbench.load.transport import FastSender, build_request
from swfbench.load.worker import SINK_TOKEN, HeartbeatOnlyWorker, WorkerContext

ANSWER = b'{"cancelRequested":false}'
URL = "http://127.0.0.1:9"  # never connected to
WORKERS = 50


class Answering(Connection):
    """A connection whose every POST is answered at once, as the sink answers it."""

    def post(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        return 200, ANSWER


def _layers() -> dict[str, Callable[[int], None]]:
    # Far below a send's cost: every worker is always due, as in load_send_path.py.
    _, runtime = load_common.heartbeat_runtime(
        URL, workers=WORKERS, senders=WORKERS, interval_s=0.0001
    )
    context = WorkerContext(runtime=runtime)
    connection = Answering(URL, connect_s=1, read_s=1)
    sender = FastSender(connection=connection, signer=runtime.signer, observer=runtime.observer)
    signer = runtime.signer
    scheduler = Scheduler()
    for index in range(WORKERS):
        member = HeartbeatOnlyWorker(index)
        scheduler.put(member.begin(context), member)
    # The worker layer steps a fleet of its own in turn, without the scheduler.
    others = [HeartbeatOnlyWorker(WORKERS + index) for index in range(WORKERS)]
    for member in others:
        member.begin(context)

    def lean(n: int) -> None:
        for _ in range(n):
            body, headers = build_request(signer, SINK_TOKEN, "50.0%")
            status, content = connection.post(headers, body)
            assert status == 200 and not json.loads(content)["cancelRequested"]

    def sender_layer(n: int) -> None:
        for _ in range(n):
            sender.heartbeat(SINK_TOKEN, "50.0%")

    def worker(n: int) -> None:
        for i in range(n):
            others[i % WORKERS].step(context, sender)

    def fleet(n: int) -> None:
        take, put = scheduler.take, scheduler.put
        for _ in range(n):
            member = take()
            put(member.step(context, sender), member)

    return {"lean": lean, "sender": sender_layer, "worker": worker, "fleet": fleet}


def fold_us(rate: int, seed: int) -> float:
    """CPU per heartbeat of folding one second of `rate` heartbeats into the metrics."""
    _, runtime = load_common.heartbeat_runtime(URL, workers=1, senders=1, interval_s=1.0)
    metrics = runtime.metrics
    rng = random.Random(seed)
    latencies = [rng.lognormvariate(math.log(0.0015), 0.3) for _ in range(rate)]
    lags = [rng.expovariate(1 / 0.0003) for _ in range(rate)]
    while True:
        metrics.clear()
        for lag, latency in zip(lags, latencies, strict=True):
            metrics.beat_sent(lag)
            metrics.beat_ok(latency, len(ANSWER))
        if metrics.counters["heartbeats_ok"] == 0:  # the second did not turn while tallying
            break
    started = time.process_time()
    metrics.flush()
    elapsed = time.process_time() - started
    assert metrics.counters["heartbeats_ok"] == rate
    return elapsed / rate * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--heartbeats", type=int, default=200_000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--rate", type=int, default=30_000, help="heartbeats in the folded second")
    args = parser.parse_args()
    layers = _layers()
    for run in layers.values():
        run(2_000)  # warm up: the first second's tally, the caches
    times: dict[str, list[float]] = {name: [] for name in layers}
    for _ in range(args.repetitions):
        for name, run in layers.items():
            started = time.process_time()
            run(args.heartbeats)
            times[name].append((time.process_time() - started) / args.heartbeats * 1e6)
    us = {name: round(statistics.median(values), 2) for name, values in times.items()}
    bookkeeping = round(us["fleet"] - us["lean"], 2)
    fold = round(statistics.median(fold_us(args.rate, seed) for seed in range(args.repetitions)), 2)
    print(f"CPU per heartbeat, medians of {args.repetitions} x {args.heartbeats:,}:")
    before = 0.0
    for name, value in us.items():
        print(f"  {name:>7}: {value:5.2f} us  (+{value - before:4.2f})")
        before = value
    print(f"  bookkeeping (fleet - lean): {bookkeeping:.2f} us")
    print(f"  of which the per-second fold, {args.rate:,} heartbeats a second: {fold:.2f} us")
    print(json.dumps({"us_per_heartbeat": us, "bookkeeping_us": bookkeeping, "fold_us": fold}))


if __name__ == "__main__":
    main()
