"""SWF's token buckets for RecordActivityTaskHeartbeat (fact sheet, "Quotas").

SWF throttles heartbeats with two buckets: one per account (2000 tokens, refilled at 160/s,
raisable) and one per workflow execution (1000 tokens, refilled at 1000/s, fixed). A call that
finds either bucket empty answers HTTP 400 ThrottlingException "Rate exceeded". Buckets refill
from the engine clock, so a virtual clock refills them only when it is advanced.
"""

from __future__ import annotations

from dataclasses import dataclass

from swfbench.engine.clock import Clock


@dataclass(frozen=True, kw_only=True)
class QuotaSettings:
    """Bucket sizes and refill rates for heartbeat throttling."""

    account_bucket: float = 2000.0
    """Tokens the per-account bucket holds when full."""
    account_refill: float = 160.0
    """Tokens per second added to the per-account bucket."""
    execution_bucket: float = 1000.0
    """Tokens each per-execution bucket holds when full."""
    execution_refill: float = 1000.0
    """Tokens per second added to each per-execution bucket."""

    def to_dict(self) -> dict[str, float]:
        return {
            "accountBucket": self.account_bucket,
            "accountRefill": self.account_refill,
            "executionBucket": self.execution_bucket,
            "executionRefill": self.execution_refill,
        }


class TokenBucket:
    """A bucket that starts full and refills continuously up to its size."""

    def __init__(self, size: float, refill_per_second: float, clock: Clock) -> None:
        self.size = size
        self.refill_per_second = refill_per_second
        self._clock = clock
        self._tokens = size
        self._updated = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self.size, self._tokens + elapsed * self.refill_per_second)
            self._updated = now

    def has_token(self) -> bool:
        self._refill()
        return self._tokens >= 1.0

    def take(self) -> None:
        """Spend one token; call `has_token` first."""
        self._tokens -= 1.0


class HeartbeatQuotas:
    """The account bucket and one bucket per workflow execution (keyed by run id)."""

    def __init__(self, settings: QuotaSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._account = TokenBucket(settings.account_bucket, settings.account_refill, clock)
        self._executions: dict[str, TokenBucket] = {}

    def allow(self, run_id: str) -> bool:
        """Spend a token from both buckets if both have one; False means throttle."""
        execution = self._executions.get(run_id)
        if execution is None:
            execution = TokenBucket(
                self.settings.execution_bucket, self.settings.execution_refill, self._clock
            )
            self._executions[run_id] = execution
        if not (self._account.has_token() and execution.has_token()):
            return False
        self._account.take()
        execution.take()
        return True

    def forget(self, run_id: str) -> None:
        """Drop the bucket of a closed execution."""
        self._executions.pop(run_id, None)
