"""Leakage of eval cases into the training corpus: verbatim or near-verbatim prompts."""

from __future__ import annotations

from collections.abc import Sequence

from ftlineage.audit._dedup import jaccard, normalize, shingles


def leaked_rows(
    corpus_prompts: Sequence[str],
    suite_prompts: Sequence[str],
    *,
    threshold: float,
    shingle_size: int,
    num_perm: int,
    seed: int,
) -> dict[int, str]:
    """Map corpus row index to a reason, for rows reproducing a suite case.

    A row leaks when its normalized prompt equals a suite prompt, or when their
    character-shingle Jaccard reaches ``threshold`` (MinHash-LSH candidates, verified exactly).
    """
    from datasketch import MinHash, MinHashLSH

    exact = {normalize(p): i for i, p in enumerate(suite_prompts)}
    out: dict[int, str] = {}
    suite_sets = [shingles(p, shingle_size) for p in suite_prompts]
    lsh = MinHashLSH(threshold=max(0.5, threshold - 0.1), num_perm=num_perm)
    for i, sig in enumerate(MinHash.bulk(suite_sets, num_perm=num_perm, seed=seed)):
        lsh.insert(i, sig)
    corpus_sets = [shingles(p, shingle_size) for p in corpus_prompts]
    sigs = MinHash.bulk(corpus_sets, num_perm=num_perm, seed=seed)
    for row, (text, sset, sig) in enumerate(zip(corpus_prompts, corpus_sets, sigs, strict=True)):
        if normalize(text) in exact:
            out[row] = f"verbatim copy of suite case #{exact[normalize(text)]}"
            continue
        for j in lsh.query(sig):
            sim = jaccard(sset, suite_sets[j])
            if sim >= threshold:
                out[row] = f"near copy (Jaccard {sim:.2f}) of suite case #{j}"
                break
    return out
