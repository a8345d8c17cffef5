"""Every command's --help renders (argparse formats help lazily: a stray % breaks only there)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from swfbench.cli import build_parser, main
from swfbench.errors import EXIT_CODES


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
    # The one exit-code table, in every command's help.
    assert "exit codes (the same for every command):" in out
    for code, _ in EXIT_CODES:
        assert re.search(rf"^ +{code}  \S", out, re.MULTILINE), code


def test_the_readme_table_lists_the_same_exit_codes() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \|", section, re.MULTILINE)
    assert [int(code) for code in rows] == [code for code, _ in EXIT_CODES]
