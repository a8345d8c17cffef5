"""Reports opened in a real headless Chromium: no console errors, charts drawn."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def open_page(browser: Any, page_path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith("file:") else errors.append(f"fetch {request.url}")
        ),
    )
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def test_plan_report_opens_with_charts_drawn(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    args = [
        "plan",
        "--workers",
        "9000",
        "--interval",
        "60",
        "--report",
        "--reports-dir",
        str(reports),
    ]
    main(args)
    capsys.readouterr()
    (page_path,) = reports.glob("*/index.html")
    page, errors = open_page(browser, page_path)
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('svg polyline')).map(e => e.getBBox().width)"
    )
    assert len(widths) == 4 and all(width > 100 for width in widths)
    assert errors == []

    index, errors = open_page(browser, reports / "index.html")
    index.click("a")
    assert index.url == page_path.as_uri()
    assert errors == []


def test_conformance_matrix_cells_expand(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Path(__file__).resolve().parents[1] / "scenarios/conformance/cancellation"
    reports = tmp_path / "reports"
    main(
        [
            "conform",
            str(scenario / "unknown_activity_id.yaml"),
            "--engine",
            "moto",
            "--reports-dir",
            str(reports),
        ]
    )
    (results,) = reports.glob("*/results.json")
    main(["report", str(results), "--reports-dir", str(reports)])
    page_path = Path(capsys.readouterr().out.split("report: ")[-1].strip())
    page, errors = open_page(browser, page_path)
    cell = page.locator('details[data-scenario="cancellation/unknown_activity_id"]')
    assert cell.get_attribute("open") is None
    steps = cell.locator("table.steps")
    assert not steps.is_visible()
    cell.locator("summary").click()
    assert cell.get_attribute("open") is not None and steps.is_visible()
    assert cell.locator("table.steps tr").count() > 2
    assert errors == []


def test_load_report_opens_with_every_chart_drawn(browser: Any, load_run: Any) -> None:
    page, errors = open_page(browser, load_run.run_dir / "index.html")
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('svg polyline')).map(e => e.getBBox().width)"
    )
    # due, sent and OK rates, p50/p90/p99, lag; latency, lag and cancel propagation distributions
    assert len(widths) == 10 and all(width > 100 for width in widths)
    failed = page.locator("tr.fail[data-gate]")
    assert failed.count() == 1 and failed.is_visible()
    assert errors == []
