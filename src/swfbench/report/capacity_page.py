"""The capacity page: the knee, the steps, the curve of offered rate against latency, errors and
what was sent, and the run over time with each step's measured window shaded."""

from __future__ import annotations

from typing import Any

from swfbench.report.charts import Band, Line, LineChart, Rule, Style, Tone, line_chart
from swfbench.report.load_page import distributions, over_time_charts
from swfbench.report.numbers import figure, percent
from swfbench.slo import LATENCY, SLO, parse_slo

SENT_ABOVE_OFFERED = 1.05
"""A step whose sent rate is this far above its offered rate gets an explanation."""
CATCH_UP_LAG = 0.1
"""Pacing lag p99, as a share of the interval, above which late workers explain a surplus."""
SLO_COLOR = "#b91c1c"
KNEE_COLOR = "#15803d"


def rate_label(value: float) -> str:
    return figure(value, "/s offered")


def _slo(capacity: dict[str, Any]) -> SLO | None:
    try:
        return parse_slo(capacity["slo"])
    except Exception:  # an SLO written by another version: draw no line rather than fail
        return None


def step_bands(capacity: dict[str, Any]) -> list[Band]:
    """Each judged step's measured window on the run's time axis: the knee's green, the step
    that broke red; the step's number above it."""
    plan = capacity["plan"]
    step_s, share = plan["step_s"], plan["measured_share"]
    knee, broke = capacity.get("knee"), capacity.get("broken_at")
    bands = []
    for step in capacity["steps"]:
        k = step["step"]
        end = (k + 1) * step_s
        tone: Tone = "plain"
        if knee and k == knee["step"]:
            tone = "knee"
        elif broke and k == broke["step"]:
            tone = "broken"
        bands.append(Band(end - step_s * share, end, str(k + 1), tone))
    return bands


def whole_step_rate(
    points: list[dict[str, Any]], step: int, step_s: float, width: float
) -> float | None:
    """Heartbeats answered a second over the whole step (every point inside it), from the
    timeline; None when the timeline is too coarse to tell."""
    inside = [
        p for p in points if step * step_s <= p["t_s"] and p["t_s"] + width <= (step + 1) * step_s
    ]
    if not inside:
        return None
    key = "sent_per_s" if "sent_per_s" in inside[0] else "heartbeats_per_s"
    return float(sum(p[key] for p in inside)) / len(inside)


def surplus_note(
    step: dict[str, Any], interval_s: float, whole_step: float | None = None
) -> str | None:
    """Why a step sent more heartbeats a second than it offered, when it did.

    Workers heartbeat on an absolute schedule (the next beat is due one interval after the
    previous *due* time), so a worker that fell behind sends the beats it owes back to back
    as soon as it can: the window that sees the catch-up counts more than the step's rate.
    """
    offered = step["offered_per_s"]
    sent = step["heartbeats_per_s"]
    if not offered or sent < offered * SENT_ABOVE_OFFERED:
        return None
    lag_ms = step["lag"]
    surplus = sent / offered - 1.0
    if lag_ms >= CATCH_UP_LAG * interval_s * 1000.0:
        whole = (
            f" Over the whole step the fleet managed {figure(whole_step, '/s')}: the measured "
            "window caught up on heartbeats due before it."
            if whole_step is not None
            else ""
        )
        return (
            f"sent {percent(surplus)} more than offered: the workers were behind their "
            f"schedules (pacing lag p99 {figure(lag_ms, 'ms')}, interval "
            f"{figure(interval_s, 's')}) and sent the heartbeats they owed back to back as they "
            "caught up. The schedule is absolute, so lateness shows as a burst, not as fewer "
            f"heartbeats; the load generator, not only the target, was at its limit.{whole}"
        )
    return (
        f"sent {percent(surplus)} more than offered with the workers on time (pacing lag p99 "
        f"{figure(lag_ms, 'ms')}): not explained by catching up. Workers from another run "
        "heartbeating in the same domain would show this way."
    )


