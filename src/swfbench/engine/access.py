"""Who may call what on which domain: SWF's IAM model, evaluated for every call and decision.

With `--auth FILE`, every SWF call is authenticated (`auth`) and then authorized: the action
`swf:<Operation>` on the domain's ARN `arn:aws:swf:REGION:ACCOUNT:/domain/NAME`, with the
condition keys SWF documents for the operation's parameters, is evaluated against the caller's
policies (`policy`). What SWF documents (botocore's model, the "Access Control" section of each
operation and decision; fact sheet, "Access control"):

- The only resource is the domain. ListDomains acts on `.../domain/*` (observed in Netflix/asgard
  issue 722); RegisterDomain on the domain it registers. Calls that carry only a task token
  (RecordActivityTaskHeartbeat, RespondActivityTask*, RespondDecisionTaskCompleted) act on the
  domain of the token's task.
- Condition keys exist only for the parameters listed in `OPERATION_KEYS`: none for
  RecordActivityTaskHeartbeat (seed: "You cannot use an IAM policy to constrain this action's
  parameters"). A condition on a key the request does not carry follows IAM's rule for missing
  keys: a matching operator fails and a negated one holds, so an Allow conditioned on, say,
  `swf:activityType.name` allows no heartbeat, and such a Deny denies none (inferred: IAM's
  documented rule, applied to SWF's documented absence of keys).
- A denied call answers AccessDeniedException, "User: ARN is not authorized to perform:
  swf:ACTION on resource: ARN" (observed for other SWF actions; the model also declares
  OperationNotPermittedFault for this action: the fact sheet grades both).
- RespondDecisionTaskCompleted, once allowed, has each decision authorized as the pseudo-action
  `swf:<DecisionType>` with its own keys (`DECISION_KEYS`). A decision that is not permitted does
  not fail the call: it records its `...Failed` event with cause OPERATION_NOT_PERMITTED (seed;
  model enums `*FailedCause`), and the other decisions of the batch are carried out.
- A token the engine never issued names no domain: the call is not authorized, and answers the
  operation's own fault for a bad token (inferred: SWF cannot know the domain either).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.swf.exceptions import SWFClientError
from moto.swf.models.activity_type import ActivityType

from swfbench.engine.auth import CORAL, HeaderFields, SignatureVerifier
from swfbench.engine.policy import Decision, evaluate
from swfbench.identities import AuthFile, Identity

if TYPE_CHECKING:
    from swfbench.engine.backend import EngineBackend

Path = tuple[str | int, ...]

_TYPE_FILTERS: dict[str, Path] = {
    "swf:tagFilter.tag": ("tagFilter", "tag"),
    "swf:typeFilter.name": ("typeFilter", "name"),
    "swf:typeFilter.version": ("typeFilter", "version"),
}
_TASK_LIST: dict[str, Path] = {"swf:taskList.name": ("taskList", "name")}
_ACTIVITY_TYPE: dict[str, Path] = {
    "swf:activityType.name": ("activityType", "name"),
    "swf:activityType.version": ("activityType", "version"),
}
_WORKFLOW_TYPE: dict[str, Path] = {
    "swf:workflowType.name": ("workflowType", "name"),
    "swf:workflowType.version": ("workflowType", "version"),
}
_REGISTERED_TYPE: dict[str, Path] = {
    "swf:name": ("name",),
    "swf:version": ("version",),
    "swf:defaultTaskList.name": ("defaultTaskList", "name"),
}
_TAGS: dict[str, Path] = {f"swf:tagList.member.{i}": ("tagList", i) for i in range(5)}

OPERATION_KEYS: dict[str, dict[str, Path]] = {
    # The condition keys of each SWF operation, as botocore's model documents them in each
    # operation's "Access Control" section (a test compares this table with the model).
    "CountClosedWorkflowExecutions": _TYPE_FILTERS,
    "CountOpenWorkflowExecutions": _TYPE_FILTERS,
    "ListClosedWorkflowExecutions": _TYPE_FILTERS,
    "ListOpenWorkflowExecutions": _TYPE_FILTERS,
    "CountPendingActivityTasks": _TASK_LIST,
    "CountPendingDecisionTasks": _TASK_LIST,
    "PollForActivityTask": _TASK_LIST,
    "PollForDecisionTask": _TASK_LIST,
    "DeleteActivityType": _ACTIVITY_TYPE,
    "DeprecateActivityType": _ACTIVITY_TYPE,
    "DescribeActivityType": _ACTIVITY_TYPE,
    "UndeprecateActivityType": _ACTIVITY_TYPE,
    "DeleteWorkflowType": _WORKFLOW_TYPE,
    "DeprecateWorkflowType": _WORKFLOW_TYPE,
    "DescribeWorkflowType": _WORKFLOW_TYPE,
    "UndeprecateWorkflowType": _WORKFLOW_TYPE,
    "RegisterActivityType": _REGISTERED_TYPE,
    "RegisterWorkflowType": _REGISTERED_TYPE,
    "StartWorkflowExecution": {**_WORKFLOW_TYPE, **_TASK_LIST, **_TAGS},
}
DECISION_KEYS: dict[str, dict[str, Path]] = {
    # The decisions' own keys (model shapes `<Decision>DecisionAttributes`); the others have none.
    "ScheduleActivityTask": {**_ACTIVITY_TYPE, **_TASK_LIST},
    "StartChildWorkflowExecution": {**_WORKFLOW_TYPE, **_TASK_LIST},
    "ContinueAsNewWorkflowExecution": {
        **_TASK_LIST,
        "swf:workflowType.version": ("workflowTypeVersion",),
    },
}
TOKEN_KINDS = {
    "RecordActivityTaskHeartbeat": "activity",
    "RespondActivityTaskCanceled": "activity",
    "RespondActivityTaskCompleted": "activity",
    "RespondActivityTaskFailed": "activity",
    "RespondDecisionTaskCompleted": "decision",
}
TAGGING = ("ListTagsForResource", "TagResource", "UntagResource")
DOMAIN_BY_NAME = ("DeprecateDomain", "DescribeDomain", "RegisterDomain", "UndeprecateDomain")
"""Operations whose domain is their `name` parameter, not `domain`."""

# A decision that is not permitted records this event (model: `<Decision>FailedEventAttributes`)
# with cause OPERATION_NOT_PERMITTED; the second item lists the decision's attributes it copies.
NOT_PERMITTED_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ScheduleActivityTask": ("ScheduleActivityTaskFailed", ("activityId",)),
    "RequestCancelActivityTask": ("RequestCancelActivityTaskFailed", ("activityId",)),
    "StartTimer": ("StartTimerFailed", ("timerId",)),
    "CancelTimer": ("CancelTimerFailed", ("timerId",)),
    "RecordMarker": ("RecordMarkerFailed", ("markerName",)),
    "CompleteWorkflowExecution": ("CompleteWorkflowExecutionFailed", ()),
    "FailWorkflowExecution": ("FailWorkflowExecutionFailed", ()),
    "CancelWorkflowExecution": ("CancelWorkflowExecutionFailed", ()),
}
OPERATION_NOT_PERMITTED = "OPERATION_NOT_PERMITTED"

DecisionCheck = Callable[[str, str, Mapping[str, Any]], bool]
"""(domain name, decision type, decision attributes) -> whether the caller may decide it."""


class AccessDenied(SWFClientError):
    """IAM refused the call (observed as AccessDeniedException for other SWF actions:
    Netflix/asgard issue 722; the reason clause is how AWS words it today, inferred)."""

    def __init__(self, principal: str, action: str, resource: str, decision: Decision) -> None:
        reason = (
            "with an explicit deny in an identity-based policy"
            if decision is Decision.EXPLICIT_DENY
            else f"because no identity-based policy allows the {action} action"
        )
        super().__init__(
            CORAL + "AccessDeniedException",
            f"User: {principal} is not authorized to perform: {action} on resource: "
            f"{resource} {reason}",
        )


def _value(params: Mapping[str, Any], path: Path) -> str | None:
    value: Any = params
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
            value = value[step]
        elif isinstance(value, Mapping) and step in value:
            value = value[step]
        else:
            return None
    return value if isinstance(value, str) else None


def condition_context(keys: Mapping[str, Path], params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The request's values of `keys`, lower-cased as IAM compares key names; absent ones out."""
    context = {}
    for key, path in keys.items():
        value = _value(params, path)
        if value is not None:
            context[key.lower()] = [value]
    return context


