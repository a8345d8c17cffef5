"""SWF's JSON 1.0 operations: moto's `SWFResponse` methods, plus the ones moto lacks or breaks.

`EngineResponse.call` takes an operation name (the part of `X-Amz-Target` after
`SimpleWorkflowService.`) and the raw body, and returns the JSON to send. It runs the
operation under the backend lock; moto's methods that are fine are used as they are. A poll
called with `may_wait` that finds nothing to take raises `PollWaits` instead of answering.
"""

from __future__ import annotations

import json
from typing import Any

from moto.swf.responses import SWFResponse

from swfbench import swf_model
from swfbench.engine.access import Caller, acting_as
from swfbench.engine.backend import EngineBackend
from swfbench.engine.exceptions import SerializationError, UnknownOperation
from swfbench.engine.validation import validate
from swfbench.engine.visibility import page, select_executions

# Every operation of SWF's model, mapped to its method on EngineResponse (moto's, or the
# engine's own below).
OPERATIONS: dict[str, str] = {
    name: "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    for name in swf_model.operation_names()
}

_CANCEL_REQUESTED = {True: '{"cancelRequested": true}', False: '{"cancelRequested": false}'}


class EngineResponse(SWFResponse):
    """moto's SWF response handler; each call names the backend (the region's) it runs on."""

    def __init__(self) -> None:
        super().__init__()
        self._backend: EngineBackend | None = None
        self._request_params: dict[str, Any] = {}
        self._may_wait = False

    @property
    def swf_backend(self) -> EngineBackend:
        assert self._backend is not None, "call() sets the backend"
        return self._backend

    @property
    def _params(self) -> Any:
        # moto re-parses the body on every access; the engine parses it once per call.
        return self._request_params

    def call(
        self,
        operation: str,
        body: bytes,
        backend: EngineBackend,
        caller: Caller | None = None,
        *,
        may_wait: bool = False,
    ) -> str:
        """Run `operation` with the JSON `body` on `backend`; raises moto's SWFClientError
        faults, and SerializationError or ValidationError for a request SWF's model refuses.
        With a `caller` (an engine started with --auth), the call is first authorized as that
        caller. With `may_wait`, a poll with nothing to take raises PollWaits."""
        method = OPERATIONS.get(operation)
        if method is None:
            raise UnknownOperation()
        try:
            params = json.loads(body) if body else {}
        except (ValueError, RecursionError):
            # Not JSON, or nested too deep to parse (a 100,000-deep body): coral's parser
            # refuses it before any member is read.
            raise SerializationError() from None
        validate(operation, params)
        with backend.lock:
            self._backend = backend
            self._request_params = params
            self._may_wait = may_wait
            if caller is None:
                result: str = getattr(self, method)()
                return result
            with acting_as(caller, backend, operation, params):
                result = getattr(self, method)()
                return result

    # --- operations moto lacks or breaks ----------------------------------------------------

    def poll_for_decision_task(self) -> str:
        params = self._params
        decision = self.swf_backend.poll_for_decision_task(
            params["domain"],
            params["taskList"]["name"],
            identity=params.get("identity"),
            may_wait=self._may_wait,
        )
        if decision is None:
            return json.dumps({"previousStartedEventId": 0, "startedEventId": 0})
        return json.dumps(decision.to_full_dict(reverse_order=params.get("reverseOrder")))

    def poll_for_activity_task(self) -> str:
        params = self._params
        task = self.swf_backend.poll_for_activity_task(
            params["domain"],
            params["taskList"]["name"],
            identity=params.get("identity"),
            may_wait=self._may_wait,
        )
        if task is None:
            return json.dumps({"startedEventId": 0})
        return json.dumps(task.to_full_dict())

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

    # --- visibility: every filter, the documented order, pages (see `visibility`) -------------

    def _list_executions(self, *, closed: bool) -> str:
        params = self._params
        executions = self.swf_backend.executions_of(params["domain"])
        chosen, token = page(select_executions(executions, params, closed=closed), params)
        body: dict[str, Any] = {"executionInfos": [e.to_list_dict() for e in chosen]}
        if token is not None:
            body["nextPageToken"] = token
        return json.dumps(body)

    def _count_executions(self, *, closed: bool) -> str:
        params = self._params
        executions = self.swf_backend.executions_of(params["domain"])
        count = len(select_executions(executions, params, closed=closed))
        return json.dumps({"count": count, "truncated": False})

    def list_open_workflow_executions(self) -> str:
        return self._list_executions(closed=False)

    def list_closed_workflow_executions(self) -> str:
        return self._list_executions(closed=True)

    def count_open_workflow_executions(self) -> str:
        return self._count_executions(closed=False)

    def count_closed_workflow_executions(self) -> str:
        return self._count_executions(closed=True)

    def list_domains(self) -> str:
        params = self._params
        domains = self.swf_backend.list_domains(
            params["registrationStatus"], reverse_order=bool(params.get("reverseOrder"))
        )
        chosen, token = page(list(domains), params)
        body: dict[str, Any] = {"domainInfos": [domain.to_short_dict() for domain in chosen]}
        if token is not None:
            body["nextPageToken"] = token
        return json.dumps(body)

    def _list_types(self, kind: str) -> str:
        params = self._params
        found = self.swf_backend.find_types(
            kind, params["domain"], params["registrationStatus"], params.get("name")
        )
        if params.get("reverseOrder"):
            found.reverse()
        chosen, token = page(found, params)
        body: dict[str, Any] = {"typeInfos": [t.to_medium_dict() for t in chosen]}
        if token is not None:
            body["nextPageToken"] = token
        return json.dumps(body)

    # --- deleting types ---------------------------------------------------------------------

    def _delete_type(self, kind: str) -> str:
        params = self._params
        given = params[f"{kind}Type"]
        self.swf_backend.delete_type(kind, params["domain"], given["name"], given["version"])
        return ""

    def delete_activity_type(self) -> str:
        return self._delete_type("activity")

    def delete_workflow_type(self) -> str:
        return self._delete_type("workflow")
