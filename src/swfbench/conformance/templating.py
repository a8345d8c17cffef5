"""The scenario language's only templating: `{{ name }}` and `{{ name.field }}`, nothing else.

A string that is exactly one placeholder takes the referenced value with its type (an event id
stays an int); a placeholder inside longer text is replaced by the value's `str()`. A mapping of
exactly `fill` and `length` is `fill` repeated to `length` characters, for payloads at and past
SWF's limits (details 2048, token 1024: fact sheet, "The call").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
LOOSE_BRACES = re.compile(r"\{\{|\}\}")
FILL_KEYS = frozenset({"fill", "length"})


class TemplateError(Exception):
    """A placeholder names something the scenario has not defined (yet)."""


def is_fill(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == FILL_KEYS


def fill(value: Mapping[str, Any]) -> str:
    text = str(value["fill"])
    length = int(value["length"])
    return (text * (length // len(text) + 1))[:length]


def _lookup(context: Mapping[str, Any], name: str, fields: str) -> Any:
    if name not in context:
        raise TemplateError(f"{{{{ {name}{fields} }}}}: nothing named {name!r} is defined here")
    value = context[name]
    for field in filter(None, fields.split(".")):
        if not isinstance(value, Mapping) or field not in value:
            known = ", ".join(sorted(value)) if isinstance(value, Mapping) else "none"
            raise TemplateError(
                f"{{{{ {name}{fields} }}}}: {name!r} has no field {field!r} (fields: {known})"
            )
        value = value[field]
    return value


def render_pattern(pattern: str, context: Mapping[str, Any]) -> str:
    """A regular expression with placeholders: the values are matched literally (a real SWF
    run id may hold `+` or `/`)."""
    return PLACEHOLDER.sub(
        lambda m: re.escape(str(_lookup(context, m.group(1), m.group(2)))), pattern
    )


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """`value` with every placeholder replaced, recursively through lists and mappings."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole:
            return _lookup(context, whole.group(1), whole.group(2))
        return PLACEHOLDER.sub(lambda m: str(_lookup(context, m.group(1), m.group(2))), value)
    if is_fill(value):
        return fill(value)
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def references(value: Any) -> Iterator[str]:
    """The root names of every placeholder in `value` (for checks at load time)."""
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            yield match.group(1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def malformed(value: Any) -> str | None:
    """A string with `{{` or `}}` that is not a well-formed placeholder, if any."""
    if isinstance(value, str):
        rest = PLACEHOLDER.sub("", value)
        return value if LOOSE_BRACES.search(rest) else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = malformed(item)
        if found is not None:
            return found
    return None
