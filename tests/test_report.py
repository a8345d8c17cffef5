"""HTML reports rendered from saved results: self-contained, listed newest first."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from swfbench.cli import main
from swfbench.errors import UsageError
from swfbench.load.histogram import Histogram
from swfbench.load.results import with_users
from swfbench.load.timeline import Slot, Timeline
from swfbench.report import capacity_page, charts, numbers, plan_page, render, write_report

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
        ("{not json", "line 1: not valid JSON"),
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
    # Over time: rate, workers, latency, lag (no failed calls, so no error chart);
    # distributions: latency, lag and cancel propagation (the mix cancels tasks); latency by
    # operation.
    assert html.count("<svg") == 8
    assert "Cancel propagation: decision to cancelRequested" in html
    assert "No call failed during the run." in html
    assert html.count('data-gate="') == 7
    results = json.loads(saved.read_text())
    assert results["profile"]["path"] in html and results["git_revision"] in html
    assert "outcomes:" in results["profile"]["text"] and "run_time_s: 6" in html


def test_an_hour_long_load_report_stays_small(load_run: Any) -> None:
    """A one-hour run keeps at most 600 points per series: with workers over time, errors of
    four codes and every chart's hover labels, the page stays well under 2 MB."""
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
    users = {5_000_000 + second: min(second, 600) for second in range(3600)}
    results["timeline"] = with_users(
        timeline.points(5_000_000.0, 5_003_600.0, OP), users, 5_000_000.0
    )
    results["duration_s"] = 3600.0
    html = render(results)
    assert len(results["timeline"]["points"]) == len(results["timeline"]["users"]) == 360
    assert "Failed calls per second, by error code" in html
    page, saved = len(html.encode()), len(json.dumps(results))
    print(f"one-hour load report: page {page / 1000:.0f} KB, results {saved / 1000:.0f} KB")
    assert page < 2_000_000 and saved < 2_000_000


# One number format, units, "—" ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (27.047, "27.0"),
        (10.3, "10.3"),
        (61.213, "61.2"),
        (0.336, "0.336"),
        (0.0012, "0.00120"),
        (1393.4, "1,393"),
        (99.96, "100"),
        (6.0, "6"),
        (0, "0"),
    ],
)
def test_three_significant_figures(value: float, text: str) -> None:
    assert numbers.number(value) == text


def test_units_are_always_shown_and_gates_in_the_metrics_unit() -> None:
    assert numbers.figure(27.047, "ms") == "27.0 ms"
    assert numbers.figure(4752.0, "/s") == "4,752/s"
    assert numbers.percent(0.180412) == "18.0%"
    assert numbers.figure(None, "ms") == numbers.ms(0.0, samples=0) == "—"
    assert numbers.metric_value("errors.total.ratio", 0.180412) == "18.0%"
    assert numbers.metric_value("heartbeat.latency.p99_ms", 61.213) == "61.2 ms"
    assert numbers.metric_value("heartbeat.rate_per_s", 20.43) == "20.4/s"
    assert numbers.metric_value("cancel.lost", 3.0) == "3"


# Chart geometry --------------------------------------------------------------------------------


def test_a_percentile_axis_stops_where_the_samples_do() -> None:
    """395 samples support percentiles up to 99.7 %: no 99.9 % tick, the line ends at max."""
    top = charts.percentile_top(395)
    assert [label for _, label in charts.percentile_ticks(top)] == ["0%", "90%", "99%", "max"]
    spectrum = [[q, q / 10] for q in (0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0)]
    points = charts.spectrum_points(spectrum, top)
    assert [round(x, 3) for x, _ in points][-2:] == [2.0, round(top, 3)]
    assert points[-1][1] == 10.0  # the maximum ends the line
    assert charts.percentile_label(top, top) == "max"
    assert charts.percentile_label(2.0, top) == "p99"


def test_latency_axes_turn_logarithmic_across_orders_of_magnitude() -> None:
    def chart(values: list[float]) -> charts.LineChart:
        line = charts.Line("p99", list(enumerate(values)), "ms")
        return charts.line_chart(
            "t", [line], x_label="s", y_label="ms", x_format=str, y_scale="auto"
        )

    wide, narrow = chart([0.3, 2.0, 40.0, 2000.0]), chart([0.3, 0.8, 5.0])
    assert wide.log_y and wide.y_label == "ms, log scale"
    assert wide.y_ticks[0].label == "0.1" and wide.y_ticks[-1].label == "10k"
    assert not narrow.log_y


