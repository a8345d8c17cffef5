"""Expectations, declared in the scenario and checked here: each check returns None or what is
wrong, so a step reports every mismatch with the expected and actual values."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from swfbench.conformance.templating import TemplateError, render
from swfbench.errors import SWFError

RESERVED = frozenset(
    {"error", "elapsed", "interval", "contains", "not_contains", "counts", "length"}
)
HISTORY_KEYS = ("contains", "not_contains", "counts", "length")


def attributes(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's `<eventType>EventAttributes`, e.g. `activityTaskTimedOutEventAttributes`."""
    kind = str(event.get("eventType", ""))
    found = event.get(kind[:1].lower() + kind[1:] + "EventAttributes", {})
    return dict(found) if isinstance(found, Mapping) else {}


def flat(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event as a template sees it: `{{ e.eventId }}`, `{{ e.scheduledEventId }}`, and its
    `eventTimestamp` in seconds since the epoch (for `interval`)."""
    stamp = event.get("eventTimestamp")
    if isinstance(stamp, datetime):
        stamp = stamp.timestamp()
    return {
        "eventId": event.get("eventId"),
        "eventType": event.get("eventType"),
        "eventTimestamp": stamp,
        **attributes(event),
    }


def same(actual: Any, expected: Any) -> bool:
    """Equality that lets `"{{ a.scheduled_event_id }}"`-style text meet a number."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and same(actual[k], v) for k, v in expected.items()
        )
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if isinstance(actual, str | int) and isinstance(expected, str | int):
        return str(actual) == str(expected)
    return False


def matches(event: Mapping[str, Any], wanted: Mapping[str, Any], after: int = 0) -> bool:
    """Whether `event` is the `wanted` one: its type and attributes, none of its `absent`
    attributes, and (with `after`) an eventId above that."""
    if event.get("eventType") != wanted["eventType"]:
        return False
    if after and not int(event.get("eventId") or 0) > after:
        return False
    found = attributes(event)
    if any(name in found for name in wanted.get("absent", ())):
        return False
    return same(found, wanted.get("attributes", {}))


def check_error(error: SWFError | None, wanted: Mapping[str, Any] | None) -> str | None:
    if wanted is None:
        if error is not None:
            return (
                f"unexpected error {error.code} (HTTP {error.http_status}) from "
                f"{error.operation}: {error.message}"
            )
        return None
    if error is None:
        return "expected an error, the call succeeded"
    codes = [wanted["code"]] if "code" in wanted else list(wanted.get("one_of", []))
    problems = []
    if codes and error.code not in codes:
        problems.append(f"error code {error.code}, expected {' or '.join(codes)}")
    pattern = wanted.get("message_matches")
    if pattern is not None and not re.search(pattern, error.message):
        problems.append(f"message {error.message!r} does not match {pattern!r}")
    status = wanted.get("http_status")
    if status is not None and error.http_status != status:
        problems.append(f"HTTP status {error.http_status}, expected {status}")
    return "; ".join(problems) or None


def check_response(response: Mapping[str, Any], wanted: Mapping[str, Any]) -> str | None:
    problems = []
    for key, value in wanted.items():
        if key not in response:
            problems.append(f"response has no field {key!r}")
        elif not same(response[key], value):
            problems.append(f"{key} is {response[key]!r}, expected {value!r}")
    return "; ".join(problems) or None


def check_history(
    events: list[dict[str, Any]], wanted: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """What is wrong with the history, if anything, and the events captured with `as`.

    `contains` items are rendered one at a time, so an item may refer to an event that an
    earlier item of the same list captured (`latestCancelRequestedEventId: "{{ req.eventId }}"`).
    """
    problems: list[str] = []
    captured: dict[str, dict[str, Any]] = {}
    for raw in wanted.get("contains", []):
        try:
            item = render(raw, {**context, **captured})
        except TemplateError:
            if problems:
                continue  # it names an event an earlier item has not found yet
            raise
        after = 0
        if "after" in item:
            earlier = {**context, **captured}.get(item["after"])
            if earlier is None:
                continue  # the event it follows was not found: already a problem
            after = int(earlier["eventId"])
        found = next((e for e in events if matches(e, item, after)), None)
        if found is None:
            problems.append(f"no {_describe(item)}")
        elif "as" in item:
            captured[item["as"]] = flat(found)
    for item in render(wanted.get("not_contains", []), {**context, **captured}):
        found = next((e for e in events if matches(e, item)), None)
        if found is not None:
            problems.append(f"unwanted event #{found.get('eventId')} {found['eventType']}")
    counted = Counter(str(e.get("eventType")) for e in events)
    for kind, count in wanted.get("counts", {}).items():
        if counted[kind] != count:
            problems.append(f"{counted[kind]} {kind} events, expected {count}")
    if "length" in wanted and not same(len(events), wanted["length"]):
        problems.append(f"{len(events)} events in the history, expected {wanted['length']}")
    return "; ".join(problems) or None, captured


def _describe(item: Mapping[str, Any]) -> str:
    text = f"{item['eventType']} event matching {item.get('attributes', {})}"
    if "absent" in item:
        text += f" without {', '.join(item['absent'])}"
    if "after" in item:
        text += f" after event {item['after']}"
    return text


def check_interval(
    wanted: Mapping[str, Any], events: Mapping[str, Any], slack: float
) -> str | None:
    """Seconds between two captured events' timestamps, against `min` and `max` (+ slack)."""
    start, end = events[wanted["from"]], events[wanted["to"]]
    gap = float(end["eventTimestamp"]) - float(start["eventTimestamp"])
    low, high = wanted.get("min"), wanted.get("max")
    between = f"{start['eventType']} #{start['eventId']} to {end['eventType']} #{end['eventId']}"
    if low is not None and gap < low:
        return f"{gap:.3f} s from {between}, expected at least {low} s"
    if high is not None and gap > high + slack:
        return f"{gap:.3f} s from {between}, expected at most {high} s (+{slack} s slack)"
    return None


def check_elapsed(elapsed: float, wanted: Mapping[str, Any], slack: float) -> str | None:
    low = wanted.get("min")
    high = wanted.get("max")
    if low is not None and elapsed < low:
        return f"took {elapsed:.2f} s, expected at least {low} s"
    if high is not None and elapsed > high + slack:
        return f"took {elapsed:.2f} s, expected at most {high} s (+{slack} s slack)"
    return None


def summarize(event: Mapping[str, Any]) -> str:
    """One line per event for failure reports: `#7 ActivityTaskTimedOut {timeoutType: ...}`."""
    attrs = {k: v for k, v in attributes(event).items() if k not in ("activityType", "taskList")}
    text = ", ".join(f"{k}: {v!r}" for k, v in attrs.items())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"#{event.get('eventId')} {event.get('eventType')} {{{text}}}"
