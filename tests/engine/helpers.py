"""Running the engine as a real subprocess, and driving workflows on it with boto3."""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

DOMAIN = "engine-tests"
WORKFLOW = {"name": "wf", "version": "1"}
ACTIVITY = {"name": "act", "version": "1"}
DECISIONS = "decisions"
ACTIVITIES = "activities"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Engine:
    """A running engine subprocess."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, *, validate: bool = True) -> Any:
        """A boto3 SWF client; `validate=False` skips botocore's client-side checks."""
        return boto3.client(
            "swf",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                parameter_validation=validate,
                retries={"max_attempts": 1, "mode": "standard"},
                read_timeout=30,
            ),
        )

    def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=payload, headers=headers or {})
        response = conn.getresponse()
        result = RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
        conn.close()
        return result

    def swf_raw(self, operation: str, params: Any) -> RawResponse:
        return self.raw(
            "POST",
            "/",
            params,
            {
                "X-Amz-Target": f"SimpleWorkflowService.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )

    def advance(self, seconds: float) -> float:
        response = self.raw("POST", "/swfbench/clock/advance", {"seconds": seconds})
        assert response.status == 200, response.body
        now: float = response.json()["now"]
        return now

    def now(self) -> float:
        now: float = self.raw("GET", "/swfbench/clock").json()["now"]
        return now


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"engine exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("engine did not answer within 20 s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch(*args: str, port: int | None = None, nofile: int | None = None) -> Engine:
    """Start `python -m swfbench.engine` on a free loopback port and wait until it answers;
    `nofile` runs it under that file descriptor limit (soft and hard)."""
    port = port or free_port()

    def limit_descriptors() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "swfbench.engine",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limit_descriptors if nofile is not None else None,
    )
    _wait_ready(process, port)
    return Engine(process, port)


def stop(engine: Engine) -> None:
    if engine.process.poll() is None:
        engine.process.send_signal(signal.SIGTERM)
        try:
            engine.process.wait(10)
        except subprocess.TimeoutExpired:
            engine.process.kill()
            engine.process.wait()
    for stream in (engine.process.stdout, engine.process.stderr):
        if stream is not None:
            stream.close()


class Flow:
    """Drives one workflow execution through the real SWF calls, as a decider and a worker."""

    def __init__(self, swf: Any, workflow_id: str = "wf-1") -> None:
        self.swf = swf
        self.workflow_id = workflow_id
        self.run_id = ""

    @staticmethod
    def register(
        swf: Any,
        *,
        heartbeat: str = "NONE",
        schedule_to_start: str = "NONE",
        schedule_to_close: str = "NONE",
        start_to_close: str = "NONE",
    ) -> None:
        swf.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
        swf.register_workflow_type(
            domain=DOMAIN,
            **WORKFLOW,
            defaultTaskList={"name": DECISIONS},
            defaultExecutionStartToCloseTimeout="3600",
            defaultTaskStartToCloseTimeout="600",
            defaultChildPolicy="TERMINATE",
        )
        swf.register_activity_type(
            domain=DOMAIN,
            **ACTIVITY,
            defaultTaskList={"name": ACTIVITIES},
            defaultTaskHeartbeatTimeout=heartbeat,
            defaultTaskScheduleToStartTimeout=schedule_to_start,
            defaultTaskScheduleToCloseTimeout=schedule_to_close,
            defaultTaskStartToCloseTimeout=start_to_close,
        )

    @property
    def execution(self) -> dict[str, str]:
        return {"workflowId": self.workflow_id, "runId": self.run_id}

    def start(self, **kwargs: Any) -> Flow:
        self.run_id = self.swf.start_workflow_execution(
            domain=DOMAIN, workflowId=self.workflow_id, workflowType=WORKFLOW, **kwargs
        )["runId"]
        return self

    def poll_decision(self) -> dict[str, Any]:
        task: dict[str, Any] = self.swf.poll_for_decision_task(
            domain=DOMAIN, taskList={"name": DECISIONS}
        )
        return task

    def decide(self, *decisions: dict[str, Any]) -> None:
        task = self.poll_decision()
        assert task.get("taskToken"), "no decision task to take"
        self.swf.respond_decision_task_completed(
            taskToken=task["taskToken"], decisions=list(decisions)
        )

    def schedule(self, *activity_ids: str, **timeouts: str) -> None:
        self.decide(*(schedule_activity(a, **timeouts) for a in activity_ids))

    def signal(self, name: str = "nudge") -> None:
        """Signal the execution, which gives the decider a decision task to act in."""
        self.swf.signal_workflow_execution(
            domain=DOMAIN, workflowId=self.workflow_id, signalName=name
        )

    def poll_activity(self) -> dict[str, Any]:
        task: dict[str, Any] = self.swf.poll_for_activity_task(
            domain=DOMAIN, taskList={"name": ACTIVITIES}
        )
        return task

    def start_activity(self, activity_id: str = "a1", **timeouts: str) -> str:
        """Schedule one activity and take it as a worker; returns its task token."""
        self.schedule(activity_id, **timeouts)
        task = self.poll_activity()
        assert task["activityId"] == activity_id
        token: str = task["taskToken"]
        return token

    def history(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.swf.get_workflow_execution_history(
            domain=DOMAIN, execution=self.execution
        )["events"]
        return events

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.history() if e["eventType"] == event_type]

    def attributes(self, event_type: str) -> dict[str, Any]:
        """Attributes of the last event of `event_type`."""
        found = self.events(event_type)
        assert found, f"no {event_type} in history"
        key = event_type[0].lower() + event_type[1:] + "EventAttributes"
        attributes: dict[str, Any] = found[-1][key]
        return attributes


def schedule_activity(activity_id: str, **timeouts: str) -> dict[str, Any]:
    return {
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": {
            "activityId": activity_id,
            "activityType": ACTIVITY,
            **timeouts,
        },
    }


def cancel_activity(activity_id: str) -> dict[str, Any]:
    return {
        "decisionType": "RequestCancelActivityTask",
        "requestCancelActivityTaskDecisionAttributes": {"activityId": activity_id},
    }


def epoch(event: dict[str, Any]) -> float:
    """An event's timestamp (boto3 parses it to a datetime) in epoch seconds."""
    stamp: float = event["eventTimestamp"].timestamp()
    return stamp
