"""`reports/index.html`: every run, newest first, with its status, headline figure and gate
verdict; and each run page's links back to it and to the run's neighbours of the same kind."""

from __future__ import annotations

from typing import Any

from swfbench.report.common import (
    gates_verdict,
    instant,
    kind_name,
    run_id_of,
    started_of,
    timestamp,
)
from swfbench.report.numbers import count, figure, percent


def headline(results: dict[str, Any]) -> str:
    """The figure a reader looks for first, by kind of run."""
    kind = kind_name(results)
    metrics = results.get("metrics") or {}
    try:
        if kind == "load":
            hb = metrics["heartbeat"]
            return (
                f"p99 {figure(hb['latency']['p99_ms'], 'ms')} at "
                f"{figure(hb['rate_per_s'], 'heartbeats/s')}; "
                f"{percent(metrics['errors']['total']['ratio'])} of calls failed"
            )
        if kind == "capacity":
            knee = results["capacity"]["knee"]
            if knee is None:
                return "no knee"
            return (
                f"knee {figure(knee['offered_per_s'], '/s')} "
                f"(p99 {figure(knee['p99'], 'ms')}, {percent(knee['errors'])} errors)"
            )
        if kind == "conformance":
            summary = results.get("summary") or {}
            parts = [f"{n} {outcome.replace('_', ' ')}" for outcome, n in summary.items() if n]
            wire = (metrics.get("conformance") or {}).get("wire")
            if wire is not None:
                parts.append(f"{wire} wire findings")
            return ", ".join(parts) or "no scenario"
        if kind == "conformance matrix":
            return f"{len(results['runs'])} targets"
        if kind == "plan":
            plan = results["plan"]
            fleet = plan["fleet"]
            sim = plan["simulations"][fleet["start"]]
            return (
                f"{count(fleet['workers'])} workers every {figure(fleet['interval_s'], 's')}: "
                f"{percent(sim['throttled_fraction'])} throttled, "
                f"{count(sim['workers_timed_out'])} tasks time out"
            )
        if kind == "comparison":
            a, b = results["runs"]
            return f"{run_id_of(b)} against {run_id_of(a)}"
    except (KeyError, TypeError, IndexError, ValueError):
        return "—"  # results of an older layout: the page itself still renders what it can
    return "—"


def index_row(results: dict[str, Any], href: str, status: dict[str, Any] | None) -> dict[str, Any]:
    started = started_of(results)
    moment = instant(started)
    return {
        "href": href,
        "kind": kind_name(results),
        "run_id": run_id_of(results),
        "started": timestamp(started),
        "sort": moment.timestamp() if moment else 0.0,
        "target": (results.get("target") or {}).get("description"),
        "headline": headline(results),
        "gates": gates_verdict(results.get("gates") or []),
        "gates_failed": any(not g["passed"] for g in results.get("gates") or []),
        "status": status,
    }


def navigation(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each run (by href): the index, and the newer and older run of the same kind.
    `rows` are newest first; hrefs are relative to the reports directory."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    nav: dict[str, dict[str, Any]] = {}
    for kind, runs in by_kind.items():
        for i, row in enumerate(runs):
            newer = runs[i - 1] if i > 0 else None
            older = runs[i + 1] if i + 1 < len(runs) else None
            nav[row["href"]] = {
                "index": "../index.html",
                "kind": kind,
                "newer": _link(newer),
                "older": _link(older),
            }
    return nav


def _link(row: dict[str, Any] | None) -> dict[str, str] | None:
    if row is None:
        return None
    return {"href": f"../{row['href']}", "run_id": row["run_id"]}