def curve_charts(
    runs: list[tuple[str, dict[str, Any]]], *, styles: tuple[Style, ...] = ("solid", "dashed")
) -> list[LineChart]:
    """Latency, errors and what was sent against the offered rate, for one search or several
    (a comparison), with the SLO's limits and each knee marked."""
    first = runs[0][1]
    slo = _slo(first)
    latency_rules: list[Rule] = []
    error_rules: list[Rule] = []
    if slo is not None:
        for objective in slo.objectives:
            if objective.figure in LATENCY or objective.figure == "lag":
                name = "lag p99" if objective.figure == "lag" else objective.figure
                latency_rules.append(
                    Rule(
                        objective.limit,
                        f"SLO {name} < {figure(objective.limit, 'ms')}",
                        color=SLO_COLOR,
                    )
                )
            elif objective.figure == "errors":
                error_rules.append(
                    Rule(
                        objective.limit * 100,
                        f"SLO errors < {percent(objective.limit)}",
                        color=SLO_COLOR,
                    )
                )
    knees: list[Rule] = []
    for prefix, capacity in runs:
        label = f"{prefix}: " if len(runs) > 1 else ""
        if capacity.get("knee"):
            knees.append(
                Rule(
                    capacity["knee"]["offered_per_s"],
                    f"{label}knee {figure(capacity['knee']['offered_per_s'], '/s')}",
                    vertical=True,
                    color=KNEE_COLOR,
                )
            )
        if capacity.get("broken_at"):
            knees.append(
                Rule(
                    capacity["broken_at"]["offered_per_s"],
                    f"{label}broke {figure(capacity['broken_at']['offered_per_s'], '/s')}",
                    vertical=True,
                    color=SLO_COLOR,
                )
            )

    def curve(capacity: dict[str, Any], key: str, scale: float = 1.0) -> list[tuple[float, float]]:
        return [(s["offered_per_s"], s[key] * scale) for s in capacity["steps"]]

    def named(prefix: str, name: str) -> str:
        return f"{prefix} {name}" if len(runs) > 1 else name

    solo = len(runs) == 1
    latency, errors, sent = [], [], []
    for (prefix, capacity), style in zip(runs, styles, strict=False):
        latency += [
            Line(
                named(prefix, "p50"),
                curve(capacity, "p50"),
                "ms",
                style=style,
                markers=True,
                color="#2563eb",
            ),
            Line(
                named(prefix, "p99"),
                curve(capacity, "p99"),
                "ms",
                style=style,
                markers=True,
                color="#dc2626",
            ),
        ]
        if solo:
            latency.append(
                Line(
                    "pacing lag p99", curve(capacity, "lag"), "ms", style="dotted", color="#6b7280"
                )
            )
        errors.append(
            Line(
                named(prefix, "errors"),
                curve(capacity, "errors", 100.0),
                "%",
                style=style,
                markers=True,
                color="#dc2626",
            )
        )
        sent.append(
            Line(
                named(prefix, "answered OK"),
                curve(capacity, "ok_per_s"),
                "/s",
                style=style,
                markers=True,
                color="#2563eb",
            )
        )
        if solo:
            # Drawn over answered OK, dashed: both show where they are equal.
            sent.append(
                Line(
                    "sent",
                    curve(capacity, "heartbeats_per_s"),
                    "/s",
                    style="dashed",
                    markers=True,
                    color="#ea580c",
                )
            )
    offered = sorted({s["offered_per_s"] for _, c in runs for s in c["steps"]})
    sent.insert(
        0,
        Line("offered", [(r, r) for r in offered], "/s", style="dotted", color="#9ca3af"),
    )
    common: dict[str, Any] = {"x_label": "heartbeats/s offered", "x_format": rate_label}
    return [
        line_chart(
            "Heartbeat latency against offered rate",
            latency,
            y_label="ms",
            y_scale="auto",
            rules=[*latency_rules, *knees],
            **common,
        ),
        line_chart(
            "Failed heartbeats against offered rate",
            errors,
            y_label="% of heartbeats",
            rules=[*error_rules, *knees],
            **common,
        ),
        line_chart(
            "Heartbeats sent and answered OK against offered",
            sent,
            y_label="heartbeats/s",
            rules=knees,
            note="Sent (dashed, orange) counts heartbeats sent in each step's measured window; "
            "answered OK (blue) those the target answered without error; offered (dotted, "
            "grey) is the step's rate."
            if solo
            else "Answered OK in each step's measured window; offered (dotted, grey) is the "
            "step's rate.",
            **common,
        ),
    ]


def verdict(capacity: dict[str, Any]) -> str:
    knee, broke = capacity["knee"], capacity["broken_at"]
    if capacity.get("interrupted"):
        held = capacity.get("held_so_far")
        return f"No knee: the search was {capacity['interrupted']}" + (
            f"; the rate held up to {figure(held['offered_per_s'], '/s')} so far (a lower bound)."
            if held
            else "."
        )
    if knee is None:
        return f"No knee: the first step already broke {capacity['slo']}."
    if broke is not None:
        return (
            f"Knee at {figure(knee['offered_per_s'], 'heartbeats/s')}: the next step, "
            f"{figure(broke['offered_per_s'], '/s')}, broke {'; '.join(broke['broken'])}."
        )
    return (
        f"Every step held {capacity['slo']}: the knee is above "
        f"{figure(knee['offered_per_s'], '/s')}."
    )


def step_rows(capacity: dict[str, Any], timeline: dict[str, Any]) -> list[dict[str, Any]]:
    interval, step_s = capacity["plan"]["interval_s"], capacity["plan"]["step_s"]
    knee = capacity.get("knee")
    rows = []
    for step in capacity["steps"]:
        k = step["step"]
        rows.append(
            {
                "number": k + 1,
                "tone": "knee"
                if knee and k == knee["step"]
                else ("broken" if not step["holds"] else ""),
                "workers": step["workers"],
                "offered": figure(step["offered_per_s"], "/s"),
                "sent": figure(step["heartbeats_per_s"], "/s"),
                "ok": figure(step["ok_per_s"], "/s"),
                "latency": [figure(step[q], "ms") for q in ("p50", "p90", "p99", "max")],
                "errors": percent(step["errors"]),
                "lag": figure(step["lag"], "ms"),
                "verdict": "holds" if step["holds"] else "breaks: " + "; ".join(step["broken"]),
                "surplus": surplus_note(
                    step,
                    interval,
                    whole_step_rate(timeline["points"], k, step_s, timeline["width_s"]),
                ),
            }
        )
    return rows


def capacity_context(results: dict[str, Any]) -> dict[str, Any]:
    """The knee, the steps table and the curve of offered rate against latency and errors."""
    capacity = results["capacity"]
    over_time, totals = over_time_charts(results, bands=step_bands(capacity))
    return {
        "run": results,
        "capacity": capacity,
        "verdict": verdict(capacity),
        "verdict_ok": capacity["knee"] is not None,
        "curve_charts": curve_charts([("", capacity)]),
        "steps": step_rows(capacity, results["timeline"]),
        "throttling": capacity.get("throttling"),
        "over_time": over_time,
        "error_totals": totals,
        "distributions": distributions(results),
    }
