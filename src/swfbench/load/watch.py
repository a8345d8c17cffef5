"""Early stop: a run's gates checked on its figures so far, once a second; a gate that stays
breached for a sustained period stops the run, since its final verdict is then all but settled
and the rest of the run would only spend CI time.

Only upper limits are watched (`max`, and `max_increase` against a baseline). A lower limit such
as `heartbeat.rate_per_s: {min: 100}` is judged at the end only: a run's first seconds, while the
fleet is still spawning, are below any rate by design. Gates on figures that exist only after the
run (`audit.*`) are judged at the end too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swfbench.errors import UsageError
from swfbench.gates import Gate, Verdict, flatten, judge, value_of

WATCHED = ("max", "max_increase")


@dataclass(frozen=True)
class Breach:
    verdict: Verdict
    since_s: float
    """Run time at which the gate started failing (and has failed at every check since)."""
    at_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.describe(),
            "gate": self.verdict.name,
            "metric": self.verdict.gate.metric,
            "limit": self.verdict.gate.describe(),
            "value": self.verdict.value,
            "breached_since_s": round(self.since_s, 1),
            "stopped_at_s": round(self.at_s, 1),
        }

    def describe(self) -> str:
        return (
            f"{self.verdict.gate.metric} {self.verdict.gate.describe()} failed for "
            f"{self.at_s - self.since_s:.0f} s (value {self.verdict.value:g})"
        )


class GateWatch:
    """Tracks how long each watched gate has failed on the run's live metrics tree."""

    def __init__(
        self, gates: list[Gate], baseline: Mapping[str, float] | None, sustain_s: float
    ) -> None:
        self.gates = [g for g in gates if g.kind in WATCHED]
        self.baseline = baseline
        self.sustain_s = sustain_s
        self.failing_since: dict[Gate, float] = {}

    def check(self, live_metrics: Mapping[str, Any], elapsed_s: float) -> Breach | None:
        """The first gate failed for at least `sustain_s`, if any."""
        values = dict(flatten(live_metrics))
        for gate in self.gates:
            try:
                value = value_of(gate, values, "load", "the run so far")
                reference = (
                    value_of(gate, self.baseline, "load", "the baseline")
                    if gate.relative and self.baseline is not None
                    else None
                )
            except UsageError:
                continue  # a figure that exists only at the end (the domain audit)
            if gate.relative and reference is None:
                continue
            verdict = judge(gate, value, reference)
            if verdict.passed:
                self.failing_since.pop(gate, None)
                continue
            since = self.failing_since.setdefault(gate, elapsed_s)
            if elapsed_s - since >= self.sustain_s:
                return Breach(verdict, since, elapsed_s)
        return None
