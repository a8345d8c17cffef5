"""`--auth FILE`: SigV4 verified for real, IAM policies evaluated, OPERATION_NOT_PERMITTED.

The engine runs as a subprocess; requests are signed by boto3 (botocore), by the load
generator's own signer, and by hand with deliberate faults.
"""

from __future__ import annotations

import calendar
import html
import http.client
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import Message
from http.client import parse_headers
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from swfbench.conformance.raw import Signing, signed_headers
from swfbench.engine.access import DECISION_KEYS, NOT_PERMITTED_EVENTS, OPERATION_KEYS
from swfbench.engine.auth import InvalidSignature, SignatureVerifier
from swfbench.engine.responses import OPERATIONS
from swfbench.identities import load_auth_file
from swfbench.load.sigv4 import Signer
from swfbench.target import Target

from .helpers import (
    ACTIVITIES,
    ACTIVITY,
    DOMAIN,
    Engine,
    Flow,
    free_port,
    launch,
    schedule_activity,
    stop,
)

ACCOUNT = "123456789012"
ALLOW_ALL = {"Effect": "Allow", "Action": "swf:*", "Resource": "*"}
ADMIN = ("AKIAEXAMPLEADMIN0001", "admin-secret", None)
WORKER = ("AKIAEXAMPLEWORKER001", "worker-secret", None)
TEMPORARY = ("ASIAEXAMPLETEMP00001", "temporary-secret", "the-session-token")
DECIDER = ("AKIAEXAMPLEDECIDER01", "decider-secret", None)
DENIED = ("AccessDeniedException", 400)


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _identity(creds: tuple[str, str, str | None], *statements: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "access_key_id": creds[0],
        "secret_access_key": creds[1],
        "account_id": ACCOUNT,
        "policies": [_policy(*statements)],
    }
    if creds[2]:
        found["session_token"] = creds[2]
    return found


AUTH = {
    "identities": {
        "admin": _identity(ADMIN, ALLOW_ALL),
        "worker": _identity(
            WORKER,
            {"Effect": "Allow", "Action": "swf:*", "Resource": f"arn:aws:swf:*:*:/domain/{DOMAIN}"},
            {"Effect": "Deny", "Action": "swf:RecordActivityTaskHeartbeat", "Resource": "*"},
        ),
        "temporary": _identity(TEMPORARY, ALLOW_ALL),
        "decider": _identity(
            DECIDER,
            {"Effect": "Allow", "NotAction": "swf:ScheduleActivityTask", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "swf:ScheduleActivityTask",
                "Resource": "*",
                "Condition": {"StringEquals": {"swf:activityType.version": "2"}},
            },
            {
                "Effect": "Deny",
                "Action": ["swf:CompleteWorkflowExecution", "swf:StartTimer"],
                "Resource": "*",
            },
        ),
    }
}


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "auth.yaml"
    path.write_text(yaml.safe_dump(AUTH, sort_keys=False), "utf-8")
    return path


@pytest.fixture
def secured(start_engine: Callable[..., Engine], auth_file: Path) -> Engine:
    return start_engine("--clock", "virtual", "--auth", str(auth_file))


@pytest.fixture(scope="module")
def live(auth_file: Path) -> Iterator[tuple[Engine, str]]:
    """One engine for the tests whose requests change nothing (refused, or a heartbeat), with a
    started task; its virtual clock never moves, so the task stays open."""
    engine = launch("--clock", "virtual", "--auth", str(auth_file))
    try:
        yield engine, started(engine)[1]
    finally:
        stop(engine)


def client(engine: Engine, creds: tuple[str, str, str | None]) -> Any:
    return boto3.client(
        "swf",
        endpoint_url=engine.url,
        region_name="us-east-1",
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        aws_session_token=creds[2],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )


def error(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def send(engine: Engine, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", engine.port, timeout=30)
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    status, data = response.status, json.loads(response.read() or b"{}")
    conn.close()
    return status, data


def raw_heartbeat(
    engine: Engine, token: str, creds: tuple[str, str, str | None] = ADMIN, **signing: Any
) -> tuple[int, dict[str, Any]]:
    """A heartbeat signed by botocore, broken as `signing` says (see conformance.raw)."""
    target = Target(
        kind="endpoint",
        endpoint_url=engine.url,
        region="us-east-1",
        credentials=creds[:2],
        session_token=creds[2],
    )
    body = json.dumps({"taskToken": token}).encode()
    headers = signed_headers(target, engine.url + "/", body, Signing(**signing))
    return send(engine, headers, body)


def started(engine: Engine) -> tuple[Flow, str]:
    swf = client(engine, ADMIN)
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    return flow, flow.start_activity("a1")


# Signatures -----------------------------------------------------------------------------------


def test_every_identity_signed_by_botocore_is_accepted(live: tuple[Engine, str]) -> None:
    engine, token = live
    for creds in (ADMIN, TEMPORARY):
        answer = client(engine, creds).record_activity_task_heartbeat(taskToken=token)
        assert answer["cancelRequested"] is False


def test_the_load_generators_own_signer_is_accepted(live: tuple[Engine, str]) -> None:
    secured, token = live
    for creds in (ADMIN, TEMPORARY):
        signer = Signer(endpoint_url=secured.url, region="us-east-1", credentials=lambda c=creds: c)
        body = json.dumps({"taskToken": token, "details": "é漢字 50 %"}, ensure_ascii=False)
        payload = body.encode()
        headers = signer.headers("RecordActivityTaskHeartbeat", payload)
        assert send(secured, headers, payload) == (200, {"cancelRequested": False})


@pytest.mark.parametrize(
    ("signing", "creds", "code", "message"),
    [
        ({"authorization": "absent"}, ADMIN, "MissingAuthenticationTokenException",
         "^Request is missing Authentication Token$"),
        ({"authorization": "incomplete"}, ADMIN, "IncompleteSignatureException",
         "^Authorization header requires 'SignedHeaders' parameter"),
        ({"access_key_id": "AKIAEXAMPLENOBODY001"}, ADMIN, "UnrecognizedClientException",
         r"^The security token included in the request is invalid\.$"),
        ({"secret_access_key": "wrong"}, ADMIN, "InvalidSignatureException",
         "^The request signature we calculated does not match the signature you provided"),
        ({"clock_offset_s": -16 * 60}, ADMIN, "InvalidSignatureException",
         r"^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
         r"\(\d{8}T\d{6}Z - 15 min\.\)$"),
        ({"clock_offset_s": 16 * 60}, ADMIN, "InvalidSignatureException",
         r"^Signature not yet current: \d{8}T\d{6}Z is still later than"),
        ({"session_token": "absent"}, TEMPORARY, "UnrecognizedClientException", "invalid"),
        ({"session_token": "another-token"}, TEMPORARY, "UnrecognizedClientException", "invalid"),
        ({"session_token": "unexpected"}, ADMIN, "UnrecognizedClientException", "invalid"),
    ],
)  # fmt: skip
def test_signature_failures_get_the_errors_aws_json_services_give(
    live: tuple[Engine, str], signing: dict[str, Any], creds: Any, code: str, message: str
) -> None:
    secured, token = live
    status, body = raw_heartbeat(secured, token, creds, **signing)
    assert status == 400
    assert body["__type"] == f"com.amazon.coral.service#{code}"
    assert re.search(message, body["message"]), body["message"]


def test_a_refused_request_has_no_effect(secured: Engine) -> None:
    flow, token = started(secured)
    secured.advance(8)
    assert raw_heartbeat(secured, token, secret_access_key="wrong")[0] == 400
    secured.advance(3)  # 11 s after the last good heartbeat (the start): timed out
    assert flow.attributes("ActivityTaskTimedOut")["timeoutType"] == "HEARTBEAT"


def test_within_the_skew_a_request_is_accepted(live: tuple[Engine, str]) -> None:
    secured, token = live
    for offset in (-14 * 60, 14 * 60):
        assert raw_heartbeat(secured, token, clock_offset_s=offset)[0] == 200


def _signed(engine: Engine, token: str) -> tuple[dict[str, str], bytes]:
    signer = Signer(endpoint_url=engine.url, region="us-east-1", credentials=lambda: ADMIN)
    body = json.dumps({"taskToken": token}).encode()
    return signer.headers("RecordActivityTaskHeartbeat", body), body


def test_tampering_after_signing_is_a_signature_mismatch(live: tuple[Engine, str]) -> None:
    secured, token = live
    headers, body = _signed(secured, token)
    tampered_body = body.replace(b'"}', b'", "details": "x"}')
    tampered_target = {**headers, "X-Amz-Target": "SimpleWorkflowService.PollForActivityTask"}
    for sent_headers, sent_body in ((headers, tampered_body), (tampered_target, body)):
        status, answer = send(secured, sent_headers, sent_body)
        assert (status, answer["__type"]) == (
            400,
            "com.amazon.coral.service#InvalidSignatureException",
        )
    assert send(secured, headers, body)[0] == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.replace("/us-east-1/", "/eu-west-1/"), "scoped to a valid region, not 'eu-west-1'"),
        (lambda a: a.replace("/swf/", "/sqs/"), "scoped to correct service: 'swf'"),
        (lambda a: re.sub(r"/\d{8}/", "/20200101/", a), "Date in Credential scope does not match"),
        (lambda a: a.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;"),
         "'Host' or ':authority' must be a 'SignedHeader'"),
        (lambda a: a.replace("Credential=", "Credential=x/"), "exactly 5 slash-delimited elements"),
        (lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), "Unsupported AWS 'algorithm'"),
    ],
)  # fmt: skip
def test_malformed_credential_scopes(
    live: tuple[Engine, str], change: Callable[[str], str], message: str
) -> None:
    secured, token = live
    headers, body = _signed(secured, token)
    headers["Authorization"] = change(headers["Authorization"])
    status, answer = send(secured, headers, body)
    assert status == 400
    assert message in answer["message"]


