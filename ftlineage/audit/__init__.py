"""Stage 1: corpus audit before tokenization: dedup, leakage, scanners, contamination."""

from ftlineage.audit._audit import run_audit
from ftlineage.audit._dedup import exact_groups, jaccard, near_groups, normalize, shingles
from ftlineage.audit._leakage import leaked_rows
from ftlineage.audit._report import FLAGS, AuditReport, FlaggedRow, render_markdown
from ftlineage.audit._scanners import Finding, redact, scan_text

__all__ = [
    "FLAGS",
    "AuditReport",
    "Finding",
    "FlaggedRow",
    "exact_groups",
    "jaccard",
    "leaked_rows",
    "near_groups",
    "normalize",
    "redact",
    "render_markdown",
    "run_audit",
    "scan_text",
    "shingles",
]
