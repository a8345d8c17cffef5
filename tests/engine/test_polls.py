"""Waiting polls: a poll with nothing to take waits on its own task list, is handed the first
task scheduled there, and never holds up the other connections.

These run the engine in this process with a long poll wait, so a poll that is answered with a
task was handed it while waiting, however loaded the machine (an empty answer after the wait
would mean the task never reached it)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from swfbench.engine.clock import RealClock
from swfbench.engine.limits import ConnectionLimits
from swfbench.engine.server import EngineHTTPServer, create_server

from .helpers import DECISIONS, DOMAIN, Flow

LONG_WAIT = 30.0
"""The engine's poll wait in these tests: far longer than any of them should take."""


class InProcess:
    def __init__(self, server: EngineHTTPServer) -> None:
        self.server = server
        self.port = server.server_address[1]
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and close every connection (a waiting poll's client sees it closed)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def client(self) -> Any:
        return boto3.client(
            "swf",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120),
        )


@pytest.fixture
def serve() -> Iterator[Callable[..., InProcess]]:
    engines: list[InProcess] = []

    def start(*, poll_wait: float = LONG_WAIT, idle_timeout: float = 120.0) -> InProcess:
        server = create_server(
            "127.0.0.1",
            0,
            clock=RealClock(),
            poll_wait=poll_wait,
            limits=ConnectionLimits(idle_timeout=idle_timeout),
        )
        engine = InProcess(server)
        engines.append(engine)
        return engine

    yield start
    for engine in engines:
        engine.stop()


class Poller(threading.Thread):
    """One PollForDecisionTask on a connection of its own."""

    def __init__(self, engine: InProcess, task_list: str = DECISIONS) -> None:
        super().__init__()
        self.swf = engine.client()
        self.task_list = task_list
        self.answer: dict[str, Any] | None = None
        self.error: Exception | None = None

        self.answered_at = 0.0
        """When the answer came (monotonic)."""

    def run(self) -> None:
        try:
            self.answer = self.swf.poll_for_decision_task(
                domain=DOMAIN, taskList={"name": self.task_list}
            )
        except Exception as exc:  # the engine stopped under a waiting poll
            self.error = exc
        self.answered_at = time.monotonic()

    def handed_a_task_since(self, moment: float) -> bool:
        """Answered with a task while waiting: well before the wait ran out (when a poll would
        be run once more and could take the task anyway)."""
        self.join()
        return (
            self.answer is not None
            and bool(self.answer.get("taskToken"))
            and self.answered_at - moment < LONG_WAIT / 2
        )


def _waiting(engine: InProcess, count: int) -> None:
    """Until `count` polls wait in the engine."""
    deadline = time.monotonic() + 30
    while len(engine.server.connections.waiting) < count:
        assert time.monotonic() < deadline, "the polls did not reach the engine"
        time.sleep(0.02)


def _started_flow(engine: InProcess) -> Flow:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.decide()  # the first decision task, closed: the next comes with the next event
    return flow


def test_a_waiting_poll_takes_the_task_scheduled_on_its_list(
    serve: Callable[..., InProcess],
) -> None:
    engine = serve()
    flow = _started_flow(engine)
    elsewhere = Poller(engine, "another-list")
    poller = Poller(engine)
    elsewhere.start()
    poller.start()
    _waiting(engine, 2)
    signaled = time.monotonic()
    flow.signal()
    assert poller.handed_a_task_since(signaled)
    # A task on another list woke nothing there.
    assert len(engine.server.connections.waiting) == 1
    engine.stop()
    elsewhere.join()
    assert elsewhere.answer is None and elsewhere.error is not None


def test_one_task_goes_to_one_of_two_waiting_polls(serve: Callable[..., InProcess]) -> None:
    engine = serve(poll_wait=3.0)
    flow = _started_flow(engine)
    pollers = [Poller(engine), Poller(engine)]
    for poller in pollers:
        poller.start()
    _waiting(engine, 2)
    flow.signal()
    for poller in pollers:
        poller.join()
    answers = [poller.answer for poller in pollers]
    assert sum(1 for a in answers if a and a.get("taskToken")) == 1
    # The other waited out its wait and got SWF's empty answer.
    assert {"previousStartedEventId": 0, "startedEventId": 0} in [
        {k: a[k] for k in ("previousStartedEventId", "startedEventId")} for a in answers if a
    ]


def test_a_decision_task_held_back_reaches_a_waiting_poll_when_the_started_one_closes(
    serve: Callable[..., InProcess],
) -> None:
    engine = serve()
    flow = _started_flow(engine)
    flow.signal()
    started = flow.poll_decision()  # started: the next decision task is held back behind it
    flow.signal("second")
    poller = Poller(engine)
    poller.start()
    _waiting(engine, 1)
    completed = time.monotonic()
    flow.swf.respond_decision_task_completed(taskToken=started["taskToken"], decisions=[])
    assert poller.handed_a_task_since(completed)


def test_a_task_goes_past_a_poll_whose_client_hung_up(serve: Callable[..., InProcess]) -> None:
    engine = serve()
    flow = _started_flow(engine)
    # A raw poll whose client then goes away: first in line, but nobody would read its task.
    gone = socket.create_connection(("127.0.0.1", engine.port), timeout=30)
    body = b'{"domain": "%s", "taskList": {"name": "%s"}}' % (DOMAIN.encode(), DECISIONS.encode())
    gone.sendall(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.PollForDecisionTask\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    _waiting(engine, 1)
    gone.close()
    poller = Poller(engine)
    poller.start()
    _waiting(engine, 2)
    signaled = time.monotonic()
    flow.signal()
    assert poller.handed_a_task_since(signaled)


def test_a_waiting_poll_is_not_idle(serve: Callable[..., InProcess]) -> None:
    engine = serve(poll_wait=2.0, idle_timeout=0.5)
    _started_flow(engine)
    poller = Poller(engine)
    poller.start()
    poller.join()
    # Waited its 2 s on a connection idle-timed-out after 0.5 s, and answered (empty).
    assert poller.answer is not None and poller.answer["startedEventId"] == 0


def test_a_waiting_poll_holds_up_no_other_call(serve: Callable[..., InProcess]) -> None:
    engine = serve()
    flow = _started_flow(engine)
    pollers = [Poller(engine, f"nobody-schedules-here-{n}") for n in range(20)]
    for poller in pollers:
        poller.start()
    _waiting(engine, 20)
    # Calls on other connections are answered while twenty polls wait.
    flow.signal()
    token = flow.poll_decision()["taskToken"]
    flow.swf.respond_decision_task_completed(taskToken=token, decisions=[])
    assert len(engine.server.connections.waiting) == 20
    engine.stop()
    for poller in pollers:
        poller.join()
        assert poller.answer is None
