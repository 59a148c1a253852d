"""Corpus reader for the training job: every malformed row is an error naming file and line.

The audit streams the same files through :mod:`ftlineage.data._stream` but skips and counts
malformed rows instead of stopping.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ftlineage.data._stream import DEFAULT_MAX_ROW_BYTES, plan_chunks, read_chunk
from ftlineage.errors import CorpusError


def read_corpus(files: Iterable[Path], max_row_bytes: int = DEFAULT_MAX_ROW_BYTES) -> list[dict[str, Any]]:
    """Read and concatenate corpus files (JSONL, Parquet, saved HF datasets); ids must be unique."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for file in map(Path, files):
        before = len(rows)
        for chunk in plan_chunks([file]):
            for rec in read_chunk(chunk, max_row_bytes):
                if rec.row is None:
                    raise CorpusError(str(rec.error))
                row_id = rec.row["id"]
                if row_id in seen:
                    raise CorpusError(
                        f"{file}: row id {row_id!r} already used in {seen[row_id]}; "
                        "ids must be unique across the corpus"
                    )
                seen[row_id] = file
                rows.append(rec.row)
        if len(rows) == before:
            raise CorpusError(f"{file}: corpus is empty; add rows with 'prompt' and 'completion'")
    return rows
