"""Compare two runs: which lineage SHAs changed, metric deltas with intervals, flipped cases."""

from ftlineage.compare._diff import Flip, MetricDelta, RunDiff, RunSnapshot, case_passed, diff_runs
from ftlineage.compare._render import render_html, render_text, summary

__all__ = [
    "Flip",
    "MetricDelta",
    "RunDiff",
    "RunSnapshot",
    "case_passed",
    "diff_runs",
    "render_html",
    "render_text",
    "summary",
]
