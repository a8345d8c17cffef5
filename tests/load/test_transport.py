"""`build_request`: the fast path's heartbeat request, as SWF's JSON 1.0 protocol wants it."""

from __future__ import annotations

import pytest

from swfbench.load.sigv4 import Signer
from swfbench.load.transport import OPERATION, build_request

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
