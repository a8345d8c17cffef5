"""Hand-written SVG against uPlot for the report's charts: page size and time to a drawn page.

    .venv/bin/python benchmarks/report_charts.py RESULTS.json [RESULTS.json ...] [--hour] [--rounds 7]

For each results file it renders the page twice: as swfbench writes it (inline SVG drawn in
Python, plus the ~4 KB script that gives hover values and the series toggle), and with every
chart drawn by uPlot instead (its minified build and stylesheet inlined, the same series as
JSON, uPlot's own cursor legend and series toggle; the rest of the page identical). Both stay one
file that fetches nothing. `--hour` adds a synthetic one-hour run built from the first load
results (360 points of 10 s, four error codes, workers over time), the page size test's run.

uPlot is fetched from the npm registry with `npm pack uplot@VERSION` into `.cache/uplot/`
(once; nothing of it is committed). Each page is opened `--rounds` times in headless Chromium;
the time is the navigation's load event end (parse, styles, scripts and, for uPlot, its canvas
drawing, which it does when a chart is created), the median over the rounds.

Not drawn in the uPlot pages: step bands, SLO and knee rules and partial points, which would
need uPlot plugin code on top (so its pages here are, if anything, lighter than a full port).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from swfbench.load.results import with_users
from swfbench.load.timeline import Slot, Timeline
from swfbench.report import capacity_page, comparison_page, load_page, plan_page, render
from swfbench.report.charts import Line, LineChart

UPLOT_VERSION = "1.6.32"
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "uplot"
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
OP = "RecordActivityTaskHeartbeat"


def fetch_uplot() -> tuple[str, str]:
    """uPlot's minified build and stylesheet (downloaded with npm on first use)."""
    dist = CACHE / f"uplot-{UPLOT_VERSION}" / "package" / "dist"
    if not (dist / "uPlot.iife.min.js").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"uplot@{UPLOT_VERSION}", "--silent"], cwd=CACHE, check=True,
            capture_output=True,
        )  # fmt: skip
        with tarfile.open(CACHE / f"uplot-{UPLOT_VERSION}.tgz") as archive:
            archive.extractall(CACHE / f"uplot-{UPLOT_VERSION}", filter="data")
    return (dist / "uPlot.iife.min.js").read_text(), (dist / "uPlot.min.css").read_text()


@contextmanager
def recorded_charts() -> Iterator[dict[str, tuple[list[Line], dict[str, Any]]]]:
    """Every chart the page modules build while rendering, by title, with its raw lines."""
    seen: dict[str, tuple[list[Line], dict[str, Any]]] = {}
    modules = (load_page, capacity_page, plan_page, comparison_page)
    originals = {module: module.line_chart for module in modules}

    def wrap(original: Callable[..., LineChart]) -> Callable[..., LineChart]:
        def line_chart(title: str, lines: list[Line], **options: Any) -> LineChart:
            seen[title] = (list(lines), options)
            return original(title, lines, **options)

        return line_chart

    for module, original in originals.items():
        module.line_chart = wrap(original)  # type: ignore[attr-defined]
    try:
        yield seen
    finally:
        for module, original in originals.items():
            module.line_chart = original  # type: ignore[attr-defined]


def uplot_page(
    html: str, charts: dict[str, tuple[list[Line], dict[str, Any]]], js: str, css: str
) -> str:
    """The same page with each figure drawn by uPlot from its series as JSON."""
    specs = []

    def replace(match: re.Match[str]) -> str:
        title = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        lines, options = charts[title]
        xs = sorted({x for line in lines for x, _ in line.points})
        index = {x: i for i, x in enumerate(xs)}
        data: list[list[float | None]] = [list(xs)]
        for line in lines:
            ys: list[float | None] = [None] * len(xs)
            for x, y in line.points:
                ys[index[x]] = y
            data.append(ys)
        specs.append(
            {
                "title": title,
                "x": options.get("x_label", ""),
                "y": options.get("y_label", ""),
                "log": options.get("y_scale") in ("log", "auto"),
                "series": [line.name for line in lines],
                "data": data,
            }
        )
        return f'<figure class="chart"><div class="u" data-i="{len(specs) - 1}"></div></figure>'

    body = re.sub(
        r'<figure class="chart" data-chart="([^"]*)">.*?</figure>', replace, html, flags=re.S
    )
    body = re.sub(r"<script>\n// Every chart answers a hover.*?</script>", "", body, flags=re.S)
    init = (
        "var SPECS=" + json.dumps(specs, separators=(",", ":")) + ";"
        "var COLORS=['#2563eb','#dc2626','#16a34a','#9333ea','#ea580c','#0891b2','#4b5563'];"
        "document.querySelectorAll('div.u').forEach(function(el){var s=SPECS[+el.dataset.i];"
        "var pos=[].concat.apply([],s.data.slice(1)).filter(function(v){return v>0});"
        "var log=s.log&&pos.length&&Math.max.apply(null,pos)/Math.min.apply(null,pos)>=100;"
        "new uPlot({title:s.title,width:600,height:260,scales:{x:{time:false},y:{distr:log?3:1}},"
        "axes:[{label:s.x},{label:s.y}],series:[{}].concat(s.series.map(function(n,i){"
        "return {label:n,stroke:COLORS[i%7],spanGaps:true}}))},s.data,el)});"
    )
    tail = f"<style>{css}</style><script>{js}</script><script>{init}</script></body>"
    return body.replace("</body>", tail, 1)


def hour_long(results: dict[str, Any]) -> dict[str, Any]:
    """The page size test's synthetic hour on top of a real load run's results."""
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
    points = timeline.points(5_000_000.0, 5_003_600.0, OP)
    return {**results, "timeline": with_users(points, users, 5_000_000.0), "duration_s": 3600.0}


def load_time_ms(browser: Any, path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        times.append(
            page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return n.loadEventEnd - n.startTime; }"
            )
        )
        assert not errors, errors
        page.close()
    return float(statistics.median(times))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--hour", action="store_true", help="add the synthetic one-hour run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "report-charts")
    args = parser.parse_args()
    js, css = fetch_uplot()
    documents = [(path.parent.name, json.loads(path.read_text())) for path in args.results]
    if args.hour:
        first_load = next(d for _, d in documents if d["kind"] == "load")
        documents.append(("one hour (synthetic)", hour_long(first_load)))
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    print(
        f"uPlot {UPLOT_VERSION}: {len(js.encode()) / 1000:.1f} KB script, {len(css.encode()) / 1000:.1f} KB styles"
    )
    print("| page | charts | SVG page | SVG load | uPlot page | uPlot load |")
    print("|---|---|---|---|---|---|")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET_FLAGS)
        for k, (name, results) in enumerate(documents):
            with recorded_charts() as charts:
                html = render(results)
            ours, theirs = args.out / f"{k}-svg.html", args.out / f"{k}-uplot.html"
            ours.write_text(html)
            theirs.write_text(uplot_page(html, charts, js, css))
            svg_ms = load_time_ms(browser, ours, args.rounds)
            uplot_ms = load_time_ms(browser, theirs, args.rounds)
            figures = html.count('<figure class="chart"')
            print(
                f"| {results['kind']}: {name} | {figures} "
                f"| {ours.stat().st_size / 1000:.0f} KB | {svg_ms:.0f} ms "
                f"| {theirs.stat().st_size / 1000:.0f} KB | {uplot_ms:.0f} ms |"
            )
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
