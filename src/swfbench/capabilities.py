"""What a target offers beyond SWF's API, named as conformance scenarios `requires:` them.

- `quotas`: the engine throttles heartbeats with SWF's token buckets: its admin endpoint
  `GET /swfbench/engine` reports non-null `quotas` (`swfbench conform --quotas aws`).
- `virtual_clock`: the engine's time moves only when told (`swfbench conform --clock virtual`).
- `signatures`: the target verifies SigV4 signatures: real SWF, and the engine when its admin
  endpoint reports non-null `auth` (`swfbench conform --auth FILE`).

Real SWF is never probed and has only `signatures`: a quota scenario bursts heartbeats until
the account's bucket is empty, which would throttle the user's production workers. Endpoints
without the admin endpoint (plain moto, other emulators) have none.

Identities are not a capability: a scenario that signs as a named identity runs where the run
was given that identity (`--auth FILE`, or `--restricted-profile NAME` with `--aws`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from swfbench.target import Target

ENGINE_PATH = "/swfbench/engine"
PROBE_TIMEOUT_S = 10.0
HOW_TO_GET = {
    "quotas": "a target with quotas (swfbench conform --quotas aws)",
    "virtual_clock": "a target with a virtual clock (swfbench conform --clock virtual)",
    "signatures": "a target that verifies signatures (the engine with --auth FILE, e.g. "
    "swfbench conform --auth conformance/access/auth.yaml; or real SWF)",
}
IDENTITIES_HOW = (
    "an --auth FILE that defines them (conformance/access/auth.yaml does); with --aws, "
    "--restricted-profile NAME is the identity 'restricted'"
)
NEVER_ON_AWS = {
    "quotas": "never run against real SWF: bursting heartbeats would throttle the account's "
    "production workers",
}


def engine_info(target: Target) -> dict[str, Any] | None:
    """The answer of the target's `GET /swfbench/engine`, or None (real SWF is not asked)."""
    if target.kind == "aws" or target.endpoint_url is None:
        return None
    request = urllib.request.Request(target.endpoint_url.rstrip("/") + ENGINE_PATH, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None  # no admin endpoint: another emulator, or plain moto
    return answer if isinstance(answer, dict) else None


def target_capabilities(target: Target, *, virtual_clock: bool = False) -> frozenset[str]:
    """The capabilities of `target`; `virtual_clock` says whether its clock was found virtual."""
    if target.kind == "aws":
        return frozenset({"signatures"})
    found = set()
    info = engine_info(target)
    if info is not None and isinstance(info.get("quotas"), dict):
        found.add("quotas")
    if info is not None and isinstance(info.get("auth"), dict):
        found.add("signatures")
    if virtual_clock:
        found.add("virtual_clock")
    return frozenset(found)


def missing(
    requires: Iterable[str], capabilities: frozenset[str], *, target_kind: str | None
) -> str | None:
    """Why a scenario that requires `requires` cannot run on the target, or None if it can."""
    lacking = [name for name in requires if name not in capabilities]
    if not lacking:
        return None
    reasons = []
    for name in lacking:
        reason = f"needs {HOW_TO_GET.get(name, name)}"
        if target_kind == "aws" and name in NEVER_ON_AWS:
            reason += f"; {NEVER_ON_AWS[name]}"
        reasons.append(reason)
    return "; ".join(reasons)


def missing_identities(wanted: Iterable[str], available: Iterable[str]) -> str | None:
    """Why a scenario that signs as `wanted` identities cannot run, or None if it can."""
    have = set(available)
    lacking = [name for name in wanted if name not in have]
    if not lacking:
        return None
    names = ", ".join(repr(name) for name in lacking)
    known = ", ".join(sorted(have)) if have else "none"
    return (
        f"needs identit{'y' if len(lacking) == 1 else 'ies'} {names} (the run has {known}): "
        f"give {IDENTITIES_HOW}"
    )
