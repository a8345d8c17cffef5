"""The engine's clock, token buckets and deadline heap on their own (no server)."""

from __future__ import annotations

import pytest

from swfbench.engine import TESTED_MOTO_VERSIONS, check_moto_version
from swfbench.engine.clock import VirtualClock
from swfbench.engine.deadlines import DeadlineHeap
from swfbench.engine.quotas import HeartbeatQuotas, QuotaSettings, TokenBucket


def test_virtual_clock_only_moves_forward() -> None:
    clock = VirtualClock(start=1000.0)
    assert clock.advance(2.5) == 1002.5
    assert clock.now() == 1002.5
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_bucket_refills_up_to_its_size() -> None:
    clock = VirtualClock(start=0.0)
    bucket = TokenBucket(2, 1, clock)
    for _ in range(2):
        assert bucket.has_token()
        bucket.take()
    assert not bucket.has_token()
    clock.advance(100)
    for _ in range(2):
        assert bucket.has_token()
        bucket.take()
    assert not bucket.has_token()


def test_quotas_need_both_buckets() -> None:
    clock = VirtualClock(start=0.0)
    quotas = HeartbeatQuotas(QuotaSettings(account_bucket=3, execution_bucket=2), clock)
    assert [quotas.allow("run-a") for _ in range(3)] == [True, True, False]
    # The refused call took nothing from the account bucket.
    assert quotas.allow("run-b") is True
    assert quotas.allow("run-b") is False


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_deadlines_come_out_in_time_order_ties_in_push_order() -> None:
    heap = DeadlineHeap()
    targets = {name: Named(name) for name in "abcd"}
    for at, name in [(5.0, "b"), (1.0, "a"), (5.0, "c"), (9.0, "d")]:
        heap.push(at, "kind", targets[name])
    assert heap.next_at() == 1.0
    due = []
    while (popped := heap.pop_due(5.0)) is not None:
        due.append(popped[1].name)
    assert due == ["a", "b", "c"]
    assert len(heap) == 1


def test_deadline_of_an_object_nothing_else_holds_is_skipped_and_compacted() -> None:
    heap = DeadlineHeap()
    kept, dropped, gone = Named("kept"), Named("dropped"), Named("gone")
    for target in (gone, kept, dropped):
        heap.push(1.0, "kind", target)
    del gone
    heap.compact(lambda entry, target: target is not dropped)
    assert len(heap) == 1
    popped = heap.pop_due(1.0)
    assert popped is not None and popped[1] is kept


def test_installed_moto_is_a_tested_version() -> None:
    assert "5.2.5" in TESTED_MOTO_VERSIONS
    check_moto_version()