def test_partial_points_are_drawn_apart_and_hover_labels_carry_units() -> None:
    line = charts.Line(
        "OK", [(0, 1.0), (1, 20.0), (2, 21.0), (3, 2.0)], "/s", partial=frozenset({0, 3})
    )
    chart = charts.line_chart("t", [line], x_label="s", y_label="/s", x_format=lambda x: f"{x:g} s")
    (series,) = chart.series
    assert len(series.solid) == 1 and series.solid[0].count(",") == 2  # the two whole points
    assert len(series.partial) == 2  # dotted to each end
    assert [hollow for *_, hollow in series.markers] == [True, True]
    points = chart.hover["series"][0]["points"]
    assert points[1][2:] == ["1 s", "20/s"] and points[0][4] == "part of its interval"


def test_rules_and_bands_are_placed_on_the_data_axes() -> None:
    line = charts.Line("p99", [(100, 1.0), (200, 3.0)], "ms")
    chart = charts.line_chart(
        "t", [line], x_label="rate", y_label="ms", x_format=str,
        rules=[charts.Rule(5.0, "SLO"), charts.Rule(150, "knee", vertical=True)],
        bands=[charts.Band(100, 150, "1", "knee")],
    )  # fmt: skip
    slo, knee = chart.rules
    assert slo.y1 == slo.y2 and chart.top <= slo.y1 <= chart.bottom  # the SLO is inside the axis
    assert knee.x1 == knee.x2 == pytest.approx(chart.bands[0].x + chart.bands[0].width)


def test_the_bucket_line_goes_through_each_windows_lowest_level() -> None:
    sim = {
        "bucket_level": [[0.0, 2000.0], [1.0, 250.0]],
        "bucket_min": [[0.4, 0.0]],
        "bucket_max": [[0.0, 2000.0]],
    }
    points, exact = plan_page.bucket_envelope(sim)
    assert exact and points == [(0.0, 2000.0), (0.4, 0.0)]
    assert plan_page.bucket_envelope({"bucket_level": [[0.0, 5.0]]}) == ([(0.0, 5.0)], False)


# The load page ---------------------------------------------------------------------------------


