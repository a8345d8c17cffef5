"""The fast path's SigV4 signature equals botocore's for the same request, byte for byte."""

from __future__ import annotations

import datetime
import json

import botocore.auth
import pytest
from botocore.auth import SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from swfbench.load.sigv4 import Signer, host_header

NOW = 1_764_000_000.0  # a fixed instant


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEXAMPLETOKEN"])
@pytest.mark.parametrize(
    "endpoint", ["https://swf.eu-west-1.amazonaws.com", "http://127.0.0.1:5123"]
)
def test_signature_matches_botocore(
    token: str | None, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = datetime.datetime.fromtimestamp(NOW, tz=datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: fixed)
    body = json.dumps({"taskToken": "t" * 300, "details": "50.0% é"}).encode()
    signer = Signer(
        endpoint_url=endpoint,
        region="eu-west-1",
        credentials=lambda: ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        clock=lambda: NOW,
    )
    ours = signer.headers("RecordActivityTaskHeartbeat", body)

    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "Content-Type": ours["Content-Type"],
            "X-Amz-Target": ours["X-Amz-Target"],
            "Host": host_header(endpoint),
        },
    )
    auth = SigV4Auth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        "swf",
        "eu-west-1",
    )
    auth.add_auth(request)
    assert request.headers["X-Amz-Date"] == ours["X-Amz-Date"]
    assert request.headers["Authorization"] == ours["Authorization"]


def test_signing_key_is_derived_once_per_day() -> None:
    now = [NOW]
    signer = Signer(
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",
        credentials=lambda: ("AK", "SK", None),
        clock=lambda: now[0],
    )
    signer.headers("RecordActivityTaskHeartbeat", b"{}")
    first_key = signer._key
    now[0] += 60
    signer.headers("RecordActivityTaskHeartbeat", b"{}")
    assert signer._key is first_key
    now[0] += 86_400
    signer.headers("RecordActivityTaskHeartbeat", b"{}")
    assert signer._key is not first_key


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://swf.us-east-1.amazonaws.com:443",
        "https://SWF.us-east-1.amazonaws.com",
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:80",
        "http://[::1]:8080",
        "https://[fd00::2]",
        "http://user@localhost:4566",
    ],
)
def test_host_header_is_the_one_botocore_signs(endpoint: str) -> None:
    # Default ports omitted, lower case, IPv6 addresses in brackets, no user info.
    assert host_header(endpoint) == _host_from_url(endpoint)
