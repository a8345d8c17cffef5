"""Fleet profiles: YAML files describing a fleet of simulated activity workers.

A profile is validated by `schemas/load_profile.json` before anything runs; a mistake becomes one
`UsageError` line naming the file and the field (exit 252).
"""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema

from swfbench.activity import ActivityTimeouts, Timeout
from swfbench.errors import UsageError
from swfbench.inputs import load_yaml
from swfbench.timeouts import ClientTimeouts

Outcome = Literal["complete", "fail", "silent", "cancel"]
OUTCOMES: tuple[Outcome, ...] = ("complete", "fail", "silent", "cancel")
SendMode = Literal["fast", "boto3"]
DETAILS_MAX = 2048
"""SWF's `LimitedData`: heartbeat details are at most 2048 characters (fact sheet, "The call")."""
MULTIBYTE_ALPHABET = "é漢字ßΩж🚀ü中文ñ€"
LOAD_DOMAIN = "swfbench-load"
DEFAULT_SENDERS = 200
"""Senders when the profile names none (and the fleet is larger): a simulated worker is due a
few hundred times a second per sender at most before lag shows; see the README's fleet scale."""


def _schema() -> dict[str, Any]:
    text = resources.files("swfbench").joinpath("schemas/load_profile.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, kw_only=True)
class Distribution:
    """A duration in seconds drawn per use: constant, uniform mean ± jitter, or exponential."""

    kind: Literal["constant", "uniform", "exponential"] = "constant"
    mean_s: float = 1.0
    jitter_s: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            return rng.uniform(self.mean_s - self.jitter_s, self.mean_s + self.jitter_s)
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean_s)
        return self.mean_s


@dataclass(frozen=True, kw_only=True)
class DetailsSpec:
    """What each heartbeat carries in `details` (at most 2048 characters)."""

    kind: Literal["none", "progress", "json", "random", "multibyte", "fixed"] = "progress"
    size: int = 256
    """Characters of JSON for `json`."""
    max_length: int = DETAILS_MAX
    """Upper bound of the random length for `random`."""
    length: int = 64
    """Characters (not bytes) for `multibyte`."""
    text: str = ""

    def make(self, progress: float, rng: random.Random) -> str | None:
        if self.kind == "none":
            return None
        if self.kind == "progress":
            return f"{progress:.1f}%"
        if self.kind == "json":
            head = json.dumps({"progress": round(progress, 1), "pad": ""})
            pad = max(0, self.size - len(head))
            return json.dumps({"progress": round(progress, 1), "pad": "x" * pad})
        if self.kind == "random":
            size = rng.randint(0, self.max_length)
            return "".join(rng.choices(string.ascii_letters, k=size))
        if self.kind == "multibyte":
            return "".join(rng.choices(MULTIBYTE_ALPHABET, k=self.length))
        return self.text


