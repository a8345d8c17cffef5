"""Gates: thresholds on a results file's metrics, absolute or relative to a saved baseline.

A gates file is YAML mapping a metric's dotted path in the results' `metrics` tree to its limits:

    kind: load                                   # optional: the kind of results it applies to
    gates:
      heartbeat.latency.p99_ms: {max: 50}
      errors.ThrottlingException.ratio: {max: 0.01}
      heartbeat.rate_per_s: {min: 100}
      heartbeat.latency.p95_ms: {max_increase: 10%}   # against --baseline

Relative limits let CI catch regressions without absolute numbers that differ between machines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from swfbench.errors import UsageError
from swfbench.inputs import load_yaml, shown
from swfbench.results import RunStatus

ABSOLUTE = ("max", "min")
STATUS = "status"
STATUS_METRIC = "run.status"
"""The gate every run must pass before its figures mean anything: it ended complete, nothing
is missing, and it checked something (see `results.RunStatus`)."""
RELATIVE = ("max_increase", "max_decrease")
PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
ERROR_METRIC = re.compile(r"^errors\.([\w\-]+)\.(?:count|ratio)$")
COMMON_ERROR_CODES = frozenset(
    {
        # Errors every AWS JSON service may answer (AWS's list of common errors); SWF throttles
        # with ThrottlingException ("Rate exceeded").
        *("AccessDeniedException", "ExpiredTokenException", "IncompleteSignature"),
        *(
            "InternalFailure",
            "InvalidAction",
            "InvalidClientTokenId",
            "InvalidParameterCombination",
        ),
        *("InvalidParameterValue", "InvalidQueryParameter", "InvalidSignatureException"),
        *("MalformedQueryString", "MissingAction", "MissingAuthenticationToken"),
        *("MissingParameter", "NotAuthorized", "OptInRequired", "RequestExpired"),
        *("ServiceUnavailable", "Throttling", "ThrottlingException", "UnrecognizedClientException"),
        *("ValidationError", "ValidationException", "SerializationException"),
        # How AWS JSON 1.0 services name the signature failures (the engine with --auth too).
        *("IncompleteSignatureException", "MissingAuthenticationTokenException"),
        # What swfbench records for calls without an AWS error code, and for an exception
        # inside a simulated worker.
        *("ConnectionError", "ConnectTimeout", "ReadTimeout", "MalformedResponse"),
        "WorkerError",
    }
)
"""Error codes a gate may name before they have occurred (with SWF's own faults from botocore)."""


@dataclass(frozen=True)
class Gate:
    metric: str
    kind: str
    """One of max, min, max_increase, max_decrease."""
    limit: float
    """An absolute bound, or a fraction of the baseline for relative kinds (0.1 = 10%)."""

    @property
    def relative(self) -> bool:
        return self.kind in RELATIVE

    def describe(self) -> str:
        if self.kind == STATUS:
            return "= complete"
        if self.kind == "max":
            return f"<= {self.limit:g}"
        if self.kind == "min":
            return f">= {self.limit:g}"
        direction = "rise" if self.kind == "max_increase" else "fall"
        return f"{direction} <= {self.limit:.0%} vs baseline"


@dataclass(frozen=True)
class Verdict:
    gate: Gate
    value: float
    baseline: float | None
    passed: bool
    text: str | None = None
    """The value as words, where it is not a number (the run status)."""

    @property
    def shown(self) -> str:
        return self.text if self.text is not None else f"{self.value:g}"

    @property
    def known(self) -> bool:
        return not math.isnan(self.value)

    @property
    def name(self) -> str:
        return f"{self.gate.metric} {self.gate.describe()}"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        match = PERCENT.match(value) if isinstance(value, str) else None
        if match is None:
            raise UsageError(
                f"{where}: expected a number or a percentage like 10%, got {shown(value)}"
            )
        number = float(match.group(1)) / 100
    else:
        number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"{where}: {shown(value)} is not a finite number")
    return number


