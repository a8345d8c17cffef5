"""Scenario files: load the YAML with line numbers, validate it, and check its references.

A file that is wrong fails before anything runs, with its path, the line and what is wrong
(`ScenarioFileError`, a usage error: exit 252 from `swfbench conform`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from swfbench.activity import ActivityTimeouts, Timeout
from swfbench.conformance.templating import malformed, references
from swfbench.errors import UsageError
from swfbench.inputs import InputError, compose_yaml, read_text

SCHEMA_RESOURCE = "conformance-scenario.json"
SCENARIO_ROOT = ("scenarios", "conformance")
"""Scenario files live under a `scenarios/conformance` folder; their id is the path below it."""
ACTIONS = (
    "start_activity",
    "heartbeat",
    "raw_heartbeat",
    "sleep",
    "request_cancel",
    "poll",
    "complete",
    "fail",
    "respond_canceled",
    "terminate_workflow",
    "request_cancel_workflow",
    "decide",
    "history",
    "wait_for_history",
)
HISTORY_ACTIONS = ("history", "wait_for_history")
CALL_ACTIONS = tuple(a for a in ACTIONS if a not in ("sleep", *HISTORY_ACTIONS))
"""Actions that make one call whose error `expect.error` judges: the ones `until_error` repeats."""
CAPABILITIES = ("quotas", "virtual_clock", "signatures")
"""What a scenario may require of its target (`requires:`); see `swfbench.capabilities`."""
TIMEOUT_KEYS = {
    "heartbeat_timeout": "heartbeat",
    "start_to_close_timeout": "start_to_close",
    "schedule_to_start_timeout": "schedule_to_start",
    "schedule_to_close_timeout": "schedule_to_close",
}

Path_ = tuple[str | int, ...]


class ScenarioFileError(UsageError):
    """A scenario file is malformed: the message names the file and line."""

    def __init__(self, path: Path, line: int | None, what: str) -> None:
        self.path = path
        self.line = line
        self.what = what
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {what}")


@dataclass(frozen=True, kw_only=True)
class Evidence:
    grade: str
    """documented, observed or inferred (see the fact sheet)."""
    ref: str

    def to_dict(self) -> dict[str, str]:
        return {"grade": self.grade, "ref": self.ref}


@dataclass(frozen=True, kw_only=True)
class Step:
    index: int
    """0-based position in the scenario's steps."""
    line: int
    """1-based line of the step in its file."""
    action: str
    params: dict[str, Any]
    expect: dict[str, Any] = field(default_factory=dict)
    repeat: dict[str, Any] | None = None
    source: str = ""
    """The step's YAML text, for failure reports."""


@dataclass(frozen=True, kw_only=True)
class Scenario:
    id: str
    """Path below `scenarios/conformance`, without extension: `heartbeat/resets_timeout`."""
    path: Path
    description: str
    evidence: tuple[Evidence, ...]
    activity: dict[str, Timeout]
    steps: tuple[Step, ...]
    requires: tuple[str, ...] = ()
    """Capabilities the target must have (`CAPABILITIES`); without them it is skipped."""
    identities: tuple[str, ...] = ()
    """Identities its steps sign as (`identity:`); a target without them skips it."""

    def timeouts(self, overrides: dict[str, Any]) -> ActivityTimeouts:
        """The scenario's default timeouts with a start_activity step's overrides."""
        values = {**self.activity, **{k: v for k, v in overrides.items() if k in TIMEOUT_KEYS}}
        return ActivityTimeouts(**{TIMEOUT_KEYS[k]: v for k, v in values.items()})


@cache
def schema() -> dict[str, Any]:
    text = resources.files("swfbench.schemas").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def is_scenario_path(path: Path, roots: Sequence[Path] = ()) -> bool:
    """A YAML file under a `scenarios/conformance/` folder, or under one of `roots` (the
    folders and files a user named: any scenario path is accepted)."""
    return path.suffix in (".yaml", ".yml") and scenario_root(path, roots) is not None


def scenario_root(path: Path, roots: Sequence[Path] = ()) -> Path | None:
    """The nearest enclosing `scenarios/conformance` folder of `path`, else the first of
    `roots` that holds it: scenario ids are paths relative to it."""
    for parent in path.parents:
        if (parent.parent.name, parent.name) == SCENARIO_ROOT:
            return parent
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return root
    return None


def scenario_id(path: Path, roots: Sequence[Path] = ()) -> str:
    root = scenario_root(path, roots)
    relative = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    return relative.with_suffix("").as_posix()


# YAML with line numbers ----------------------------------------------------------------------


