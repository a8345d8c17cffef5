"""Conformance: YAML scenarios that state what real SWF promises about heartbeats, run as pytest
items against any target, each outcome compared with the target's known deviations."""

from swfbench.conformance.deviations import KnownDeviations, Outcome, load_deviations
from swfbench.conformance.runner import ScenarioResult, StepResult, run_scenario
from swfbench.conformance.scenario import Scenario, ScenarioFileError, Step, load_scenario
from swfbench.conformance.session import ConformanceOptions, ConformanceSession

__all__ = [
    "ConformanceOptions",
    "ConformanceSession",
    "KnownDeviations",
    "Outcome",
    "Scenario",
    "ScenarioFileError",
    "ScenarioResult",
    "Step",
    "StepResult",
    "load_deviations",
    "load_scenario",
    "run_scenario",
]
