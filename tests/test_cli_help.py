"""Every command's --help renders (argparse formats help lazily: a stray % breaks only there)."""

from __future__ import annotations

import argparse

import pytest

from swfbench.cli import build_parser, main


def _commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.append([*path, name])
                    walk(child, [*path, name])

    walk(build_parser(), [])
    return found


COMMANDS = _commands()


def test_every_command_is_found() -> None:
    names = {" ".join(command) for command in COMMANDS}
    assert {"load", "capacity", "plan", "gate", "report", "conform", "activity start"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_renders(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: swfbench " + " ".join(command))
