"""The extended engine: moto's SWF, kept to SWF's heartbeat promises and fast at fleet scale.

Run it with ``python -m swfbench.engine --host 127.0.0.1 --port P [--quotas none|aws]
[--clock real|virtual] [--auth FILE] [--max-closed-executions N] [--max-connections N]
[--idle-timeout S]``; `swfbench.engine.server` documents the admin endpoints (virtual clock,
engine info).

How it is built, one module per concern:

- `models`: subclasses of moto's SWF models (domain, workflow execution, tasks, history
  events) that read the engine clock, index tasks by token and task list, and add what moto
  lacks: RequestCancelActivityTask, ActivityTaskCanceled, WorkflowExecutionCancelRequested,
  and the START_TO_CLOSE, SCHEDULE_TO_START and SCHEDULE_TO_CLOSE activity timeouts.
- `backend`: a subclass of moto's `SWFBackend`. Timeouts come off a deadline heap
  (`deadlines`) instead of moto's scan of every task on every call; a background sweeper
  fires them on the real clock even when nobody calls, and each event is stamped at its
  deadline. Pollers with nothing to take wait on a condition, not holding the lock.
- `responses`: moto's `SWFResponse`, run on the backend of the call's region, with every
  operation of SWF's model; the ones moto lacks or breaks are the engine's own (heartbeat,
  RespondActivityTaskCanceled, RequestCancelWorkflowExecution, signals without input, the
  visibility calls of `visibility`, deleting types). `validation` checks each request
  against botocore's model first, as SWF's front end does.
- `regions`: one backend per region, picked by the SigV4 credential scope; moto's
  `/moto-api/reset` forgets them all.
- `quotas`: SWF's token buckets for heartbeats (``--quotas aws``).
- `clock`: real or virtual time, passed in; no module-level mutable state.
- `server`: an SWF-only HTTP server on one event loop that skips moto's generic dispatch and
  holds polls with nothing to take; `connections` bounds its connections, closes idle ones and refuses past the bound (or out
  of file descriptors) with HTTP 503; `limits` holds the defaults of both.
- `command`: ``swfbench serve``, the engine in the foreground for other tools.
- `auth`, `policy`, `access` (``--auth FILE`` only): SigV4 verification with botocore's signer,
  IAM policy evaluation, and SWF's access model (domain resources, condition keys, decisions
  that fail with OPERATION_NOT_PERMITTED).

Closed executions are kept for their domain's retention period on the engine clock and at
most ``--max-closed-executions`` of them, then forgotten (`backend`), so memory stays flat
however long the engine runs (``benchmarks/engine_soak.py``).

Deliberate choices where SWF's behaviour is not known: a token the engine never issued answers
moto's ``ValidationException: Invalid token`` (the fact sheet grades SWF's answer unknown), so
both engines agree there; an activity id counts as in use once any task of the execution had
it, as in moto.
"""

from swfbench.engine.version import TESTED_MOTO_VERSIONS, UnsupportedMotoVersion, check_moto_version

__all__ = ["TESTED_MOTO_VERSIONS", "UnsupportedMotoVersion", "check_moto_version"]
