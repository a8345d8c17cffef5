"""HTML reports rendered from saved results: self-contained, listed newest first."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from swfbench.cli import main
from swfbench.errors import UsageError
from swfbench.load.timeline import Slot, Timeline
from swfbench.report import render, write_report

OP = "RecordActivityTaskHeartbeat"


@pytest.fixture
def plan_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "plan.json"
    main(["plan", "--workers", "20000", "--interval", "60", "--save", str(path)])
    capsys.readouterr()
    return path


def assert_self_contained(html: str) -> None:
    # Nothing fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html


def test_plan_report_renders_charts_from_saved_results(plan_results: Path) -> None:
    results = json.loads(plan_results.read_text())
    html = render(results)
    assert_self_contained(html)
    assert html.count("<svg") == 3
    assert html.count("<polyline") == 4  # two bucket series, two sweeps
    assert "Throttled with a spread start: 50.3%" in html
    assert results["run_id"] in html


def test_report_command_writes_the_run_and_the_index(
    plan_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    assert main(["report", str(plan_results), "--reports-dir", str(reports)]) == 0
    run_id = json.loads(plan_results.read_text())["run_id"]
    page = reports / run_id / "index.html"
    assert f"report: {page}" in capsys.readouterr().out
    assert json.loads((reports / run_id / "results.json").read_text())["run_id"] == run_id
    index = (reports / "index.html").read_text()
    assert f'href="{run_id}/index.html"' in index
    assert_self_contained(index)


def test_index_lists_runs_newest_first(plan_results: Path, tmp_path: Path) -> None:
    base = json.loads(plan_results.read_text())
    runs = (("old", "2026-01-01T00:00:00+00:00"), ("new", "2026-06-01T00:00:00+00:00"))
    for run_id, started in runs:
        write_report({**base, "run_id": run_id, "started": started}, tmp_path / "reports")
    index = (tmp_path / "reports" / "index.html").read_text()
    assert index.index('href="new/index.html"') < index.index('href="old/index.html"')


def test_unknown_kind_renders_nothing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="kind 'mystery' have no report"):
        write_report(
            {"kind": "mystery", "run_id": "x", "swfbench_version": "0"}, tmp_path / "reports"
        )
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON: line 1"),
        ('{"some": "thing"}', "is not a swfbench results file"),
        ('{"kind": "plan"}', "is not a swfbench results file"),
    ],
)
def test_report_command_bad_input_exits_252(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path), "--reports-dir", str(tmp_path / "r")]) == 252
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def conformance_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real conformance runs of a few scenarios: plain moto and the extended engine."""
    root = Path(__file__).resolve().parents[1]
    scenarios = [
        str(root / "scenarios/conformance/heartbeat/fresh_not_cancel_requested.yaml"),
        str(root / "scenarios/conformance/cancellation/unknown_activity_id.yaml"),
    ]
    paths = []
    for engine in ("moto", "swfbench"):
        reports = tmp_path_factory.mktemp(engine)
        code = main(["conform", *scenarios, "--engine", engine, "--reports-dir", str(reports)])
        assert code == 0
        (results,) = reports.glob("*/results.json")
        paths.append(results)
    return paths


def test_conformance_matrix_combines_targets(
    conformance_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    args = ["report", *map(str, conformance_runs), "--reports-dir", str(reports)]
    assert main(args) == 0
    capsys.readouterr()
    (page,) = reports.glob("*matrix*/index.html")
    html = page.read_text()
    assert_self_contained(html)
    assert "<th>embedded moto</th><th>embedded swfbench</th>" in html
    row = html[html.index("cancellation/unknown_activity_id") :]
    cells = re.findall(r'<details class="outcome-(\w+)"', row)[:2]
    assert cells == ["known_deviation", "pass"]
    assert "ACTIVITY_ID_UNKNOWN" in row  # the evidence and the expectation travel with the cell


def test_only_conformance_results_combine(
    conformance_runs: list[Path],
    plan_results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["report", str(conformance_runs[0]), str(plan_results), "--reports-dir", str(tmp_path)]
    assert main(args) == 252
    assert "only conformance results combine" in capsys.readouterr().err


def test_load_report_renders_again_from_saved_results(
    load_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = load_run.run_dir / "results.json"
    reports = tmp_path / "again"
    assert main(["report", str(saved), "--reports-dir", str(reports)]) == 0
    capsys.readouterr()
    html = (reports / "gated-run" / "index.html").read_text()
    assert_self_contained(html)
    # Over time: rate, latency, lag (no failed calls, so no error chart); distributions:
    # latency, lag and cancel propagation (the mix cancels tasks).
    assert html.count("<svg") == 6
    assert "Cancel propagation: decision to cancelRequested" in html
    assert "No call failed during the run." in html
    assert html.count('data-gate="') == 7
    results = json.loads(saved.read_text())
    assert results["profile"]["path"] in html and results["git_revision"] in html
    assert "outcomes:" in results["profile"]["text"] and "run_time_s: 6" in html


def test_an_hour_long_load_report_stays_small(load_run: Any) -> None:
    """A one-hour run keeps at most 600 points per series: the page stays well under 2 MB."""
    results = json.loads((load_run.run_dir / "results.json").read_text())
    timeline = Timeline()
    for second in range(3600):
        slot = Slot()
        slot.calls[(OP, "OK")] = 160
        for code in ("ThrottlingException", "UnknownResourceFault", "HTTP500", "ConnectionError"):
            slot.calls[(OP, code)] = second % 3
        for value in range(200):
            slot.latency.record(500 + value * 97 + second)
            slot.lag.record(value * 13)
        timeline.slots[5_000_000 + second] = slot
    results["timeline"] = timeline.points(5_000_000.0, 5_003_600.0, OP)
    html = render(results)
    assert len(results["timeline"]["points"]) == 360
    assert "Failed calls per second, by error code" in html
    page, saved = len(html.encode()), len(json.dumps(results))
    print(f"one-hour load report: page {page / 1000:.0f} KB, results {saved / 1000:.0f} KB")
    assert page < 2_000_000 and saved < 2_000_000
