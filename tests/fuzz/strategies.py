"""What the fuzz test throws at swfbench: nasty values, documents near valid ones, and text
that is barely YAML or JSON."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import strategies as st

NASTY_TEXT = st.sampled_from(
    [
        "", " ", "-", "--", "0", "-0", "-1", "-3", "1e400", "-1e400", "inf", "-inf", "nan",
        "NaN", "Infinity", "1e20", "99999", "70000", "65536", "0x10", "1_000", "١٢", "½",
        "9" * 30, "9" * 5000, "1." + "0" * 400, "../../x", "/", ".", "..", "a/b", "\x00",
        "\x01\x02", "\u202e", "é漢字", "\ud800"[:0] + "\U0001f680", "None", "null", "true",
        "{}", "[]", "file:///dev/zero", "file:///", "file://", "http://", "%s%n", "'\"",
        "x" * 3000,
    ]
)  # fmt: skip
"""Strings a flag or a field may get: numbers out of every range, paths, control characters."""

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    NASTY_TEXT,
)
KEYS = st.one_of(st.text(max_size=12), NASTY_TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*at, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """`seed` (a valid document) with one to three places replaced by a nasty value, deleted,
    or given an extra key."""
    data = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        at = draw(st.sampled_from(paths))
        value = draw(VALUES)
        if not at:
            data = value
            continue
        parent = data
        try:
            for part in at[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(at[-1], None)
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(KEYS)] = value
        elif isinstance(parent, dict | list):
            parent[at[-1]] = value
    return data


NASTY_YAML = st.sampled_from(
    [
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
            for i in range(8)
        ),
        "a: " + "[" * 1000 + "]" * 1000,
        "a: " + "{b: " * 200 + "1" + "}" * 200,
        "1: 2\nnull: 3\n",
        "? [1, 2]\n: 3\n",
        "a: b\x00c\n",
        "a: \x01\n",
        "a: !!python/object/apply:os.system [true]\n",
        "a: " + "9" * 5000 + "\n",
        "a: .inf\nb: -.Inf\nc: .NaN\n",
        "a: 1e400\n",
        "%YAML 1.1\n--- a\n--- b\n",
        "a: *nothing\n",
        "<<: [1]\n",
        "\ufeffname: bom\n",
        "# only a comment\n",
        "a: [1, 2\n",
        "\t- tab\n",
    ]
)
"""YAML that breaks parsers: alias bombs, deep nesting, keys that are not strings, control
characters, tags, huge integers, non-finite numbers, several documents."""

NASTY_JSON = st.sampled_from(
    [
        "[" * 100000 + "]" * 100000,
        '{"a": ' + "1" * 5000 + "}",
        '{"a": 1e400}',
        '{"a": NaN, "b": Infinity}',
        '{"a": "\\ud800"}',
        "",
        "null",
        "[]",
        '{"a": 1}{"b": 2}',
        '{"a": "' + "x" * 100000 + '"}',
    ]
)


def as_text(data: Any, form: str) -> str:
    if form == "json":
        return json.dumps(data, allow_nan=True, default=str)
    return yaml.safe_dump(data, allow_unicode=True)


@st.composite
def document(draw: st.DrawFn, seed: Any, form: str = "yaml") -> bytes:
    """A document for a parser: a mutation of a valid one, random data, nasty text, or bytes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "nasty", "bytes"]))
    if kind == "mutated":
        return as_text(draw(mutated(seed)), form).encode("utf-8", "surrogatepass")
    if kind == "random":
        return as_text(draw(VALUES), form).encode("utf-8", "surrogatepass")
    if kind == "nasty":
        text = draw(NASTY_JSON if form == "json" else NASTY_YAML)
        return text.encode("utf-8", "surrogatepass")
    return draw(st.binary(max_size=200))
