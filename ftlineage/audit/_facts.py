"""The driver's compact view of a corpus: per-record arrays merged from every chunk result."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ftlineage.audit._rows import ChunkResult
from ftlineage.data import Chunk, fetch_rows


@dataclass
class Facts:
    """Per-record arrays (record = non-blank line or table row, valid or not), in corpus order."""

    chunk: np.ndarray
    locator: np.ndarray
    valid: np.ndarray
    source: np.ndarray
    label: np.ndarray
    id_hash: np.ndarray
    prompt_chars: np.ndarray
    completion_chars: np.ndarray
    exact: np.ndarray
    prompt_key: np.ndarray
    bands: np.ndarray
    sketch: np.ndarray
    refusal: np.ndarray
    sources: list[str]
    labels: list[str]
    errors: list[tuple[str, str]]
    flags: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of records."""
        return len(self.valid)

    def read(
        self, chunks: Sequence[Chunk], idx: Iterable[int], max_row_bytes: int
    ) -> dict[int, dict[str, Any]]:
        """The rows of records ``idx``, read back from the corpus by offset (valid records only)."""
        idx = list(idx)
        wanted: dict[int, list[int]] = {}
        for i in idx:
            wanted.setdefault(int(self.chunk[i]), []).append(int(self.locator[i]))
        rows = fetch_rows(chunks, wanted, max_row_bytes)
        out = {i: rows.get((int(self.chunk[i]), int(self.locator[i]))) for i in idx}
        return {i: row for i, row in out.items() if row is not None}


class _Codes:
    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, name: str | None) -> int:
        if name is None:
            return -1
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
        return self._index[name]


def merge(results: Iterable[ChunkResult]) -> Facts:
    """Concatenate chunk results, turning strings into small integer codes."""
    sources, labels = _Codes(), _Codes()
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "chunk",
            "locator",
            "valid",
            "source",
            "label",
            "id_hash",
            "prompt_chars",
            "completion_chars",
            "exact",
            "prompt_key",
            "bands",
            "sketch",
            "refusal",
        )
    }
    errors: list[tuple[str, str]] = []
    flags: dict[int, dict[str, str]] = {}
    offset = 0
    for r in results:
        n = len(r.valid)
        parts["chunk"].append(np.full(n, r.index, dtype=np.int32))
        parts["locator"].append(r.locators)
        parts["valid"].append(r.valid)
        parts["source"].append(
            np.array(
                [sources.code(s) if v else -1 for s, v in zip(r.sources, r.valid, strict=True)],
                dtype=np.int32,
            )
        )
        parts["label"].append(np.array([labels.code(x) for x in r.labels], dtype=np.int32))
        parts["id_hash"].append(np.array([hash(i) for i in r.ids], dtype=np.int64))
        parts["prompt_chars"].append(r.prompt_chars.astype(np.int32))
        parts["completion_chars"].append(r.completion_chars.astype(np.int32))
        parts["exact"].append(np.array(r.exact, dtype="S32"))
        parts["prompt_key"].append(np.array(r.prompt_keys, dtype="S32"))
        parts["bands"].append(r.bands)
        parts["sketch"].append(r.sketch)
        parts["refusal"].append(r.refusal)
        errors += r.errors
        flags.update({offset + i: f for i, f in r.findings.items()})
        offset += n
    arrays = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    if not parts["bands"]:
        arrays["bands"] = np.zeros((0, 1), dtype=np.uint64)
        arrays["sketch"] = np.zeros((0, 1), dtype=np.uint8)
    return Facts(**arrays, sources=sources.names, labels=labels.names, errors=errors, flags=flags)
