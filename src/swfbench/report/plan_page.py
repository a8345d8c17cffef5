"""The plan page: the fleet against SWF's throttling quotas, spread and synchronized starts, the
account bucket over time, and fleet size against throttling with the user's fleet marked."""

from __future__ import annotations

from typing import Any

from swfbench.report.charts import Line, Rule, line_chart
from swfbench.report.numbers import count, figure, percent

FLEET_COLOR = "#1d4ed8"
SAFE_COLOR = "#15803d"


def bucket_envelope(sim: dict[str, Any]) -> tuple[list[tuple[float, float]], bool]:
    """The account bucket's level over time, and whether it is exact between samples.

    With the lowest and highest level of each sampling window (`bucket_min`, `bucket_max`),
    a line through both, in time order, shows every dip down to an empty bucket that samples
    alone would miss; at the same instant the highest comes first (the level before a call
    precedes the level after it). Results without them have the samples only."""
    lows, highs = sim.get("bucket_min"), sim.get("bucket_max")
    if not lows or not highs:
        return [(t, level) for t, level in sim["bucket_level"]], False
    points: list[tuple[float, float]] = []
    for low, high in zip(lows, highs, strict=True):
        pair = [tuple(low), tuple(high)] if low[0] < high[0] else [tuple(high), tuple(low)]
        points += [(float(t), float(level)) for t, level in pair]
    return points, True


def seconds_label(value: float) -> str:
    return figure(value, "s")


def workers_label(value: float) -> str:
    return f"{count(value)} workers"


def plan_context(results: dict[str, Any]) -> dict[str, Any]:
    plan = results["plan"]
    fleet, sims = plan["fleet"], plan["simulations"]
    chosen = sims[fleet["start"]]
    verdict = (
        f"Fits: no heartbeat throttled with a {fleet['start']} start."
        if chosen["throttled"] == 0
        else f"Throttled with a {fleet['start']} start: {percent(chosen['throttled_fraction'])} "
        f"of heartbeats refused; {count(chosen['workers_timed_out'])} of "
        f"{count(fleet['workers'])} tasks would time out."
    )
    envelopes = {mode: bucket_envelope(sims[mode]) for mode in ("spread", "synchronized")}
    exact = all(is_exact for _, is_exact in envelopes.values())
    samples = len(sims["spread"]["bucket_level"])
    every = plan["horizon_s"] / max(1, samples - 1)
    bucket_note = (
        "Each sampling window draws its lowest and highest level: an empty bucket shows at 0."
        if exact
        else f"Sampled every {figure(every, 's')}: the bucket may run lower between samples "
        "(these results record no lowest level per window)."
    )
    size = plan["quotas"]["account"]["size"]
    fleet_rules = [
        Rule(
            fleet["workers"],
            f"your fleet {count(fleet['workers'])}",
            vertical=True,
            color=FLEET_COLOR,
        ),
        Rule(
            plan["largest_safe_fleet"],
            f"safe limit {count(plan['largest_safe_fleet'])}",
            vertical=True,
            color=SAFE_COLOR,
        ),
    ]
    interval = fleet["interval_s"]
    charts = [
        line_chart(
            "Account bucket level",
            [
                Line(mode, points, "tokens", style="solid" if mode == "spread" else "dashed")
                for mode, (points, _) in envelopes.items()
            ],
            x_label="seconds simulated",
            y_label="tokens left",
            x_format=seconds_label,
            rules=[Rule(size, f"bucket size {count(size)}", color="#6b7280")],
            note=bucket_note,
        ),
        line_chart(
            f"Heartbeats throttled against fleet size (interval {figure(interval, 's')})",
            [
                Line(
                    "steady state, spread start",
                    [(n, f * 100) for n, f in plan["throttled_fraction_by_fleet"]],
                    "%",
                    markers=True,
                )
            ],
            x_label="workers",
            y_label="% of heartbeats throttled",
            x_format=workers_label,
            rules=fleet_rules,
        ),
        line_chart(
            "Shortest interval the account refill sustains",
            [Line("safe interval", plan["safe_interval_by_fleet"], "s", markers=True)],
            x_label="workers",
            y_label="seconds",
            x_format=workers_label,
            rules=[
                *fleet_rules,
                Rule(interval, f"your interval {figure(interval, 's')}", color=FLEET_COLOR),
                Rule(
                    fleet["heartbeat_timeout_s"],
                    f"heartbeat timeout {figure(fleet['heartbeat_timeout_s'], 's')}",
                    color="#b91c1c",
                ),
            ],
        ),
    ]

    def seconds(value: float | None) -> str:
        return "never" if value is None else figure(value, "s")

    def cells(sim: dict[str, Any]) -> list[str]:
        groups = sim.get("groups")
        return [
            "—" if groups is None else count(groups) + (" (exact)" if sim.get("exact") else ""),
            count(sim["heartbeats"]),
            seconds(sim["throttling_starts_s"]),
            percent(sim["throttled_fraction"]),
            percent(sim["steady_throttled_fraction"]),
            seconds(sim["longest_gap_s"]),
            count(sim["workers_timed_out"]),
        ]

    labels = [
        *("groups of workers simulated", "heartbeats", "throttling starts"),
        *("throttled", "throttled, steady state"),
        *("longest gap without a successful heartbeat", "tasks that would time out"),
    ]
    columns = list(zip(cells(sims["spread"]), cells(sims["synchronized"]), strict=True))
    rows = list(zip(labels, columns, strict=True))
    return {"plan": plan, "chosen": chosen, "verdict": verdict, "charts": charts, "rows": rows}
