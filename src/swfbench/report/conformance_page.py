"""The conformance page: a matrix of scenarios (rows, grouped by area) against targets (one
column per run), each cell the outcome with its steps, wire findings and evidence."""

from __future__ import annotations

from typing import Any

from swfbench.report.common import meta


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


def conformance_context(results: dict[str, Any]) -> dict[str, Any]:
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
            "meta": meta(run),
            "counts": {k: v for k, v in (run.get("summary") or {}).items() if v},
            "wire": _wire_counts(run),
        }
        for run in runs
    ]
    return {
        "areas": [{"name": name, "rows": rows} for name, rows in areas.items()],
        "columns": columns,
    }
