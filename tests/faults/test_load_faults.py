"""`swfbench load` through a fault-injecting proxy in front of a real engine: for each fault,
the run's status, its counts and the verdicts of the shipped gates/ci.yaml.

A hung or crawling target must fail the shipped gates (through heartbeat.delivered_ratio and
the run status) even when no call failed; errors must all be classified; a target restarted
empty is survived; the audit's outcome is recorded as it was, and never loses the run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from conftest import wait_for
from swfbench.embedded import EmbeddedServer
from swfbench.gates import known_error_code

from .conftest import Run
from .proxy import HEARTBEAT, REGISTRATION, FaultProxy

SETUP = (
    "StartWorkflowExecution",
    "PollForDecisionTask",
    "RespondDecisionTaskCompleted",
    "PollForActivityTask",
    "RespondActivityTaskCompleted",
)
"""Calls made only by the simulated workers, each counted once by the run (housekeeping calls,
the registration and the audits, are not load and are not in the run's figures)."""


def _heartbeat(run: Run) -> dict[str, Any]:
    figures: dict[str, Any] = run.results["metrics"]["heartbeat"]
    return figures


@pytest.mark.slow
def test_a_target_that_hangs_fails_the_shipped_gates(
    proxy: FaultProxy, load: Callable[..., Run]
) -> None:
    """The issue's first case: a target that stops answering mid-run once passed every gate
    with no error. Now the calls time out as ReadTimeout, what was due is counted, and the
    audit's failure is recorded while the run's results and report are still written."""
    proxy.hang_after_heartbeats = 40
    run = load(proxy.url, "--run-time", "6s", "--read-timeout", "1s", "--audit-time-limit", "2s")
    assert run.code == 1, run.stderr[-2000:]
    results, heartbeat = run.results, _heartbeat(run)
    assert heartbeat["ok"] == 40 == proxy.counts[f"answered:{HEARTBEAT}"]
    # Due by the schedules of the tasks under way when the target hung: more than answered.
    assert heartbeat["due"] > heartbeat["ok"]
    assert (
        heartbeat["due"]
        >= heartbeat["sent"]
        == heartbeat["ok"] + heartbeat["failed"] + (heartbeat["in_flight"])
    )
    assert results["calls"][HEARTBEAT]["errors"] == {"ReadTimeout": heartbeat["failed"]}
    verdicts = run.verdicts()
    assert not verdicts["heartbeat.delivered_ratio"]["passed"]
    assert verdicts["heartbeat.delivered_ratio"]["value"] < 0.9
    assert not verdicts["run.status"]["passed"]
    assert results["audit"]["status"] == "failed" and "read timeout" in results["audit"]["reason"]
    assert not verdicts["audit.left_open"]["passed"]  # unknown: the audit could not list
    assert verdicts["audit.left_open"]["value_text"].startswith("unknown")
    assert any(m.startswith("audit failed") for m in results["status"]["missing"])
    # Per second: due keeps coming after the hang, answers stop.
    points = results["timeline"]["points"]
    last_answer = max(i for i, p in enumerate(points) if p["heartbeats_per_s"] > 0)
    assert sum(p["due_per_s"] for p in points[last_answer + 1 :]) > 0
    page = (run.run_dir / "index.html").read_text()
    assert 'data-run-status="complete"' in page and "audit failed" in page
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_target_answering_in_3_s_fails_the_shipped_gates(
    proxy: FaultProxy, load: Callable[..., Run]
) -> None:
    """The issue's second case: every call answered, 3 s late; no heartbeat got out in the
    run's 6 s (setting up a task takes four calls), no call failed, every gate held. (The
    registration calls are spared the latency only to keep the test short.)"""
    proxy.latency_s, proxy.exempt = 3.0, set(REGISTRATION)
    run = load(proxy.url, "--run-time", "6s", "--audit-time-limit", "2s")
    assert run.code == 1, run.stderr[-2000:]
    results, verdicts = run.results, run.verdicts()
    assert results["status"]["checked"] == 0 and not results["status"]["whole"]
    assert not verdicts["run.status"]["passed"]
    assert not verdicts["heartbeat.delivered_ratio"]["passed"]  # nothing was due: unknown
    assert results["metrics"]["errors"]["total"]["count"] == 0  # slow is not failed


def test_errors_and_resets_are_all_classified(proxy: FaultProxy, load: Callable[..., Run]) -> None:
    """One call in ten answered HTTP 503, others reset before or during their answer: the run
    finishes, each error counted under its code, the audit retries through them."""
    proxy.error_every, proxy.reset_before_every, proxy.reset_during_every = 10, 23, 29
    run = load(proxy.url, "--run-time", "5s")
    assert run.code == 1, run.stderr[-2000:]  # errors.total.ratio <= 0.01 fails
    results = run.results
    errors = results["metrics"]["errors"]
    codes = {code for code in errors if code != "total"}
    assert codes <= {"HTTP503", "ConnectionError"} and "HTTP503" in codes
    assert all(known_error_code(code) for code in codes)
    assert errors["total"]["count"] == sum(errors[code]["count"] for code in codes)
    for operation in (*SETUP, HEARTBEAT):
        calls = results["calls"].get(operation, {"ok": 0, "errors": {}})
        assert calls["errors"].get("HTTP503", 0) == proxy.counts[f"error:{operation}"], operation
        assert calls["errors"].get("ConnectionError", 0) == proxy.counts[f"reset:{operation}"]
    heartbeat = _heartbeat(run)
    assert heartbeat["sent"] == heartbeat["ok"] + heartbeat["failed"] + heartbeat["in_flight"]
    assert results["tasks"]["started"] == results["tasks"]["accounted"] > 0
    # Only the faults failed it: the run is whole and its audit went through the errors.
    assert results["status"]["whole"] and results["audit"]["status"] == "complete"
    failed = {metric for metric, v in run.verdicts().items() if not v["passed"]}
    assert "errors.total.ratio" in failed and "run.status" not in failed


@pytest.mark.slow
def test_a_target_restarted_empty_mid_run_is_survived(
    target: EmbeddedServer, proxy: FaultProxy, load: Callable[..., Run]
) -> None:
    """The target behind the proxy is killed and replaced by an empty one: the tasks of the
    old one end as vanished, workers register the domain again and heartbeat on, and the audit
    of the new target succeeds."""
    with EmbeddedServer(engine="swfbench") as fresh:

        def restart(child: subprocess.Popen[str]) -> None:
            wait_for(lambda: proxy.counts[f"answered:{HEARTBEAT}"] >= 30)
            target.stop()
            wait_for(lambda: proxy.counts["upstream_down"] >= 3)
            proxy.upstream = fresh.url

        run = load(proxy.url, "--run-time", "8s", popen=restart, gates=False)
        before = proxy.counts[f"answered:{HEARTBEAT}"]
    assert run.code == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = run.results
    assert results["tasks"]["domain_registered_again"] >= 1
    assert results["tasks"]["ends"]["vanished"] >= 1
    assert results["tasks"]["started"] == results["tasks"]["accounted"]
    assert results["audit"]["status"] == "complete"
    assert results["status"]["whole"]
    # Heartbeats went on against the new target: more answered than before the restart.
    assert _heartbeat(run)["ok"] > 30 and before > 30
    # The old tokens are unknown to the new target: answered with its error codes, classified.
    assert all(known_error_code(code) for code in results["calls"][HEARTBEAT]["errors"])


def test_an_exception_in_a_simulated_worker_is_a_counted_error(
    proxy: FaultProxy, load: Callable[..., Run]
) -> None:
    """A target that answers PollForActivityTask without the fields SWF sends makes every
    worker raise (KeyError): each is a WorkerError of that type, shown in the report, and the
    run is not whole, so it fails even without gates (it once exited 0 with no error)."""
    proxy.replace["PollForActivityTask"] = b'{"taskToken": "not-from-swf"}'
    run = load(proxy.url, "--run-time", "4s", gates=False)
    assert run.code == 1, run.stderr[-2000:]
    results = run.results
    assert results["worker_errors"]["KeyError"]["count"] >= 4
    errors = results["metrics"]["errors"]
    assert errors["WorkerError"]["count"] == results["worker_errors"]["KeyError"]["count"]
    assert any("KeyError" in m for m in results["status"]["missing"])
    assert results["locust"]["operations"]["SimulatedWorker"]["failures"] >= 4
    assert "Exceptions in simulated workers" in (run.run_dir / "index.html").read_text()
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_lost_locust_worker_is_named(target: EmbeddedServer, load: Callable[..., Run]) -> None:
    """One of two Locust worker processes is killed mid-run: its share of the fleet stops,
    and the results say so instead of passing for a whole run."""

    def kill_one_worker(child: subprocess.Popen[str]) -> None:
        assert child.stdout is not None
        for line in child.stdout:  # the first progress line: the run is on
            if line.startswith("["):
                break
        assert child.poll() is None, child.communicate()
        locust = next(p for p in psutil.Process(child.pid).children() if "locust" in p.cmdline())
        wait_for(lambda: len(locust.children()) == 2)
        locust.children()[0].kill()

    run = load(
        target.url, "--processes", "2", "--run-time", "8s", popen=kill_one_worker, gates=False
    )
    assert run.code == 1, run.stderr[-2000:]
    results = run.results
    assert len(results["workers_lost"]) == 1, run.stderr[-3000:]
    assert any("a Locust worker was lost" in m for m in results["status"]["missing"])
    assert results["processes"] >= 1
