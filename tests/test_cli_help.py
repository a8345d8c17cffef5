"""Every command's --help renders (argparse formats help lazily: a stray % breaks only there)."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from swfbench.cli import build_parser, main
from swfbench.errors import EXIT_CODES
from swfbench.heartbeat.activity_command import activity_timeout
from swfbench.options import (
    duration,
    duration_or_zero,
    finite_float,
    non_negative_float,
    positive_float,
    timeout_or_never,
    whole_number,
)
from swfbench.report.render import RENDERED_KINDS


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


NUMBER_TYPES = (
    float,
    finite_float,
    non_negative_float,
    positive_float,
    duration,
    duration_or_zero,
    timeout_or_never,
)
DURATION_TYPES = (duration, duration_or_zero, timeout_or_never, activity_timeout)


def _flags(types: tuple[object, ...]) -> list[tuple[list[str], argparse.Action]]:
    """Every flag of every command whose type is one of `types`."""
    found: list[tuple[list[str], argparse.Action]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])
            elif action.type in types and action.option_strings:
                found.append((path, action))

    walk(build_parser(), [])
    return found


DURATION_FLAGS = _flags(DURATION_TYPES)


def test_every_duration_flag_has_the_one_duration_type() -> None:
    """`plan --interval 60s` was refused ("invalid float value") while `load --run-time 30s`
    worked, and `1h2m` nowhere, though Locust takes it: every duration flag takes one format."""
    flags = {(" ".join(path), action.option_strings[0]) for path, action in DURATION_FLAGS}
    expected = {
        ("plan", "--interval"), ("plan", "--jitter"), ("plan", "--heartbeat-timeout"),
        ("plan", "--duration"), ("capacity", "--step-time"), ("capacity", "--interval"),
        ("load", "--run-time"), ("load", "--stop-after"), ("load", "--audit-time-limit"),
        ("load", "--progress"), ("conform", "--timing-slack"), ("heartbeat", "--read-timeout"),
        ("heartbeat", "--connect-timeout"), ("serve", "--idle-timeout"),
        ("activity start", "--heartbeat-timeout"),
    }  # fmt: skip
    assert expected <= flags
    # No flag that holds seconds is left with a plain number type.
    seconds = [
        (" ".join(path), action.option_strings[0])
        for path, action in _flags(NUMBER_TYPES)
        if action.type not in DURATION_TYPES
        and re.search(r"(?<!per )\bseconds?\b", (action.help or "").replace("per s", ""))
    ]
    assert seconds == []


def _flag_id(value: object) -> str:
    """A test id that is the same in every process (pytest-xdist collects in each): the
    command's words or the flag, never an object's address."""
    if isinstance(value, argparse.Action):
        return value.option_strings[0]
    if isinstance(value, list):
        return " ".join(value) or "swfbench"
    return str(value)


@pytest.mark.parametrize(("path", "action"), DURATION_FLAGS, ids=_flag_id)
def test_duration_flags_take_what_locust_takes(path: list[str], action: argparse.Action) -> None:
    parse = action.type
    assert callable(parse)
    for text, seconds in (("90", 90), ("30s", 30), ("2m", 120), ("1h2m", 3720), ("1h30m10s", 5410)):
        assert parse(text) == seconds, text
    if parse is not activity_timeout:  # SWF's own timeouts are whole seconds
        assert parse("500ms") == pytest.approx(0.5)
        assert parse("1.5") == pytest.approx(1.5)
    with pytest.raises(argparse.ArgumentTypeError):
        parse("2 minutes")


def test_a_duration_flag_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--workers", "10", "--interval", "1m", "--jitter", "500ms"]) == 0
    assert "10 workers every 60 s ± 0.5 s" in capsys.readouterr().out


def _number_flags() -> list[tuple[list[str], str]]:
    """Every flag of every command that takes a number that can be fractional."""
    found: list[tuple[list[str], str]] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])
            elif action.type in NUMBER_TYPES and action.option_strings:
                found.append((path, action.option_strings[0]))

    walk(build_parser(), [])
    return found


NUMBER_FLAGS = _number_flags()


def test_number_flags_are_found() -> None:
    flags = {(" ".join(path), flag) for path, flag in NUMBER_FLAGS}
    assert {("plan", "--interval"), ("capacity", "--start-rate"), ("load", "--run-time")} <= flags
    assert {("conform", "--timing-slack"), ("serve", "--account-refill")} <= flags


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999"])
@pytest.mark.parametrize(("command", "flag"), NUMBER_FLAGS, ids=_flag_id)
def test_number_flags_refuse_non_finite_values(
    command: list[str], flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan --interval inf` once simulated forever; a profile's .inf once failed mid-run."""
    code = main([*command, f"{flag}={value}"])
    err = capsys.readouterr().err.strip()
    assert code == 252, err  # one exit code for usage errors, in every command
    (line,) = err.splitlines()
    assert flag in line and ("finite" in line or "positive" in line), line