@dataclass(frozen=True, kw_only=True)
class Shape:
    """Workers over time, for Locust's LoadTestShape: ramp, steps or spike."""

    kind: Literal["ramp", "steps", "spike"]
    start: int = 0
    end: int = 0
    duration_s: float = 1.0
    spawn_rate: float = 10.0
    base: int = 0
    peak: int = 0
    at_s: float = 0.0
    steps: tuple[tuple[int, float], ...] = ()

    @property
    def peak_workers(self) -> int:
        """The most workers the shape ever asks for."""
        if self.kind == "ramp":
            return max(self.start, self.end)
        if self.kind == "spike":
            return max(self.base, self.peak)
        return max(workers for workers, _ in self.steps)

    def scaled(self, peak: int) -> Shape:
        """The same shape with its peak at `peak` workers, every count in proportion."""
        factor = peak / self.peak_workers if self.peak_workers else 0.0

        def scale(workers: int) -> int:
            return round(workers * factor)

        return replace(
            self,
            start=scale(self.start),
            end=scale(self.end),
            base=scale(self.base),
            peak=scale(self.peak) if self.kind == "spike" else self.peak,
            steps=tuple((scale(workers), duration) for workers, duration in self.steps),
        )

    def workers_at(self, elapsed_s: float) -> int:
        if self.kind == "ramp":
            share = min(1.0, elapsed_s / self.duration_s)
            return round(self.start + (self.end - self.start) * share)
        if self.kind == "spike":
            in_spike = self.at_s <= elapsed_s < self.at_s + self.duration_s
            return self.peak if in_spike else self.base
        passed = 0.0
        for workers, duration in self.steps:
            passed += duration
            if elapsed_s < passed:
                return workers
        return self.steps[-1][0]


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One validated fleet profile."""

    name: str
    path: str
    description: str = ""
    domain: str = LOAD_DOMAIN
    run_time_s: float = 30.0
    send_mode: SendMode = "fast"
    identity: str | None = None
    """With --auth FILE, the identity the fleet signs as (the `--identity` flag overrides it)."""
    workers: int = 10
    spawn_rate: float = 10.0
    shape: Shape | None = None
    senders_wanted: int | None = None
    """`fleet.senders`; see `senders`."""
    interval: Distribution = field(default_factory=Distribution)
    synchronized_start: bool = False
    details: DetailsSpec = field(default_factory=DetailsSpec)
    duration: Distribution = field(default_factory=lambda: Distribution(mean_s=5.0))
    timeouts: ActivityTimeouts = field(default_factory=lambda: ActivityTimeouts(heartbeat=10))
    outcomes: tuple[tuple[Outcome, float], ...] = (("complete", 1.0),)
    cancel_obey: float = 1.0
    """Share of cancel-requested workers that answer RespondActivityTaskCanceled."""
    cancel_after: float = 0.5
    """When the decider asks for cancellation, as a share of the planned duration."""
    cancel_propagation_wait_s: float = 5.0
    """How long a worker keeps heartbeating for a requested cancellation before calling it lost."""
    timeout_slack_s: float = 5.0
    """A silent task still open this long past its deadline is a missed timeout."""
    client_timeouts: ClientTimeouts = field(default_factory=ClientTimeouts)
    """Connect and read timeouts of every SWF call (`client:`; flags override them)."""

    @property
    def max_workers(self) -> int:
        """The fleet's peak: its workers, or its shape's largest count."""
        return self.workers if self.shape is None else self.shape.peak_workers

    @property
    def spawn_rate_now(self) -> float:
        """Workers started per second: the constant fleet's, or its shape's."""
        return self.shape.spawn_rate if self.shape is not None else self.spawn_rate

    def overridden(self, overrides: FleetOverrides) -> Profile:
        """This profile with Locust's -u, -r and -t applied (see `FleetOverrides`)."""
        profile = self
        if overrides.users is not None:
            if profile.shape is None:
                profile = replace(profile, workers=overrides.users)
            else:
                profile = replace(profile, shape=profile.shape.scaled(overrides.users))
        if overrides.spawn_rate is not None:
            shape = profile.shape and replace(profile.shape, spawn_rate=overrides.spawn_rate)
            profile = replace(profile, spawn_rate=overrides.spawn_rate, shape=shape)
        if overrides.run_time_s is not None:
            profile = replace(profile, run_time_s=overrides.run_time_s)
        return profile

    @property
    def senders(self) -> int:
        """Locust users sending for the fleet: the profile's figure, else one per simulated
        worker up to DEFAULT_SENDERS."""
        return self.senders_wanted or max(1, min(self.max_workers, DEFAULT_SENDERS))

    def pick_outcome(self, rng: random.Random) -> Outcome:
        names = [name for name, _ in self.outcomes]
        weights = [weight for _, weight in self.outcomes]
        return rng.choices(names, weights=weights)[0]


@dataclass(frozen=True, kw_only=True)
class FleetOverrides:
    """Locust's -u, -r and -t, and `swfbench load`'s --users, --spawn-rate and --run-time:
    they override the profile's fleet, as Locust users expect. `users` is the fleet's size (its
    peak: a shaped fleet keeps its shape, scaled), `spawn_rate` workers started per second,
    `run_time_s` when the run ends; None leaves the profile's."""

    users: int | None = None
    spawn_rate: float | None = None
    run_time_s: float | None = None

    def __bool__(self) -> bool:
        return (self.users, self.spawn_rate, self.run_time_s) != (None, None, None)

    def describe(self, profile: Profile) -> str:
        """One line: the fleet as it runs, and what set it."""
        effective = profile.overridden(self)
        parts = [f"{effective.max_workers} workers" + (" (peak)" if profile.shape else "")]
        parts.append(f"{effective.spawn_rate_now:g}/s spawned")
        parts.append(f"{effective.run_time_s:g} s")
        given = [
            name
            for name, value in (
                ("size", self.users),
                ("spawn rate", self.spawn_rate),
                ("run time", self.run_time_s),
            )
            if value is not None
        ]
        listed = ", ".join(given[:-1]) + " and " + given[-1] if len(given) > 1 else "".join(given)
        source = f" ({listed} overridden; profile {profile.name})" if given else ""
        return f"fleet: {', '.join(parts)}{source}"


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator in ("maximum", "maxLength") and _where(error).startswith(
        "heartbeat.details"
    ):
        return f"{error.message}: SWF heartbeat details are at most {DETAILS_MAX} characters"
    return str(error.message)


def _fail(path: str, where: str, message: str) -> UsageError:
    return UsageError(f"{path}: {where}: {message}")


