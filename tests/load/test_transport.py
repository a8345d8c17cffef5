"""`build_request`: the fast path's heartbeat request, as SWF's JSON 1.0 protocol wants it."""

from __future__ import annotations

import time

import pytest
from geventhttpclient import UserAgent

from swfbench.client import CallRecord
from swfbench.load.sigv4 import Signer
from swfbench.load.transport import OPERATION, FastSender, build_request

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
    """geventhttpclient raises the same TimeoutError for both; each is an error of its own."""
    url = request.getfixturevalue(endpoint_fixture)
    records: list[CallRecord] = []
    sender = FastSender(
        agent=UserAgent(max_retries=0, connection_timeout=0.5, network_timeout=0.5),
        endpoint_url=url,
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
