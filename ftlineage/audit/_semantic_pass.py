"""The embedding pass: semantic near-duplicates among surviving rows, paraphrased eval leaks.

MinHash thinking for embeddings. Every row gets a *static* vector (distilled token vectors,
``_static``; thousands of rows a second); pairs whose static cosine clears a low bar become
candidates (``_search``); only the rows in candidate pairs are embedded with the full model, and a
pair or leak is flagged only when its *exact* cosine clears the policy's threshold. The static
bar (``semantic_candidate_cosine``) sets recall against exhaustive search; the full model sets
precision. An embedder that is not a sentence-transformers model gets exhaustive search.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ftlineage.audit._facts import Facts
from ftlineage.audit._search import candidate_pairs
from ftlineage.audit._semantic import (
    Embedder,
    SentenceTransformerEmbedder,
    best_matches,
    get_embedder,
    similar_pairs,
)
from ftlineage.audit._static import Projection, StaticEmbedder
from ftlineage.data import Chunk, read_chunk
from ftlineage.recipe import AuditPolicy

_FIT_ROWS = 20_000  # rows the static projection is fitted on (the first ones read)
_MARGIN = 0.005  # bf16 cosines this close to a threshold are re-scored in float32 (bf16 error ≤ 3e-5)


@dataclass(frozen=True)
class SemanticOutcome:
    """Verified embedding pairs (record indices) and what the pass did, in words."""

    status: str
    links: list[tuple[int, int]] = field(default_factory=list)
    incomplete: str | None = None  # what was not checked, as a finding for the report


@dataclass
class _Pass:
    f: Facts
    chunks: Sequence[Chunk]
    active: np.ndarray
    policy: AuditPolicy
    suite: dict[str, str]
    show: bool


def semantic_pass(
    f: Facts,
    chunks: Sequence[Chunk],
    active: np.ndarray,
    policy: AuditPolicy,
    suite_prompts: dict[str, str],
    embedder: Embedder | None,
    show: bool,
    *,
    cache_dir: Path,
    seed: int = 0,
) -> SemanticOutcome:
    """Link semantic duplicates among ``active`` rows and flag paraphrased suite prompts."""
    if not policy.semantic:
        return SemanticOutcome("off (policy.semantic is false)")
    n_active = int(active.sum())
    if n_active > policy.semantic_max_rows:
        why = (
            f"semantic dedup skipped: {n_active:,} rows exceed semantic_max_rows="
            f"{policy.semantic_max_rows:,}; raise it to embed them all"
        )
        return SemanticOutcome(why, incomplete=why)
    model = embedder or get_embedder(policy.embedding_model)
    p = _Pass(f, chunks, active, policy, suite_prompts, show)
    if isinstance(model, SentenceTransformerEmbedder):
        return _candidate_pass(p, model, model.static(cache_dir), seed)
    return _exhaustive_pass(p, model)


def _rows(p: _Pass) -> Iterator[tuple[list[int], list[dict]]]:
    starts = np.searchsorted(p.f.chunk, np.arange(len(p.chunks)))
    for ci, chunk in enumerate(p.chunks):
        records = list(read_chunk(chunk, p.policy.max_row_bytes))
        idx = [int(starts[ci]) + k for k, r in enumerate(records) if r.row is not None]
        yield idx, [r.row for r in records if r.row is not None]


def _candidate_pass(
    p: _Pass, model: SentenceTransformerEmbedder, static: StaticEmbedder, seed: int
) -> SemanticOutcome:
    clock = time.perf_counter()
    vecs, owners, leak_cands = _static_vectors(p, static)
    static_s, clock = time.perf_counter() - clock, time.perf_counter()
    pairs = candidate_pairs(vecs, p.policy.semantic_candidate_cosine, seed=seed) if len(vecs) else {}
    del vecs
    pairs.update(dict.fromkeys(_shared_prompts(p.f, owners), 1.0))
    search_s = time.perf_counter() - clock
    ranked = sorted(pairs.items(), key=lambda kv: -kv[1])
    budget, chosen, rows = p.policy.semantic_verify_max_rows, [], set[int]()
    for (i, j), _ in ranked:
        if len(rows) + len({i, j} - rows) > budget:
            break
        chosen.append((i, j))
        rows.update((i, j))
    clock = time.perf_counter()
    links = _verify_pairs(p, model, [(owners[i], owners[j]) for i, j in chosen])
    leaks = _verify_leaks(p, model, leak_cands)
    verify_s = time.perf_counter() - clock
    status = (
        f"done on {len(owners):,} rows: static vectors {static_s:.1f} s, candidate search {search_s:.1f} s "
        f"({len(pairs):,} pairs at static cosine ≥ {p.policy.semantic_candidate_cosine}), "
        f"{model.name} verified {len(rows):,} rows and {leaks} leak candidates in {verify_s:.1f} s: "
        f"{len(links):,} pairs at cosine ≥ {p.policy.semantic_threshold}"
    )
    if len(chosen) == len(ranked):
        return SemanticOutcome(status, links)
    why = (
        f"semantic dedup: {len(ranked) - len(chosen):,} weaker candidate pairs NOT verified "
        f"(semantic_verify_max_rows={budget:,}; raise it to verify them)"
    )
    return SemanticOutcome(f"{status}; {why}", links, incomplete=why)


def _shared_prompts(f: Facts, owners: list[int], most: int = 8) -> list[tuple[int, int]]:
    """Positions of rows that share a prompt, in groups of at most ``most``.

    One prompt can dominate both rows' embeddings while their completions keep the static vectors
    apart (label conflicts, mostly); such pairs go to verification directly.
    """
    keys = f.prompt_key[np.asarray(owners, dtype=np.int64)] if owners else np.zeros(0, "S32")
    order = np.argsort(keys, kind="stable")
    _, starts, counts = np.unique(keys[order], return_index=True, return_counts=True)
    out = []
    for s, c in zip(starts.tolist(), counts.tolist(), strict=True):
        if 2 <= c <= most:
            group = sorted(order[s : s + c].tolist())
            out += [(a, b) for k, a in enumerate(group) for b in group[k + 1 :]]
    return out


def _static_vectors(p: _Pass, static: StaticEmbedder) -> tuple[np.ndarray, list[int], list[int]]:
    """Projected static vectors of active rows, their owners, and rows whose prompt may leak."""
    suite_raw = static.raw(list(p.suite.values())) if p.suite else None
    pending: list[tuple[np.ndarray, np.ndarray, list[int], list[int]]] = []
    proj: Projection | None = None
    store: list[np.ndarray] = []  # one array for every active row, allocated once (1M rows: 512 MB)
    owners: list[int] = []
    leak: list[int] = []
    bar = tqdm(total=int(p.active.sum()), desc="audit: static vectors", unit="row", disable=not p.show)

    def flush() -> None:
        assert proj is not None
        suite = proj(suite_raw) if suite_raw is not None else None
        for prompt_raw, row_raw, idx, keep in pending:
            if not store:
                store.append(np.empty((int(p.active.sum()), len(proj.basis)), np.float32))
            store[0][len(owners) : len(owners) + len(keep)] = proj(row_raw[keep])
            owners.extend(idx[k] for k in keep)
            if suite is not None:
                near = (proj(prompt_raw) @ suite.T).max(1) >= p.policy.leak_candidate_cosine
                leak.extend(idx[k] for k in np.flatnonzero(near))
        pending.clear()

    for idx, rows in _rows(p):
        if not rows:
            continue
        prompt_raw, row_raw = static.pair([r["prompt"] for r in rows], [r["completion"] for r in rows])
        keep = [k for k, i in enumerate(idx) if p.active[i]]
        pending.append((prompt_raw, row_raw, idx, keep))
        bar.update(len(keep))
        if proj is None and sum(len(x[3]) for x in pending) >= _FIT_ROWS:
            proj = Projection.fit(np.concatenate([x[1][x[3]] for x in pending])[:_FIT_ROWS])
        if proj is not None:
            flush()
    bar.close()
    if pending:
        sample = np.concatenate([x[1][x[3]] for x in pending])
        proj = Projection.fit(sample if len(sample) > 1 else np.concatenate([x[0] for x in pending]))
        flush()
    return (store[0][: len(owners)] if store else np.zeros((0, 1), np.float32)), owners, leak


def _encode(p: _Pass, model: SentenceTransformerEmbedder, texts: list[str], what: str) -> np.ndarray:
    out = []
    with tqdm(total=len(texts), desc=f"audit: verify {what}", unit="row", disable=not p.show) as bar:
        for s in range(0, len(texts), 256):
            out.append(model.encode_fast(texts[s : s + 256]))
            bar.update(len(out[-1]))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _verify_pairs(
    p: _Pass, model: SentenceTransformerEmbedder, pairs: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Pairs whose full-model cosine clears the threshold; those within ``_MARGIN`` re-scored in float32."""
    records = sorted({i for pair in pairs for i in pair})
    if not records:
        return []
    rows = p.f.read(p.chunks, records, p.policy.max_row_bytes)
    text = {i: f"{rows[i]['prompt']}\n{rows[i]['completion']}" for i in records}
    vecs = dict(zip(records, _encode(p, model, [text[i] for i in records], "pairs"), strict=True))
    threshold = p.policy.semantic_threshold
    cos = {(i, j): float(vecs[i] @ vecs[j]) for i, j in pairs}
    close = sorted({i for (i, j), c in cos.items() if abs(c - threshold) < _MARGIN for i in (i, j)})
    if close:
        vecs.update(zip(close, model.encode([text[i] for i in close]), strict=True))
        cos.update({(i, j): float(vecs[i] @ vecs[j]) for i, j in cos if i in close and j in close})
    return [pair for pair, c in cos.items() if c >= threshold]


