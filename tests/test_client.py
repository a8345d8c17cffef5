from __future__ import annotations

import pytest

from swfbench.activity import start_activity
from swfbench.client import CONNECTION_ERROR, CallRecord, SWFClient
from swfbench.embedded import free_port
from swfbench.errors import SWFError, TargetUnreachable
from swfbench.target import EMULATOR_CREDENTIALS, Target


def test_observer_sees_every_call_with_its_error_code(
    client: SWFClient, calls: list[CallRecord]
) -> None:
    handle = start_activity(client)
    handle.heartbeat("x" * 100)
    with pytest.raises(SWFError) as error:
        client.call("RecordActivityTaskHeartbeat", taskToken="not-a-token")
    handle.close()

    assert [c.operation for c in calls] == [
        "StartWorkflowExecution",
        "PollForDecisionTask",
        "RespondDecisionTaskCompleted",
        "PollForActivityTask",
        "RecordActivityTaskHeartbeat",
        "RecordActivityTaskHeartbeat",
        "TerminateWorkflowExecution",
    ]
    ok, refused = calls[4], calls[5]
    assert ok.error_code is None and ok.http_status == 200
    assert ok.response_size == len(b'{"cancelRequested": false}')
    assert refused.error_code == error.value.code == "ValidationException"
    assert refused.http_status == error.value.http_status == 400
    assert all(c.duration_s > 0 for c in calls)


def test_unreachable_endpoint_is_reported_and_raised() -> None:
    records: list[CallRecord] = []
    target = Target(
        kind="endpoint",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        credentials=EMULATOR_CREDENTIALS,
    )
    with pytest.raises(TargetUnreachable, match="cannot reach endpoint"):
        SWFClient(target, records.append).call("ListDomains", registrationStatus="REGISTERED")
    assert [(r.operation, r.error_code) for r in records] == [("ListDomains", CONNECTION_ERROR)]
