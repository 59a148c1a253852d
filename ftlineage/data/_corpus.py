"""Corpus readers: JSONL rows with ``prompt`` and ``completion`` (``id``, ``source``, ``label`` optional)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ftlineage.errors import CorpusError

REQUIRED = ("prompt", "completion")
OPTIONAL = ("id", "source", "label")


def check_row(row: Any, file: Path, lineno: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise CorpusError(
            f"{file}:{lineno}: row is {type(row).__name__}, expected a JSON object "
            "with 'prompt' and 'completion'"
        )
    for key in REQUIRED:
        if key not in row:
            raise CorpusError(
                f"{file}:{lineno}: row has no {key!r}; every row needs string fields "
                f"'prompt' and 'completion' (got keys {sorted(row)})"
            )
        if not isinstance(row[key], str):
            raise CorpusError(
                f"{file}:{lineno}: {key!r} must be a string but got {type(row[key]).__name__}"
            )
    out = {k: row[k] for k in REQUIRED}
    out["id"] = str(row["id"]) if "id" in row else f"{file.stem}-{lineno}"
    out["source"] = str(row["source"]) if "source" in row else file.stem
    if row.get("label") is not None:
        out["label"] = str(row["label"])
    return out


def read_jsonl(file: Path) -> list[dict[str, Any]]:
    """Read one JSONL corpus file; every malformed row raises with its line number."""
    if not file.is_file():
        raise CorpusError(f"{file}: corpus file not found; check the recipe's 'corpus' paths")
    rows = []
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(
                    f"{file}:{lineno}: invalid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object"
                ) from None
            rows.append(check_row(row, file, lineno))
    if not rows:
        raise CorpusError(f"{file}: corpus is empty; add rows with 'prompt' and 'completion'")
    return rows


def read_corpus(files: Iterable[Path]) -> list[dict[str, Any]]:
    """Read and concatenate corpus files; ids must be unique across them."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for file in files:
        for row in read_jsonl(file):
            if row["id"] in seen:
                raise CorpusError(
                    f"{file}: row id {row['id']!r} already used in {seen[row['id']]}; "
                    "ids must be unique across the corpus"
                )
            seen[row["id"]] = file
            rows.append(row)
    return rows
