"""The per-row half of the audit: one pure function from a chunk to compact per-row facts.

Workers (processes or Ray tasks) run :func:`process_chunk`; what comes back is small (keys, band
hashes, counts, findings), never the text, so the driver's memory does not grow with the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ftlineage.audit._injection import THRESHOLD, classifier
from ftlineage.audit._minhash import band_keys, digest, jaccard, normalize, shingle_set, signatures
from ftlineage.audit._scanners import SENSITIVE_FLAGS, scan_text
from ftlineage.data import Chunk, read_chunk
from ftlineage.scoring import is_refusal


@dataclass(frozen=True)
class SuiteIndex:
    """The eval suite's prompts, prepared for the per-row leakage check."""

    names: tuple[str, ...] = ()
    exact: dict[bytes, str] = field(default_factory=dict)
    buckets: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    sets: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class RowConfig:
    """What the per-row pass needs; picklable, sent once to every worker."""

    shingle_size: int
    num_perm: int
    bands: int
    seed: int
    near_threshold: float
    max_row_bytes: int
    suite: SuiteIndex


@dataclass
class ChunkResult:
    """Per-record facts of one chunk, in record order."""

    index: int
    locators: np.ndarray
    valid: np.ndarray
    errors: list[tuple[str, str]]
    ids: list[str]
    sources: list[str]
    labels: list[str | None]
    prompt_chars: np.ndarray
    completion_chars: np.ndarray
    exact: list[bytes]
    prompt_keys: list[bytes]
    bands: np.ndarray
    sketch: np.ndarray
    refusal: np.ndarray
    findings: dict[int, dict[str, str]]


def row_text(row: dict[str, Any]) -> str:
    """The text a row is scanned on."""
    return f"{row['prompt']}\n{row['completion']}"


def metadata_text(row: dict[str, Any]) -> str:
    """A row's id, source and label: scanned for secrets and personal data like its text."""
    return "\n".join(str(row.get(k) or "") for k in ("id", "source", "label"))


def norm_row_text(row: dict[str, Any], norm_prompt: str | None = None) -> str:
    """The normalized text a row is deduplicated on: prompt and completion, kept apart."""
    prompt = normalize(row["prompt"]) if norm_prompt is None else norm_prompt
    return f"{prompt}\n{normalize(row['completion'])}"


def index_suite(named_prompts: dict[str, str], cfg: RowConfig) -> SuiteIndex:
    """Exact keys, LSH buckets and shingle sets of the suite prompts."""
    names = tuple(named_prompts)
    norm = [normalize(p) for p in named_prompts.values()]
    exact = {digest(p): n for n, p in zip(names, norm, strict=True)}
    buckets: dict[tuple[int, int], list[int]] = {}
    if norm:
        keys = band_keys(
            signatures(norm, shingle_size=cfg.shingle_size, num_perm=cfg.num_perm, seed=cfg.seed), cfg.bands
        )
        for i, row in enumerate(keys.tolist()):
            for b, k in enumerate(row):
                if k:
                    buckets.setdefault((b, k), []).append(i)
    sets = tuple(shingle_set(t, shingle_size=cfg.shingle_size, seed=cfg.seed) for t in norm)
    return SuiteIndex(names, exact, {k: tuple(v) for k, v in buckets.items()}, sets)


