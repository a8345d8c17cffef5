"""Reading what users hand swfbench: files, YAML and JSON, within limits, wrong as one line.

Every parser reads its input through here: fleet profiles, conformance scenarios, gates, auth
files and their policies, known-deviation lists, quota files, `--cli-input-json` and
`--cli-input-yaml`, and results files. So each of these holds for all of them, and a mistake is
one `UsageError` line naming the input (its exit code is the command's usage code):

- a file is read up to a size limit (`MAX_TEXT_BYTES`; results files `MAX_RESULTS_BYTES`), so
  `file:///dev/zero` is refused at once, and only regular files and character devices are
  read (a FIFO would wait for a writer forever);
- text must be UTF-8;
- YAML is read by PyYAML's safe loader with caps: nesting at most `MAX_DEPTH` levels (the
  composer recurses: 1,000 levels once ended in a RecursionError), at most `MAX_ALIASES`
  aliases, and at most `MAX_NODES` nodes once aliases are expanded (a 416-byte alias bomb
  expands to billions: its size is counted on the node graph, shared nodes once, before
  anything walks the tree); mapping keys must be strings, integers at most `MAX_INT_DIGITS`
  digits, numbers finite (`.inf` and `.nan` are no meaningful input here);
- JSON is read by the standard library with the same depth, digit and finiteness caps (the
  decoder recurses too, and Python refuses integers of more than 4,300 digits with a
  ValueError); results files may carry NaN, as `json.dumps` writes it.

Written here rather than taken from a library: PyYAML and the json module are the parsers;
what they lack is the limits, and those are a few checks on their own events and hooks.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from swfbench.errors import UsageError

MAX_TEXT_BYTES = 4 * 1024 * 1024
"""The largest input file (profiles, scenarios, gates, auth files ... are kilobytes)."""
MAX_RESULTS_BYTES = 256 * 1024 * 1024
"""The largest results file (an hour-long load run writes about 100 KB)."""
MAX_DEPTH = 64
"""Nesting of YAML and JSON documents (swfbench's own formats need fewer than 12 levels)."""
MAX_ALIASES = 1000
MAX_NODES = 200_000
"""Nodes of a YAML document with its aliases expanded."""
MAX_INT_DIGITS = 100
SHOWN = 60
"""Characters of a bad value quoted in an error."""

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class InputError(UsageError):
    """An input swfbench will not read: `source` and, where known, the line, then `what`."""

    def __init__(self, source: str, what: str, line: int | None = None) -> None:
        self.source, self.what, self.line = source, what, line
        super().__init__(f"{source}: line {line}: {what}" if line else f"{source}: {what}")


def shown(value: Any) -> str:
    """A value for an error line: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 5] + "...' (cut)"


def _one_line(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 300 else line[:297] + "..."


def read_bytes(path: Path, source: str, *, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The file's bytes; a usage error when it cannot be read, is no file, or is too big."""
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise InputError(source, f"{path} is {kind}")
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise InputError(source, f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(
            source,
            f"{path} is larger than {limit // (1024 * 1024)} MiB: not an input swfbench reads",
        )
    return data


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            source, f"not UTF-8 text (byte 0x{data[exc.start]:02x}): save it as UTF-8", line
        ) from None


def read_text(path: Path, source: str, *, limit: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file, within `limit` bytes."""
    return decode(read_bytes(path, source, limit=limit), source)


# YAML ----------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, what: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.mark = mark


class CappedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses documents nested too deep or with too many aliases
    while it composes them (before the composer's recursion could run out of stack)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES} aliases", self._mark())
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", self._mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _mark(self) -> yaml.Mark | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return getattr(event, "start_mark", None)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _labelled(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    """The node's children, each with the step of the path that leads to it."""
    if isinstance(node, yaml.MappingNode):
        found: list[tuple[str, yaml.Node]] = []
        for key, value in node.value:
            label = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            found += [("", key), (label, value)]
        return found
    if isinstance(node, yaml.SequenceNode):
        return [(f"[{index}]", item) for index, item in enumerate(node.value)]
    return []


def _join(at: str, step: str) -> str:
    if not step:
        return at
    return at + step if step.startswith("[") or not at else f"{at}.{step}"


def check_nodes(root: yaml.Node) -> None:
    """Refuse a composed document whose expansion is too big, or that holds a key, an integer
    or a number this module does not accept (named by its path, e.g. `heartbeat.interval`).
    Shared (aliased) nodes are visited once."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool, str]] = [(root, False, "")]
    while stack:
        node, done, at = stack.pop()
        if id(node) in sizes:
            continue
        children = _labelled(node)
        if not done:
            stack.append((node, True, at))
            stack.extend(
                (child, False, _join(at, step))
                for step, child in children
                if id(child) not in sizes
            )
            _check_scalar(node, at)
            if isinstance(node, yaml.MappingNode):
                for key, _ in node.value:
                    _check_key(key)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for _, child in children)
        if sizes[id(node)] > MAX_NODES:
            raise _Refused(
                f"more than {MAX_NODES:,} values once its aliases are expanded", node.start_mark
            )
        depths[id(node)] = 1 + max((depths.get(id(child), 1) for _, child in children), default=0)
        if depths[id(node)] > MAX_DEPTH:
            raise _Refused(
                f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded",
                node.start_mark,
            )


def _check_key(key: yaml.Node) -> None:
    if not isinstance(key, yaml.ScalarNode):
        raise _Refused("a mapping key must be a string, not a list or mapping", key.start_mark)
    if key.tag != _STR_TAG:
        raise _Refused(
            f"the mapping key {shown(key.value)} is not read as a string: quote it",
            key.start_mark,
        )


def _check_scalar(node: yaml.Node, at: str) -> None:
    if not isinstance(node, yaml.ScalarNode):
        return
    where = f"{at}: " if at else ""
    if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
        raise _Refused(f"{where}an integer of more than {MAX_INT_DIGITS} digits", node.start_mark)
    if node.tag == _FLOAT_TAG:
        text = node.value.lower().lstrip("+-")
        if text in (".inf", ".nan") or not math.isfinite(_yaml_float(node.value)):
            raise _Refused(f"{where}{shown(node.value)} is not a finite number", node.start_mark)


def _yaml_float(text: str) -> float:
    try:
        return float(text.replace("_", ""))
    except ValueError:
        return 0.0  # sexagesimal and other YAML 1.1 forms: the constructor judges them


def _line(mark: yaml.Mark | None) -> int | None:
    return mark.line + 1 if mark is not None else None


def compose_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The document and its root node (None for an empty document), checked as the module
    says; a usage error naming `source` and the line otherwise."""
    try:
        loader = CappedLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_nodes(node)
        return loader.construct_document(node), node
    except _Refused as exc:
        raise InputError(source, exc.what, _line(exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise InputError(source, f"not valid YAML: {_one_line(problem)}", _line(mark)) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    except yaml.YAMLError as exc:
        raise InputError(source, f"not valid YAML: {_one_line(exc)}") from None
    except RecursionError:
        raise InputError(source, "nested too deeply") from None
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, source: str) -> InputError:
    # NUL and other control characters: PyYAML names the character and its position.
    line = text[: exc.position].count("\n") + 1
    character = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
    return InputError(
        source,
        f"not valid YAML: the control character U+{character:04X} is not allowed (escape it "
        "in a double-quoted string)",
        line,
    )


def parse_yaml(text: str, source: str) -> Any:
    """A YAML document, checked as the module says."""
    return compose_yaml(text, source)[0]


def load_yaml(path: Path, source: str | None = None) -> Any:
    """A YAML file, read and checked as the module says."""
    source = source or str(path)
    return parse_yaml(read_text(path, source), source)


# JSON ----------------------------------------------------------------------------------------


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{shown(text)} is out of range for a number")
    return value


def _no_constant(text: str) -> float:
    raise _Refused(f"{text} is not a number JSON allows")


def parse_json(text: str, source: str, *, finite: bool = True) -> Any:
    """A JSON document within the caps; with `finite=False`, NaN and Infinity are kept (as
    Python's json module writes them)."""
    try:
        if finite:
            data = json.loads(
                text, parse_int=_int, parse_float=_finite_float, parse_constant=_no_constant
            )
        else:
            data = json.loads(text, parse_int=_int)
    except _Refused as exc:
        raise InputError(source, exc.what) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            source, f"not valid JSON: column {exc.colno}: {exc.msg}", exc.lineno
        ) from None
    except RecursionError:
        raise InputError(source, f"nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise InputError(source, f"nested deeper than {MAX_DEPTH} levels")
    return data


def load_json(path: Path, source: str | None = None, *, finite: bool = True) -> Any:
    source = source or str(path)
    limit = MAX_TEXT_BYTES if finite else MAX_RESULTS_BYTES
    return parse_json(read_text(path, source, limit=limit), source, finite=finite)


def _depth(data: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in items)
    return deepest
