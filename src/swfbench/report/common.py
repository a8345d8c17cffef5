"""What every page shares: kind names, the one timestamp format, run metadata and gate rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from swfbench.report.numbers import EMPTY, metric_unit, metric_value

KIND_NAMES = {
    "load": "load",
    "capacity": "capacity",
    "plan": "plan",
    "conformance": "conformance",
    "swfbench-conformance-results": "conformance",
    "conformance-matrix": "conformance matrix",
    "comparison": "comparison",
}
"""Every kind of results file a report shows, by the one name people read."""
CONFORMANCE_KINDS = ("conformance", "swfbench-conformance-results")


def kind_name(results: dict[str, Any]) -> str:
    kind = str(results.get("kind"))
    return KIND_NAMES.get(kind, kind)


def started_of(results: dict[str, Any]) -> str:
    return str(results.get("started") or results.get("started_at") or "")


def finished_of(results: dict[str, Any]) -> str:
    return str(results.get("finished") or results.get("ended_at") or "")


def instant(text: str) -> datetime | None:
    """A results file's timestamp (2026-11-30T19:40:12Z, ...+00:00, with or without
    milliseconds) as an aware UTC datetime; None when it is not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def timestamp(text: str) -> str:
    """One format for every time shown: 2026-11-30 19:40:12 UTC."""
    moment = instant(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else (text or EMPTY)


def run_id_of(results: dict[str, Any]) -> str:
    """The run's id; conformance results are named by their kind and start time."""
    if results.get("run_id"):
        return str(results["run_id"])
    stamp = started_of(results).replace("-", "").replace(":", "")[:15] or "unknown"
    return f"{stamp}-{results.get('kind', 'run')}"


def meta(results: dict[str, Any]) -> dict[str, Any]:
    target = results.get("target") or {}
    return {
        "run": run_id_of(results),
        "kind": kind_name(results),
        "target": target.get("description"),
        "endpoint": target.get("endpoint_url"),
        "engine": target.get("engine"),
        "emulator": target.get("emulator_version"),
        "clock": target.get("clock"),
        "swfbench": results.get("swfbench_version"),
        "git revision": results.get("git_revision"),
        "profile": (results.get("profile") or {}).get("path"),
        "started": timestamp(started_of(results)) if started_of(results) else None,
        "finished": timestamp(finished_of(results)) if finished_of(results) else None,
    }


def _limit(gate: dict[str, Any]) -> str:
    kind, limit, metric = gate["kind"], gate["limit"], gate["metric"]
    if kind == "status":
        return "= complete"
    if kind in ("max_increase", "max_decrease"):
        word = "rise" if kind == "max_increase" else "fall"
        return f"{word} ≤ {metric_value('x.ratio', limit)} of the baseline"
    sign = "≤" if kind == "max" else "≥"
    return f"{sign} {metric_value(metric, limit)}"


def gate_rows(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gate verdicts as a page shows them: limits, values and baselines in the metric's unit
    (errors.total.ratio 0.180412 is 18.0%, its limit 0.01 is 1%)."""
    rows = []
    for gate in gates:
        metric = gate["metric"]
        if gate["kind"] == "status":
            value = str(gate.get("value_text") or ("complete" if gate["passed"] else "not whole"))
        else:
            value = metric_value(metric, gate.get("value"))
        baseline = gate.get("baseline")
        rows.append(
            {
                "metric": metric,
                "unit": metric_unit(metric),
                "limit": _limit(gate),
                "value": value,
                "baseline": "" if baseline is None else metric_value(metric, baseline),
                "passed": gate["passed"],
            }
        )
    return rows


def gates_verdict(gates: list[dict[str, Any]]) -> str | None:
    """ "all 8 hold", "2 of 8 fail", or None without gates."""
    if not gates:
        return None
    failed = sum(1 for g in gates if not g["passed"])
    return f"{failed} of {len(gates)} fail" if failed else f"all {len(gates)} hold"
