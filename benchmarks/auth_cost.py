"""What `--auth` costs the engine per heartbeat: SigV4 verification and policy evaluation.

    .venv/bin/python benchmarks/auth_cost.py [--tasks 100] [--rounds 5] [--seconds 3]

Two engines run in this one invocation, each as its own process on a free loopback port: one
plain, one started with `--auth` (an identity allowed `swf:*`, and a second policy with a Deny
that never applies, so evaluation walks a few statements as a real policy would). Both get the
same requests: every heartbeat is signed for real (the load generator's own signer), signed
once per task before measuring so that the client does the same small work for both. Rounds
alternate between the engines, so load from other processes on the host hits both alike.

Printed: heartbeats/s of each engine (median of the rounds) and their ratio; server CPU per
heartbeat of each (from /proc, over all rounds) and the difference, which is what verification
and authorization cost the engine; and, timed in this process without HTTP, the verifier and
the policy check alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import Message
from http.client import parse_headers
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml
from botocore.auth import SigV4Auth

from swfbench.embedded import EmbeddedServer
from swfbench.engine import auth
from swfbench.engine.access import AccessControl
from swfbench.identities import load_auth_file
from swfbench.load.sigv4 import Credentials, Signer

KEY = ("AKIAEXAMPLEBENCH0001", "bench-secret", None)
DOMAIN = "bench"
WORKFLOW = {"name": "bench-wf", "version": "1"}
ACTIVITY = {"name": "bench-act", "version": "1"}
AUTH = {
    "identities": {
        "bench": {
            "access_key_id": KEY[0],
            "secret_access_key": KEY[1],
            "account_id": "123456789012",
            "policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "swf:*",
                         "Resource": f"arn:aws:swf:*:*:/domain/{DOMAIN}"},
                        {"Effect": "Allow", "Action": "swf:List*", "Resource": "*"},
                    ],
                },
                {
                    "Version": "2012-10-17",
                    "Statement": {
                        "Effect": "Deny", "Action": "swf:RecordActivityTaskHeartbeat",
                        "Resource": "arn:aws:swf:*:*:/domain/elsewhere",
                    },
                },
            ],
        }
    }
}  # fmt: skip


class SignedSWF:
    """SWF JSON 1.0 calls on one keep-alive connection, each signed for real."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        credentials: Callable[[], Credentials] = lambda: KEY  # noqa: E731
        self.signer = Signer(
            endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1", credentials=credentials
        )

    def signed(self, operation: str, body: bytes) -> dict[str, str]:
        return self.signer.headers(operation, body)

    def send(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        self.conn.request("POST", "/", body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        body = json.dumps(params).encode()
        status, data = self.send(self.signed(operation, body), body)
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status} {data[:300]!r}")
        result: dict[str, Any] = json.loads(data) if data else {}
        return result


def start_tasks(port: int, count: int) -> list[str]:
    """Register, then start `count` activities in one execution; return their task tokens."""
    swf = SignedSWF(port)
    swf.call("RegisterDomain", name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
    swf.call("RegisterWorkflowType", domain=DOMAIN, **WORKFLOW,
             defaultExecutionStartToCloseTimeout="86400", defaultTaskStartToCloseTimeout="3600",
             defaultChildPolicy="TERMINATE")  # fmt: skip
    swf.call("RegisterActivityType", domain=DOMAIN, **ACTIVITY,
             defaultTaskHeartbeatTimeout="3600", defaultTaskScheduleToStartTimeout="3600",
             defaultTaskScheduleToCloseTimeout="86400", defaultTaskStartToCloseTimeout="86400")  # fmt: skip
    swf.call("StartWorkflowExecution", domain=DOMAIN, workflowId="bench", workflowType=WORKFLOW,
             taskList={"name": "decisions"})  # fmt: skip
    task = swf.call("PollForDecisionTask", domain=DOMAIN, taskList={"name": "decisions"})
    decisions = [
        {"decisionType": "ScheduleActivityTask",
         "scheduleActivityTaskDecisionAttributes": {
             "activityId": f"a{i}", "activityType": ACTIVITY, "taskList": {"name": "work"}}}
        for i in range(count)
    ]  # fmt: skip
    swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)
    tokens = []
    while len(tokens) < count:
        found = swf.call("PollForActivityTask", domain=DOMAIN, taskList={"name": "work"})
        if found.get("taskToken"):
            tokens.append(found["taskToken"])
    return tokens


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heartbeat_round(port: int, requests: list[tuple[dict[str, str], bytes]],
                    seconds: float, threads: int) -> int:  # fmt: skip
    """Send the prebuilt signed heartbeats round-robin from `threads` connections; count them."""
    done = [0] * threads
    failures: list[str] = []
    stop = threading.Event()

    def worker(number: int) -> None:
        swf = SignedSWF(port)
        index, count = number, 0
        while not stop.is_set():
            headers, body = requests[index % len(requests)]
            status, data = swf.send(headers, body)
            if status != 200:
                failures.append(f"HTTP {status} {data[:200]!r}")
                return
            count += 1
            index += threads
        done[number] = count

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    if failures:
        raise RuntimeError(f"a heartbeat failed: {failures[0]}")
    return sum(done)


def in_process(auth_path: Path, token: str, port: int) -> tuple[float, float, float]:
    """Microseconds per call of the verifier alone, of the verifier with botocore deriving the
    signing key on every call (what the engine's key cache saves), and of the policy check."""
    control = AccessControl(load_auth_file(auth_path), region="us-east-1")
    swf = SignedSWF(port)
    body = json.dumps({"taskToken": token, "details": "50%"}).encode()
    headers = {**swf.signed("RecordActivityTaskHeartbeat", body), "Host": f"127.0.0.1:{port}"}
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    message: Message = parse_headers(BytesIO(raw.encode()))
    caller = control.authenticate("POST", "/", message, body)
    identity = caller.identity
    resource = control.domain_arn(DOMAIN)

    def best_of(action: Callable[[], object], count: int = 2000) -> float:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(count):
                action()
            timings.append((time.perf_counter() - started) / count * 1e6)
        return min(timings)

    verify = best_of(lambda: control.authenticate("POST", "/", message, body))
    cached = auth._Recompute.signature
    auth._Recompute.signature = SigV4Auth.signature  # botocore's own: derives the key each call
    try:
        derive_each_call = best_of(lambda: control.authenticate("POST", "/", message, body))
    finally:
        auth._Recompute.signature = cached
    check = best_of(
        lambda: control.check(identity, "swf:RecordActivityTaskHeartbeat", resource, {})
    )
    return verify, derive_each_call, check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100, help="open tasks heartbeated")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per engine (median)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each round")
    parser.add_argument("--client-threads", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"auth_cost: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"{args.rounds} alternating rounds of {args.seconds:g} s per engine", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        auth_path = Path(folder) / "auth.yaml"
        auth_path.write_text(yaml.safe_dump(AUTH), "utf-8")
        with (
            EmbeddedServer() as plain,
            EmbeddedServer(extra_args=("--auth", str(auth_path))) as secured,
        ):
            engines = {"plain": plain, "--auth": secured}
            requests: dict[str, list[tuple[dict[str, str], bytes]]] = {}
            for name, server in engines.items():
                swf = SignedSWF(server.port)
                bodies = [
                    json.dumps({"taskToken": t, "details": "50%"}).encode()
                    for t in start_tasks(server.port, args.tasks)
                ]
                # Signed once each: valid for the whole run (15 minutes of allowed skew).
                requests[name] = [(swf.signed("RecordActivityTaskHeartbeat", b), b) for b in bodies]
            rates: dict[str, list[float]] = {name: [] for name in engines}
            cpu: dict[str, float] = dict.fromkeys(engines, 0.0)
            calls: dict[str, int] = dict.fromkeys(engines, 0)
            for _ in range(args.rounds):
                for name, server in engines.items():
                    assert server.process is not None
                    before = cpu_seconds(server.process.pid)
                    started = time.perf_counter()
                    count = heartbeat_round(
                        server.port, requests[name], args.seconds, args.client_threads
                    )
                    rates[name].append(count / (time.perf_counter() - started))
                    cpu[name] += cpu_seconds(server.process.pid) - before
                    calls[name] += count
            token = json.loads(requests["--auth"][0][1])["taskToken"]
            verify_us, derive_us, check_us = in_process(auth_path, token, secured.port)

    rate = {name: statistics.median(values) for name, values in rates.items()}
    cpu_us = {name: cpu[name] / calls[name] * 1e6 for name in engines}
    print()
    print(f"{'engine':<8} {'heartbeats/s':>13} {'server CPU µs/heartbeat':>24}")
    for name in engines:
        print(f"{name:<8} {rate[name]:>13,.0f} {cpu_us[name]:>24.1f}")
    print()
    print(f"rate with --auth / without: {rate['--auth'] / rate['plain']:.2f}")
    print(f"verification and authorization cost the engine {cpu_us['--auth'] - cpu_us['plain']:.1f}"
          f" µs of CPU per heartbeat ({cpu_us['--auth'] / cpu_us['plain']:.2f}x)")  # fmt: skip
    print(f"in process, no HTTP: SigV4 verification {verify_us:.1f} µs per call "
          f"({derive_us:.1f} µs with botocore deriving the signing key each time), "
          f"policy check {check_us:.1f} µs")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
