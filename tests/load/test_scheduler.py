"""The scheduler fleet: simulated workers as state objects served by a pool of Locust users.

Real Locust against the loopback sink (heartbeats only) and the real engine (the whole flow):
every worker keeps its absolute schedule however few senders there are, the fleet is split
exactly between Locust processes, every heartbeat reaches Locust's own statistics, and a
fleet that shrinks ends its workers' schedules.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import yaml

from swfbench.embedded import free_port
from swfbench.load.command import locustfile_path
from swfbench.load.scheduler import Scheduler, share
from swfbench.load.sink import running_sink

OP = "RecordActivityTaskHeartbeat"
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]


class _Member:
    def __init__(self, index: int) -> None:
        self.index = index
        self.retired = False

    def __lt__(self, other: _Member) -> bool:
        return self.index < other.index


def test_the_scheduler_hands_out_members_by_due_time_and_drops_retired_ones() -> None:
    now = [100.0]
    scheduler = Scheduler(lambda: now[0])
    members = [_Member(i) for i in range(5)]
    for member, due in zip(members, (3.0, 1.0, 2.0, 1.0, 0.5), strict=True):
        scheduler.put(due, member)
    members[2].retired = True
    assert len(scheduler) == 5
    taken = [scheduler.take().index for _ in range(4)]
    assert taken[0] == 4 and set(taken[1:3]) == {1, 3} and taken[3] == 0  # by due time
    assert len(scheduler) == 0


def test_a_member_is_handed_out_when_its_millisecond_is_over_never_before_it_is_due() -> None:
    now = [10.0]
    scheduler = Scheduler(lambda: now[0])
    scheduler.put(10.0001, _Member(7))
    taken = gevent.spawn(scheduler.take)
    for moment in (10.0, 10.0001, 10.0009):
        now[0] = moment
        gevent.sleep(0.01)  # the watching sender looks at the clock again meanwhile
        assert not taken.ready()
    now[0] = 10.001
    taken.join(timeout=10)
    assert taken.value is not None and taken.value.index == 7


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_shares_of_the_fleet_add_up_exactly(parts: int) -> None:
    for workers in (0, 1, 2, 7, 1000, 1_000_001):
        shares = [share(workers, part, parts) for part in range(parts)]
        assert sum(shares) == workers
        assert max(shares) - min(shares) <= 1
    assert share(1000, parts, parts) == 0  # a process the master did not wait for


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    with running_sink(free_port()) as url:
        yield url


def _heartbeat_only_run(
    tmp_path: Path, url: str, *, workers: int, senders: int, processes: int, seconds: float
) -> dict[str, Any]:
    profile = tmp_path / "fleet.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "name": "scheduled",
                "fleet": {"workers": workers, "spawn_rate": 10_000, "senders": senders},
                "heartbeat": {"interval": {"mean_s": 1.0}},
            }
        )
    )
    results = tmp_path / "results.json"
    command = [
        sys.executable, "-m", "locust", "-f", locustfile_path(), "--headless", "--host", url,
        "--exit-code-on-error", "0", "--loglevel", "WARNING", "--swf-fleet", str(profile),
        "--swf-heartbeat-only", "--swf-results", str(results), "--swf-run-time", str(seconds),
        "--swf-progress", "0",
    ]  # fmt: skip
    if processes > 1:
        port = str(free_port())
        command += ["--processes", str(processes), "--master-bind-port", port]
        command += ["--master-port", port]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    data: dict[str, Any] = json.loads(results.read_text())
    return data


def _check_schedule(results: dict[str, Any], workers: int) -> None:
    """Every heartbeat counted once by swfbench and by Locust; each whole second after the
    first (the fleet spawned at once, each worker's first beat within its first interval) ran
    every worker, and together they had one heartbeat due per worker and second, as each
    worker's absolute 1 s schedule says."""
    heartbeat = results["heartbeat"]
    assert heartbeat["failed"] == 0
    assert heartbeat["sent"] == heartbeat["ok"] + heartbeat["in_flight"]
    assert heartbeat["due"] >= heartbeat["sent"]
    operations = results["locust"]["operations"]
    assert operations[OP]["requests"] == heartbeat["ok"] > 0
    assert results["calls"][OP]["ok"] == heartbeat["ok"]
    points = results["timeline"]["points"]
    steady = points[2:-1]
    assert len(steady) >= 3
    for point in steady:
        assert point["workers"] == workers
    # A beat counts in the second a sender takes it: on a busy machine some are taken a
    # little late, in the next second, so the schedule is judged over the steady seconds
    # together (the lag histogram says how late).
    due = sum(p["due_per_s"] for p in steady)
    assert math.isclose(due, workers * len(steady), rel_tol=0.1), [p["due_per_s"] for p in steady]
    answered = sum(p["heartbeats_per_s"] for p in steady)
    assert answered >= 0.9 * due  # due times are kept: sent, and answered by the sink


@pytest.mark.slow
def test_a_fleet_ten_times_its_senders_keeps_every_schedule(sink: str, tmp_path: Path) -> None:
    results = _heartbeat_only_run(tmp_path, sink, workers=200, senders=20, processes=1, seconds=7)
    assert results["processes"] == 1
    _check_schedule(results, 200)


@pytest.mark.slow
def test_the_fleet_is_split_between_locust_processes(sink: str, tmp_path: Path) -> None:
    """--processes 2: each runs half the workers (the timeline's count is their sum), and the
    master's figures are both halves'."""
    results = _heartbeat_only_run(tmp_path, sink, workers=201, senders=10, processes=2, seconds=8)
    assert results["processes"] == 2
    _check_schedule(results, 201)


@pytest.mark.slow
def test_the_whole_flow_with_fewer_senders_than_workers(
    write_profile: Callable[..., Path], tmp_path: Path
) -> None:
    """12 workers served by 3 senders on the engine: every outcome, every per-worker figure
    (cancellations reaching their worker, silent tasks timing out) as with one each; then the
    fleet shrinks (a spike ends) and the retired workers' tasks are closed by the audit."""
    profile = write_profile(
        name="few-senders",
        fleet={
            "senders": 3,
            "shape": {
                "kind": "spike", "base": 6, "peak": 12, "at_s": 0, "duration_s": 5,
                "spawn_rate": 50,
            },
        },
        activity={"duration": {"mean_s": 1.5}, "timeouts": {"heartbeat": 1}},
        outcomes={"complete": 1, "fail": 1, "cancel": 1, "silent": 1},
        cancel={"after": 0.3, "propagation_wait_s": 1},
        timeout_slack_s=2,
    )  # fmt: skip
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*SWFBENCH, "load", "--fleet", str(profile), "--run-time", "9", "--progress", "0",
         "--reports-dir", str(reports), "--run-id", "few", "--engine", "swfbench"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((reports / "few" / "results.json").read_text())
    workers = [p["workers"] for p in results["timeline"]["points"]]
    assert max(workers) == 12 and workers[-2] == 6
    tasks = results["tasks"]
    assert tasks["started"] == tasks["accounted"] > 12
    ends = tasks["ends"]
    assert ends["completed"] > 0 and ends["failed"] > 0 and ends["canceled"] > 0
    cancel = results["cancel"]
    assert cancel["propagated"] > 0 and cancel["propagation_ms"]["count"] == cancel["propagated"]
    timeouts = results["timeouts"]
    assert timeouts["timed_out"] > 0 and timeouts["false"] == 0
    operations = results["locust"]["operations"]
    assert operations[OP]["requests"] - operations[OP]["failures"] == results["heartbeat"]["ok"]
    assert (
        results["audit"]["status"] == "complete" and results["metrics"]["audit"]["left_open"] == 0
    )