def parse_gates(document: Any, source: str) -> tuple[str | None, list[Gate]]:
    """The results kind the gates apply to (if stated) and the gates, checked."""
    if not isinstance(document, Mapping) or not isinstance(document.get("gates"), Mapping):
        raise UsageError(
            f"{source}: expected a mapping with a `gates:` mapping of metric to limits"
        )
    unknown = sorted(set(document) - {"kind", "gates"})
    if unknown:
        raise UsageError(f"{source}: unknown key {shown(unknown[0])}: expected kind and gates")
    gates = []
    for metric, limits in document["gates"].items():
        where = f"{source}: gate {metric}"
        if not isinstance(metric, str) or not re.fullmatch(r"[\w\-]+(\.[\w\-]+)*", metric):
            raise UsageError(
                f"{source}: {shown(metric)} is not a dotted metric path like "
                "heartbeat.latency.p99_ms"
            )
        if not isinstance(limits, Mapping) or not limits:
            raise UsageError(f"{where}: expected limits like {{max: 50}}, got {shown(limits)}")
        for kind, value in limits.items():
            if kind not in ABSOLUTE + RELATIVE:
                raise UsageError(
                    f"{where}: unknown limit {shown(kind)}: use one of "
                    f"{', '.join(ABSOLUTE + RELATIVE)}"
                )
            limit = _number(value, f"{where} {kind}")
            if kind in RELATIVE and limit < 0:
                raise UsageError(f"{where} {kind}: a relative limit cannot be negative")
            gates.append(Gate(metric, kind, limit))
    kind = document.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise UsageError(f"{source}: kind must be a string such as load or conformance")
    return kind, gates


def load_gates(path: Path) -> tuple[str | None, list[Gate]]:
    return parse_gates(load_yaml(path), str(path))


def flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every numeric leaf of a metrics tree, by dotted path."""
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, f"{path}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield path, float(value)


def unknown_metrics(tree: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Metrics a results file has but could not measure (null): the audit failed, nothing was
    due. A gate on one fails: it cannot be shown to hold."""
    found: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, Mapping):
            found |= unknown_metrics(value, f"{prefix}{key}.")
        elif value is None:
            found.add(f"{prefix}{key}")
    return found


def unknown_verdict(gate: Gate, why: str) -> Verdict:
    return Verdict(gate, math.nan, None, False, f"unknown ({why})")


def known_error_code(code: str) -> bool:
    """An error code SWF, AWS or swfbench can report: SWF's faults (botocore's model of the API),
    AWS's common errors, swfbench's own, or HTTP<status> for an answer without a code."""
    if code in COMMON_ERROR_CODES or re.fullmatch(r"HTTP\d{3}", code):
        return True
    import botocore.session  # costly: only for a code that is not common

    model = botocore.session.get_session().get_service_model("swf")
    return code in {shape.name for shape in model.error_shapes}


def value_of(gate: Gate, values: Mapping[str, float], results_kind: Any, source: str) -> float:
    """The gate's metric in the results; a usage error when they lack it.

    A load (or capacity) run lists only the error codes that occurred, so a gate on another code
    sees zero: `errors.ThrottlingException.ratio: {max: 0.01}` holds for a run never throttled.
    """
    if gate.metric in values:
        return values[gate.metric]
    match = ERROR_METRIC.match(gate.metric)
    if results_kind in ("load", "capacity") and match and match.group(1) != "total":
        if known_error_code(match.group(1)):
            return 0.0
        raise UsageError(
            f"gate {gate.metric}: {match.group(1)} is not an error code SWF, AWS or swfbench "
            "reports (e.g. ThrottlingException, UnknownResourceFault, ConnectionError, HTTP500)"
        )
    close = [m for m in values if m.split(".")[0] == gate.metric.split(".")[0]][:5]
    hint = f"; metrics here include {', '.join(close)}" if close else ""
    raise UsageError(f"{source} has no metric {gate.metric}{hint}")


def judge(gate: Gate, value: float, reference: float | None) -> Verdict:
    """The verdict of one gate on one value (and the baseline's value for relative kinds)."""
    if gate.kind == "max":
        return Verdict(gate, value, None, value <= gate.limit)
    if gate.kind == "min":
        return Verdict(gate, value, None, value >= gate.limit)
    assert reference is not None
    if gate.kind == "max_increase":
        passed = value <= reference * (1 + gate.limit) if reference >= 0 else value <= reference
    else:
        passed = value >= reference * (1 - gate.limit)
    return Verdict(gate, value, reference, passed)


