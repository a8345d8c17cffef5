"""Regions kept apart, moto's reset, and the members clients read on every task and event
(fact sheet, "Polls, events and the wire")."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .helpers import DOMAIN, Engine, Flow


def _client(engine: Engine, region: str) -> Any:
    return boto3.client(
        "swf",
        endpoint_url=engine.url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_regions_are_kept_apart(engine: Engine) -> None:
    west = _client(engine, "us-west-2")
    east = _client(engine, "us-east-1")
    Flow.register(west)

    described = west.describe_domain(name=DOMAIN)["domainInfo"]
    assert described["arn"] == f"arn:aws:swf:us-west-2:123456789012:/domain/{DOMAIN}"
    with pytest.raises(ClientError) as caught:
        east.describe_domain(name=DOMAIN)
    assert caught.value.response["Error"]["Code"] == "UnknownResourceFault"
    assert east.list_domains(registrationStatus="REGISTERED")["domainInfos"] == []
    # The same name can be registered in another region.
    Flow.register(east)
    arn = east.describe_domain(name=DOMAIN)["domainInfo"]["arn"]
    assert arn.startswith("arn:aws:swf:us-east-1:")


def test_moto_reset_forgets_every_region(engine: Engine) -> None:
    for region in ("us-east-1", "eu-west-1"):
        Flow.register(_client(engine, region))
    response = engine.raw("POST", "/moto-api/reset")
    assert (response.status, response.json()) == (200, {"status": "ok"})
    for region in ("us-east-1", "eu-west-1"):
        swf = _client(engine, region)
        assert swf.list_domains(registrationStatus="REGISTERED")["domainInfos"] == []
        Flow.register(swf)  # no DomainAlreadyExistsFault


def test_moto_reset_restarts_the_virtual_clock(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    flow.start_activity("a1")
    virtual_engine.advance(86_400)
    assert virtual_engine.now() > time.time() + 86_000

    assert virtual_engine.raw("POST", "/moto-api/reset").status == 200

    assert abs(virtual_engine.now() - time.time()) < 60
    # Nothing of before is left to time out.
    virtual_engine.advance(60)
    assert swf.list_domains(registrationStatus="REGISTERED")["domainInfos"] == []


def test_every_decision_task_carries_previous_started_event_id(engine: Engine) -> None:
    swf = engine.client()
    Flow.register(swf)
    flow = Flow(swf).start()
    first = flow.poll_decision()
    assert first["previousStartedEventId"] == 0
    swf.respond_decision_task_completed(taskToken=first["taskToken"], decisions=[])
    flow.signal()
    second = flow.poll_decision()
    assert second["previousStartedEventId"] == first["startedEventId"]
    # An empty poll answers exactly what SWF answers (amazonka issues 108, 257, 285).
    empty = engine.swf_raw("PollForDecisionTask", {"domain": DOMAIN, "taskList": {"name": "x"}})
    assert empty.json() == {"previousStartedEventId": 0, "startedEventId": 0}
    empty = engine.swf_raw("PollForActivityTask", {"domain": DOMAIN, "taskList": {"name": "x"}})
    assert empty.json() == {"startedEventId": 0}


def test_empty_last_details_stay_in_the_timeout_event(virtual_engine: Engine) -> None:
    swf = virtual_engine.client()
    Flow.register(swf, heartbeat="10")
    flow = Flow(swf).start()
    token = flow.start_activity("a1")
    swf.record_activity_task_heartbeat(taskToken=token, details="half")
    swf.record_activity_task_heartbeat(taskToken=token, details="")
    virtual_engine.advance(11)

    attributes = flow.attributes("ActivityTaskTimedOut")
    assert attributes["details"] == ""
