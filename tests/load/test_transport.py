"""`build_request`: the fast path's heartbeat request, as SWF's JSON 1.0 protocol wants it;
`FastClient`: a simulated worker's other calls on the same path, against a real server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from swfbench.activity import start_activity
from swfbench.client import CallRecord
from swfbench.errors import SWFError, TargetUnreachable
from swfbench.load.connection import Connection
from swfbench.load.fleet import FleetRuntime
from swfbench.load.sigv4 import Signer
from swfbench.load.transport import OPERATION, FastClient, FastSender, build_request
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target
from swfbench.timeouts import ClientTimeouts

NOW = 1_764_000_000.0


@pytest.mark.parametrize(
    ("details", "body"),
    [
        (None, b'{"taskToken":"t-1"}'),  # no details key at all, not null
        ("", b'{"taskToken":"t-1","details":""}'),
        ("50% é漢", '{"taskToken":"t-1","details":"50% é漢"}'.encode()),  # UTF-8, unescaped
    ],
    ids=["none", "empty", "multibyte"],
)
def test_compact_body_signed_at_now(details: str | None, body: bytes) -> None:
    signer = Signer(
        endpoint_url="http://127.0.0.1:5123",
        region="us-east-1",
        credentials=lambda: ("AKIDEXAMPLE", "secret", None),
        clock=lambda: NOW,
    )
    built, headers = build_request(signer, "t-1", details)
    assert built == body
    assert headers == signer.headers(OPERATION, body, NOW)
    assert headers["X-Amz-Target"] == "SimpleWorkflowService.RecordActivityTaskHeartbeat"


@pytest.mark.parametrize(
    ("endpoint_fixture", "code"),
    [("black_hole", "ConnectTimeout"), ("silent_server", "ReadTimeout")],
)
def test_the_fast_path_tells_a_connect_timeout_from_a_read_timeout(
    endpoint_fixture: str, code: str, request: pytest.FixtureRequest
) -> None:
    """A socket raises the same TimeoutError for both; each is an error of its own."""
    url = request.getfixturevalue(endpoint_fixture)
    records: list[CallRecord] = []
    sender = FastSender(
        connection=Connection(url, connect_s=0.5, read_s=0.5),
        signer=Signer(
            endpoint_url=url,
            region="us-east-1",
            credentials=lambda: ("AKIDEXAMPLE", "secret", None),
        ),
        observer=records.append,
    )
    started = time.monotonic()
    result = sender.heartbeat("t-1", "50%")
    assert result.error_code == code and records[0].error_code == code
    assert 0.4 < time.monotonic() - started < 10  # it waited for its timeout, then gave up


def _fast_client(target: Target, records: list[CallRecord]) -> FastClient:
    signer = Signer(
        endpoint_url=target.endpoint_url,
        region=target.region,
        credentials=lambda: (*EMULATOR_CREDENTIALS, None),
    )
    return FastClient(target, signer, records.append, connections=2)


def test_the_fast_client_runs_the_whole_flow_and_reports_every_call(
    runtime_for: Callable[..., FleetRuntime],
) -> None:
    """A task started, heartbeaten and completed through the fast client, as a simulated worker
    does; every call reported to the observer as SWFClient reports it, answers as dicts."""
    runtime = runtime_for()
    assert isinstance(runtime.client, FastClient)  # the fast send mode's workers use it
    records: list[CallRecord] = []
    client = _fast_client(runtime.target, records)
    handle = start_activity(client, domain=runtime.profile.domain)
    assert handle.task_token
    answer = client.call("RecordActivityTaskHeartbeat", taskToken=handle.task_token, details="1")
    assert answer == {"cancelRequested": False}
    handle.complete()
    handle.close()
    events = [event["eventType"] for event in handle.history()]
    assert "ActivityTaskCompleted" in events
    assert isinstance(handle.history()[0]["eventTimestamp"], float)  # as on the wire
    operations = [record.operation for record in records]
    assert operations[:4] == [
        "StartWorkflowExecution",
        "PollForDecisionTask",
        "RespondDecisionTaskCompleted",
        "PollForActivityTask",
    ]
    assert all(record.error_code is None and record.http_status == 200 for record in records)


def test_the_fast_client_raises_the_aws_error_code(load_target: Target) -> None:
    records: list[CallRecord] = []
    client = _fast_client(load_target, records)
    with pytest.raises(SWFError) as raised:
        client.call("DescribeDomain", name="swfbench-no-such-domain")
    assert raised.value.code == "UnknownResourceFault" and raised.value.http_status == 400
    assert records[-1].error_code == "UnknownResourceFault"


def test_the_fast_client_says_when_no_answer_came(black_hole: str) -> None:
    records: list[CallRecord] = []
    target = Target(
        kind="endpoint",
        endpoint_url=black_hole,
        region=EMULATOR_REGION,
        credentials=EMULATOR_CREDENTIALS,
        timeouts=ClientTimeouts(connect_s=0.5, read_s=0.5),
    )
    with pytest.raises(TargetUnreachable) as raised:
        _fast_client(target, records).call("DescribeDomain", name="swfbench")
    assert raised.value.code == "ConnectTimeout" == records[-1].error_code
