"""The comparison page: two load runs (or two capacity searches) on the same axes, and every
figure of theirs side by side with the difference, the way a branch is compared with main.

`swfbench report A.json B.json` builds the comparison document: A is the baseline, B the run
compared with it. Its gates, relative to a baseline or not, are shown as each run recorded them.
"""

from __future__ import annotations

from typing import Any

from swfbench import __version__
from swfbench.errors import UsageError
from swfbench.gates import flatten
from swfbench.report.capacity_page import curve_charts
from swfbench.report.charts import Line, LineChart, Style, line_chart
from swfbench.report.common import gate_rows, kind_name, meta, run_id_of
from swfbench.report.load_page import (
    distribution_chart,
    operations,
    partial_note,
    seconds_label,
    time_range,
)
from swfbench.report.numbers import EMPTY, figure, metric_unit, metric_value, number
from swfbench.results import RunStatus, new_run_id, now_iso

COMPARABLE = ("load", "capacity")
STYLES: tuple[Style, ...] = ("solid", "dashed")
LABELS = ("A", "B")
HIGHER_IS_WORSE = ("_ms", "failed", "lost", "false", "missed", "unaccounted", "left_open")
HIGHER_IS_BETTER = ("rate_per_s", "ok", "knee_per_s", "knee_heartbeats_per_s", "delivered_ratio")


def comparison_document(runs: list[dict[str, Any]], paths: list[str]) -> dict[str, Any]:
    """Two runs of the same kind, load or capacity, as one document; a usage error otherwise."""
    kinds = [run.get("kind") for run in runs]
    if len(runs) != 2 or kinds[0] != kinds[1] or kinds[0] not in COMPARABLE:
        described = ", ".join(
            f"{path} ({kind_name(run)})" for run, path in zip(runs, paths, strict=True)
        )
        raise UsageError(
            f"cannot combine {described}: compare exactly two load runs or two capacity runs, "
            "or combine conformance results into a matrix"
        )
    return {
        "kind": "comparison",
        "run_id": new_run_id("comparison"),
        "started": now_iso(),
        "swfbench_version": __version__,
        "compared_kind": kinds[0],
        "paths": paths,
        "runs": runs,
    }


def _direction(path: str, change: float) -> str:
    if change == 0:
        return ""
    leaf = path.rsplit(".", 1)[-1]
    if path.startswith("errors.") or leaf.endswith(HIGHER_IS_WORSE):
        return "worse" if change > 0 else "better"
    if leaf.endswith(HIGHER_IS_BETTER):
        return "better" if change > 0 else "worse"
    return ""


def _change(path: str, a: float | None, b: float | None) -> tuple[str, str]:
    """B - A in the metric's unit, with the relative change; and whether it is better."""
    if a is None or b is None:
        return EMPTY, ""
    delta = b - a
    if delta == 0:
        return "no change", ""
    unit = metric_unit(path)
    sign = "+" if delta > 0 else "−"
    if unit == "%":
        text = f"{sign}{number(abs(delta) * 100)} points"
    else:
        text = f"{sign}{figure(abs(delta), unit) if unit else number(abs(delta))}"
        if a:
            text += f" ({sign}{number(abs(delta / a) * 100)}%)"
    return text, _direction(path, delta)


SAMPLED = {
    "heartbeat.latency.": ("heartbeat", "latency_ms"),
    "heartbeat.pacing_lag.": ("heartbeat", "pacing_lag_ms"),
    "cancel.propagation.": ("cancel", "propagation_ms"),
    "timeouts.delay.": ("timeouts", "delay_ms"),
}
"""Metrics that summarise a histogram: with no sample they are no figure at all (not 0 ms)."""


def _figures(results: dict[str, Any]) -> dict[str, float | None]:
    values: dict[str, float | None] = dict(flatten(results.get("metrics") or {}))
    for prefix, (section, summary) in SAMPLED.items():
        if not ((results.get(section) or {}).get(summary) or {}).get("count", 1):
            for path in values:
                if path.startswith(prefix):
                    values[path] = None
    return values


