"""The embedding pass: semantic near-duplicates among surviving rows, paraphrased eval leaks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ftlineage.audit._facts import Facts
from ftlineage.audit._semantic import Embedder, best_matches, get_embedder, similar_pairs
from ftlineage.data import Chunk, read_chunk
from ftlineage.recipe import AuditPolicy


@dataclass(frozen=True)
class SemanticOutcome:
    """Verified embedding pairs (record indices) and what the pass did, in words."""

    status: str
    links: list[tuple[int, int]] = field(default_factory=list)


def semantic_pass(
    f: Facts,
    chunks: Sequence[Chunk],
    active: np.ndarray,
    policy: AuditPolicy,
    suite_prompts: dict[str, str],
    embedder: Embedder | None,
    show: bool,
) -> SemanticOutcome:
    """Embed the surviving rows and every prompt; link pairs and flag paraphrased leaks."""
    if not policy.semantic:
        return SemanticOutcome("off (policy.semantic is false)")
    n_active = int(active.sum())
    if n_active > policy.semantic_max_rows:
        return SemanticOutcome(
            f"skipped: {n_active:,} rows exceed semantic_max_rows="
            f"{policy.semantic_max_rows:,}; raise it to embed them all"
        )
    model = embedder or get_embedder(policy.embedding_model)
    suite_names = list(suite_prompts)
    suite_vecs = model.encode(list(suite_prompts.values())) if suite_names else np.zeros((0, 1), np.float32)
    starts = np.searchsorted(f.chunk, np.arange(len(chunks)))
    vecs: list[np.ndarray] = []
    owners: list[int] = []
    bar = tqdm(total=n_active, desc="audit: embed rows", unit="row", disable=not show)
    for ci, chunk in enumerate(chunks):
        records = list(read_chunk(chunk, policy.max_row_bytes))
        idx = [int(starts[ci]) + k for k, r in enumerate(records) if r.row is not None]
        rows = [r.row for r in records if r.row is not None]
        keep = [k for k, i in enumerate(idx) if active[i]]
        if keep:
            vecs.append(model.encode([f"{rows[k]['prompt']}\n{rows[k]['completion']}" for k in keep]))
            owners += [idx[k] for k in keep]
            bar.update(len(keep))
        if suite_names and rows:
            _flag_leaks(f, idx, model.encode([r["prompt"] for r in rows]), suite_vecs, suite_names, policy)
    bar.close()
    if not vecs:
        return SemanticOutcome(f"done with {model.name}: no rows")
    pairs = similar_pairs(np.concatenate(vecs), policy.semantic_threshold)
    links = [(owners[i], owners[j]) for i, j, _ in pairs]
    return SemanticOutcome(
        f"done with {model.name} on {n_active:,} rows (cosine ≥ {policy.semantic_threshold})", links
    )


def _flag_leaks(
    f: Facts,
    idx: list[int],
    prompt_vecs: np.ndarray,
    suite_vecs: np.ndarray,
    suite_names: list[str],
    policy: AuditPolicy,
) -> None:
    for k, (j, cos) in best_matches(prompt_vecs, suite_vecs, policy.leak_cosine).items():
        flags = f.flags.setdefault(idx[k], {})
        flags.setdefault("eval_leak", f"paraphrase (cosine {cos:.2f}) of suite case {suite_names[j]}")
