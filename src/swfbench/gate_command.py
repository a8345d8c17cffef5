"""`swfbench gate`: apply a gates file to a results file; exit 1 when a gate fails."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from swfbench.gates import Verdict, evaluate, load_gates
from swfbench.report_command import load_results


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gate",
        help="check a results file against thresholds (CI performance gates)",
        description="Check RESULTS against the limits in GATES (YAML: metric path to max, min, "
        "or max_increase/max_decrease against --baseline) and print metric, limit, value and "
        "verdict. Exit 0 when every gate holds, 1 when one fails, 2 on a usage error.",
    )
    parser.add_argument("--results", type=Path, required=True, metavar="RESULTS.json")
    parser.add_argument("--gates", type=Path, required=True, metavar="GATES.yaml")
    parser.add_argument(
        "--baseline", type=Path, metavar="BASELINE.json", help="saved results for relative limits"
    )
    parser.add_argument(
        "--junit", type=Path, metavar="PATH", help="also write one JUnit test case per gate"
    )
    parser.set_defaults(run=run)


def render_table(verdicts: list[Verdict]) -> str:
    rows = [("metric", "limit", "value", "baseline", "verdict")]
    for v in verdicts:
        baseline = "" if v.baseline is None else f"{v.baseline:g}"
        rows.append(
            (
                v.gate.metric,
                v.gate.describe(),
                f"{v.value:g}",
                baseline,
                "pass" if v.passed else "FAIL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def junit_xml(verdicts: list[Verdict]) -> str:
    failures = sum(not v.passed for v in verdicts)
    suite = ElementTree.Element(
        "testsuite", name="swfbench gates", tests=str(len(verdicts)), failures=str(failures)
    )
    for v in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname="gates", name=v.name)
        if not v.passed:
            failure = ElementTree.SubElement(
                case, "failure", message=f"{v.gate.metric} = {v.value:g}"
            )
            failure.text = f"limit {v.gate.describe()}, value {v.value:g}" + (
                "" if v.baseline is None else f", baseline {v.baseline:g}"
            )
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def run(args: argparse.Namespace) -> int:
    kind, gates = load_gates(args.gates)
    results = load_results(args.results)
    baseline = load_results(args.baseline) if args.baseline else None
    verdicts = evaluate(gates, results, kind=kind, baseline=baseline, source=str(args.results))
    print(render_table(verdicts))
    if args.junit is not None:
        args.junit.parent.mkdir(parents=True, exist_ok=True)
        args.junit.write_text(junit_xml(verdicts) + "\n", encoding="utf-8")
    failed = [v for v in verdicts if not v.passed]
    print(f"{len(verdicts) - len(failed)} of {len(verdicts)} gates hold")
    return 1 if failed else 0