def difference_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure either run has: the metrics tree by dotted path, then each operation's
    latency percentiles."""
    values_a = _figures(a)
    values_b = _figures(b)
    for results, values in ((a, values_a), (b, values_b)):
        for row in operations(results):
            if row["source"] != "swfbench":
                continue
            latency = results["calls"][row["operation"]]["latency_ms"]
            for key in ("p50", "p99"):
                values[f"latency.{row['operation']}.{key}_ms"] = latency[key]
    paths = list(values_a) + [p for p in values_b if p not in values_a]
    rows = []
    for path in paths:
        va, vb = values_a.get(path), values_b.get(path)
        if va is None and vb is None and (path in values_a or path in values_b):
            change, direction = "no sample in either", ""
            rows.append({"metric": path, "a": EMPTY, "b": EMPTY, "change": change, "direction": ""})
            continue
        change, direction = _change(path, va, vb)
        rows.append(
            {
                "metric": path,
                "a": metric_value(path, va),
                "b": metric_value(path, vb),
                "change": change,
                "direction": direction,
            }
        )
    return rows


def _load_charts(runs: list[tuple[str, dict[str, Any]]]) -> list[LineChart]:
    end = max(time_range(results)[1] for _, results in runs)
    common: dict[str, Any] = {
        "x_label": "seconds into each run",
        "x_format": seconds_label,
        "x_range": (0.0, end),
    }

    def series(
        name: str, key: str, unit: str, q: str | None = None, color: str = "#2563eb"
    ) -> list[Line]:
        lines = []
        for (label, results), style in zip(runs, STYLES, strict=True):
            points = results["timeline"]["points"]
            kept = [p for p in points if q is None or p[key]["max"]]
            edges = {points[0]["t_s"], points[-1]["t_s"]} if points else set()
            lines.append(
                Line(
                    f"{label} {name}",
                    [(p["t_s"], p[key][q] if q else p[key]) for p in kept],
                    unit,
                    style=style,
                    partial=frozenset(i for i, p in enumerate(kept) if p["t_s"] in edges),
                    color=color,
                )
            )
        return lines

    width = max(results["timeline"]["width_s"] for _, results in runs)
    return [
        line_chart(
            "Heartbeats answered OK per second",
            series("answered OK", "heartbeats_per_s", "/s"),
            y_label="heartbeats/s",
            note=partial_note(width),
            **common,
        ),
        line_chart(
            "Heartbeat latency p99 over time",
            series("p99", "latency_ms", "ms", "p99", "#dc2626"),
            y_label="ms",
            y_scale="auto",
            **common,
        ),
        line_chart(
            "Pacing lag p99 over time",
            series("lag p99", "lag_p99_ms", "ms", None, "#6b7280"),
            y_label="ms late",
            y_scale="auto",
            **common,
        ),
    ]


def _distributions(runs: list[tuple[str, dict[str, Any]]]) -> list[LineChart]:
    return [
        distribution_chart(
            "Heartbeat latency distribution",
            [
                (
                    f"{label} latency",
                    r["heartbeat"]["latency_spectrum_ms"],
                    r["heartbeat"]["latency_ms"]["count"],
                )
                for label, r in runs
            ],
            styles=STYLES,
        ),
        distribution_chart(
            "Pacing lag distribution",
            [
                (
                    f"{label} lag",
                    r["heartbeat"]["pacing_lag_spectrum_ms"],
                    r["heartbeat"]["pacing_lag_ms"]["count"],
                )
                for label, r in runs
            ],
            styles=STYLES,
        ),
    ]


def comparison_context(document: dict[str, Any]) -> dict[str, Any]:
    a, b = document["runs"]
    runs = list(zip(LABELS, (a, b), strict=True))
    metas = [meta(a), meta(b)]
    statuses = []
    for label, results in runs:
        status = RunStatus.of(results)
        statuses.append(
            {
                "label": label,
                "whole": status.whole,
                "state": status.state,
                "text": status.describe(),
            }
        )
    if document["compared_kind"] == "capacity":
        charts = curve_charts([("A", a["capacity"]), ("B", b["capacity"])])
    else:
        charts = _load_charts(runs)
    return {
        "compared_kind": document["compared_kind"],
        "labels": [f"{label}: {run_id_of(results)}" for label, results in runs],
        "meta_rows": [(key, metas[0][key], metas[1][key]) for key in metas[0]],
        "statuses": statuses,
        "differences": difference_rows(a, b),
        "charts": charts,
        "distributions": _distributions(runs),
        "run_gates": [
            (f"Gates of {label}: {run_id_of(results)}", gate_rows(results.get("gates") or []))
            for label, results in runs
        ],
    }
