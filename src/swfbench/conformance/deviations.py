"""Known deviations: per target, the scenarios it is known to fail and why.

`conformance/targets/<target>.yaml`:

    target: plain moto 5.2 (embedded engine `moto`)
    timing_slack: 1.0          # optional, seconds added to every timing window
    known_deviations:
      - id: cancellation/cancel_requested_on_heartbeat
        reason: RequestCancelActivityTask decision not implemented (HTTP 500)

A listed scenario that fails is a known deviation; one that passes is *fixed*, reported as a
failure so that the list stays true.

A scenario the target cannot run (its `requires:` names a capability the target lacks) is
*skipped*, whether listed or not: it says nothing about the target's deviations. Nor does one
the run stopped before it finished (a signal): it is *not run*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from swfbench.errors import UsageError

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
class KnownDeviations:
    path: Path | None = None
    target: str = ""
    timing_slack: float | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    """Scenario id -> why the target fails it."""

    def outcome(
        self, scenario_id: str, passed: bool, *, skipped: bool = False, not_run: bool = False
    ) -> Outcome:
        if not_run:
            return "not_run"
        if skipped:
            return "skipped"
        listed = scenario_id in self.reasons
        if passed:
            return "fixed" if listed else "pass"
        return "known_deviation" if listed else "fail"


def load_deviations(path: Path) -> KnownDeviations:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UsageError(f"cannot read known deviations {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with known_deviations")
    entries = data.get("known_deviations") or []
    reasons: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        if not (isinstance(entry, dict) and entry.get("id") and entry.get("reason")):
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
    )


def default_deviations_path(engine: str, roots: list[Path]) -> Path | None:
    """For the embedded target: `conformance/targets/<engine>.yaml` under the first root that
    has one (the pytest rootdir, then the working directory)."""
    for root in roots:
        candidate = root / TARGETS_DIR / f"{engine}.yaml"
        if candidate.is_file():
            return candidate
    return None