def _compose(text: str, path: Path) -> tuple[Any, dict[Path_, int]]:
    """The document (read within `swfbench.inputs`' limits) and, for every mapping key and list
    item, its 1-based line. A node shared through an alias is walked where it is first met."""
    try:
        data, node = compose_yaml(text, str(path))
    except InputError as exc:
        raise ScenarioFileError(path, exc.line, exc.what) from None
    if node is None:
        raise ScenarioFileError(path, None, "the file is empty")
    lines: dict[Path_, int] = {(): node.start_mark.line + 1}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Path_]] = [(node, ())]
    while stack:
        current, at = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                lines[(*at, key.value)] = key.start_mark.line + 1
                stack.append((value, (*at, key.value)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[(*at, index)] = item.start_mark.line + 1
                stack.append((item, (*at, index)))
    return data, lines


def _line(lines: dict[Path_, int], at: Path_) -> int:
    for end in range(len(at), -1, -1):
        if at[:end] in lines:
            return lines[at[:end]]
    return 1


def _where(at: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".")


def _schema_error(path: Path, error: jsonschema.ValidationError, lines: dict[Path_, int]) -> None:
    at: Path_ = tuple(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = [
            k
            for k in error.instance
            if k not in allowed and not any(p.search(str(k)) for p in patterns)
        ]
        if extra:
            at = (*at, extra[0])
            message = f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})"
    elif error.validator == "oneOf" and at and at[0] == "steps" and len(at) == 2:
        step = error.instance if isinstance(error.instance, dict) else {}
        actions = [k for k in step if k in ACTIONS]
        message = (
            f"a step needs exactly one action, found {len(actions)}"
            + (f" ({', '.join(actions)})" if actions else "")
            + f"; actions: {', '.join(ACTIONS)}"
        )
    elif error.validator == "not" and at[-1:] == ("error",):
        message = "give either code or one_of, not both"
    where = _where(at)
    raise ScenarioFileError(path, _line(lines, at), f"{where + ': ' if where else ''}{message}")


def _validate(path: Path, data: Any, lines: dict[Path_, int]) -> None:
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = list(validator.iter_errors(data))
    if errors:
        # The deepest error first: it points closest to the mistake.
        best = jsonschema.exceptions.best_match(errors, key=jsonschema.exceptions.relevance)
        _schema_error(path, best, lines)


def _check_references(path: Path, data: dict[str, Any], lines: dict[Path_, int]) -> None:
    """Every `task`, `since` and placeholder must name something defined by an earlier step."""
    tasks: set[str] = set()
    names: set[str] = set()
    for index, step in enumerate(data["steps"]):
        at: Path_ = ("steps", index)
        action = next(k for k in step if k in ACTIONS)
        params = step[action]
        expect = step.get("expect", {})
        bad = malformed(params) or malformed(expect)
        if bad is not None:
            raise ScenarioFileError(path, _line(lines, at), f"malformed placeholder in {bad!r}")
        defined = names | tasks | ({"i"} if "repeat" in step else set())
        task = params.get("task")
        if task is not None and task not in tasks:
            raise ScenarioFileError(
                path, _line(lines, (*at, action, "task")), f"no task named {task!r} started before"
            )
        since = expect.get("elapsed", {}).get("since")
        if since is not None and since not in tasks:
            raise ScenarioFileError(
                path,
                _line(lines, (*at, "expect", "elapsed", "since")),
                f"elapsed.since: no task named {since!r} started before",
            )
        captured = {e["as"] for e in expect.get("contains", []) if "as" in e}
        for name in [*references(params), *references(expect)]:
            if name not in defined and name not in captured:
                raise ScenarioFileError(
                    path, _line(lines, at), f"{{{{ {name} }}}} refers to nothing defined before"
                )
        # Events named by `after` and `interval` are captured with `as` (here or before).
        events = [e.get("after") for e in expect.get("contains", [])]
        events += [expect.get("interval", {}).get(end) for end in ("from", "to")]
        for name in filter(None, events if action in HISTORY_ACTIONS else ()):
            if name not in names and name not in captured:
                raise ScenarioFileError(
                    path, _line(lines, (*at, "expect")), f"no event captured as {name!r}"
                )
        if action == "start_activity":
            tasks.add(params["as"])
        elif "as" in params:
            names.add(params["as"])
        if action in HISTORY_ACTIONS:
            names.update(captured)
        elif {"contains", "not_contains", "counts", "interval"} & set(expect):
            raise ScenarioFileError(
                path, _line(lines, (*at, "expect")), "history expectations need a history step"
            )
        if step.get("repeat", {}).get("until_error"):
            if action not in CALL_ACTIONS:
                raise ScenarioFileError(
                    path,
                    _line(lines, (*at, "repeat", "until_error")),
                    f"until_error repeats a call ({', '.join(CALL_ACTIONS)}), not {action}",
                )
            if "error" not in expect:
                raise ScenarioFileError(
                    path,
                    _line(lines, (*at, "repeat", "until_error")),
                    "until_error needs expect.error: the error that ends the repeat",
                )
        if action == "wait_for_history" and not set(expect) & {"contains", "counts", "length"}:
            raise ScenarioFileError(
                path,
                _line(lines, at),
                "wait_for_history needs expect.contains, counts or length to wait for",
            )


def load_scenario(path: Path, roots: Sequence[Path] = ()) -> Scenario:
    """Read, validate and check one scenario file; raise `ScenarioFileError` if it is wrong."""
    try:
        text = read_text(path, str(path))
    except InputError as exc:
        raise ScenarioFileError(path, exc.line, exc.what) from None
    data, lines = _compose(text, path)
    _validate(path, data, lines)
    _check_references(path, data, lines)
    source_lines = text.splitlines()
    starts = [lines[("steps", i)] for i in range(len(data["steps"]))]
    ends = [*starts[1:], len(source_lines) + 1]
    steps = []
    for index, raw in enumerate(data["steps"]):
        action = next(k for k in raw if k in ACTIONS)
        source = "\n".join(source_lines[starts[index] - 1 : ends[index] - 1]).rstrip()
        steps.append(
            Step(
                index=index,
                line=starts[index],
                action=action,
                params=dict(raw[action]),
                expect=dict(raw.get("expect", {})),
                repeat=raw.get("repeat"),
                source=source,
            )
        )
    return Scenario(
        id=scenario_id(path, roots),
        path=path,
        description=data["description"],
        evidence=tuple(Evidence(**e) for e in data["evidence"]),
        activity=dict(data.get("activity", {})),
        steps=tuple(steps),
        requires=tuple(data.get("requires", ())),
        identities=tuple(
            dict.fromkeys(s.params["identity"] for s in steps if "identity" in s.params)
        ),
    )
