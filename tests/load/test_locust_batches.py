"""Locust's statistics of the heartbeats answered OK, added a second at a time
(`fleet.locust_batches`), are those one request event per call would give: Locust's report,
CSV and web UI read the same counts, response-time buckets, extremes, total and bytes.

Run in a process of its own: importing Locust patches the standard library for gevent."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, random, time
from collections import Counter

import locust.stats

from swfbench.load.fleet import HEARTBEAT, locust_batches

rng = random.Random(9)
# Microseconds across Locust's roundings: to 1 ms below 100 ms, 10 ms below 1 s, 100 ms
# below 10 s, 1 s above.
durations = [int(rng.lognormvariate(7.5, 1.5)) for _ in range(20_000)]
durations += [99_499, 99_500, 100_000, 154_321, 1_234_567, 12_345_678]
one_by_one = locust.stats.RequestStats()
for us in durations:
    one_by_one.log_request("SWF", HEARTBEAT, us / 1000.0, 26)
batched = locust.stats.RequestStats()
locust_batches(batched)(int(time.time()), Counter(durations), 26 * len(durations))


def figures(stats):
    rows = []
    for entry in (stats.get(HEARTBEAT, "SWF"), stats.total):
        rows.append({
            "requests": entry.num_requests,
            "per_second": sum(entry.num_reqs_per_sec.values()),
            "buckets": sorted(entry.response_times.items()),
            "min": entry.min_response_time,
            "max": entry.max_response_time,
            "total_ms": round(entry.total_response_time, 3),
            "bytes": entry.total_content_length,
            "median": entry.median_response_time,
            "p99": entry.get_response_time_percentile(0.99),
        })
    return rows


print(json.dumps({"one_by_one": figures(one_by_one), "batched": figures(batched)}))
"""


def test_a_second_added_at_once_equals_one_request_event_per_call() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    assert data["batched"] == data["one_by_one"]
    entry = data["batched"][0]
    assert entry["requests"] == entry["per_second"] == 20_006
    assert entry["bytes"] == 26 * 20_006
    assert len(entry["buckets"]) > 100  # the rounding was exercised, not one bucket
