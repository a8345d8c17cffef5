"""The AWS CLI's output formats and `--query`, for scripts written against it.

`aws swf record-activity-task-heartbeat --query cancelRequested --output text` prints `False`;
so does `swfbench heartbeat` with the same flags. What each format prints is the AWS CLI's,
checked against AWS CLI 1.46 (json, text, table) and the v2 formatter's documented behaviour
(yaml, yaml-stream) by `tests/test_heartbeat_output.py`:

- `--query` is a JMESPath expression (jmespath ships with botocore) applied to the answer
  before formatting; a path that matches nothing gives null.
- json: indented by 4, non-ASCII kept; an empty answer (`{}`) prints nothing.
- text: tab-separated values, a mapping's scalar values in the order of their sorted keys,
  nested lists and mappings on lines of their own prefixed by their key in capitals; scalars as
  Python prints them (`False`, `None`).
- table: sections titled by the operation, `+|-` borders; a mapping of one scalar is a
  key/value row, of several a header row and a value row; a falsy result (`false`, `null`, an
  empty list) prints nothing, a true scalar only the title; values in bright blue with color.
- yaml: block style; a scalar result as JSON (`false`, `"x"`); yaml-stream: the answer as a
  one-item list (each page is an item), so `- cancelRequested: false`.

Written here rather than imported: awscli 1.x pins one exact botocore release (none matches
the botocore swfbench is tested with) and has no yaml output; AWS CLI v2 is not on PyPI.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jmespath
import yaml

FORMATS = ("json", "text", "table", "yaml", "yaml-stream")
COLORS = ("on", "off", "auto")
_VALUE_STYLE = ("\x1b[1m\x1b[34m", "\x1b[0m")  # the AWS CLI's table values: bright blue
_EDGE_STYLE = ("\x1b[2m\x1b[33m", "\x1b[0m")  # and its nested sections' edges: dim yellow


def compile_query(expression: str) -> Any:
    """A JMESPath expression, compiled; ValueError with the one-line reason when it is not."""
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        reason = str(exc).split("\n")[0].removesuffix(", for expression:").rstrip(": ")
        raise ValueError(f"{expression!r} is not a JMESPath expression: {reason}") from None


def render(
    response: dict[str, Any],
    *,
    output: str,
    query: Any = None,
    color: bool = False,
    title: str = "",
) -> str:
    """The answer as the AWS CLI prints it with --output `output` and --query `query`."""
    data: Any = query.search(response) if query is not None else response
    if output == "json":
        return "" if data == {} else json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    if output == "yaml":
        return "" if data == {} else _yaml(data)
    if output == "yaml-stream":
        return _yaml([data])
    if output == "text":
        lines: list[str] = []
        _text(data, lines)
        return "".join(line + "\n" for line in lines)
    if output == "table":
        return _table(title, data, color)
    raise ValueError(f"unknown output format {output!r}")


def _yaml(data: Any) -> str:
    if isinstance(data, dict | list):
        dumped: str = yaml.safe_dump(
            data, default_flow_style=False, sort_keys=False, allow_unicode=True
        )
        return dumped
    return json.dumps(data, ensure_ascii=False) + "\n"


# text ----------------------------------------------------------------------------------------


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _text(
    item: Any, lines: list[str], key: str | None = None, keys: list[str] | None = None
) -> None:
    if isinstance(item, dict):
        if keys is None:
            pairs = sorted(item.items())
            values = [str(v) for _, v in pairs if _scalar(v)]
            nested = [(k, v) for k, v in pairs if not _scalar(v)]
        else:
            values = [str(item.get(k, "")) for k in keys]
            nested = [(k, item[k]) for k in sorted(set(item) - set(keys))]
        if values:
            lines.append("\t".join([key.upper(), *values] if key is not None else values))
        for name, value in nested:
            _text(value, lines, name)
    elif isinstance(item, list):
        if not item:
            return
        if any(isinstance(element, dict) for element in item):
            shared = sorted(
                {k for e in item if isinstance(e, dict) for k, v in e.items() if _scalar(v)}
            )
            for element in item:
                _text(element, lines, key, shared)
            return
        scalars = [e for e in item if _scalar(e)]
        if scalars:
            if key is not None:
                lines.extend(f"{key.upper()}\t{e}" for e in scalars)
            else:
                lines.append("\t".join(str(e) for e in scalars))
        for element in (e for e in item if not _scalar(e)):
            _text(element, lines, key)
    else:
        lines.append(str(item))


# table ---------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns a text takes in a terminal: wide and ambiguous East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


@dataclass
class _Section:
    title: str = ""
    indent: int = 0
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widest: list[int] = field(default_factory=list)

    def _widen(self, cells: list[str]) -> None:
        widths = [_width(c) for c in cells]
        self.widest = (
            widths
            if not self.widest
            else [max(a, b) for a, b in zip(self.widest, widths, strict=False)]
        )

    def add_headers(self, headers: list[str]) -> None:
        self._widen(headers)
        self.headers = headers

    def add_row(self, row: list[Any]) -> None:
        cells = [str(cell) for cell in row]
        self._widen(cells)
        self.rows.append(cells)

    def columns(self, padding: int, total: int | None = None) -> list[int]:
        """Column widths, scaled to fill `total` when given (the AWS CLI's rounding)."""
        widths = [w + padding for w in self.widest]
        if total is None or not widths:
            return widths
        scaled = [round(total / sum(widths) * w) for w in widths]
        off = sum(scaled) - total
        while off:
            for i in range(len(scaled)) if off > 0 else reversed(range(len(scaled))):
                scaled[i] -= 1 if off > 0 else -1
                off -= 1 if off > 0 else -1
                if not off:
                    break
        return scaled

    def width(self) -> int:
        body = sum(w + 4 for w in self.columns(0)) + 2 + 2 * self.indent
        return max(_width(self.title) + 2 + 2 * self.indent, body)


def _centered(text: str, length: int, left: str, right: str, text_width: int) -> str:
    start = length // 2 - text_width // 2 - 1
    used = _width(left) + start + text_width
    return left + " " * start + text + " " * (length - _width(right) - used) + right


def _left(text: str, length: int, left: str, right: str, text_width: int) -> str:
    pad = 2 if length - (text_width + 2 + _width(left) + _width(right)) >= 0 else 0
    used = len(left) + pad + text_width
    return left + " " * pad + text + " " * (length - used - len(right)) + right


def _border(widths: list[int]) -> str:
    return "+" + "+".join("-" * (w - 2 if i == 0 else w - 1) for i, w in enumerate(widths)) + "+"


class _Table:
    def __init__(self, color: bool) -> None:
        self.sections: list[_Section] = []
        self.color = color

    def _style(self, text: str, style: tuple[str, str]) -> str:
        return f"{style[0]}{text}{style[1]}" if self.color else text

    def section(self, title: str, indent: int) -> _Section:
        self.sections.append(_Section(title=title, indent=indent))
        return self.sections[-1]

    def build(self, title: str | None, current: Any, indent: int = 0) -> bool:
        if not current:
            return False
        section = self.section(title, indent) if title is not None else self.sections[-1]
        if isinstance(current, list):
            if isinstance(current[0], dict):
                self._from_list(current, indent, title or "")
            else:
                for item in current:
                    if _scalar(item):
                        section.add_row([item])
                    elif all(_scalar(e) for e in item):
                        section.add_row(list(item))
                    else:
                        self.build(None, item)
        if isinstance(current, dict):
            headers = sorted(k for k, v in current.items() if _scalar(v))
            if len(headers) == 1:
                section.add_row([headers[0], current[headers[0]]])
            elif headers:
                section.add_headers(headers)
                section.add_row([current[k] for k in headers])
            for name in sorted(k for k, v in current.items() if not _scalar(v)):
                self.build(name, current[name], indent + 1)
        return True

    def _from_list(self, items: list[Any], indent: int, title: str) -> None:
        headers = sorted({k for e in items for k, v in e.items() if _scalar(v)})
        more = sorted({k for e in items for k, v in e.items() if not _scalar(v)})
        section = self.sections[-1]
        section.add_headers(headers)
        for index, element in enumerate(items):
            if index and more:
                section = self.section(title, indent)
                section.add_headers(headers)
            section.add_row([element.get(h, "") for h in headers])
            for name in more:
                if name in element:
                    self.build(name, element[name], indent + 1)

    def render(self, terminal_width: int) -> str:
        width = max(s.width() for s in self.sections)
        if width > terminal_width:
            # Too wide: sections of one row turn into key/value rows, as the AWS CLI does.
            for index, s in enumerate(self.sections):
                if len(s.rows) == 1 and s.headers:
                    vertical = _Section(title=s.title, indent=s.indent)
                    for header, value in zip(s.headers, s.rows[0], strict=False):
                        vertical.add_row([header, value])
                    self.sections[index] = vertical
            width = max(s.width() for s in self.sections)
        lines = ["-" * width]
        for s in self.sections:
            edge = self._style("|", _EDGE_STYLE) * s.indent
            inner = width - 2 * s.indent
            body: list[str] = []
            if s.title:
                body.append(_centered(s.title, inner, "|", "|", _width(s.title)))
                if not s.headers and not s.rows:
                    body.append("+" + "-" * (inner - 2) + "+")
            columns = s.columns(4, inner)
            if s.headers:
                body.append(_border(columns))
                body.append(
                    "".join(
                        _centered(h, w, "|" if i == 0 else "", "|", _width(h))
                        for i, (w, h) in enumerate(zip(columns, s.headers, strict=False))
                    )
                )
            if s.rows and columns:
                body.append(_border(columns))
                for row in s.rows:
                    body.append(
                        "".join(
                            _left(
                                self._style(v, _VALUE_STYLE),
                                w,
                                "|" if i == 0 else "",
                                "|",
                                _width(v),
                            )
                            for i, (w, v) in enumerate(zip(columns, row, strict=False))
                        )
                    )
                body.append(_border(columns))
            lines.extend(edge + line + edge for line in body)
        return "".join(line + "\n" for line in lines)


def _table(title: str, data: Any, color: bool, width: Callable[[], int] | None = None) -> str:
    table = _Table(color)
    if not table.build(title, data):
        return ""
    columns = width() if width is not None else shutil.get_terminal_size((80, 24)).columns
    return table.render(columns)
