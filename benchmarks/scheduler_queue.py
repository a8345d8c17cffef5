"""Benchmark: what handing out the next due worker costs the fleet's scheduler, against a heap
of (due, member) in the same run (the scheduler's structure before its millisecond slots).

Members due at random points of a 60 s interval; each round takes the next member and puts it
back one interval later, as a sender does after a heartbeat. The clock stands past every due
time, so the figure is the queue's own cost, without waiting.

    .venv/bin/python benchmarks/scheduler_queue.py [--members 50000,500000] [--rounds 300000]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import time

from swfbench.load.scheduler import Scheduler


class Member:
    __slots__ = ("due", "index", "retired")

    def __init__(self, index: int, due: float) -> None:
        self.index, self.due, self.retired = index, due, False

    def __lt__(self, other: Member) -> bool:
        return self.index < other.index


def slots_us(members: list[Member], rounds: int) -> float:
    scheduler = Scheduler(lambda: 1e12)
    for member in members:
        scheduler.put(member.due, member)
    started = time.perf_counter()
    for _ in range(rounds):
        member = scheduler.take()  # type: ignore[assignment]
        member.due += 60.0
        scheduler.put(member.due, member)
    return (time.perf_counter() - started) / rounds * 1e6


def heap_us(members: list[Member], rounds: int) -> float:
    heap = [(member.due, member) for member in members]
    heapq.heapify(heap)
    started = time.perf_counter()
    for _ in range(rounds):
        _, member = heapq.heappop(heap)
        member.due += 60.0
        heapq.heappush(heap, (member.due, member))
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", default="50000,500000")
    parser.add_argument("--rounds", type=int, default=300_000)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    for count in (int(part) for part in args.members.split(",")):
        ratios, slot_runs, heap_runs = [], [], []
        for _ in range(args.repetitions):
            rng = random.Random(1)
            slot = slots_us([Member(i, rng.uniform(0, 60)) for i in range(count)], args.rounds)
            rng = random.Random(1)
            heap = heap_us([Member(i, rng.uniform(0, 60)) for i in range(count)], args.rounds)
            slot_runs.append(slot)
            heap_runs.append(heap)
            ratios.append(slot / heap)
        print(
            f"{count:,} members: millisecond slots {statistics.median(slot_runs):.2f} µs, "
            f"heap {statistics.median(heap_runs):.2f} µs per take and put; "
            f"slots / heap = {statistics.median(ratios):.2f} (medians of {args.repetitions})"
        )


if __name__ == "__main__":
    main()
