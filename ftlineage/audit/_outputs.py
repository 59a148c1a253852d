"""Write an audit's files: audit.json, flags.jsonl, clean.jsonl, failed_rows.jsonl, report.md, report.html.

The corpus is streamed a second time; flags, clean rows and the rows behind a blocking verdict
(:func:`failed_row_reasons`, secrets masked, at most :data:`FAILED_ROWS_PER_REASON` per reason)
are written as they go.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ftlineage.audit._audit import AuditResult
from ftlineage.audit._html import render_html
from ftlineage.audit._labels import SAMPLE_COLUMNS, sample_indices
from ftlineage.audit._report import FLAGS, AuditReport, blocking_flags, render_markdown
from ftlineage.audit._scanners import mask_secrets
from ftlineage.data import read_chunk

_ORDER = {flag: i for i, flag in enumerate(FLAGS)}
FAILED_ROWS_PER_REASON = 500
_TEXT_CHARS = 2000


def failed_row_reasons(report: AuditReport, flags: dict[str, str], source: str, refusal: bool) -> list[str]:
    """Why one row is behind a blocking verdict (``[]`` for a row that is not).

    Its blocking flags, and ``refusal_contamination`` when it refuses and its source is a
    contaminating one.
    """
    out = sorted(set(flags) & blocking_flags(report), key=lambda f: _ORDER.get(f, len(_ORDER)))
    if refusal and source in report.contaminating_sources:
        out.append("refusal_contamination")
    return out


def failed_row_line(row: dict[str, Any], reasons: list[str]) -> str:
    """One failed_rows.jsonl line: id, source, reasons and the row's text with secrets masked."""
    entry = {
        "id": row["id"],
        "source": str(row.get("source", "")),
        "reasons": reasons,
        "prompt": mask_secrets(str(row.get("prompt", "")))[:_TEXT_CHARS],
        "completion": mask_secrets(str(row.get("completion", "")))[:_TEXT_CHARS],
    }
    return json.dumps(entry, ensure_ascii=False) + "\n"


def flag_line(row_id: str, flags: dict[str, str]) -> str:
    """One flags.jsonl line: id, flags in vocabulary order, duplicate group id, details."""
    names = sorted(flags, key=lambda f: _ORDER.get(f, len(_ORDER)))
    entry: dict[str, object] = {"id": row_id, "flags": names}
    group = next((flags[f].split()[1] for f in names if f.endswith("_duplicate")), None)
    if group:
        entry["group"] = group
    entry["details"] = {f: mask_secrets(flags[f]) for f in names}
    return json.dumps(entry, ensure_ascii=False) + "\n"


def write_outputs(result: AuditResult, out: Path, *, label_sample: int = 0) -> dict[str, Path]:
    """Write every audit output under ``out``; returns them by name."""
    out.mkdir(parents=True, exist_ok=True)
    f, files = (
        result.facts,
        {
            name: out / name
            for name in (
                "audit.json",
                "flags.jsonl",
                "clean.jsonl",
                "failed_rows.jsonl",
                "report.md",
                "report.html",
            )
        },
    )
    labeled = np.nonzero(f.valid & (f.label >= 0))[0]
    sample = sample_indices(labeled, label_sample, result.report.seed) if label_sample else set()
    sample_rows: list[dict[str, str]] = []
    starts = np.searchsorted(f.chunk, np.arange(len(result.chunks)))
    failed: Counter[str] = Counter()
    with (
        files["flags.jsonl"].open("w", encoding="utf-8") as flags_fh,
        files["clean.jsonl"].open("w", encoding="utf-8") as clean_fh,
        files["failed_rows.jsonl"].open("w", encoding="utf-8") as failed_fh,
    ):
        for ci, chunk in enumerate(result.chunks):
            for k, rec in enumerate(read_chunk(chunk, _max_row_bytes(result))):
                i = int(starts[ci]) + k
                if rec.row is None:
                    continue
                if i in f.flags:
                    flags_fh.write(flag_line(rec.row["id"], f.flags[i]))
                if result.report.verdict == "blocked":
                    source = f.sources[int(f.source[i])] if f.source[i] >= 0 else ""
                    why = failed_row_reasons(result.report, f.flags.get(i, {}), source, bool(f.refusal[i]))
                    if why and failed[why[0]] < FAILED_ROWS_PER_REASON:
                        failed[why[0]] += 1
                        failed_fh.write(failed_row_line(rec.row, why))
                if result.kept[i]:
                    clean_fh.write(json.dumps(_as_written(rec.row), ensure_ascii=False) + "\n")
                if i in sample:
                    sample_rows.append({**{c: rec.row.get(c, "") for c in SAMPLE_COLUMNS}, "relabel": ""})
    if label_sample:
        files["label_sample.csv"] = out / "label_sample.csv"
        with files["label_sample.csv"].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=SAMPLE_COLUMNS)
            writer.writeheader()
            writer.writerows(sample_rows)
    files["audit.json"].write_text(result.report.model_dump_json(indent=2), encoding="utf-8")
    files["report.md"].write_text(render_markdown(result.report), encoding="utf-8")
    files["report.html"].write_text(render_html(result.report), encoding="utf-8")
    return files


def _as_written(row: dict[str, Any]) -> dict[str, Any]:
    """A row in its own format: a conversation keeps its turns, not the prompt/completion made to scan it."""
    if "messages" in row:
        return {k: v for k, v in row.items() if k not in ("prompt", "completion")}
    return row


def _max_row_bytes(result: AuditResult) -> int:
    return int(result.report.thresholds.get("max_row_bytes", 1_000_000))
