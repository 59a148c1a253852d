"""Exact and MinHash-LSH near-duplicate detection, run before any split."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Unicode NFKC, case-fold, collapse whitespace."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def exact_key(prompt: str, completion: str) -> str:
    """Key under which two rows are exact duplicates."""
    return hashlib.sha256(f"{normalize(prompt)}\x1f{normalize(completion)}".encode()).hexdigest()


def exact_groups(texts: Sequence[tuple[str, str]]) -> list[list[int]]:
    """Groups (size ≥ 2) of row indices with equal normalized prompt and completion."""
    by_key: dict[str, list[int]] = {}
    for i, (prompt, completion) in enumerate(texts):
        by_key.setdefault(exact_key(prompt, completion), []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


def shingles(text: str, size: int) -> set[bytes]:
    """Character ``size``-grams of the normalized text, as UTF-8 bytes."""
    norm = normalize(text)
    if len(norm) <= size:
        return {norm.encode()}
    return {norm[i : i + size].encode() for i in range(len(norm) - size + 1)}


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    """Exact Jaccard similarity of two shingle sets."""
    return len(a & b) / len(a | b) if a or b else 1.0


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return [g for g in out.values() if len(g) > 1]


def near_groups(
    texts: Sequence[str], *, threshold: float, shingle_size: int, num_perm: int, seed: int
) -> list[list[int]]:
    """Groups of rows whose character-shingle Jaccard is at least ``threshold``.

    MinHash-LSH proposes candidate pairs; each candidate is then verified on the exact
    shingle sets, so no pair below the threshold is ever reported.
    """
    from datasketch import MinHash, MinHashLSH

    sets = [shingles(t, shingle_size) for t in texts]
    # A slightly lower LSH threshold raises candidate recall near the boundary;
    # exact verification below keeps precision.
    lsh = MinHashLSH(threshold=max(0.5, threshold - 0.1), num_perm=num_perm)
    sigs = MinHash.bulk(sets, num_perm=num_perm, seed=seed)
    uf = _UnionFind(len(texts))
    for i, sig in enumerate(sigs):
        for j in lsh.query(sig):
            if jaccard(sets[i], sets[j]) >= threshold:
                uf.union(i, j)
        lsh.insert(i, sig)
    return uf.groups()
