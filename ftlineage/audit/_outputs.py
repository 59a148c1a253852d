"""Write an audit's files: audit.json, flags.jsonl, clean.jsonl, failed_rows.jsonl, report.md, report.html.

The corpus is streamed a second time; flags, clean rows and the rows behind a blocking verdict
(:func:`failed_row_reasons`, at most :data:`FAILED_ROWS_PER_REASON` per reason) are written as
they go. Every file but the training rows goes through the masking sink (``_sink``); the
training rows are written verbatim, and a row with a secret is never among them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ftlineage.audit._audit import AuditResult
from ftlineage.audit._html import render_html
from ftlineage.audit._labels import SAMPLE_COLUMNS, sample_indices
from ftlineage.audit._report import FLAGS, AuditReport, blocking_flags, render_markdown
from ftlineage.audit._scanners import mask_secrets, mask_sensitive
from ftlineage.audit._sink import (
    LineWriter,
    jsonl_writer,
    training_rows_writer,
    write_csv,
    write_json,
    write_text,
)
from ftlineage.data import read_chunk

_ORDER = {flag: i for i, flag in enumerate(FLAGS)}
FAILED_ROWS_PER_REASON = 500
_TEXT_CHARS = 2000
_FILES = ("audit.json", "flags.jsonl", "clean.jsonl", "failed_rows.jsonl", "report.md", "report.html")


def failed_row_reasons(report: AuditReport, flags: dict[str, str], source: str, refusal: bool) -> list[str]:
    """Why one row is behind a blocking verdict (``[]`` for a row that is not).

    Its blocking flags, and ``refusal_contamination`` when it refuses and its source is a
    contaminating one (the report names sources masked, so ``source`` is compared masked).
    """
    out = sorted(set(flags) & blocking_flags(report), key=lambda f: _ORDER.get(f, len(_ORDER)))
    if refusal and mask_sensitive(source) in report.contaminating_sources:
        out.append("refusal_contamination")
    return out


def failed_row_entry(row: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """One failed_rows.jsonl entry: id, source, reasons and the row's text (masked, then cut)."""
    return {
        "id": row["id"],
        "source": str(row.get("source", "")),
        "reasons": reasons,
        "prompt": mask_secrets(str(row.get("prompt", "")))[:_TEXT_CHARS],
        "completion": mask_secrets(str(row.get("completion", "")))[:_TEXT_CHARS],
    }


def flag_entry(row_id: str, flags: dict[str, str]) -> dict[str, Any]:
    """One flags.jsonl entry: id, flags in vocabulary order, duplicate group id, details."""
    names = sorted(flags, key=lambda f: _ORDER.get(f, len(_ORDER)))
    entry: dict[str, Any] = {"id": row_id, "flags": names}
    group = next((flags[f].split()[1] for f in names if f.endswith("_duplicate")), None)
    if group:
        entry["group"] = group
    entry["details"] = {f: mask_secrets(flags[f]) for f in names}
    return entry


def write_outputs(result: AuditResult, out: Path, *, label_sample: int = 0) -> dict[str, Path]:
    """Write every audit output under ``out``, through the masking sink; returns them by name."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / name for name in _FILES}
    with (
        jsonl_writer(files["flags.jsonl"]) as flag_out,
        training_rows_writer(files["clean.jsonl"]) as clean_out,
        jsonl_writer(files["failed_rows.jsonl"]) as failed_out,
    ):
        sample_rows = _stream(result, label_sample, flag_out, clean_out, failed_out)
    if label_sample:
        files["label_sample.csv"] = write_csv(out / "label_sample.csv", SAMPLE_COLUMNS, sample_rows)
    write_json(files["audit.json"], result.report)
    write_text(files["report.md"], render_markdown(result.report))
    write_text(files["report.html"], render_html(result.report))
    return files


def _stream(
    result: AuditResult,
    label_sample: int,
    flag_out: LineWriter,
    clean_out: LineWriter,
    failed_out: LineWriter,
) -> list[dict[str, str]]:
    """Read the corpus again and write each row's lines; returns the label sample's rows."""
    f, report = result.facts, result.report
    labeled = np.nonzero(f.valid & (f.label >= 0))[0]
    sample = sample_indices(labeled, label_sample, report.seed) if label_sample else set()
    sample_rows: list[dict[str, str]] = []
    starts = np.searchsorted(f.chunk, np.arange(len(result.chunks)))
    failed: Counter[str] = Counter()
    for ci, chunk in enumerate(result.chunks):
        for k, rec in enumerate(read_chunk(chunk, _max_row_bytes(result))):
            i = int(starts[ci]) + k
            if rec.row is None:
                continue
            if i in f.flags:
                flag_out(flag_entry(rec.row["id"], f.flags[i]))
            if report.verdict == "blocked":
                source = f.sources[int(f.source[i])] if f.source[i] >= 0 else ""
                why = failed_row_reasons(report, f.flags.get(i, {}), source, bool(f.refusal[i]))
                if why and failed[why[0]] < FAILED_ROWS_PER_REASON:
                    failed[why[0]] += 1
                    failed_out(failed_row_entry(rec.row, why))
            if result.kept[i]:
                clean_out(_as_written(rec.row))
            if i in sample:
                sample_rows.append({**{c: rec.row.get(c, "") for c in SAMPLE_COLUMNS}, "relabel": ""})
    return sample_rows


def _as_written(row: dict[str, Any]) -> dict[str, Any]:
    """A row in its own format: a conversation keeps its turns, not the prompt/completion made to scan it."""
    if "messages" in row:
        return {k: v for k, v in row.items() if k not in ("prompt", "completion")}
    return row


def _max_row_bytes(result: AuditResult) -> int:
    return int(result.report.thresholds.get("max_row_bytes", 1_000_000))
