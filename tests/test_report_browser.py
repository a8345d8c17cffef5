"""Every kind of report page opened in a real headless Chromium: no console error, nothing
fetched, every chart drawn with labelled axes, a value under the pointer, series that hide and
show again, and the banner of an interrupted run."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from swfbench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)
# This machine has no network: keep Chromium from trying to reach its services.
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET_FLAGS)
        yield launched
        launched.close()


@dataclass
class Opened:
    page: Any
    errors: list[str]
    """Console errors, page errors and every request that is not for the page's own file."""


def open_page(browser: Any, page_path: Path) -> Opened:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None if request.url == page_path.as_uri() else errors.append(f"fetch {request.url}")
        ),
    )
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return Opened(page, errors)


def _interrupted_load(tmp_path: Path) -> Path:
    """A real load run stopped by Ctrl-C mid-run: its results say interrupted."""
    from signals.helpers import Run

    tmp_path.mkdir()
    profile = tmp_path / "fleet.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "name": "interrupted",
                "domain": "swfbench-report-browser",
                "run_time_s": 60,
                "fleet": {"workers": 4, "spawn_rate": 20},
                "heartbeat": {"interval": {"mean_s": 0.25}},
                "activity": {"duration": {"mean_s": 2}, "timeouts": {"heartbeat": 20}},
                "outcomes": {"complete": 1},
            }
        )
    )
    run = Run(
        ["load", "--fleet", str(profile), "--reports-dir", str(tmp_path / "reports"),
         "--run-id", "interrupted-run", "--progress", "0.5"],
        tmp_path,
    )  # fmt: skip
    run.wait_for(
        lambda: any(float(rate) > 0 for rate in re.findall(r"hb/s\s+([\d.]+)", run.output)),
        "heartbeats answered",
    )
    run.send(signal.SIGINT)
    assert run.finish() == 130, run.output[-2000:]
    return tmp_path / "reports" / "interrupted-run" / "results.json"


