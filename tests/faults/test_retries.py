"""Retries of transient errors (the bootstrap, the audit) against a real engine behind the
fault proxy: 5xx answers and resets are tried again, an answer that will not change is not."""

from __future__ import annotations

import time

import pytest

from swfbench.activity import bootstrap, start_activity
from swfbench.client import SWFClient, with_retries
from swfbench.errors import SWFError, TargetUnreachable
from swfbench.load.command import audit_domain
from swfbench.target import EMULATOR_CREDENTIALS, EMULATOR_REGION, Target
from swfbench.timeouts import ClientTimeouts

from .proxy import FaultProxy


def _client(url: str, read_s: float = 10.0) -> SWFClient:
    return SWFClient(
        Target(
            kind="endpoint",
            endpoint_url=url,
            region=EMULATOR_REGION,
            credentials=EMULATOR_CREDENTIALS,
            timeouts=ClientTimeouts(read_s=read_s),
        )
    )


def test_transient_errors_are_tried_again_others_are_not(proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    proxy.error_every = 2  # the 2nd, 4th... request is answered HTTP 503
    proxy.reset_before_every = 3  # the 3rd, 9th... gets a reset instead of its answer
    bootstrap(client, "swfbench-retries", attempts=5)
    assert proxy.counts["error"] >= 1 and proxy.counts["reset_before"] >= 1
    assert proxy.counts["answered:RegisterActivityType"] == 1
    proxy.error_every = proxy.reset_before_every = 0
    before = proxy.counts["requests"]
    with pytest.raises(SWFError, match="UnknownResourceFault"):
        with_retries(lambda: client.call("DescribeDomain", name="no-such-domain"), deadline_s=10)
    assert proxy.counts["requests"] == before + 1


def test_retries_stop_at_their_deadline(proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    proxy.error_every = 1
    started = time.monotonic()
    with pytest.raises(SWFError, match="HTTP503"):
        with_retries(
            lambda: client.call("ListDomains", registrationStatus="REGISTERED"), deadline_s=1
        )
    assert time.monotonic() - started < 5  # backoff 0.25, 0.5: the next would end past 1 s
    assert 2 <= proxy.counts["error"] <= 4


def test_the_audit_retries_through_5xx_and_closes_what_is_open(proxy: FaultProxy) -> None:
    client = _client(proxy.url)
    bootstrap(client, "swfbench-audit")
    since = time.time()
    start_activity(client, domain="swfbench-audit")
    proxy.error_every, proxy.only = 1, "ListOpenWorkflowExecutions"
    # Every listing fails: the audit says so, with the reason, and does not raise.
    audit = audit_domain(client, "swfbench-audit", since, close=True, time_limit_s=1.5)
    assert audit["status"] == "failed" and "HTTP503" in audit["reason"]
    assert audit["open_after_run"] is None and audit["left_open"] is None
    proxy.error_every = 2  # one listing in two fails: retried
    audit = audit_domain(client, "swfbench-audit", since, close=True, time_limit_s=10)
    assert audit == {
        "domain": "swfbench-audit",
        "status": "complete",
        "reason": None,
        "open_after_run": 1,
        "closed": 1,
        "left_open": 0,
    }


def test_an_audit_of_a_domain_the_target_forgot_fails_truthfully(proxy: FaultProxy) -> None:
    audit = audit_domain(_client(proxy.url), "never-registered", time.time(), close=True)
    assert audit["status"] == "failed" and "UnknownResourceFault" in audit["reason"]


def test_a_read_timeout_is_its_own_error(proxy: FaultProxy) -> None:
    client = _client(proxy.url, read_s=0.5)
    proxy.hang_after_heartbeats = 0
    with pytest.raises(TargetUnreachable) as caught:
        client.call("ListDomains", registrationStatus="REGISTERED")
    assert caught.value.code == "ReadTimeout" and "0.5 s read timeout" in str(caught.value)
