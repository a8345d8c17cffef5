"""How much the engine holds at most, and the defaults (no moto import here, so the command line
can show them before the moto version is checked)."""

from __future__ import annotations

DEFAULT_MAX_CLOSED_EXECUTIONS = 5_000
"""Closed executions kept at most, oldest forgotten first; each keeps its history (about 10 KB
for a one-activity execution)."""
