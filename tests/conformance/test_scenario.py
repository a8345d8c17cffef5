"""Scenario files: validation with file and line, reference checks, templating."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from swfbench.conformance.scenario import (
    ScenarioFileError,
    is_scenario_path,
    load_scenario,
    scenario_id,
)
from swfbench.conformance.templating import TemplateError, render, render_pattern
from swfbench.errors import ExitCode


def _write(tmp_path: Path, text: str, name: str = "area/name") -> Path:
    path = tmp_path / "scenarios" / "conformance" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


HEAD = """
    description: d
    evidence: [{grade: documented, ref: r}]
    steps:
      - start_activity: {as: a}
"""


def _error(tmp_path: Path, text: str) -> ScenarioFileError:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value).startswith(f"{path}:")
    return caught.value


def test_a_valid_file_loads_with_id_lines_and_sources(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEAD
        + """
      - repeat: {times: 2, every: 1}
        heartbeat: {task: a, details: "step {{ i }}"}
        expect: {cancelRequested: false}
    """,
    )
    scenario = load_scenario(path)
    assert scenario.id == "area/name"
    assert [s.action for s in scenario.steps] == ["start_activity", "heartbeat"]
    assert [s.line for s in scenario.steps] == [4, 6]
    assert scenario.steps[1].repeat == {"times": 2, "every": 1}
    assert "step {{ i }}" in scenario.steps[1].source


def test_unknown_key_names_its_line(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "      - heartbeat: {task: a}\n        expct: {}\n")
    assert error.line == 6
    assert "unknown key 'expct'" in error.what


def test_wrong_value_names_its_line(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "      - sleep: {seconds: -1}\n")
    assert error.line == 5
    assert "sleep" in error.what


def test_bad_grade_names_its_line(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        """
        description: d
        evidence:
          - {grade: rumoured, ref: r}
        steps:
          - sleep: {seconds: 1}
        """,
    )
    assert error.line == 3
    assert "rumoured" in error.what


def test_two_actions_in_one_step(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "      - sleep: {seconds: 1}\n        heartbeat: {task: a}\n")
    assert error.line == 5
    assert "exactly one action" in error.what


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "      - heartbeat: {task: a\n")
    assert error.line is not None and error.line >= 5
    assert "not valid YAML" in error.what


def test_task_must_be_started_before(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "      - heartbeat: {task: b}\n")
    assert error.line == 5
    assert "no task named 'b'" in error.what


def test_placeholder_must_refer_to_something_defined(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + '      - heartbeat: {task: a, details: "{{ i }}"}\n')
    assert "{{ i }} refers to nothing" in error.what
    error = _error(tmp_path, HEAD + '      - heartbeat: {task: a, details: "{{ a.x "}\n')
    assert "malformed placeholder" in error.what


def test_only_files_under_scenarios_conformance_are_scenarios(tmp_path: Path) -> None:
    assert is_scenario_path(tmp_path / "scenarios" / "conformance" / "a" / "b.yaml")
    assert not is_scenario_path(tmp_path / "scenarios" / "load" / "b.yaml")
    assert not is_scenario_path(tmp_path / "tests" / "b.yaml")
    assert not is_scenario_path(tmp_path / "scenarios" / "conformance" / "a" / "b.py")
    assert scenario_id(tmp_path / "scenarios" / "conformance" / "a" / "b.yaml") == "a/b"


def test_templating_keeps_types_and_fills() -> None:
    context = {"i": 3, "a": {"scheduled_event_id": 5, "run_id": "r1"}}
    assert render("{{ a.scheduled_event_id }}", context) == 5
    assert render("step {{ i }} of {{a.run_id}}", context) == "step 3 of r1"
    assert render({"fill": "é日", "length": 5}, context) == "é日é日é"
    assert render([{"x": "{{ i }}"}], context) == [{"x": 3}]
    with pytest.raises(TemplateError, match="no field 'nope'"):
        render("{{ a.nope }}", context)
    with pytest.raises(TemplateError, match="nothing named 'b'"):
        render("{{ b }}", context)


def test_values_in_message_patterns_match_literally() -> None:
    context = {"a": {"run_id": "22B5+z/Q="}}
    pattern = render_pattern("^runId={{ a.run_id }}$", context)
    assert re.search(pattern, "runId=22B5+z/Q=")
    assert not re.search(pattern, "runId=22B55z/Q=")


def test_history_items_may_refer_to_events_captured_before_them() -> None:
    from swfbench.conformance.expect import check_history

    events = [
        {"eventId": 10, "eventType": "ActivityTaskCancelRequested"},
        {
            "eventId": 11,
            "eventType": "ActivityTaskCanceled",
            "activityTaskCanceledEventAttributes": {"latestCancelRequestedEventId": 10},
        },
    ]
    wanted = {
        "contains": [
            {"eventType": "ActivityTaskCancelRequested", "as": "requested"},
            {
                "eventType": "ActivityTaskCanceled",
                "attributes": {"latestCancelRequestedEventId": "{{ requested.eventId }}"},
            },
        ]
    }
    wrong, captured = check_history(events, wanted, {})
    assert wrong is None and captured["requested"]["eventId"] == 10
    # Until the first event exists, the second cannot match: a mismatch, not a template error.
    wrong, _ = check_history(events[1:], wanted, {})
    assert wrong is not None and "no ActivityTaskCancelRequested" in wrong


def _requiring(names: str) -> str:
    return HEAD.replace("    description", f"    requires: [{names}]\n    description", 1)


def test_requires_lists_capabilities(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, _requiring("quotas, virtual_clock")))
    assert scenario.requires == ("quotas", "virtual_clock")
    assert load_scenario(_write(tmp_path, HEAD, name="area/plain")).requires == ()
    error = _error(tmp_path, _requiring("unlimited_money"))
    assert error.line == 1
    assert "unlimited_money" in error.what


def test_until_error_needs_a_call_and_an_expected_error(tmp_path: Path) -> None:
    scenario = load_scenario(
        _write(
            tmp_path,
            HEAD
            + """
      - repeat: {times: 4000, until_error: true}
        heartbeat: {task: a}
        expect: {error: {code: ThrottlingException}}
    """,
        )
    )
    assert scenario.steps[1].repeat == {"times": 4000, "until_error": True}
    error = _error(
        tmp_path,
        HEAD + "      - repeat: {times: 3, until_error: true}\n        heartbeat: {task: a}\n",
    )
    assert (error.line, error.what) == (
        5,
        "until_error needs expect.error: the error that ends the repeat",
    )
    error = _error(
        tmp_path,
        HEAD
        + "      - repeat: {times: 3, until_error: true}\n        sleep: {seconds: 1}\n"
        + "        expect: {error: {code: X}}\n",
    )
    assert "until_error repeats a call" in error.what and "not sleep" in error.what


def test_after_and_interval_name_captured_events(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        HEAD
        + """
      - history: {task: a}
        expect:
          contains: [{eventType: ActivityTaskStarted, after: nothing}]
    """,
    )
    assert "no event captured as 'nothing'" in error.what
    error = _error(
        tmp_path,
        HEAD
        + """
      - history: {task: a}
        expect:
          contains: [{eventType: ActivityTaskStarted, as: started}]
          interval: {from: started, to: later}
    """,
    )
    assert "no event captured as 'later'" in error.what
    error = _error(
        tmp_path,
        HEAD
        + """
      - heartbeat: {task: a}
        expect: {interval: {from: a, to: a}}
    """,
    )
    assert error.what == "history expectations need a history step"


def test_decide_takes_swf_decisions(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEAD
        + """
      - decide: {task: a, decisions: [{decisionType: CompleteWorkflowExecution}]}
    """,
    )
    assert load_scenario(path).steps[1].action == "decide"
    error = _error(
        tmp_path,
        HEAD
        + """
      - decide: {task: a, decisions: [{}]}
    """,
    )
    assert "decisionType" in error.what


def test_history_items_after_absent_and_event_timestamps() -> None:
    from datetime import UTC, datetime

    from swfbench.conformance import expect

    def event(event_id: int, kind: str, at: float, **attributes: object) -> dict[str, object]:
        key = kind[0].lower() + kind[1:] + "EventAttributes"
        stamp = datetime.fromtimestamp(at, UTC)
        return {"eventId": event_id, "eventType": kind, "eventTimestamp": stamp, key: attributes}

    events = [
        event(1, "DecisionTaskScheduled", 100.0),
        event(2, "ActivityTaskTimedOut", 102.5, timeoutType="HEARTBEAT"),
        event(3, "DecisionTaskScheduled", 102.5),
    ]
    wanted = {
        "contains": [
            {"eventType": "DecisionTaskScheduled", "as": "first"},
            {"eventType": "ActivityTaskTimedOut", "absent": ["details"], "as": "closed"},
            {"eventType": "DecisionTaskScheduled", "after": "closed", "as": "next"},
        ]
    }
    wrong, captured = expect.check_history(events, wanted, {})
    assert wrong is None
    assert captured["next"]["eventId"] == 3
    assert expect.check_interval({"from": "first", "to": "closed", "max": 2}, captured, 1.0) is None
    late = expect.check_interval({"from": "first", "to": "closed", "max": 2}, captured, 0.0)
    assert late == (
        "2.500 s from DecisionTaskScheduled #1 to ActivityTaskTimedOut #2, expected at most "
        "2 s (+0.0 s slack)"
    )
    events[1]["activityTaskTimedOutEventAttributes"]["details"] = ""  # type: ignore[index]
    wrong, _ = expect.check_history(events, wanted, {})
    assert wrong == "no ActivityTaskTimedOut event matching {} without details"


def test_steps_name_the_identities_they_sign_as(tmp_path: Path) -> None:
    scenario = load_scenario(
        _write(
            tmp_path,
            """
    description: d
    evidence: [{grade: inferred, ref: r}]
    requires: [signatures]
    steps:
      - start_activity:
          as: a
          identity: worker
          domain: other
          activity_type: {name: resize, version: "2"}
      - heartbeat: {task: a, identity: auditor}
      - raw_heartbeat: {task: a, identity: worker, signing: {clock_offset_s: -3600}}
      - complete: {task: a}
    """,
        )
    )
    assert scenario.identities == ("worker", "auditor")
    assert scenario.requires == ("signatures",)
    assert scenario.steps[2].params["signing"] == {"clock_offset_s": -3600}


@pytest.mark.parametrize(
    ("step", "what"),
    [
        ("raw_heartbeat: {task: a, signing: {authorization: forged}}", "'forged' is not one of"),
        ("raw_heartbeat: {task: a, signing: {salt: x}}", "unknown key 'salt'"),
        ("raw_heartbeat: {task: a, signing: {}}", "should be non-empty"),
        ("heartbeat: {task: a, identity: 'two words'}", "does not match"),
        ("start_activity: {as: b, activity_type: {name: x}}", "'version' is a required property"),
    ],
)
def test_bad_identities_and_signings_name_their_line(tmp_path: Path, step: str, what: str) -> None:
    error = _error(tmp_path, HEAD + f"      - {step}\n")
    assert error.line == 5
    assert what in error.what
