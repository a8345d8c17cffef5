"""The pytest plugin end to end: pytester runs against the session's real moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swfbench.embedded import EmbeddedServer

from .helpers import FAILING, NEEDS_QUOTAS, PASSING, write_scenario


@pytest.fixture
def endpoint(moto_server: EmbeddedServer) -> str:
    return moto_server.url


def _run(pytester: pytest.Pytester, endpoint: str, *args: str) -> tuple[Any, dict[str, Any]]:
    results = pytester.path / "results.json"
    outcome = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        f"--swf-endpoint-url={endpoint}",
        f"--swf-results={results}",
        *args,
    )
    data = json.loads(results.read_text()) if results.exists() else {}
    return outcome, data


def _outcomes(data: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["outcome"] for s in data["scenarios"]}


def test_scenario_files_are_items_and_other_files_are_left_alone(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    write_scenario(pytester, "area/passing", PASSING)
    (pytester.path / "other").mkdir()
    (pytester.path / "other" / "data.yaml").write_text("not: [a scenario")
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    outcome, data = _run(pytester, endpoint, "-v")
    outcome.assert_outcomes(passed=2)
    outcome.stdout.fnmatch_lines(["*scenarios/conformance/area/passing.yaml::area/passing PASSED*"])
    assert _outcomes(data) == {"area/passing": "pass"}


def test_invalid_file_fails_collection_with_path_and_line(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    path = write_scenario(
        pytester,
        "area/broken",
        """
        description: broken
        evidence: [{grade: documented, ref: r}]
        steps:
          - start_activity: {as: a}
          - heartbeat: {task: a}
            expect: {error: {code: X, one_of: [Y, Z]}}
        """,
    )
    outcome, _ = _run(pytester, endpoint)
    assert outcome.ret == pytest.ExitCode.INTERRUPTED
    outcome.assert_outcomes(errors=1)
    assert f"{path}:6: steps[1].expect.error: give either code or one_of" in outcome.stdout.str()


def test_outcomes_against_the_known_deviation_list(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    write_scenario(pytester, "area/passing", PASSING)
    write_scenario(pytester, "area/failing", FAILING)
    write_scenario(pytester, "area/listed_failing", FAILING)
    write_scenario(pytester, "area/listed_passing", PASSING)
    known = pytester.path / "known.yaml"
    known.write_text(
        "known_deviations:\n"
        "  - {id: area/listed_failing, reason: the target never sets cancelRequested}\n"
        "  - {id: area/listed_passing, reason: once broken}\n"
    )
    outcome, data = _run(pytester, endpoint, f"--swf-known-deviations={known}", "-rxX")
    outcome.assert_outcomes(passed=1, failed=2, xfailed=1)
    assert _outcomes(data) == {
        "area/passing": "pass",
        "area/failing": "fail",
        "area/listed_failing": "known_deviation",
        "area/listed_passing": "fixed",
    }
    assert data["summary"] == {
        "pass": 1,
        "fail": 1,
        "known_deviation": 1,
        "fixed": 1,
        "skipped": 0,
        "not_run": 0,
    }
    outcome.stdout.fnmatch_lines(["XFAIL *area/listed_failing - known deviation: the*"])
    outcome.stdout.fnmatch_lines(
        ["*area/listed_passing passed but *known.yaml lists it as a known deviation*"]
    )


def test_failure_output_shows_file_line_expected_actual_and_history(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    path = write_scenario(pytester, "area/failing", FAILING)
    outcome, data = _run(pytester, endpoint)
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(
        [
            f"scenario area/failing failed at {path}:8 (step 3)",
            '*8 |   - heartbeat: {task: a, details: "second"}',
            "*9 |     expect: {cancelRequested: true}",
            "*problem:  cancelRequested is False, expected True",
            '*expected: {"cancelRequested": true}',
            '*actual:   {"cancelRequested": false}',
            "*last history events of task a:",
            "*#6 ActivityTaskStarted*",
            "*evidence:",
            "*inferred: test",
        ]
    )
    failure = data["scenarios"][0]["failure"]
    assert (failure["line"], failure["step"]) == (8, 2)
    assert failure["history"]["a"][-1].startswith("#6 ActivityTaskStarted")


def test_templates_reach_requests_and_history_expectations(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    write_scenario(
        pytester,
        "area/templates",
        """
        description: references to tasks, events and iterations
        evidence: [{grade: documented, ref: r}]
        activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
        steps:
          - start_activity: {as: a}
          - history: {task: a, as: before}
            expect:
              contains:
                - eventType: ActivityTaskStarted
                  attributes: {scheduledEventId: "{{ a.scheduled_event_id }}"}
                  as: started
          - repeat: {times: 3}
            heartbeat: {task: a, details: "step {{ i }} after #{{ started.eventId }}"}
          - complete: {task: a, result: "{{ a.activity_id }}"}
          - history: {task: a}
            expect:
              contains:
                - eventType: ActivityTaskCompleted
                  attributes:
                    result: "{{ a.activity_id }}"
                    startedEventId: "{{ started.eventId }}"
              length: "{{ before.length }}"
        """,
    )
    outcome, data = _run(pytester, endpoint)
    # Completing schedules a decision task: two events more than `before`, so the last step fails
    # on the length alone, which proves that every other template matched.
    outcome.assert_outcomes(failed=1)
    steps = data["scenarios"][0]["steps"]
    details = [s["request"]["details"] for s in steps if s["action"] == "heartbeat"]
    assert details == ["step 0 after #6", "step 1 after #6", "step 2 after #6"]
    assert [s["iteration"] for s in steps if s["action"] == "heartbeat"] == [0, 1, 2]
    failure = data["scenarios"][0]["failure"]
    assert failure["message"].endswith("events in the history, expected 6")


def test_scenarios_run_concurrently(pytester: pytest.Pytester, endpoint: str) -> None:
    for name in ("one", "two"):
        write_scenario(
            pytester,
            f"area/{name}",
            """
            description: waits two seconds
            evidence: [{grade: documented, ref: r}]
            steps:
              - start_activity: {as: a}
              - sleep: {seconds: 2}
              - heartbeat: {task: a}
                expect: {cancelRequested: false}
            """,
        )
    outcome, data = _run(pytester, endpoint)
    outcome.assert_outcomes(passed=2)
    intervals = []
    for scenario in data["scenarios"]:
        sleep = next(s for s in scenario["steps"] if s["action"] == "sleep")
        start = scenario["started_monotonic"] + sleep["started_s"]
        intervals.append((start, scenario["started_monotonic"] + sleep["ended_s"]))
    (a_start, a_end), (b_start, b_end) = intervals
    assert a_start < b_end and b_start < a_end, f"the sleeps did not overlap: {intervals}"


def test_unreachable_target_fails_every_scenario_with_one_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    write_scenario(pytester, "area/passing", PASSING)
    outcome, data = _run(pytester, "http://127.0.0.1:1")
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(["*passing.yaml: cannot reach endpoint http://127.0.0.1:1*"])
    assert data["target"]["error"].startswith("cannot reach")


def test_scenario_needing_quotas_is_skipped_on_a_target_without_them(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    write_scenario(pytester, "area/passing", PASSING)
    write_scenario(pytester, "quotas/burst", NEEDS_QUOTAS)
    write_scenario(pytester, "quotas/listed", NEEDS_QUOTAS)
    known = pytester.path / "known.yaml"
    known.write_text("known_deviations:\n  - {id: quotas/listed, reason: listed anyway}\n")
    outcome, data = _run(pytester, endpoint, f"--swf-known-deviations={known}", "-rs")
    # Skipped, never passed, whatever the list says; the other scenario runs as usual.
    outcome.assert_outcomes(passed=1, skipped=2)
    assert outcome.ret == pytest.ExitCode.OK
    assert _outcomes(data) == {
        "area/passing": "pass",
        "quotas/burst": "skipped",
        "quotas/listed": "skipped",
    }
    assert data["summary"] == {
        "pass": 1,
        "fail": 0,
        "known_deviation": 0,
        "fixed": 0,
        "skipped": 2,
        "not_run": 0,
    }
    assert data["target"]["capabilities"] == []
    burst = next(s for s in data["scenarios"] if s["id"] == "quotas/burst")
    assert burst["skipped"] == "needs a target with quotas (swfbench conform --quotas aws)"
    assert (burst["passed"], burst["steps"], burst["failure"]) == (False, [], None)
    outcome.stdout.fnmatch_lines(
        ["SKIPPED * quotas/burst needs a target with quotas (swfbench conform --quotas aws)"]
    )
    outcome.stdout.fnmatch_lines(["swfbench conformance on *: 1 pass, 0 fail, *, 2 skipped"])


def test_until_error_keeps_the_call_that_ended_the_repeat(
    pytester: pytest.Pytester, endpoint: str
) -> None:
    write_scenario(
        pytester,
        "area/until_error",
        """
        description: the second completion of a task fails
        evidence: [{grade: documented, ref: r}]
        activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
        steps:
          - start_activity: {as: a}
          - repeat: {times: 5, until_error: true}
            complete: {task: a, result: "try {{ i }}"}
            expect: {error: {code: UnknownResourceFault, http_status: 400}}
        """,
    )
    write_scenario(
        pytester,
        "area/never",
        """
        description: heartbeats that are never throttled
        evidence: [{grade: documented, ref: r}]
        activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
        steps:
          - start_activity: {as: a}
          - repeat: {times: 3, until_error: true}
            heartbeat: {task: a}
            expect: {error: {code: ThrottlingException}}
        """,
    )
    write_scenario(
        pytester,
        "area/other_error",
        """
        description: the error that ends the repeat is judged by expect
        evidence: [{grade: documented, ref: r}]
        activity: {heartbeat_timeout: 30, start_to_close_timeout: 60}
        steps:
          - start_activity: {as: a}
          - repeat: {times: 5, until_error: true}
            complete: {task: a}
            expect: {error: {code: ThrottlingException}}
        """,
    )
    outcome, data = _run(pytester, endpoint)
    outcome.assert_outcomes(passed=1, failed=2)
    by_id = {s["id"]: s for s in data["scenarios"]}
    assert _outcomes(data) == {
        "area/until_error": "pass",
        "area/never": "fail",
        "area/other_error": "fail",
    }
    (ended,) = [s for s in by_id["area/until_error"]["steps"] if s["action"] == "complete"]
    assert (ended["iteration"], ended["ok"]) == (1, True)
    assert ended["request"] == {"task": "a", "result": "try 1"}
    assert ended["actual"]["error"]["code"] == "UnknownResourceFault"
    (last,) = [s for s in by_id["area/never"]["steps"] if s["action"] == "heartbeat"]
    assert (last["iteration"], last["ok"]) == (2, False)
    assert by_id["area/never"]["failure"]["message"] == "no error in 3 calls (until_error)"
    failure = by_id["area/other_error"]["failure"]
    assert (failure["iteration"], failure["message"]) == (
        1,
        "error code UnknownResourceFault, expected ThrottlingException",
    )
