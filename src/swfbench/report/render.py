"""Render a results file into one self-contained HTML page (inline styles and SVG, no fetch)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from swfbench import __version__
from swfbench.errors import ReportsError, UsageError
from swfbench.report.charts import LineChart, line_chart, percentile_ticks, percentile_x
from swfbench.results import RESULTS_FILE, RunStatus, make_dir, now_iso, write_json, write_text

REPORT_FILE = "index.html"

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("swfbench.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _meta(results: dict[str, Any]) -> dict[str, Any]:
    target = results.get("target") or {}
    return {
        "run": run_id_of(results),
        "target": target.get("description"),
        "endpoint": target.get("endpoint_url"),
        "engine": target.get("engine"),
        "emulator": target.get("emulator_version"),
        "clock": target.get("clock"),
        "swfbench": results.get("swfbench_version"),
        "git revision": results.get("git_revision"),
        "profile": (results.get("profile") or {}).get("path"),
        "started": started_of(results),
        "finished": results.get("finished") or results.get("ended_at"),
    }


def started_of(results: dict[str, Any]) -> str:
    return str(results.get("started") or results.get("started_at") or "")


def run_id_of(results: dict[str, Any]) -> str:
    """The run's id; conformance results are named by their kind and start time."""
    if results.get("run_id"):
        return str(results["run_id"])
    stamp = started_of(results).replace("-", "").replace(":", "")[:15] or "unknown"
    return f"{stamp}-{results.get('kind', 'run')}"


def bucket_envelope(sim: dict[str, Any]) -> list[tuple[float, float]]:
    """The bucket's lowest and highest level in each sampling window, in time order: a line
    through them shows every dip, down to an empty bucket, that samples alone would miss.
    Within a window, at the same (rounded) instant the highest comes first: the level before a
    call precedes the level after it. Results written before the extremes were recorded have
    the samples only."""
    lows, highs = sim.get("bucket_min"), sim.get("bucket_max")
    if not lows or not highs:
        return list(sim["bucket_level"])
    points: list[tuple[float, float]] = []
    for low, high in zip(lows, highs, strict=True):
        points += (low, high) if low[0] < high[0] else (high, low)
    return points


def _plan_context(results: dict[str, Any]) -> dict[str, Any]:
    plan = results["plan"]
    fleet, sims = plan["fleet"], plan["simulations"]
    chosen = sims[fleet["start"]]
    verdict = (
        f"Fits: no heartbeat throttled with a {fleet['start']} start."
        if chosen["throttled"] == 0
        else f"Throttled with a {fleet['start']} start: {chosen['throttled_fraction']:.1%} of "
        f"heartbeats refused; {chosen['workers_timed_out']} of {fleet['workers']} tasks would time out."
    )
    charts = [
        line_chart(
            "Account bucket level (lowest and highest between samples)",
            {mode: bucket_envelope(sims[mode]) for mode in ("spread", "synchronized")},
            x_label="seconds",
            y_label="tokens left",
        ),
        line_chart(
            f"Throttled fraction against fleet size (interval {fleet['interval_s']:g} s)",
            {"steady state, spread start": plan["throttled_fraction_by_fleet"]},
            x_label="workers",
            y_label="fraction throttled",
        ),
        line_chart(
            "Shortest interval the account refill sustains",
            {"safe interval": plan["safe_interval_by_fleet"]},
            x_label="workers",
            y_label="seconds",
        ),
    ]

    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    def cells(sim: dict[str, Any]) -> list[str]:
        groups = sim.get("groups")
        return [
            "—" if groups is None else f"{groups}" + (" (exact)" if sim.get("exact") else ""),
            f"{sim['heartbeats']}",
            seconds(sim["throttling_starts_s"]),
            f"{sim['throttled_fraction']:.1%}",
            f"{sim['steady_throttled_fraction']:.1%}",
            seconds(sim["longest_gap_s"]),
            f"{sim['workers_timed_out']}",
        ]

    labels = [
        *("groups of workers simulated", "heartbeats", "throttling starts"),
        *("throttled", "throttled, steady state"),
        *("longest gap without a successful heartbeat", "tasks that would time out"),
    ]
    columns = list(zip(cells(sims["spread"]), cells(sims["synchronized"]), strict=True))
    rows = list(zip(labels, columns, strict=True))
    return {"plan": plan, "chosen": chosen, "verdict": verdict, "charts": charts, "rows": rows}