def not_permitted_event(
    event_id: int, decision_type: str, attributes: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The `...Failed` event (type and attributes) for a decision the caller may not make."""
    event_type, copied = NOT_PERMITTED_EVENTS[decision_type]
    fields: dict[str, Any] = {
        "cause": OPERATION_NOT_PERMITTED,
        "decision_task_completed_event_id": event_id,
    }
    for name in copied:
        fields["".join("_" + c.lower() if c.isupper() else c for c in name)] = attributes.get(name)
    if decision_type == "ScheduleActivityTask":
        wanted = attributes.get("activityType", {})
        fields["activity_type"] = ActivityType(wanted.get("name"), wanted.get("version"))
    return event_type, fields


class AccessControl:
    """Signatures and policies for one engine: one account in one region."""

    def __init__(
        self, auth: AuthFile, *, region: str, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.auth = auth
        self.region = region
        self.account_id = auth.account_id
        self.verifier = SignatureVerifier(auth, region=region, wall_clock=wall_clock)

    def authenticate(self, method: str, path: str, headers: HeaderFields, body: bytes) -> Caller:
        return Caller(self.verifier.authenticate(method, path, headers, body), self)

    def domain_arn(self, name: str) -> str:
        return f"arn:aws:swf:{self.region}:{self.account_id}:/domain/{name}"

    def global_context(self, identity: Identity) -> dict[str, list[str]]:
        context = {
            "aws:principalarn": [identity.arn],
            "aws:principalaccount": [identity.account_id],
            "aws:requestedregion": [self.region],
            "aws:securetransport": ["false"],  # the engine speaks plain HTTP
        }
        if ":user/" in identity.arn:
            context["aws:username"] = [identity.arn.rsplit("/", 1)[-1]]
        return context

    def check(
        self, identity: Identity, action: str, resource: str, context: dict[str, list[str]]
    ) -> Decision:
        return evaluate(
            identity.policies, action, resource, {**self.global_context(identity), **context}
        )


@dataclass(frozen=True)
class Caller:
    """An authenticated identity, and what it may do on this engine."""

    identity: Identity
    control: AccessControl

    def resource(self, operation: str, params: Mapping[str, Any], backend: EngineBackend) -> str:
        """The ARN the call acts on; "" for a token the engine never issued."""
        control = self.control
        if operation == "ListDomains":
            return control.domain_arn("*")
        if operation in DOMAIN_BY_NAME:
            return control.domain_arn(str(params.get("name", "")))
        if operation in TAGGING:
            return str(params.get("resourceArn", ""))
        kind = TOKEN_KINDS.get(operation)
        if kind is not None:
            tokens: Mapping[str, Any] = (
                backend.ctx.activity_tokens if kind == "activity" else backend.ctx.decision_tokens
            )
            task = tokens.get(str(params.get("taskToken", "")))
            return control.domain_arn(task.workflow_execution.domain.name) if task else ""
        return control.domain_arn(str(params.get("domain", "")))

    def authorize(self, operation: str, params: Mapping[str, Any], backend: EngineBackend) -> None:
        """Raise AccessDenied unless the caller's policies allow `operation` on its domain."""
        resource = self.resource(operation, params, backend)
        if not resource:
            return
        action = f"swf:{operation}"
        context = condition_context(OPERATION_KEYS.get(operation, {}), params)
        decision = self.control.check(self.identity, action, resource, context)
        if not decision.allowed:
            raise AccessDenied(self.identity.arn, action, resource, decision)

    def permits_decision(
        self, domain: str, decision_type: str, attributes: Mapping[str, Any]
    ) -> bool:
        context = condition_context(DECISION_KEYS.get(decision_type, {}), attributes)
        resource = self.control.domain_arn(domain)
        action = f"swf:{decision_type}"
        return self.control.check(self.identity, action, resource, context).allowed


def allow_every_decision(domain: str, decision_type: str, attributes: Mapping[str, Any]) -> bool:
    """Without --auth, every decision is permitted."""
    return True


@contextmanager
def acting_as(
    caller: Caller | None, backend: EngineBackend, operation: str, params: Mapping[str, Any]
) -> Iterator[None]:
    """Authorize the call (under the backend lock) and, for RespondDecisionTaskCompleted, have
    its decisions checked as the caller while it runs."""
    if caller is None:
        yield
        return
    caller.authorize(operation, params, backend)
    if operation != "RespondDecisionTaskCompleted":
        yield
        return
    backend.ctx.decision_allowed = caller.permits_decision
    try:
        yield
    finally:
        backend.ctx.decision_allowed = allow_every_decision
