"""Render a results file into one self-contained HTML page (inline styles, SVG and script; no
fetch), and keep `reports/index.html` and each page's links to its neighbours current."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from swfbench import __version__
from swfbench.errors import ReportsError, UsageError
from swfbench.inputs import load_json, shown
from swfbench.report import numbers
from swfbench.report.capacity_page import capacity_context
from swfbench.report.common import (
    CONFORMANCE_KINDS,
    gate_rows,
    meta,
    run_id_of,
    started_of,
    timestamp,
)
from swfbench.report.comparison_page import comparison_context
from swfbench.report.conformance_page import conformance_context
from swfbench.report.index_page import index_row, navigation
from swfbench.report.load_page import load_context
from swfbench.report.plan_page import plan_context
from swfbench.results import (
    RESULTS_FILE,
    RunStatus,
    check_run_id,
    make_dir,
    now_iso,
    write_json,
    write_text,
)

__all__ = [
    "CONFORMANCE_KINDS",
    "render",
    "run_id_of",
    "started_of",
    "write_index",
    "write_report",
    "write_run",
]

REPORT_FILE = "index.html"
NAV = re.compile(r"<!-- nav -->.*?<!-- /nav -->", re.DOTALL)

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("swfbench.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(
    figure=numbers.figure,
    percent=numbers.percent,
    count=numbers.count,
    in_unit_of=lambda value, metric: numbers.metric_value(metric, value),
    when=timestamp,
)

_RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "plan": ("plan.html.j2", plan_context),
    "load": ("load.html.j2", load_context),
    "capacity": ("capacity.html.j2", capacity_context),
    **{kind: ("conformance.html.j2", conformance_context) for kind in CONFORMANCE_KINDS},
    "conformance-matrix": ("conformance.html.j2", conformance_context),
    "comparison": ("comparison.html.j2", comparison_context),
}


RENDERED_KINDS = tuple(_RENDERERS)
"""Every results `kind` a report page is rendered for."""


def render(results: dict[str, Any], nav: dict[str, Any] | None = None) -> str:
    """The HTML page for one results document; `nav` links it to the index and its
    neighbours (without it, to the index alone)."""
    kind = results.get("kind")
    if kind not in _RENDERERS:
        raise UsageError(
            f"results of kind {kind!r} have no report: expected one of {', '.join(_RENDERERS)}"
        )
    template, context = _RENDERERS[kind]
    values = {"gates": gate_rows(results.get("gates") or []), **context(results)}
    return _environment.get_template(template).render(
        version=__version__,
        generated=now_iso(),
        meta=meta(results),
        run_status=_run_status(results),
        nav=nav or {"index": "../index.html", "kind": None, "newer": None, "older": None},
        **values,
    )


def _run_status(results: dict[str, Any]) -> dict[str, Any] | None:
    """How the run ended, for the banner at the top of its page (None: nothing to show)."""
    if "status" not in results:
        return None  # a document that is no run's results (a matrix, a comparison)
    status = RunStatus.of(results)
    return {"whole": status.whole, "state": status.state, "text": status.describe()}


MALFORMED = (
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
    ZeroDivisionError,
    jinja2.UndefinedError,
)
"""What rendering raises on results that lack a field or hold one of the wrong type."""


def render_saved(results: dict[str, Any], source: str) -> str:
    """`render` for results read from a file: a field it lacks, or of the wrong type, is one
    usage error naming the file (the results were not written by this swfbench, or edited)."""
    try:
        return render(results)
    except MALFORMED as exc:
        if isinstance(exc, KeyError):
            what = f"it has no {shown(exc.args[0] if exc.args else '?')}"
        else:
            what = " ".join(str(exc).split())[:200]
        raise UsageError(
            f"{source}: not complete {shown(results.get('kind'))} results, the report cannot "
            f"be drawn: {what}"
        ) from None


def write_report(results: dict[str, Any], reports_dir: Path, *, source: str | None = None) -> Path:
    """Write `<reports_dir>/<run_id>/` with the results and their page; refresh the index.
    `source`: the file the results were read from (their mistakes are then usage errors)."""
    # Render first: a failure leaves no half-written run behind.
    html = render(results) if source is None else render_saved(results, source)
    run_dir = make_dir(reports_dir / check_run_id(run_id_of(results), "the results' run_id"))
    write_json(run_dir / RESULTS_FILE, results)
    write_text(run_dir / REPORT_FILE, html)
    write_index(reports_dir)
    return run_dir / REPORT_FILE


def write_run(
    results: dict[str, Any], reports_dir: Path, files: dict[str, str] | None = None
) -> Path:
    """A finished run's results first, then its other `files` (junit.xml) and its page. When
    the disk fills or the directory refuses, the results are kept when they fit and say which
    part was not written; the error is raised (exit 248)."""
    run_dir = make_dir(reports_dir / run_id_of(results))
    write_json(run_dir / RESULTS_FILE, results)
    try:
        for name, text in (files or {}).items():
            write_text(run_dir / name, text)
        return write_report(results, reports_dir)
    except ReportsError as exc:
        status = RunStatus.of(results)
        status.lack(f"report not written: {exc}")
        results["status"] = status.to_dict()
        with contextlib.suppress(ReportsError):
            write_json(run_dir / RESULTS_FILE, results)
        raise


def write_index(reports_dir: Path) -> Path:
    """`reports/index.html`: every run with a report, newest first. Each run's page gets its
    links to the index and to the newer and older run of the same kind, rewritten in place
    where they changed."""
    rows = []
    for results_path in reports_dir.glob(f"*/{RESULTS_FILE}"):
        if not (results_path.parent / REPORT_FILE).exists():
            continue
        try:
            results = load_json(results_path, finite=False)
            href = f"{results_path.parent.name}/{REPORT_FILE}"
            rows.append(index_row(results, href, _run_status(results)))
        except (UsageError, *MALFORMED):
            continue  # not a run's results (or not any more): the index lists the others
    rows.sort(key=lambda row: row["sort"], reverse=True)
    for href, nav in navigation(rows).items():
        _link_page(reports_dir / href, nav)
    html = _environment.get_template("index.html.j2").render(
        version=__version__, generated=now_iso(), runs=rows, run_status=None, nav=None
    )
    make_dir(reports_dir)
    write_text(reports_dir / REPORT_FILE, html)
    return reports_dir / REPORT_FILE


def _link_page(page: Path, nav: dict[str, Any]) -> None:
    """Put the page's navigation in place (pages written before it had none are left be)."""
    try:
        html = page.read_text(encoding="utf-8")
    except OSError:
        return
    links = (
        "<!-- nav -->" + _environment.get_template("nav.html.j2").render(nav=nav) + "<!-- /nav -->"
    )
    updated = NAV.sub(lambda _: links, html, count=1)
    if updated != html:
        with contextlib.suppress(ReportsError):  # the index itself says so if the disk refuses
            write_text(page, updated)
