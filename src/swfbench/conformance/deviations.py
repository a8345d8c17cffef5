"""Known deviations: per target, the scenarios it is known to fail and why.

`conformance/targets/<target>.yaml`:

    target: plain moto 5.2 (embedded engine `moto`)
    timing_slack: 1.0          # optional, seconds added to every timing window
    known_deviations:
      - id: cancellation/cancel_requested_on_heartbeat
        reason: RequestCancelActivityTask decision not implemented (HTTP 500)

A listed scenario that fails is a known deviation; one that passes is *fixed*, reported as a
failure so that the list stays true.

Wire findings (`swfbench.conformance.wire`) are listed apart, by rule and optionally by
operation and JSON path (a glob, list indexes written `[*]`):

    wire_deviations:
      - rule: content-type
        reason: every answer says text/html
      - rule: missing
        operation: PollForDecisionTask
        path: $.previousStartedEventId
        reason: left out of a first decision task

A scenario with a wire finding the list does not name fails, whatever its steps did; one whose
steps passed but whose answers broke the wire contract in listed ways is a known deviation.

A scenario the target cannot run (its `requires:` names a capability the target lacks) is
*skipped*, whether listed or not: it says nothing about the target's deviations. Nor does one
the run stopped before it finished (a signal): it is *not run*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from swfbench.conformance.wire import RULES
from swfbench.errors import UsageError
from swfbench.inputs import load_yaml, shown

Outcome = Literal["pass", "fail", "known_deviation", "fixed", "skipped", "not_run"]
OUTCOMES: tuple[Outcome, ...] = (
    "pass",
    "fail",
    "known_deviation",
    "fixed",
    "skipped",
    "not_run",
)
TARGETS_DIR = Path("conformance") / "targets"


@dataclass(frozen=True, kw_only=True)
class WireDeviation:
    """Wire findings a target is known to produce: a rule, narrowed by operation and path."""

    rule: str
    reason: str
    operation: str | None = None
    path: str | None = None
    """A glob over the finding's JSON path, e.g. `$.events[*].*EventAttributes.startedEventId`."""

    def matches(self, finding: dict[str, Any]) -> bool:
        return (
            finding["rule"] == self.rule
            and (self.operation is None or finding["operation"] == self.operation)
            and (self.path is None or fnmatchcase(finding["path"], self.path))
        )


@dataclass(frozen=True, kw_only=True)
class KnownDeviations:
    path: Path | None = None
    target: str = ""
    timing_slack: float | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    """Scenario id -> why the target fails it."""
    wire: tuple[WireDeviation, ...] = ()

    def wire_reason(self, finding: dict[str, Any]) -> str | None:
        """Why the target is known to give this wire finding, or None if it is not known."""
        listed = next((w for w in self.wire if w.matches(finding)), None)
        return listed.reason if listed is not None else None

    def outcome(
        self,
        scenario_id: str,
        passed: bool,
        *,
        skipped: bool = False,
        not_run: bool = False,
        wire: Sequence[dict[str, Any]] = (),
    ) -> Outcome:
        if not_run:
            return "not_run"
        if skipped:
            return "skipped"
        known = [self.wire_reason(finding) is not None for finding in wire]
        if not all(known):
            return "fail"  # the answers broke the wire contract in a way nobody listed
        listed = scenario_id in self.reasons
        if passed:
            if listed:
                return "fixed"
            return "known_deviation" if known else "pass"
        return "known_deviation" if listed else "fail"


def load_deviations(path: Path) -> KnownDeviations:
    data: Any = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with known_deviations")
    entries = data.get("known_deviations") or []
    if not isinstance(entries, list):
        raise UsageError(f"{path}: known_deviations must be a list")
    reasons: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        if not (
            isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry.get("reason")
        ):
            raise UsageError(f"{path}: known_deviations entry {number} needs an id and a reason")
        if entry["id"] in reasons:
            raise UsageError(f"{path}: scenario {entry['id']} is listed twice")
        reasons[str(entry["id"])] = str(entry["reason"])
    slack = data.get("timing_slack")
    if slack is not None and not isinstance(slack, int | float):
        raise UsageError(f"{path}: timing_slack must be a number of seconds")
    return KnownDeviations(
        path=path,
        target=str(data.get("target", "")),
        timing_slack=float(slack) if slack is not None else None,
        reasons=reasons,
        wire=_wire_deviations(path, data.get("wire_deviations") or []),
    )


def _wire_deviations(path: Path, entries: Any) -> tuple[WireDeviation, ...]:
    if not isinstance(entries, list):
        raise UsageError(f"{path}: wire_deviations must be a list")
    found = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: wire_deviations entry {number}"
        if not (isinstance(entry, dict) and entry.get("rule") and entry.get("reason")):
            raise UsageError(f"{where} needs a rule and a reason")
        unknown = sorted(set(entry) - {"rule", "reason", "operation", "path"})
        if unknown:
            raise UsageError(f"{where}: unknown key {shown(unknown[0])}")
        if not isinstance(entry["rule"], str) or entry["rule"] not in RULES:
            raise UsageError(f"{where}: unknown rule {shown(entry['rule'])} ({', '.join(RULES)})")
        found.append(
            WireDeviation(
                rule=str(entry["rule"]),
                reason=str(entry["reason"]),
                operation=str(entry["operation"]) if entry.get("operation") else None,
                path=str(entry["path"]) if entry.get("path") else None,
            )
        )
    return tuple(found)


def default_deviations_path(engine: str, roots: list[Path]) -> Path | None:
    """For the embedded target: `conformance/targets/<engine>.yaml` under the first root that
    has one (the pytest rootdir, then the working directory)."""
    for root in roots:
        candidate = root / TARGETS_DIR / f"{engine}.yaml"
        if candidate.is_file():
            return candidate
    return None
