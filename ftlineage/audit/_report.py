"""The versioned audit report and its readable rendering."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FLAGS = (
    "exact_duplicate", "near_duplicate", "eval_leak", "secret", "pii_email", "pii_phone",
    "refusal",
)


class FlaggedRow(BaseModel):
    """One flagged row. ``details`` never hold a secret or PII value in clear."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    flags: tuple[str, ...]
    details: dict[str, str]


class SourceStats(BaseModel):
    """Per-source counts."""

    model_config = ConfigDict(frozen=True)

    rows: int
    refusal_rate: float
    flagged: int


class AuditReport(BaseModel):
    """Stage 1 verdict on a corpus. Written to disk: bump ``schema_version`` on field changes."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    corpus_sha: str
    rows_in: int
    rows_kept: int
    counts: dict[str, int]
    dropped: dict[str, int]
    sources: dict[str, SourceStats]
    contaminating_sources: tuple[str, ...]
    thresholds: dict[str, float]
    verdict: Literal["pass", "blocked"]
    reasons: tuple[str, ...]
    findings: tuple[str, ...]
    flagged: tuple[FlaggedRow, ...]


def render_markdown(report: AuditReport) -> str:
    """A one-page Markdown report for reviewers."""
    lines = [
        "# Corpus audit",
        "",
        f"**Verdict: {report.verdict.upper()}** — {report.rows_in} rows in, "
        f"{report.rows_kept} kept for training. Corpus SHA-256 `{report.corpus_sha}`.",
        "",
    ]
    lines += [f"- {r}" for r in report.reasons] + [""]
    lines += ["## Findings per category", "", "| flag | rows | dropped |", "|---|---:|---:|"]
    lines += [f"| {f} | {report.counts.get(f, 0)} | {report.dropped.get(f, 0)} |" for f in FLAGS]
    lines += ["", "## Sources", "", "| source | rows | refusal rate | flagged |", "|---|---:|---:|---:|"]
    for name, s in sorted(report.sources.items()):
        mark = " ⚠ contaminating" if name in report.contaminating_sources else ""
        lines.append(f"| {name}{mark} | {s.rows} | {s.refusal_rate:.1%} | {s.flagged} |")
    if report.findings:
        lines += ["", "## Notes", ""] + [f"- {f}" for f in report.findings]
    lines += ["", f"Thresholds: {report.thresholds}", ""]
    return "\n".join(lines)