def _non_finite(data: Any, where: str = "") -> str | None:
    """The path of the first number that is not finite (YAML's .inf, .nan), if any: the schema
    takes them as numbers, and they would only fail inside the workers, mid-run."""
    if isinstance(data, float) and not math.isfinite(data):
        return where or "(top level)"
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        found = _non_finite(value, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def _timeout(value: Any) -> Timeout:
    return "NONE" if value == "NONE" else int(value)


def _distribution(data: dict[str, Any], path: str, where: str) -> Distribution:
    dist = Distribution(
        kind=data.get("distribution", "constant"),
        mean_s=float(data["mean_s"]),
        jitter_s=float(data.get("jitter_s", 0.0)),
    )
    if dist.kind == "uniform" and dist.jitter_s >= dist.mean_s:
        raise _fail(path, f"{where}.jitter_s", "must be less than mean_s (no zero or negative)")
    if dist.kind != "uniform" and "jitter_s" in data:
        raise _fail(path, f"{where}.jitter_s", "only applies to distribution: uniform")
    return dist


def _shape(data: dict[str, Any], path: str) -> Shape:
    kind = data["kind"]
    needed = {"ramp": ("end", "duration_s"), "spike": ("peak", "at_s", "duration_s")}.get(
        kind, ("steps",)
    )
    for key in needed:
        if key not in data:
            raise _fail(path, f"fleet.shape.{key}", f"required for kind {kind}")
    return Shape(
        kind=kind,
        start=int(data.get("start", 0)),
        end=int(data.get("end", 0)),
        duration_s=float(data.get("duration_s", 1.0)),
        spawn_rate=float(data.get("spawn_rate", 10.0)),
        base=int(data.get("base", 0)),
        peak=int(data.get("peak", 0)),
        at_s=float(data.get("at_s", 0.0)),
        steps=tuple((int(s["workers"]), float(s["duration_s"])) for s in data.get("steps", ())),
    )


def parse_profile(data: Any, path: str) -> Profile:
    """Validate a loaded YAML document and build the profile; errors name `path` and the field."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a fleet profile is a mapping of keys, got {type(data).__name__}")
    infinite = _non_finite(data)
    if infinite is not None:
        raise _fail(path, infinite, "must be a finite number, not .inf or .nan")
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise _fail(path, _where(error), _describe(error))
    fleet = data.get("fleet", {})
    heartbeat = data.get("heartbeat", {})
    activity = data.get("activity", {})
    cancel = data.get("cancel", {})
    timeouts = {k: _timeout(v) for k, v in activity.get("timeouts", {}).items()}
    outcomes = tuple((name, float(data.get("outcomes", {}).get(name, 0))) for name in OUTCOMES)
    if "outcomes" in data:
        outcomes = tuple((n, w) for n, w in outcomes if w > 0)
        if not outcomes:
            raise _fail(path, "outcomes", "at least one outcome needs a weight above 0")
    else:
        outcomes = (("complete", 1.0),)
    details = heartbeat.get("details", {"kind": "progress"})
    if (
        dict(outcomes).get("silent")
        and timeouts.get("heartbeat", 10) == "NONE"
        and timeouts.get("start_to_close", 300) == "NONE"
    ):
        raise _fail(path, "outcomes.silent", "needs a heartbeat or start_to_close timeout")
    return Profile(
        name=data["name"],
        path=path,
        description=data.get("description", ""),
        domain=data.get("domain", LOAD_DOMAIN),
        run_time_s=float(data.get("run_time_s", 30.0)),
        send_mode=data.get("send_mode", "fast"),
        identity=data.get("identity"),
        workers=int(fleet.get("workers", 10)),
        spawn_rate=float(fleet.get("spawn_rate", 10.0)),
        shape=_shape(fleet["shape"], path) if "shape" in fleet else None,
        senders_wanted=int(fleet["senders"]) if "senders" in fleet else None,
        interval=_distribution(
            heartbeat.get("interval", {"mean_s": 1.0}), path, "heartbeat.interval"
        ),
        synchronized_start=bool(heartbeat.get("synchronized_start", False)),
        details=DetailsSpec(**details),
        duration=_distribution(
            activity.get("duration", {"mean_s": 5.0}), path, "activity.duration"
        ),
        timeouts=ActivityTimeouts(**{"heartbeat": 10, **timeouts}),
        outcomes=outcomes,
        cancel_obey=float(cancel.get("obey", 1.0)),
        cancel_after=float(cancel.get("after", 0.5)),
        cancel_propagation_wait_s=float(cancel.get("propagation_wait_s", 5.0)),
        timeout_slack_s=float(data.get("timeout_slack_s", 5.0)),
        client_timeouts=ClientTimeouts(
            **{
                key.replace("_timeout_s", "_s"): float(value)
                for key, value in data.get("client", {}).items()
            }
        ),
    )


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file (read as `swfbench.inputs` reads every input)."""
    return parse_profile(load_yaml(Path(path), str(path)), str(path))


def percent(part: float, whole: float) -> float:
    return 100.0 if whole <= 0 else max(0.0, min(100.0, 100.0 * part / whole))
