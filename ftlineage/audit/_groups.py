"""Corpus-wide checks over the merged facts: duplicate groups and label conflicts.

Duplicate kinds nest: exact copies (equal after normalization) are collapsed first; MinHash-LSH
near-duplicates are searched among what is left, and embedding near-duplicates among that. Each row
carries the strongest kind that applies (exact, then near, then semantic) and the id of its group;
one row per connected group is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ftlineage.audit._facts import Facts
from ftlineage.audit._minhash import UnionFind, candidate_pairs, jaccard, shingle_set
from ftlineage.recipe import AuditPolicy

TextsOf = Callable[[list[int]], dict[int, str]]


@dataclass(frozen=True)
class Duplicates:
    """Outcome of dedup: which records are surplus copies, and group counts per kind."""

    copies: np.ndarray
    groups: dict[str, int]


def exact_roots(f: Facts) -> np.ndarray:
    """For every record, the first record with the same exact key (itself when unique)."""
    roots = np.arange(f.n, dtype=np.int64)
    idx = np.nonzero(f.valid)[0]
    if not len(idx):
        return roots
    _, first, inverse = np.unique(f.exact[idx], return_index=True, return_inverse=True)
    roots[idx] = idx[first[inverse]]
    return roots


def near_links(
    f: Facts, active: np.ndarray, texts_of: TextsOf, policy: AuditPolicy, seed: int
) -> list[tuple[int, int]]:
    """Verified MinHash-LSH pairs among ``active`` records (Jaccard ≥ the policy threshold)."""
    found = candidate_pairs(f.bands, active, f.sketch, min_estimate=policy.near_duplicate_threshold - 0.15)
    if not len(found):
        return []
    pairs = [(int(i), int(j)) for i, j in found.tolist()]
    texts = texts_of(sorted({i for p in pairs for i in p}))
    sets = {i: shingle_set(t, shingle_size=policy.shingle_size, seed=seed) for i, t in texts.items()}
    return [
        (i, j)
        for i, j in pairs
        if i in sets and j in sets and jaccard(sets[i], sets[j]) >= policy.near_duplicate_threshold
    ]


def assign_duplicates(
    f: Facts,
    roots: np.ndarray,
    near: list[tuple[int, int]],
    semantic: list[tuple[int, int]],
    policy: AuditPolicy,
) -> Duplicates:
    """Flag every member of every duplicate group and pick the surplus copies."""
    valid_idx = np.nonzero(f.valid)[0].tolist()
    in_exact = np.zeros(f.n, dtype=bool)
    exact_sizes = np.bincount(roots[f.valid], minlength=f.n)
    in_exact[f.valid] = exact_sizes[roots[f.valid]] > 1
    uf = UnionFind(f.n)
    for i in np.nonzero(in_exact)[0].tolist():
        uf.union(i, int(roots[i]))
    counts = {
        "exact_duplicate": _flag_groups(
            f, uf.groups(np.nonzero(in_exact)[0].tolist()), "exact_duplicate", "x", set()
        )
    }
    for i, j in near:
        uf.union(i, j)
    strong = set(np.nonzero(in_exact)[0].tolist())
    near_members = sorted({i for p in near for i in p} | {int(k) for k in np.nonzero(in_exact)[0]})
    counts["near_duplicate"] = _flag_groups(f, uf.groups(near_members), "near_duplicate", "n", strong)
    strong |= {i for p in near for i in p}
    for i, j in semantic:
        uf.union(i, j)
    counts["semantic_duplicate"] = _flag_groups(f, uf.groups(valid_idx), "semantic_duplicate", "s", strong)
    copies = np.zeros(f.n, dtype=bool)
    for group in uf.groups(valid_idx):
        for i in group[1:]:
            kind = next(
                k
                for k in ("exact_duplicate", "near_duplicate", "semantic_duplicate")
                if k in f.flags.get(i, {})
            )
            copies[i] = kind in policy.drop
    return Duplicates(copies=copies, groups=counts)


def _flag_groups(f: Facts, groups: list[list[int]], flag: str, prefix: str, skip: set[int]) -> int:
    """Flag the members not already carrying a stronger kind; count groups that got a flag."""
    n = 0
    for group in groups:
        fresh = [i for i in group if i not in skip]
        if not fresh:
            continue
        n += 1
        for i in fresh:
            f.flags.setdefault(i, {})[flag] = f"group {prefix}{group[0]} ({len(group)} rows)"
    return n


def label_conflicts(f: Facts) -> int:
    """Flag rows whose normalized prompt appears elsewhere with another label; count such prompts."""
    idx = np.nonzero(f.valid & (f.label >= 0))[0]
    if not len(idx):
        return 0
    order = idx[np.argsort(f.prompt_key[idx], kind="stable")]
    keys = f.prompt_key[order]
    starts = np.nonzero(np.r_[True, keys[1:] != keys[:-1]])[0]
    conflicts = 0
    for s, e in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        members = order[s:e]
        labels = sorted({f.labels[c] for c in f.label[members].tolist()})
        if len(labels) < 2:
            continue
        conflicts += 1
        root = int(members.min())
        for i in members.tolist():
            f.flags.setdefault(i, {})["label_conflict"] = (
                f"labels {', '.join(map(repr, labels))} for the same prompt (group l{root})"
            )
    return conflicts
