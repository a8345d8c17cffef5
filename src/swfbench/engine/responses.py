"""SWF's JSON 1.0 operations: moto's `SWFResponse` methods, plus the ones moto lacks or breaks.

`EngineResponse.call` takes an operation name (the part of `X-Amz-Target` after
`SimpleWorkflowService.`) and the raw body, and returns the JSON to send. It runs the
operation under the backend lock; moto's methods that are fine are used as they are.
"""

from __future__ import annotations

import json
from typing import Any

from moto.swf.responses import SWFResponse

from swfbench.engine.access import Caller, acting_as
from swfbench.engine.backend import EngineBackend
from swfbench.engine.exceptions import SerializationError, UnknownOperation
from swfbench.engine.validation import check_lengths

# Every SWF operation the engine serves, mapped to its method on EngineResponse.
OPERATIONS: dict[str, str] = {
    name: "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    for name in (
        "CountPendingActivityTasks",
        "CountPendingDecisionTasks",
        "DeprecateActivityType",
        "DeprecateDomain",
        "DeprecateWorkflowType",
        "DescribeActivityType",
        "DescribeDomain",
        "DescribeWorkflowExecution",
        "DescribeWorkflowType",
        "GetWorkflowExecutionHistory",
        "ListActivityTypes",
        "ListClosedWorkflowExecutions",
        "ListDomains",
        "ListOpenWorkflowExecutions",
        "ListTagsForResource",
        "ListWorkflowTypes",
        "PollForActivityTask",
        "PollForDecisionTask",
        "RecordActivityTaskHeartbeat",
        "RegisterActivityType",
        "RegisterDomain",
        "RegisterWorkflowType",
        "RequestCancelWorkflowExecution",
        "RespondActivityTaskCanceled",
        "RespondActivityTaskCompleted",
        "RespondActivityTaskFailed",
        "RespondDecisionTaskCompleted",
        "SignalWorkflowExecution",
        "StartWorkflowExecution",
        "TagResource",
        "TerminateWorkflowExecution",
        "UndeprecateActivityType",
        "UndeprecateDomain",
        "UndeprecateWorkflowType",
        "UntagResource",
    )
}

_CANCEL_REQUESTED = {True: '{"cancelRequested": true}', False: '{"cancelRequested": false}'}


class EngineResponse(SWFResponse):
    """moto's SWF response handler bound to one `EngineBackend`; one instance per connection."""

    def __init__(self, backend: EngineBackend) -> None:
        super().__init__()
        self._backend = backend
        self._request_params: dict[str, Any] = {}

    @property
    def swf_backend(self) -> EngineBackend:
        return self._backend

    @property
    def _params(self) -> Any:
        # moto re-parses the body on every access; the engine parses it once per call.
        return self._request_params

    def call(self, operation: str, body: bytes, caller: Caller | None = None) -> str:
        """Run `operation` with the JSON `body`; raises moto's SWFClientError faults. With a
        `caller` (an engine started with --auth), the call is first authorized as that caller."""
        method = OPERATIONS.get(operation)
        if method is None:
            raise UnknownOperation(operation)
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            raise SerializationError() from None
        if not isinstance(params, dict):
            raise SerializationError()
        check_lengths(operation, params)
        with self._backend.lock, acting_as(caller, self._backend, operation, params):
            self._request_params = params
            result: str = getattr(self, method)()
            return result

    # --- operations moto lacks or breaks ----------------------------------------------------

    def record_activity_task_heartbeat(self) -> str:
        task_token = self._params["taskToken"]
        details = self._params.get("details")
        self._check_string(task_token)
        self._check_none_or_string(details)
        return _CANCEL_REQUESTED[self.swf_backend.heartbeat(task_token, details=details)]

    def respond_activity_task_canceled(self) -> str:
        task_token = self._params["taskToken"]
        details = self._params.get("details")
        self._check_string(task_token)
        self._check_none_or_string(details)
        self.swf_backend.respond_activity_task_canceled(task_token, details=details)
        return ""

    def signal_workflow_execution(self) -> str:
        # moto requires `input`; it is optional in SWF.
        params = self._params
        domain_name = params["domain"]
        signal_name = params["signalName"]
        workflow_id = params["workflowId"]
        signal_input = params.get("input")
        run_id = params.get("runId")
        for value in (domain_name, signal_name, workflow_id):
            self._check_string(value)
        self._check_none_or_string(signal_input)
        self._check_none_or_string(run_id)
        self.swf_backend.signal_workflow_execution(
            domain_name, signal_name, workflow_id, signal_input, run_id or None
        )
        return ""

    def request_cancel_workflow_execution(self) -> str:
        params = self._params
        domain_name = params["domain"]
        workflow_id = params["workflowId"]
        run_id = params.get("runId")
        self._check_string(domain_name)
        self._check_string(workflow_id)
        self._check_none_or_string(run_id)
        self.swf_backend.request_cancel_workflow_execution(
            domain_name, workflow_id, run_id=run_id or None
        )
        return ""