def _verify_leaks(p: _Pass, model: SentenceTransformerEmbedder, records: list[int]) -> int:
    """Flag the prompts among ``records`` whose full-model cosine to a suite prompt clears ``leak_cosine``."""
    if not records or not p.suite:
        return 0
    rows = p.f.read(p.chunks, records, p.policy.max_row_bytes)
    names = list(p.suite)
    suite_vecs = model.encode(list(p.suite.values()))
    _flag_leaks(p, records, model.encode([rows[i]["prompt"] for i in records]), suite_vecs, names)
    return len(records)


def _exhaustive_pass(p: _Pass, model: Embedder) -> SemanticOutcome:
    """Every row embedded with ``model`` and every pair scored (embedders without a static table)."""
    names = list(p.suite)
    suite_vecs = model.encode(list(p.suite.values())) if names else np.zeros((0, 1), np.float32)
    vecs: list[np.ndarray] = []
    owners: list[int] = []
    bar = tqdm(total=int(p.active.sum()), desc="audit: embed rows", unit="row", disable=not p.show)
    for idx, rows in _rows(p):
        keep = [k for k, i in enumerate(idx) if p.active[i]]
        if keep:
            vecs.append(model.encode([f"{rows[k]['prompt']}\n{rows[k]['completion']}" for k in keep]))
            owners += [idx[k] for k in keep]
            bar.update(len(keep))
        if names and rows:
            _flag_leaks(p, idx, model.encode([r["prompt"] for r in rows]), suite_vecs, names)
    bar.close()
    if not vecs:
        return SemanticOutcome(f"done with {model.name}: no rows")
    pairs = similar_pairs(np.concatenate(vecs), p.policy.semantic_threshold)
    links = [(owners[i], owners[j]) for i, j, _ in pairs]
    return SemanticOutcome(
        f"done with {model.name} on {len(owners):,} rows, "
        f"every pair (cosine ≥ {p.policy.semantic_threshold})",
        links,
    )


def _flag_leaks(
    p: _Pass, idx: list[int], prompt_vecs: np.ndarray, suite_vecs: np.ndarray, names: list[str]
) -> None:
    for k, (j, cos) in best_matches(prompt_vecs, suite_vecs, p.policy.leak_cosine).items():
        flags = p.f.flags.setdefault(idx[k], {})
        flags.setdefault("eval_leak", f"paraphrase (cosine {cos:.2f}) of suite case {names[j]}")
