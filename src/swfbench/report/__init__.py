"""Self-contained HTML reports rendered from results files, and the index of runs."""

from swfbench.report.render import render, write_index, write_report

__all__ = ["render", "write_index", "write_report"]
