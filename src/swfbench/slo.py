"""Service-level objectives for heartbeats, as a capacity search states them:

    p99 < 100 ms, errors < 1%

Each clause is a figure, `<` or `<=`, and a limit. Figures: heartbeat latency percentiles `p50`,
`p90`, `p99`, `p99.9` and `max` (limits in ms, s or us), `errors` (the share of heartbeat calls
that failed, throttled ones included; a percentage or a fraction) and `lag` (the p99 of how late
workers sent their heartbeats: above the limit, the load generator itself is falling behind).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from swfbench.errors import UsageError

LATENCY = ("p50", "p90", "p99", "p99.9", "max")
FIGURES = (*LATENCY, "errors", "lag")
UNITS_MS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}
CLAUSE = re.compile(
    r"^\s*(?P<figure>[a-z][\w.]*)\s*(?P<op><=|<)\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-zµ%]*)\s*$"
)


@dataclass(frozen=True)
class Objective:
    figure: str
    limit: float
    """ms for latency and lag; a fraction (0.01) for errors."""
    inclusive: bool

    def holds(self, value: float) -> bool:
        return value <= self.limit if self.inclusive else value < self.limit

    def describe(self) -> str:
        op = "<=" if self.inclusive else "<"
        if self.figure == "errors":
            return f"errors {op} {self.limit:.4g}%".replace(
                f"{self.limit:.4g}%", f"{self.limit * 100:.4g}%"
            )
        return f"{self.figure} {op} {self.limit:g} ms"


@dataclass(frozen=True)
class SLO:
    objectives: tuple[Objective, ...]

    def describe(self) -> str:
        return ", ".join(o.describe() for o in self.objectives)

    def broken(self, figures: Mapping[str, float]) -> list[Objective]:
        """The objectives the figures break (figures keyed as FIGURES)."""
        return [o for o in self.objectives if not o.holds(figures[o.figure])]


def parse_slo(text: str) -> SLO:
    """Parse `p99 < 100 ms, errors < 1%`; a usage error names the clause that does not parse."""
    clauses = [clause for clause in re.split(r"[,;]|\band\b", text) if clause.strip()]
    if not clauses:
        raise UsageError("--slo is empty: state it like 'p99 < 100 ms, errors < 1%'")
    objectives = []
    for clause in clauses:
        match = CLAUSE.match(clause.lower())
        if match is None:
            raise UsageError(
                f"--slo: cannot read {clause.strip()!r}: write FIGURE < LIMIT, e.g. 'p99 < 100 ms' "
                "or 'errors < 1%'"
            )
        figure, unit = match["figure"], match["unit"]
        number = float(match["number"])
        if figure not in FIGURES:
            raise UsageError(
                f"--slo: unknown figure {figure!r} in {clause.strip()!r}: use one of "
                f"{', '.join(FIGURES)}"
            )
        if figure == "errors":
            if unit not in ("", "%"):
                raise UsageError(f"--slo: errors take a percentage or a fraction, not {unit!r}")
            limit = number / 100 if unit == "%" else number
            if limit > 1:
                raise UsageError(
                    f"--slo: an error share above 100% cannot break: {clause.strip()!r}"
                )
        else:
            if unit not in UNITS_MS:
                raise UsageError(
                    f"--slo: give {figure}'s limit a unit (ms, s or us), as in '{figure} < 100 ms'"
                )
            limit = number * UNITS_MS[unit]
        objectives.append(Objective(figure, limit, match["op"] == "<="))
    figures = [o.figure for o in objectives]
    duplicate = next((f for f in figures if figures.count(f) > 1), None)
    if duplicate is not None:
        raise UsageError(f"--slo states {duplicate} twice")
    return SLO(tuple(objectives))
