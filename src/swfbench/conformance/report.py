"""Failure text for a person: where the scenario failed, expected against actual, and what the
history looked like at that moment."""

from __future__ import annotations

import json
from typing import Any

from swfbench.conformance.runner import ScenarioResult


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def describe_failure(result: ScenarioResult) -> str:
    failure = result.failure
    if failure is None:
        return f"scenario {result.id} passed"
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
    lines.append("  evidence:")
    lines += [f"    {e['grade']}: {e['ref']}" for e in result.evidence]
    return "\n".join(lines)


def one_line(result: ScenarioResult) -> str:
    failure = result.failure
    if failure is None:
        return "passed"
    return f"line {failure.line}: {failure.message}"
