"""Scenario texts and a writer shared by the plugin tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SCENARIO_DIR = Path("scenarios") / "conformance"


def write_scenario(pytester: pytest.Pytester, scenario_id: str, text: str) -> Path:
    """Write `scenarios/conformance/<scenario_id>.yaml` in pytester's folder."""
    path = pytester.path / SCENARIO_DIR / f"{scenario_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


PASSING = """
    description: a fresh heartbeat is not cancel-requested
    evidence: [{grade: documented, ref: "test"}]
    activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
    steps:
      - start_activity: {as: a}
      - heartbeat: {task: a, details: fine}
        expect: {cancelRequested: false}
"""

FAILING = """
    description: expects what no target does
    evidence: [{grade: inferred, ref: "test"}]
    activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
    steps:
      - start_activity: {as: a}
      - heartbeat: {task: a}
        expect: {cancelRequested: false}
      - heartbeat: {task: a, details: "second"}
        expect: {cancelRequested: true}
"""

NEEDS_QUOTAS = """
    description: bursts heartbeats; only for targets with quotas
    evidence: [{grade: documented, ref: "test"}]
    requires: [quotas]
    activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
    steps:
      - start_activity: {as: a}
      - repeat: {times: 50, until_error: true}
        heartbeat: {task: a}
        expect: {error: {code: ThrottlingException}}
"""