def _help(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


def _parser(command: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in command:
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _examples(text: str) -> list[list[str]]:
    """The swfbench command lines of a help's examples section, comments and `&&` split off."""
    section = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0]
    joined = section.replace("\\\n", " ")
    lines: list[list[str]] = []
    for line in joined.splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            for shell in ("&", ">", "|"):  # the shell's, not the command's
                if shell in words:
                    words = words[: words.index(shell)]
            if words[:1] == ["swfbench"]:
                lines.append(words[1:])
    return lines


SELF_EVIDENT = (argparse._HelpAction, argparse._VersionAction, argparse._StoreTrueAction)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_teaches_with_examples_and_defaults(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command's --help has examples (each one a command line swfbench accepts), shows
    every option on its own line with a readable placeholder, and its default or that it is
    required."""
    monkeypatch.delenv("SWFBENCH_ENDPOINT_URL", raising=False)
    out = _help(command, capsys)
    examples = _examples(out)
    assert any(words[: len(command)] == command for words in examples), out
    for words in examples:
        try:
            build_parser().parse_args(words)
        except SystemExit:
            pytest.fail(f"the example `swfbench {shlex.join(words)}` does not parse")
    for action in _parser(command)._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        if action.option_strings:  # on a line of its own, not hidden in another's prose
            assert re.search(rf"^  {re.escape(name)}\b", out, re.MULTILINE), name
        if isinstance(action, SELF_EVIDENT):
            continue
        text = " ".join((action.help or "").split())
        if action.required and action.option_strings:
            assert text.startswith("required:"), (name, text)
        elif action.option_strings or action.nargs in ("*", "?"):
            assert "(default: " in text or text.startswith("required:"), (name, text)
        # A placeholder that names what to give, not argparse's upper-cased dest (SPAWN_RATE).
        if action.option_strings and action.nargs != 0 and not action.choices:
            assert action.metavar is not None or "_" not in action.dest, name


def test_report_help_names_every_kind_it_renders(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(_help(["report"], capsys).split())
    for kind in RENDERED_KINDS:
        assert f" {kind} (" in out, kind


def test_quota_overrides_are_options_of_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    """They were named in the prose of --quotas' help; each is an option with SWF's figure."""
    for command in (["plan"], ["serve"], ["load"]):
        out = _help(command, capsys)
        for flag, swf in (
            ("--account-bucket", "2000"),
            ("--account-refill", "160"),
            ("--execution-bucket", "1000"),
            ("--execution-refill", "1000"),
        ):
            line = re.search(rf"^  {flag} \S+(.*?)(?=^  \S)", out, re.MULTILINE | re.DOTALL)
            assert line and f"SWF's {swf})" in " ".join(line.group(1).split()), (command, flag)


@pytest.mark.parametrize(
    ("argv", "instead"),
    [
        (["load", "--profile", "scenarios/load/steady.yaml"], "--fleet FILE"),
        (["capacity", "--profile", "steady.yaml"], "--fleet FILE"),
        (["load", "--fleet", "scenarios/load/steady.yaml", "--profile", "dev"], "--aws"),
        (["plan", "--workers", "10", "--interval", "60", "--quotas", "q.yaml"], "--quotas-file"),
        (["plan", "--workers", "10", "--interval", "60", "--json"], "--output json"),
        (["plan", "--workers", "10", "--interval", "60", "--output", "p.json"], "--save FILE"),
        (["conform", "--workers", "4"], "--concurrency N"),
        (["gate", "--results", "r.json", "--gates", "g.yaml"], "swfbench gate RESULTS.json"),
    ],
    ids=lambda x: " ".join(x) if isinstance(x, list) else None,
)
def test_an_old_spelling_fails_with_one_line_naming_the_new(
    argv: list[str], instead: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main([*argv, "--reports-dir", str(tmp_path)] if argv[0] == "load" else argv)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 252 and instead in line, line
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


@pytest.mark.parametrize("value", ["x" * 5000, "-" + "9" * 4000])
def test_a_whole_number_flag_quotes_only_the_start_of_a_bad_value(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        whole_number(1)(value)
    assert len(str(refused.value)) < 80, str(refused.value)[:200]
