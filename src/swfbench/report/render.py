"""Render a results file into one self-contained HTML page (inline styles and SVG, no fetch)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from swfbench import __version__
from swfbench.errors import UsageError
from swfbench.report.charts import line_chart
from swfbench.results import RESULTS_FILE, now_iso, write_json

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
        "run": results.get("run_id"),
        "target": target.get("description"),
        "endpoint": target.get("endpoint_url"),
        "engine": target.get("engine"),
        "swfbench": results.get("swfbench_version"),
        "git revision": results.get("git_revision"),
        "started": results.get("started"),
        "finished": results.get("finished"),
    }


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
            "Account bucket level",
            {mode: sims[mode]["bucket_level"] for mode in ("spread", "synchronized")},
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
        return [
            f"{sim['heartbeats']}",
            seconds(sim["throttling_starts_s"]),
            f"{sim['throttled_fraction']:.1%}",
            f"{sim['steady_throttled_fraction']:.1%}",
            seconds(sim["longest_gap_s"]),
            f"{sim['workers_timed_out']}",
        ]

    labels = [
        *("heartbeats", "throttling starts", "throttled", "throttled, steady state"),
        *("longest gap without a successful heartbeat", "tasks that would time out"),
    ]
    columns = list(zip(cells(sims["spread"]), cells(sims["synchronized"]), strict=True))
    rows = list(zip(labels, columns, strict=True))
    return {"plan": plan, "chosen": chosen, "verdict": verdict, "charts": charts, "rows": rows}


_RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "plan": ("plan.html.j2", _plan_context),
}


def render(results: dict[str, Any]) -> str:
    """The HTML page for one results document."""
    kind = results.get("kind")
    if kind not in _RENDERERS:
        raise UsageError(
            f"results of kind {kind!r} have no report: expected one of {', '.join(_RENDERERS)}"
        )
    template, context = _RENDERERS[kind]
    return _environment.get_template(template).render(
        version=__version__, generated=now_iso(), meta=_meta(results), **context(results)
    )


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def write_report(results: dict[str, Any], reports_dir: Path) -> Path:
    """Write `<reports_dir>/<run_id>/` with the results and their page; refresh the index."""
    html = render(results)  # render first: a failure leaves no half-written run behind
    run_dir = reports_dir / str(results["run_id"])
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / RESULTS_FILE, results)
    _write_text(run_dir / REPORT_FILE, html)
    write_index(reports_dir)
    return run_dir / REPORT_FILE


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
        runs.append(
            {
                "href": f"{results_path.parent.name}/{REPORT_FILE}",
                "kind": results.get("kind"),
                "run_id": results.get("run_id"),
                "started": results.get("started") or "",
                "target": (results.get("target") or {}).get("description"),
                "summary": results.get("summary"),
            }
        )
    runs.sort(key=lambda run: run["started"], reverse=True)
    html = _environment.get_template("index.html.j2").render(
        version=__version__, generated=now_iso(), runs=runs
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    _write_text(reports_dir / REPORT_FILE, html)
    return reports_dir / REPORT_FILE
