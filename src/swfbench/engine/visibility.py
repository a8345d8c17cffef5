"""SWF's visibility calls: the List and Count filters, their order, and their pages.

As the API reference states them (fact sheet, "Polls, events and the wire", documented):

- ListOpen/CountOpenWorkflowExecutions take a `startTimeFilter` and at most one of
  `executionFilter`, `typeFilter` (`version` optional) and `tagFilter`.
- ListClosed/CountClosedWorkflowExecutions take exactly one of `startTimeFilter` and
  `closeTimeFilter`, and at most one of `executionFilter`, `typeFilter`, `tagFilter` and
  `closeStatusFilter`.
- Executions come newest first by the time filtered on (start or close); `reverseOrder` turns
  that around. Types and domains come in ascending order of name (then version).
- Lists are paged: `maximumPageSize` (1 to 1000; 0 or absent means 1000) and an opaque
  `nextPageToken`.

Time filters are inclusive at both ends. Members were already checked against the model.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from moto.swf.models.workflow_execution import WorkflowExecution

from swfbench.engine.exceptions import ValidationError

T = TypeVar("T")
MAX_PAGE_SIZE = 1000
EXCLUSIVE_OPEN = ("executionFilter", "typeFilter", "tagFilter")
EXCLUSIVE_CLOSED = (*EXCLUSIVE_OPEN, "closeStatusFilter")


def _one_of(params: dict[str, Any], names: Sequence[str]) -> None:
    given = [name for name in names if params.get(name) is not None]
    if len(given) > 1:
        raise ValidationError(
            [
                f"{', '.join(names[:-1])} and {names[-1]} are mutually exclusive: got {' and '.join(given)}"
            ]
        )


def _within(stamp: float | None, window: dict[str, Any]) -> bool:
    if stamp is None:
        return False
    latest = window.get("latestDate")
    return bool(window["oldestDate"] <= stamp and (latest is None or stamp <= latest))


def select_executions(
    executions: Sequence[WorkflowExecution], params: dict[str, Any], *, closed: bool
) -> list[WorkflowExecution]:
    """The executions of a domain that a List/Count call selects, in the order it lists them."""
    _one_of(params, EXCLUSIVE_CLOSED if closed else EXCLUSIVE_OPEN)
    start, close = params.get("startTimeFilter"), params.get("closeTimeFilter")
    if closed and (start is None) == (close is None):
        raise ValidationError(
            ["startTimeFilter and closeTimeFilter are mutually exclusive: specify exactly one"]
        )
    by_close = close is not None
    status = "CLOSED" if closed else "OPEN"
    checks: list[Callable[[WorkflowExecution], bool]] = [lambda e: e.execution_status == status]
    if start is not None:
        checks.append(lambda e: _within(e.start_timestamp, start))
    if close is not None:
        checks.append(lambda e: _within(e.close_timestamp, close))
    execution = params.get("executionFilter")
    if execution is not None:
        checks.append(lambda e: e.workflow_id == execution["workflowId"])
    kind = params.get("typeFilter")
    if kind is not None:
        version = kind.get("version")
        checks.append(
            lambda e: (
                e.workflow_type.name == kind["name"]
                and (version is None or e.workflow_type.version == version)
            )
        )
    tag = params.get("tagFilter")
    if tag is not None:
        checks.append(lambda e: tag["tag"] in (e.tag_list or ()))
    close_status = params.get("closeStatusFilter")
    if close_status is not None:
        checks.append(lambda e: e.close_status == close_status["status"])
    chosen = [e for e in executions if all(check(e) for check in checks)]

    def stamp(e: WorkflowExecution) -> float:
        return (e.close_timestamp if by_close else e.start_timestamp) or 0.0

    # Newest first unless reverseOrder; ties keep the order the executions were started in.
    newest_first = not params.get("reverseOrder")
    chosen.sort(key=stamp, reverse=newest_first)
    return chosen


def page(items: Sequence[T], params: dict[str, Any]) -> tuple[list[T], str | None]:
    """One page of `items` and the token of the next, if any."""
    size = int(params.get("maximumPageSize") or MAX_PAGE_SIZE)
    token = params.get("nextPageToken")
    offset = _offset(token) if token else 0
    end = offset + size
    following = _token(end) if end < len(items) else None
    return list(items[offset:end]), following


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError([f"Value '{token}' at 'nextPageToken' is not a token this call gave"])
    return offset
