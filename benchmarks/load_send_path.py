"""Benchmark 1: heartbeat send-path throughput, fast signed path against boto3, one run.

One Locust process (as a library) heartbeats as fast as it can against a loopback sink that
answers {"cancelRequested": false}; first through FastHttpUser's client with our SigV4 signing,
then through boto3. Goal: the fast path sends at least 5x as many heartbeats per second.

    .venv/bin/python benchmarks/load_send_path.py [--users 50] [--seconds 15]
"""

import load_common  # noqa: I001  (first: patches the standard library for gevent)

import argparse
import json

from swfbench.embedded import free_port
from swfbench.load.sink import running_sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    results = {}
    with running_sink(free_port()) as url:
        for mode in ("fast", "boto3"):
            # An interval far below a call's duration: every worker sends back to back.
            results[mode] = load_common.run_heartbeat_fleet(
                url=url,
                users=args.users,
                spawn_rate=1000,
                interval_s=0.0001,
                measure_s=args.seconds,
                send_mode=mode,
                pool_concurrency=args.users,
            )
            row = results[mode]
            print(
                f"{mode:>5}: {row['hb_per_s']:8.1f} heartbeats/s, latency p50 "
                f"{row['latency_ms']['p50']} ms p99 {row['latency_ms']['p99']} ms",
                flush=True,
            )
    ratio = results["fast"]["hb_per_s"] / max(results["boto3"]["hb_per_s"], 1e-9)
    print(f"fast / boto3 = {ratio:.1f}x (goal >= 5x)")
    print(json.dumps({"ratio": round(ratio, 2), **results}, indent=2))


if __name__ == "__main__":
    main()
