"""Each command has one home: a package named for it, whose modules hold its command line and
what runs it; the top of `src/swfbench/` keeps only what every command shares."""

from __future__ import annotations

import argparse
from pathlib import Path

import swfbench
from swfbench.cli import build_parser

HOMES = {
    "demo": "demo",
    "heartbeat": "heartbeat",
    "activity": "heartbeat",
    "conform": "conformance",
    "load": "load",
    "serve": "engine",
    "plan": "plan",
    "capacity": "capacity",
    "report": "report",
    "gate": "gate",
}


def _runners(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each subcommand's name and the module of the function that runs it."""
    found: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                run = child.get_default("run")
                if run is not None:
                    found[name] = run.__module__
                for inner, module in _runners(child).items():
                    found.setdefault(name, module)
                    found.setdefault(f"{name} {inner}", module)
    return found


def test_every_command_runs_from_its_own_package() -> None:
    runners = _runners(build_parser())
    commands = {name for name in runners if " " not in name}
    assert commands == set(HOMES)
    for name in commands:
        assert runners[name].startswith(f"swfbench.{HOMES[name]}."), (name, runners[name])


def test_no_command_module_sits_among_the_shared_ones() -> None:
    top = Path(swfbench.__file__).parent
    stray = sorted(p.name for p in top.glob("*.py") if p.stem.endswith("_command"))
    assert stray == []
    assert not (top / "demo.py").exists() and not (top / "planner.py").exists()