def test_admin_endpoints_need_no_signature(secured: Engine, auth_file: Path) -> None:
    info = secured.raw("GET", "/swfbench/engine").json()
    assert info["auth"] == {
        "account_id": ACCOUNT,
        "identities": ["admin", "worker", "temporary", "decider"],
    }
    assert secured.raw("POST", "/swfbench/clock/advance", {"seconds": 1}).status == 200
    unsigned = secured.swf_raw("ListDomains", {"registrationStatus": "REGISTERED"})
    assert unsigned.status == 400
    assert unsigned.json()["__type"].endswith("#MissingAuthenticationTokenException")


def test_without_auth_nothing_is_checked(virtual_engine: Engine) -> None:
    assert virtual_engine.raw("GET", "/swfbench/engine").json()["auth"] is None
    unsigned = virtual_engine.swf_raw("ListDomains", {"registrationStatus": "REGISTERED"})
    assert unsigned.status == 200


def test_a_bad_auth_file_stops_the_engine_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "auth.yaml"
    bad.write_text("identities: {}\n", "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "swfbench.engine", "--port", str(free_port()), "--auth", str(bad)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"{bad}: identities: " in done.stderr


# Policies on calls ---------------------------------------------------------------------------


def test_a_policy_limits_a_worker_to_its_domain(secured: Engine) -> None:
    admin = client(secured, ADMIN)
    worker = client(secured, WORKER)
    Flow.register(admin)
    admin.register_domain(name="elsewhere", workflowExecutionRetentionPeriodInDays="1")
    assert worker.describe_domain(name=DOMAIN)["domainInfo"]["name"] == DOMAIN
    code, status, message = error(lambda: worker.describe_domain(name="elsewhere"))
    assert (code, status) == DENIED
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/worker is not authorized to perform: "
        f"swf:DescribeDomain on resource: arn:aws:swf:us-east-1:{ACCOUNT}:/domain/elsewhere "
        "because no identity-based policy allows the swf:DescribeDomain action"
    )
    # ListDomains acts on every domain (observed: arn:aws:swf:REGION:ACCOUNT:/domain/*).
    code, _, message = error(lambda: worker.list_domains(registrationStatus="REGISTERED"))
    assert code == "AccessDeniedException"
    assert f"on resource: arn:aws:swf:us-east-1:{ACCOUNT}:/domain/* because" in message
    # RegisterDomain acts on the domain it registers.
    code, _, message = error(
        lambda: worker.register_domain(name="mine", workflowExecutionRetentionPeriodInDays="1")
    )
    assert (
        "swf:RegisterDomain on resource: arn:aws:swf:us-east-1:123456789012:/domain/mine" in message
    )