def metrics_of(results: Mapping[str, Any], source: str) -> dict[str, float]:
    metrics = results.get("metrics")
    if not isinstance(metrics, Mapping):
        raise UsageError(f"{source} has no metrics to gate (kind {results.get('kind')!r})")
    return dict(flatten(metrics))


def evaluate(
    gates: list[Gate],
    results: Mapping[str, Any],
    *,
    kind: str | None = None,
    baseline: Mapping[str, Any] | None = None,
    source: str = "results",
    allow_incomplete: bool = False,
) -> list[Verdict]:
    """Check every gate; a gate naming a metric the results lack is a usage error.

    The first verdict is always the run's status: a run that was interrupted, aborted, lacks a
    part (its audit, a Locust worker) or checked nothing fails it, so no figure of a partial run
    passes as a whole one's. `allow_incomplete` (the user's explicit --allow-incomplete) turns
    that failure into a pass that still names the status."""
    if kind is not None and results.get("kind") != kind:
        raise UsageError(
            f"{source} holds {results.get('kind')!r} results; these gates are for {kind!r} results"
        )
    values = metrics_of(results, source)
    base = metrics_of(baseline, "the baseline") if baseline is not None else None
    if baseline is not None and baseline.get("kind") != results.get("kind"):
        raise UsageError(
            f"the baseline holds {baseline.get('kind')!r} results, not {results.get('kind')!r}"
        )
    verdicts = [status_verdict(results, allow_incomplete=allow_incomplete)]
    unknown = unknown_metrics(results["metrics"])
    base_unknown = unknown_metrics(baseline["metrics"]) if baseline is not None else set()
    for gate in gates:
        if gate.relative and (base is None or baseline is None):
            raise UsageError(f"gate {gate.metric} {gate.kind} needs a baseline: pass --baseline")
        if gate.metric in unknown:
            verdicts.append(unknown_verdict(gate, "not measured in this run"))
            continue
        value = value_of(gate, values, results.get("kind"), source)
        reference = None
        if gate.relative:
            assert base is not None and baseline is not None
            if gate.metric in base_unknown:
                verdicts.append(unknown_verdict(gate, "not measured in the baseline"))
                continue
            reference = value_of(gate, base, baseline.get("kind"), "the baseline")
        verdicts.append(judge(gate, value, reference))
    return verdicts


def status_verdict(results: Mapping[str, Any], *, allow_incomplete: bool = False) -> Verdict:
    """The run-status gate (see `STATUS_METRIC`)."""
    status = RunStatus.of(dict(results))
    text = status.describe()
    if not status.whole and allow_incomplete:
        text += " (allowed by --allow-incomplete)"
    return Verdict(
        Gate(STATUS_METRIC, STATUS, 1.0),
        1.0 if status.whole else 0.0,
        None,
        status.whole or allow_incomplete,
        text,
    )


def verdicts_to_dict(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """Verdicts as they are kept in a results file and shown in its report."""
    return [
        {
            "metric": v.gate.metric,
            "kind": v.gate.kind,
            "limit": v.gate.limit,
            "limit_text": v.gate.describe(),
            "value": v.value if v.known else None,
            "value_text": v.shown,
            "baseline": v.baseline,
            "passed": v.passed,
        }
        for v in verdicts
    ]


def render_table(verdicts: list[Verdict]) -> str:
    rows = [("metric", "limit", "value", "baseline", "verdict")]
    for v in verdicts:
        baseline = "" if v.baseline is None else f"{v.baseline:g}"
        rows.append(
            (
                v.gate.metric,
                v.gate.describe(),
                v.shown,
                baseline,
                "pass" if v.passed else "FAIL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def junit_xml(verdicts: list[Verdict]) -> str:
    failures = sum(not v.passed for v in verdicts)
    suite = ElementTree.Element(
        "testsuite", name="swfbench gates", tests=str(len(verdicts)), failures=str(failures)
    )
    for v in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname="gates", name=v.name)
        if not v.passed:
            failure = ElementTree.SubElement(
                case, "failure", message=f"{v.gate.metric} = {v.shown}"
            )
            failure.text = f"limit {v.gate.describe()}, value {v.shown}" + (
                "" if v.baseline is None else f", baseline {v.baseline:g}"
            )
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
