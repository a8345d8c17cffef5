"""The stepped capacity search, inside the Locust process: the heartbeat rate rises a step at a
time (a steps load shape of workers, each heartbeating every `interval_s`), and at the end of
each step its figures are taken from the run's timeline and held against the SLO. The first
step that breaks it ends the run; the knee is the last step that held.

Only the last part of a step is measured (`measure_share`, half by default): the workers added
at a step start their activity tasks first, and the step's figures should be those of the rate
it offers, not of the start-up.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from swfbench.load.histogram import Histogram
from swfbench.load.timeline import COARSE, Timeline
from swfbench.slo import SLO, parse_slo

THROTTLED = "ThrottlingException"
DELIVERED_SHARE = 0.9
"""A step whose heartbeats fall below this share of its offered rate did not get its load."""


@dataclass(frozen=True, kw_only=True)
class StepPlan:
    rates: tuple[float, ...]
    """Offered heartbeats per second, step by step."""
    step_s: float
    interval_s: float
    spawn_rate: float
    slo: str
    measure_share: float = 0.5

    def workers(self, step: int) -> int:
        return max(1, round(self.rates[step] * self.interval_s))

    def offered(self, step: int) -> float:
        """The rate the step's whole workers offer (a rounded worker count)."""
        return self.workers(step) / self.interval_s

    def bounds(self, step: int) -> tuple[float, float]:
        return step * self.step_s, (step + 1) * self.step_s

    def window(self, step: int) -> tuple[float, float]:
        end = self.bounds(step)[1]
        return end - self.step_s * self.measure_share, end

    @property
    def run_time_s(self) -> float:
        return len(self.rates) * self.step_s

    def parsed_slo(self) -> SLO:
        return parse_slo(self.slo)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> StepPlan:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["rates"] = tuple(data["rates"])
        return cls(**data)


def window_figures(
    timeline: Timeline, started_wall: float, start_s: float, end_s: float, operation: str
) -> dict[str, Any]:
    """Heartbeat figures over whole seconds of [start_s, end_s) of the run."""
    first = math.ceil(started_wall + start_s)
    last = math.floor(started_wall + end_s)  # exclusive: the second that starts at end_s
    latency, lag = Histogram(COARSE), Histogram(COARSE)
    codes: Counter[str] = Counter()
    for index in range(first, last):
        slot = timeline.slots.get(index)
        if slot is None:
            continue
        latency.merge(slot.latency)
        lag.merge(slot.lag)
        for (op, code), n in slot.calls.items():
            if op == operation:
                codes[code] += n
    seconds = max(1, last - first)
    calls = sum(codes.values())
    failed = calls - codes["OK"]
    figures: dict[str, Any] = {
        "seconds": seconds,
        "heartbeats_per_s": round(calls / seconds, 3),
        "ok_per_s": round(codes["OK"] / seconds, 3),
        "errors": round(failed / calls, 5) if calls else 0.0,
        "throttled": codes[THROTTLED],
        "errors_by_code": {code: n for code, n in codes.items() if code != "OK"},
        "lag": round(lag.quantile_us(99) / 1000, 3),
    }
    for q, name in ((50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9")):
        figures[name] = round(latency.quantile_us(q) / 1000, 3)
    figures["max"] = round(latency.max / 1000, 3)
    return figures


def judge_step(plan: StepPlan, step: int, figures: dict[str, Any]) -> dict[str, Any]:
    """The step's record: its figures, what it broke, and whether the fleet delivered it."""
    broken = [o.describe() for o in plan.parsed_slo().broken(figures)]
    offered = plan.offered(step)
    delivered = figures["heartbeats_per_s"] / offered if offered else 0.0
    if delivered < DELIVERED_SHARE:
        broken.append(
            f"delivered {figures['heartbeats_per_s']:g} of {offered:g} heartbeats/s "
            f"({delivered:.0%})"
        )
    return {
        "step": step,
        "offered_per_s": round(offered, 3),
        "workers": plan.workers(step),
        "delivered": round(delivered, 4),
        **figures,
        "broken": broken,
        "holds": not broken,
    }
