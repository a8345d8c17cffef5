"""Benchmark 2: fleet scale. 100,000 simulated workers heartbeating every 60 s in one Locust
process (heartbeat path only) against a loopback sink; reports peak memory and pacing lag.

Goals: peak memory under 2 GiB, pacing lag p99 under 100 ms.

    .venv/bin/python benchmarks/load_fleet_scale.py [--workers 100000] [--seconds 120]
"""

import load_common  # noqa: I001  (first: patches the standard library for gevent)

import argparse
import json
import resource

from swfbench.embedded import free_port
from swfbench.load.sink import running_sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=100_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=120.0, help="measured after spawning")
    parser.add_argument("--spawn-rate", type=float, default=5000.0)
    parser.add_argument(
        "--warmup", type=float, default=None, help="seconds after spawning (default: interval)"
    )
    parser.add_argument("--connections", type=int, default=200, help="shared connection pool")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    with running_sink(free_port()) as url:
        result = load_common.run_heartbeat_fleet(
            url=url,
            users=args.workers,
            spawn_rate=args.spawn_rate,
            interval_s=args.interval,
            measure_s=args.seconds,
            pool_concurrency=args.connections,
            progress=True,
            warmup_s=args.interval if args.warmup is None else args.warmup,
        )
    expected = args.workers / args.interval
    print(
        f"{args.workers} workers every {args.interval:g} s: {result['hb_per_s']} hb/s "
        f"(expected {expected:.0f}), pacing lag p99 {result['pacing_lag_ms']['p99']} ms "
        f"(goal < 100), peak RSS {result['peak_rss_mib']} MiB (goal < 2048)"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