@pytest.fixture(scope="module")
def site(
    load_run: Any,
    capacity_run: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """One reports directory with a page of every kind, rendered by `swfbench report` from
    real runs: load, capacity, plan, conformance, an interrupted load run, a comparison of the
    gated load run with the interrupted one, and the index."""
    base = tmp_path_factory.mktemp("site")
    reports = base / "reports"
    interrupted = _interrupted_load(base / "interrupted")
    plan = base / "plan.json"
    assert main(["plan", "--workers", "9000", "--interval", "60", "--save", str(plan)]) in (0, 1)
    conform = base / "conform"
    scenario = Path(__file__).resolve().parents[1] / "scenarios/conformance/cancellation"
    code = main(
        ["conform", str(scenario / "unknown_activity_id.yaml"), "--engine", "moto",
         "--reports-dir", str(conform)]
    )  # fmt: skip
    assert code == 0
    (conformance,) = conform.glob("*/results.json")
    for path in (
        load_run.run_dir / "results.json",
        capacity_run.run_dir / "results.json",
        plan,
        conformance,
        interrupted,
    ):
        assert main(["report", str(path), "--reports-dir", str(reports)]) == 0
    gated = load_run.run_dir / "results.json"
    assert main(["report", str(gated), str(interrupted), "--reports-dir", str(reports)]) == 0
    pages = {
        "load": reports / "gated-run" / "index.html",
        "capacity": reports / "capacity-run" / "index.html",
        "interrupted": reports / "interrupted-run" / "index.html",
        "index": reports / "index.html",
    }
    for kind in ("plan", "conformance", "comparison"):
        (pages[kind],) = reports.glob(f"*-{kind}-*/index.html")
    return pages


def drawn(series: Any) -> bool:
    """Whether a series renders (a flat line has no height, so its box says nothing)."""
    return bool(series.evaluate("g => getComputedStyle(g).display !== 'none'"))


CHART_KINDS = ("load", "capacity", "plan", "comparison", "interrupted")


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_every_chart_is_drawn_answers_a_hover_and_toggles_its_series(
    browser: Any, site: dict[str, Path], kind: str
) -> None:
    opened = open_page(browser, site[kind])
    page = opened.page
    figures = page.locator("figure.chart")
    assert figures.count() >= 3
    for i in range(figures.count()):
        figure = figures.nth(i)
        title = figure.locator("figcaption").inner_text()
        svg = figure.locator("svg")
        # Labelled axes, with ticks.
        assert figure.locator("text.x-label").text_content().strip(), title
        assert figure.locator("text.y-label").text_content().strip(), title
        assert figure.locator("text.x-tick").count() >= 2, title
        assert figure.locator("text.y-tick").count() >= 2, title
        # Drawn: a line with width, or markers.
        widths = svg.evaluate(
            "svg => Array.from(svg.querySelectorAll('g.series polyline, g.series circle'))"
            ".map(e => e.getBBox().width + e.getBBox().height)"
        )
        assert widths and max(widths) > 5, title
        # A value under the pointer.
        figure.scroll_into_view_if_needed()
        box = svg.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        tip = figure.locator(".tip")
        tip.wait_for(state="visible")
        text = tip.inner_text()
        assert any(ch.isdigit() for ch in text) and ":" in text, (title, text)
        page.mouse.move(0, 0)
        tip.wait_for(state="hidden")
        # The first series hides and shows again.
        toggle = figure.locator(".legend-item").first
        series = svg.locator('g.series[data-series="0"]')
        assert drawn(series)
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "false" and not drawn(series), title
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true" and drawn(series), title
    assert opened.errors == []


@pytest.mark.parametrize("kind", [*CHART_KINDS, "conformance"])
def test_every_page_links_back_to_the_index(browser: Any, site: dict[str, Path], kind: str) -> None:
    opened = open_page(browser, site[kind])
    assert opened.errors == []
    opened.page.click("nav.runs a[rel=index]")
    assert opened.page.url == site["index"].as_uri()


def test_the_index_lists_every_kind_and_links_each_page(
    browser: Any, site: dict[str, Path]
) -> None:
    opened = open_page(browser, site["index"])
    kinds = opened.page.locator("tr[data-kind]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-kind'))"
    )
    assert sorted(kinds) == sorted(
        ["load", "load", "capacity", "plan", "conformance", "comparison"]
    )
    # The interrupted run's row says so; a load run links to its neighbour of the same kind.
    row = opened.page.locator("tr[data-kind=load]", has_text="interrupted-run")
    assert "interrupted by SIGINT" in row.inner_text()
    assert opened.errors == []
    opened.page.click("a[href='gated-run/index.html']")
    neighbour = opened.page.locator("nav.runs a[rel=next], nav.runs a[rel=prev]")
    assert neighbour.count() == 1 and "interrupted-run" in neighbour.inner_text()


@pytest.mark.parametrize("kind", ["interrupted", "comparison"])
def test_an_interrupted_run_shows_its_banner(
    browser: Any, site: dict[str, Path], kind: str
) -> None:
    opened = open_page(browser, site[kind])
    banner = opened.page.locator('[data-run-status="interrupted"]')
    assert banner.count() == 1 and banner.is_visible()
    assert "interrupted by SIGINT" in banner.inner_text()
    assert opened.errors == []


def test_conformance_matrix_cells_expand(browser: Any, site: dict[str, Path]) -> None:
    opened = open_page(browser, site["conformance"])
    cell = opened.page.locator('details[data-scenario="cancellation/unknown_activity_id"]')
    assert cell.get_attribute("open") is None
    steps = cell.locator("table.steps")
    assert not steps.is_visible()
    cell.locator("summary").click()
    assert cell.get_attribute("open") is not None and steps.is_visible()
    assert cell.locator("table.steps tr").count() > 2
    assert opened.errors == []


def test_the_load_page_marks_its_failed_gate(browser: Any, site: dict[str, Path]) -> None:
    opened = open_page(browser, site["load"])
    failed = opened.page.locator("tr.fail[data-gate]")
    assert failed.count() == 1 and failed.is_visible()
    assert "FAIL" in failed.inner_text() and " ms" in failed.inner_text()
    assert opened.errors == []
