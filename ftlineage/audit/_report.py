"""The versioned audit report and its Markdown rendering."""

from __future__ import annotations

from typing import Literal

from ftlineage.audit._sink import MaskedModel
from ftlineage.recipe import AUDIT_FLAGS

FLAGS = AUDIT_FLAGS


class _Frozen(MaskedModel):
    """Frozen, and never holding a secret or personal data in clear (source names, notes, paths)."""


class SourceStats(_Frozen):
    """Per-source counts."""

    rows: int
    refusal_rate: float
    flagged: int
    flags: dict[str, int] = {}


class LengthStats(_Frozen):
    """Character-length distribution of one field, with a histogram on log-spaced bins."""

    mean: float
    p50: float
    p95: float
    max: int
    edges: tuple[float, ...]
    counts: tuple[int, ...]


class LabelNoise(_Frozen):
    """Agreement between corpus labels and an independent relabelling of a seeded sample."""

    sample_size: int
    agreement: float
    kappa: float
    relabeled_by: str


class AuditReport(_Frozen):
    """Stage 1 verdict on a corpus. Written to disk: bump ``schema_version`` on field changes."""

    schema_version: int = 3
    corpus_sha: str
    engine: str
    scanner_engine: str
    records: int
    rows_in: int
    rows_kept: int
    rows_malformed: int
    malformed_examples: tuple[str, ...]
    counts: dict[str, int]
    dropped: dict[str, int]
    duplicate_groups: dict[str, int]
    sources: dict[str, SourceStats]
    labels: dict[str, int]
    lengths: dict[str, LengthStats]
    contaminating_sources: tuple[str, ...]
    safety_sources: tuple[str, ...] = ()
    semantic: str
    label_noise: LabelNoise | None = None
    thresholds: dict[str, float | int | str]
    seed: int
    verdict: Literal["pass", "blocked"]
    reasons: tuple[str, ...]
    findings: tuple[str, ...]
    timings_s: dict[str, float]


def blocking_flags(report: AuditReport) -> set[str]:
    """The row flags whose share of rows is over its ``block`` limit (what blocked the audit)."""
    out = set()
    for key, limit in report.thresholds.items():
        flag = key.removeprefix("block.")
        if key.startswith("block.") and flag in report.counts and isinstance(limit, (int, float)):
            if report.counts[flag] / max(report.rows_in, 1) > limit:
                out.add(flag)
    return out


def source_mark(report: AuditReport, name: str) -> str:
    """What the sources table says after a source's name: contaminating, or declared safety data."""
    if name in report.contaminating_sources:
        return " ⚠ contaminating"
    return " (safety data)" if name in report.safety_sources else ""


def render_markdown(report: AuditReport) -> str:
    """A one-page Markdown report for reviewers."""
    lines = [
        "# Corpus audit",
        "",
        f"**Verdict: {report.verdict.upper()}** — {report.rows_in} rows in, {report.rows_kept} kept for "
        f"training, {report.rows_malformed} malformed. Corpus SHA-256 `{report.corpus_sha}`.",
        "",
    ]
    lines += [f"- {r}" for r in report.reasons] + [""]
    lines += ["## Findings per category", "", "| flag | rows | dropped |", "|---|---:|---:|"]
    lines += [f"| {f} | {report.counts.get(f, 0)} | {report.dropped.get(f, 0)} |" for f in FLAGS]
    lines += ["", "## Sources", "", "| source | rows | refusal rate | flagged |", "|---|---:|---:|---:|"]
    for name, s in sorted(report.sources.items()):
        mark = source_mark(report, name)
        lines.append(f"| {name}{mark} | {s.rows} | {s.refusal_rate:.1%} | {s.flagged} |")
    if report.labels:
        lines += ["", "## Labels", "", "| label | rows |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(report.labels.items())]
    if report.findings:
        lines += ["", "## Notes", ""] + [f"- {f}" for f in report.findings]
    lines += ["", f"Semantic dedup: {report.semantic}", "", f"Thresholds: {report.thresholds}", ""]
    return "\n".join(lines)