def test_a_denied_heartbeat_is_refused_and_changes_nothing(secured: Engine) -> None:
    flow, token = started(secured)
    worker = client(secured, WORKER)
    secured.advance(8)
    code, status, message = error(
        lambda: worker.record_activity_task_heartbeat(taskToken=token, details="refused")
    )
    assert (code, status) == DENIED
    assert message.endswith(
        f"swf:RecordActivityTaskHeartbeat on resource: arn:aws:swf:us-east-1:{ACCOUNT}:/domain/"
        f"{DOMAIN} with an explicit deny in an identity-based policy"
    )
    # The rest of the worker's calls work; the refused heartbeat reset no clock.
    assert worker.count_pending_activity_tasks(domain=DOMAIN, taskList={"name": ACTIVITIES})
    secured.advance(3)
    timed_out = flow.attributes("ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "HEARTBEAT"
    assert "details" not in timed_out


def test_a_garbage_token_answers_the_operations_own_fault(secured: Engine) -> None:
    # No domain can be read from a token the engine never issued: the denied worker gets what
    # an allowed caller gets, not AccessDeniedException.
    def heartbeat(creds: tuple[str, str, str | None]) -> tuple[str, int, str]:
        swf = client(secured, creds)
        return error(lambda: swf.record_activity_task_heartbeat(taskToken="x" * 40))

    assert heartbeat(WORKER) == heartbeat(ADMIN)
    assert heartbeat(WORKER)[0] != "AccessDeniedException"


# Decisions ----------------------------------------------------------------------------------


def _decide(engine: Engine, *decisions: dict[str, Any]) -> Flow:
    admin = client(engine, ADMIN)
    Flow.register(admin)
    admin.register_activity_type(
        domain=DOMAIN,
        name=ACTIVITY["name"],
        version="2",
        defaultTaskList={"name": ACTIVITIES},
        **{f"defaultTask{kind}Timeout": "NONE"
           for kind in ("Heartbeat", "ScheduleToStart", "ScheduleToClose", "StartToClose")},
    )  # fmt: skip
    flow = Flow(client(engine, DECIDER)).start()
    flow.decide(*decisions)
    return flow


def test_a_decision_the_conditions_exclude_fails_with_operation_not_permitted(
    secured: Engine,
) -> None:
    version_two = schedule_activity("allowed")
    version_two["scheduleActivityTaskDecisionAttributes"]["activityType"] = {
        **ACTIVITY,
        "version": "2",
    }
    flow = _decide(secured, schedule_activity("excluded"), version_two)
    completed = flow.events("DecisionTaskCompleted")[-1]["eventId"]
    failed = flow.attributes("ScheduleActivityTaskFailed")
    assert failed == {
        "activityType": ACTIVITY,
        "activityId": "excluded",
        "cause": "OPERATION_NOT_PERMITTED",
        "decisionTaskCompletedEventId": completed,
    }
    # The other decision of the batch was carried out; the failure is news for the decider.
    scheduled = flow.attributes("ActivityTaskScheduled")
    assert (scheduled["activityId"], scheduled["activityType"]["version"]) == ("allowed", "2")
    assert flow.history()[-1]["eventType"] == "DecisionTaskScheduled"


def test_denied_decisions_record_their_own_failed_events(secured: Engine) -> None:
    flow = _decide(
        secured,
        {"decisionType": "StartTimer",
         "startTimerDecisionAttributes": {"timerId": "t1", "startToFireTimeout": "5"}},
        {"decisionType": "RecordMarker", "recordMarkerDecisionAttributes": {"markerName": "m"}},
        {"decisionType": "CompleteWorkflowExecution",
         "completeWorkflowExecutionDecisionAttributes": {"result": "done"}},
    )  # fmt: skip
    assert flow.attributes("StartTimerFailed")["cause"] == "OPERATION_NOT_PERMITTED"
    assert flow.attributes("StartTimerFailed")["timerId"] == "t1"
    assert flow.events("MarkerRecorded")  # RecordMarker is allowed
    assert flow.attributes("CompleteWorkflowExecutionFailed")["cause"] == "OPERATION_NOT_PERMITTED"
    status = flow.swf.describe_workflow_execution(domain=DOMAIN, execution=flow.execution)
    assert status["executionInfo"]["executionStatus"] == "OPEN"


def test_without_auth_every_decision_is_carried_out(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    flow.decide(
        {"decisionType": "CompleteWorkflowExecution",
         "completeWorkflowExecutionDecisionAttributes": {"result": "done"}},
    )  # fmt: skip
    assert flow.events("WorkflowExecutionCompleted")


# The SWF model, as botocore documents it ------------------------------------------------------


def _documented_keys(documentation: str) -> set[str]:
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", documentation or "")).split())
    # "... The key is swf:taskList.name." or "... with the swf:taskList.name key".
    return set(re.findall(r"(?:The key is|with the) (swf:[\w.]*\w)", text))


def test_condition_keys_are_those_botocores_model_documents() -> None:
    model = botocore.session.get_session().get_service_model("swf")
    for operation in model.operation_names:
        documented = _documented_keys(model.operation_model(operation).documentation)
        assert set(OPERATION_KEYS.get(operation, {})) == documented, operation
    for decision in ("ScheduleActivityTask", "StartChildWorkflowExecution", "RecordMarker",
                     "ContinueAsNewWorkflowExecution", "CompleteWorkflowExecution"):  # fmt: skip
        shape = model.shape_for(f"{decision}DecisionAttributes")
        assert set(DECISION_KEYS.get(decision, {})) == _documented_keys(shape.documentation)


def test_every_served_operation_and_decision_has_a_permission_check() -> None:
    model = botocore.session.get_session().get_service_model("swf")
    assert set(OPERATIONS) <= set(model.operation_names)
    for decision, (event, _) in NOT_PERMITTED_EVENTS.items():
        cause = model.shape_for(f"{event}EventAttributes").members["cause"]
        assert "OPERATION_NOT_PERMITTED" in cause.enum, decision


def test_signatures_are_dated_by_the_wall_clock_on_a_virtual_engine(secured: Engine) -> None:
    secured.advance(3600)  # engine time an hour ahead; clients still sign with the real time
    _, token = started(secured)
    assert raw_heartbeat(secured, token) == (200, {"cancelRequested": False})


def test_signing_keys_are_kept_per_day(auth_file: Path) -> None:
    # Just after midnight UTC, requests signed before and after it are both within the skew;
    # each day has its own derived key.
    midnight = calendar.timegm((2026, 1, 2, 0, 0, 0, 0, 0, 0))
    verifier = SignatureVerifier(
        load_auth_file(auth_file), region="us-east-1", wall_clock=lambda: midnight + 120
    )
    body = b'{"taskToken": "t"}'
    url = "http://127.0.0.1:8000/"
    target = Target(kind="endpoint", endpoint_url=url, region="us-east-1", credentials=ADMIN[:2])

    def message(signed_at: float, **signing: Any) -> Message:
        offset = signed_at - time.time()
        headers = signed_headers(target, url, body, Signing(clock_offset_s=offset, **signing))
        headers["Host"] = "127.0.0.1:8000"
        text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        return parse_headers(BytesIO(text.encode()))

    for signed_at in (midnight - 300, midnight + 60, midnight - 60):
        assert verifier.authenticate("POST", "/", message(signed_at), body).name == "admin"
    with pytest.raises(InvalidSignature):
        verifier.authenticate("POST", "/", message(midnight + 60, secret_access_key="x"), body)
