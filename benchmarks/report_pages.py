"""Screenshots and sizes of every kind of report page, from the demo's runs.

    .venv/bin/python benchmarks/report_pages.py [--out .cache/report-pages] [--reuse]

Runs what `make demo` runs (the conformance suite, and the 20 s `steady` load run judged by
`gates/ci.yaml`), then a second such load run to compare with the first, a capacity search, and
`swfbench plan` for 20,000 workers at 60 s; renders the comparison with `swfbench report A B`;
and opens each page (load, capacity, plan, conformance, comparison and the index) in headless
Chromium, saving a full-page screenshot and one of a chart with the pointer over it as PNG files
in `--out/shots/`. Prints a table of page sizes, results sizes and charts. `--reuse` takes the
runs already in `--out/reports/` instead of running them again. Nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SWFBENCH = [sys.executable, "-m", "swfbench.cli"]
CHROMIUM = "/usr/bin/chromium"
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_LOAD = ["load", "--fleet", "scenarios/load/steady.yaml", "--run-time", "20s",
             "--gates", "gates/ci.yaml", "--progress", "0"]  # fmt: skip
CAPACITY = ["capacity", "--start-rate", "250", "--step-rate", "250", "--max-rate", "2000",
            "--step-time", "6s", "--interval", "0.25", "--progress", "0"]  # fmt: skip
PLAN = ["plan", "--workers", "20000", "--interval", "60", "--report"]


def swfbench(args: list[str], reports: Path) -> None:
    done = subprocess.run(
        [*SWFBENCH, *args, "--reports-dir", str(reports)], cwd=ROOT, capture_output=True,
        text=True,
    )  # fmt: skip
    # Gates and plans may fail on purpose (exit 1); anything else is a broken run.
    if done.returncode not in (0, 1):
        raise SystemExit(f"swfbench {' '.join(args)} exited {done.returncode}:\n{done.stderr}")


def newest(reports: Path, kind: str) -> list[Path]:
    """Run directories holding results of this kind, oldest first."""
    found = []
    for path in reports.glob("*/results.json"):
        results = json.loads(path.read_text())
        if results.get("kind") == kind:
            found.append((results.get("started") or results.get("started_at") or "", path.parent))
    return [directory for _, directory in sorted(found)]


def run_all(reports: Path) -> None:
    swfbench(["conform"], reports)
    swfbench(DEMO_LOAD, reports)
    swfbench(DEMO_LOAD, reports)
    swfbench(CAPACITY, reports)
    swfbench(PLAN, reports)
    a, b = newest(reports, "load")[-2:]
    swfbench(["report", str(a / "results.json"), str(b / "results.json")], reports)


def pages(reports: Path) -> dict[str, Path]:
    found = {"index": reports / "index.html"}
    for kind, name in (
        ("load", "load"),
        ("capacity", "capacity"),
        ("plan", "plan"),
        ("swfbench-conformance-results", "conformance"),
        ("comparison", "comparison"),
    ):
        runs = newest(reports, kind)
        if runs:
            found[name] = runs[-1] / "index.html"
    return found


def shoot(found: dict[str, Path], shots: Path) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows = []
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET_FLAGS)
        for name, path in found.items():
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            figures = page.locator("figure.chart")
            if figures.count():
                figure = figures.first
                figure.scroll_into_view_if_needed()
                box = figure.locator("svg").bounding_box()
                page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
                figure.locator(".tip").wait_for(state="visible")
                figure.screenshot(path=str(shots / f"{name}-hover.png"))
            results = path.parent / "results.json"
            rows.append(
                {
                    "page": name,
                    "page_kb": path.stat().st_size / 1000,
                    "results_kb": results.stat().st_size / 1000 if results.exists() else None,
                    "charts": figures.count(),
                }
            )
            page.close()
        browser.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "report-pages")
    parser.add_argument("--reuse", action="store_true", help="use the runs already in OUT")
    args = parser.parse_args()
    reports = args.out / "reports"
    if not args.reuse:
        run_all(reports)
    rows = shoot(pages(reports), args.out / "shots")
    print("| page | page size | results size | charts |")
    print("|---|---|---|---|")
    for row in rows:
        results = "" if row["results_kb"] is None else f"{row['results_kb']:.0f} KB"
        print(f"| {row['page']} | {row['page_kb']:.0f} KB | {results} | {row['charts']} |")
    print(f"screenshots in {args.out / 'shots'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