ERROR_SERIES = 6
"""Error codes drawn one line each, most frequent first; the rest share an `other` line."""


def _spectrum_chart(title: str, spectra: dict[str, list[list[float]]]) -> LineChart:
    return line_chart(
        title,
        {name: [(percentile_x(q), ms) for q, ms in points] for name, points in spectra.items()},
        x_label="percentile",
        y_label="ms",
        x_ticks=percentile_ticks(),
    )


def _load_charts(results: dict[str, Any]) -> dict[str, Any]:
    """Charts over time (from the timeline) and distributions (from the whole-run histograms)."""
    timeline = results["timeline"]
    points = timeline["points"]
    width = timeline["width_s"]
    per = "s" if width == 1 else f"{width} s"
    answered: dict[str, list[tuple[float, float]]] = {}
    if points and "due_per_s" in points[0]:
        # What the schedule asked for and what went out: a hung target shows as the gap.
        answered["due/s"] = [(p["t_s"], p["due_per_s"]) for p in points]
        answered["sent/s"] = [(p["t_s"], p["sent_per_s"]) for p in points]
    answered["OK heartbeats/s"] = [(p["t_s"], p["heartbeats_per_s"]) for p in points]
    over_time = [
        line_chart(
            "Heartbeats due, sent and answered OK per second",
            answered,
            x_label="seconds into the run",
            y_label="heartbeats/s",
        ),
        line_chart(
            f"Heartbeat latency over time (per {per})",
            {
                q: [(p["t_s"], p["latency_ms"][q]) for p in points if p["latency_ms"]["max"]]
                for q in ("p50", "p90", "p99")
            },
            x_label="seconds into the run",
            y_label="ms",
        ),
        line_chart(
            f"Pacing lag p99 over time (per {per})",
            {"lag p99": [(p["t_s"], p["lag_p99_ms"]) for p in points]},
            x_label="seconds into the run",
            y_label="ms late",
        ),
    ]
    totals: dict[str, int] = {}
    for point in points:
        for code, n in point["errors"].items():
            totals[code] = totals.get(code, 0) + n
    ranked = sorted(totals, key=lambda code: -totals[code])
    shown, rest = ranked[:ERROR_SERIES], set(ranked[ERROR_SERIES:])
    errors: dict[str, list[tuple[float, float]]] = {
        code: [(p["t_s"], p["errors"].get(code, 0) / width) for p in points] for code in shown
    }
    if rest:
        errors["other"] = [
            (p["t_s"], sum(n for c, n in p["errors"].items() if c in rest) / width) for p in points
        ]
    if errors:
        over_time.append(
            line_chart(
                "Failed calls per second, by error code",
                errors,
                x_label="seconds into the run",
                y_label="errors/s",
            )
        )
    heartbeat, cancel = results["heartbeat"], results["cancel"]
    distributions = [
        _spectrum_chart(
            "Heartbeat latency distribution", {"latency": heartbeat["latency_spectrum_ms"]}
        ),
        _spectrum_chart("Pacing lag distribution", {"lag": heartbeat["pacing_lag_spectrum_ms"]}),
    ]
    if cancel["propagation_spectrum_ms"]:
        distributions.append(
            _spectrum_chart(
                "Cancel propagation: decision to cancelRequested",
                {"propagation": cancel["propagation_spectrum_ms"]},
            )
        )
    return {"over_time": over_time, "distributions": distributions, "error_totals": totals}