def process_chunk(index: int, chunk: Chunk, cfg: RowConfig) -> ChunkResult:
    """Validate, scan, key and sketch every record of ``chunk``."""
    records = list(read_chunk(chunk, cfg.max_row_bytes))
    rows = [r.row for r in records if r.row is not None]
    valid = np.array([r.row is not None for r in records], dtype=bool)
    norm_prompt = [normalize(r["prompt"]) for r in rows]
    norm_text = [norm_row_text(r, p) for p, r in zip(norm_prompt, rows, strict=True)]
    sig_args = {"shingle_size": cfg.shingle_size, "num_perm": cfg.num_perm, "seed": cfg.seed}
    bands = np.zeros((len(records), cfg.bands), dtype=np.uint64)
    sketch = np.zeros((len(records), cfg.num_perm), dtype=np.uint8)
    if rows:
        sigs = signatures(norm_text, **sig_args)
        bands[valid] = band_keys(sigs, cfg.bands)
        sketch[valid] = (sigs & 0xFF).astype(np.uint8)
    findings = _scan(rows, norm_prompt, cfg)
    where = np.nonzero(valid)[0]
    n = len(records)
    return ChunkResult(
        index=index,
        locators=np.array([r.locator for r in records], dtype=np.int64),
        valid=valid,
        errors=[(r.where, r.error) for r in records if r.error is not None],
        ids=_spread(where, [r["id"] for r in rows], n, ""),
        sources=_spread(where, [r["source"] for r in rows], n, ""),
        labels=_spread(where, [r.get("label") for r in rows], n, None),
        prompt_chars=_dense(where, [len(r["prompt"]) for r in rows], n),
        completion_chars=_dense(where, [len(r["completion"]) for r in rows], n),
        exact=_spread(where, [digest(t) for t in norm_text], n, b""),
        prompt_keys=_spread(where, [digest(p) for p in norm_prompt], n, b""),
        bands=bands,
        sketch=sketch,
        refusal=_dense(
            where, [i in findings and "refusal" in findings[i] for i in range(len(rows))], n
        ).astype(bool),
        findings={int(where[i]): f for i, f in findings.items()},
    )


def _spread(where: np.ndarray, values: list[Any], n: int, fill: Any) -> list[Any]:
    out = [fill] * n
    for i, v in zip(where.tolist(), values, strict=True):
        out[i] = v
    return out


def _dense(where: np.ndarray, values: list[int | bool], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    out[where] = values
    return out


def _scan(rows: list[dict[str, Any]], norm_prompt: list[str], cfg: RowConfig) -> dict[int, dict[str, str]]:
    """Scanner findings and eval leaks per valid row (first detail per flag)."""
    out: dict[int, dict[str, str]] = {}
    texts = [row_text(row) for row in rows]
    for i, (row, text) in enumerate(zip(rows, texts, strict=True)):
        meta = [f for f in scan_text(metadata_text(row)) if f.flag in SENSITIVE_FLAGS]
        for f in scan_text(text) + meta:
            out.setdefault(i, {}).setdefault(f.flag, f"{f.rule}: {f.redacted}")
        if is_refusal(row["completion"]):
            out.setdefault(i, {})["refusal"] = "completion is refusal boilerplate"
    scores = classifier().scores(texts)
    for k in np.flatnonzero(scores >= THRESHOLD).tolist():
        out.setdefault(k, {}).setdefault("prompt_injection", f"injection_classifier: score {scores[k]:.2f}")
    for i, why in _leaks(norm_prompt, cfg).items():
        out.setdefault(i, {})["eval_leak"] = why
    return out


def _leaks(norm_prompt: list[str], cfg: RowConfig) -> dict[int, str]:
    suite = cfg.suite
    if not suite.names or not norm_prompt:
        return {}
    out: dict[int, str] = {}
    keys = band_keys(
        signatures(norm_prompt, shingle_size=cfg.shingle_size, num_perm=cfg.num_perm, seed=cfg.seed),
        cfg.bands,
    ).tolist()
    for i, text in enumerate(norm_prompt):
        key = digest(text)
        if key in suite.exact:
            out[i] = f"verbatim copy of suite case {suite.exact[key]}"
            continue
        cands = {j for b, k in enumerate(keys[i]) if k for j in suite.buckets.get((b, k), ())}
        mine = shingle_set(text, shingle_size=cfg.shingle_size, seed=cfg.seed) if cands else None
        for j in sorted(cands):
            sim = jaccard(mine, suite.sets[j])  # type: ignore[arg-type]
            if sim >= cfg.near_threshold:
                out[i] = f"near copy (Jaccard {sim:.2f}) of suite case {suite.names[j]}"
                break
    return out
