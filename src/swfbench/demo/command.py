"""`swfbench demo`: the main job on the embedded target, for a first look."""

from __future__ import annotations

import argparse
import json
from typing import Any

from swfbench.activity import ActivityTimeouts, bootstrap, start_activity
from swfbench.client import CallRecord, SWFClient
from swfbench.options import add_target_options, target_spec
from swfbench.target import open_target

HEARTBEATS = 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start one activity on the target, heartbeat it with progress, complete it",
        description="Start the embedded target (or use the given one), start one activity task "
        "through the real SWF flow, heartbeat it with progress details, complete it, and print "
        "each call and the resulting history.",
        epilog="""\
examples:
  swfbench demo                                   # on the embedded engine
  swfbench demo --engine moto                     # on plain moto
  swfbench demo --endpoint-url http://127.0.0.1:4566
""",
    )
    add_target_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    calls: list[CallRecord] = []
    with open_target(target_spec(args)) as target:
        print(f"target: {target.description}")
        client = SWFClient(target, calls.append)
        bootstrap(client)
        handle = start_activity(client, timeouts=ActivityTimeouts(heartbeat=10, start_to_close=60))
        print(f"started activity {handle.activity_id} in workflow {handle.workflow_id}")
        print(f"task token: {handle.task_token}")
        try:
            for step in range(1, HEARTBEATS + 1):
                details = json.dumps({"progress": step * 100 // HEARTBEATS, "step": step})
                answer = handle.heartbeat(details)
                print(
                    f"heartbeat {step}: details={details} -> {json.dumps(answer)} "
                    f"in {calls[-1].duration_s * 1000:.1f} ms"
                )
            handle.complete("done")
            print("completed the activity task")
            history = handle.history()
        finally:
            handle.close()
    print("history (heartbeats add no events, as SWF documents):")
    for event in history:
        print(f"  {event['eventId']:>3} {event['eventType']}")
    heartbeats = [c for c in calls if c.operation == "RecordActivityTaskHeartbeat"]
    mean_ms = sum(c.duration_s for c in heartbeats) * 1000 / len(heartbeats)
    print(f"{len(calls)} SWF calls; {len(heartbeats)} heartbeats, mean latency {mean_ms:.1f} ms")
    return 0