def _load_context(results: dict[str, Any]) -> dict[str, Any]:
    metrics = results["metrics"]
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
    return {
        "run": results,
        "rate": metrics["heartbeat"]["rate_per_s"],
        "error_ratio": metrics["errors"]["total"]["ratio"],
        "verdict": verdict,
        "verdict_ok": not failed and not results.get("stopped_early"),
        **_load_charts(results),
    }


def _capacity_context(results: dict[str, Any]) -> dict[str, Any]:
    """The knee, the steps table and the curve of offered rate against latency and errors."""
    capacity = results["capacity"]
    steps = capacity["steps"]
    knee, broke = capacity["knee"], capacity["broken_at"]
    if capacity.get("interrupted"):
        held = capacity.get("held_so_far")
        verdict = f"No knee: the search was {capacity['interrupted']}" + (
            f"; the rate held up to {held['offered_per_s']:g}/s so far (a lower bound)."
            if held
            else "."
        )
    elif knee is None:
        verdict = f"No knee: the first step already broke {capacity['slo']}."
    elif broke is not None:
        verdict = (
            f"Knee at {knee['offered_per_s']:g} heartbeats/s: the next step, "
            f"{broke['offered_per_s']:g}/s, broke {'; '.join(broke['broken'])}."
        )
    else:
        verdict = (
            f"Every step held {capacity['slo']}: the knee is above {knee['offered_per_s']:g}/s."
        )

    def curve(key: str, scale: float = 1.0) -> list[tuple[float, float]]:
        return [(s["offered_per_s"], s[key] * scale) for s in steps]

    charts = [
        line_chart(
            "Heartbeat latency against offered rate",
            {"p50": curve("p50"), "p99": curve("p99")},
            x_label="heartbeats/s offered",
            y_label="ms",
        ),
        line_chart(
            "Failed heartbeats against offered rate",
            {"errors": curve("errors", 100.0)},
            x_label="heartbeats/s offered",
            y_label="% of heartbeats",
        ),
        line_chart(
            "Heartbeats sent against offered",
            {"sent": curve("heartbeats_per_s"), "answered OK": curve("ok_per_s")},
            x_label="heartbeats/s offered",
            y_label="heartbeats/s",
        ),
    ]
    return {
        "run": results,
        "capacity": capacity,
        "verdict": verdict,
        "verdict_ok": knee is not None,
        "curve_charts": charts,
        "throttling": capacity.get("throttling"),
        **_load_charts(results),
    }


CONFORMANCE_KINDS = ("conformance", "swfbench-conformance-results")


def _conformance_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(results["runs"]) if results["kind"] == "conformance-matrix" else [results]


def _column_label(run: dict[str, Any]) -> str:
    target = run.get("target") or {}
    if target.get("kind") == "embedded":
        return f"embedded {target.get('engine')}"
    return str(target.get("description") or target.get("endpoint_url") or "target")


def _wire_counts(run: dict[str, Any]) -> dict[str, int] | None:
    """The run's wire findings (results written before the wire check have none)."""
    metrics = (run.get("metrics") or {}).get("conformance") or {}
    if "wire" not in metrics:
        return None
    return {key: int(metrics.get(key, 0)) for key in ("wire", "wire_known", "wire_unknown")}


def _conformance_context(results: dict[str, Any]) -> dict[str, Any]:
    """A matrix: scenarios (rows, grouped by area) against targets (one column per run)."""
    runs = _conformance_runs(results)
    by_run = [{s["id"]: s for s in run["scenarios"]} for run in runs]
    ids = sorted({scenario_id for scenarios in by_run for scenario_id in scenarios})
    areas: dict[str, list[dict[str, Any]]] = {}
    for scenario_id in ids:
        cells = [scenarios.get(scenario_id) for scenarios in by_run]
        first = next(cell for cell in cells if cell is not None)
        areas.setdefault(scenario_id.split("/")[0], []).append(
            {
                "id": scenario_id,
                "description": first.get("description", ""),
                "evidence": first.get("evidence", []),
                "cells": cells,
            }
        )
    columns = [
        {
            "label": _column_label(run),
            "meta": _meta(run),
            "counts": {k: v for k, v in (run.get("summary") or {}).items() if v},
            "wire": _wire_counts(run),
        }
        for run in runs
    ]
    return {
        "areas": [{"name": name, "rows": rows} for name, rows in areas.items()],
        "columns": columns,
    }


_RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "plan": ("plan.html.j2", _plan_context),
    "load": ("load.html.j2", _load_context),
    "capacity": ("capacity.html.j2", _capacity_context),
    **{kind: ("conformance.html.j2", _conformance_context) for kind in CONFORMANCE_KINDS},
    "conformance-matrix": ("conformance.html.j2", _conformance_context),
}


RENDERED_KINDS = tuple(_RENDERERS)
"""Every results `kind` a report page is rendered for."""


def render(results: dict[str, Any]) -> str:
    """The HTML page for one results document."""
    kind = results.get("kind")
    if kind not in _RENDERERS:
        raise UsageError(
            f"results of kind {kind!r} have no report: expected one of {', '.join(_RENDERERS)}"
        )
    template, context = _RENDERERS[kind]
    values = {"gates": results.get("gates") or [], **context(results)}
    return _environment.get_template(template).render(
        version=__version__,
        generated=now_iso(),
        meta=_meta(results),
        run_status=_run_status(results),
        **values,
    )


def _run_status(results: dict[str, Any]) -> dict[str, Any] | None:
    """How the run ended, for the banner at the top of its page (None: nothing to show)."""
    if "status" not in results:
        return None  # a document that is no run's results (the conformance matrix)
    status = RunStatus.of(results)
    return {"whole": status.whole, "state": status.state, "text": status.describe()}


def write_report(results: dict[str, Any], reports_dir: Path) -> Path:
    """Write `<reports_dir>/<run_id>/` with the results and their page; refresh the index."""
    html = render(results)  # render first: a failure leaves no half-written run behind
    run_dir = make_dir(reports_dir / run_id_of(results))
    write_json(run_dir / RESULTS_FILE, results)
    write_text(run_dir / REPORT_FILE, html)
    write_index(reports_dir)
    return run_dir / REPORT_FILE


def write_run(
    results: dict[str, Any], reports_dir: Path, files: dict[str, str] | None = None
) -> Path:
    """A finished run's results first, then its other `files` (junit.xml) and its page. When
    the disk fills or the directory refuses, the results are kept when they fit and say which
    part was not written; the error is raised (exit 248)."""
    run_dir = make_dir(reports_dir / run_id_of(results))
    write_json(run_dir / RESULTS_FILE, results)
    try:
        for name, text in (files or {}).items():
            write_text(run_dir / name, text)
        return write_report(results, reports_dir)
    except ReportsError as exc:
        status = RunStatus.of(results)
        status.lack(f"report not written: {exc}")
        results["status"] = status.to_dict()
        with contextlib.suppress(ReportsError):
            write_json(run_dir / RESULTS_FILE, results)
        raise


def write_index(reports_dir: Path) -> Path:
    """`reports/index.html`: every run with a report, newest first."""
    runs = []
    for results_path in reports_dir.glob(f"*/{RESULTS_FILE}"):
        if not (results_path.parent / REPORT_FILE).exists():
            continue
        try:
            results = json.loads(results_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        summary = results.get("summary")
        if isinstance(summary, dict):
            summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.items() if n)
        runs.append(
            {
                "href": f"{results_path.parent.name}/{REPORT_FILE}",
                "kind": results.get("kind"),
                "run_id": run_id_of(results),
                "profile": (results.get("profile") or {}).get("path"),
                "started": started_of(results),
                "target": (results.get("target") or {}).get("description"),
                "summary": summary,
                "status": _run_status(results),
            }
        )
    runs.sort(key=lambda run: run["started"], reverse=True)
    html = _environment.get_template("index.html.j2").render(
        version=__version__, generated=now_iso(), runs=runs, run_status=None
    )
    make_dir(reports_dir)
    write_text(reports_dir / REPORT_FILE, html)
    return reports_dir / REPORT_FILE
