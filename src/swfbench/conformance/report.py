"""Failure text for a person: where the scenario failed, expected against actual, and what the
history looked like at that moment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from swfbench.conformance.runner import ScenarioResult


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _wire_lines(wire: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"  wire: {len(wire)} finding(s) the target's known deviations do not list:"]
    for finding in wire:
        times = f" ({finding['count']}x)" if finding.get("count", 1) > 1 else ""
        lines.append(
            f"    {finding['operation']} {finding['path']}: {finding['rule']}: "
            f"{finding['message']}{times}"
        )
    return lines


def describe_failure(result: ScenarioResult, wire: Sequence[dict[str, Any]] = ()) -> str:
    """The failure report; `wire` holds the wire findings no known deviation lists."""
    failure = result.failure
    if failure is None:
        if not wire:
            return f"scenario {result.id} passed"
        lines = [
            f"scenario {result.id} failed on the wire: its steps passed, but answers broke "
            "SWF's wire contract",
            f"  {result.description}",
            *_wire_lines(wire),
            "  evidence:",
        ]
        lines += [f"    {e['grade']}: {e['ref']}" for e in result.evidence]
        return "\n".join(lines)
    where = f"{result.path}:{failure.line}"
    step = f"step {failure.step + 1}"
    if failure.iteration is not None:
        step += f", iteration i={failure.iteration}"
    lines = [
        f"scenario {result.id} failed at {where} ({step})",
        f"  {result.description}",
        "",
    ]
    if failure.source:
        for number, text in enumerate(failure.source.splitlines(), failure.line):
            lines.append(f"  {number:4d} | {text}")
        lines.append("")
    lines += [
        f"  problem:  {failure.message}",
        f"  expected: {_compact(failure.expected)}",
    ]
    if set(failure.actual) == {"events"} and failure.history:
        lines.append("  actual:   the history below")
    else:
        lines.append(f"  actual:   {_compact(failure.actual)}")
    for task, events in failure.history.items():
        lines.append(f"  last history events of task {task}:")
        lines += [f"    {event}" for event in events] or ["    (none)"]
    if wire:
        lines += _wire_lines(wire)
    lines.append("  evidence:")
    lines += [f"    {e['grade']}: {e['ref']}" for e in result.evidence]
    return "\n".join(lines)


def one_line(result: ScenarioResult, wire: Sequence[dict[str, Any]] = ()) -> str:
    failure = result.failure
    text = "passed" if failure is None else f"line {failure.line}: {failure.message}"
    if wire:
        first = wire[0]
        text += (
            f"; {len(wire)} wire finding(s), first: {first['operation']} {first['path']}: "
            f"{first['message']}"
        )
    return text
