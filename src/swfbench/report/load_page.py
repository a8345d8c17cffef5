"""The load page: tiles, charts over time, distributions and latency by operation.

Charts over time come from the results' `timeline` (one point per second, or wider for long
runs); distributions from the whole-run histograms' spectra. The capacity and comparison pages
reuse the charts built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swfbench.report.charts import (
    Band,
    Line,
    LineChart,
    Style,
    line_chart,
    percentile_label,
    percentile_ticks,
    percentile_top,
    spectrum_points,
)
from swfbench.report.numbers import count, figure, percent

ERROR_SERIES = 6
"""Error codes drawn one line each, most frequent first; the rest share an `other` line."""
SECONDS = "seconds into the run"


def seconds_label(value: float) -> str:
    return f"{value:g} s"


def _partial(points: Sequence[dict[str, Any]], kept: Sequence[dict[str, Any]]) -> frozenset[int]:
    """Indices (in `kept`) of the first and last points of the run: the run began and ended
    inside them, so they cover only part of their width."""
    if not points:
        return frozenset()
    edges = {points[0]["t_s"], points[-1]["t_s"]}
    return frozenset(i for i, p in enumerate(kept) if p["t_s"] in edges)


def time_range(results: dict[str, Any]) -> tuple[float, float]:
    timeline = results["timeline"]
    points = timeline["points"]
    last = points[-1]["t_s"] if points else 0.0
    return 0.0, max(float(last), float(results.get("duration_s") or 0.0), 1.0)


def partial_note(width: float) -> str:
    per = "second" if width == 1 else f"{width:g} s"
    return (
        f"The first and last points cover only part of their {per} (the run began and ended "
        "inside them): drawn dotted, hollow."
    )


def over_time_charts(
    results: dict[str, Any], *, bands: Sequence[Band] = ()
) -> tuple[list[LineChart], dict[str, int]]:
    """Heartbeats due, sent and answered; simulated workers; latency; pacing lag; failed calls
    by code. All on one time axis, with `bands` (a capacity search's steps) shaded on each."""
    timeline = results["timeline"]
    points = timeline["points"]
    width = timeline["width_s"]
    per = "s" if width == 1 else f"{width:g} s"
    x_range = time_range(results)
    note = partial_note(width) if points else None
    edges = _partial(points, points)
    common: dict[str, Any] = {
        "x_label": SECONDS,
        "x_format": seconds_label,
        "x_range": x_range,
        "bands": bands,
    }
    rates = []
    if points and "due_per_s" in points[0]:
        # What the schedule asked for and what went out: a hung target shows as the gap.
        rates.append(
            Line(
                "due by the schedule",
                [(p["t_s"], p["due_per_s"]) for p in points],
                "/s",
                style="dotted",
                partial=edges,
                color="#6b7280",
            )
        )
    if points and "sent_per_s" in points[0]:
        rates.append(
            Line(
                "sent",
                [(p["t_s"], p["sent_per_s"]) for p in points],
                "/s",
                style="dashed",
                partial=edges,
                color="#ea580c",
            )
        )
    rates.append(
        Line(
            "answered OK",
            [(p["t_s"], p["heartbeats_per_s"]) for p in points],
            "/s",
            partial=edges,
            color="#2563eb",
        )
    )
    title = (
        "Heartbeats due, sent and answered OK per second"
        if len(rates) > 1
        else "Heartbeats answered OK per second"
    )
    charts = [line_chart(title, rates, y_label="heartbeats/s", note=note, **common)]
    users = timeline.get("users")
    if users:
        charts.append(
            line_chart(
                "Simulated workers running (Locust users)",
                [Line("workers", [(t, n) for t, n in users], "workers", color="#4b5563")],
                y_label="workers",
                **common,
            )
        )
    with_latency = [p for p in points if p["latency_ms"]["max"]]
    partial = _partial(points, with_latency)
    charts.append(
        line_chart(
            f"Heartbeat latency over time (per {per})",
            [
                Line(
                    q, [(p["t_s"], p["latency_ms"][q]) for p in with_latency], "ms", partial=partial
                )
                for q in ("p50", "p90", "p99")
            ],
            y_label="ms",
            y_scale="auto",
            **common,
        )
    )
    charts.append(
        line_chart(
            f"Pacing lag p99 over time (per {per})",
            [Line("lag p99", [(p["t_s"], p["lag_p99_ms"]) for p in points], "ms", partial=edges)],
            y_label="ms late",
            y_scale="auto",
            **common,
        )
    )
    totals: dict[str, int] = {}
    for point in points:
        for code, n in point["errors"].items():
            totals[code] = totals.get(code, 0) + n
    ranked = sorted(totals, key=lambda code: -totals[code])
    shown, rest = ranked[:ERROR_SERIES], set(ranked[ERROR_SERIES:])
    errors = [
        Line(
            code,
            [(p["t_s"], p["errors"].get(code, 0) / width) for p in points],
            "/s",
            partial=edges,
        )
        for code in shown
    ]
    if rest:
        errors.append(
            Line(
                "other",
                [
                    (p["t_s"], sum(n for c, n in p["errors"].items() if c in rest) / width)
                    for p in points
                ],
                "/s",
                partial=edges,
            )
        )
    if errors:
        charts.append(
            line_chart(
                "Failed calls per second, by error code", errors, y_label="errors/s", **common
            )
        )
    return charts, totals


def distribution_chart(
    title: str,
    spectra: Sequence[tuple[str, Sequence[Sequence[float]], int]],
    *,
    unit: str = "ms",
    styles: Sequence[Style] = ("solid",),
) -> LineChart:
    """Spectra ([percentile, value], ...) of (name, spectrum, samples) on one percentile axis
    that ends where the largest sample count stops supporting a percentile; each line ends at
    its own maximum."""
    top = percentile_top(max((n for _, _, n in spectra), default=10))
    lines = [
        Line(name, spectrum_points(spectrum, percentile_top(n)), unit, style=style)
        for (name, spectrum, n), style in zip(spectra, list(styles) * len(spectra), strict=False)
        if spectrum
    ]
    most = max((n for _, _, n in spectra), default=0)
    return line_chart(
        title,
        lines,
        x_label="percentile",
        y_label=unit,
        x_format=lambda x: percentile_label(x, top),
        x_ticks=percentile_ticks(top),
        y_scale="auto",
        note=f"The axis ends at the maximum of {count(most)} samples: the highest percentile "
        "they support.",
    )


def distributions(results: dict[str, Any]) -> list[LineChart]:
    heartbeat, cancel = results["heartbeat"], results["cancel"]
    charts = [
        distribution_chart(
            "Heartbeat latency distribution",
            [("latency", heartbeat["latency_spectrum_ms"], heartbeat["latency_ms"]["count"])],
        ),
        distribution_chart(
            "Pacing lag distribution",
            [("lag", heartbeat["pacing_lag_spectrum_ms"], heartbeat["pacing_lag_ms"]["count"])],
        ),
    ]
    if cancel["propagation_spectrum_ms"]:
        charts.append(
            distribution_chart(
                "Cancel propagation: decision to cancelRequested",
                [
                    (
                        "propagation",
                        cancel["propagation_spectrum_ms"],
                        cancel["propagation_ms"]["count"],
                    )
                ],
            )
        )
    return charts


def operations(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every SWF operation the run called: calls, OK, failed, latency p50/p90/p99/max in ms
    (from swfbench's histograms; results written before it kept them fall back on Locust's
    own figures, rounded to whole milliseconds, and have no p90)."""
    locust = (results.get("locust") or {}).get("operations") or {}
    rows = []
    for operation, calls in results["calls"].items():
        failed = sum(calls["errors"].values())
        latency = calls.get("latency_ms")
        if latency is None and operation in locust:
            theirs = locust[operation]
            latency = {
                "count": theirs["requests"],
                "p50": theirs["median_ms"],
                "p90": None,
                "p99": theirs["p99_ms"],
                "max": theirs["max_ms"],
            }
        samples = (latency or {}).get("count", 0)
        rows.append(
            {
                "operation": operation,
                "calls": calls["ok"] + failed,
                "ok": calls["ok"],
                "failed": failed,
                "errors": calls["errors"],
                "latency": {
                    key: figure((latency or {}).get(key), "ms") if samples else "—"
                    for key in ("p50", "p90", "p99", "max")
                },
                "spectrum": calls.get("latency_spectrum_ms") or [],
                "samples": samples,
                "source": "swfbench" if "latency_ms" in calls else "locust",
            }
        )
    return rows


def operations_chart(rows: list[dict[str, Any]]) -> LineChart | None:
    spectra = [
        (row["operation"], row["spectrum"], row["samples"]) for row in rows if row["spectrum"]
    ]
    if not spectra:
        return None
    return distribution_chart("Latency by SWF operation", spectra)


def tiles(results: dict[str, Any]) -> list[dict[str, str]]:
    """The headline figures, each with its own denominator said beside it."""
    hb, cancel, timeouts = results["heartbeat"], results["cancel"], results["timeouts"]
    metrics = results["metrics"]
    answered = hb["ok"] + hb["failed"]
    calls = sum(c["ok"] + sum(c["errors"].values()) for c in results["calls"].values())
    errors = metrics["errors"]["total"]
    tiles = [
        {
            "value": figure(metrics["heartbeat"]["rate_per_s"], "/s"),
            "name": "heartbeats answered OK per second",
            "of": f"over {figure(results.get('duration_s'), 's')}",
        },
        {
            "value": count(hb["failed"]),
            "name": "heartbeats failed",
            "of": f"of {count(answered)} heartbeats answered"
            + (f" ({percent(hb['failed'] / answered)})" if answered else ""),
        },
    ]
    if hb.get("due") is not None:
        delivered = hb.get("delivered_ratio")
        if delivered is None and hb["due"]:
            delivered = hb["ok"] / hb["due"]
        tiles += [
            {
                "value": percent(delivered),
                "name": "delivered: answered OK",
                "of": f"of {count(hb['due'])} heartbeats due by the schedule",
            },
            {
                "value": count(hb["sent"]),
                "name": "heartbeats sent",
                "of": f"of {count(hb['due'])} due by the schedule",
            },
            {
                "value": count(hb["in_flight"]),
                "name": "in flight at the stop",
                "of": f"of {count(hb['sent'])} sent: never answered",
            },
        ]
    tiles += [
        {
            "value": figure(hb["latency_ms"]["p99"], "ms") if hb["latency_ms"]["count"] else "—",
            "name": "heartbeat latency p99",
            "of": f"of {count(hb['latency_ms']['count'])} heartbeats answered OK",
        },
        {
            "value": figure(hb["pacing_lag_ms"]["p99"], "ms")
            if hb["pacing_lag_ms"]["count"]
            else "—",
            "name": "pacing lag p99",
            "of": f"of {count(hb['pacing_lag_ms']['count'])} heartbeats sent",
        },
        {
            "value": count(errors["count"]),
            "name": "SWF calls failed, every operation",
            "of": f"of {count(calls)} calls" + (f" ({percent(errors['ratio'])})" if calls else ""),
        },
        {
            "value": count(cancel["lost"]),
            "name": "cancellations lost",
            "of": f"of {count(cancel['requested'])} requested",
        },
        {
            "value": count(timeouts["false"]),
            "name": "false timeouts",
            "of": "heartbeating tasks that timed out",
        },
        {
            "value": count(timeouts["missed"]),
            "name": "missed timeouts",
            "of": f"of {count(timeouts['silent_tasks'])} silent tasks",
        },
    ]
    return tiles


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The distribution table: count, p50, p90, p99, p99.9 and max; "—" for an empty row."""
    hb, cancel, timeouts = results["heartbeat"], results["cancel"], results["timeouts"]
    named = [
        ("heartbeat latency", hb["latency_ms"]),
        ("pacing lag (sent after due)", hb["pacing_lag_ms"]),
        ("cancel propagation", cancel["propagation_ms"]),
        ("timeout delay (event after deadline)", timeouts["delay_ms"]),
    ]
    return [
        {
            "name": name,
            "count": count(summary["count"]),
            "empty": not summary["count"],
            "values": [
                figure(summary[key], "ms") if summary["count"] else "—"
                for key in ("p50", "p90", "p99", "p99.9", "max")
            ],
        }
        for name, summary in named
    ]


def load_context(results: dict[str, Any]) -> dict[str, Any]:
    gates = results.get("gates") or []
    failed = [g for g in gates if not g["passed"]]
    if results.get("stopped_early"):
        verdict = (
            f"Stopped early: {results['stopped_early']['gate']} failed for a sustained period."
        )
    elif failed:
        verdict = f"{len(failed)} of {len(gates)} gates failed."
    elif gates:
        verdict = f"All {len(gates)} gates hold."
    else:
        verdict = None
    over_time, totals = over_time_charts(results)
    ops = operations(results)
    return {
        "run": results,
        "tiles": tiles(results),
        "verdict": verdict,
        "verdict_ok": not failed and not results.get("stopped_early"),
        "over_time": over_time,
        "error_totals": totals,
        "distributions": distributions(results),
        "summary_rows": summary_rows(results),
        "operations": ops,
        "operations_chart": operations_chart(ops),
    }