def test_load_page_reads_as_a_performance_engineer_needs(load_run: Any) -> None:
    results = json.loads((load_run.run_dir / "results.json").read_text())
    html = render(results)
    # Every SWF operation the run called has its latency, in ms.
    for operation, calls in results["calls"].items():
        row = re.search(rf'<tr data-operation="{operation}">(.*?)</tr>', html, re.S)
        assert row is not None and calls["latency_ms"]["count"] > 0
        assert numbers.figure(calls["latency_ms"]["p50"], "ms") in row.group(1)
    assert "Latency by SWF operation" in html and "Simulated workers running" in html
    # Gates in the metric's unit: a failing lag gate reads in ms, a ratio gate in percent.
    lag = re.search(r'data-gate="heartbeat.pacing_lag.p50_ms">(.*?)</tr>', html, re.S)
    assert lag is not None and "≤ 0 ms" in lag.group(1) and " ms</td>" in lag.group(1)
    throttled = re.search(r'data-gate="errors.ThrottlingException.ratio">(.*?)</tr>', html, re.S)
    assert throttled is not None and "≤ 0%" in throttled.group(1)
    # One denominator per tile.
    answered = results["heartbeat"]["ok"] + results["heartbeat"]["failed"]
    assert f"of {numbers.count(answered)} heartbeats answered" in html
    assert re.search(r"run.{0,80}\n?.{0,80}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html, re.S)


def test_an_empty_distribution_row_shows_a_dash(load_run: Any) -> None:
    """A run without cancellations has no propagation figure: "—", never 0.0 ("instant")."""
    results = json.loads((load_run.run_dir / "results.json").read_text())
    results["cancel"]["propagation_ms"] = Histogram().summary_ms()
    results["cancel"]["propagation_spectrum_ms"] = []
    html = render(results)
    row = re.search(r"<th>cancel propagation</th>(.*?)</tr>", html, re.S)
    assert row is not None
    assert re.findall(r'<td class="num[^"]*">([^<]*)</td>', row.group(1)) == ["0", *["—"] * 5]
    assert "Cancel propagation: decision" not in html


# The capacity page -----------------------------------------------------------------------------


def test_capacity_page_marks_slo_knee_and_steps(capacity_run: Any) -> None:
    results = json.loads((capacity_run.run_dir / "results.json").read_text())
    capacity = results["capacity"]
    html = render(results)
    assert "SLO p99 &lt; 100 ms" in html and "SLO errors &lt; 1%" in html
    knee = numbers.figure(capacity["knee"]["offered_per_s"], "/s")
    assert f"knee {knee}" in html
    # Each judged step's measured window is shaded on every chart over time.
    over_time = html[html.index("<h2>Over time</h2>") : html.index("<h2>Distributions")]
    charts_over_time = over_time.count("<svg")
    assert over_time.count('class="band band-') == charts_over_time * len(capacity["steps"])
    assert "sent" in html and "answered OK" in html


def test_a_step_that_sent_more_than_it_offered_is_explained(capacity_run: Any) -> None:
    results = json.loads((capacity_run.run_dir / "results.json").read_text())
    step = dict(results["capacity"]["steps"][-1])
    assert capacity_page.surplus_note(step, 1.0) is None  # this search sent what it offered
    late = {**step, "heartbeats_per_s": step["offered_per_s"] * 1.266, "lag": 2720.0}
    note = capacity_page.surplus_note(late, 0.25, whole_step=1443.0)
    assert note is not None and note.startswith("sent 26.6% more than offered")
    assert "pacing lag p99 2,720 ms" in note and "1,443/s" in note
    on_time = {**late, "lag": 1.2}
    assert "not explained by catching up" in (capacity_page.surplus_note(on_time, 0.25) or "")


# Index, links and comparisons ------------------------------------------------------------------


def test_index_has_headlines_verdicts_and_one_timestamp_format(
    load_run: Any, plan_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    for path in (load_run.run_dir / "results.json", plan_results):
        assert main(["report", str(path), "--reports-dir", str(reports)]) == 0
    capsys.readouterr()
    index = (reports / "index.html").read_text()
    rows = re.findall(r'<tr data-kind="(\w+)"><td>([^<]+)</td>', index)
    assert sorted(kind for kind, _ in rows) == ["load", "plan"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", when) for _, when in rows)
    load = json.loads((load_run.run_dir / "results.json").read_text())
    p99 = numbers.figure(load["metrics"]["heartbeat"]["latency"]["p99_ms"], "ms")
    assert f"p99 {p99} at" in index
    failed = sum(not gate["passed"] for gate in load["gates"])
    assert f"{failed} of {len(load['gates'])} fail" in index
    assert "50.3% throttled" in index


def test_pages_link_to_the_index_and_their_neighbours_of_the_same_kind(
    plan_results: Path, tmp_path: Path
) -> None:
    base = json.loads(plan_results.read_text())
    reports = tmp_path / "reports"
    runs = (("p1", "2026-01-01T00:00:00+00:00"), ("p2", "2026-02-01T00:00:00Z"))
    for run_id, started in runs:
        write_report({**base, "run_id": run_id, "started": started}, reports)
    older, newer = ((reports / run_id / "index.html").read_text() for run_id, _ in runs)
    assert 'href="../index.html" rel="index"' in older and 'href="../index.html"' in newer
    assert 'href="../p2/index.html" rel="next"' in older and 'rel="prev"' not in older
    assert 'href="../p1/index.html" rel="prev"' in newer and 'rel="next"' not in newer


def test_two_load_runs_compare_on_the_same_axes(
    load_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = load_run.run_dir / "results.json"
    b = tmp_path / "b.json"
    second = json.loads(a.read_text())
    second["run_id"] = "second"
    b.write_text(json.dumps(second))
    reports = tmp_path / "reports"
    assert main(["report", str(a), str(b), "--reports-dir", str(reports)]) == 0
    capsys.readouterr()
    (page,) = reports.glob("*comparison*/index.html")
    html = page.read_text()
    assert_self_contained(html)
    assert "A: gated-run" in html and "B: second" in html
    row = re.search(r'data-metric="heartbeat.latency.p99_ms">(.*?)</tr>', html, re.S)
    assert row is not None and "no change" in row.group(1)
    assert html.count("Gates of ") == 2


@pytest.mark.parametrize("kinds", [("load", "plan"), ("load", "load", "load")])
def test_only_two_runs_of_one_kind_compare(
    load_run: Any,
    plan_results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kinds: tuple[str, ...],
) -> None:
    paths = {"load": str(load_run.run_dir / "results.json"), "plan": str(plan_results)}
    args = ["report", *(paths[kind] for kind in kinds), "--reports-dir", str(tmp_path / "r")]
    assert main(args) == 252  # a usage error, as in every command
    err = capsys.readouterr().err
    assert "compare exactly two load runs" in err or "only conformance results" in err
    assert err.count("\n") == 1 and not (tmp_path / "r").exists()


def test_two_capacity_searches_compare_with_both_knees(
    capacity_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = capacity_run.run_dir / "results.json"
    second = json.loads(a.read_text())
    second["run_id"] = "second-search"
    b = tmp_path / "b.json"
    b.write_text(json.dumps(second))
    reports = tmp_path / "reports"
    assert main(["report", str(a), str(b), "--reports-dir", str(reports)]) == 0
    capsys.readouterr()
    (page,) = reports.glob("*comparison*/index.html")
    html = page.read_text()
    knee = numbers.figure(second["capacity"]["knee"]["offered_per_s"], "/s")
    assert f"A: knee {knee}" in html and f"B: knee {knee}" in html
    assert "Heartbeat latency against offered rate" in html
    row = re.search(r'data-metric="capacity.knee_per_s">(.*?)</tr>', html, re.S)
    assert row is not None and "no change" in row.group(1)
